// Section 3.1's PgBouncer, checked by the real daemon (Debian's pgbouncer) in front of a real PostgreSQL on loopback:
// the rendered pgbouncer.ini starts it, a client authenticates from the separately shipped userlist (the ini holds no
// password) and gets through to the database, and the admin console's SHOW CONFIG reports section 3.1's values. The
// userlist is the one the prod stack ships (application user + pgbouncer_admin), so the runbook's SHOW POOLS works.
// The edoburu/pgbouncer environment rendering is fed through the image's own ini template (its entrypoint, ported
// below) into a second real pgbouncer, whose SHOW CONFIG must equal the first one's: one settings object, two renderings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync, type ChildProcess, execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { goodgoSchema, type GoodgoConfig } from "../../stacks/goodgo/config";
import { goodgoPgbouncerUserlist, type GoodgoStackSecrets } from "../../stacks/goodgo/env";
import { startPostgres, type PostgresServer } from "../support/postgres";
import { freePort } from "../support/ports";
import { startServerProcess } from "../support/process";
import {
  EDOBURU_PGBOUNCER_VARIABLES,
  PgbouncerSettings,
  pgbouncerEnv,
  renderPgbouncerIni,
  renderPgbouncerUserlist,
} from "../../renderers/pgbouncer";
import { goodgoPgbouncerSettings } from "../../stacks/goodgo/serviceSettings";
import { RenderInputError } from "../../renderers/renderInputError";

const isRoot = process.getuid?.() === 0;
const DB_PASSWORD = `test-only "db" pw ${process.pid}`;
const ADMIN_PASSWORD = `test-only-admin-${process.pid}`;

function chownPostgres(p: string): void {
  if (!isRoot) return;
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  chownSync(p, uid, gid);
}

interface Bouncer {
  port: number;
  child: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

function psql(port: number, user: string, password: string, db: string, sql: string) {
  return spawnSync("psql", ["-X", "-A", "-t", "-F", "|", "-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", db, "-c", sql], {
    env: { PATH: process.env.PATH, PGPASSWORD: password, PGCONNECT_TIMEOUT: "5" },
    encoding: "utf8",
  });
}

async function startBouncer(dir: string, ini: string, port: number): Promise<Bouncer> {
  const iniPath = join(dir, `pgbouncer-${port}.ini`);
  writeFileSync(iniPath, ini, { mode: 0o600 });
  chownPostgres(iniPath);
  const logPath = join(dir, `stderr-${port}.log`);
  // PgBouncer refuses to run as root; -u switches to the postgres user after start (as the container runs it).
  const server = await startServerProcess(`pgbouncer on port ${port}`, "pgbouncer", [...(isRoot ? ["-u", "postgres"] : []), iniPath], () =>
    psql(port, "pgbouncer_admin", ADMIN_PASSWORD, "pgbouncer", "SHOW VERSION;").status === 0,
  );
  return { port, child: server.child, log: () => server.output() + (existsSync(logPath) ? readFileSync(logPath, "utf8") : ""), stop: server.stop };
}

function showConfig(port: number): Record<string, string> {
  const r = psql(port, "pgbouncer_admin", ADMIN_PASSWORD, "pgbouncer", "SHOW CONFIG;");
  if (r.status !== 0) throw new Error(`SHOW CONFIG failed: ${r.stderr}`);
  const out: Record<string, string> = {};
  for (const line of r.stdout.trim().split("\n")) {
    const [k, v] = line.split("|");
    if (k) out[k] = v ?? "";
  }
  return out;
}

// The edoburu/pgbouncer entrypoint's ini template (entrypoint.sh, "Auto generated"), for the variables it reads:
// fixed lines with their defaults, then one `key = value` per optional variable that is set.
function edoburuIni(env: Record<string, string>): string {
  const optional = ["AUTH_USER", "AUTH_QUERY", "POOL_MODE", "MAX_CLIENT_CONN", "DEFAULT_POOL_SIZE", "RESERVE_POOL_SIZE", "RESERVE_POOL_TIMEOUT",
    "QUERY_WAIT_TIMEOUT", "STATS_USERS", "AUTH_HBA_FILE", "MIN_POOL_SIZE", "MAX_DB_CONNECTIONS", "SERVER_IDLE_TIMEOUT"];
  return [
    "[databases]",
    `${env.DB_NAME || "*"} = host=${env.DB_HOST} port=${env.DB_PORT || "5432"} auth_user=${env.DB_USER || "postgres"}`,
    "[pgbouncer]",
    `listen_addr = ${env.LISTEN_ADDR || "0.0.0.0"}`,
    `listen_port = ${env.LISTEN_PORT || "5432"}`,
    `unix_socket_dir = ${env.UNIX_SOCKET_DIR ?? ""}`,
    "user = postgres",
    `auth_file = ${env.AUTH_FILE || "/etc/pgbouncer/userlist.txt"}`,
    `auth_type = ${env.AUTH_TYPE || "md5"}`,
    ...optional.filter((k) => env[k]).map((k) => `${k.toLowerCase()} = ${env[k]}`),
    `ignore_startup_parameters = ${env.IGNORE_STARTUP_PARAMETERS || "extra_float_digits"}`,
    `admin_users = ${env.ADMIN_USERS || "postgres"}`,
    "",
  ].join("\n");
}
const EDOBURU_KNOWN = new Set(["DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "LISTEN_ADDR", "LISTEN_PORT", "UNIX_SOCKET_DIR", "AUTH_FILE", "AUTH_TYPE",
  "AUTH_USER", "AUTH_QUERY", "POOL_MODE", "MAX_CLIENT_CONN", "DEFAULT_POOL_SIZE", "RESERVE_POOL_SIZE", "RESERVE_POOL_TIMEOUT", "QUERY_WAIT_TIMEOUT",
  "STATS_USERS", "IGNORE_STARTUP_PARAMETERS", "ADMIN_USERS"]);

describe("PgBouncer as section 3.1 configures it, run by the real pgbouncer", () => {
  let pg: PostgresServer;
  let dir: string;
  let settings: PgbouncerSettings;
  let ini: string;
  let bouncer: Bouncer;
  const bouncers: Bouncer[] = [];

  beforeAll(async () => {
    pg = await startPostgres();
    pg.sql(`CREATE ROLE goodgo LOGIN PASSWORD 'unused-by-trust'`);
    pg.sql("CREATE DATABASE goodgo OWNER goodgo");
    dir = mkdtempSync(join(tmpdir(), "lazarus-pgbouncer-"));
    chownPostgres(dir);
    // The auth_file exactly as the prod stack ships it to the host (stacks/goodgo/env.ts).
    const userlist = join(dir, "userlist.txt");
    const prod = goodgoSchema.parse(parse(readFileSync(resolve(__dirname, "../../Pulumi.prod.yaml"), "utf8")).config["lazarus:goodgo"]) as GoodgoConfig;
    writeFileSync(userlist, goodgoPgbouncerUserlist(prod, { dbPassword: DB_PASSWORD, pgbouncerAdminPassword: ADMIN_PASSWORD } as GoodgoStackSecrets), { mode: 0o600 });
    chownPostgres(userlist);
    const port = await freePort();
    settings = {
      ...goodgoPgbouncerSettings({ listenAddr: "127.0.0.1", listenPort: port, dbHost: "127.0.0.1", dbPort: pg.port, authFile: userlist }),
      unixSocketDir: "",
      logfile: join(dir, "pgbouncer.log"),
      pidfile: join(dir, "pgbouncer.pid"),
    };
    ini = renderPgbouncerIni(settings);
    bouncer = await startBouncer(dir, ini, port);
    bouncers.push(bouncer);
  });

  afterAll(async () => {
    for (const b of bouncers) await b.stop();
    pg?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a client authenticates from the userlist and reaches the database through the pooler; a wrong password is refused", () => {
    const ok = psql(bouncer.port, "goodgo", DB_PASSWORD, "goodgo", "SELECT current_user, current_database(), inet_server_port()");
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(`goodgo|goodgo|${pg.port}`);
    const bad = psql(bouncer.port, "goodgo", "wrong-password", "goodgo", "SELECT 1");
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/password authentication failed|SASL authentication failed/);
  });

  it("SHOW CONFIG reports section 3.1: transaction pooling, pool 20, 200 clients, reserve 5 after 3 s, query wait 120 s", () => {
    const c = showConfig(bouncer.port);
    expect(c.pool_mode).toBe("transaction");
    expect(c.default_pool_size).toBe("20");
    expect(c.max_client_conn).toBe("200");
    expect(c.reserve_pool_size).toBe("5");
    expect(c.reserve_pool_timeout).toBe("3");
    expect(c.query_wait_timeout).toBe("120");
    expect(c.listen_port).toBe(String(bouncer.port));
    expect(c.auth_type).toBe("scram-sha-256");
    expect(c.admin_users).toBe("pgbouncer_admin");
  });

  it("SHOW POOLS lists the goodgo database pool in transaction mode after a client used it", () => {
    const pools = psql(bouncer.port, "pgbouncer_admin", ADMIN_PASSWORD, "pgbouncer", "SHOW POOLS;");
    expect(pools.status, pools.stderr).toBe(0);
    expect(pools.stdout).toMatch(/^goodgo\|goodgo\|/m);
    expect(pools.stdout).toMatch(/\|transaction$/m);
  });

  it("the ini holds no password; the userlist is separate", () => {
    expect(ini).not.toContain(DB_PASSWORD);
    expect(ini).not.toContain(ADMIN_PASSWORD);
    expect(ini.split("\n").filter((l) => !l.startsWith(";")).join("\n")).not.toMatch(/password/i);
    expect(ini).toMatch(/^auth_file = \//m);
  });

  it("the edoburu/pgbouncer environment, through the image's ini template, gives a real pgbouncer the same SHOW CONFIG", async () => {
    const env = pgbouncerEnv(settings);
    for (const k of Object.keys(env)) expect(EDOBURU_KNOWN.has(k), `${k} is a variable the image reads`).toBe(true);
    for (const k of EDOBURU_PGBOUNCER_VARIABLES) expect(EDOBURU_KNOWN.has(k), k).toBe(true);
    expect(JSON.stringify(env)).not.toContain(DB_PASSWORD);
    // Section 3.1's values are in it under the image's names.
    expect(env).toMatchObject({ POOL_MODE: "transaction", DEFAULT_POOL_SIZE: "20", MAX_CLIENT_CONN: "200", RESERVE_POOL_SIZE: "5", RESERVE_POOL_TIMEOUT: "3", QUERY_WAIT_TIMEOUT: "120", LISTEN_PORT: String(bouncer.port) });

    const port2 = await freePort();
    const fromEnv = edoburuIni({ ...env, DB_USER: "goodgo", LISTEN_PORT: String(port2) });
    const second = await startBouncer(dir, `${fromEnv}logfile = ${join(dir, "second.log")}\n`, port2);
    bouncers.push(second);
    const a = showConfig(bouncer.port);
    const b = showConfig(second.port);
    const differ = Object.keys(a).filter((k) => !["conffile", "listen_port", "logfile", "pidfile", "unix_socket_dir", "user"].includes(k) && a[k] !== b[k]);
    expect(differ.map((k) => `${k}: ini ${a[k]} / env ${b[k]}`)).toEqual([]);
    const through = psql(second.port, "goodgo", DB_PASSWORD, "goodgo", "SELECT current_database()");
    expect(through.status, through.stderr).toBe(0);
    expect(through.stdout.trim()).toBe("goodgo");
  });

  it("changing a setting changes both renderings (they are not two hand-kept copies)", () => {
    const s = goodgoPgbouncerSettings({ poolSize: 35, maxClientConn: 300 });
    expect(renderPgbouncerIni(s)).toMatch(/^default_pool_size = 35$/m);
    expect(renderPgbouncerIni(s)).toMatch(/^max_client_conn = 300$/m);
    expect(pgbouncerEnv(s)).toMatchObject({ DEFAULT_POOL_SIZE: "35", MAX_CLIENT_CONN: "300" });
  });

  it("bad settings fail naming the field; a password is refused with where it belongs", () => {
    const base = goodgoPgbouncerSettings();
    const bad: Array<[Partial<PgbouncerSettings> | Record<string, unknown>, RegExp]> = [
      [{ poolMode: "txn" }, /poolMode: must be one of session, transaction, statement, got "txn"/],
      [{ defaultPoolSize: 0 }, /defaultPoolSize: must be a whole number/],
      [{ listenPort: 70000 }, /listenPort/],
      [{ listenAddr: "localhost" }, /listenAddr/],
      [{ auth: { type: "scram-sha-256", file: "relative/userlist.txt" } }, /auth\.file: must be an absolute path/],
      [{ auth: { type: "scram-sha-256", file: "/etc/u", query: "SELECT 1" } }, /auth\.query: needs auth\.user/],
      [{ adminUsers: [] }, /adminUsers/],
      [{ password: "x" }, /password: passwords never go into pgbouncer\.ini/],
      [{ database: { name: "goodgo", host: "postgres", port: 5432, password: "x" } }, /database\.password: passwords never go/],
      [{ maxClientConn: 10 }, /exceeds maxClientConn/],
    ];
    for (const [patch, re] of bad) {
      expect(() => renderPgbouncerIni({ ...base, ...patch } as PgbouncerSettings), JSON.stringify(patch)).toThrow(RenderInputError);
      expect(() => renderPgbouncerIni({ ...base, ...patch } as PgbouncerSettings), JSON.stringify(patch)).toThrow(expect.objectContaining({ renderer: "pgbouncer" }));
      expect(() => renderPgbouncerIni({ ...base, ...patch } as PgbouncerSettings), JSON.stringify(patch)).toThrow(re);
    }
    expect(() => renderPgbouncerUserlist([{ name: "goodgo", password: "" }])).toThrow(/users\[0\]\.password/);
  });
});
