-- ARGV: prefix, room. Returns the room's snapshot as a JSON array.
return snapshot_json(ARGV[2])
