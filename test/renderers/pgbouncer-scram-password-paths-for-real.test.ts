// GoodGo's password paths, run for real against a PostgreSQL that requires SCRAM (password_encryption and pg_hba
// scram-sha-256; test/support/postgres.ts `password`), never trust:
//   - a client authenticates to the real PgBouncer configured by GoodGo's rendered pgbouncer.ini and the userlist
//     the stack ships (stacks/goodgo/env.ts goodgoPgbouncerUserlist), and PgBouncer logs in to PostgreSQL with
//     SCRAM using the same userlist entry;
//   - DATABASE_URL exactly as GoodGo's .env holds it (stacks/goodgo/envVariables.ts), with a password full of
//     characters a URL must percent-encode, used by psql through PgBouncer;
//   - PGPASSFILE (what the backup scripts accept instead of PGPASSWORD) for psql and pg_dump.
import { spawnSync, execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderPgbouncerIni } from "../../renderers/pgbouncer";
import { goodgoSchema, type GoodgoConfig } from "../../stacks/goodgo/config";
import { GOODGO_ENV_SECRET_SOURCES, goodgoEnvConfig, goodgoPgbouncerUserlist, type GoodgoStackSecrets } from "../../stacks/goodgo/env";
import { goodgoEnvValues } from "../../stacks/goodgo/envVariables";
import { goodgoPgbouncerSettings } from "../../stacks/goodgo/serviceSettings";
import { freePort } from "../support/ports";
import { pgpassLine, startPostgres, type PostgresServer } from "../support/postgres";
import { startServerProcess } from "../support/process";

const isRoot = process.getuid?.() === 0;
// Every character class a URL's userinfo must encode (@ : / ? # % & + space) plus quotes and non-ASCII.
const DB_PASSWORD = `p@ss:w/rd?#%&+ "q" é-${process.pid}`;
const ADMIN_PASSWORD = `admin-${process.pid}`;
const SUPERUSER_PASSWORD = `super:user\\pw-${process.pid}`;

function chownPostgres(p: string): void {
  if (!isRoot) return;
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  chownSync(p, uid, uid);
}

/** A client with nothing but the given environment: no PGPASSWORD or PGPASSFILE unless a test passes one. */
function client(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { env: { PATH: process.env.PATH, HOME: "/nonexistent", PGCONNECT_TIMEOUT: "5", ...env }, encoding: "utf8" });
  return { ok: r.status === 0, stdout: r.stdout.trim(), out: `${r.stdout}${r.stderr}` };
}

describe("GoodGo's password paths against a PostgreSQL that requires SCRAM", () => {
  let pg: PostgresServer;
  let dir: string;
  let bouncerPort: number;
  let stopBouncer: () => Promise<void>;
  const prod = goodgoSchema.parse(parse(readFileSync(resolve(__dirname, "../../Pulumi.prod.yaml"), "utf8")).config["lazarus:goodgo"]) as GoodgoConfig;
  const secrets = {
    ...Object.fromEntries(Object.keys(GOODGO_ENV_SECRET_SOURCES).map((k) => [k, `test-only-${k}`])),
    dbPassword: DB_PASSWORD,
    pgbouncerAdminPassword: ADMIN_PASSWORD,
  } as GoodgoStackSecrets;
  const user = prod.database.user;
  const db = prod.database.name;

  beforeAll(async () => {
    pg = await startPostgres({ password: SUPERUSER_PASSWORD });
    // The role's password as a SQL literal ('' doubles a quote): the server stores its SCRAM verifier.
    pg.sql(`CREATE ROLE ${user} LOGIN PASSWORD '${DB_PASSWORD.replace(/'/g, "''")}'`);
    pg.sql(`CREATE DATABASE ${db} OWNER ${user}`);
    dir = mkdtempSync(join(tmpdir(), "lazarus-pgbouncer-scram-"));
    chownPostgres(dir);
    const userlist = join(dir, "userlist.txt");
    writeFileSync(userlist, goodgoPgbouncerUserlist(prod, secrets), { mode: 0o600 });
    chownPostgres(userlist);
    bouncerPort = await freePort();
    const ini = join(dir, "pgbouncer.ini");
    writeFileSync(ini, renderPgbouncerIni({
      ...goodgoPgbouncerSettings({ listenAddr: "127.0.0.1", listenPort: bouncerPort, dbHost: "127.0.0.1", dbPort: pg.port, authFile: userlist }),
      unixSocketDir: "",
      logfile: join(dir, "pgbouncer.log"),
      pidfile: join(dir, "pgbouncer.pid"),
    }), { mode: 0o600 });
    chownPostgres(ini);
    const server = await startServerProcess(`pgbouncer on port ${bouncerPort}`, "pgbouncer", [...(isRoot ? ["-u", "postgres"] : []), ini], () =>
      client("psql", ["-X", "-h", "127.0.0.1", "-p", String(bouncerPort), "-U", "pgbouncer_admin", "-d", "pgbouncer", "-c", "SHOW VERSION;"], { PGPASSWORD: ADMIN_PASSWORD }).ok,
    );
    stopBouncer = server.stop;
  });

  afterAll(async () => {
    await stopBouncer?.();
    pg?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the server really refuses a connection without the password, and stores SCRAM verifiers", () => {
    const noPassword = client("psql", ["-X", "-h", "127.0.0.1", "-p", String(pg.port), "-U", user, "-d", db, "-w", "-c", "SELECT 1"]);
    expect(noPassword.ok).toBe(false);
    expect(noPassword.out).toMatch(/password/);
    expect(pg.sql(`SELECT rolpassword FROM pg_authid WHERE rolname = '${user}'`)).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(pg.sql("SHOW password_encryption")).toBe("scram-sha-256");
    expect(readFileSync(join(pg.dataDir, "pg_hba.conf"), "utf8").split("\n").filter((l) => /^(local|host)/.test(l)).every((l) => l.trim().endsWith("scram-sha-256"))).toBe(true);
  });

  it("a client logs in to the real PgBouncer with SCRAM from GoodGo's userlist, and PgBouncer logs in to PostgreSQL with SCRAM", () => {
    const through = client("psql", ["-X", "-A", "-t", "-h", "127.0.0.1", "-p", String(bouncerPort), "-U", user, "-d", db, "-c", "SELECT current_user || '|' || inet_server_port()"], { PGPASSWORD: DB_PASSWORD });
    expect(through.ok, through.out).toBe(true);
    expect(through.stdout).toBe(`${user}|${pg.port}`);
    const wrong = client("psql", ["-X", "-h", "127.0.0.1", "-p", String(bouncerPort), "-U", user, "-d", db, "-c", "SELECT 1"], { PGPASSWORD: "wrong" });
    expect(wrong.ok).toBe(false);
    expect(wrong.out).toMatch(/password authentication failed|SASL authentication failed/);
  });

  it("DATABASE_URL as GoodGo's .env holds it (password percent-encoded) gets psql through PgBouncer, with no other credentials", () => {
    const env = goodgoEnvValues({ ...goodgoEnvConfig(prod), hosts: { pgbouncer: `127.0.0.1:${bouncerPort}` } }, secrets);
    const url = env.DATABASE_URL!;
    const r = client("psql", ["-X", "-A", "-t", "-w", url, "-c", "SELECT current_user || '|' || current_database()"]);
    expect(r.ok, r.out).toBe(true);
    expect(r.stdout).toBe(`${user}|${db}`);
    expect(url).not.toContain(DB_PASSWORD);
    // The same URL with the password left raw is not a usable URL: the encoding is what makes it work.
    const raw = client("psql", ["-X", "-w", `postgresql://${user}:${DB_PASSWORD}@127.0.0.1:${bouncerPort}/${db}`, "-c", "SELECT 1"]);
    expect(raw.ok).toBe(false);
  });

  it("PGPASSFILE gives psql and pg_dump the password (':' and '\\' escaped); a passfile others can read is ignored", () => {
    const passfile = join(dir, "pgpass");
    writeFileSync(passfile, `${pgpassLine("127.0.0.1", bouncerPort, db, user, DB_PASSWORD)}\n${pgpassLine("127.0.0.1", pg.port, "*", "postgres", SUPERUSER_PASSWORD)}\n`, { mode: 0o600 });
    const conn = { PGHOST: "127.0.0.1", PGPASSFILE: passfile };
    const viaBouncer = client("psql", ["-X", "-A", "-t", "-w", "-p", String(bouncerPort), "-U", user, "-d", db, "-c", "SELECT current_user"], conn);
    expect(viaBouncer.ok, viaBouncer.out).toBe(true);
    expect(viaBouncer.stdout).toBe(user);
    pg.sql(`CREATE TABLE probe (id int)`, db);
    const dump = client("pg_dump", ["-w", "-p", String(pg.port), "-U", "postgres", "--schema-only", db], conn);
    expect(dump.ok, dump.out).toBe(true);
    expect(dump.stdout).toContain("CREATE TABLE public.probe");
    chmodSync(passfile, 0o644);
    const ignored = client("psql", ["-X", "-w", "-p", String(bouncerPort), "-U", user, "-d", db, "-c", "SELECT 1"], conn);
    expect(ignored.ok).toBe(false);
    expect(ignored.out).toMatch(/has group or world access/);
  });
});
