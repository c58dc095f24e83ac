-- Shared by every presence script. Every key is declared (all in the room's bucket, so one
-- cluster slot):
--   KEYS[1] <p>p:{bN}:m:<room>  hash: conn -> its meta, the whole entry in one field:
--                               "=<epoch>\n<rev>\n<n>\n<field 1>\n<value 1>\n…<field n>\n<value n>\n<user>"
--                               (field names and values are JSON: no raw newline); "" -> the
--                               room's digest (no connection id is empty)
--   KEYS[2] <p>p:{bN}:s:<room>  hash: "<conn>\n" -> the entry's resume token (and, for an entry
--                               written before values were kept in its meta, "<conn>\n<field
--                               json>" -> value json: see parse_meta)
--   KEYS[3] <p>p:{bN}:due       zset: "<room>\n<conn>" scored by expiry ms (the bucket's index)
--   KEYS[4] <p>p:{bN}:epoch     counter (join only)
--   KEYS[5] <p>p:{bN}:i:<room>  zset: every conn scored 0, so in byte order: snapshot pages
--   KEYS[6] <p>p:{bN}:j:<room>  hash: conn -> its snapshot entry's JSON as an older server kept
--                               it (no longer written: removed with its entry)
-- ARGV[1] is the room, ARGV[2] the publish command (PUBLISH, or SPUBLISH in a cluster), ARGV[3]
-- the room's channel, ARGV[4] the TTL (ms); each script's own arguments follow. A connection's
-- last heartbeat is its expiry minus the TTL. The entry in one meta field keeps a heartbeat to
-- one read and (when the state changed) one write of it, each with the room's digest.
-- Numbers are kept as decimal strings; state values are JSON encoded by the server and never
-- parsed here (Lua's cjson would lose number precision).
local meta_key, state_key, due_key = KEYS[1], KEYS[2], KEYS[3]
local index_key, json_key = KEYS[5], KEYS[6]
local room, publish, channel, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n) return string.format('%d', n) end
local function member(conn) return room .. '\n' .. conn end
local function sub(conn, name) return conn .. '\n' .. name end

-- A connection's meta from its stored text: {e = epoch, r = rev, u = user, f = field names,
-- v = their values}. An entry written before values were kept in the meta (its text has no
-- leading '=') has them in the state hash: they are read from there, and `legacy` set, so that
-- its next write moves them (rolling upgrades keep every entry).
local function parse_meta(conn, raw)
  local legacy = string.byte(raw, 1) ~= 61
  local e, r, n, rest = string.match(raw, '^=?([^\n]*)\n([^\n]*)\n([^\n]*)\n(.*)$')
  if not e then return nil end
  local m, pos = { e = e, r = r, f = {}, v = {} }, 1
  for i = 1, tonumber(n) do
    local nl = string.find(rest, '\n', pos, true)
    m.f[i] = string.sub(rest, pos, nl - 1)
    pos = nl + 1
    if not legacy then
      nl = string.find(rest, '\n', pos, true)
      m.v[i] = string.sub(rest, pos, nl - 1)
      pos = nl + 1
    end
  end
  m.u = string.sub(rest, pos)
  if legacy and #m.f > 0 then
    local names = {}
    for i, name in ipairs(m.f) do names[i] = sub(conn, name) end
    local values = redis.call('HMGET', state_key, unpack(names))
    for i = 1, #m.f do m.v[i] = values[i] or 'null' end
    m.legacy = true
  end
  return m
end

-- The connection's meta, or nil when it is not in the room.
local function get_meta(conn)
  local raw = redis.call('HGET', meta_key, conn)
  if not raw then return nil end
  return parse_meta(conn, raw)
end

-- The stored text of a meta (the current layout, whatever it was read from).
local function meta_text(m)
  local parts = { '=' .. m.e, m.r, #m.f }
  for i, name in ipairs(m.f) do
    parts[#parts + 1] = name
    parts[#parts + 1] = m.v[i]
  end
  parts[#parts + 1] = m.u
  return table.concat(parts, '\n')
end

-- The state hash fields of a legacy entry (see parse_meta), once its meta is rewritten.
local function drop_legacy(conn, m)
  if not m.legacy or #m.f == 0 then return end
  local names = {}
  for i, name in ipairs(m.f) do names[i] = sub(conn, name) end
  redis.call('HDEL', state_key, unpack(names))
  m.legacy = nil
end

local function put_meta(conn, m)
  redis.call('HSET', meta_key, conn, meta_text(m))
  drop_legacy(conn, m)
end

-- The entry's state as a JSON object, from its meta.
local function state_json(m)
  local parts = {}
  for i, name in ipairs(m.f) do parts[i] = name .. ':' .. m.v[i] end
  return '{' .. table.concat(parts, ',') .. '}'
end

-- A snapshot entry's JSON but for lastSeenMs and the closing brace (the REST snapshot's).
local function entry_head(conn, user, state, epoch, rev)
  return '{"connId":' .. cjson.encode(conn) .. ',"userId":' .. cjson.encode(user) ..
    ',"state":' .. state .. ',"epoch":' .. epoch .. ',"rev":' .. rev
end

local function snapshot_json()
  local kv = redis.call('HGETALL', meta_key)
  local parts = {}
  for i = 1, #kv, 2 do
    local conn, m = kv[i], nil
    if conn ~= '' then m = parse_meta(conn, kv[i + 1]) end
    if m then
      local expiry = tonumber(redis.call('ZSCORE', due_key, member(conn)) or 0)
      parts[#parts + 1] = entry_head(conn, m.u, state_json(m), m.e, m.r) ..
        ',"lastSeenMs":' .. int(expiry - ttl) .. '}'
    end
  end
  return '[' .. table.concat(parts, ',') .. ']'
end

-- The room's number of connections. Rooms written before the index existed get it here, once.
local function indexed_total()
  local n, len = redis.call('ZCARD', index_key), redis.call('HLEN', meta_key)
  if len > 0 and n ~= len - 1 then
    for _, conn in ipairs(redis.call('HKEYS', meta_key)) do
      if conn ~= '' then redis.call('ZADD', index_key, 0, conn) end
    end
    n = redis.call('ZCARD', index_key)
  end
  return n
end

-- Up to `limit` entries whose conn sorts after `after` ('' for the first page), as
-- {total, cursor, conns, metas, expiries}: the room's number of connections, the last conn listed
-- when more follow (else ''), and each listed connection, its meta's text (one in the older
-- layout converted; '' if it went meanwhile) and its expiry (ms). Three bulk reads, whatever the
-- room's size, and nothing built per entry: the server reads the metas and writes the JSON.
local function page(after, limit)
  local total = indexed_total()
  local conns = {}
  if limit > 0 then
    local start = '-'
    if after ~= '' then start = '(' .. after end
    conns = redis.call('ZRANGEBYLEX', index_key, start, '+', 'LIMIT', 0, limit + 1)
  end
  local cursor = ''
  if #conns > limit then
    conns[#conns] = nil
    cursor = conns[#conns]
  end
  local metas, expiries = {}, {}
  if #conns > 0 then
    metas = redis.call('HMGET', meta_key, unpack(conns))
    local members = {}
    for i, conn in ipairs(conns) do members[i] = member(conn) end
    expiries = redis.call('ZMSCORE', due_key, unpack(members))
    for i, conn in ipairs(conns) do
      local text = metas[i]
      if not text then
        metas[i] = ''
      elseif string.byte(text, 1) ~= 61 then
        local m = parse_meta(conn, text)
        metas[i] = m and meta_text(m) or ''
      end
      if not expiries[i] then expiries[i] = '0' end
    end
  end
  return {total, cursor, conns, metas, expiries}
end

-- Publishes a presence:event on the room's channel; epoch and rev are decimal strings.
local function announce(kind, conn, user, state, ts, epoch, rev)
  local data = '{"type":"' .. kind .. '","roomId":' .. cjson.encode(room) ..
    ',"userId":' .. cjson.encode(user) .. ',"connId":' .. cjson.encode(conn) ..
    ',"state":' .. state .. ',"ts":' .. int(ts) .. ',"epoch":' .. epoch .. ',"rev":' .. rev .. '}'
  redis.call(publish, channel,
    '{"room":' .. cjson.encode(room) .. ',"event":"presence:event","data":' .. data .. '}')
end

-- 32-bit FNV-1a of s. Lua numbers are doubles: h * 16777619 is computed as h * 2^24 + h * 403,
-- each exact, modulo 2^32.
local function fnv(s)
  local h = 2166136261
  for i = 1, #s do
    h = bit.bxor(h, string.byte(s, i))
    h = (bit.lshift(h, 24) + h * 403) % 4294967296
  end
  return h
end

-- The room's digest (docs/protocol.md, "Views heal themselves"): the sum of fnv(conn) + rev over
-- its entries, modulo 2^32. Kept unreduced (an integer far below 2^53) under the meta hash's field
-- "", beside the entries: a heartbeat reads it with its entry and writes it with its entry.
local function reduce(raw) return tonumber(raw or '0') % 4294967296 end

-- Adds `sign` (1 or -1) times an entry's share to the digest.
local function count(conn, rev, sign)
  redis.call('HINCRBY', meta_key, '', int(sign * (fnv(conn) + tonumber(rev))))
end

-- Deletes a connection's entry, state and resume token (not its expiry); an emptied room's
-- state hash (its digest) goes too.
local function clear(conn, m)
  redis.call('HDEL', state_key, sub(conn, ''))
  drop_legacy(conn, m)
  redis.call('HDEL', meta_key, conn)
  redis.call('HDEL', json_key, conn)
  redis.call('ZREM', index_key, conn)
  count(conn, m.r, -1)
  if redis.call('HLEN', meta_key) <= 1 then redis.call('DEL', meta_key, state_key) end
end

-- Removes a connection whose meta is m and announces its leave.
local function remove(conn, m, now)
  clear(conn, m)
  redis.call('ZREM', due_key, member(conn))
  announce('leave', conn, m.u, 'null', now, m.e, m.r)
  return 1
end
