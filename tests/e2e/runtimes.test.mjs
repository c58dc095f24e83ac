// The npm package rtm-sdk, installed from its `npm pack` tarball, in Deno and Bun (their binaries
// from npm: devDependencies here). Both resolve its "node" export (node.js: the .wasm read with
// node:fs, the runtime's global WebSocket), and apps/node/two-clients.mjs, unchanged, runs in each:
// two clients on the real rtm-server at RTM_SERVER_URL see each other join, update and leave, and
// the process exits by itself. scripts/test-package.sh runs this.
import { test } from "node:test";
import assert from "node:assert/strict";
import { exec } from "./lib/run.mjs";
import fs from "node:fs";
import { fileURLToPath } from "node:url";

const SERVER = process.env.RTM_SERVER_URL;
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const E2E = here(".");
const TWO_CLIENTS = here("apps/node/two-clients.mjs");
const version = (pkg) => JSON.parse(fs.readFileSync(here(`node_modules/${pkg}/package.json`), "utf8")).version;

// Each is kept off the network but for 127.0.0.1: no update check, permission prompt, remote
// module, auto-install or telemetry.
const runtimes = [
  {
    name: `Deno ${version("@deno/linux-x64-glibc")}`,
    bin: here("node_modules/@deno/linux-x64-glibc/deno"),
    // --node-modules-dir=manual: bare specifiers resolve from tests/e2e/node_modules, nothing is
    // installed. Reads: only the package's .wasm; no env access.
    args: [
      "run",
      "--node-modules-dir=manual",
      "--no-remote",
      "--no-lock",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      `--allow-read=${here("node_modules/rtm-sdk")}`,
      TWO_CLIENTS,
      SERVER,
    ],
    env: { DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" },
  },
  {
    name: `Bun ${version("@oven/bun-linux-x64")}`,
    bin: here("node_modules/@oven/bun-linux-x64/bin/bun"),
    args: ["--no-install", "--no-env-file", TWO_CLIENTS, SERVER],
    env: { DO_NOT_TRACK: "1" },
  },
];

for (const { name, bin, args, env } of runtimes) {
  test(`in ${name}, the two clients' scenario passes and the process exits by itself`, { timeout: 30_000 }, async () => {
    assert.ok(SERVER, "RTM_SERVER_URL must be set (scripts/test-package.sh sets it)");
    assert.doesNotThrow(() => fs.accessSync(bin, fs.constants.X_OK), `${bin} is not executable: run scripts/install-deps.sh`);
    const { code, signal, stdout, stderr } = await run(bin, args, env, 20_000);
    assert.equal(signal, null, `killed after 20 s: the process did not exit by itself\n${stdout}${stderr}`);
    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /^ok join:bob update:bob leave:bob$/m);
  });
}

/** Runs bin with args in tests/e2e; kills it after `timeout` ms. */
function run(bin, args, env, timeout) {
  return exec(bin, args, { cwd: E2E, timeout, killSignal: "SIGKILL", env: { ...process.env, NO_COLOR: "1", ...env } });
}
