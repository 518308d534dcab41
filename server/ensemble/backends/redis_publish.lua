-- Publish a commit's events once a replica has it (redis_replicated.py): only
-- if that commit is the room's last one, told by its token, so a commit that
-- lost its version check never publishes. The channel is on the room's slot.
--
-- KEYS[1] state hash
-- ARGV[1] commit token, or "" to publish whatever the state holds
-- ARGV[2] shard channel   ARGV[3] publication payload
--
-- Returns 1 published, 0 not the room's last commit (nothing published).

if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'c') ~= ARGV[1] then
  return 0
end
redis.call('SPUBLISH', ARGV[2], ARGV[3])
return 1
