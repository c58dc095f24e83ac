-- ARGV: room, publish, channel, ttl_ms, after ('' for the first page), limit. Returns the page
-- as JSON (see page_json).
return page_json(ARGV[5], tonumber(ARGV[6]))
