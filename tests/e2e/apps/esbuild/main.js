// Bundled by `esbuild main.js --bundle --format=esm --outfile=out/main.js`. esbuild leaves
// `new URL("./rtm_sdk_bg.wasm", import.meta.url)` as it is, so the build copies
// rtm-sdk/rtm_sdk_bg.wasm next to main.js (the README's advice for esbuild users).
import { RealtimeClient } from "rtm-sdk";
import { run } from "../page.js";

run(RealtimeClient);
