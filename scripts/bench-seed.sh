#!/usr/bin/env bash
# rtm-server side by side with the TypeScript seed (scripts/seed-server.sh), driven by the same
# load generator on the stock socket.io-client (tests/bench-node/seed-bench.mjs); writes the
# section "## Side by side with the TypeScript seed" (Markdown) to the file given. Run by
# `scripts/bench.sh seed` (and by `scripts/bench.sh` when the seed is wanted), which builds
# target/release/rtm-server first.
#
# Load: both servers up at once, each on a Redis of its own (a fresh redis-server each); then
# SEED_ROUNDS (2) rounds, alternating rtm, seed, rtm, seed, so that whatever else the machine does
# falls on both. A round: SEED_CLIENTS (200) clients in rooms of 4 join, heartbeat with a changing
# patch at SEED_RATE (20) per second for SEED_WARMUP_MS (2000, not measured) and SEED_ROUND_MS
# (15000), then disconnect. Memory: each server fresh, on a fresh Redis, alone: its RSS, then
# SEED_IDLE_CLIENTS (5000) connections join rooms of 10 (connected 100 at a time) and heartbeat
# every 10 s without a patch; after SEED_IDLE_HOLD_MS (10000) its RSS again. A full run takes
# about 2 minutes (plus building the seed the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { echo "usage: scripts/bench-seed.sh SECTION.md" >&2; exit 2; }
section=$1
clients=${SEED_CLIENTS:-200}
rate=${SEED_RATE:-20}
round_ms=${SEED_ROUND_MS:-15000}
warmup_ms=${SEED_WARMUP_MS:-2000}
rounds=${SEED_ROUNDS:-2}
idle_clients=${SEED_IDLE_CLIENTS:-5000}
idle_hold_ms=${SEED_IDLE_HOLD_MS:-10000}
# Thousands of sockets in the generator and in the server: as many open files as allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

[ -x target/release/rtm-server ] || { echo "target/release/rtm-server is missing (scripts/bench.sh builds it)" >&2; exit 1; }
scripts/seed-server.sh
# The generator's npm packages, reinstalled only when its package-lock.json changed.
lock_sum=$(sha256sum tests/bench-node/package-lock.json | cut -d' ' -f1)
if [ "$(cat tests/bench-node/node_modules/.package-lock.sha256 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --silent --no-audit --no-fund --prefix tests/bench-node >/dev/null
  echo "$lock_sum" >tests/bench-node/node_modules/.package-lock.sha256
fi

work=$(mktemp -d)
pids=() # everything started here, stopped on exit
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

# stop PID: SIGTERM, then SIGKILL if it is still there after 5 s; no longer stopped on exit.
stop() {
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# start_redis NAME: a fresh redis-server on a free port; sets ${NAME}_redis_port, ${NAME}_redis_pid.
start_redis() {
  local port
  port=$(python3 scripts/free-port.py)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis-$1.log" 2>&1 &
  pids+=($!)
  printf -v "${1}_redis_pid" %s $!
  printf -v "${1}_redis_port" %s "$port"
  for _ in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis-server did not start: $(cat "$work/redis-$1.log")" >&2
  exit 1
}

# start_server KIND (rtm or seed): the server on a free port, on its Redis (start_redis KIND);
# sets ${KIND}_port, ${KIND}_pid once it answers.
start_server() {
  local kind=$1 port redis_port log=$work/server-$1.log
  port=$(python3 scripts/free-port.py)
  redis_port=${kind}_redis_port
  redis_port=${!redis_port}
  if [ "$kind" = rtm ]; then
    # A rate limit far above the 20 requests/s a client sends.
    target/release/rtm-server --host 127.0.0.1 --port "$port" --redis-url "redis://127.0.0.1:$redis_port" \
      --rate-limit-per-sec 1000 --rate-limit-burst 1000 >"$log" 2>&1 &
  else
    scripts/seed-server.sh start "$port" "redis://127.0.0.1:$redis_port" >"$log" 2>&1 &
  fi
  pids+=($!)
  printf -v "${kind}_pid" %s $!
  printf -v "${kind}_port" %s "$port"
  # Ready: rtm answers /health; the seed has no such route, so its Engine.IO handshake answers and
  # its log says the presence module subscribed to its events.
  for _ in $(seq 1 150); do
    if [ "$kind" = rtm ]; then
      curl -sf -o /dev/null "http://127.0.0.1:$port/health" && return
    else
      grep -q 'Module registered: presence' "$log" &&
        curl -sf -o /dev/null "http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling" && return
    fi
    sleep 0.1
  done
  echo "$kind server did not start: $(cat "$log")" >&2
  exit 1
}

generator() { node tests/bench-node/seed-bench.mjs "$@"; }

# Load rounds.
for kind in rtm seed; do
  start_redis "$kind"
  start_server "$kind"
done
for round in $(seq 1 "$rounds"); do
  for kind in rtm seed; do
    echo "== side by side, round $round: $kind, $clients clients × $rate heartbeats/s for $((round_ms / 1000)) s" >&2
    pid=${kind}_pid port=${kind}_port redis_port=${kind}_redis_port
    generator load --url "http://127.0.0.1:${!port}" --server-pid "${!pid}" --redis-port "${!redis_port}" \
      --clients "$clients" --room-size 4 --rate "$rate" --warmup-ms "$warmup_ms" --duration-ms "$round_ms" \
      --latencies "$work/latencies-$kind-$round.txt" >"$work/load-$kind-$round.json"
  done
done
for kind in rtm seed; do
  pid=${kind}_pid redis_pid=${kind}_redis_pid
  stop "${!pid}"
  stop "${!redis_pid}"
done

# Memory of idle joined connections: each server alone, fresh.
for kind in rtm seed; do
  echo "== side by side, memory: $kind, $idle_clients idle joined connections" >&2
  start_redis "$kind"
  start_server "$kind"
  pid=${kind}_pid port=${kind}_port redis_pid=${kind}_redis_pid
  generator idle --url "http://127.0.0.1:${!port}" --server-pid "${!pid}" --clients "$idle_clients" \
    --room-size 10 --keepalive-ms 10000 --hold-ms "$idle_hold_ms" >"$work/idle-$kind.json"
  stop "${!pid}"
  stop "${!redis_pid}"
done

python3 - "$work" "$rounds" >"$section" <<'PY'
import json, math, sys
work, rounds = sys.argv[1], int(sys.argv[2])
kinds = ("rtm", "seed")
load = {k: [json.load(open(f"{work}/load-{k}-{r}.json")) for r in range(1, rounds + 1)] for k in kinds}
idle = {k: json.load(open(f"{work}/idle-{k}.json")) for k in kinds}
def latencies(k):
    out = []
    for r in range(1, rounds + 1):
        out += [float(l) for l in open(f"{work}/latencies-{k}-{r}.txt") if l.strip()]
    return sorted(out)
def pct(s, p):
    return s[min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1)] if s else float("nan")
first = load["rtm"][0]
clients, rate, room_ms = first["clients_wanted"], first["rate_per_client"], first["duration_ms"]
total = {}
for k in kinds:
    runs, lat = load[k], latencies(k)
    acked = sum(r["heartbeats"]["acked"] for r in runs)
    total[k] = {
        "server_us": sum(r["cpu_sec"]["server"] for r in runs) * 1e6 / max(acked, 1),
        "redis_us": sum(r["cpu_sec"]["redis"] for r in runs) * 1e6 / max(acked, 1),
        "p50": pct(lat, 50), "p99": pct(lat, 99), "max": lat[-1] if lat else float("nan"),
        "errors": sum(sum(r["errors"].values()) for r in runs),
        "rate": acked / max(sum(r["window_sec"] for r in runs), 1e-9),
        "updates": sum(r["updates"]["received"] for r in runs),
        "expected": sum(r["updates"]["expected"] for r in runs),
        "kb": idle[k]["kb_per_connection"] if idle[k]["kb_per_connection"] is not None else float("nan"),
    }
rtm, seed = total["rtm"], total["seed"]
def ratio(key):
    return rtm[key] / seed[key] if seed[key] else float("nan")
def verdict(ok):
    return "met" if ok else "**missed**"
standard = clients == 200 and rate == 20
idle_n = idle["rtm"]["clients_wanted"]

print("## Side by side with the TypeScript seed\n")
print("rtm-server (release build) and the TypeScript server it replaces, the *seed* (`packages/server`")
print("of [realtime-ai/realtime-mesage](https://github.com/realtime-ai/realtime-mesage) at commit")
print("88f9f14: socket.io 4.8.1, ioredis, `@socket.io/redis-adapter`), each on a Redis of its own, driven")
print("by the same generator on the stock `socket.io-client` 4.8.1 (`tests/bench-node/seed-bench.mjs`,")
print("one Node process, each client a WebSocket of its own) over the presence protocol both speak. The")
print("seed is fetched and built by `scripts/seed-server.sh`: cloned from `$SEED_REPO` (default the")
print("GitHub repository; a local mirror works too) into `target/seed/repo`, `packages/server` copied out")
print("of its pnpm workspace to `target/seed/server`, its `package.json` replaced by")
print("`tests/bench-node/seed/package.json` (its own dependencies pinned to the seed's `pnpm-lock.yaml`")
print("versions, without the workspace-only devDependencies, plus the root's `typescript` and")
print("`@types/node`), the root's `tsconfig.base.json` put beside its `tsconfig.json`, its tests'")
print("helpers (`src/test-utils`) left out, then `npm ci` and its own `tsc` build; it runs as")
print("`node dist/server.js` with `PORT` and `REDIS_URL`, with its defaults otherwise (presence TTL 30 s).\n")
print(f"*Load:* {clients} clients in rooms of 4 join, then each sends a heartbeat whose `patchState`")
print(f"changes every time, {rate} per second on a fixed schedule; every heartbeat's update goes to the")
print(f"4 members of its room. {rounds} rounds per server, alternating (rtm, seed, rtm, seed), each")
print(f"{room_ms / 1000:g} s after a {first['warmup_ms'] / 1000:g} s warm-up, with both servers up. *CPU per heartbeat* is")
print("the server process's user + system CPU (`/proc/<pid>/stat`) and its Redis's (`INFO cpu`) over the")
print("measured windows, divided by the heartbeats acked in them; latencies are every ack of the rounds")
print(f"together. *Memory:* each server fresh and alone, {idle_n:,} connections join rooms of 10 and")
print("heartbeat every 10 s without a patch; the server's RSS growth (`VmRSS`) divided by the")
print("connections, Redis store (the seed's depends on when V8 last collected garbage).\n")
print("| | rtm | seed | rtm / seed | issue 23 target | |\n|---|---|---|---|---|---|")
print(f"| server CPU per heartbeat | {rtm['server_us']:.0f} µs | {seed['server_us']:.0f} µs | {ratio('server_us'):.3f} | ≤ 0.15 × seed | {verdict(ratio('server_us') <= 0.15)} |")
print(f"| Redis CPU per heartbeat | {rtm['redis_us']:.0f} µs | {seed['redis_us']:.0f} µs | {ratio('redis_us'):.3f} | ≤ 0.5 × seed | {verdict(ratio('redis_us') <= 0.5)} |")
print(f"| heartbeat ack p50 | {rtm['p50']:.2f} ms | {seed['p50']:.2f} ms | {ratio('p50'):.3f} | | |")
p99_verdict = verdict(rtm["p99"] <= 20) if standard else f"not measured at 200 × 20/s"
print(f"| heartbeat ack p99 | {rtm['p99']:.2f} ms | {seed['p99']:.2f} ms | {ratio('p99'):.3f} | ≤ 20 ms at 200 clients × 20/s | {p99_verdict} |")
print(f"| heartbeat ack max | {rtm['max']:.2f} ms | {seed['max']:.2f} ms | | | |")
print(f"| errors and timeouts | {rtm['errors']} | {seed['errors']} | | | |")
print(f"| heartbeats acked per second | {rtm['rate']:,.0f} | {seed['rate']:,.0f} | | {clients * rate:,} offered | |")
print(f"| updates received / due | {rtm['updates']:,} / {rtm['expected']:,} | {seed['updates']:,} / {seed['expected']:,} | | | |")
kb_verdict = verdict(rtm["kb"] <= 12) + ("" if idle_n == 5000 else f" (at {idle_n:,})")
print(f"| RSS per idle joined connection | {rtm['kb']:.1f} KB | {seed['kb']:.1f} KB | {ratio('kb'):.3f} | ≤ 12 KB (5,000 connections) | {kb_verdict} |")
print()
print("| round | server | acked | per second | p50 | p99 | max | server CPU / hb | Redis CPU / hb | errors |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in range(rounds):
    for k in kinds:
        x = load[k][r]
        errs = ", ".join(f"{n}: {c}" for n, c in sorted(x["errors"].items())) or "none"
        l, cpu = x["latency_ms"], x["cpu_us_per_heartbeat"]
        print(f"| {r + 1} | {k} | {x['heartbeats']['acked']:,} | {x['heartbeats']['achieved_per_sec']:,.0f} | {l['p50']:.2f} ms | {l['p99']:.2f} ms | {l['max']:.2f} ms | {cpu['server']:.0f} µs | {cpu['redis']:.0f} µs | {errs} |")
print()
print("| memory | joined | RSS before | RSS after | per connection | connecting took | errors |\n|---|---|---|---|---|---|---|")
for k in kinds:
    x = idle[k]
    errs = ", ".join(f"{n}: {c}" for n, c in sorted(x["errors"].items())) or "none"
    print(f"| {k} | {x['clients_joined']:,} of {x['clients_wanted']:,} | {x['rss_kb']['before'] / 1024:.1f} MB | {x['rss_kb']['after'] / 1024:.1f} MB | {x['kb_per_connection']:.1f} KB | {x['connect_sec']:.1f} s | {errs} |")
print()
PY
