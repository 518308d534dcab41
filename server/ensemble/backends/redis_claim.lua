-- Claim a room's due work: exactly one caller gets it per deadline.
--
-- KEYS[1] the slot's schedule (zset room id -> next deadline ms)
-- ARGV[1] room id   ARGV[2] now ms (the caller's clock)   ARGV[3] lease ms
--
-- When the room is due, its entry moves to now + lease and 1 is returned; the
-- claimer's commit then writes the room's real next deadline. Should the
-- claimer die first, the room is due again when the lease ends.

local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not at or tonumber(at) > tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[1])
return 1
