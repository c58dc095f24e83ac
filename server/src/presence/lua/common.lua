-- Shared by every presence script. ARGV[1] is the key prefix.
-- Keys: <p>p:{<room>}:c:<conn> (hash: user, epoch, rev, seen), <p>p:{<room>}:s:<conn> (hash:
-- JSON-encoded field -> JSON-encoded value), <p>p:{<room>}:conns (set of connIds),
-- <p>p:deadlines (zset: "<room>\n<conn>" scored by expiry ms), <p>p:epoch (counter).
-- State values are JSON encoded by the server, never parsed here: Lua's cjson would lose
-- number precision. Only plain strings go through cjson.encode.
local prefix = ARGV[1]
local deadlines = prefix .. 'p:deadlines'

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
local function ckey(room, conn) return prefix .. 'p:{' .. room .. '}:c:' .. conn end
local function skey(room, conn) return prefix .. 'p:{' .. room .. '}:s:' .. conn end
local function rkey(room) return prefix .. 'p:{' .. room .. '}:conns' end
local function member(room, conn) return room .. '\n' .. conn end

local function state_json(room, conn)
  local kv = redis.call('HGETALL', skey(room, conn))
  local parts = {}
  for i = 1, #kv, 2 do parts[#parts + 1] = kv[i] .. ':' .. kv[i + 1] end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function entry_json(room, conn)
  local m = redis.call('HMGET', ckey(room, conn), 'user', 'epoch', 'rev', 'seen')
  if not m[1] then return nil end
  return '{"connId":' .. cjson.encode(conn) .. ',"userId":' .. cjson.encode(m[1]) ..
    ',"state":' .. state_json(room, conn) .. ',"lastSeenMs":' .. m[4] ..
    ',"epoch":' .. m[2] .. ',"rev":' .. m[3] .. '}'
end

local function snapshot_json(room)
  local parts = {}
  for _, conn in ipairs(redis.call('SMEMBERS', rkey(room))) do
    local e = entry_json(room, conn)
    if e then parts[#parts + 1] = e end
  end
  return '[' .. table.concat(parts, ',') .. ']'
end

-- Publishes a presence:event on the bus; epoch and rev are decimal strings.
local function announce(kind, room, conn, user, state, ts, epoch, rev)
  local data = '{"type":"' .. kind .. '","roomId":' .. cjson.encode(room) ..
    ',"userId":' .. cjson.encode(user) .. ',"connId":' .. cjson.encode(conn) ..
    ',"state":' .. state .. ',"ts":' .. int(ts) .. ',"epoch":' .. epoch .. ',"rev":' .. rev .. '}'
  redis.call('PUBLISH', prefix .. 'bus',
    '{"room":' .. cjson.encode(room) .. ',"event":"presence:event","data":' .. data .. '}')
end

-- Removes a connection and announces its leave; 0 when it was not there.
local function remove(room, conn, now)
  local ck = ckey(room, conn)
  local m = redis.call('HMGET', ck, 'user', 'epoch', 'rev')
  if not m[1] then return 0 end
  redis.call('DEL', ck, skey(room, conn))
  redis.call('SREM', rkey(room), conn)
  redis.call('ZREM', deadlines, member(room, conn))
  announce('leave', room, conn, m[1], 'null', now, m[2], m[3])
  return 1
end
