-- ARGV: room, publish, channel, ttl_ms, conn, epoch, grace_ms. A lost connection's entry stays
-- for the grace: its deadline becomes now + grace unless its TTL deadline is earlier (LT), and the
-- reaper announces its leave then unless a resume took it over. Returns 1 when the connection was
-- there in that epoch, else 0.
local conn, epoch, grace = ARGV[5], ARGV[6], tonumber(ARGV[7])
local m = get_meta(conn)
if not m or m.e ~= epoch then return 0 end
redis.call('ZADD', due_key, 'LT', now_ms() + grace, member(conn))
return 1
