-- Heartbeats, many in one call: a node sends those that arrived within one short tick (see
-- heartbeat_batch.rs), so Redis reads, sets up and answers one call for them all.
-- KEYS: each heartbeat's room's six keys, in the order above (the epoch counter is not used).
-- ARGV: '', publish, '', ttl_ms (see above: the room and channel are each heartbeat's), then per
-- heartbeat: room, channel, conn, epoch, digest ('' for none), page size, n, then the patch as n
-- strings: (field json, value json) pairs. One TIME serves the whole call.
-- Returns, per heartbeat in order, {status, changed, epoch, snapshot}: status 1 ok, 0 not
-- joined, 2 stale epoch; snapshot is the first page of the room after the patch (see page) when
-- the client's digest differed from the room's before it, else false. Each heartbeat sees the
-- ones before it in the call (two of one connection apply in order).

-- One heartbeat of the connection `conn`, its patch at ARGV[from .. from + n - 1].
local function beat(conn, epoch, seen, page_size, now, expiry, from, n)
  local raw = redis.call('HMGET', meta_key, conn, '')
  if not raw[1] then return {0, 0, 0, false} end
  -- The epoch is the text's first line: a keep-alive parses nothing more.
  if string.match(raw[1], '^=?([^\n]*)') ~= epoch then return {2, 0, 0, false} end
  local stale = seen ~= '' and tonumber(seen) ~= reduce(raw[2])
  redis.call('ZADD', due_key, expiry, member(conn))
  local changed = 0
  if n > 0 then
    local m = parse_meta(conn, raw[1])
    if not m then return {0, 0, 0, false} end
    -- The patch merged into the state: a changed field keeps its place, a new one goes last.
    local at = {}
    for i, name in ipairs(m.f) do at[name] = i end
    for i = from, from + n - 1, 2 do
      local j = at[ARGV[i]]
      if not j then
        j = #m.f + 1
        m.f[j], at[ARGV[i]] = ARGV[i], j
      end
      if m.v[j] ~= ARGV[i + 1] then
        m.v[j] = ARGV[i + 1]
        changed = 1
      end
    end
    if changed == 1 then
      m.r = int(tonumber(m.r) + 1)
      -- The entry (its new state and rev) and the digest (one more) in one write.
      redis.call('HSET', meta_key, conn, meta_text(m), '', int(tonumber(raw[2] or '0') + 1))
      drop_legacy(conn, m)
      announce('update', conn, m.u, state_json(m), now, epoch, m.r)
    end
  end
  local snapshot = false
  if stale then snapshot = page('', page_size) end
  return {1, changed, tonumber(epoch), snapshot}
end

local now, results, a = now_ms(), {}, 5
local expiry = int(now + ttl)
for h = 1, #KEYS / 6 do
  local k = (h - 1) * 6
  meta_key, state_key, due_key = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  index_key = KEYS[k + 5]
  room, channel = ARGV[a], ARGV[a + 1]
  local n = tonumber(ARGV[a + 6])
  results[h] = beat(ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], tonumber(ARGV[a + 5]), now, expiry,
    a + 7, n)
  a = a + 7 + n
end
return results
