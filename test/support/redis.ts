// A real Redis server for tests: its own directory in a temp dir, listening on 127.0.0.1 only, on a free port,
// with AOF on (`appendonly yes`, Redis 7's multi-part AOF in appendonlydir/) as GoodGo runs it. The server reads a
// config file, so `startCommand` starts it again exactly as before (restore scripts take it as their start command).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports";

export interface RedisServer {
  host: string;
  port: number;
  /** Redis's working directory (dump.rdb, appendonlydir/). */
  dir: string;
  /** Root of the temp dir; removed by destroy(). */
  baseDir: string;
  confFile: string;
  logFile: string;
  pidFile: string;
  /** Environment for the backup scripts and redis-cli (REDIS_HOST, REDIS_PORT, REDISCLI_AUTH when a password is set). */
  env: NodeJS.ProcessEnv;
  /** Shell command that starts the server again with the same config (it daemonizes). */
  startCommand: string;
  /** Run redis-cli with the given arguments; returns trimmed stdout, throws on connection failure or an error reply. */
  cli(...args: string[]): string;
  /** Total keys over all databases, from INFO keyspace. */
  keyCount(): number;
  isRunning(): boolean;
  start(): void;
  /** SHUTDOWN NOSAVE (the data on disk stays as it is), then wait for the process to exit. */
  stop(): void;
  /** Stop (kill if needed) and remove the temp dir. */
  destroy(): void;
}

export interface RedisOptions {
  appendonly?: boolean;
  /** Sets requirepass; clients get it through REDISCLI_AUTH, never argv. */
  password?: string;
  extraConf?: string[];
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const baseDir = mkdtempSync(join(tmpdir(), "lazarus-redis-"));
  const dir = join(baseDir, "data");
  const confFile = join(baseDir, "redis.conf");
  const logFile = join(baseDir, "redis.log");
  const pidFile = join(baseDir, "redis.pid");
  const port = await freePort();
  const host = "127.0.0.1";
  spawnSync("mkdir", ["-p", dir]);
  writeFileSync(
    confFile,
    [
      `port ${port}`,
      `bind ${host}`,
      "protected-mode yes",
      `dir ${dir}`,
      "dbfilename dump.rdb",
      `appendonly ${options.appendonly === false ? "no" : "yes"}`,
      "appendfsync everysec",
      'save ""',
      "daemonize yes",
      `pidfile ${pidFile}`,
      `logfile ${logFile}`,
      ...(options.password ? [`requirepass ${options.password}`] : []),
      ...(options.extraConf ?? []),
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  const env: NodeJS.ProcessEnv = {
    REDIS_HOST: host,
    REDIS_PORT: String(port),
    ...(options.password ? { REDISCLI_AUTH: options.password } : {}),
  };
  const cliRaw = (args: string[]) =>
    spawnSync("redis-cli", ["-h", host, "-p", String(port), "--no-auth-warning", ...args], {
      env: { ...process.env, ...env },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
  const readPid = (): number | undefined => {
    if (!existsSync(pidFile)) return undefined;
    const n = Number(readFileSync(pidFile, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };

  const server: RedisServer = {
    host,
    port,
    dir,
    baseDir,
    confFile,
    logFile,
    pidFile,
    env,
    startCommand: `redis-server ${confFile}`,
    cli(...args) {
      const r = cliRaw(args);
      const out = (r.stdout ?? "").trim();
      if (r.status !== 0 || /^(ERR|WRONGTYPE|NOAUTH|LOADING|MISCONF)\b/.test(out)) {
        throw new Error(`redis-cli ${args.join(" ")} failed (${r.status}): ${out} ${r.stderr ?? ""}`);
      }
      return out;
    },
    keyCount() {
      const info = server.cli("INFO", "keyspace");
      let total = 0;
      for (const m of info.matchAll(/^db\d+:keys=(\d+)/gm)) total += Number(m[1]);
      return total;
    },
    isRunning() {
      const r = cliRaw(["PING"]);
      return r.status === 0 && /PONG|NOAUTH/.test(r.stdout ?? "");
    },
    start() {
      const r = spawnSync("redis-server", [confFile], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`redis-server failed to start: ${r.stderr}${r.stdout}`);
      for (let i = 0; i < 200; i++) {
        const p = cliRaw(["PING"]);
        if (p.status === 0 && (p.stdout ?? "").trim() === "PONG") return;
        sleepMs(50);
      }
      throw new Error(`redis-server did not answer PING within 10 s; log:\n${readFileSync(logFile, "utf8")}`);
    },
    stop() {
      const pid = readPid();
      if (server.isRunning()) cliRaw(["SHUTDOWN", "NOSAVE"]);
      if (pid === undefined) return;
      for (let i = 0; i < 200 && pidAlive(pid); i++) sleepMs(50);
      if (pidAlive(pid)) process.kill(pid, "SIGKILL");
    },
    destroy() {
      try {
        server.stop();
      } catch {
        const pid = readPid();
        if (pid !== undefined && pidAlive(pid)) process.kill(pid, "SIGKILL");
      }
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
  server.start();
  return server;
}
