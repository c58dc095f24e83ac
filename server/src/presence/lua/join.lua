-- ARGV: room, publish, channel, ttl_ms, conn, user, then state as (field json, value json) pairs.
-- Returns {"epoch":N,"snapshot":[...]} with the joiner in the snapshot. A rejoin replaces the
-- connection's entry. Epochs come from the bucket's counter, never below the time in ms × 1024:
-- they never repeat in a room and never go backwards, even when Redis lost its data.
local conn, user = ARGV[5], ARGV[6]
local now = now_ms()
local next_epoch, floor = redis.call('INCR', KEYS[4]), now * 1024
if next_epoch < floor then
  next_epoch = floor
  redis.call('SET', KEYS[4], int(floor))
end
local epoch = int(next_epoch)
local old = get_meta(conn)
if old then clear(conn, old) end
local m = { e = epoch, r = '0', u = user, f = {} }
for i = 7, #ARGV, 2 do
  m.f[#m.f + 1] = ARGV[i]
  redis.call('HSET', state_key, sub(conn, ARGV[i]), ARGV[i + 1])
end
put_meta(conn, m)
redis.call('ZADD', due_key, now + ttl, member(conn))
announce('join', conn, user, state_json(conn, m.f), now, epoch, '0')
return '{"epoch":' .. epoch .. ',"snapshot":' .. snapshot_json() .. '}'
