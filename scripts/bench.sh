#!/usr/bin/env bash
# Runs the standard load scenarios end to end on this machine: a private redis-server, the server
# in release mode on Redis, rtm-bench for each scenario, then everything stopped. Writes the
# figures and the targets met or missed to docs/benchmarks.md (docs/performance.md explains
# them). Takes about 6 minutes; DURATION_MS shortens each scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION_MS:-20000}

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
trap 'kill $server_pid $redis_pid 2>/dev/null || true' EXIT # $server_pid grows to three nodes
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

out=docs/benchmarks.md
# Comparisons measured by hand ("## Before and after …" sections) survive a re-run.
previous=$(mktemp)
cp "$out" "$previous" 2>/dev/null || true
results=$(mktemp -d)
# run NAME TITLE ARGS...: one scenario; its report (JSON, plus Redis script calls) in $results/NAME.
run() {
  local name=$1 title=$2; shift 2
  redis-cli -p "$redis_port" CONFIG RESETSTAT >/dev/null
  echo "== $title" >&2
  target/release/rtm-bench --json --target-url "http://127.0.0.1:$port" --server-pid "$server_pid" \
    --test-duration-ms "$duration" --max-errors 1000000 --max-missing 1000000 "$@" >"$results/$name.json"
  redis-cli -p "$redis_port" INFO commandstats | tr -d '\r' |
    awk -F'[=,:]' '/^cmdstat_(evalsha|eval):/ {s+=$3} END {print s+0}' >"$results/$name.evals"
  printf '%s\n' "$title" >"$results/$name.title"
}

run standard "200 clients in 50 rooms × 10 heartbeats/s, each patching state" \
  --room-count 50 --users-per-room 4 --heartbeats-per-sec 10
run busy "500 clients in 50 rooms × 20 heartbeats/s, each patching state" \
  --room-count 50 --users-per-room 10 --heartbeats-per-sec 20
# The ceiling: 1,000 clients in rooms of 4, faster and faster, until p99 passes 50 ms.
for rate in 8 10 12 14 16 20 25; do
  run "ceiling-$rate" "1,000 clients in 250 rooms × $rate heartbeats/s, each patching state" \
    --room-count 250 --users-per-room 4 --heartbeats-per-sec "$rate"
  p99=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["heartbeat"]["p99_ms"])' "$results/ceiling-$rate.json")
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 50 else 1)' "$p99" || break
done
run idle "10,000 idle connections in 1,000 rooms (a keep-alive heartbeat every 10 s)" \
  --room-count 1000 --users-per-room 10 --idle --ramp-up-ms 20000

# Multi-node: two more nodes on the same Redis; one generator per node, each with rooms of its
# own, all at once. Each node should receive its own rooms' events only (per-room channels), not
# the whole system's.
received() { # the node's rtm_bus_messages_total{direction="received"}
  curl -sf "http://127.0.0.1:$1/metrics" | awk '/^rtm_bus_messages_total\{direction="received"\}/ {print $2}'
}
ports=("$port")
for _ in 1 2; do
  p=$(python3 scripts/free-port.py)
  target/release/rtm-server --host 127.0.0.1 --port "$p" --redis-url "redis://127.0.0.1:$redis_port" \
    --rate-limit-per-sec 1000 --rate-limit-burst 1000 >>/tmp/rtm-bench-server.log 2>&1 &
  server_pid="$server_pid $!"
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$p/health" >/dev/null && break; sleep 0.1; done
  ports+=("$p")
done
echo "== 3 nodes on one Redis, 100 clients in 25 rooms × 5 heartbeats/s on each" >&2
for i in 0 1 2; do received "${ports[$i]}" >"$results/node-$i.before"; done
pids=()
for i in 0 1 2; do
  target/release/rtm-bench --json --target-url "http://127.0.0.1:${ports[$i]}" \
    --test-duration-ms "$duration" --max-errors 1000000 --max-missing 1000000 \
    --room-count 25 --users-per-room 4 --heartbeats-per-sec 5 >"$results/node-$i.json" &
  pids+=($!)
done
wait "${pids[@]}"
sleep 1 # the last leaves
for i in 0 1 2; do received "${ports[$i]}" >"$results/node-$i.after"; done

python3 - "$results" "$duration" >"$out" <<'PY'
import glob, json, os, platform, subprocess, sys
results, duration = sys.argv[1], int(sys.argv[2])
def load(name):
    r = json.load(open(f"{results}/{name}.json"))
    r["evals"] = int(open(f"{results}/{name}.evals").read())
    r["title"] = open(f"{results}/{name}.title").read().strip()
    return r
names = ["standard", "busy"] + sorted(
    (os.path.basename(p)[:-5] for p in glob.glob(f"{results}/ceiling-*.json")),
    key=lambda n: int(n.split("-")[1])) + ["idle"]
runs = {n: load(n) for n in names}
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
print("# Benchmarks\n")
print(f"Written by `scripts/bench.sh`: the server (release build, Redis store), Redis and the load")
print(f"generator (`rtm-bench`, one thread, each user a WebSocket of its own) together on one machine:")
print(f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}.")
print(f"Each scenario sends for {duration // 1000} s after every client joined. What limits the figures,")
print("with profiles, is in [performance.md](performance.md).\n")

def ok(b): return "met" if b else "**missed**"
std, busy, idle = runs["standard"], runs["busy"], runs["idle"]
ceilings = [runs[n] for n in names if n.startswith("ceiling-")]
held = [r for r in ceilings if r["heartbeat"]["p99_ms"] <= 50 and not r["errors"]
        and r["achieved_heartbeats_per_sec"] >= 0.98 * r["target_heartbeats_per_sec"]]
best = max((r["achieved_heartbeats_per_sec"] for r in held), default=0)
hb_ops = sum(r["heartbeat"]["count"] + r["join"]["count"] for r in (std, busy))
evals = std["evals"] + busy["evals"]
print("## Targets\n")
print("| Target | Measured | |\n|---|---|---|")
print(f"| 200 × 10/s: 2,000/s, p99 ≤ 5 ms, no missing event | {std['achieved_heartbeats_per_sec']:,.0f}/s, p99 {std['heartbeat']['p99_ms']:.2f} ms, {std['events_missing']} missing | {ok(std['achieved_heartbeats_per_sec'] >= 1960 and std['heartbeat']['p99_ms'] <= 5 and std['events_missing'] == 0)} |")
print(f"| 500 × 20/s: 10,000/s, p99 ≤ 20 ms | {busy['achieved_heartbeats_per_sec']:,.0f}/s, p99 {busy['heartbeat']['p99_ms']:.2f} ms | {ok(busy['achieved_heartbeats_per_sec'] >= 9800 and busy['heartbeat']['p99_ms'] <= 20)} |")
print(f"| highest rate with p99 ≤ 50 ms: ≥ 25,000/s | {best:,.0f}/s | {ok(best >= 25000)} |")
print(f"| 10,000 idle connections: server RSS ≤ 150 MB | {idle['server_rss_mb']:.0f} MB | {ok(idle['server_rss_mb'] <= 150)} |")
print(f"| 10,000 idle: a join fans out with p99 ≤ 50 ms | p99 {idle['join_fanout']['p99_ms']:.2f} ms | {ok(idle['join_fanout']['p99_ms'] <= 50)} |")
print(f"| one Redis round trip per heartbeat | {evals / max(hb_ops, 1):.3f} scripts per join or heartbeat | {ok(evals / max(hb_ops, 1) < 1.05)} |")
print()
print("## Scenarios\n")
for n in names:
    r = runs[n]
    print(f"### {r['title']}\n")
    print("| | p50 | p90 | p95 | p99 | max | count |\n|---|---|---|---|---|---|---|")
    for label, key in (("join ack", "join"), ("join fan-out", "join_fanout"), ("heartbeat ack", "heartbeat")):
        s = r[key]
        print(f"| {label} | {s['p50_ms']:.2f} ms | {s['p90_ms']:.2f} ms | {s['p95_ms']:.2f} ms | {s['p99_ms']:.2f} ms | {s['max_ms']:.2f} ms | {s['count']} |")
    print()
    print(f"- clients joined: {r['clients']} in {r['rooms']} rooms")
    print(f"- heartbeats/s: {r['achieved_heartbeats_per_sec']:,.0f} achieved of {r['target_heartbeats_per_sec']:,.0f} target")
    print(f"- presence updates: {r['events_received']:,} received of {r['events_expected']:,} expected, {r['events_missing']} missing, {r['events_duplicate']} duplicate")
    print(f"- errors: {r['errors'] or 'none'}")
    if r.get("server_rss_mb") is not None:
        print(f"- server RSS at the end: {r['server_rss_mb']:.1f} MB")
    calls = r["heartbeat"]["count"] + r["join"]["count"]
    print(f"- Redis `INFO commandstats`: {r['evals']:,} scripts (EVALSHA/EVAL) for {calls:,} joins and heartbeats ({r['evals'] / max(calls, 1):.3f} per operation; leaves and reaper runs included)\n")
PY

python3 - "$results" >>"$out" <<'PY'
import json, sys
results = sys.argv[1]
print("## Multi-node: 3 nodes on one Redis\n")
print("Three nodes (release builds) on the same Redis, one generator per node, each with 100 clients")
print("in 25 rooms of its own at 5 heartbeats/s, all at once. *Relevant* is what a node's own rooms")
print("published (joins, updates, leaves); *received* is what its bus subscription delivered to it")
print("(`rtm_bus_messages_total{direction=\"received\"}`). With one channel for every room, each node")
print("would receive every node's messages (about 3 × relevant).\n")
print("| node | heartbeats/s | heartbeat p99 | relevant | received | received / relevant |\n|---|---|---|---|---|---|")
for i in range(3):
    r = json.load(open(f"{results}/node-{i}.json"))
    got = float(open(f"{results}/node-{i}.after").read() or 0) - float(open(f"{results}/node-{i}.before").read() or 0)
    relevant = r["heartbeat"]["count"] + r["join"]["count"] + r["clients"]
    print(f"| {i + 1} | {r['achieved_heartbeats_per_sec']:,.0f} | {r['heartbeat']['p99_ms']:.2f} ms | {relevant:,} | {got:,.0f} | {got / max(relevant, 1):.2f} |")
print()
PY
rm -rf "$results"
awk '/^## /{keep = /^## Before and after/} keep' "$previous" >>"$out"
echo "wrote $out"
