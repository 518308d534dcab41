-- Forget a room: its keys and its entries in its slot's indexes, in one step.
--
-- KEYS[1..4] the slot's indexes (schedule zset, listing set, leases set,
--            unpublished zset)
-- KEYS[5..]  the room's own keys (state, leases, log, histories, ...)
-- ARGV[1]    room id

redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
for i = 5, #KEYS do
  redis.call('DEL', KEYS[i])
end
return 1
