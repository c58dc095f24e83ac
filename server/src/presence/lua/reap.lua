-- ARGV: prefix, max. Removes up to max expired connections, announcing each leave once
-- (the script is atomic, so reapers on several nodes never announce one twice).
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', deadlines, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  redis.call('ZREM', deadlines, m)
  local room, conn = string.match(m, '^(.*)\n([^\n]*)$')
  if room then remove(room, conn, now) end
end
return #due
