-- Commit one room transaction atomically: version check, state, history,
-- schedule, public listing, publication. No product rule lives here: every
-- value was computed by the pure core in the calling process. Every key and
-- the channel are on the room's slot (the indexes are its slot's own).
--
-- KEYS[1] state hash            (fields: data, summary, v, c, dropped)
-- KEYS[2] the slot's schedule   (zset room id -> next deadline ms)
-- KEYS[3] the slot's listing    (set of listed room ids)
-- KEYS[4] record log list       (the report's records, bounded)
-- KEYS[5] history names set     (every history key of the room, for deletion)
-- KEYS[6..] one history stream per packet, in commit order (may repeat)
-- ARGV[1] expected version, or -1 to create a room that must not exist yet
-- ARGV[2] commit token (makes a retried EVALSHA idempotent)
-- ARGV[3] state bytes           ARGV[4] summary bytes
-- ARGV[5] room id               ARGV[6] deadline ms or ""
-- ARGV[7] "1" listed publicly, "0" not
-- ARGV[8] history size          ARGV[9] shard channel
-- ARGV[10] publication payload (msgpack [deadline, [packet...]]) or "" for none
--          (also "" when the caller publishes after WAIT: redis_publish.lua)
-- ARGV[11] record log size      ARGV[12] number of records n
-- ARGV[13..12+n] records, then per packet: stream entry id, packet bytes
-- ARGV[#ARGV] the last moment (ms, Redis's clock) this commit may still be made
--
-- Returns {status, version}: 1 committed, 2 this token already committed,
-- 0 version conflict (or the room already exists when creating),
-- -1 no such room, -2 too late: the caller has given up on it, nothing written.

local expected = tonumber(ARGV[1])
local current = redis.call('HGET', KEYS[1], 'v')
if expected < 0 then
  if current then
    return {0, tonumber(current)}
  end
else
  if not current then
    return {-1, 0}
  end
  if tonumber(current) ~= expected then
    if redis.call('HGET', KEYS[1], 'c') == ARGV[2] then
      -- Written again (same value): a WAIT that follows on this connection
      -- then waits for the replicas to have the commit this resend found.
      redis.call('HSET', KEYS[1], 'c', ARGV[2])
      return {2, tonumber(current)}
    end
    return {0, tonumber(current)}
  end
end

-- A copy delivered late (Redis stalled, the caller answered `unavailable`)
-- must not take effect after all.
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[#ARGV]) then
  return {-2, 0}
end

local version = expected + 1
redis.call('HSET', KEYS[1], 'data', ARGV[3], 'summary', ARGV[4], 'v', version, 'c', ARGV[2])

local records = tonumber(ARGV[12])
if records > 0 then
  local room_left = tonumber(ARGV[11]) - redis.call('LLEN', KEYS[4])
  for i = 13, 12 + records do
    if room_left > 0 then
      redis.call('RPUSH', KEYS[4], ARGV[i])
      room_left = room_left - 1
    else
      redis.call('HINCRBY', KEYS[1], 'dropped', 1)
    end
  end
end

local size = ARGV[8]
local first = 13 + records
for i = 6, #KEYS do
  local arg = first + (i - 6) * 2
  redis.call('XADD', KEYS[i], 'MAXLEN', '=', size, ARGV[arg], 'p', ARGV[arg + 1])
  redis.call('SADD', KEYS[5], KEYS[i])
end

if ARGV[6] == '' then
  redis.call('ZREM', KEYS[2], ARGV[5])
else
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5])
end

if ARGV[7] == '1' then
  redis.call('SADD', KEYS[3], ARGV[5])
else
  redis.call('SREM', KEYS[3], ARGV[5])
end

if ARGV[10] ~= '' then
  redis.call('SPUBLISH', ARGV[9], ARGV[10])
end
return {1, version}
