// Watches a Node process's I/O, for the tests that check that something does none.
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import net from "node:net";

/** Records every file read, socket connect and fetch from now until restore(), except Node's own
 * reads of module source (its ESM loader reads the package's .js files with fs.promises.readFile). */
export function watchIo() {
  const calls = [];
  const undo = [];
  const wrap = (object, name, label) => {
    const original = object[name];
    object[name] = function (...args) {
      if (!new Error().stack.includes("node:internal/modules/")) calls.push(`${label}(${args[0]})`);
      return original.apply(this, args);
    };
    undo.push(() => (object[name] = original));
  };
  wrap(fs.promises, "readFile", "fs.promises.readFile");
  wrap(fs.promises, "open", "fs.promises.open");
  wrap(fs, "readFile", "fs.readFile");
  wrap(fs, "readFileSync", "fs.readFileSync");
  wrap(fs, "openSync", "fs.openSync");
  wrap(net.Socket.prototype, "connect", "net.Socket.connect");
  if (typeof globalThis.fetch === "function") wrap(globalThis, "fetch", "fetch");
  syncBuiltinESMExports(); // so that `import { readFile } from "node:fs/promises"` sees the wrappers too
  return {
    calls,
    restore() {
      undo.forEach((f) => f());
      syncBuiltinESMExports();
    },
  };
}
