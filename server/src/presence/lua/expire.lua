-- ARGV: room, publish, channel, ttl_ms, conn. Removes the connection if its deadline has passed,
-- announcing its leave; the script is atomic, so reapers on several nodes announce it once.
-- Returns 1 when it expired it, else 0.
local conn = ARGV[5]
local now = now_ms()
local deadline = redis.call('ZSCORE', due_key, member(conn))
if not deadline or tonumber(deadline) > now then return 0 end
redis.call('ZREM', due_key, member(conn))
local m = get_meta(conn)
if not m then return 0 end
return remove(conn, m, now)
