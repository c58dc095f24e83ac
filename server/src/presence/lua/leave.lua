-- ARGV: room, publish, channel, conn. Returns 1 when the connection was joined, else 0.
return remove(ARGV[4], now_ms())
