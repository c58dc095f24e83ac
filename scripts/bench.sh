#!/usr/bin/env bash
# Runs the standard load scenarios end to end on this machine: a private redis-server, the server
# in release mode on Redis, rtm-bench for each scenario, then everything stopped. Writes the
# figures to docs/benchmarks.md. Takes a few minutes; DURATION_MS shortens each scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || true
duration=${DURATION_MS:-30000}

scripts/install-deps.sh >/dev/null
cargo build -q --release -p rtm-server -p rtm-tests --bin rtm-server --bin rtm-bench
redis_port=$(python3 scripts/free-port.py)
port=$(python3 scripts/free-port.py)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/tmp/rtm-bench-redis.log 2>&1 &
redis_pid=$!
sleep 0.3
target/release/rtm-server --host 127.0.0.1 --port "$port" --redis-url "redis://127.0.0.1:$redis_port" \
  --rate-limit-per-sec 1000 --rate-limit-burst 1000 >/tmp/rtm-bench-server.log 2>&1 &
server_pid=$!
trap 'kill $server_pid $redis_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

out=docs/benchmarks.md
run() {
  local title=$1; shift
  redis-cli -p "$redis_port" CONFIG RESETSTAT >/dev/null
  echo "== $title"
  local json
  json=$(target/release/rtm-bench --json --target-url "http://127.0.0.1:$port" --server-pid "$server_pid" \
    --test-duration-ms "$duration" --max-errors 1000000 --max-missing 1000000 "$@")
  local evals
  evals=$(redis-cli -p "$redis_port" INFO commandstats | tr -d '\r' | awk -F'[=,:]' '/^cmdstat_(evalsha|eval):/ {s+=$3} END {print s+0}')
  python3 - "$title" "$evals" "$json" >>"$out" <<'PY'
import json, sys
title, evals, r = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
hb, j = r["heartbeat"], r["join"]
calls = hb["count"] + j["count"]
print(f"### {title}\n")
print(f"| | p50 | p90 | p95 | p99 | max | count |\n|---|---|---|---|---|---|---|")
for name, s in (("join ack", j), ("join fan-out", r["join_fanout"]), ("heartbeat ack", hb)):
    print(f"| {name} | {s['p50_ms']:.2f} ms | {s['p90_ms']:.2f} ms | {s['p95_ms']:.2f} ms | {s['p99_ms']:.2f} ms | {s['max_ms']:.2f} ms | {s['count']} |")
print()
print(f"- clients: {r['clients']} in {r['rooms']} rooms")
print(f"- heartbeats/s: {r['achieved_heartbeats_per_sec']:.0f} achieved of {r['target_heartbeats_per_sec']:.0f} target")
print(f"- presence updates: {r['events_received']} received of {r['events_expected']} expected, {r['events_missing']} missing, {r['events_duplicate']} duplicate")
print(f"- errors: {r['errors'] or 'none'}")
if r.get("server_rss_mb") is not None:
    print(f"- server RSS at the end: {r['server_rss_mb']:.1f} MB")
print(f"- Redis scripts run: {evals} for {calls} joins and heartbeats ({evals / max(calls, 1):.2f} per operation, leaves and reaper runs included)\n")
PY
}

{
  echo "# Benchmarks"
  echo
  echo "Written by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d): server (release, Redis store), Redis and"
  echo "the load generator (\`rtm-bench\`, native SDK clients) together on one machine:"
  echo "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)."
  echo "Each scenario sends for $((duration / 1000)) s after every client joined."
  echo
} >"$out"

run "200 clients × 10 heartbeats/s, each patching state" --room-count 50 --users-per-room 4 --heartbeats-per-sec 10
run "500 clients × 20 heartbeats/s, each patching state" --room-count 50 --users-per-room 10 --heartbeats-per-sec 20
run "1,000 clients × 25 heartbeats/s, each patching state" --room-count 250 --users-per-room 4 --heartbeats-per-sec 25
run "10,000 idle connections in 1,000 rooms" --room-count 1000 --users-per-room 10 --idle --ramp-up-ms 20000
echo "wrote $out"
