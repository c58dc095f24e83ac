-- ARGV: room, publish, channel, conn, user, ttl_ms, then state as (field json, value json) pairs.
-- Returns {"epoch":N,"snapshot":[...]} with the joiner in the snapshot. A rejoin replaces the
-- connection's entry; epochs come from the bucket's counter, so they never repeat in a room.
local conn, user, ttl = ARGV[4], ARGV[5], tonumber(ARGV[6])
local now = now_ms()
local epoch = int(redis.call('INCR', KEYS[4]))
local old = get_meta(conn)
if old then clear_state(conn, old) end
local fields = {}
for i = 7, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]
  redis.call('HSET', state_key, field(conn, ARGV[i]), ARGV[i + 1])
end
local m = { u = user, e = epoch, r = '0', s = int(now), f = fields }
put_meta(conn, m)
redis.call('ZADD', due_key, now + ttl, member(conn))
announce('join', conn, user, state_json(conn, m), now, epoch, '0')
return '{"epoch":' .. epoch .. ',"snapshot":' .. snapshot_json() .. '}'
