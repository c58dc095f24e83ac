// Runs a build command for the tests, bounded in time.
import { spawn } from "node:child_process";

/** Runs `cmd args` in `cwd` (with `env` added); resolves with its output, rejects with it on failure. */
export function run(cwd, cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      code === 0 ? resolve(output) : reject(new Error(`${cmd} ${args.join(" ")} failed (${code ?? signal}):\n${output}`)));
  });
}

/**
 * Runs `cmd args` to its end, bounded: killed (`killSignal`, SIGTERM by default) after `timeout`
 * ms. Resolves with `{ code, signal, stdout, stderr }` whatever the outcome.
 */
export function exec(cmd, args, { cwd, env = process.env, timeout, killSignal } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], timeout, killSignal });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
