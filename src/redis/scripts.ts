/**
 * Lua scripts, each one Redis round trip. Run through ioredis `defineCommand`, which sends
 * EVALSHA and falls back to EVAL once after a SCRIPT FLUSH or a fresh server.
 */

/**
 * Applies one sequenced book event and publishes it, atomically.
 * KEYS: bids, asks, sizes, meta. ARGV: channel, message, kind, epoch, seq, exchangeTs, receiveTs,
 * then nBids, price/size pairs, nAsks, price/size pairs.
 * A delta must continue the stored (epoch, seq) exactly; anything else is refused, which keeps a
 * second writer (or a lost write) from corrupting the book.
 */
export const WRITE_BOOK_EVENT = `
local kind = ARGV[3]
local epoch = ARGV[4]
local seq = tonumber(ARGV[5])
if kind == 'snapshot' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
else
  local stored = redis.call('HMGET', KEYS[4], 'epoch', 'seq')
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
local idx = 8
local prefixes = { 'b:', 'a:' }
local hset, hdel = {}, {}
for side = 1, 2 do
  local zadd, zrem = {}, {}
  local n = tonumber(ARGV[idx])
  idx = idx + 1
  for _ = 1, n do
    local price, size = ARGV[idx], ARGV[idx + 1]
    idx = idx + 2
    if tonumber(size) == 0 then
      zrem[#zrem + 1] = price
      hdel[#hdel + 1] = prefixes[side] .. price
    else
      zadd[#zadd + 1] = price
      zadd[#zadd + 1] = price
      hset[#hset + 1] = prefixes[side] .. price
      hset[#hset + 1] = size
    end
  end
  flush('ZADD', KEYS[side], zadd)
  flush('ZREM', KEYS[side], zrem)
end
flush('HSET', KEYS[3], hset)
flush('HDEL', KEYS[3], hdel)
redis.call('HSET', KEYS[4], 'epoch', epoch, 'seq', seq, 'exchangeTs', ARGV[6], 'receiveTs', ARGV[7])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return seq
`;

/**
 * Reads the top `depth` levels of both sides with the meta, as of one instant.
 * KEYS: bids, asks, sizes, meta. ARGV: depth (0 = all). Returns {meta, bids, asks}, sides flat.
 */
export const READ_BOOK = `
local stop = tonumber(ARGV[1]) - 1
local meta = redis.call('HMGET', KEYS[4], 'epoch', 'seq', 'exchangeTs', 'receiveTs')
local function side(levels, prefix)
  local out = {}
  for _, price in ipairs(levels) do
    out[#out + 1] = price
    out[#out + 1] = redis.call('HGET', KEYS[3], prefix .. price)
  end
  return out
end
local bids = side(redis.call('ZREVRANGE', KEYS[1], 0, stop), 'b:')
local asks = side(redis.call('ZRANGE', KEYS[2], 0, stop), 'a:')
return { meta, bids, asks }
`;

/**
 * Appends a trade to the market's capped stream, records it as the last trade and publishes it.
 * KEYS: trades, ticker. ARGV: channel, message, maxlen, id, price, amount, side, exchangeTs, receiveTs.
 */
export const WRITE_TRADE = `
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*',
  'id', ARGV[4], 'price', ARGV[5], 'amount', ARGV[6], 'side', ARGV[7], 'exchangeTs', ARGV[8], 'receiveTs', ARGV[9])
redis.call('HSET', KEYS[2], 'price', ARGV[5], 'amount', ARGV[6], 'side', ARGV[7], 'exchangeTs', ARGV[8], 'receiveTs', ARGV[9])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`;
