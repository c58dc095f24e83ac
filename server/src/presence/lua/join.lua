-- ARGV: room, publish, channel, ttl_ms, conn, user, token, resume conn, resume token ('' and ''
-- for none), page size, then state as (field json, value json) pairs. Returns {conn, epoch,
-- resumed (1 or 0), the room's first page (see page), the joiner included when it falls in it}.
-- A resume takes over the named entry when it is there with that token and user: same conn, new
-- epoch, rev continuing, state replaced, and an update announced only if the state changed.
-- Otherwise `conn` joins (a rejoin replaces its entry) and a join is announced. Epochs come from
-- the bucket's counter, never below the time in ms × 1024: they never repeat in a room and never
-- go backwards, even when Redis lost its data.
local conn, user, token, resume_conn, resume_token = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local page_size = tonumber(ARGV[10])
local now = now_ms()
local next_epoch, floor = redis.call('INCR', KEYS[4]), now * 1024
if next_epoch < floor then
  next_epoch = floor
  redis.call('SET', KEYS[4], int(floor))
end
local epoch = int(next_epoch)

local taken = nil
if resume_conn ~= '' then
  local m = get_meta(resume_conn)
  if m and m.u == user and redis.call('HGET', state_key, sub(resume_conn, '')) == resume_token then
    conn, taken = resume_conn, m
  end
end

-- The state the resumed entry had, by field name.
local before = {}
if taken then
  for i, name in ipairs(taken.f) do before[name] = taken.v[i] end
end

local old = taken or get_meta(conn)
if old then clear(conn, old) end
local m = { e = epoch, r = '0', u = user, f = {}, v = {} }
local same = taken ~= nil and (#ARGV - 10) / 2 == #taken.f
for i = 11, #ARGV, 2 do
  m.f[#m.f + 1] = ARGV[i]
  m.v[#m.v + 1] = ARGV[i + 1]
  if before[ARGV[i]] ~= ARGV[i + 1] then same = false end
end
if taken then
  m.r = taken.r
  if not same then m.r = int(tonumber(taken.r) + 1) end
end
put_meta(conn, m)
redis.call('HSET', state_key, sub(conn, ''), token)
redis.call('ZADD', index_key, 0, conn)
local state = state_json(m)
count(conn, m.r, 1)
redis.call('ZADD', due_key, now + ttl, member(conn))
if not taken then
  announce('join', conn, user, state, now, epoch, '0')
elseif not same then
  announce('update', conn, user, state, now, epoch, m.r)
end
local resumed = 0
if taken then resumed = 1 end
return {conn, epoch, resumed, page('', page_size)}
