// Waqiti's backup job script (scripts/backup/waqiti-backup.sh, run by the CronJob) and restore script
// (waqiti-restore.sh, run by the recovery Job and Redis's init container), for real: PostgreSQL 15 and Redis on
// loopback, the real openssl, s3cmd against the S3 stub (test/support/s3Stub.ts). What comes out is read back with the
// seed's OWN commands (`openssl enc -aes-256-cbc -d ... -pass file:KEY`, `gunzip`, `psql -d waqiti < file`), and the
// Redis restore is proven against a real redis-server: the restored key survives a restart, where the seed's copy into
// a running Redis is overwritten by Redis's own save at shutdown.
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { startRedis, type RedisServer } from "../../support/redis";
import { startS3Stub, type S3Stub } from "../../support/s3Stub";
import { scriptRun, type ScriptRun } from "../../support/scriptRun";

const SCRIPTS = join(__dirname, "..", "..", "..", "scripts", "backup");
const BUCKET = "waqiti-backups-prod";

let pg: PostgresServer;
let target: PostgresServer;
let redis: RedisServer;
let s3: S3Stub;
/** The S3 stub's key pair: it verifies every request's signature with the secret. */
const S3_KEY = { accessKey: "AKIAWAQITITEST", secretKey: "test-secret-key" };
let work: string;
let keyFile: string;

function s3env(): NodeJS.ProcessEnv {
  return { S3_URL: `s3://${BUCKET}/`, S3_ENDPOINT: s3.endpoint, S3_NO_SSL: "1", AWS_ACCESS_KEY_ID: S3_KEY.accessKey, AWS_SECRET_ACCESS_KEY: S3_KEY.secretKey };
}

/** Runs a script without blocking the event loop: the S3 stub answers from this process. */
function run(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(SCRIPTS, script), args, { env: { PATH: process.env.PATH, WORK_DIR: work, BACKUP_KEY_FILE: keyFile, ...s3env(), ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve(scriptRun({ status, stdout, stderr } as SpawnSyncReturns<string>)));
  });
}

const backup = (args: string[] = []) => run("waqiti-backup.sh", args, { ...pg.env, PGDATABASE: "waqiti", REDIS_HOST: redis.host, REDIS_PORT: String(redis.port) });

/** The seed's decrypt command, exactly as runbook 002 writes it (step 3.4 and 4.3). */
function seedDecrypt(encrypted: Buffer, out: string): void {
  const input = join(work, `seed-${randomBytes(4).toString("hex")}.enc`);
  writeFileSync(input, encrypted);
  const r = spawnSync("openssl", ["enc", "-aes-256-cbc", "-d", "-in", input, "-out", out, "-pass", `file:${keyFile}`], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
}

const objectKeys = () => [...s3.objects.keys()].map((k) => k.slice(BUCKET.length + 2));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "lazarus-waqiti-backup-"));
  keyFile = join(work, "backup-encryption.key");
  writeFileSync(keyFile, randomBytes(32).toString("base64") + "\n", { mode: 0o600 });
  [pg, target, redis, s3] = await Promise.all([startPostgres(), startPostgres(), startRedis({ appendonly: false }), startS3Stub(S3_KEY)]);
  pg.sql("CREATE DATABASE waqiti");
  pg.sql(
    [
      "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL)",
      "CREATE TABLE wallets (id bigserial PRIMARY KEY, user_id bigint REFERENCES users, balance numeric(18,2) NOT NULL)",
      "CREATE TABLE transactions (id bigserial PRIMARY KEY, wallet_id bigint REFERENCES wallets, amount numeric(18,2), at timestamptz DEFAULT now())",
      "INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 1200) g",
      "INSERT INTO wallets (user_id, balance) SELECT id, id * 1.5 FROM users",
      "INSERT INTO transactions (wallet_id, amount) SELECT 1 + (g % 1200), g FROM generate_series(1, 5000) g",
    ].join("; "),
    "waqiti",
  );
  target.sql("CREATE DATABASE waqiti");
  redis.cli("SET", "session:alice", "restored-value");
  redis.cli("SET", "idempotency:tx-1", "done");
});

afterAll(async () => {
  pg?.destroy();
  target?.destroy();
  redis?.destroy();
  await s3?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the Waqiti backup job", () => {
  let first: ScriptRun;
  beforeAll(async () => {
    first = await backup();
  });

  it("uploads the PostgreSQL dump, the Redis snapshot and then a manifest with the counts of the seed's verification tables", () => {
    expect(first.code, first.stderr).toBe(0);
    const keys = objectKeys();
    expect(keys.filter((k) => k.startsWith("postgresql/"))).toEqual([expect.stringMatching(/^postgresql\/waqiti-postgresql-\d{8}T\d{6}Z\.sql\.gz\.enc$/)]);
    expect(keys.filter((k) => k.startsWith("redis/"))).toEqual([expect.stringMatching(/^redis\/waqiti-redis-\d{8}T\d{6}Z\.rdb\.enc$/)]);
    const manifestKey = keys.find((k) => k.startsWith("manifests/"))!;
    const manifest = JSON.parse(s3.objects.get(`/${BUCKET}/${manifestKey}`)!.toString());
    expect(manifest.postgres.counts).toEqual({ users: 1200, transactions: 5000, wallets: 1200 });
    expect(manifest.redis.keys).toBe(2);
    // The manifest comes last: its presence means both dumps are in the bucket.
    const puts = s3.requests.filter((r) => r.method === "PUT").map((r) => r.path.split("/")[2]);
    expect(puts).toEqual(["postgresql", "redis", "manifests"]);
  });

  it("names objects so the seed's `grep postgresql | sort | tail -1` and `grep redis` each find only their own dump", () => {
    expect(objectKeys().filter((k) => k.includes("postgresql"))).toHaveLength(1);
    expect(objectKeys().filter((k) => k.includes("redis"))).toHaveLength(1);
    expect(objectKeys().filter((k) => k.includes("postgresql"))[0]).toMatch(/^postgresql\//);
  });

  it("is read by the seed's own decrypt, gunzip and psql commands, with every row back", () => {
    const key = objectKeys().find((k) => k.startsWith("postgresql/"))!;
    const gz = join(work, "waqiti-restore.sql.gz");
    seedDecrypt(s3.objects.get(`/${BUCKET}/${key}`)!, gz);
    expect(spawnSync("gunzip", [gz]).status).toBe(0);
    pg.sql("CREATE DATABASE seed_restore");
    const psql = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "seed_restore", "-f", join(work, "waqiti-restore.sql")], { env: { ...process.env, ...pg.env }, encoding: "utf8" });
    expect(psql.status, psql.stderr).toBe(0);
    for (const [t, n] of Object.entries({ users: 1200, transactions: 5000, wallets: 1200 })) expect(Number(pg.sql(`SELECT COUNT(*) FROM ${t}`, "seed_restore"))).toBe(n);
    expect(pg.sql("SELECT sum(balance) FROM wallets", "seed_restore")).toBe(pg.sql("SELECT sum(balance) FROM wallets", "waqiti"));
  });

  it("gives a Redis snapshot that the seed's decrypt turns into an RDB redis-check-rdb accepts", () => {
    const key = objectKeys().find((k) => k.startsWith("redis/"))!;
    const rdb = join(work, "redis-dump.rdb");
    seedDecrypt(s3.objects.get(`/${BUCKET}/${key}`)!, rdb);
    const check = spawnSync("redis-check-rdb", [rdb], { encoding: "utf8" });
    expect(check.status, check.stdout).toBe(0);
  });

  it("reports an upload the bucket refuses as 75 and writes no manifest, so the restore never takes it for complete", async () => {
    const before = objectKeys().filter((k) => k.startsWith("manifests/")).length;
    const r = await run("waqiti-backup.sh", [], { ...pg.env, PGDATABASE: "waqiti", REDIS_HOST: redis.host, REDIS_PORT: String(redis.port), S3_URL: "s3://denied/" });
    expect(r.code).toBe(75);
    expect(String(r.result.error)).toMatch(/no manifest written/);
    expect(objectKeys().filter((k) => k.startsWith("manifests/")).length).toBe(before);
  });

  it("fails with 69, naming the server, when PostgreSQL is unreachable", async () => {
    const r = await run("waqiti-backup.sh", ["--postgres-only"], { PGHOST: "127.0.0.1", PGPORT: "1", PGDATABASE: "waqiti" });
    expect(r.code).toBe(69);
    expect(r.result).toMatchObject({ status: "error", exit_code: 69 });
    expect(String(r.result.error)).toContain("127.0.0.1:1");
  });
});

describe("the Waqiti restore (PostgreSQL)", () => {
  it("restores the latest backup into the new empty database, checks the recorded counts and leaves a completion proof", async () => {
    const r = await run("waqiti-restore.sh", ["postgres", "--backup", "latest"], { ...target.env, PGDATABASE: "waqiti" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", restored: true, counts: { users: 1200, transactions: 5000, wallets: 1200 } });
    expect(target.sql("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'waqiti'")).toMatch(/^lazarus-restore-complete \{"backup":"postgresql\//);
  });

  it("runs a second time as a no-op (the Job may be retried) and refuses a database that holds other data", async () => {
    const again = await run("waqiti-restore.sh", ["postgres", "--backup", "latest"], { ...target.env, PGDATABASE: "waqiti" });
    expect(again.code, again.stderr).toBe(0);
    expect(again.result.restored).toBe(false);
    const live = await run("waqiti-restore.sh", ["postgres", "--backup", "latest"], { ...pg.env, PGDATABASE: "waqiti" });
    expect(live.code).toBe(65);
    expect(String(live.result.error)).toMatch(/already holds 3 tables/);
  });

  it("refuses the wrong key (65) and a damaged object (65), and reports a missing backup as 66", async () => {
    target.sql("CREATE DATABASE other");
    const wrongKey = join(work, "wrong.key");
    writeFileSync(wrongKey, randomBytes(32).toString("base64"));
    const wrong = await run("waqiti-restore.sh", ["postgres", "--backup", "latest"], { ...target.env, PGDATABASE: "other", BACKUP_KEY_FILE: wrongKey });
    expect(wrong.code, wrong.stderr).toBe(65);
    const key = objectKeys().find((k) => k.startsWith("postgresql/"))!;
    const saved = s3.objects.get(`/${BUCKET}/${key}`)!;
    s3.objects.set(`/${BUCKET}/${key}`, Buffer.concat([saved.subarray(0, saved.length - 16), randomBytes(16)]));
    const damaged = await run("waqiti-restore.sh", ["postgres", "--backup", key], { ...target.env, PGDATABASE: "other" });
    s3.objects.set(`/${BUCKET}/${key}`, saved);
    expect(damaged.code).toBe(65);
    expect(String(damaged.result.error)).toMatch(/sha256/);
    const missing = await run("waqiti-restore.sh", ["postgres", "--backup", "postgresql/waqiti-postgresql-20200101T000000Z.sql.gz.enc"], { ...target.env, PGDATABASE: "other" });
    expect(missing.code).toBe(66);
    expect(Number(target.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", "other"))).toBe(0);
  });
});

describe("the Waqiti Redis restore, while Redis is stopped", () => {
  it("the seed's way loses the restore: dump.rdb copied into a running Redis is overwritten by its save at shutdown", async () => {
    const live = await startRedis({ appendonly: false, extraConf: ["save 3600 1"] });
    try {
      live.cli("SET", "live:only", "1");
      const rdb = join(work, "seed-redis-dump.rdb");
      seedDecrypt(s3.objects.get(`/${BUCKET}/${objectKeys().find((k) => k.startsWith("redis/"))!}`)!, rdb);
      writeFileSync(join(live.dir, "dump.rdb"), readFileSync(rdb)); // kubectl cp ... redis-0:/data/dump.rdb
      live.cli("SHUTDOWN"); // kubectl delete pod redis-0: SIGTERM, and Redis saves its dataset on the way down
      live.start();
      expect(live.cli("GET", "session:alice")).toBe("");
      expect(live.cli("GET", "live:only")).toBe("1");
    } finally {
      live.destroy();
    }
  });

  it("our init container's step restores it; the key survives a restart and a second pod start leaves the data alone", async () => {
    const live = await startRedis({ appendonly: false, extraConf: ["save 3600 1"] });
    try {
      live.cli("SET", "live:only", "1");
      live.cli("SHUTDOWN"); // the pod is stopped first (the StatefulSet rolls it), saving as Redis does
      const r = await run("waqiti-restore.sh", ["redis", "--backup", "latest", "--data-dir", live.dir, "--label", "r1"], {});
      expect(r.code, r.stderr).toBe(0);
      expect(r.result).toMatchObject({ restored: true, keys_at_backup: 2 });
      expect(existsSync(join(live.dir, "dump.rdb.before-r1"))).toBe(true);
      live.start();
      expect(live.cli("GET", "session:alice")).toBe("restored-value");
      expect(live.cli("GET", "live:only")).toBe("");
      live.cli("SET", "after:restore", "kept");
      live.cli("SHUTDOWN");
      const again = await run("waqiti-restore.sh", ["redis", "--backup", "latest", "--data-dir", live.dir, "--label", "r1"], {});
      expect(again.code).toBe(0);
      expect(again.result.restored).toBe(false);
      live.start();
      expect(live.cli("GET", "session:alice")).toBe("restored-value");
      expect(live.cli("GET", "after:restore")).toBe("kept");
    } finally {
      live.destroy();
    }
  });
});
