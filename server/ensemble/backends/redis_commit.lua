-- Commit one room transaction atomically: version check, state, history,
-- schedule, public listing, publication. No product rule lives here: every
-- value was computed by the pure core in the calling process.
--
-- KEYS[1] state hash            (fields: data, summary, v, c)
-- KEYS[2] schedule zset         (room id -> next deadline ms)
-- KEYS[3] public rooms set
-- KEYS[4..] one history stream per packet, in commit order (may repeat)
-- ARGV[1] expected version, or -1 to create a room that must not exist yet
-- ARGV[2] commit token (makes a retried EVALSHA idempotent)
-- ARGV[3] state bytes           ARGV[4] summary bytes
-- ARGV[5] room id               ARGV[6] deadline ms or ""
-- ARGV[7] "1" listed publicly, "0" not
-- ARGV[8] history size          ARGV[9] channel
-- ARGV[10] publication payload or "" for none
-- ARGV[11..] per packet: stream entry id, packet bytes
--
-- Returns {status, version}: 1 committed, 2 this token already committed,
-- 0 version conflict (or the room already exists when creating),
-- -1 no such room.

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
      return {2, tonumber(current)}
    end
    return {0, tonumber(current)}
  end
end

local version = expected + 1
redis.call('HSET', KEYS[1], 'data', ARGV[3], 'summary', ARGV[4], 'v', version, 'c', ARGV[2])

local size = ARGV[8]
for i = 4, #KEYS do
  local arg = 11 + (i - 4) * 2
  redis.call('XADD', KEYS[i], 'MAXLEN', '=', size, ARGV[arg], 'p', ARGV[arg + 1])
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
  redis.call('PUBLISH', ARGV[9], ARGV[10])
end
return {1, version}
