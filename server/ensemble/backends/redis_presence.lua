-- Connection leases of one room: a zset of "<node>|<conn>" scored by expiry
-- (Redis server time, ms, so process clocks need not agree).
--
-- KEYS[1] leases zset
-- KEYS[2] the zset's clock: server time of the last call on it (ms)
-- ARGV[1] "refresh" or "reap"
-- ARGV[2] ttl ms
-- ARGV[3] stall ms: a gap between two calls longer than this means no process
--         could reach Redis (it was stalled, or unreachable to all)
-- refresh: ARGV[4] node id, ARGV[5..] the node's live conn ids.
--   Renews those leases and drops the node's other leases in this room
--   (connections that ended normally). Returns the number of leases left.
-- reap: returns the expired members and removes them in the same step, so
--   exactly one caller reports each; then the number of leases left.
--
-- Live processes call on every room with leases at least once per heartbeat.
-- After a longer silence nobody could renew, so the stall does not count
-- against anyone: every lease gets at least a full ttl from now, and a
-- process that survived the stall renews before any of its leases can lapse.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local stall = tonumber(ARGV[3])

local last = redis.call('GET', KEYS[2])
if last and now - tonumber(last) > stall then
  local floor = now + ttl
  local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. floor)
  for _, member in ipairs(members) do
    redis.call('ZADD', KEYS[1], floor, member)
  end
end

local result
if ARGV[1] == 'refresh' then
  local prefix = ARGV[4] .. '|'
  local keep = {}
  for i = 5, #ARGV do
    keep[prefix .. ARGV[i]] = true
  end
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if string.sub(member, 1, #prefix) == prefix and not keep[member] then
      redis.call('ZREM', KEYS[1], member)
    end
  end
  for i = 5, #ARGV do
    redis.call('ZADD', KEYS[1], now + ttl, prefix .. ARGV[i])
  end
  result = redis.call('ZCARD', KEYS[1])
else
  local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
  if #expired > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  end
  result = {expired, redis.call('ZCARD', KEYS[1])}
end

if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SET', KEYS[2], now)
else
  redis.call('DEL', KEYS[2])
end
return result
