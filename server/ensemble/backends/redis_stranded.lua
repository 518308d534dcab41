-- Publish a commit its process never published: it died between its commit
-- and its publication (redis_replicated.py). redis_commit.lua keeps the room's
-- last payload ('pub') and enters the room in the slot's unpublished zset;
-- redis_publish.lua clears both. A sweeping process sends, on one connection:
--
--   stranded claim ; WAIT <replicas> <ms> ; stranded publish
--
-- The claim is a write, so the WAIT covers the commit too; the publish acts
-- only on this sweep's own claim, and only if no commit came since.
-- A process that was merely slow publishes it as well: members drop the copy.
--
-- KEYS[1] the slot's unpublished commits (zset room id -> when committed, ms)
-- KEYS[2] the room's state hash
-- ARGV[1] "claim" or "publish"   ARGV[2] room id   ARGV[3] this sweep's nonce
-- claim:   ARGV[4] how long a commit may wait for its own publication (ms)
-- publish: ARGV[4] shard channel
--
-- Returns 1 claimed / published, 0 nothing to do.

if ARGV[1] == 'claim' then
  local since = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if not since then
    return 0
  end
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('ZREM', KEYS[1], ARGV[2])  -- the room is gone
    return 0
  end
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  if now - tonumber(since) < tonumber(ARGV[4]) then
    return 0
  end
  redis.call('ZADD', KEYS[1], now, ARGV[2])  -- the next sweep waits again
  redis.call('HSET', KEYS[2], 'pubclaim', ARGV[3] .. ':' .. (redis.call('HGET', KEYS[2], 'c') or ''))
  return 1
end

local claim = redis.call('HGET', KEYS[2], 'pubclaim')
if claim ~= ARGV[3] .. ':' .. (redis.call('HGET', KEYS[2], 'c') or '') then
  return 0  -- another sweep's claim, or a commit came since (its process publishes it)
end
local payload = redis.call('HGET', KEYS[2], 'pub')
redis.call('HDEL', KEYS[2], 'pub', 'pubclaim')
redis.call('ZREM', KEYS[1], ARGV[2])
if not payload then
  return 0
end
redis.call('SPUBLISH', ARGV[4], payload)
return 1
