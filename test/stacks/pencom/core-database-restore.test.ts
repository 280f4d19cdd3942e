// Pencom's recovery.coreDatabase against a real PostgreSQL 15 (SCRAM passwords): the plan's restore command, with the
// admin password on its stdin as the declared step sends it, restores a plain SQL dump and a custom-format archive of
// pencom_core_db2 beside the live database (never into it, unlike the seed's `psql ... < backup.sql`); the result line
// names the copy, and core's .env composed with it (pencomEnvFile) connects, as the core user, to the restored data.
// Then recovery.coreDatabase.swapIn's step (pg-restore.sh --swap-in, same password on stdin) puts that verified copy under
// the live name, and refuses a copy without the completion proof. The live database is untouched by every restore
// and refusal; a truncated plain dump and one made with `pg_dump -C` (which would
// \connect to the live database) are refused before anything is created.
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pencom } from "../../../stacks/pencom";
import { pencomEnvFile, planPencom, restoredDatabaseFrom } from "../../../stacks/pencom/plan";
import { PG_BIN, startPostgres, type PostgresServer } from "../../support/postgres";
import { sha256File } from "../../support/pgHarness";
import { REPO } from "../../support/testHost";
import { stackPlatformConfig } from "../../support/stacks";

const ADMIN_PASSWORD = "admin-pw-5e1";
const CORE_PASSWORD = "core pw:with@odd/chars";
let pg: PostgresServer;
let dir: string;

const base = stackPlatformConfig("prod", pencom);

function plannedRestore(backup: string): string {
  const cfg = { ...base, postgres: { ...base.postgres, host: "127.0.0.1", port: pg.port, sslmode: "disable" as const }, recovery: { coreDatabase: { label: "r1", backup, cutover: true, confirm: "prod/pencom/core-database-cutover" } } };
  const plan = planPencom(cfg, { stack: "prod", stackFile: "Pulumi.prod.yaml", environment: {} as never });
  return plan.recovery.coreDatabase!.restore.replace("/opt/lazarus/scripts", join(REPO, "scripts"));
}

/** The plan's swap step of recovery.coreDatabase.swapIn, against the test server. */
function plannedSwap(swapIn: string): string {
  const cfg = { ...base, postgres: { ...base.postgres, host: "127.0.0.1", port: pg.port, sslmode: "disable" as const }, recovery: { coreDatabase: { label: "r2", swapIn, cutover: false, confirm: "prod/pencom/core-database-cutover" } } };
  const plan = planPencom(cfg, { stack: "prod", stackFile: "Pulumi.prod.yaml", environment: {} as never });
  return plan.recovery.coreSwapIn!.swap.replace("/opt/lazarus/scripts", join(REPO, "scripts"));
}

function runCommand(text: string) {
  const r = spawnSync("bash", ["-c", text], { input: ADMIN_PASSWORD, encoding: "utf8", env: { PATH: `${PG_BIN}:${process.env.PATH}`, TMPDIR: dir } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runRestore(backup: string) {
  // stdin exactly as the declared step sends it: the secret's value, no newline after it (the command provider writes
  // `stdin` as given; `read` then meets end of input, not a line end, and returns 1 with the value read).
  const r = spawnSync("bash", ["-c", plannedRestore(backup)], { input: ADMIN_PASSWORD, encoding: "utf8", env: { PATH: `${PG_BIN}:${process.env.PATH}`, TMPDIR: dir } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const psqlUrl = (url: string, sql: string) => spawnSync(join(PG_BIN, "psql"), ["-X", "-A", "-t", url, "-c", sql], { encoding: "utf8" });
const dump = (args: string[], file: string) => {
  const r = spawnSync(join(PG_BIN, "pg_dump"), [...args, "-f", file, "pencom_core_db2"], { env: { ...process.env, ...pg.env }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  writeFileSync(`${file}.sha256`, `${sha256File(file)}  ${file.split("/").pop()}\n`);
  return file;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lazarus-pencom-restore-"));
  pg = await startPostgres({ password: ADMIN_PASSWORD });
  pg.sql(`CREATE ROLE pencom_core LOGIN PASSWORD '${CORE_PASSWORD.replace(/'/g, "''")}'`);
  pg.sql("CREATE DATABASE pencom_core_db2 OWNER pencom_core");
  pg.sql("SET ROLE pencom_core; CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL); INSERT INTO accounts SELECT g, 'owner ' || g FROM generate_series(1, 500) g;", "pencom_core_db2");
}, 60_000);

afterAll(() => {
  pg?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const liveRows = () => pg.sql("SELECT count(*) FROM accounts", "pencom_core_db2");

describe("the core database restore (recovery.coreDatabase)", () => {
  it.each([
    ["a plain SQL dump", ["-Fp"], "core.sql"],
    ["a custom-format archive", ["-Fc"], "core.dump"],
  ])("restores %s beside the live database; core's .env then reaches the restored data as the core user", (_what, args, name) => {
    const file = dump(args, join(dir, name));
    // The live database moves on after the backup: the restored copy must not have this row, the live one keeps it.
    pg.sql(`INSERT INTO accounts VALUES (10000 + (SELECT count(*) FROM accounts), 'written after the ${name} backup')`, "pencom_core_db2");
    const live = liveRows();
    const r = runRestore(file);
    expect(r.code, r.stderr).toBe(0);
    const restored = restoredDatabaseFrom(r.stdout)!;
    expect(restored).toMatch(/^pencom_core_db2_restore_\d{14}$/);
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!)).toMatchObject({ status: "ok", cutover: false, format: args[0] === "-Fp" ? "plain" : "custom" });
    expect(liveRows()).toBe(live);

    const cfg = { ...base, postgres: { ...base.postgres, host: "127.0.0.1", port: pg.port, sslmode: "disable" as const } };
    const secrets = { coreDbPassword: CORE_PASSWORD, integrationsDbPassword: "x", mongoPassword: "x", redisPassword: "x", oraclePassword: "x", appEnv: "" };
    const envText = pencomEnvFile(cfg, "core", secrets, { core: restored });
    const url = /^DATABASE_URL=(.*)$/m.exec(envText)![1]!.replace(/^'(.*)'$/, "$1");
    expect(url).toContain(`/${restored}?sslmode=disable`);
    const q = psqlUrl(url, `SELECT current_user, count(*), count(*) FILTER (WHERE owner = 'written after the ${name} backup') FROM accounts`);
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout.trim()).toBe(`pencom_core|${Number(live) - 1}|0`);
  }, 60_000);

  it("refuses a truncated plain dump and one made with pg_dump -C before creating anything", () => {
    const before = pg.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");
    const full = readFileSync(dump(["-Fp"], join(dir, "whole.sql")), "utf8");
    const truncated = join(dir, "truncated.sql");
    writeFileSync(truncated, full.slice(0, Math.floor(full.length / 2)));
    writeFileSync(`${truncated}.sha256`, `${sha256File(truncated)}  truncated.sql\n`);
    const t = runRestore(truncated);
    expect(t.code).toBe(65);
    expect(t.stderr).toContain("incomplete plain dump");

    const withCreate = dump(["-Fp", "-C"], join(dir, "create.sql"));
    const c = runRestore(withCreate);
    expect(c.code).toBe(65);
    expect(c.stderr).toMatch(/leaves the database it is restored into \(line \d+: (CREATE DATABASE|\\connect)/);

    const tampered = join(dir, "tampered.sql");
    writeFileSync(tampered, full);
    writeFileSync(`${tampered}.sha256`, `${sha256File(tampered)}  tampered.sql\n`);
    appendFileSync(tampered, "DROP TABLE accounts;\n");
    expect(runRestore(tampered).code).toBe(65);
    expect(pg.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database").split(",").filter((d) => !before.split(",").includes(d))).toEqual([]);
  }, 60_000);
});

describe("the verified copy swapped in (recovery.coreDatabase.swapIn)", () => {
  it("a restore beside, then the swap step: that copy, not a new restore, takes the live name; the old database is kept", () => {
    const file = dump(["-Fc"], join(dir, "swap.dump"));
    pg.sql("INSERT INTO accounts VALUES (20000, 'written after the swap backup')", "pencom_core_db2");
    const r = runRestore(file);
    expect(r.code, r.stderr).toBe(0);
    const copy = restoredDatabaseFrom(r.stdout)!;
    // The operator's check of the copy; the mark tells the swapped-in copy from any new restore.
    pg.sql("CREATE TABLE checked_by_operator ()", copy);
    const live = liveRows();

    const s = runCommand(plannedSwap(copy));
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout.trim().split("\n").at(-1)!)).toMatchObject({ status: "ok", database: "pencom_core_db2", swapped_in: copy, backup: file });
    expect(pg.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'checked_by_operator'", "pencom_core_db2")).toBe("1");
    expect(pg.sql("SELECT count(*) FROM accounts WHERE owner = 'written after the swap backup'", "pencom_core_db2")).toBe("0");
    // Still owned by core's role: core's .env (the live name) reaches it as before.
    expect(pg.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'pencom_core_db2'")).toBe("pencom_core");
    const kept = pg.sql("SELECT datname FROM pg_database WHERE datname LIKE 'pencom_core_db2_pre_restore_%' ORDER BY datname DESC LIMIT 1");
    expect(pg.sql("SELECT count(*) FROM accounts", kept)).toBe(live);
    expect(pg.sql(`SELECT count(*) FROM pg_database WHERE datname = '${copy}'`)).toBe("0");
  }, 60_000);

  it("refuses a copy without the completion proof (65) and leaves the live database as it was", () => {
    const leftover = "pencom_core_db2_restore_20261123031500";
    pg.sql(`CREATE DATABASE ${leftover}`);
    const live = liveRows();
    const s = runCommand(plannedSwap(leftover));
    expect(s.code).toBe(65);
    expect(s.stderr).toContain(`refusing to swap in '${leftover}': it carries no proof of a finished restore`);
    expect(liveRows()).toBe(live);
    expect(pg.sql(`SELECT count(*) FROM pg_database WHERE datname = '${leftover}'`)).toBe("1");
    pg.sql(`DROP DATABASE ${leftover}`);
  }, 60_000);
});
