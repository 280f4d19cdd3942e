// Waqiti's backup job (scripts/backup/waqiti-backup.sh) stopped the way Kubernetes stops it: SIGTERM to the container's
// PID 1 at activeDeadlineSeconds, then SIGKILL after the grace period. Real PostgreSQL 15 and Redis on loopback, the
// real pg_dump, openssl and s3cmd, against the S3 stub (test/support/s3Stub.ts) behind a proxy here that can hold the
// Redis upload in flight. The dump is made to wait, reliably, on a lock another session holds on a table it must read.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { startRedis, type RedisServer } from "../../support/redis";
import { startS3Stub, type S3Stub } from "../../support/s3Stub";

const SCRIPT = join(__dirname, "..", "..", "..", "scripts", "backup", "waqiti-backup.sh");
const BUCKET = "waqiti-backups-prod";

let pg: PostgresServer;
let redis: RedisServer;
let s3: S3Stub;
/** The S3 stub's key pair: it verifies every request's signature with the secret. */
const S3_KEY = { accessKey: "AKIAWAQITITEST", secretKey: "test-secret-key" };
let proxy: Server;
let proxyEndpoint: string;
let work: string;
let keyFile: string;
/** While set, PUTs of redis/ objects wait at the proxy until it resolves (and are dropped if the client went away). */
let holdRedis: { release: () => void; reached: Promise<void>; gate: Promise<void> } | undefined;

function hold(): NonNullable<typeof holdRedis> {
  let release!: () => void;
  let reachedResolve!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const reached = new Promise<void>((r) => (reachedResolve = r));
  holdRedis = { release, reached, gate };
  (holdRedis as unknown as { reach: () => void }).reach = reachedResolve;
  return holdRedis;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bucketKeys = () => [...s3.objects.keys()].map((k) => k.slice(BUCKET.length + 2));
const scratchLeft = () => readdirSync(work).filter((f) => f.startsWith("waqiti-backup.") || f.startsWith("s3cfg."));

interface Started {
  child: ChildProcessWithoutNullStreams;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function startBackup(env: NodeJS.ProcessEnv): Started {
  const child = spawn(SCRIPT, [], {
    env: {
      PATH: process.env.PATH, WORK_DIR: work, BACKUP_KEY_FILE: keyFile, S3_URL: `s3://${BUCKET}/`, S3_ENDPOINT: proxyEndpoint, S3_NO_SSL: "1",
      AWS_ACCESS_KEY_ID: S3_KEY.accessKey, AWS_SECRET_ACCESS_KEY: S3_KEY.secretKey, ...pg.env, REDIS_HOST: redis.host, REDIS_PORT: String(redis.port), ...env,
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  // "exit", not "close": after a kill -9, an orphaned child (s3cmd) keeps the pipes open. The output still in the
  // pipes is read for up to half a second more.
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code, signal) => {
      const finish = () => resolve({ code, signal, stdout, stderr });
      const t = setTimeout(finish, 500);
      child.on("close", () => (clearTimeout(t), finish()));
    }),
  );
  return { child, done };
}

/** Resolves with the run's end, or "timeout" if it has not ended within ms. */
const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, sleep(ms).then(() => "timeout" as const)]);

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The processes whose command line contains every word (read-only: the test kills nothing by name). */
function processesWith(...words: string[]): string[] {
  const ps = spawnSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).stdout;
  return ps.split("\n").filter((l) => words.every((w) => l.includes(w)) && !l.includes("ps -eo"));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "lazarus-waqiti-faults-"));
  keyFile = join(work, "backup-encryption.key");
  writeFileSync(keyFile, randomBytes(32).toString("base64") + "\n", { mode: 0o600 });
  [pg, redis, s3] = await Promise.all([startPostgres(), startRedis({ appendonly: false }), startS3Stub(S3_KEY)]);
  const target = new URL(`http://${s3.endpoint}`);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      let gone = false;
      res.on("close", () => (gone = !res.writableFinished));
      if (holdRedis && req.method === "PUT" && (req.url ?? "").includes("/redis/")) {
        (holdRedis as unknown as { reach: () => void }).reach();
        await holdRedis.gate;
        if (gone || req.socket.destroyed) return; // the client died while held: nothing reaches the bucket
      }
      const fwd = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      fwd.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const addr = proxy.address();
  proxyEndpoint = `127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  pg.sql("CREATE DATABASE waqiti");
  pg.sql(
    [
      "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL)",
      "CREATE TABLE ledger_archive (id bigint)",
      "INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 200) g",
    ].join("; "),
    "waqiti",
  );
  redis.cli("SET", "session:alice", "v");
});

afterAll(async () => {
  holdRedis?.release();
  pg?.destroy();
  redis?.destroy();
  await s3?.close();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the Waqiti backup job stopped at its deadline", { timeout: 60_000 }, () => {
  it("SIGTERM while pg_dump waits: exits at once with one JSON result line (143), pg_dump ended, no object, no manifest, no scratch file", async () => {
    // Another session holds ACCESS EXCLUSIVE on a table the dump must read (not a verification table, so the counts
    // pass): pg_dump waits on the lock for as long as it is held, so it is certainly running when the signal comes.
    const locker = spawn("psql", ["-X", "-q", "-d", "waqiti"], { env: { ...process.env, ...pg.env } });
    locker.stdin.write("BEGIN; LOCK TABLE ledger_archive IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n");
    await new Promise<void>((r) => locker.stdout.on("data", (d: Buffer) => d.toString().includes("locked") && r()));
    const run = startBackup({ PGDATABASE: "waqiti", VERIFY_TABLES: "users" });
    try {
      await until("pg_dump to wait on the lock", () => pg.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'") !== "0");
      const t0 = Date.now();
      run.child.kill("SIGTERM");
      const end = await within(run.done, 5_000);
      expect(end, "the script outlived SIGTERM by 5 s: the trap waited for pg_dump").not.toBe("timeout");
      const seconds = (Date.now() - t0) / 1000;
      if (end === "timeout") return;
      console.log(`waqiti-backup.sh ended ${seconds.toFixed(2)} s after SIGTERM during pg_dump`);
      expect(seconds).toBeLessThan(2);
      expect(end.code, end.stderr).toBe(143);
      const lines = end.stdout.trim().split("\n").filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0])).toMatchObject({ script: "waqiti-backup.sh", status: "error", exit_code: 143 });
      expect(processesWith("pg_dump", "--snapshot=")).toEqual([]);
      expect(bucketKeys()).toEqual([]);
      expect(scratchLeft()).toEqual([]);
    } finally {
      locker.stdin.end("ROLLBACK;\n");
      await within(run.done, 20_000);
    }
  });

  it("SIGTERM during an upload: s3cmd ended, that object never stored, no manifest, one result line (143)", async () => {
    const h = hold();
    const run = startBackup({ PGDATABASE: "waqiti", VERIFY_TABLES: "users" });
    try {
      await h.reached;
      const t0 = Date.now();
      run.child.kill("SIGTERM");
      const end = await within(run.done, 5_000);
      expect(end, "the script outlived SIGTERM by 5 s: the trap waited for s3cmd").not.toBe("timeout");
      if (end === "timeout") return;
      console.log(`waqiti-backup.sh ended ${((Date.now() - t0) / 1000).toFixed(2)} s after SIGTERM during the upload`);
      expect(end.code, end.stderr).toBe(143);
      expect(end.stdout.trim().split("\n").filter(Boolean)).toHaveLength(1);
      expect(JSON.parse(end.stdout.trim())).toMatchObject({ status: "error", exit_code: 143 });
      expect(processesWith("s3cmd", `--host=${proxyEndpoint}`)).toEqual([]);
      h.release();
      await sleep(1000);
      expect(bucketKeys().filter((k) => k.startsWith("redis/") || k.startsWith("manifests/"))).toEqual([]);
      expect(scratchLeft()).toEqual([]);
    } finally {
      holdRedis = undefined;
      h.release();
      await within(run.done, 20_000);
    }
  });

  it("kill -9 during the Redis upload: even when that upload completes later, no manifest is ever written", async () => {
    const h = hold();
    const before = bucketKeys().filter((k) => k.startsWith("manifests/")).length;
    const run = startBackup({ PGDATABASE: "waqiti", VERIFY_TABLES: "users" });
    try {
      await h.reached;
      run.child.kill("SIGKILL"); // the kubelet after the grace period: no trap runs, s3cmd is orphaned mid-upload
      const end = await run.done;
      expect(end.signal).toBe("SIGKILL");
      h.release(); // the orphaned s3cmd may still finish its PUT
      await sleep(2000);
      expect(bucketKeys().filter((k) => k.startsWith("postgresql/")).length).toBeGreaterThan(0);
      expect(bucketKeys().filter((k) => k.startsWith("manifests/")).length).toBe(before);
    } finally {
      holdRedis = undefined;
      h.release();
    }
  });
});
