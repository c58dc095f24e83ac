-- ARGV: room, publish, channel, ttl_ms, conn. Returns 1 when the connection was joined, else 0.
return remove(ARGV[5], now_ms())
