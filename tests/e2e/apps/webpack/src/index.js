// Built by `webpack --mode production` with no config (entry src/index.js, output main.js):
// webpack 5 emits the package's .wasm as an asset resource from `new URL(..., import.meta.url)`.
import { RealtimeClient } from "rtm-sdk";
import { run } from "../../page.js";

run(RealtimeClient);
