// A server process for tests: spawned, its output collected, polled until it is ready, and stopped politely
// (SIGTERM, then SIGKILL after 5 s). One implementation for every server a test runs in the foreground.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { connect } from "node:net";

export interface ServerProcess {
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/**
 * Spawns `cmd args` and polls `ready()` every 100 ms (at most 100 times) until it answers true. Stops the process
 * and throws with its output when it exits first or never gets ready. `onStop` runs after the process is gone.
 */
export async function startServerProcess(
  what: string,
  cmd: string,
  args: string[],
  ready: () => boolean | Promise<boolean>,
  options: { spawn?: SpawnOptions; onStop?: () => void } = {},
): Promise<ServerProcess> {
  const child = spawn(cmd, args, { ...options.spawn, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
    options.onStop?.();
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (await ready()) return { child, output: () => out, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`${what} did not become ready:\n${out}`);
}
