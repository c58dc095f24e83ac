-- KEYS: the room's meta and state hashes; ARGV: room. Returns the snapshot as a JSON array.
return snapshot_json()
