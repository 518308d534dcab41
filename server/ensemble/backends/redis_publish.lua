-- Publish a commit's events once a replica has it (redis_replicated.py): only
-- if that commit is the room's last one, told by its token, so a commit that
-- lost its version check never publishes. The channel is on the room's slot.
-- The room's last commit, once published, is no longer waiting
-- (redis_commit.lua kept it for redis_stranded.lua).
--
-- KEYS[1] state hash   KEYS[2] the slot's unpublished commits (zset)
-- ARGV[1] commit token, or "" to publish this payload whatever the state holds
-- ARGV[2] shard channel   ARGV[3] publication payload   ARGV[4] room id
--
-- Returns 1 published, 0 not the room's last commit (nothing published).

if ARGV[1] ~= '' then
  if redis.call('HGET', KEYS[1], 'c') ~= ARGV[1] then
    return 0
  end
  redis.call('HDEL', KEYS[1], 'pub')
  redis.call('ZREM', KEYS[2], ARGV[4])
end
redis.call('SPUBLISH', ARGV[2], ARGV[3])
return 1
