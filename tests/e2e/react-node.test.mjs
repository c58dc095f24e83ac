// rtm-sdk/react from the package's `npm pack` tarball, in Node: server rendering with
// react-dom/server (the "node" export condition: react-node.js, on the package's node.js) does no
// I/O and never touches the WebAssembly; and the types compile under `tsc --strict` with an app's
// own state type (apps/react-types). scripts/test-package.sh runs this.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { watchIo } from "./lib/io.mjs";
import { run } from "./lib/run.mjs";

const SERVER = process.env.RTM_SERVER_URL;
const HERE = fileURLToPath(new URL(".", import.meta.url));

/** Records every use of the WebAssembly API from now until restore(). */
function watchWasm() {
  const calls = [];
  const functions = ["instantiate", "instantiateStreaming", "compile", "compileStreaming", "validate"];
  const classes = ["Module", "Instance"];
  const originals = Object.fromEntries([...functions, ...classes].map((name) => [name, WebAssembly[name]]));
  for (const name of functions) {
    WebAssembly[name] = (...args) => {
      calls.push(name);
      return originals[name](...args);
    };
  }
  for (const name of classes) {
    WebAssembly[name] = new Proxy(originals[name], {
      construct(target, args) {
        calls.push(`new ${name}`);
        return Reflect.construct(target, args);
      },
    });
  }
  return { calls, restore: () => Object.assign(WebAssembly, originals) };
}

test("server rendering of components using the hooks shows an empty, connecting room, with no I/O, no WebAssembly and nothing left running", async () => {
  assert.ok(SERVER, "RTM_SERVER_URL must be set (scripts/test-package.sh sets it)");
  assert.match(import.meta.resolve("rtm-sdk/react"), /\/node_modules\/rtm-sdk\/react-node\.js$/, "Node resolves the Node build");
  const resources = process.getActiveResourcesInfo().sort();
  const io = watchIo();
  const wasm = watchWasm();
  try {
    const { createElement: h } = await import("react");
    const { renderToString } = await import("react-dom/server");
    const { RealtimeClient } = await import("rtm-sdk");
    const { RealtimeProvider, useConnectionState, useRoom, useRoomEvent, useStorage } = await import("rtm-sdk/react");

    function Presence() {
      const { status, members, connections, self, error } = useRoom("lobby", { userId: "ssr", initialState: { status: "online" } });
      const { state, attempt, retryInMs } = useConnectionState();
      useRoomEvent("lobby", "chat:message", () => assert.fail("no event on the server"));
      const [slide] = useStorage("lobby", "slide");
      return h("p", { "data-status": status, "data-connection": state, "data-slide": String(slide) }, JSON.stringify({ members, connections, self, error, attempt, retryInMs }));
    }
    const expected =
      '<p data-status="connecting" data-connection="connecting" data-slide="undefined">' +
      "{&quot;members&quot;:[],&quot;connections&quot;:[],&quot;self&quot;:null,&quot;error&quot;:null,&quot;attempt&quot;:0,&quot;retryInMs&quot;:null}</p>";
    assert.equal(renderToString(h(RealtimeProvider, { options: { baseUrl: SERVER } }, h(Presence))), expected);
    const client = new RealtimeClient({ baseUrl: SERVER });
    assert.equal(renderToString(h(RealtimeProvider, { client }, h(Presence))), expected);
    assert.equal(client.state, "disconnected", "the provider does not connect an app's client, and servers run no effect");

    assert.throws(() => renderToString(h(Presence)), /useRoom must be used inside a <RealtimeProvider>/);
  } finally {
    io.restore();
    wasm.restore();
  }
  assert.deepEqual(io.calls, [], "no file read, socket or fetch");
  assert.deepEqual(wasm.calls, [], "no WebAssembly");
  assert.deepEqual(process.getActiveResourcesInfo().sort(), resources, "no timer, socket or handle left");
});

for (const [how, config] of [
  ["as bundlers resolve it (moduleResolution bundler)", "tsconfig.json"],
  ["as Node resolves it (moduleResolution nodenext)", "tsconfig.nodenext.json"],
]) {
  test(`the types compile under tsc --strict with an app's state type, ${how}`, { timeout: 60_000 }, async () => {
    await run(join(HERE, "apps/react-types"), process.execPath, [join(HERE, "node_modules/typescript/bin/tsc"), "-p", config]);
  });
}
