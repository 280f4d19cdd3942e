// The command lines GoodGo's operations and recovery steps send to the host, run for real: a stand-in `docker` (test/support/fake-docker-exec)
// executes `docker compose exec -T [-e K=V] SERVICE ARGV...` as ARGV on this machine, with the service's environment
// as the container would have it, against real servers (PostgreSQL 15, Redis 7, s3cmd against the loopback S3 stub, test/support/s3Stub.ts).
// So the quoting through `sh -c`, the SQL, redis-cli's authentication, the off-site fetch and the full host recovery
// chain's backup steps (fetch, pg-restore.sh into a new database with cutover, Redis flush) and recovery.database's
// two runs (the restore beside, then swapIn's pg-restore.sh --swap-in of that copy), and its first step, archive-check
// (pitr-archive-check.sh: the new server of a host loss refused against the lost cluster's stanza), are what is tested.
// The stand-in first judges each exec against the stack's real rendered compose file (written where the commands `cd`)
// and the image facts, and refuses what Docker refuses: a program the image lacks, a service that is not there or not
// running. It cannot model the container's filesystem, network namespace or user switch (its header says how).
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ComposeTarget, composeExec, databaseRestoreSteps, fetchOffsiteCommand, flushRedisCommand, hostRecoverySteps, operationCommand, swapInCommand } from "../../../stacks/goodgo/commands";
import { goodgoStackInventory } from "../../../stacks/goodgo/inventory";
import { goodgoContainerSecretFiles } from "../../../stacks/goodgo/env";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { goodgo } from "../../../stacks/goodgo";
import { goodgoTestSecrets, planFor, rawStack } from "../../support/stacks";
import type { GoodgoConfig } from "../../../stacks/goodgo/config";
import { GOODGO_COMPOSE_FILE } from "../../../stacks/goodgo/inventory";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { startRedis, type RedisServer } from "../../support/redis";
import { startS3Stub, type S3Stub } from "../../support/s3Stub";
import { startPitrCluster, type PitrCluster } from "../../support/pgbackrest";
import { PG_BIN } from "../../support/postgres";
import { freePort } from "../../support/ports";

let tmp: string;
let bin: string;
let pg: PostgresServer;
let redis: RedisServer;
let s3: S3Stub;
const REDIS_PASSWORD = "redis-test-pw-" + Math.random().toString(36).slice(2);
/** The Spaces key pair of the container's s3cmd config: the S3 stub verifies every signature with it. */
const SPACES_KEY = { accessKey: "test-key-id", secretKey: "test-secret" };
/** The services whose servers this file provides (PostgreSQL, Redis, and pg-backup's tools against them and the S3 stub). */
const RUNNING = "postgres redis pg-backup";


/** Runs a host command with the stand-in docker first on PATH. Asynchronous: the S3 endpoint lives in this process. */
async function runOnHost(command: string, env: Record<string, string>): Promise<{ code: number | null; out: string; err: string; services: string[] }> {
  const log = join(tmp, `docker-${Math.random().toString(36).slice(2)}.log`);
  const child = spawn("timeout", ["60", "bash", "-c", command], { env: { PATH: `${bin}:${process.env.PATH}`, HOME: tmp, FAKE_DOCKER_LOG: log, FAKE_DOCKER_RUNNING: RUNNING, ...env } });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
  const services = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
  return { code, out, err, services };
}

const target = (): ComposeTarget => ({ dir: tmp, project: "goodgo" });
const cfg = { app: { deployDir: "", composeProject: "goodgo" } } as unknown as GoodgoConfig;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "lazarus-goodgo-cmds-"));
  bin = join(tmp, "bin");
  mkdirSync(bin);
  symlinkSync(join(__dirname, "../../support/fake-docker-exec"), join(bin, "docker"));
  // The compose file the stack renders, where the commands `cd` to: the stand-in reads services and images from it.
  const staging = await planFor("staging");
  writeFileSync(join(tmp, GOODGO_COMPOSE_FILE), staging.files.find((f) => f.path.endsWith(`/${GOODGO_COMPOSE_FILE}`))!.content!);
  // In the container redis-cli talks to its own server on 6379; here it is told the test server's port.
  writeFileSync(join(bin, "redis-cli"), `#!/bin/sh\nexec /usr/bin/redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"\n`);
  chmodSync(join(bin, "redis-cli"), 0o755);
  (cfg.app as { deployDir: string }).deployDir = tmp;
  pg = await startPostgres();
  pg.sql("CREATE DATABASE goodgo");
  pg.sql("CREATE DATABASE other");
  redis = await startRedis({ password: REDIS_PASSWORD });
  s3 = await startS3Stub(SPACES_KEY);
});

afterAll(async () => {
  pg?.destroy();
  redis?.destroy();
  await s3?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("terminate-long-queries, run against real PostgreSQL", () => {
  const postgresEnv = () => ({ PGHOST: pg.host, PGPORT: String(pg.port), POSTGRES_USER: pg.user, POSTGRES_DB: "goodgo" });

  it("terminates the application database's queries older than N minutes and nothing else", async () => {
    const sleeper = (db: string) => {
      const p = spawn("psql", ["-X", "-d", db, "-c", "SELECT pg_sleep(60)"], { env: { ...process.env, ...pg.env } });
      let err = "";
      p.stderr.on("data", (d) => (err += d));
      const done = new Promise<{ code: number | null; err: string }>((r) => p.on("exit", (code) => r({ code, err })));
      return { p, done };
    };
    const long = sleeper("goodgo");
    const elsewhere = sleeper("other");
    // Let both run for more than 0.02 minutes (1.2 s).
    for (let i = 0; i < 50 && Number(pg.sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND now() - query_start > interval '1.5 seconds'")) < 2; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const cmd = operationCommand({ id: "kill-1", action: "terminate-long-queries", olderThanMinutes: 0.02 }, cfg, { services: [] });
    const r = await runOnHost(cmd, postgresEnv());
    expect(r.code, r.err).toBe(0);
    expect(r.services).toEqual(["postgres"]);
    expect(r.out.trim()).toBe("1");
    const ended = await long.done;
    expect(ended.code).not.toBe(0);
    expect(ended.err).toMatch(/terminating connection due to administrator command/);
    // The query in another database is left alone.
    expect(Number(pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'other' AND query LIKE 'SELECT pg_sleep%'"))).toBe(1);
    elsewhere.p.kill();
    await elsewhere.done;
  });

  it("leaves younger queries running", async () => {
    const cmd = operationCommand({ id: "kill-2", action: "terminate-long-queries", olderThanMinutes: 5 }, cfg, { services: [] });
    const r = await runOnHost(cmd, postgresEnv());
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe("0");
  });
});

/** A container secret file as the stack writes it (0600), from the stack's own renderer of that file. */
function secretFile(name: string, content: string): string {
  const path = join(tmp, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}
const secretFiles = () =>
  goodgoContainerSecretFiles({ ...cfg, database: { user: "goodgo" } } as GoodgoConfig, goodgoTestSecrets({ redisPassword: REDIS_PASSWORD, spacesAccessKey: SPACES_KEY.accessKey, spacesSecretKey: SPACES_KEY.secretKey }));
const redisPasswordFile = () => secretFile("redis_password", secretFiles().redisPassword);
const s3cfgFile = () => secretFile("s3cfg", secretFiles().pgBackupS3cfg);

describe("flush-redis, run against real Redis with a password", () => {
  it("empties every database and reports 0 keys, the password only from the container's password file", async () => {
    redis.cli("SET", "session:1", "x");
    redis.cli("-n", "3", "SET", "cache:2", "y");
    expect(redis.keyCount()).toBe(2);
    const cmd = flushRedisCommand(target());
    expect(cmd).not.toContain(REDIS_PASSWORD);
    const r = await runOnHost(cmd, { REDIS_PORT: String(redis.port), REDIS_PASSWORD_FILE: redisPasswordFile() });
    expect(r.code, r.err).toBe(0);
    expect(r.services).toEqual(["redis"]);
    expect(r.out).toContain("keys after flush: 0");
    expect(redis.keyCount()).toBe(0);
  });

  it("fails without the password", async () => {
    redis.cli("SET", "k", "v");
    const r = await runOnHost(flushRedisCommand(target()), { REDIS_PORT: String(redis.port) });
    expect(r.code).not.toBe(0);
    expect(redis.keyCount()).toBe(1);
  });
});

describe("fetching an off-site backup with the real s3cmd", () => {
  const offsite = () => join(tmp, "offsite");
  const s3Env = () => ({
    S3_URL: "s3://goodgo-backups/postgres",
    S3_ENDPOINT: s3.endpoint,
    S3_HOST_BUCKET: s3.endpoint,
    S3_REGION: "fra1",
    S3_NO_SSL: "1",
    S3CMD_CONFIG: s3cfgFile(),
  });
  const put = (name: string, body: string) => {
    s3.objects.set(`/goodgo-backups/postgres/${name}`, Buffer.from(body));
    s3.objects.set(`/goodgo-backups/postgres/${name}.sha256`, Buffer.from(`${createHash("sha256").update(body).digest("hex")}  ${name}\n`));
  };

  it("gets the newest backup (zstd archives and pg_dump's own beside each other) and its checksum sidecar and points latest at it", async () => {
    put("goodgo_20261121T020000Z.dump", "older");
    put("goodgo_20261123T020000Z.dump.zst", "newest");
    put("goodgo_20261122T020000Z.dump", "middle");
    const r = await runOnHost(fetchOffsiteCommand(target(), "latest", offsite()), s3Env());
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.services).toEqual(["pg-backup"]);
    expect(r.out).toContain("fetched goodgo_20261123T020000Z.dump.zst");
    expect(readFileSync(join(offsite(), "goodgo_20261123T020000Z.dump.zst"), "utf8")).toBe("newest");
    expect(readFileSync(join(offsite(), "goodgo_20261123T020000Z.dump.zst.sha256"), "utf8")).toContain("goodgo_20261123T020000Z.dump.zst");
    expect(readlinkSync(join(offsite(), "latest"))).toBe("goodgo_20261123T020000Z.dump.zst");
    const check = spawnSync("sha256sum", ["-c", "goodgo_20261123T020000Z.dump.zst.sha256"], { cwd: offsite(), encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it("gets a named backup", async () => {
    const r = await runOnHost(fetchOffsiteCommand(target(), "goodgo_20261121T020000Z.dump", offsite()), s3Env());
    expect(r.code, r.err + r.out).toBe(0);
    expect(readlinkSync(join(offsite(), "latest"))).toBe("goodgo_20261121T020000Z.dump");
    expect(readFileSync(join(offsite(), "goodgo_20261121T020000Z.dump"), "utf8")).toBe("older");
  });

  it("fails with 66 when the bucket has no backup, and when a named one is missing", async () => {
    const empty = await runOnHost(fetchOffsiteCommand(target(), "latest", join(tmp, "offsite-empty")), { ...s3Env(), S3_URL: "s3://goodgo-backups/nothing-here" });
    expect(empty.code).toBe(66);
    expect(empty.err).toContain("no backup found under s3://goodgo-backups/nothing-here/");
    const missing = await runOnHost(fetchOffsiteCommand(target(), "goodgo_20200101T000000Z.dump", join(tmp, "offsite-missing")), s3Env());
    expect(missing.code).not.toBe(0);
  });
});

describe("the full host recovery chain (4.6), its backup steps run for real", () => {
  it("fetches the latest off-site backup, restores it into a new database and cuts over, keeping the empty one; then flushes Redis", async () => {
    // The old host's database, backed up by the real pg-backup.sh and copied off-site (here: into the S3 endpoint,
    // emptied of the other tests' objects so "latest" can only be this backup).
    s3.objects.clear();
    pg.sql("CREATE TABLE listing (id int PRIMARY KEY, title text)", "goodgo");
    pg.sql("INSERT INTO listing SELECT g, 'listing ' || g FROM generate_series(1, 500) g", "goodgo");
    const local = join(tmp, "old-host-backups");
    const dump = spawnSync("bash", [join(__dirname, "../../../scripts/backup/pg-backup.sh"), "-d", "goodgo", "-o", local], { encoding: "utf8", env: { ...process.env, ...pg.env } });
    expect(dump.status, dump.stderr).toBe(0);
    const name = JSON.parse(dump.stdout.trim().split("\n").pop()!).file.split("/").pop() as string;
    s3.objects.set(`/goodgo-backups/postgres/${name}`, readFileSync(join(local, name)));
    s3.objects.set(`/goodgo-backups/postgres/${name}.sha256`, readFileSync(join(local, `${name}.sha256`)));
    // The new host: PostgreSQL created an empty goodgo database.
    pg.sql("DROP DATABASE goodgo WITH (FORCE)");
    pg.sql("CREATE DATABASE goodgo");
    redis.cli("SET", "stale:cache", "from-the-old-host");

    const cfg = platformConfig(loadStackConfig(
      rawStack("staging", { patch: (c) => {
        c["lazarus:goodgo"].app.deployDir = tmp;
        c["lazarus:goodgo"].recovery = { host: { label: "dr1" } };
      } }),
      { allowMissingSecrets: true },
    ), goodgo)!;
    const steps = hostRecoverySteps(cfg, goodgoStackInventory(cfg, "staging"));
    expect(steps.map((x) => x.key)).toEqual(["data-services", "restore-route", "fetch-backup", "pitr-restore", "restore-database", "migrate", "reindex-typesense", "flush-redis", "pitr-first-full"]);
    const containerEnv = {
      // pgBackRest's repository: real, and without a backup of the stanza (the lost host never archived), so the
      // route is the logical one
      PGBACKREST_CONFIG: emptyPgbackrestRepo(),
      FAKE_SCRIPTS: join(__dirname, "../../../scripts"),
      FAKE_BACKUPS: join(tmp, "backups"),
      PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: pg.user, PGDATABASE: "goodgo",
      S3_URL: "s3://goodgo-backups/postgres", S3_ENDPOINT: s3.endpoint, S3_HOST_BUCKET: s3.endpoint, S3_REGION: "ams3", S3_NO_SSL: "1",
      S3CMD_CONFIG: s3cfgFile(),
      REDIS_PORT: String(redis.port), REDIS_PASSWORD_FILE: redisPasswordFile(),
    };
    // The docker-only steps (compose up of the data services, the API image's migrations and reindex) need an engine.
    const ran: Record<string, string> = {};
    for (const key of ["restore-route", "fetch-backup", "pitr-restore", "restore-database", "flush-redis"]) {
      const r = await runOnHost(steps.find((x) => x.key === key)!.command, containerEnv);
      expect(r.code, `${key}: ${r.err}${r.out}`).toBe(0);
      ran[key] = r.out;
    }
    expect(JSON.parse(ran["restore-route"]!.trim().split("\n").pop()!)).toMatchObject({ status: "ok", route: "logical" });
    expect(JSON.parse(ran["restore-route"]!.trim().split("\n").pop()!).reason).toMatch(/has no backup of stanza goodgo/);
    expect(ran["pitr-restore"]).toContain("skipped: the recovery takes the logical route");
    expect(readlinkSync(join(tmp, "backups/offsite/latest"))).toBe(name);
    expect(pg.sql("SELECT count(*) FROM listing", "goodgo")).toBe("500");
    const kept = pg.sql("SELECT datname FROM pg_database WHERE datname LIKE 'goodgo_pre_restore_%'");
    expect(kept).toMatch(/^goodgo_pre_restore_/);
    expect(pg.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", kept)).toBe("0");
    expect(redis.keyCount()).toBe(0);
  });
});

/** A directory the server's OS user (postgres, when the tests run as root) can reach and own. */
function serverUserDir(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  chmodSync(tmp, 0o755);
  chmodSync(dir, 0o755);
  if (process.getuid?.() === 0) spawnSync("chown", ["-R", "postgres:postgres", dir]);
  return dir;
}

/** A pgBackRest config whose posix repository exists but holds nothing. */
function emptyPgbackrestRepo(): string {
  const dir = serverUserDir("empty-pgbackrest");
  for (const d of ["repo", "log", "lock"]) serverUserDir(`empty-pgbackrest/${d}`);
  const conf = join(dir, "pgbackrest.conf");
  writeFileSync(conf, `[global]\nrepo1-path=${dir}/repo\nlog-path=${dir}/log\nlock-path=${dir}/lock\n`);
  if (process.getuid?.() === 0) spawnSync("chown", ["postgres:postgres", conf]);
  return conf;
}

describe("the full host recovery chain (4.6), physical route, run for real", () => {
  let c: PitrCluster | undefined;
  afterAll(() => c?.destroy());

  it("finds the lost cluster's backup in the repository, recovers it to the latest point in a scratch cluster, and cuts over to its database on the new server", async () => {
    // The old host: its cluster archived WAL with pgBackRest (a posix repository here: the S3 stub speaks no HTTPS).
    c = await startPitrCluster({ stanza: "goodgo", archiveTimeoutSeconds: 10 });
    c.pg.sql("CREATE DATABASE goodgo");
    c.pg.sql("CREATE TABLE listing (id int PRIMARY KEY, title text)", "goodgo");
    c.pg.sql("INSERT INTO listing SELECT g, 'listing ' || g FROM generate_series(1, 700) g", "goodgo");
    const full = c.script("pitr-backup.sh", ["--stanza", "goodgo", "--type", "full"]);
    expect(full.code, full.stderr).toBe(0);
    // Written after the backup: only the archived WAL has them.
    c.pg.sql("INSERT INTO listing SELECT g, 'after the backup ' || g FROM generate_series(701, 742) g", "goodgo");
    c.pg.sql("SELECT pg_switch_wal()");
    const archived = c.script("pitr-backup.sh", ["--stanza", "goodgo", "--type", "incr"]); // its check waits for the segment
    expect(archived.code, archived.stderr).toBe(0);
    c.pg.stop("immediate");

    // The new host: an empty goodgo database.
    pg.sql("DROP DATABASE IF EXISTS goodgo WITH (FORCE)");
    pg.sql("CREATE DATABASE goodgo");
    const backups = serverUserDir("physical-backups");
    const cfg = platformConfig(loadStackConfig(
      rawStack("staging", { patch: (x) => {
        x["lazarus:goodgo"].app.deployDir = tmp;
        x["lazarus:goodgo"].recovery = { host: { label: "dr2" } };
      } }),
      { allowMissingSecrets: true },
    ), goodgo)!;
    const steps = hostRecoverySteps(cfg, goodgoStackInventory(cfg, "staging"));
    const containerEnv = {
      FAKE_SCRIPTS: join(__dirname, "../../../scripts"),
      FAKE_BACKUPS: backups,
      PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: pg.user, PGDATABASE: "goodgo",
      PGBACKREST_CONFIG: c.confFile,
      PG_BIN,
    };
    // The scratch cluster's port is fixed in the plan (5433, inside the pg-backup container); here it must be free.
    const port = String(await freePort());
    const ran: Record<string, string> = {};
    for (const key of ["restore-route", "fetch-backup", "pitr-restore", "restore-database"]) {
      const r = await runOnHost(steps.find((x) => x.key === key)!.command.replace("--port 5433", `--port ${port}`), containerEnv);
      expect(r.code, `${key}: ${r.err}${r.out}`).toBe(0);
      ran[key] = r.out;
    }
    const route = JSON.parse(ran["restore-route"]!.trim().split("\n").pop()!);
    expect(route).toMatchObject({ status: "ok", route: "physical", backups: 2 });
    expect(ran["fetch-backup"]).toContain("skipped: the recovery takes the physical route");
    const restored = JSON.parse(ran["pitr-restore"]!.trim().split("\n").pop()!);
    expect(restored).toMatchObject({ status: "ok", recovery_type: "latest", started: false });
    expect(restored.dump_file).toMatch(/\/pitr\/host-dr2\/goodgo_pitr_\d{8}T\d{6}Z\.dump$/);
    // the scratch cluster is gone; its dump (with sidecar) is what pg-restore.sh verified and restored
    expect(existsSync(join(backups, "pitr/host-dr2/data"))).toBe(false);
    expect(existsSync(`${restored.dump_file}.sha256`)).toBe(true);
    const cutover = JSON.parse(ran["restore-database"]!.trim().split("\n").pop()!);
    expect(cutover).toMatchObject({ status: "ok", cutover: true, database: "goodgo" });
    expect(pg.sql("SELECT count(*), max(id) FROM listing", "goodgo")).toBe("742|742");
  });

  it("the same new server recovered by recovery.database instead: its first step, archive-check, refuses it (another system id than stanza goodgo's) before anything is stopped or restored, naming recovery.host", async () => {
    const cfg = platformConfig(loadStackConfig(
      rawStack("staging", { patch: (x) => {
        x["lazarus:goodgo"].app.deployDir = tmp;
        x["lazarus:goodgo"].recovery = { database: { label: "dr3", pointInTime: "latest", cutover: true } };
      } }),
      { allowMissingSecrets: true },
    ), goodgo)!;
    const steps = databaseRestoreSteps(cfg, goodgoStackInventory(cfg, "staging"));
    expect(steps[0]!.key).toBe("archive-check");
    const live = pg.sql("SELECT system_identifier FROM pg_control_system()");
    const r = await runOnHost(steps[0]!.command, { FAKE_SCRIPTS: join(__dirname, "../../../scripts"), PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: pg.user, PGDATABASE: "goodgo", PGBACKREST_CONFIG: c!.confFile });
    expect(r.code, r.err + r.out).toBe(65);
    expect(r.services).toEqual(["pg-backup"]);
    const error = String(JSON.parse(r.out.trim().split("\n").pop()!).error);
    const ids = /system id (\d+)\) than stanza goodgo's \(PostgreSQL 15, system id (\d+)\)/.exec(error);
    expect(ids?.[1], error).toBe(live);
    expect(ids?.[2]).not.toBe(live);
    expect(error).toContain("The switch for a replaced data volume is recovery.host {label: <new label>, backup: latest}");
    expect(pg.sql("SELECT count(*) FROM listing", "goodgo")).toBe("742");
  });
});

describe("the stand-in refuses an exec as Docker would, before anything runs", () => {
  const pgEnv = () => ({ PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: pg.user, PGDATABASE: "goodgo" });
  const tableExists = (name: string) => pg.sql(`SELECT count(*) FROM pg_tables WHERE tablename = '${name}'`, "goodgo") === "1";

  it("psql called by a sh -c script in the redis container, whose image has no psql: the shell's 127", async () => {
    const r = await runOnHost(composeExec(target(), "redis", ["sh", "-c", 'psql -c "CREATE TABLE ran_in_redis ()"']), pgEnv());
    expect(r.code).toBe(127);
    expect(r.err).toContain("sh: 1: psql: not found");
    expect(r.services).toEqual([]);
    expect(tableExists("ran_in_redis")).toBe(false);
  });

  it("redis-cli in redis_exporter's scratch image: the runtime's 126", async () => {
    redis.cli("DEL", "set-by-exporter");
    const r = await runOnHost(composeExec(target(), "redis-exporter", ["redis-cli", "SET", "set-by-exporter", "x"]), {
      REDIS_PORT: String(redis.port),
      REDISCLI_AUTH: REDIS_PASSWORD,
      FAKE_DOCKER_RUNNING: `${RUNNING} redis-exporter`,
    });
    expect(r.code).toBe(126);
    expect(r.err).toContain('OCI runtime exec failed: exec failed: unable to start container process: exec: "redis-cli": executable file not found in $PATH: unknown');
    expect(redis.cli("EXISTS", "set-by-exporter")).toBe("0");
  });

  it("a service the compose file does not have, and one that is not running", async () => {
    const missing = await runOnHost(composeExec(target(), "pgadmin", ["sh", "-c", 'psql -c "CREATE TABLE ran_in_pgadmin ()"']), pgEnv());
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("no such service: pgadmin");
    const stopped = await runOnHost(composeExec(target(), "pgbouncer", ["sh", "-c", 'psql -c "CREATE TABLE ran_in_pgbouncer ()"']), pgEnv());
    expect(stopped.code).toBe(1);
    expect(stopped.err).toContain('service "pgbouncer" is not running');
    expect(tableExists("ran_in_pgadmin") || tableExists("ran_in_pgbouncer")).toBe(false);
  });

  it("the same exec into a running service whose image has the program runs for real", async () => {
    const r = await runOnHost(composeExec(target(), "postgres", ["sh", "-c", 'psql -c "CREATE TABLE ran_in_postgres ()"']), pgEnv());
    expect(r.code, r.err).toBe(0);
    expect(r.services).toEqual(["postgres"]);
    expect(tableExists("ran_in_postgres")).toBe(true);
    pg.sql("DROP TABLE ran_in_postgres", "goodgo");
  });
});

describe("the shell scripts the commands hand to a container's sh -c", () => {
  it("pass shellcheck for POSIX sh", async () => {
    const cfgAll = platformConfig(loadStackConfig(rawStack("staging", { patch: (c) => (c["lazarus:goodgo"].app.deployDir = tmp) }), { allowMissingSecrets: true }), goodgo)!;
    const commands: Record<string, string> = {
      "fetch latest": fetchOffsiteCommand(target(), "latest"),
      "fetch named": fetchOffsiteCommand(target(), "goodgo_20261123T020000Z.dump"),
      "flush redis": flushRedisCommand(target()),
      "terminate queries": operationCommand({ id: "k", action: "terminate-long-queries", olderThanMinutes: 5 }, cfgAll, { services: [] }),
    };
    for (const [what, cmd] of Object.entries(commands)) {
      const file = join(tmp, `script-${what.replace(/ /g, "-")}.sh`);
      const r = await runOnHost(cmd, { FAKE_RECORD_SH: file });
      expect(r.code, r.err).toBe(0);
      const script = readFileSync(file, "utf8");
      expect(script.length, what).toBeGreaterThan(10);
      const check = spawnSync("shellcheck", ["-s", "sh", "-"], { input: script, encoding: "utf8" });
      expect(check.status, `${what}:\n${script}\n${check.stdout}`).toBe(0);
    }
  });
});

describe("recovery.database in two runs, run for real: the restore beside, then swapIn swaps in that verified copy", () => {
  /** The plan's recovery.database chain for this switch (staging, the compose project in this test's directory). */
  const chain = (database: Record<string, unknown>) => {
    const cfgR = platformConfig(loadStackConfig(
      rawStack("staging", { patch: (c) => {
        c["lazarus:goodgo"].app.deployDir = tmp;
        c["lazarus:goodgo"].recovery = { database };
      } }),
      { allowMissingSecrets: true },
    ), goodgo)!;
    return Object.fromEntries(databaseRestoreSteps(cfgR, goodgoStackInventory(cfgR, "staging")).map((s) => [s.key, s.command]));
  };
  const pgBackupEnv = () => ({ FAKE_SCRIPTS: join(__dirname, "../../../scripts"), FAKE_BACKUPS: join(tmp, "backups"), PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: pg.user, PGDATABASE: "goodgo" });
  const result = (out: string) => JSON.parse(out.trim().split("\n").pop()!);
  const databases = () => pg.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'goodgo%'").split(",");

  it("restores beside the live database (untouched), then the swapIn step puts that copy, not a new restore, under the live name", async () => {
    pg.sql("DROP DATABASE IF EXISTS goodgo WITH (FORCE)");
    pg.sql("CREATE DATABASE goodgo");
    pg.sql("CREATE TABLE listing (id int PRIMARY KEY, title text); INSERT INTO listing SELECT g, 'listing ' || g FROM generate_series(1, 300) g", "goodgo");
    mkdirSync(join(tmp, "backups"), { recursive: true });
    const dump = spawnSync("bash", [join(__dirname, "../../../scripts/backup/pg-backup.sh"), "-d", "goodgo", "-o", join(tmp, "backups")], { encoding: "utf8", env: { ...process.env, ...pg.env } });
    expect(dump.status, dump.stderr).toBe(0);
    const name = result(dump.stdout).file.split("/").pop() as string;
    // The live database moves on after the backup (the bad write the restore is for).
    pg.sql("DELETE FROM listing WHERE id > 100", "goodgo");

    const first = chain({ label: "r1", backup: name });
    expect(Object.keys(first)).toEqual(["archive-check", "restore-database"]);
    // No stanza in the repository yet: nothing to mismatch, the restore goes on.
    const checked = await runOnHost(first["archive-check"]!, { ...pgBackupEnv(), PGBACKREST_CONFIG: emptyPgbackrestRepo() });
    expect(checked.code, checked.err).toBe(0);
    expect(result(checked.out)).toMatchObject({ status: "ok", stanza: "goodgo", reason: expect.stringContaining("the repository has no stanza goodgo yet") });
    const restored = await runOnHost(first["restore-database"]!, pgBackupEnv());
    expect(restored.code, restored.err).toBe(0);
    const copy = result(restored.out).restored_database as string;
    expect(copy).toMatch(/^goodgo_restore_\d{14}$/);
    expect(pg.sql("SELECT count(*) FROM listing", "goodgo")).toBe("100");
    expect(pg.sql("SELECT count(*) FROM listing", copy)).toBe("300");
    // The operator's check of the copy would go here; the copy is marked so the swap can be told from a new restore.
    pg.sql("CREATE TABLE checked_by_operator ()", copy);

    // The host recovery chains above leave rollback points of their own.
    const earlier = databases();
    const second = chain({ label: "r1", swapIn: copy });
    expect(Object.keys(second)).toEqual(["archive-check", "stop-apps", "swap-in", "migrate", "flush-redis"]);
    const swapped = await runOnHost(second["swap-in"]!, pgBackupEnv());
    expect(swapped.code, swapped.err).toBe(0);
    expect(swapped.services).toEqual(["pg-backup"]);
    expect(result(swapped.out)).toMatchObject({ status: "ok", database: "goodgo", swapped_in: copy, backup: expect.stringContaining(name) });
    expect(pg.sql("SELECT count(*) FROM listing", "goodgo")).toBe("300");
    expect(pg.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'checked_by_operator'", "goodgo")).toBe("1");
    // The old live database is the rollback point; the copy's name is gone (it is the live one now).
    const kept = databases().filter((d) => d.startsWith("goodgo_pre_restore_") && !earlier.includes(d));
    expect(kept).toHaveLength(1);
    expect(pg.sql("SELECT count(*) FROM listing", kept[0]!)).toBe("100");
    expect(databases()).not.toContain(copy);
  });

  it("refuses a copy without the completion proof (a killed restore's leftover) and leaves the live database as it was", async () => {
    const leftover = "goodgo_restore_20261123031500";
    pg.sql(`CREATE DATABASE ${leftover}`);
    const before = pg.sql("SELECT count(*) FROM listing", "goodgo");
    const r = await runOnHost(chain({ label: "r2", swapIn: leftover })["swap-in"]!, pgBackupEnv());
    expect(r.code).toBe(65);
    expect(result(r.out)).toMatchObject({ status: "error" });
    expect(r.err).toContain(`refusing to swap in '${leftover}': it carries no proof of a finished restore`);
    expect(pg.sql("SELECT count(*) FROM listing", "goodgo")).toBe(before);
    expect(databases()).toContain(leftover);
    pg.sql(`DROP DATABASE ${leftover}`);
  });

  it("pg-restore.sh itself refuses another database's copy under this name (64), before connecting", async () => {
    const r = await runOnHost(swapInCommand(target(), "goodgo", "other_restore_20261123031500"), pgBackupEnv());
    expect(r.code).toBe(64);
    expect(r.err).toContain("--swap-in 'other_restore_20261123031500' is not a restored copy of 'goodgo'");
  });
});
