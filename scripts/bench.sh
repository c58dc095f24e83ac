#!/usr/bin/env bash
# Runs the standard load scenarios end to end on this machine: a private redis-server, the server
# in release mode on Redis, rtm-bench for each scenario, then everything stopped; then the large
# rooms (rtm-large-room: a meeting and an audience, each on a fresh memory-store server and a fresh
# Redis-store one). Writes the figures and the targets met or missed to docs/benchmarks.md
# (docs/performance.md explains them). Takes about 9 minutes; DURATION_MS shortens each standard
# scenario. `scripts/bench.sh large` (or ONLY=large) runs only the large rooms and rewrites only
# their section; MEETING_MEMBERS and AUDIENCE_MEMBERS (1000, 10000) size them.
#
# `scripts/bench.sh seed` (or ONLY=seed) runs only rtm side by side with the TypeScript server it
# replaces (scripts/bench-seed.sh; the seed fetched and built by scripts/seed-server.sh, from
# $SEED_REPO) and rewrites only that section; about 2 minutes, plus building the seed once.
# SEED_CLIENTS, SEED_RATE, SEED_ROUND_MS, SEED_ROUNDS, SEED_IDLE_CLIENTS and SEED_IDLE_HOLD_MS
# shorten it (see bench-seed.sh). `scripts/bench.sh` (all) runs it too when SEED=1 (building the
# seed if needed), or when SEED is unset and the seed is already built (target/seed/server/.built);
# SEED=0 skips it. When it is not run, the section of the previous docs/benchmarks.md is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION_MS:-20000}
only=${1:-${ONLY:-all}}
case $only in
  all | large | seed) ;;
  *) echo "usage: scripts/bench.sh [large|seed]" >&2; exit 2 ;;
esac
run_seed=
if [ "$only" = seed ] || [ "${SEED:-}" = 1 ] || { [ -z "${SEED:-}" ] && [ -f target/seed/server/.built ]; }; then
  run_seed=1
fi
# 10,000 sockets in the generator and as many in the server: as many open files as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

scripts/install-deps.sh >/dev/null

out=docs/benchmarks.md
# Comparisons measured by hand ("## Before and after …" sections) survive a re-run.
previous=$(mktemp)
cp "$out" "$previous" 2>/dev/null || true
results=$(mktemp -d)

# replace_section HEADING FILE BEFORE...: $out with its section HEADING (the "## " line starting
# so, up to the next "## ") replaced by FILE; when it has none, FILE goes before the first section
# whose heading starts with one of BEFORE, or at the end.
replace_section() {
  python3 - "$previous" "$@" >"$out" <<'PY'
import sys
previous, heading, section, before = open(sys.argv[1]).read(), sys.argv[2], open(sys.argv[3]).read(), sys.argv[4:]
lines = previous.splitlines(keepends=True) or ["# Benchmarks\n", "\n"]
heads = [i for i, l in enumerate(lines) if l.startswith("## ")]
start = next((i for i in heads if lines[i].startswith(heading)), None)
if start is not None:
    end = next((i for i in heads if i > start), len(lines))
else:
    start = end = next((i for i in heads if any(lines[i].startswith(b) for b in before)), len(lines))
sys.stdout.write("".join(lines[:start]) + section + "".join(lines[end:]))
PY
}
seed_heading="## Side by side with the TypeScript seed"

# Only the side-by-side comparison: it starts servers and Redis of its own.
if [ "$only" = seed ]; then
  cargo build -q --release -p rtm-server --bin rtm-server
  scripts/bench-seed.sh "$results/seed.md"
  replace_section "$seed_heading" "$results/seed.md" "## Before and after"
  rm -rf "$results" "$previous"
  echo "wrote $out"
  exit 0
fi

cargo build -q --release -p rtm-server -p rtm-tests --bin rtm-server --bin rtm-bench --bin rtm-large-room
# The seed built now, so that a failure to fetch or build it shows before the long scenarios.
[ -z "$run_seed" ] || scripts/seed-server.sh
redis_port=$(python3 scripts/free-port.py)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/tmp/rtm-bench-redis.log 2>&1 &
redis_pid=$!
server_pid=
large_pid=
trap 'kill $server_pid $large_pid $redis_pid 2>/dev/null || true' EXIT # $server_pid grows to three nodes
sleep 0.3

# The standard scenarios and the multi-node one (not with `bench.sh large`).
if [ "$only" = all ]; then
port=$(python3 scripts/free-port.py)
target/release/rtm-server --host 127.0.0.1 --port "$port" --redis-url "redis://127.0.0.1:$redis_port" \
  --rate-limit-per-sec 1000 --rate-limit-burst 1000 >/tmp/rtm-bench-server.log 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
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
kill $server_pid 2>/dev/null || true # the large rooms run on servers of their own
wait $server_pid 2>/dev/null || true
server_pid=
fi

# Large rooms: each scenario on a fresh server (so its RSS is the run's own), memory store and
# Redis store; rtm-large-room reads the server's RSS through its pid.
# large_room SCENARIO STORE ARGS...: its report (JSON) in $results/large-SCENARIO-STORE.json.
large_room() {
  local scenario=$1 store=$2 p store_args=()
  shift 2
  p=$(python3 scripts/free-port.py)
  if [ "$store" = redis ]; then
    redis-cli -p "$redis_port" FLUSHALL >/dev/null
    store_args=(--redis-url "redis://127.0.0.1:$redis_port")
  fi
  target/release/rtm-server --host 127.0.0.1 --port "$p" "${store_args[@]}" \
    --rate-limit-per-sec 1000 --rate-limit-burst 1000 >>/tmp/rtm-bench-large.log 2>&1 &
  large_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$p/health" >/dev/null && break; sleep 0.1; done
  echo "== large room: $scenario, $store store" >&2
  target/release/rtm-large-room --json --scenario "$scenario" --target-url "http://127.0.0.1:$p" \
    --server-pid "$large_pid" "$@" >"$results/large-$scenario-$store.json"
  kill "$large_pid" 2>/dev/null || true
  wait "$large_pid" 2>/dev/null || true
  large_pid=
}
: >/tmp/rtm-bench-large.log
for store in memory redis; do
  large_room meeting "$store" --members "${MEETING_MEMBERS:-1000}"
  large_room audience "$store" --members "${AUDIENCE_MEMBERS:-10000}"
done

# Side by side with the TypeScript seed (servers and Redis of its own), when wanted (above).
if [ "$only" = all ] && [ -n "$run_seed" ]; then
  scripts/bench-seed.sh "$results/seed.md"
fi

if [ "$only" = all ]; then

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
fi

python3 - "$results" >"$results/large.md" <<'PY'
import json, os, sys
results = sys.argv[1]
print("## Large rooms\n")
print("One room of thousands (docs/protocol.md, \"Large rooms\"), measured by `rtm-large-room` (one thread,")
print("each member a WebSocket of its own) against a fresh server per run (release build, rate limit")
print("1,000/s), on the memory store and on Redis. In both scenarios a *heartbeater* heartbeats every")
print("200 ms throughout; everyone else every 10 s. *Meeting*: members join with `presence: \"events\"`,")
print("`batch: true`; each keeps a view (paged snapshot, `presence:members`, events, tombstones) that")
print("must equal the truth (the join answers' connIds); then 20 members patch their state once a")
print("second for 10 s (each update to every other member exactly once), then half the room (at most")
print("500) leaves with `presence:leave`. *Audience*: 10 observers (events, batched), then members")
print("with `presence: \"count\"`; their last `presence:count` must reach the room's total, no")
print("per-member presence may reach them, and the server's RSS growth per audience connection is")
print("measured; then the audience disconnects and the observers' views must empty. Times are from")
print("the last join ack (or from the leaves/disconnects), checked every 50 ms.\n")
def fmt(c):
    m = c["measured"]
    if m is None:
        return "never"
    return f"{m:,.0f}" if not c["unit"] else f"{m:,.1f} {c['unit']}"
verdicts = {True: "met", False: "**missed**", None: ""}
for scenario in ("meeting", "audience"):
    for store in ("memory", "redis"):
        path = f"{results}/large-{scenario}-{store}.json"
        if not os.path.exists(path):
            continue
        r = json.load(open(path))
        if scenario == "meeting":
            title = f"Meeting: {r['members']:,} members join one room at {r['join_rate']:,.0f}/s"
        else:
            title = f"Audience: {r['observers']} observers and {r['members']:,} count members join one room at {r['join_rate']:,.0f}/s"
        print(f"### {title}, {store} store\n")
        print("| | measured | target | |\n|---|---|---|---|")
        for c in r["checks"]:
            print(f"| {c['what']} | {fmt(c)} | {c['target']} | {verdicts[c['met']]} |")
        print()
        print(f"- connections joined: {r['joined']:,}; join ack p50 {r['join']['p50_ms']:.2f} ms, p99 {r['join']['p99_ms']:.2f} ms, max {r['join']['max_ms']:.2f} ms")
        print(f"- heartbeater: {r['heartbeater']['count']:,} acks, p99 {r['heartbeater']['p99_ms']:.2f} ms, max {r['heartbeater']['max_ms']:.2f} ms; its errors: {r['heartbeater_errors'] or 'none'}")
        d = r.get("deliveries")
        if d:
            f = r["fanout"]
            print(f"- updates: {d['received']:,} deliveries of {d['expected']:,} due, {d['missing']} missing, {d['duplicate']} duplicate; fan-out p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms")
        if r.get("leave"):
            print(f"- leave ack p99 {r['leave']['p99_ms']:.2f} ms ({r['leave']['count']} leaves)")
        if r.get("rss_before_mb") is not None:
            print(f"- server RSS: {r['rss_before_mb']:.1f} MB before the audience, {r['rss_after_mb']:.1f} MB once it joined")
        print(f"- errors: {r['errors'] or 'none'}; timeouts: {r['timeouts']}\n")
PY

if [ "$only" = all ]; then
  cat "$results/large.md" >>"$out"
  # The side-by-side comparison: this run's, or else the previous file's.
  if [ -f "$results/seed.md" ]; then
    cat "$results/seed.md" >>"$out"
  else
    awk -v h="$seed_heading" '/^## /{keep = index($0, h) == 1} keep' "$previous" >>"$out"
  fi
  awk '/^## /{keep = /^## Before and after/} keep' "$previous" >>"$out"
else
  # Only the large rooms: their section replaced (or added before the comparisons).
  replace_section "## Large rooms" "$results/large.md" "$seed_heading" "## Before and after"
fi
rm -rf "$results" "$previous"
echo "wrote $out"
