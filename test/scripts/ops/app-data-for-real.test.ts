// scripts/ops/app-data.sh for real, over a real SSH login on loopback: a real PostgreSQL 15 (SCRAM passwords) and a
// real Redis (password set), reached only through the app's .env as Bunty's plan renders it (buntyEnvFile), with
// passwords that need URL encoding and quoting. Every runbook operation it carries out is checked by its effect on the
// server: keys gone from one Redis database only, a session terminated, statistics written, a backup file, a migration
// applied after its backup or rolled back whole.
// Stand-in limits: the scripts run as the test's user, not the host's root; the server is PostgreSQL 15 (the host's is
// the distribution's or a managed cluster's); no TLS to PostgreSQL (a managed cluster's sslmode=require is parsed, but
// only the plain connection is exercised).
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buntyDatabaseUrl, buntyEnvFile } from "../../../stacks/bunty/plan";
import { PG_BIN, startPostgres, type PostgresServer } from "../../support/postgres";
import { startRedis, type RedisServer } from "../../support/redis";
import { startSshd, type SshServer } from "../../support/sshd";
import { REPO, parseResult } from "../../support/testHost";

const DB_PASSWORD = "p@ss w:rd/#?%";
const REDIS_PASSWORD = "r3d#is$pass!"; // single-quoted in the .env (the harness's redis.conf cannot hold a quote or a space)
let pg: PostgresServer;
let redis: RedisServer;
let ssh: SshServer;
let root: string;
let envFile: string;
let backupDir: string;

const quote = (w: string) => `'${w.replace(/'/g, "'\\''")}'`;
const appData = async (args: string[]) => {
  const r = await ssh.sshExec(["bash", join(REPO, "scripts/ops/app-data.sh"), "--env-file", envFile, ...args].map(quote).join(" "), {
    env: { PATH: `${PG_BIN}:/usr/local/bin:/usr/bin:/bin` },
    timeoutMs: 120_000,
  });
  return { ...r, json: parseResult(r.stdout) };
};
// As the app's role: the tables are the app's, as on the host (a superuser's table is not the app's to dump or migrate).
const bunty = (sql: string) => pg.sql(`SET ROLE bunty; ${sql}`, "bunty_prod").replace(/^SET\n?/, "");

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "lazarus-app-data-"));
  chmodSync(root, 0o755);
  pg = await startPostgres({ password: "superuser-secret" });
  pg.sql(`CREATE ROLE bunty LOGIN PASSWORD '${DB_PASSWORD.replace(/'/g, "''")}'`);
  pg.sql("CREATE DATABASE bunty_prod OWNER bunty");
  pg.sql("CREATE DATABASE other OWNER bunty");
  redis = await startRedis({ password: REDIS_PASSWORD, appendonly: false });
  envFile = join(root, ".env");
  const databaseUrl = buntyDatabaseUrl({ host: "127.0.0.1", port: pg.port, name: "bunty_prod", user: "bunty", password: DB_PASSWORD, tls: false });
  const env = buntyEnvFile({ NODE_ENV: "production", PORT: "3000" }, {
    databaseUrl, redisPassword: REDIS_PASSWORD, jwtSecret: "j", plaidClientId: "p", plaidSecret: "p", stripeSecretKey: "s", stripeWebhookSecret: "w", silaPrivateKey: "k",
  });
  // The plan's Redis is on 6379; this one is on a free port.
  writeFileSync(envFile, env.replace("redis://127.0.0.1:6379", `redis://127.0.0.1:${redis.port}`), { mode: 0o600 });
  backupDir = join(root, "backups");
  ssh = await startSshd();
}, 120_000);

afterAll(async () => {
  await ssh?.stop();
  redis?.destroy();
  pg?.destroy();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("app-data.sh against real servers, over SSH, from the app's .env", () => {
  it("the .env holds the passwords encoded and quoted (what the script must read back)", () => {
    const text = readFileSync(envFile, "utf8");
    expect(text).toContain("DATABASE_URL=postgresql://bunty:p%40ss%20w%3Ard%2F%23%3F%25@");
    expect(text).toContain(`REDIS_PASSWORD='r3d#is$pass!'`);
  });

  it("flush-cache empties the app's Redis database only, and reports the keys it dropped", async () => {
    for (let i = 0; i < 5; i++) redis.cli("SET", `session:${i}`, "x");
    redis.cli("-n", "1", "SET", "elsewhere", "kept");
    const r = await appData(["flush-cache"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ status: "ok", db: 0, keys_before: 5, keys_after: 0 });
    expect(redis.cli("DBSIZE")).toBe("0");
    expect(redis.cli("-n", "1", "GET", "elsewhere")).toBe("kept");
  });

  it("flush-cache with a wrong password is refused by Redis (69), nothing flushed", async () => {
    redis.cli("SET", "stays", "1");
    const good = readFileSync(envFile, "utf8");
    writeFileSync(envFile, good.replace(`REDIS_PASSWORD='r3d#is$pass!'`, "REDIS_PASSWORD=wrong"));
    try {
      const r = await appData(["flush-cache"]);
      expect(r.code).toBe(69);
      expect(redis.cli("GET", "stays")).toBe("1");
    } finally {
      writeFileSync(envFile, good);
    }
  });

  it("terminate ends the named session of the app's database, refuses a pid that is not one (66)", async () => {
    const sleeper = spawn(join(PG_BIN, "psql"), ["-X", "-At", "-c", "SELECT pg_sleep(60)"], {
      env: { ...process.env, PGHOST: "127.0.0.1", PGPORT: String(pg.port), PGUSER: "bunty", PGPASSWORD: DB_PASSWORD, PGDATABASE: "bunty_prod" },
      stdio: "ignore",
    });
    const other = spawn(join(PG_BIN, "psql"), ["-X", "-At", "-c", "SELECT pg_sleep(60)"], {
      env: { ...process.env, PGHOST: "127.0.0.1", PGPORT: String(pg.port), PGUSER: "bunty", PGPASSWORD: DB_PASSWORD, PGDATABASE: "other" },
      stdio: "ignore",
    });
    try {
      const pidOf = (db: string) => pg.sql(`SELECT pid FROM pg_stat_activity WHERE datname = '${db}' AND query LIKE 'SELECT pg_sleep%'`);
      await expect.poll(() => pidOf("bunty_prod"), { timeout: 10_000 }).toMatch(/^\d+$/);
      await expect.poll(() => pidOf("other"), { timeout: 10_000 }).toMatch(/^\d+$/);
      const otherPid = pidOf("other");
      const refused = await appData(["terminate", otherPid]);
      expect(refused.code).toBe(66);
      expect(pidOf("other")).toBe(otherPid);
      const pid = pidOf("bunty_prod");
      const r = await appData(["terminate", pid]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ status: "ok", database: "bunty_prod", pid: Number(pid) });
      await expect.poll(() => pidOf("bunty_prod"), { timeout: 10_000 }).toBe("");
    } finally {
      sleeper.kill();
      other.kill();
    }
  });

  it("analyze, vacuum-analyze and reindex run on the app's database", async () => {
    bunty("CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE); INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 1000) g");
    const analyze = await appData(["analyze"]);
    expect(analyze.code, analyze.stderr).toBe(0);
    expect(bunty("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'users'")).toBe("t");
    const vacuum = await appData(["vacuum-analyze"]);
    expect(vacuum.code, vacuum.stderr).toBe(0);
    expect(bunty("SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'users'")).toBe("t");
    const before = bunty("SELECT relfilenode FROM pg_class WHERE relname = 'users_email_key'");
    const reindex = await appData(["reindex"]);
    expect(reindex.code, reindex.stderr).toBe(0);
    expect(reindex.json).toMatchObject({ statement: "REINDEX DATABASE bunty_prod" });
    // A rebuilt index gets a new file.
    expect(bunty("SELECT relfilenode FROM pg_class WHERE relname = 'users_email_key'")).not.toBe(before);
  });

  it("backup writes a checksummed archive of the app's database", async () => {
    const r = await appData(["--backup-dir", backupDir, "--backup-prefix", "bunty", "backup"]);
    expect(r.code, r.stderr).toBe(0);
    const backup = r.json.backup as { file: string; database: string; sha256: string };
    expect(backup).toMatchObject({ database: "bunty_prod" });
    expect(existsSync(backup.file)).toBe(true);
    expect(existsSync(join(backupDir, "latest"))).toBe(true);
  });

  it("backup with --plain-copy also writes the runbook's bunty-latest.sql.gz, which its own Data Recovery line restores", async () => {
    const r = await appData(["--backup-dir", backupDir, "--backup-prefix", "bunty", "--plain-copy", "bunty-latest.sql.gz", "backup"]);
    expect(r.code, r.stderr).toBe(0);
    const plain = join(backupDir, "bunty-latest.sql.gz");
    expect(r.json.plain_copy).toMatchObject({ file: plain });
    pg.sql("CREATE DATABASE seed_route OWNER bunty");
    // The runbook's line, as written: gunzip < /var/backups/bunty/bunty-latest.sql.gz | psql "$DATABASE_URL"
    const seed = spawnSync("bash", ["-c", `gunzip < '${plain}' | psql -X -q -v ON_ERROR_STOP=1 "$URL"`], {
      env: { ...process.env, PATH: `${PG_BIN}:${process.env.PATH}`, URL: buntyDatabaseUrl({ host: "127.0.0.1", port: pg.port, name: "seed_route", user: "bunty", password: DB_PASSWORD, tls: false }) },
      encoding: "utf8",
    });
    expect(seed.status, seed.stderr).toBe(0);
    expect(pg.sql("SELECT count(*) FROM users", "seed_route")).toBe(bunty("SELECT count(*) FROM users"));
  });

  it("verify restores the latest backup into a temporary database and compares it with the live one", async () => {
    // pg-verify.sh creates (and drops) a temporary database: the app's role needs CREATEDB for the weekly check.
    pg.sql("ALTER ROLE bunty CREATEDB");
    const r = await appData(["--backup-dir", backupDir, "verify"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verify).toMatchObject({ status: "ok", database: "bunty_prod" });
    const dbs = pg.sql("SELECT string_agg(datname, ',') FROM pg_database");
    expect(dbs).not.toMatch(/verify/);
  });

  it("verify fails (65) when the live database no longer matches the backup", async () => {
    bunty("INSERT INTO users (email) VALUES ('after-the-backup')");
    const r = await appData(["--backup-dir", backupDir, "verify"]);
    expect(r.code).toBe(65);
    expect(String(r.json.error)).toContain("did not verify");
    bunty("DELETE FROM users WHERE email = 'after-the-backup'");
  });

  it("restore-beside restores the latest backup into a new database as the app's role, the live one untouched; swap-in cuts over", async () => {
    // The app's role owns its database and has CREATEDB (pg-host-setup.sh --createdb): no superuser anywhere.
    pg.sql("ALTER ROLE bunty CREATEDB");
    const backup = await appData(["--backup-dir", backupDir, "--backup-prefix", "bunty", "backup"]);
    expect(backup.code, backup.stderr).toBe(0);
    const rows = bunty("SELECT count(*) FROM users");
    bunty("INSERT INTO users (email) VALUES ('written-after-the-backup')");
    const beside = await appData(["--backup-dir", backupDir, "restore-beside", "latest"]);
    expect(beside.code, beside.stderr).toBe(0);
    const restored = String((beside.json.restore as { restored_database: string }).restored_database);
    expect(restored).toMatch(/^bunty_prod_restore_\d{14}$/);
    expect(pg.sql("SELECT count(*) FROM users", restored)).toBe(rows);
    expect(bunty("SELECT count(*) FROM users WHERE email = 'written-after-the-backup'")).toBe("1");
    const swap = await appData(["swap-in", restored]);
    expect(swap.code, swap.stderr).toBe(0);
    expect(bunty("SELECT count(*) FROM users")).toBe(rows);
    const previous = String((swap.json.restore as { previous_database: string }).previous_database);
    expect(pg.sql("SELECT count(*) FROM users WHERE email = 'written-after-the-backup'", previous)).toBe("1");
  });

  it("migrate takes a backup first, then applies the file in one transaction", async () => {
    const file = join(root, "001.sql");
    writeFileSync(file, "CREATE TABLE proofs (id serial PRIMARY KEY, user_id int REFERENCES users(id));\nALTER TABLE users ADD COLUMN verified boolean DEFAULT false;\n");
    const r = await appData(["--backup-dir", backupDir, "--backup-prefix", "bunty", "migrate", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.tables).toEqual(["public.proofs", "public.users"]);
    expect(existsSync((r.json.backup as { file: string }).file)).toBe(true);
    expect(bunty("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'verified'")).toBe("1");
  });

  it("a failing migration changes nothing (70), and its backup is there", async () => {
    const file = join(root, "002.sql");
    writeFileSync(file, "CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n");
    const r = await appData(["--backup-dir", backupDir, "--backup-prefix", "bunty", "migrate", file]);
    expect(r.code).toBe(70);
    expect(String(r.json.error)).toContain("rolled back");
    expect(bunty("SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'")).toBe("0");
  });

  it("no backup, no migration: a backup directory that cannot be written stops it before the file runs", async () => {
    const blocked = join(root, "not-a-dir");
    writeFileSync(blocked, "a file where the backup directory should be");
    const file = join(root, "003.sql");
    writeFileSync(file, "CREATE TABLE must_not_exist (id int);\n");
    const r = await appData(["--backup-dir", blocked, "migrate", file]);
    expect(r.code).not.toBe(0);
    expect(String(r.json.error)).toContain("nothing else was done");
    expect(bunty("SELECT count(*) FROM pg_tables WHERE tablename = 'must_not_exist'")).toBe("0");
  });

  it("a DATABASE_URL it cannot read is refused with 65 before connecting", async () => {
    const bad = join(root, "bad.env");
    writeFileSync(bad, "DATABASE_URL=mysql://x@y/z\n", { mode: 0o600 });
    const r = await ssh.sshExec(["bash", join(REPO, "scripts/ops/app-data.sh"), "--env-file", bad, "analyze"].map(quote).join(" "));
    expect(r.code).toBe(65);
    expect(parseResult(r.stdout).error).toContain("is not postgresql://");
  });
});
