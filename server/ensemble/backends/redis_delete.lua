-- Forget a room: its keys and its entries in its slot's indexes, in one step.
--
-- KEYS[1..3] the slot's indexes (schedule zset, listing set, leases set)
-- KEYS[4..]  the room's own keys (state, leases, log, histories, ...)
-- ARGV[1]    room id

redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
for i = 4, #KEYS do
  redis.call('DEL', KEYS[i])
end
return 1
