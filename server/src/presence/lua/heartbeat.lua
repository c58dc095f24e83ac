-- ARGV: room, publish, channel, ttl_ms, conn, epoch, digest ('' for none), then the patch as
-- (field json, value json) pairs. Returns {status, changed, epoch, snapshot}: status 1 ok, 0 not
-- joined, 2 stale epoch; snapshot is the room after the patch when the client's digest differed
-- from the room's before it, else ''.
local conn, epoch, seen = ARGV[5], ARGV[6], ARGV[7]
local m = get_meta(conn)
if not m then return {0, 0, 0, ''} end
if m.e ~= epoch then return {2, 0, 0, ''} end
local stale = seen ~= '' and tonumber(seen) ~= digest()
local now = now_ms()
redis.call('ZADD', due_key, now + ttl, member(conn))
local changed = 0
for i = 8, #ARGV, 2 do
  local key = sub(conn, ARGV[i])
  local old = redis.call('HGET', state_key, key)
  if old ~= ARGV[i + 1] then
    if not old then m.f[#m.f + 1] = ARGV[i] end
    redis.call('HSET', state_key, key, ARGV[i + 1])
    changed = 1
  end
end
if changed == 1 then
  local old_rev = m.r
  m.r = int(tonumber(m.r) + 1)
  toggle(conn, old_rev, m.r)
  put_meta(conn, m)
  announce('update', conn, m.u, state_json(conn, m.f), now, epoch, m.r)
end
local snapshot = ''
if stale then snapshot = snapshot_json() end
return {1, changed, tonumber(epoch), snapshot}
