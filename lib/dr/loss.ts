// Losing the data host on purpose, for real: kill -9 of the PostgreSQL postmaster and every process it started (no
// shutdown checkpoint, sessions cut mid-write), then its data directory removed, and whatever else of the host's disk
// the drill names (e.g. pgBackRest's spool). Afterwards the drill proves the loss happened: the paths are gone and the
// server refuses connections. Nothing here is a stand-in; the drill runs it
// only against its scratch copy's server (lib/dr/drill.ts refuses a stack it did not set up as a drill target).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pgEnv, type PgConnection } from "./writer";

export interface Loss {
  /** Wall-clock millisecond of the kill. */
  lostAt: number;
  postmasterPid: number;
  killed: number[];
  /** The data directory no longer exists. */
  dataDirGone: boolean;
  /** Of the data directory and the other paths lost, those that still exist (none after a real loss). */
  stillThere: string[];
  /** pg_isready's answer after the loss (it must not be "accepting connections"). */
  refused: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The postmaster's pid from postmaster.pid, or a clear error when no server runs from `dataDir`. */
export function postmasterPid(dataDir: string): number {
  const file = join(dataDir, "postmaster.pid");
  if (!existsSync(file)) throw new Error(`no PostgreSQL server runs from ${dataDir}: ${file} is missing (is dataHost.postgres.dataDir the running server's data directory?)`);
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  if (!(pid > 0) || !alive(pid)) throw new Error(`${file} names pid ${pid}, which is not running: the server is already down`);
  return pid;
}

/** Whether the server accepts connections, as pg_isready says (exit 0), with its message. */
export function serverAnswers(c: PgConnection): { up: boolean; message: string } {
  const r = spawnSync("pg_isready", ["-h", c.host, "-p", String(c.port), "-t", "3"], { env: pgEnv(c), encoding: "utf8" });
  return { up: r.status === 0, message: (r.stdout || r.stderr).trim() };
}

/** kill -9 the server and its children, wait until they are gone, remove the data directory and `alsoLost`; prove it. */
export async function loseDataHost(dataDir: string, conn: PgConnection, alsoLost: readonly string[] = []): Promise<Loss> {
  const pid = postmasterPid(dataDir);
  const children = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
    .stdout.split("\n")
    .map(Number)
    .filter((n) => n > 0);
  const killed = [pid, ...children];
  const lostAt = Date.now();
  for (const p of killed) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 30_000;
  while (killed.some(alive)) {
    if (Date.now() > deadline) throw new Error(`kill -9 of PostgreSQL (pids ${killed.join(" ")}) did not end them within 30 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
  for (const p of [dataDir, ...alsoLost]) rmSync(p, { recursive: true, force: true });
  const answer = serverAnswers(conn);
  if (answer.up) throw new Error(`after kill -9 of pid ${pid} something still accepts connections on ${conn.host}:${conn.port} (${answer.message}): the drill's dataDir is not that server's`);
  return { lostAt, postmasterPid: pid, killed, dataDirGone: !existsSync(dataDir), stillThere: [dataDir, ...alsoLost].filter((p) => existsSync(p)), refused: answer.message || "no response" };
}
