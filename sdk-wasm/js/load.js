// Loading the WebAssembly: once, on first need, shared by every client of the page or process.
import initWasm from "./rtm_sdk.js";
import { rtmError } from "./errors.js";

/**
 * The `init(input?)` of an entry: loads the WebAssembly from `input` (a URL, bytes, a `Response`,
 * a `WebAssembly.Module`, or a promise of one) or else from `source()`, once; a failed load is
 * tried again on the next call. Rejects with code `load_failed`.
 */
export function loader(source) {
  let loading = null;
  return function init(input) {
    loading ??= Promise.resolve(input ?? source())
      .then((module_or_path) => initWasm({ module_or_path }))
      .then(
        () => undefined,
        (error) => {
          loading = null;
          throw rtmError("load_failed", `could not load the rtm-sdk WebAssembly: ${error?.message ?? error}`);
        },
      );
    return loading;
  };
}
