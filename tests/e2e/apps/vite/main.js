// Built by `vite build` with no config: Vite finds `new URL("./rtm_sdk_bg.wasm", import.meta.url)`
// in the package and emits the .wasm as an asset.
import { RealtimeClient } from "rtm-sdk";
import { run } from "../page.js";

run(RealtimeClient);
