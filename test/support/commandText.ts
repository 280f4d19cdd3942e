// Asynchronous process runs for tests whose stub servers (the S3 and DigitalOcean API stand-ins) answer from this
// process's event loop, which spawnSync would block.
import { spawn } from "node:child_process";

export interface AsyncRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` with `env` (default: this process's) and `stdin` (default: none), and collects its output. */
export function runAsync(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<AsyncRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(o.stdin ?? "");
  });
}

/** A command resource's text run as the command provider does: `bash -c TEXT`, its stdin sent as it is (no newline added). */
export function runCommandText(text: string, stdin: string): Promise<AsyncRun> {
  return runAsync("bash", ["-c", text], { stdin });
}

/** The JSON result lines a script printed (scripts/lib/common.sh: one per run; a schedule loop prints its jobs' too). */
export function resultLines(stdout: string): Record<string, any>[] {
  return stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}
