#!/usr/bin/env node
// The side-by-side benchmark's load generator (scripts/bench.sh seed): the stock socket.io-client
// against rtm-server and the TypeScript seed alike, over the presence protocol both speak
// (`presence:join {roomId, userId, state}` → `{ok, self: {epoch}}`, `presence:heartbeat {epoch,
// patchState}` → `{ok, changed}`, `presence:event` to the room). Every client is a WebSocket of
// its own (no long-polling). Prints one JSON report on stdout.
//
//   node seed-bench.mjs load --url URL --server-pid PID --redis-port PORT [--clients 200]
//        [--room-size 4] [--rate 20] [--warmup-ms 2000] [--duration-ms 15000] [--latencies FILE]
//     Every client joins, then sends a heartbeat whose patchState changes every time at --rate
//     per second for --warmup-ms and then --duration-ms, open loop (on a fixed schedule, whether
//     or not the previous ack came). The measured window runs from the end of the warm-up to the
//     last answer (ack or timeout) and counts the heartbeats sent in it (and their updates); the
//     server's CPU (utime + stime of /proc/PID/stat) and its Redis's (`INFO cpu`, used_cpu_user +
//     used_cpu_sys) are read at both ends. Each ack's latency goes to --latencies (one number of
//     milliseconds a line), for percentiles over several rounds. --ack-timeout-ms (5000) bounds
//     every answer; --connect-batch (100) is how many clients connect and join at once.
//
//   node seed-bench.mjs idle --url URL --server-pid PID [--clients 5000] [--room-size 10]
//        [--keepalive-ms 10000] [--hold-ms 10000]
//     The server's RSS (VmRSS of /proc/PID/status) before any connection, then every client
//     connects and joins (in batches), heartbeats every --keepalive-ms without a patch (both
//     servers expire a member after 30 s without one), and after --hold-ms more the RSS again.
import { io } from "socket.io-client";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import process from "node:process";

const [mode, ...rest] = process.argv.slice(2);
const opts = {};
for (let i = 0; i < rest.length; i += 2) {
  if (!rest[i].startsWith("--") || rest[i + 1] === undefined) usage();
  opts[rest[i].slice(2)] = rest[i + 1];
}
function usage() {
  console.error("usage: seed-bench.mjs load|idle --url URL --server-pid PID [options] (see the header)");
  process.exit(2);
}
const num = (name, fallback) => (opts[name] === undefined ? fallback : Number(opts[name]));
if (!opts.url || !opts["server-pid"] || !["load", "idle"].includes(mode)) usage();
const url = opts.url;
const serverPid = opts["server-pid"];
const ackTimeoutMs = num("ack-timeout-ms", 5000);
const batch = num("connect-batch", 100); // connections opened (and joined) at once

// --- the server's and Redis's resources ---

const ticksPerSec = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
function serverCpuSec() {
  // /proc/PID/stat: the command (field 2) may hold spaces, so count fields after its ")".
  const stat = readFileSync(`/proc/${serverPid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSec; // utime, stime (fields 14, 15)
}
function redisCpuSec() {
  const info = execFileSync("redis-cli", ["-p", opts["redis-port"], "INFO", "cpu"]).toString();
  const field = (name) => Number(info.match(new RegExp(`^${name}:([0-9.]+)`, "m"))[1]);
  return field("used_cpu_user") + field("used_cpu_sys");
}
function serverRssKb() {
  const status = readFileSync(`/proc/${serverPid}/status`, "utf8");
  return Number(status.match(/^VmRSS:\s+(\d+) kB/m)[1]);
}

// --- clients ---

const errors = {};
const countError = (what) => (errors[what] = (errors[what] ?? 0) + 1);
// Updates are counted from each sender's first heartbeat of the measured window on: user-I's
// updates whose state.seq is at least measuredFrom[I] (Infinity until that heartbeat is sent).
const measuredFrom = [];
let updatesReceived = 0;

// One client: a connected socket joined to its room; resolves to {socket, epoch} or null.
async function client(index, roomSize, prefix) {
  const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false, timeout: 20000 });
  try {
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    });
  } catch (error) {
    countError(`connect: ${error.message}`);
    socket.close();
    return null;
  }
  socket.on("presence:event", (event) => {
    if (event?.type !== "update") return;
    const sender = Number(event.userId?.slice("user-".length));
    if (event.state?.seq >= (measuredFrom[sender] ?? Infinity)) updatesReceived += 1;
  });
  socket.on("disconnect", (reason) => {
    if (!closing) countError(`disconnected: ${reason}`);
  });
  const room = Math.floor(index / roomSize);
  let answer;
  try {
    answer = await socket.timeout(ackTimeoutMs).emitWithAck("presence:join", {
      roomId: `${prefix}-room-${room}`,
      userId: `user-${index}`,
      state: { seq: 0 },
    });
  } catch (failed) {
    countError(`join: ${failed.message}`);
    return null;
  }
  if (!answer?.ok) {
    countError(`join refused: ${answer?.code ?? answer?.error}`);
    return null;
  }
  return { socket, index, room, epoch: answer.self.epoch, seq: 0 };
}

let closing = false;
async function connectAll(count, roomSize) {
  const prefix = `bench-${process.pid}-${Date.now()}`;
  const clients = [];
  for (let start = 0; start < count; start += batch) {
    const joined = await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, (_, i) => client(start + i, roomSize, prefix))
    );
    clients.push(...joined.filter(Boolean));
  }
  return clients;
}
function closeAll(clients) {
  closing = true;
  for (const c of clients) c.socket.close();
}

// Resolves once check() holds, checking every 20 ms, or after timeoutMs (to false).
async function until(check, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// --- load: patching heartbeats at a fixed rate ---

async function load() {
  const count = num("clients", 200);
  const roomSize = num("room-size", 4);
  const rate = num("rate", 20);
  const durationMs = num("duration-ms", 15000);
  const warmupMs = num("warmup-ms", 2000);
  const interval = 1000 / rate;
  const connectStart = performance.now();
  const clients = await connectAll(count, roomSize);
  const connectSec = (performance.now() - connectStart) / 1000;
  const members = new Map(); // room → joined clients
  for (const c of clients) members.set(c.room, (members.get(c.room) ?? 0) + 1);

  const latencies = [];
  let sent = 0, acked = 0, changed = 0, pending = 0, expectedUpdates = 0;
  // The first --warmup-ms of heartbeats are not measured (Node's JIT, pools filling up): the
  // window opens when the timer below fires; a heartbeat counts when it was sent after that.
  const start = performance.now();
  const end = start + warmupMs + durationMs;
  let t0 = Infinity, cpu0;
  setTimeout(() => {
    cpu0 = { server: serverCpuSec(), redis: redisCpuSec() };
    t0 = performance.now();
  }, warmupMs);
  let sending = clients.length;
  let lastAnswer = start;

  // Each client on its own fixed schedule (start + offset + k × interval, the offsets spread over
  // one interval), so a late timer does not lower the rate.
  await new Promise((allAnswered) => {
    const answered = () => {
      pending -= 1;
      lastAnswer = performance.now();
      if (pending === 0 && sending === 0) allAnswered();
    };
    clients.forEach((c, i) => {
      let next = start + (i / clients.length) * interval;
      const beat = () => {
        const at = performance.now();
        if (at >= end) {
          sending -= 1;
          if (pending === 0 && sending === 0) allAnswered();
          return;
        }
        const measured = at >= t0;
        c.seq += 1;
        if (measured) {
          sent += 1;
          measuredFrom[c.index] ??= c.seq;
        }
        pending += 1;
        c.socket.timeout(ackTimeoutMs).emit(
          "presence:heartbeat",
          { epoch: c.epoch, patchState: { seq: c.seq } },
          (failed, answer) => {
            if (failed) {
              countError(`heartbeat: ${failed.message}`); // "operation has timed out", or the socket closed
            } else if (!answer?.ok) {
              countError(`heartbeat refused: ${answer?.code ?? answer?.error}`);
            } else if (measured) {
              latencies.push(performance.now() - at);
              acked += 1;
              if (answer.changed) {
                changed += 1;
                expectedUpdates += members.get(c.room); // both servers send it to the whole room, the sender too
              }
            }
            answered();
          }
        );
        next += interval;
        setTimeout(beat, Math.max(0, next - performance.now()));
      };
      setTimeout(beat, Math.max(0, next - performance.now()));
    });
  });
  const cpu1 = { server: serverCpuSec(), redis: redisCpuSec() };
  const windowSec = (lastAnswer - t0) / 1000;
  // The updates of the last heartbeats may still be on their way.
  await until(() => updatesReceived >= expectedUpdates, 2000);
  const updates = updatesReceived;
  closeAll(clients);

  if (opts.latencies) writeFileSync(opts.latencies, latencies.map((l) => l.toFixed(3)).join("\n") + "\n");
  const sorted = latencies.slice().sort((a, b) => a - b);
  const serverCpu = cpu1.server - cpu0.server;
  const redisCpu = cpu1.redis - cpu0.redis;
  return {
    mode,
    clients_wanted: count,
    clients_joined: clients.length,
    rooms: members.size,
    room_size: roomSize,
    rate_per_client: rate,
    target_heartbeats_per_sec: count * rate,
    duration_ms: durationMs,
    warmup_ms: warmupMs,
    connect_sec: connectSec,
    window_sec: windowSec,
    heartbeats: { sent, acked, changed, achieved_per_sec: acked / windowSec },
    latency_ms: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? null,
    },
    updates: { received: updates, expected: expectedUpdates },
    errors,
    cpu_sec: { server: serverCpu, redis: redisCpu },
    cpu_us_per_heartbeat: {
      server: acked ? (serverCpu * 1e6) / acked : null,
      redis: acked ? (redisCpu * 1e6) / acked : null,
    },
  };
}

// --- idle: the memory of joined connections ---

async function idle() {
  const count = num("clients", 5000);
  const roomSize = num("room-size", 10);
  const keepaliveMs = num("keepalive-ms", 10000);
  const holdMs = num("hold-ms", 10000);
  const rssBefore = serverRssKb();
  const connectStart = performance.now();
  const clients = await connectAll(count, roomSize);
  const connectSec = (performance.now() - connectStart) / 1000;
  // Keep-alive heartbeats, spread over the interval.
  let keepalives = 0;
  const timers = clients.map((c, i) => {
    const beat = () =>
      c.socket.timeout(ackTimeoutMs).emit("presence:heartbeat", { epoch: c.epoch }, (failed, answer) => {
        if (closing) return; // the sockets' close answers what is still in flight with an error
        if (failed) countError(`heartbeat: ${failed.message}`);
        else if (!answer?.ok) countError(`heartbeat refused: ${answer?.code ?? answer?.error}`);
        else keepalives += 1;
      });
    let interval;
    const start = setTimeout(() => {
      beat();
      interval = setInterval(beat, keepaliveMs);
    }, (i / clients.length) * keepaliveMs);
    return () => {
      clearTimeout(start);
      clearInterval(interval);
    };
  });
  await new Promise((resolve) => setTimeout(resolve, holdMs));
  const rssAfter = serverRssKb();
  timers.forEach((stop) => stop());
  closeAll(clients);
  return {
    mode,
    clients_wanted: count,
    clients_joined: clients.length,
    rooms: Math.ceil(clients.length / roomSize),
    connect_sec: connectSec,
    hold_ms: holdMs,
    keepalives_acked: keepalives,
    errors,
    rss_kb: { before: rssBefore, after: rssAfter },
    kb_per_connection: clients.length ? (rssAfter - rssBefore) / clients.length : null,
  };
}

const report = mode === "load" ? await load() : await idle();
console.log(JSON.stringify(report, null, 2));
process.exit(0); // closed sockets may still hold timers
