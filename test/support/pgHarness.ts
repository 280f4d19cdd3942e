// Runs the scripts under scripts/backup/ against a test server, the way a cron job or a Kubernetes job would:
// a child process with the libpq environment, reading the one JSON result line it prints.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { PostgresServer } from "./postgres";

export const BACKUP_SCRIPTS = resolve(__dirname, "../../scripts/backup");

export interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last JSON line on stdout, or null when there is none. */
  result: Record<string, any> | null;
}

function lastJson(stdout: string): Record<string, any> | null {
  const lines = stdout.trim().split("\n").filter((l) => l.startsWith("{"));
  if (lines.length === 0) return null;
  return JSON.parse(lines[lines.length - 1]);
}

export function scriptEnv(pg: PostgresServer, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...pg.env, ...extra };
  // The scripts take the database from -d; PGDATABASE from the harness would silently pick "postgres".
  if (!("PGDATABASE" in extra)) delete env.PGDATABASE;
  return env;
}

export function runScript(pg: PostgresServer, script: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): ScriptRun {
  const r = spawnSync(resolve(BACKUP_SCRIPTS, script), args, {
    env: scriptEnv(pg, extraEnv),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, result: lastJson(r.stdout) };
}

export function startScript(
  pg: PostgresServer,
  script: string,
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<ScriptRun> } {
  const child = spawn(resolve(BACKUP_SCRIPTS, script), args, { env: scriptEnv(pg, extraEnv) });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ScriptRun>((res) =>
    child.on("close", (code, signal) => res({ code, signal, stdout, stderr, result: lastJson(stdout) })),
  );
  return { child, done };
}

export function databases(pg: PostgresServer): string[] {
  return pg.sql("SELECT datname FROM pg_database ORDER BY 1").split("\n");
}

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
