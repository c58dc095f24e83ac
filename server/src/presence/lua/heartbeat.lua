-- ARGV: prefix, room, conn, epoch, ttl_ms, then the patch as (field json, value json) pairs.
-- Returns {status, changed, epoch}: status 1 ok, 0 not joined, 2 stale epoch.
local room, conn, epoch, ttl = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local ck = ckey(room, conn)
local m = redis.call('HMGET', ck, 'user', 'epoch', 'rev')
if not m[1] then return {0, 0, 0} end
if m[2] ~= epoch then return {2, 0, 0} end
local now = now_ms()
redis.call('HSET', ck, 'seen', int(now))
redis.call('ZADD', deadlines, now + ttl, member(room, conn))
local sk = skey(room, conn)
local changed = 0
for i = 6, #ARGV, 2 do
  if redis.call('HGET', sk, ARGV[i]) ~= ARGV[i + 1] then
    redis.call('HSET', sk, ARGV[i], ARGV[i + 1])
    changed = 1
  end
end
if changed == 1 then
  local rev = redis.call('HINCRBY', ck, 'rev', 1)
  announce('update', room, conn, m[1], state_json(room, conn), now, epoch, int(rev))
end
return {1, changed, tonumber(epoch)}
