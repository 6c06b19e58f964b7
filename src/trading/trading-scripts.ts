/**
 * The one write of the trading path. KEYS: session, orders, fills, events, client's
 * clientOrderIds, client's sessions, client's open orders of the session's region, session's
 * applied operations (one client's hash tag: one slot).
 * ARGV: expected version ('' = create), ttl ms, fills MAXLEN, events MAXLEN, updates channel,
 * clientOrderId to claim ('' = none), its order id, session id, session createdAt, operation id,
 * its outcome, the version written, versions whose operation ids are kept, then counted lists:
 * session fields (pairs), orders (id, json pairs), fills, updates, clientOrderIds to drop, orders
 * now open (id, created at pairs), orders no longer open (ids).
 * Returns 1 written, 0 stale version (nothing written), -1 clientOrderId taken (nothing written),
 * {2, outcome} when the operation id was applied already (nothing written): ioredis resends a
 * command whose reply was lost, and the resent one must not be decided again.
 */
export const WRITE_SESSION = `
local done = redis.call('HGET', KEYS[8], 'o:' .. ARGV[10])
if done then return {2, done} end
local ver = redis.call('HGET', KEYS[1], 'ver')
if (ver or '') ~= ARGV[1] then return 0 end
if ARGV[6] ~= '' then
  local current = redis.call('HGET', KEYS[5], ARGV[6])
  if current and current ~= ARGV[7] then return -1 end
end
local i = 14
local n = tonumber(ARGV[i])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, i + 1, i + 2 * n)) end
i = i + 2 * n + 1
n = tonumber(ARGV[i])
if n > 0 then redis.call('HSET', KEYS[2], unpack(ARGV, i + 1, i + 2 * n)) end
i = i + 2 * n + 1
n = tonumber(ARGV[i])
for j = 1, n do redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'f', ARGV[i + j]) end
i = i + n + 1
n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'u', ARGV[i + j])
  redis.call('PUBLISH', ARGV[5], ARGV[i + j])
end
i = i + n + 1
n = tonumber(ARGV[i])
for j = 1, n do redis.call('HDEL', KEYS[5], ARGV[i + j]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[5], ARGV[6], ARGV[7]) end
i = i + n + 1
n = tonumber(ARGV[i])
for j = 1, n do redis.call('ZADD', KEYS[7], 'NX', ARGV[i + 2 * j], ARGV[i + 2 * j - 1]) end
i = i + 2 * n + 1
n = tonumber(ARGV[i])
if n > 0 then redis.call('ZREM', KEYS[7], unpack(ARGV, i + 1, i + n)) end
redis.call('ZADD', KEYS[6], ARGV[9], ARGV[8])
redis.call('HSET', KEYS[8], 'o:' .. ARGV[10], ARGV[11], 'v:' .. ARGV[12], ARGV[10])
local old = 'v:' .. (tonumber(ARGV[12]) - tonumber(ARGV[13]))
local gone = redis.call('HGET', KEYS[8], old)
if gone then redis.call('HDEL', KEYS[8], old, 'o:' .. gone) end
for k = 1, 8 do redis.call('PEXPIRE', KEYS[k], ARGV[2]) end
return 1
`;

/** KEYS: the client's clientOrderIds. ARGV: clientOrderId, the order id it must still name. */
export const DROP_CLAIM = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`;
