-- ARGV: room, publish, channel, conn, epoch, ttl_ms, then the patch as (field json, value json)
-- pairs. Returns {status, changed, epoch}: status 1 ok, 0 not joined, 2 stale epoch.
local conn, epoch, ttl = ARGV[4], ARGV[5], tonumber(ARGV[6])
local m = get_meta(conn)
if not m then return {0, 0, 0} end
if m.e ~= epoch then return {2, 0, 0} end
local now = now_ms()
m.s = int(now)
redis.call('ZADD', due_key, now + ttl, member(conn))
local changed = 0
for i = 7, #ARGV, 2 do
  local key = field(conn, ARGV[i])
  local old = redis.call('HGET', state_key, key)
  if old ~= ARGV[i + 1] then
    if not old then m.f[#m.f + 1] = ARGV[i] end
    redis.call('HSET', state_key, key, ARGV[i + 1])
    changed = 1
  end
end
if changed == 1 then m.r = int(tonumber(m.r) + 1) end
put_meta(conn, m)
if changed == 1 then announce('update', conn, m.u, state_json(conn, m), now, epoch, m.r) end
return {1, changed, tonumber(epoch)}
