/**
 * Lua scripts, each one Redis round trip. Run through ioredis `defineCommand`, which sends
 * EVALSHA and falls back to EVAL once after a SCRIPT FLUSH or a fresh server.
 */

/**
 * The writer-lease fence, shared by the book and trade scripts: `token` is the fencing token of
 * the caller's writer lease (WriterLeases), `meta` the book's meta hash, which keeps the highest
 * token that wrote the book in its `token` field. A lower token is a writer whose lease expired and
 * was taken over: refused before anything is written. The lease key lives in another slot than
 * the book, so the token is checked here, per book, in the write's own round trip.
 */
const FENCE = (meta: string, token: string) => `
local fenceToken = tonumber(${token}) or 0
local fenceStored = tonumber(redis.call('HGET', ${meta}, 'token') or '0')
if fenceToken < fenceStored then
  return redis.error_reply('BOOKGRAPH_FENCED stored=' .. fenceStored .. ' got=' .. fenceToken)
end
`;

/**
 * The fence against the token a v1 book's meta holds (book encoding v1, keys.ts LegacyBookKeys):
 * a v1 ingester that took the lease after a rollback stores its token there, and a v2 writer
 * whose lease it took must not write the book or its trades either. Follows FENCE.
 */
const V1_FENCE = (legacyMeta: string) => `
local legacyToken = tonumber(redis.call('HGET', ${legacyMeta}, 'token') or '0')
if fenceToken < legacyToken then
  return redis.error_reply('BOOKGRAPH_FENCED stored=' .. legacyToken .. ' got=' .. fenceToken)
end
`;

/**
 * First line of the scripts that write. Measured on redis-server 7.0.15 with `--maxmemory` and
 * `noeviction`, memory above the limit: a script without a shebang is refused only at its first
 * write of a command flagged deny-oom (ZADD, HSET, XADD); a DEL first is let through, and once a
 * script has written, Redis lets the rest of it write too (atomicity). So the book script's
 * snapshot (DEL, then the levels) succeeded under OOM while every delta (ZADD first) failed: each
 * book reset ~10 times a second. A `#!lua` script without `flags=allow-oom` is a may-write script,
 * refused whole with `-OOM` before it runs: snapshots and deltas fail alike and nothing is
 * published. (Redis 7.0+; Redis Enterprise 7.2+.)
 */
const WRITES = '#!lua\n';

/** The error prefix a write refused by the fence replies with. */
export const FENCED_ERROR = 'BOOKGRAPH_FENCED';

/**
 * Lua walking the levels of a book write's ARGV (bookEventArgv: from ARGV[9], per side its count
 * then price/size pairs): `perSide` runs before each side's levels (`side`: 1 bids, 2 asks),
 * `perLevel` for each level (`price`, `size`), `afterSide` after them. Shared with the
 * replication bench's alternative encodings, so every encoding walks its arguments alike.
 */
export function eachLevel(perSide: string, perLevel: string, afterSide: string): string {
  return `local idx = 9
for side = 1, 2 do
  ${perSide}
  local n = tonumber(ARGV[idx])
  idx = idx + 1
  for _ = 1, n do
    local price, size = ARGV[idx], ARGV[idx + 1]
    idx = idx + 2
    ${perLevel}
  end
  ${afterSide}
end`;
}

/**
 * Applies one sequenced book event and publishes it, atomically: book encoding v2 (keys.ts), one
 * HASH per side, price -> size.
 * KEYS: bids, asks, meta, then the book's v1 keys (bids, asks, sizes, meta; LegacyBookKeys).
 * ARGV: channel, message, kind, epoch, seq, exchangeTs, receiveTs, writer token, then nBids,
 * price/size pairs, nAsks, price/size pairs, and last the venue's sequence ('' when the venue has
 * none: the meta's `venueSeq` is removed, so an old one never outlives the event it belonged to).
 * The meta keeps it as `<seq>:<venue seq>`: a reader trusts it only at that seq, so a writer that
 * predates the field (a rollback) cannot leave an old venue sequence beside its newer seq.
 * A writer whose token is below the book's is refused (FENCE). A delta must continue the stored
 * (epoch, seq) exactly; anything else is refused, which keeps a second writer (or a lost write)
 * from corrupting the book.
 * Replicated bytes: a delta writes only the level fields it changes and, in the meta, `seq
 * exchangeTs receiveTs` and `venueSeq` when the venue has one (epoch and token are constant within
 * an epoch of one lease holder; a snapshot or a new token writes all of them). A removed level is one HDEL field (one
 * tombstone under Active-Active), a snapshot's DEL empties two keys.
 * Rolling deploy: the first snapshot of a book whose v1 meta still holds a book (a v1 writer wrote
 * it) empties the v1 keys and leaves only this writer's `token` in the v1 meta, so a v1 reader
 * finds no book (never an old one with a new seq) and a stalled v1 writer is fenced; the v1
 * meta's token fences this script too (a v1 writer that took over after a rollback).
 */
export const WRITE_BOOK_EVENT = `${WRITES}${FENCE('KEYS[3]', 'ARGV[8]')}${V1_FENCE('KEYS[7]')}
local kind = ARGV[3]
local epoch = ARGV[4]
local seq = tonumber(ARGV[5])
if kind == 'snapshot' then
  redis.call('DEL', KEYS[1], KEYS[2])
  if redis.call('HEXISTS', KEYS[7], 'epoch') == 1 then
    redis.call('DEL', KEYS[4], KEYS[5], KEYS[6], KEYS[7])
    redis.call('HSET', KEYS[7], 'token', fenceToken)
  end
else
  local stored = redis.call('HMGET', KEYS[3], 'epoch', 'seq')
  if stored[1] ~= epoch then
    return redis.error_reply('BOOKGRAPH_EPOCH stored=' .. tostring(stored[1]) .. ' got=' .. epoch)
  end
  if tonumber(stored[2]) + 1 ~= seq then
    return redis.error_reply('BOOKGRAPH_SEQ stored=' .. tostring(stored[2]) .. ' got=' .. seq)
  end
end
local function flush(cmd, key, args)
  local n = #args
  local i = 1
  while i <= n do
    local j = math.min(i + 999, n)
    redis.call(cmd, key, unpack(args, i, j))
    i = j + 1
  end
end
${eachLevel(
  'local hset, hdel = {}, {}',
  `if tonumber(size) == 0 then
      hdel[#hdel + 1] = price
    else
      hset[#hset + 1] = price
      hset[#hset + 1] = size
    end`,
  `flush('HSET', KEYS[side], hset)
  flush('HDEL', KEYS[side], hdel)`,
)}
if kind == 'snapshot' or fenceToken ~= fenceStored then
  redis.call('HSET', KEYS[3], 'epoch', epoch, 'seq', seq, 'exchangeTs', ARGV[6], 'receiveTs', ARGV[7], 'token', fenceToken)
else
  redis.call('HSET', KEYS[3], 'seq', seq, 'exchangeTs', ARGV[6], 'receiveTs', ARGV[7])
end
local venueSeq = ARGV[#ARGV]
if venueSeq ~= '' then
  redis.call('HSET', KEYS[3], 'venueSeq', seq .. ':' .. venueSeq)
else
  redis.call('HDEL', KEYS[3], 'venueSeq')
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return seq
`;

/**
 * Reads the book with its meta (epoch, seq, exchangeTs, receiveTs, venueSeq), as of one instant. KEYS: bids, asks, meta, then the v1 keys
 * (bids, asks, sizes, meta). ARGV: depth (0 = all; used for a v1 book only).
 * Returns {encoding, meta, bids, asks}, sides flat: for `v2`, every level of each side unsorted
 * (HGETALL; the caller sorts by exact price and cuts to depth), for `v1` (a book a v1 ingester
 * wrote and no v2 writer has replaced yet, or wrote again after a rollback: whichever meta was
 * written last) the top `depth` levels of each side, best first.
 */
export const READ_BOOK = `
local fields = { 'epoch', 'seq', 'exchangeTs', 'receiveTs', 'venueSeq' }
local meta = redis.call('HMGET', KEYS[3], unpack(fields))
local legacy = redis.call('HMGET', KEYS[7], unpack(fields))
if legacy[1] and (not meta[1] or (tonumber(legacy[4]) or 0) > (tonumber(meta[4]) or 0)) then
  local stop = tonumber(ARGV[1]) - 1
  local function side(levels, prefix)
    local out = {}
    for _, price in ipairs(levels) do
      out[#out + 1] = price
      out[#out + 1] = redis.call('HGET', KEYS[6], prefix .. price)
    end
    return out
  end
  local bids = side(redis.call('ZREVRANGE', KEYS[4], 0, stop), 'b:')
  local asks = side(redis.call('ZRANGE', KEYS[5], 0, stop), 'a:')
  return { 'v1', legacy, bids, asks }
end
return { 'v2', meta, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]) }
`;

/**
 * Appends a trade to the market's capped stream, records it as the last trade, writes the candles
 * it touched and publishes the trade and the candles: one round trip per trade.
 * KEYS: trades, ticker, then one candle HASH per interval (CANDLE_INTERVALS order), then the
 * book's v1 meta and its meta (their writer tokens: FENCE, V1_FENCE).
 * ARGV: channel, message, maxlen, id, price, amount, side, exchangeTs, receiveTs, candle channel,
 * candle message ('' = none), then per candle key: field ('' = untouched), value, candles to keep,
 * then the trades lost before this one (Trade.lostBefore, kept in the stream entry as `lost`), then
 * the writer token (last). A writer whose token is below the book's is refused (FENCE).
 * A candle field that is new opens a bucket; past `keep` fields the oldest are deleted.
 */
export const WRITE_TRADE = `${WRITES}${FENCE('KEYS[#KEYS]', 'ARGV[#ARGV]')}${V1_FENCE('KEYS[#KEYS - 1]')}
if fenceToken > fenceStored then redis.call('HSET', KEYS[#KEYS], 'token', fenceToken) end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*',
  'id', ARGV[4], 'price', ARGV[5], 'amount', ARGV[6], 'side', ARGV[7], 'exchangeTs', ARGV[8], 'receiveTs', ARGV[9], 'lost', ARGV[#ARGV - 1])
redis.call('HSET', KEYS[2], 'price', ARGV[5], 'amount', ARGV[6], 'side', ARGV[7], 'exchangeTs', ARGV[8], 'receiveTs', ARGV[9])
redis.call('PUBLISH', ARGV[1], ARGV[2])
for i = 3, #KEYS - 2 do
  local base = 11 + (i - 3) * 3
  local field = ARGV[base + 1]
  if field ~= nil and field ~= '' then
    local added = redis.call('HSET', KEYS[i], field, ARGV[base + 2])
    local keep = tonumber(ARGV[base + 3])
    if added == 1 then
      local n = redis.call('HLEN', KEYS[i])
      if n > keep then
        local fields = redis.call('HKEYS', KEYS[i])
        table.sort(fields, function(a, b) return tonumber(a) < tonumber(b) end)
        for j = 1, n - keep do redis.call('HDEL', KEYS[i], fields[j]) end
      end
    end
  end
end
if ARGV[11] ~= nil and ARGV[11] ~= '' then redis.call('PUBLISH', ARGV[10], ARGV[11]) end
return 1
`;

/**
 * The newest candle of each interval of one market (ingester start, to continue them).
 * KEYS: one candle HASH per interval. Returns {field, value} per key, '' when the key is empty.
 */
export const READ_LATEST_CANDLES = `
local out = {}
for i = 1, #KEYS do
  local newest = nil
  for _, field in ipairs(redis.call('HKEYS', KEYS[i])) do
    if newest == nil or tonumber(field) > tonumber(newest) then newest = field end
  end
  if newest == nil then
    out[#out + 1] = ''
    out[#out + 1] = ''
  else
    out[#out + 1] = newest
    out[#out + 1] = redis.call('HGET', KEYS[i], newest)
  end
end
return out
`;

/**
 * Writes an exchange's feed statuses, renews their expiry and publishes the change.
 * KEYS: the exchange's feed status HASH. ARGV: ttl ms, channel, message ('' = none), field/value pairs.
 */
export const WRITE_FEED_STATUS = `
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1
`;

/**
 * Takes or renews the writer lease of one venue in one region (WriterLeases).
 * KEYS: lease (STRING `<holder>|<token>`, with a TTL), token counter (STRING, INCR, no TTL).
 * ARGV: holder, ttl ms, the caller's clock in ms. Returns {token, holder}: the caller's token when it holds the lease now
 * (a new one when it was free, the same one when renewed), else {0, the current holder}.
 * A counter that does not exist (the first grant, or data lost in an empty restart) starts at the
 * caller's clock in ms (not the script's TIME: not on the Active-Active command list), so a token granted after a loss is above every token granted before it
 * (fewer than one grant per ms, as takeovers are seconds apart): a holder that outlived the loss
 * cannot fence its successor out. (Lua prints numbers with 14 digits: ms fit until year 5138.)
 */
export const CLAIM_WRITER_LEASE = `
local current = redis.call('GET', KEYS[1])
if current then
  local holder, token = string.match(current, '^(.*)|(%d+)$')
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return { tonumber(token), holder }
  end
  return { 0, holder or current }
end
local token = redis.call('INCR', KEYS[2])
if token == 1 then
  token = tonumber(ARGV[3])
  redis.call('SET', KEYS[2], token)
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return { token, ARGV[1] }
`;

/**
 * Gives up the writer lease if the caller still holds it, so a standby takes over at once.
 * KEYS: lease. ARGV: holder. Returns 1 if released, 0 if another holder had it.
 */
export const RELEASE_WRITER_LEASE = `
local current = redis.call('GET', KEYS[1])
if current and string.match(current, '^(.*)|%d+$') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * WRITE_BOOK_EVENT publishing on the book's sharded channel (SPUBLISH), for a Redis Cluster: the
 * message then travels only within the shard that owns the book's slot instead of over the whole
 * cluster bus. The channel carries the book's hash tag, so the script stays in one slot.
 */
export const WRITE_BOOK_EVENT_SHARDED = shardedPublish(WRITE_BOOK_EVENT);

/**
 * The script with its one PUBLISH turned into SPUBLISH (whatever its arguments), so a change to
 * WRITE_BOOK_EVENT carries over; throws unless there is exactly one to turn.
 */
export function shardedPublish(script: string): string {
  const publish = /redis\.call\('PUBLISH', /g;
  const found = script.match(publish)?.length ?? 0;
  if (found !== 1) throw new Error(`the book write script must PUBLISH once, found ${found}`);
  return script.replace(publish, "redis.call('SPUBLISH', ");
}
