-- A storage write or delete, with its announcement, in one step.
--   KEYS[1] <p>st:{bN}:k:<room>  hash: key -> "<version> <value JSON>"
--   KEYS[2] <p>st:{bN}:r:<room>  the room's rev
--   ARGV[1] the key; ARGV[2] the value's JSON ("" deletes); ARGV[3] ifVersion ("" for none);
--   ARGV[4] the most keys a room holds; ARGV[5] the TTL in ms; ARGV[6] the publish command;
--   ARGV[7] the room's channel; ARGV[8] the announcement up to its value
-- Returns {"written", version}, {"absent"}, {"full"} or {"conflict", version, value JSON or ""}.
local function int(n)
  return string.format('%.0f', n)
end

local stored = redis.call('HGET', KEYS[1], ARGV[1])
local version, current = 0, ''
if stored then
  local space = string.find(stored, ' ', 1, true)
  version = tonumber(string.sub(stored, 1, space - 1))
  current = string.sub(stored, space + 1)
end
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then
  return {'conflict', int(version), current}
end

local value = ARGV[2]
if value == '' then
  if not stored then
    return {'absent'}
  end
  redis.call('HDEL', KEYS[1], ARGV[1])
  version, value = 0, 'null'
else
  if not stored and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
    return {'full'}
  end
  version = version + 1
  redis.call('HSET', KEYS[1], ARGV[1], int(version) .. ' ' .. value)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])

-- The room's rev: +1, and never below the clock in ms x 1024 (it never goes back, even after
-- the room's storage expired).
local t = redis.call('TIME')
local floor = (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) * 1024
local rev = int(math.max((tonumber(redis.call('GET', KEYS[2])) or 0) + 1, floor))
redis.call('SET', KEYS[2], rev, 'PX', ARGV[5])

redis.call(ARGV[6], ARGV[7],
  ARGV[8] .. value .. ',"version":' .. int(version) .. ',"rev":' .. rev .. '}}')
return {'written', int(version)}
