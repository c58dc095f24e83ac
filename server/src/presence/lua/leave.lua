-- ARGV: prefix, room, conn. Returns 1 when the connection was joined, else 0.
return remove(ARGV[2], ARGV[3], now_ms())
