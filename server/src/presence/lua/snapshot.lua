-- KEYS: the room's meta and state hashes and its bucket's expiry index; ARGV: room, publish,
-- channel, ttl_ms. Returns the snapshot as a JSON array.
return snapshot_json()
