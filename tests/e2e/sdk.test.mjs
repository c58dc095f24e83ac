// The package's API in headless Chromium, as a page imports it with no bundler (installed from
// its tarball; scripts/test-package.sh), against real servers: RTM_SERVER_URL (defaults, and the
// event `test:silent`, which is never answered: rtm-test-server) and RTM_SHORT_TTL_URL (a 400 ms
// presence TTL). Each scenario runs in a fresh page with the helpers
// of sdk/harness.js; a failed assertion there fails the test here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { launchChromium, problemsOf } from "./lib/chromium.mjs";
import { serve } from "./lib/static-server.mjs";

const SERVERS = {
  url: process.env.RTM_SERVER_URL,
  shortTtlUrl: process.env.RTM_SHORT_TTL_URL,
  apiKey: process.env.RTM_API_KEY,
};
const HERE = fileURLToPath(new URL(".", import.meta.url));
let browser;
let site;

before(async () => {
  assert.ok(SERVERS.url && SERVERS.shortTtlUrl, "RTM_SERVER_URL and RTM_SHORT_TTL_URL must be set");
  browser = await launchChromium();
  site = await serve(HERE);
});

after(async () => {
  await browser?.close();
  site?.close();
});

/** Runs `scenario(harness, servers)` in a fresh page; returns its result and the page's problems. */
async function inPage(scenario) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = problemsOf(page);
  await page.goto(`${site.url}/sdk/`);
  try {
    const result = await page.evaluate(
      async ({ source, servers }) => {
        const harness = await import("/sdk/harness.js");
        return (0, eval)(`(${source})`)(harness, servers);
      },
      { source: scenario.toString(), servers: SERVERS },
    );
    return { result, problems };
  } finally {
    await context.close();
  }
}

test("importing does no I/O; the WebAssembly loads on the first connect(), once", async () => {
  const before = site.requests.length;
  const { result } = await inPage(async (h, { url }) => {
    const wasmLoaded = () =>
      performance.getEntriesByType("resource").filter((e) => e.name.endsWith("rtm_sdk_bg.wasm")).length;
    const client = new h.RealtimeClient({ baseUrl: url });
    const afterConstruct = { wasm: wasmLoaded(), state: client.state };
    await client.connect();
    const second = await h.client(url);
    const loads = wasmLoaded();
    await client.disconnect();
    await second.disconnect();
    return { afterConstruct, loads, state: client.state };
  });
  assert.deepEqual(result.afterConstruct, { wasm: 0, state: "disconnected" });
  assert.equal(result.loads, 1, "two clients share one load");
  assert.equal(result.state, "disconnected");
  const wasmRequests = site.requests.slice(before).filter((p) => p.endsWith(".wasm"));
  assert.deepEqual(wasmRequests, ["/node_modules/rtm-sdk/rtm_sdk_bg.wasm"]);
});

test("init() takes the app's own URL; a failed load rejects with load_failed and is retried", async () => {
  const before = site.requests.length;
  const { result } = await inPage(async (h, { url }) => {
    const bad = await h.rejection(h.init("/nowhere/rtm_sdk_bg.wasm"));
    await h.init("/node_modules/rtm-sdk/rtm_sdk_bg.wasm?from=app");
    const client = new h.RealtimeClient({ baseUrl: url });
    await client.connect();
    const state = client.state;
    await client.disconnect();
    const fromApp = performance.getEntriesByType("resource").some((e) => e.name.endsWith("rtm_sdk_bg.wasm?from=app"));
    return { bad: bad.code, state, fromApp };
  });
  assert.equal(result.bad, "load_failed");
  assert.equal(result.state, "connected");
  assert.ok(result.fromApp, "the WebAssembly came from the app's URL");
  const wasmRequests = site.requests.slice(before).filter((p) => p.endsWith(".wasm"));
  assert.deepEqual(wasmRequests, ["/node_modules/rtm-sdk/rtm_sdk_bg.wasm"], "loaded once, from the app's URL");
});

test("two clients see each other's join, update and leave", async () => {
  const { problems } = await inPage(async (h, { url }) => {
    const room = h.unique("web");
    const a = await h.client(url);
    const b = await h.client(url);
    h.eq(a.state, "connected", "state");
    const { channel: ca, response: ra } = await a.joinRoom({ roomId: room, userId: "alice", state: { status: "online" } });
    h.eq(ra.snapshot.length, 1, "alice's snapshot");
    const events = h.listen(ca, "presenceEvent");
    const { channel: cb, response: rb } = await b.joinRoom({ roomId: room, userId: "bob" });
    h.eq(rb.snapshot.length, 2, "bob's snapshot");
    await events.next("bob's join", h.presenceOf("join", "bob"));
    h.eq(ca.members().length, 2, "members");
    const ack = await cb.updateState({ status: "busy" });
    h.eq(ack.changed, true, "changed");
    const update = await events.next("bob's update", h.presenceOf("update", "bob"));
    h.eq(update.state.status, "busy", "bob's state");
    await cb.leave();
    await events.next("bob's leave", h.presenceOf("leave", "bob"));
    h.eq(ca.members().length, 1, "members after the leave");
    await a.disconnect();
    await b.disconnect();
  });
  assert.deepEqual(problems, []);
});

test("a large room: the channel reads every page by itself, and a count member follows the count", async () => {
  // RTM_SERVER_URL's snapshot pages hold 3 entries (scripts/test-package.sh).
  const { problems } = await inPage(async (h, { url }) => {
    const room = h.unique("large");
    const others = [];
    for (let i = 0; i < 5; i++) {
      const c = await h.client(url);
      await c.joinRoom({ roomId: room, userId: `m${i}` });
      others.push(c);
    }
    const reader = await h.client(url);
    const { channel, response } = await reader.joinRoom({ roomId: room, userId: "reader" });
    h.eq(response.snapshot.length, 3, "the first page");
    h.eq(response.total, 6, "the room's total");
    const pages = h.listen(channel, "page");
    if (!channel.complete) await pages.next("the last page", (p) => p.complete);
    h.eq(channel.connections().length, 6, "every page read");

    const fan = await h.client(url);
    const { channel: audience, response: joined } = await fan.joinRoom({ roomId: room, userId: "fan", presence: "count" });
    h.eq(joined.snapshot.length, 0, "no entries for a count member");
    h.eq(audience.count(), 7, "the join's total");
    const counts = h.listen(audience, "count");
    const events = h.listen(channel, "presenceEvent");
    await events.next("the fan's join", h.presenceOf("join", "fan"));
    await others[0].disconnect();
    await counts.next("the count after a leave", (n) => n === 6);
    await events.next("m0's leave", h.presenceOf("leave", "m0"));
    h.eq(channel.connections().length, 6, "the reader's view");
    h.eq(audience.connections().length, 0, "a count member holds no entries");
    for (const c of [...others.slice(1), reader, fan]) await c.disconnect();
  });
  assert.deepEqual(problems, []);
});

test("throttled updates reach the others merged, the latest value winning", async () => {
  await inPage(async (h, { url }) => {
    const room = h.unique("web");
    const a = await h.client(url, { presence: { throttleMs: 300 } });
    const b = await h.client(url);
    const { channel: ca } = await a.joinRoom({ roomId: room, userId: "alice", state: { x: 0 } });
    const { channel: cb } = await b.joinRoom({ roomId: room, userId: "bob" });
    const updates = h.listen(cb, "presenceEvent");
    const answers = await Promise.all([1, 2, 3, 4, 5].map((x) => ca.updateState({ x, [`k${x}`]: true })));
    h.eq(answers.length, 5, "every update resolves");
    await updates.next("the merged update", (e) => e.type === "update" && e.state.x === 5);
    const sent = updates.seen.filter((e) => e.type === "update").length;
    h.ok(sent <= 2, `5 updates within the window went as ${sent} heartbeats, not 5`);
    h.eq(JSON.stringify(cb.members().find((m) => m.userId === "alice").state),
      JSON.stringify({ k1: true, k2: true, k3: true, k4: true, k5: true, x: 5 }), "alice's state");
    await a.disconnect();
    await b.disconnect();
  });
});

test("the client hears what the backend API sends its user", async () => {
  const { problems } = await inPage(async (h, { url, apiKey }) => {
    const user = h.unique("user");
    const client = await h.client(url);
    await client.joinRoom({ roomId: h.unique("backend"), userId: user });
    const notes = h.listen(client, "note");
    // What the app's backend would do (with its API key, never in a real page).
    const sent = await fetch(`${url}/api/users/${user}/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ event: "note", data: { text: "hello" } }),
    });
    h.eq(sent.status, 200, "the API's answer");
    const note = await notes.next("the note");
    h.eq(note.text, "hello", "its data");
    await client.disconnect();
  });
  assert.deepEqual(problems, []);
});

test("the epoch comes from the acks", async () => {
  await inPage(async (h, { url }) => {
    const a = await h.client(url, { presence: { heartbeatIntervalMs: 200 } });
    const { channel, response } = await a.joinRoom({ roomId: h.unique("web"), userId: "alice" });
    h.eq(channel.self.epoch, response.self.epoch, "self.epoch");
    const ack = await h.listen(channel, "heartbeatAck").next("a heartbeat ack");
    h.eq(ack.epoch, response.self.epoch, "the ack's epoch");
    h.ok(typeof ack.rttMs === "number", "rttMs");
    await a.disconnect();
    h.eq(channel.self, null, "no identity once disconnected");
  });
});

test("acks answer, time out, and refusals carry the server's code (unknown_event at once)", async () => {
  await inPage(async (h, { url }) => {
    const room = h.unique("web");
    const a = await h.client(url);
    const { channel } = await a.joinRoom({ roomId: room, userId: "alice" });
    const messages = h.listen(channel, "chat:message");
    const ack = await channel.emit("chat:send", { roomId: room, message: "hi" }, { ack: true });
    h.eq(ack.ok, true, "ok");
    const message = await messages.next("the chat message");
    h.eq(message.msgId, ack.msgId, "msgId");
    const refused = await h.rejection(channel.emit("chat:send", { roomId: room }, { ack: true }));
    h.ok(refused instanceof Error, "an Error");
    h.eq(refused.code, "invalid_payload", "refusal code");
    const silent = await h.rejection(channel.emit("test:silent", {}, { ack: true, timeoutMs: 200 }));
    h.eq(silent.code, "timeout", "timeout code");
    // Refused by the server, not timed out: no module handles the event.
    const unknown = await h.rejection(channel.emit("nobody:handles", {}, { ack: true, timeoutMs: 5_000 }));
    h.eq(unknown.code, "unknown_event", "an event no module handles");
    h.ok(unknown.message.includes('"nobody:handles"'), unknown.message);
    const bad = await h.rejection(a.joinRoom({ roomId: "", userId: "u" }));
    h.eq(bad.code, "invalid_payload", "empty room");
    const notJson = await h.rejection(channel.updateState({ n: 1n }));
    h.eq(notJson.code, "invalid_argument", "a BigInt is not JSON");
    const notObject = await h.rejection(channel.updateState("busy"));
    h.eq(notObject.code, "invalid_argument", "a patch must be an object");
    await a.disconnect();
  });
});

test("not_joined leads to a rejoin with the last state", async () => {
  await inPage(async (h, { shortTtlUrl }) => {
    // Heartbeats slower than the server's 400 ms TTL: expired, told not_joined, rejoined.
    const a = await h.client(shortTtlUrl, { presence: { heartbeatIntervalMs: 1000 } });
    const { channel } = await a.joinRoom({ roomId: h.unique("web"), userId: "sleepy", state: { mood: "tired" } });
    const errors = h.listen(channel, "error");
    const back = h.listen(channel, "reconnected");
    const error = await errors.next("not_joined");
    h.eq(error.code, "not_joined", "code");
    const { snapshot } = await back.next("reconnected");
    h.eq(snapshot.length, 1, "snapshot");
    h.eq(snapshot[0].state.mood, "tired", "rejoined with its last state");
    await a.disconnect();
  });
});

test("a dropped connection reconnects and resumes its entry, unseen by the others", async () => {
  await inPage(async (h, { url }) => {
    const room = h.unique("web");
    const a = await h.client(url);
    const b = await h.client(url);
    const { channel: ca } = await a.joinRoom({ roomId: room, userId: "alice" });
    const aEvents = h.listen(ca, "presenceEvent");
    const { channel: cb } = await b.joinRoom({ roomId: room, userId: "bob", state: { n: 1 } });
    const before = cb.self.connId;
    await aEvents.next("bob's join", h.presenceOf("join", "bob"));
    const seenBefore = aEvents.seen.length;
    const down = h.listen(cb, "disconnected");
    const back = h.listen(cb, "reconnected");
    b.__dropTransport();
    await down.next("disconnected");
    await back.next("reconnected");
    h.eq(cb.self.resumed, true, "resumed");
    h.eq(cb.self.connId, before, "the same connection id");
    // A marker after the resume: alice saw nothing of bob before it (no leave, no join).
    await cb.updateState({ n: 2 });
    const update = await aEvents.next("bob's update", h.presenceOf("update", "bob"));
    h.eq(update.connId, before, "the update is the resumed entry's");
    const since = aEvents.seen.slice(seenBefore).map((e) => e.type);
    h.eq(JSON.stringify(since), JSON.stringify(["update"]), "alice saw only the update");
    h.eq(b.state, "connected", "state");
    await a.disconnect();
    await b.disconnect();
  });
});

test("room storage: writes reach every view, a stale ifVersion is a conflict with the current entry, deletes", async () => {
  const { problems } = await inPage(async (h, { url }) => {
    const room = h.unique("storage");
    const a = await h.client(url);
    const b = await h.client(url);
    const { channel: ca } = await a.joinRoom({ roomId: room, userId: "alice" });
    const { channel: cb } = await b.joinRoom({ roomId: room, userId: "bob" });
    // Bob's view is loaded first: a write his load already holds is no change to his view (no
    // storageChanged), as documented; under load the load could be answered after the write.
    await h.listen(cb, "storageLoaded").next("bob's view loaded");
    const changes = h.listen(cb, "storageChanged");
    const version = await ca.storage.set("slide", { n: 1 });
    h.eq(version, 1, "a new key's version");
    const change = await changes.next("the write's change", (c) => c.key === "slide");
    h.eq(JSON.stringify([change.roomId, change.value, change.version, change.userId]), JSON.stringify([room, { n: 1 }, 1, "alice"]), "the change");
    h.eq(cb.storage.get("slide").n, 1, "bob's view");
    h.eq(JSON.stringify(cb.storage.entries()), JSON.stringify({ slide: { value: { n: 1 }, version: 1 } }), "entries");
    const conflict = await h.rejection(cb.storage.set("slide", { n: 9 }, { ifVersion: 0 }));
    h.eq(conflict.code, "conflict", "code");
    h.eq(JSON.stringify(conflict.current), JSON.stringify({ value: { n: 1 }, version: 1 }), "the current entry");
    const bad = await h.rejection(cb.storage.set("slide", 1, { ifVersion: 1.5 }));
    h.eq(bad.code, "invalid_argument", "a fractional ifVersion");
    h.eq(await cb.storage.delete("slide", { ifVersion: 1 }), true, "deleted");
    await changes.next("the delete", (c) => c.key === "slide" && c.version === 0 && c.value === null);
    h.eq(cb.storage.get("slide"), undefined, "gone from bob's view");
    h.eq(await ca.storage.delete("slide"), false, "absent already");
    await a.disconnect();
    await b.disconnect();
  });
  assert.deepEqual(problems, []);
});

test("room storage: update() from four clients at once ends exact", async () => {
  const { result, problems } = await inPage(async (h, { url }) => {
    const room = h.unique("counter");
    const clients = await Promise.all([0, 1, 2, 3].map(() => h.client(url)));
    const channels = [];
    for (const [i, c] of clients.entries()) channels.push((await c.joinRoom({ roomId: room, userId: `u${i}` })).channel);
    const bump = async (channel) => {
      const written = [];
      for (let i = 0; i < 10; i++) written.push((await channel.storage.update("count", (n = 0) => n + 1)).value);
      return written;
    };
    const values = (await Promise.all(channels.map(bump))).flat().sort((x, y) => x - y);
    // Every view follows the last change.
    for (const channel of channels) {
      if (channel.storage.get("count") !== 40) await h.listen(channel, "storageChanged").next("the last bump", (c) => c.value === 40);
    }
    const views = channels.map((c) => c.storage.get("count"));
    for (const c of clients) await c.disconnect();
    return { values, views };
  });
  assert.deepEqual(result.values, Array.from({ length: 40 }, (_, i) => i + 1), "each update wrote a value of its own");
  assert.deepEqual(result.views, [40, 40, 40, 40]);
  assert.deepEqual(problems, []);
});

test("room storage: after a dropped connection the view is loaded again, with what it missed", async () => {
  await inPage(async (h, { url }) => {
    const room = h.unique("storage");
    const a = await h.client(url);
    const b = await h.client(url);
    const { channel: ca } = await a.joinRoom({ roomId: room, userId: "alice" });
    await ca.storage.set("kept", 1);
    await ca.storage.set("gone", 1);
    const { channel: cb } = await b.joinRoom({ roomId: room, userId: "bob" });
    const loads = h.listen(cb, "storageLoaded");
    await loads.next("the join's load");
    const down = h.listen(cb, "disconnected");
    const back = h.listen(cb, "reconnected");
    b.__dropTransport();
    await down.next("disconnected");
    await ca.storage.set("kept", 2);
    await ca.storage.delete("gone");
    await ca.storage.set("new", "x");
    const changes = h.listen(cb, "storageChanged");
    await back.next("reconnected");
    await loads.next("the load after the resume");
    h.eq(cb.self.resumed, true, "resumed");
    // Had the resume come before alice's last write, that write follows as a change.
    if (cb.storage.get("new") !== "x") await changes.next("alice's last write", (c) => c.key === "new");
    h.eq(JSON.stringify(cb.storage.entries()), JSON.stringify({ kept: { value: 2, version: 2 }, new: { value: "x", version: 1 } }), "the room");
    await a.disconnect();
    await b.disconnect();
  });
});

test("pending promises reject with disconnected when the socket closes", async () => {
  await inPage(async (h, { url }) => {
    const a = await h.client(url);
    const { channel } = await a.joinRoom({ roomId: h.unique("web"), userId: "alice" });
    const pending = channel.emit("test:silent", {}, { ack: true, timeoutMs: 60_000 });
    const update = channel.updateState({ x: 1 });
    a.__dropTransport();
    h.eq((await h.rejection(pending)).code, "disconnected", "code");
    // The update got its ack before the close or was failed by it: never left hanging.
    await update.catch(() => {});
    await a.disconnect();
  });
});

test("the auth provider is awaited, and its rejection or throw fails connect()", async () => {
  await inPage(async (h, { url }) => {
    let calls = 0;
    const ok = new h.RealtimeClient({
      baseUrl: url,
      authProvider: () => new Promise((resolve) => setTimeout(() => resolve({ token: "t", n: ++calls }), 20)),
    });
    await ok.connect();
    h.eq(ok.state, "connected", "state");
    h.eq(calls, 1, "asked once");
    await ok.disconnect();
    const rejects = new h.RealtimeClient({ baseUrl: url, authProvider: () => Promise.reject(new Error("no token today")) });
    const refused = await h.rejection(rejects.connect());
    h.ok(refused.message.includes("no token today") && refused.code === "transport", refused.message);
    const throws = new h.RealtimeClient({ baseUrl: url, authProvider: () => { throw new Error("provider broke"); } });
    const broke = await h.rejection(throws.connect());
    h.ok(broke.message.includes("provider broke"), broke.message);
  });
});

test("numbers cross the wire unchanged", async () => {
  await inPage(async (h, { url }) => {
    const room = h.unique("web");
    const a = await h.client(url);
    const b = await h.client(url);
    const state = { sum: 0.1 + 0.2, tiny: 5e-324, huge: 1.7976931348623157e308, id: 9007199254740991, neg: -0.5 };
    await a.joinRoom({ roomId: room, userId: "alice", state });
    const { channel } = await b.joinRoom({ roomId: room, userId: "bob" });
    const alice = channel.members().find((m) => m.userId === "alice");
    for (const [key, want] of Object.entries(state)) h.eq(alice.state[key], want, key);
    await a.disconnect();
    await b.disconnect();
  });
});

// ===== the Rust adapter: what it leaves behind, its timer, its WebSocket, the page =====

/**
 * Page-side instruments, installed before the scenario: `WS` is a WebSocket class that records
 * its instances (passed as `options.WebSocket`); `timers` counts pending `setTimeout`s (the
 * WebAssembly calls the global one), and `throttle(ms)` makes later timers wait `ms` as a
 * background tab's would; `listeners()` counts the page listeners the SDK holds.
 */
function instruments() {
  const sockets = [];
  class WS extends WebSocket {
    constructor(url) {
      super(url);
      sockets.push(this);
    }
  }
  const pending = new Set();
  let throttledTo = null;
  const { setTimeout: set, clearTimeout: clear } = globalThis;
  globalThis.setTimeout = (f, ms, ...args) => {
    const id = set(() => {
      pending.delete(id);
      f(...args);
    }, throttledTo ?? ms);
    pending.add(id);
    return id;
  };
  globalThis.clearTimeout = (id) => {
    pending.delete(id);
    clear(id);
  };
  const held = new Map();
  for (const target of [window, document]) {
    const { addEventListener: add, removeEventListener: remove } = target;
    target.addEventListener = function (name, f, ...rest) {
      held.set(name, (held.get(name) ?? 0) + 1);
      return add.call(this, name, f, ...rest);
    };
    target.removeEventListener = function (name, f, ...rest) {
      held.set(name, (held.get(name) ?? 0) - 1);
      return remove.call(this, name, f, ...rest);
    };
  }
  const live = (s) => s.onopen || s.onmessage || s.onclose;
  return {
    WS,
    sockets,
    /** Sockets that still have handlers, or are not closed or closing. */
    leftOpen: () => sockets.filter((s) => live(s) || s.readyState < WebSocket.CLOSING).length,
    timers: () => pending.size,
    throttle: (ms) => (throttledTo = ms),
    /** Lets time pass (untracked, unthrottled): the scenario's time, not a wait for an event. */
    pass: (ms) => new Promise((r) => set(r, ms)),
    listeners: () => (held.get("pagehide") ?? 0) + (held.get("visibilitychange") ?? 0),
  };
}

/** `inPage` with `instruments()` as the scenario's third argument. */
function withInstruments(scenario) {
  return inPage(
    (0, eval)(`(async (h, servers) => {
      const tools = (${instruments.toString()})();
      return (${scenario.toString()})(h, servers, tools);
    })`),
  );
}

test("100 reconnects leave no socket handler, timer or page listener behind; the WebSocket class comes from options", async () => {
  const { result } = await withInstruments(async (h, { url }, t) => {
    const a = await h.client(url, { WebSocket: t.WS });
    const { channel } = await a.joinRoom({ roomId: h.unique("churn"), userId: "alice" });
    const back = h.listen(channel, "reconnected");
    for (let i = 0; i < 100; i++) {
      a.__dropTransport();
      await back.next(`reconnect ${i + 1}`);
    }
    const connected = { sockets: t.sockets.length, open: t.leftOpen(), timers: t.timers(), listeners: t.listeners() };
    await a.disconnect();
    return { connected, after: { open: t.leftOpen(), timers: t.timers(), listeners: t.listeners() } };
  });
  assert.equal(result.connected.sockets, 101, "every connection used options.WebSocket");
  assert.equal(result.connected.open, 1, "only the current socket has handlers");
  assert.equal(result.connected.timers, 1, "one timer, at the core's next deadline");
  assert.equal(result.connected.listeners, 2, "pagehide and visibilitychange, once");
  assert.deepEqual(result.after, { open: 0, timers: 0, listeners: 0 }, "nothing left after disconnect()");
});

test("disconnect() while the socket connects: connect() rejects, and no socket or timer is left", async () => {
  const { result } = await withInstruments(async (h, { url }, t) => {
    await h.init();
    const a = new h.RealtimeClient({ baseUrl: url, WebSocket: t.WS });
    const connecting = a.connect();
    // Wait until the adapter made its socket (after the auth step's microtask).
    for (let i = 0; i < 100 && t.sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 0));
    const state = t.sockets[0].readyState;
    await a.disconnect();
    const refused = await h.rejection(connecting);
    return { state, code: refused.code, open: t.leftOpen(), timers: t.timers(), clientState: a.state };
  });
  assert.equal(result.state, 0, "the socket was still CONNECTING");
  assert.equal(result.code, "disconnected");
  assert.deepEqual([result.open, result.timers, result.clientState], [0, 0, "disconnected"]);
});

test("an auth provider that never answers is cut by connectTimeoutMs; its late answer opens nothing", async () => {
  const { result } = await withInstruments(async (h, { url }, t) => {
    let answer;
    const a = new h.RealtimeClient({
      baseUrl: url,
      WebSocket: t.WS,
      connectTimeoutMs: 300,
      reconnection: { enabled: false },
      authProvider: () => new Promise((resolve) => (answer = resolve)),
    });
    const refused = await h.rejection(a.connect());
    answer({ token: "too late" });
    // The answer's reaction runs after this await's; then nothing may have opened.
    await new Promise((r) => setTimeout(r, 0));
    return { code: refused.code, sockets: t.sockets.length, state: a.state };
  });
  assert.ok(result.code, "an Error with a code");
  assert.equal(result.sockets, 0, "no socket opened for the late answer");
  assert.equal(result.state, "disconnected");
});

test("the timer is re-armed from the core's deadline; a page shown again checks it at once (throttled timers)", async () => {
  const { result } = await withInstruments(async (h, { url }, t) => {
    const a = await h.client(url, { WebSocket: t.WS, presence: { heartbeatIntervalMs: 200 } });
    const { channel } = await a.joinRoom({ roomId: h.unique("hidden"), userId: "alice" });
    const acks = h.listen(channel, "heartbeatAck");
    // Heartbeats keep coming: the one timer is re-armed after each.
    for (let i = 0; i < 3; i++) await acks.next(`heartbeat ${i + 1}`);
    // Hidden: from now on, timers wait a minute (as a background tab's may).
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
    t.throttle(60_000);
    await acks.next("the heartbeat armed before the throttle");
    const stateHidden = a.state;
    // Hidden for longer than a heartbeat interval: a heartbeat is due, its timer a minute away.
    await t.pass(500);
    // Shown again: the adapter checks the core's deadline at once, without its (throttled) timer.
    Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
    document.dispatchEvent(new Event("visibilitychange"));
    await acks.next("a heartbeat right after the page is shown");
    await a.disconnect();
    return { stateHidden };
  });
  assert.equal(result.stateHidden, "connected", "hiding the page does not disconnect");
});

test("pagehide leaves at once: the server drops the entry (no disconnect grace), the client is disconnected", async () => {
  const { result } = await withInstruments(async (h, { url, apiKey }, t) => {
    const room = h.unique("pagehide");
    const a = await h.client(url, { WebSocket: t.WS });
    await a.joinRoom({ roomId: room, userId: "alice" });
    const members = async () => {
      const answer = await fetch(`${url}/api/rooms/${room}/presence`, { headers: { authorization: `Bearer ${apiKey}` } });
      return (await answer.json()).snapshot?.length ?? -1;
    };
    const before = await members();
    window.dispatchEvent(new Event("pagehide"));
    const state = a.state;
    // A lost connection's entry would stay for the 5 s grace; a leave goes at once. Polled, bounded.
    const started = performance.now();
    let now = before;
    while (now !== 0 && performance.now() - started < 3_000) {
      await t.pass(50);
      now = await members();
    }
    return { before, now, state, open: t.leftOpen() };
  });
  assert.deepEqual(result, { before: 1, now: 0, state: "disconnected", open: 0 });
});
