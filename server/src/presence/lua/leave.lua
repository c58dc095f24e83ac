-- ARGV: room, publish, channel, ttl_ms, conn, epoch ('' for any). Returns 1 when the connection
-- was joined (in that epoch) and is removed, else 0: a leave of an entry resumed since (a newer
-- epoch) changes nothing.
local conn, epoch = ARGV[5], ARGV[6]
local m = get_meta(conn)
if not m or (epoch ~= '' and m.e ~= epoch) then return 0 end
return remove(conn, m, now_ms())
