-- Connection leases of one room: a zset of "<node>|<conn>" scored by expiry
-- (Redis server time, ms, so process clocks need not agree).
--
-- KEYS[1] leases zset
-- ARGV[1] "refresh" or "reap"
-- refresh: ARGV[2] node id, ARGV[3] ttl ms, ARGV[4..] the node's live conn ids.
--   Renews those leases and drops the node's other leases in this room
--   (connections that ended normally). Returns the number of leases left.
-- reap: returns the expired members and removes them in the same step, so
--   exactly one caller reports each; then the number of leases left.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

if ARGV[1] == 'refresh' then
  local prefix = ARGV[2] .. '|'
  local ttl = tonumber(ARGV[3])
  local keep = {}
  for i = 4, #ARGV do
    keep[prefix .. ARGV[i]] = true
  end
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if string.sub(member, 1, #prefix) == prefix and not keep[member] then
      redis.call('ZREM', KEYS[1], member)
    end
  end
  for i = 4, #ARGV do
    redis.call('ZADD', KEYS[1], now + ttl, prefix .. ARGV[i])
  end
  return redis.call('ZCARD', KEYS[1])
end

local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
end
return {expired, redis.call('ZCARD', KEYS[1])}
