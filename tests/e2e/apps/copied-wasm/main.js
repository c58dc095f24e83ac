// Bundled by esbuild (`--bundle --format=esm`) and by Rollup (with @rollup/plugin-node-resolve).
// Both leave `new URL("./rtm_sdk_bg.wasm", import.meta.url)` as it is, so the build copies
// rtm-sdk/rtm_sdk_bg.wasm next to main.js (the README's advice for their users).
import { RealtimeClient } from "rtm-sdk";
import { run } from "../page.js";

run(RealtimeClient);
