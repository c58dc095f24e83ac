-- ARGV: prefix, room, conn, user, ttl_ms, then state as (field json, value json) pairs.
-- Returns {"epoch":N,"snapshot":[...]} with the joiner in the snapshot.
local room, conn, user, ttl = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local now = now_ms()
local epoch = redis.call('INCR', prefix .. 'p:epoch')
local sk = skey(room, conn)
redis.call('DEL', sk)
redis.call('HSET', ckey(room, conn), 'user', user, 'epoch', int(epoch), 'rev', '0', 'seen', int(now))
if #ARGV > 5 then redis.call('HSET', sk, unpack(ARGV, 6)) end
redis.call('SADD', rkey(room), conn)
redis.call('ZADD', deadlines, now + ttl, member(room, conn))
announce('join', room, conn, user, state_json(room, conn), now, int(epoch), '0')
return '{"epoch":' .. int(epoch) .. ',"snapshot":' .. snapshot_json(room) .. '}'
