// The npm package rtm-sdk, installed from its `npm pack` tarball, in plain Node 20 (which resolves
// the "node" export: node.js): importing it does nothing, and with a WebSocket (the ws package, or
// Node's own behind --experimental-websocket) two clients use a room on the real rtm-server at
// RTM_SERVER_URL. scripts/test-package.sh runs this. rtm-sdk is imported only inside the tests
// (the first test checks what importing it does).
import { test } from "node:test";
import assert from "node:assert/strict";
import { exec } from "./lib/run.mjs";
import { fileURLToPath } from "node:url";
import { watchIo } from "./lib/io.mjs";

const SERVER = process.env.RTM_SERVER_URL;
const TWO_CLIENTS = fileURLToPath(new URL("apps/node/two-clients.mjs", import.meta.url));

test("importing rtm-sdk does no I/O and adds no global; the client constructs synchronously; connect() with no WebSocket rejects with code transport", async () => {
  assert.ok(SERVER, "RTM_SERVER_URL must be set (scripts/test-package.sh sets it)");
  assert.equal(typeof globalThis.WebSocket, "undefined", "this test runs without --experimental-websocket");
  const io = watchIo();
  try {
    const keys = Object.keys(globalThis);
    const names = Object.getOwnPropertyNames(globalThis);
    const { RealtimeClient, init } = await import("rtm-sdk");
    assert.deepEqual(Object.keys(globalThis), keys, "no enumerable global added");
    assert.deepEqual(Object.getOwnPropertyNames(globalThis), names, "no global added");
    assert.equal(typeof RealtimeClient, "function");
    assert.equal(typeof init, "function");

    const client = new RealtimeClient({ baseUrl: SERVER });
    assert.ok(client instanceof RealtimeClient, "the constructor returns the client, not a promise");
    assert.equal(client.state, "disconnected");
    assert.deepEqual(io.calls, [], "neither the import nor the constructor did any I/O");

    await assert.rejects(client.connect(), (e) => {
      assert.ok(e instanceof Error, `an Error, not ${e}`);
      assert.equal(e.code, "transport", e.message);
      return true;
    });
    assert.equal(client.state, "disconnected");
    // The watch does see I/O: connect() read the package's WebAssembly (and opened no socket).
    assert.ok(io.calls.some((c) => c.includes("rtm_sdk_bg.wasm")), `the .wasm was read on connect(): ${io.calls}`);
    assert.ok(!io.calls.some((c) => c.startsWith("net.") || c.startsWith("fetch")), `no network I/O: ${io.calls}`);
    await client.disconnect();
  } finally {
    io.restore();
  }
});

test("new RealtimeClient({}) throws an Error with code invalid_argument", async () => {
  const { RealtimeClient } = await import("rtm-sdk");
  assert.throws(() => new RealtimeClient({}), (e) => e instanceof Error && e.code === "invalid_argument");
});

test("with the ws package as options.WebSocket, two clients see each other join, update, leave, and disconnect", { timeout: 30_000 }, async () => {
  const { twoClients } = await import(TWO_CLIENTS);
  const { WebSocket } = await import("ws");
  const before = sockets();
  const events = await twoClients(SERVER, { WebSocket });
  assert.deepEqual(events, ["join:bob", "update:bob", "leave:bob"]);
  // Nothing of the clients' is left open to keep the process alive.
  for (let i = 0; i < 100 && sockets() > before; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(sockets(), before, `open sockets: ${process.getActiveResourcesInfo()}`);
});

const sockets = () => process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP")).length;

for (const [how, nodeArgs, scriptArgs] of [
  ["the global WebSocket of `node --experimental-websocket`", ["--experimental-websocket"], []],
  ["the ws package", [], ["ws"]],
]) {
  test(`in a child process with ${how}, the two clients' scenario passes and the process exits by itself`, { timeout: 30_000 }, async () => {
    const { code, signal, stdout, stderr } = await node([...nodeArgs, TWO_CLIENTS, SERVER, ...scriptArgs], 20_000);
    assert.equal(signal, null, `killed after 20 s: the process did not exit by itself\n${stdout}${stderr}`);
    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /^ok join:bob update:bob leave:bob$/m);
  });
}

/** Runs node with args; kills it after `timeout` ms. */
function node(args, timeout) {
  return exec(process.execPath, args, { timeout, env: { ...process.env, NODE_OPTIONS: "" } });
}
