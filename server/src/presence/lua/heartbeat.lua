-- ARGV: room, publish, channel, ttl_ms, conn, epoch, digest ('' for none), page size, then the
-- patch as (field json, value json) pairs. Returns {status, changed, epoch, snapshot}: status 1
-- ok, 0 not joined, 2 stale epoch; snapshot is the first page of the room after the patch (see
-- page) when the client's digest differed from the room's before it, else false.
local conn, epoch, seen, page_size = ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
local raw = redis.call('HMGET', meta_key, conn, '')
local m = raw[1] and parse_meta(raw[1])
if not m then return {0, 0, 0, false} end
if m.e ~= epoch then return {2, 0, 0, false} end
local stale = seen ~= '' and tonumber(seen) ~= reduce(raw[2])
local now = now_ms()
redis.call('ZADD', due_key, now + ttl, member(conn))
local changed = 0
for i = 9, #ARGV, 2 do
  local key = sub(conn, ARGV[i])
  local old = redis.call('HGET', state_key, key)
  if old ~= ARGV[i + 1] then
    if not old then m.f[#m.f + 1] = ARGV[i] end
    redis.call('HSET', state_key, key, ARGV[i + 1])
    changed = 1
  end
end
if changed == 1 then
  m.r = int(tonumber(m.r) + 1)
  -- The entry's new rev and the digest's (one more) in one write.
  redis.call('HSET', meta_key, conn, meta_text(m), '', int(tonumber(raw[2] or '0') + 1))
  announce('update', conn, m.u, put_entry(conn, m), now, epoch, m.r)
end
local snapshot = false
if stale then snapshot = page('', page_size) end
return {1, changed, tonumber(epoch), snapshot}
