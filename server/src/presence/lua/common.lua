-- Shared by every presence script. Every key is declared (all in the room's bucket, so one
-- cluster slot):
--   KEYS[1] <p>p:{bN}:m:<room>  hash: conn -> meta, cjson {u = user, e = epoch, r = rev,
--                               s = last seen ms, f = the state's field names}
--   KEYS[2] <p>p:{bN}:s:<room>  hash: "<conn>\n<field json>" -> value json
--   KEYS[3] <p>p:{bN}:due       zset: "<room>\n<conn>" scored by expiry ms (the bucket's index)
--   KEYS[4] <p>p:{bN}:epoch     counter (join only)
-- ARGV[1] is the room, ARGV[2] the publish command (PUBLISH, or SPUBLISH in a cluster), ARGV[3]
-- the room's channel; each script's own arguments follow.
-- Epoch, rev and times are kept as decimal strings (cjson would round large numbers); state
-- values are JSON encoded by the server and never parsed here.
local meta_key, state_key, due_key = KEYS[1], KEYS[2], KEYS[3]
local room, publish, channel = ARGV[1], ARGV[2], ARGV[3]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
local function member(conn) return room .. '\n' .. conn end
local function field(conn, name) return conn .. '\n' .. name end

local function get_meta(conn)
  local raw = redis.call('HGET', meta_key, conn)
  if not raw then return nil end
  local m = cjson.decode(raw)
  if type(m.f) ~= 'table' then m.f = {} end
  return m
end
local function put_meta(conn, m) redis.call('HSET', meta_key, conn, cjson.encode(m)) end

local function state_json(conn, m)
  if #m.f == 0 then return '{}' end
  local names = {}
  for i, name in ipairs(m.f) do names[i] = field(conn, name) end
  local values = redis.call('HMGET', state_key, unpack(names))
  local parts = {}
  for i, name in ipairs(m.f) do
    if values[i] then parts[#parts + 1] = name .. ':' .. values[i] end
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function entry_json(conn, m)
  return '{"connId":' .. cjson.encode(conn) .. ',"userId":' .. cjson.encode(m.u) ..
    ',"state":' .. state_json(conn, m) .. ',"lastSeenMs":' .. m.s ..
    ',"epoch":' .. m.e .. ',"rev":' .. m.r .. '}'
end

local function snapshot_json()
  local kv = redis.call('HGETALL', meta_key)
  local parts = {}
  for i = 1, #kv, 2 do
    local m = cjson.decode(kv[i + 1])
    if type(m.f) ~= 'table' then m.f = {} end
    parts[#parts + 1] = entry_json(kv[i], m)
  end
  return '[' .. table.concat(parts, ',') .. ']'
end

-- Publishes a presence:event on the room's channel; epoch and rev are decimal strings.
local function announce(kind, conn, user, state, ts, epoch, rev)
  local data = '{"type":"' .. kind .. '","roomId":' .. cjson.encode(room) ..
    ',"userId":' .. cjson.encode(user) .. ',"connId":' .. cjson.encode(conn) ..
    ',"state":' .. state .. ',"ts":' .. int(ts) .. ',"epoch":' .. epoch .. ',"rev":' .. rev .. '}'
  redis.call(publish, channel,
    '{"room":' .. cjson.encode(room) .. ',"event":"presence:event","data":' .. data .. '}')
end

-- Deletes a connection's state fields.
local function clear_state(conn, m)
  if #m.f == 0 then return end
  local names = {}
  for i, name in ipairs(m.f) do names[i] = field(conn, name) end
  redis.call('HDEL', state_key, unpack(names))
end

-- Removes a connection and announces its leave; 0 when it was not there.
local function remove(conn, now)
  local m = get_meta(conn)
  if not m then return 0 end
  clear_state(conn, m)
  redis.call('HDEL', meta_key, conn)
  redis.call('ZREM', due_key, member(conn))
  announce('leave', conn, m.u, 'null', now, m.e, m.r)
  return 1
end
