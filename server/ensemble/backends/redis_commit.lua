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
-- KEYS[6] record quota hash     (per author: "k:<id>" records kept, "d:<id>" dropped)
-- KEYS[7] the slot's unpublished commits (zset room id -> when committed, ms)
-- KEYS[8..] one history stream per packet, in commit order (may repeat)
-- ARGV[1] expected version, or -1 to create a room that must not exist yet
-- ARGV[2] commit token (makes a retried EVALSHA idempotent)
-- ARGV[3] state bytes           ARGV[4] summary bytes
-- ARGV[5] room id               ARGV[6] deadline ms or ""
-- ARGV[7] "1" listed publicly, "0" not
-- ARGV[8] history size
-- ARGV[9] shard channel, or "" when the caller publishes after WAIT
--         (redis_publish.lua): the payload is then kept in the state hash
--         ('pub') and the room entered in KEYS[7] until it is published, so
--         that if the caller dies first another process publishes it
--         (redis_stranded.lua)
-- ARGV[10] publication payload (msgpack [deadline, [packet...]]) or "" for none
-- ARGV[11] record log size      ARGV[12] record quota per author
-- ARGV[13] number of records n
-- ARGV[14..13+2n] per record: its author (core.record_author) or "", its bytes;
--          then per packet: stream entry id, packet bytes
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
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
if now > tonumber(ARGV[#ARGV]) then
  return {-2, 0}
end

local version = expected + 1
redis.call('HSET', KEYS[1], 'data', ARGV[3], 'summary', ARGV[4], 'v', version, 'c', ARGV[2])

-- A record is kept while the room's log and its author's quota have room (as
-- MemoryBackend._append_records does); else counted, in all and per author.
local records = tonumber(ARGV[13])
if records > 0 then
  local room_left = tonumber(ARGV[11]) - redis.call('LLEN', KEYS[4])
  local quota = tonumber(ARGV[12])
  for i = 14, 13 + 2 * records, 2 do
    local author = ARGV[i]
    local kept = room_left > 0 and (author == '' or
      tonumber(redis.call('HGET', KEYS[6], 'k:' .. author) or 0) < quota)
    if kept then
      redis.call('RPUSH', KEYS[4], ARGV[i + 1])
      room_left = room_left - 1
      if author ~= '' then
        redis.call('HINCRBY', KEYS[6], 'k:' .. author, 1)
      end
    else
      redis.call('HINCRBY', KEYS[1], 'dropped', 1)
      if author ~= '' then
        redis.call('HINCRBY', KEYS[6], 'd:' .. author, 1)
      end
    end
  end
end

local size = ARGV[8]
local first = 14 + 2 * records
for i = 8, #KEYS do
  local arg = first + (i - 8) * 2
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
  if ARGV[9] ~= '' then
    redis.call('SPUBLISH', ARGV[9], ARGV[10])
  else
    redis.call('HSET', KEYS[1], 'pub', ARGV[10])
    redis.call('ZADD', KEYS[7], now, ARGV[5])
  end
end
return {1, version}
