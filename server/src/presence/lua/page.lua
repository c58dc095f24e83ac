-- ARGV: room, publish, channel, ttl_ms, after ('' for the first page), limit. Returns the page
-- (see page).
return page(ARGV[5], tonumber(ARGV[6]))
