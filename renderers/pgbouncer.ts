// PgBouncer, rendered from one typed settings object. Pure: no Pulumi, no I/O.
// Three outputs from the same settings:
//   - renderPgbouncerIni(settings): pgbouncer.ini. It never holds a password: clients and the admin console are
//     checked against `auth_file` (a userlist shipped separately as a secret, mode 0600; renderPgbouncerUserlist),
//     optionally with `auth_user` + `auth_query` for users not in the file;
//   - pgbouncerEnv(settings): the same settings as the environment variables of the edoburu/pgbouncer image the
//     compose service runs (its entrypoint writes pgbouncer.ini from them when none is mounted). The password is not
//     among them either: the compose service adds DB_USER/DB_PASSWORD from the host's .env (PGBOUNCER_SECRET_ENV),
//     from which the image writes its userlist inside the container;
//   - renderPgbouncerUserlist(users): the auth_file text ("user" "password-or-SCRAM-verifier"). Secret.
// Input is validated; every error names the field, what was expected and what was given.

import { refuseField } from "./renderInputError";

export type PoolMode = "session" | "transaction" | "statement";
export type PgbouncerAuthType = "scram-sha-256" | "md5" | "plain" | "trust" | "hba" | "cert";

export interface PgbouncerDatabase {
  /** The name clients connect to (e.g. app). The edoburu image uses it as the server database name too. */
  name: string;
  /** PostgreSQL host as PgBouncer reaches it (compose service name "postgres"). */
  host: string;
  port: number;
  /** Server-side database name when it differs from `name` (ini only; the image cannot express it). */
  dbname?: string;
}

export interface PgbouncerAuth {
  type: PgbouncerAuthType;
  /** Path of the userlist inside the container / on the host (a secret file, mode 0600). */
  file: string;
  /** Role PgBouncer uses to run auth_query for users that are not in the userlist. */
  user?: string;
  /** Query returning (usename, passwd) for a user name ($1); PgBouncer's default when auth.user is set and this is not. */
  query?: string;
}

export interface PgbouncerSettings {
  /** Address to listen on: "0.0.0.0" inside the container, "127.0.0.1" for a host-local pooler, "*" for all. */
  listenAddr: string;
  /** PgBouncer's usual port: 6432. */
  listenPort: number;
  database: PgbouncerDatabase;
  auth: PgbouncerAuth;
  /** transaction: server connections return to the pool after each transaction. */
  poolMode: PoolMode;
  /** Server connections per user/database pair (20). */
  defaultPoolSize: number;
  /** Client connections accepted in total (200). */
  maxClientConn: number;
  /** Extra server connections allowed when a client has waited reservePoolTimeout seconds (5). */
  reservePoolSize: number;
  /** Seconds a client waits before the reserve pool is used (3). */
  reservePoolTimeout: number;
  /** Seconds a client may wait for a server connection before it gets an error (120). */
  queryWaitTimeout: number;
  /** Users allowed to run SHOW/RELOAD/... on the `pgbouncer` admin console (e.g. pgbouncer_admin). */
  adminUsers: string[];
  /** Users allowed read-only SHOW commands. */
  statsUsers?: string[];
  /** Startup parameters clients may send that PgBouncer cannot track (default: extra_float_digits, as JDBC/Prisma send). */
  ignoreStartupParameters?: string[];
  /** Directory of the Unix socket; "" disables it (default: PgBouncer's own, /tmp). */
  unixSocketDir?: string;
  /** Log and pid file (absent: log to stderr, as in a container; no pid file). */
  logfile?: string;
  pidfile?: string;
}

function fail(field: string, problem: string, got?: unknown): never {
  refuseField("pgbouncer", field, got === undefined ? problem : `${problem}, got ${JSON.stringify(got)}`);
}

const POOL_MODES: readonly PoolMode[] = ["session", "transaction", "statement"];
const AUTH_TYPES: readonly PgbouncerAuthType[] = ["scram-sha-256", "md5", "plain", "trust", "hba", "cert"];
const IDENT = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
const SECRET_KEYS = ["password", "adminPassword", "adminPasswords", "dbPassword", "passwd"];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function onlyKeys(field: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const at = field ? `${field}.${k}` : k;
    if (SECRET_KEYS.includes(k)) {
      fail(at, "passwords never go into pgbouncer.ini or its environment: put them in the userlist (renderPgbouncerUserlist, shipped as a secret) or DB_PASSWORD in the .env");
    }
    fail(at, `is not a known setting (allowed: ${allowed.join(", ")})`);
  }
}

function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) fail(field, `must be a whole number from ${min} to ${max}`, v);
  return v;
}

function ident(field: string, v: unknown, example: string): string {
  if (typeof v !== "string" || !IDENT.test(v)) fail(field, `must be a name of letters, digits, _ . - (example: ${example})`, v);
  return v;
}

function path(field: string, v: unknown, allowEmpty = false): string {
  if (allowEmpty && v === "") return v;
  if (typeof v !== "string" || !v.startsWith("/") || /[\s;#"'\\$]/.test(v)) fail(field, "must be an absolute path without spaces, quotes, ; or # (example: /etc/pgbouncer/userlist.txt)", v);
  return v;
}

function host(field: string, v: unknown): string {
  if (typeof v !== "string" || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(v)) fail(field, "must be a host name or IPv4 address (example: postgres)", v);
  return v;
}

function names(field: string, v: unknown, example: string, min: number): string[] {
  if (!Array.isArray(v) || v.length < min) fail(field, `must be a list of ${min ? "at least one " : ""}name (example: [${example}])`, v);
  return (v as unknown[]).map((x, i) => ident(`${field}[${i}]`, x, example));
}

interface Checked extends PgbouncerSettings {
  ignoreStartupParameters: string[];
}

/** Validates settings (throws RenderInputError naming the field) and returns them with defaults filled in. */
export function checkPgbouncerSettings(s: PgbouncerSettings): Checked {
  if (!isObject(s)) fail("(settings)", "must be an object");
  onlyKeys("", s as unknown as Record<string, unknown>, [
    "listenAddr", "listenPort", "database", "auth", "poolMode", "defaultPoolSize", "maxClientConn", "reservePoolSize",
    "reservePoolTimeout", "queryWaitTimeout", "adminUsers", "statsUsers", "ignoreStartupParameters", "unixSocketDir", "logfile", "pidfile",
  ]);
  if (s.listenAddr !== "*" && !(typeof s.listenAddr === "string" && /^(\d{1,3}\.){3}\d{1,3}$/.test(s.listenAddr))) {
    fail("listenAddr", 'must be an IPv4 address or "*" (example: 0.0.0.0)', s.listenAddr);
  }
  int("listenPort", s.listenPort, 1, 65535);
  if (!isObject(s.database)) fail("database", "must be {name, host, port}");
  onlyKeys("database", s.database as unknown as Record<string, unknown>, ["name", "host", "port", "dbname"]);
  ident("database.name", s.database.name, "app");
  host("database.host", s.database.host);
  int("database.port", s.database.port, 1, 65535);
  if (s.database.dbname !== undefined) ident("database.dbname", s.database.dbname, "app");
  if (!isObject(s.auth)) fail("auth", "must be {type, file, user?, query?}");
  onlyKeys("auth", s.auth as unknown as Record<string, unknown>, ["type", "file", "user", "query"]);
  if (!AUTH_TYPES.includes(s.auth.type)) fail("auth.type", `must be one of ${AUTH_TYPES.join(", ")}`, s.auth.type);
  path("auth.file", s.auth.file);
  if (s.auth.user !== undefined) ident("auth.user", s.auth.user, "pgbouncer_auth");
  if (s.auth.query !== undefined) {
    if (s.auth.user === undefined) fail("auth.query", "needs auth.user (the role that runs it)");
    if (typeof s.auth.query !== "string" || !s.auth.query.includes("$1") || /[\n\r]/.test(s.auth.query)) {
      fail("auth.query", "must be one line of SQL using $1 for the user name (example: SELECT usename, passwd FROM pg_shadow WHERE usename=$1)", s.auth.query);
    }
  }
  if (!POOL_MODES.includes(s.poolMode)) fail("poolMode", `must be one of ${POOL_MODES.join(", ")}`, s.poolMode);
  int("defaultPoolSize", s.defaultPoolSize, 1, 10000);
  int("maxClientConn", s.maxClientConn, 1, 100000);
  int("reservePoolSize", s.reservePoolSize, 0, 10000);
  int("reservePoolTimeout", s.reservePoolTimeout, 0, 86400);
  int("queryWaitTimeout", s.queryWaitTimeout, 0, 86400);
  if (s.defaultPoolSize + s.reservePoolSize > s.maxClientConn) {
    fail("defaultPoolSize", `plus reservePoolSize (${s.defaultPoolSize} + ${s.reservePoolSize}) exceeds maxClientConn (${s.maxClientConn})`);
  }
  names("adminUsers", s.adminUsers, "pgbouncer_admin", 1);
  if (s.statsUsers !== undefined) names("statsUsers", s.statsUsers, "pgbouncer_stats", 0);
  const ignore = s.ignoreStartupParameters ?? ["extra_float_digits"];
  names("ignoreStartupParameters", ignore, "extra_float_digits", 0);
  if (s.unixSocketDir !== undefined) path("unixSocketDir", s.unixSocketDir, true);
  if (s.logfile !== undefined) path("logfile", s.logfile);
  if (s.pidfile !== undefined) path("pidfile", s.pidfile);
  return { ...s, ignoreStartupParameters: ignore };
}

/** The [pgbouncer] section as ordered key/value pairs (shared by the ini and the env rendering). */
function pgbouncerKeys(c: Checked): Array<[string, string]> {
  const kv: Array<[string, string | undefined]> = [
    ["listen_addr", c.listenAddr],
    ["listen_port", String(c.listenPort)],
    ["unix_socket_dir", c.unixSocketDir],
    ["auth_type", c.auth.type],
    ["auth_file", c.auth.file],
    ["auth_user", c.auth.user],
    ["auth_query", c.auth.query],
    ["pool_mode", c.poolMode],
    ["default_pool_size", String(c.defaultPoolSize)],
    ["max_client_conn", String(c.maxClientConn)],
    ["reserve_pool_size", String(c.reservePoolSize)],
    ["reserve_pool_timeout", String(c.reservePoolTimeout)],
    ["query_wait_timeout", String(c.queryWaitTimeout)],
    ["admin_users", c.adminUsers.join(",")],
    ["stats_users", c.statsUsers?.length ? c.statsUsers.join(",") : undefined],
    ["ignore_startup_parameters", c.ignoreStartupParameters.join(",")],
  ];
  return kv.filter((e): e is [string, string] => e[1] !== undefined);
}

/** pgbouncer.ini text. No password appears in it (auth goes through auth_file / auth_query). */
export function renderPgbouncerIni(settings: PgbouncerSettings, header = "Rendered by Lazarus (renderers/pgbouncer.ts). Passwords live in the auth_file, never here."): string {
  const c = checkPgbouncerSettings(settings);
  const db = c.database;
  const dbLine = [`host=${db.host}`, `port=${db.port}`, `dbname=${db.dbname ?? db.name}`, ...(c.auth.user ? [`auth_user=${c.auth.user}`] : [])].join(" ");
  const lines = [
    ...header.split("\n").map((l) => `; ${l}`.trimEnd()),
    "[databases]",
    `${db.name} = ${dbLine}`,
    "",
    "[pgbouncer]",
    ...(c.logfile ? [`logfile = ${c.logfile}`] : []),
    ...(c.pidfile ? [`pidfile = ${c.pidfile}`] : []),
    ...pgbouncerKeys(c).map(([k, v]) => `${k} = ${v}`),
    "",
  ];
  return lines.join("\n");
}

/** Environment variables the edoburu/pgbouncer image turns into its [pgbouncer] keys (VAR -> var lower-cased). */
export const EDOBURU_PGBOUNCER_VARIABLES = [
  "LISTEN_ADDR", "LISTEN_PORT", "UNIX_SOCKET_DIR", "AUTH_TYPE", "AUTH_FILE", "AUTH_USER", "AUTH_QUERY", "POOL_MODE",
  "DEFAULT_POOL_SIZE", "MAX_CLIENT_CONN", "RESERVE_POOL_SIZE", "RESERVE_POOL_TIMEOUT", "QUERY_WAIT_TIMEOUT",
  "ADMIN_USERS", "STATS_USERS", "IGNORE_STARTUP_PARAMETERS",
] as const;

/** Secret variables the compose service takes from the .env (the image writes its userlist from them). */
export const PGBOUNCER_SECRET_ENV = ["DB_USER", "DB_PASSWORD"] as const;

/**
 * The same settings as edoburu/pgbouncer environment variables: DB_HOST, DB_PORT, DB_NAME for the [databases] line and
 * one variable per [pgbouncer] key. No password: add PGBOUNCER_SECRET_ENV from the .env.
 */
export function pgbouncerEnv(settings: PgbouncerSettings): Record<string, string> {
  const c = checkPgbouncerSettings(settings);
  if (c.database.dbname !== undefined && c.database.dbname !== c.database.name) {
    fail("database.dbname", "differs from database.name, which the edoburu image cannot express (it serves DB_NAME under its own name); leave dbname out");
  }
  const env: Record<string, string> = { DB_HOST: c.database.host, DB_PORT: String(c.database.port), DB_NAME: c.database.name };
  for (const [k, v] of pgbouncerKeys(c)) env[k.toUpperCase()] = v;
  return env;
}

export interface PgbouncerUser {
  name: string;
  /** The password in clear (auth_type plain/scram-sha-256) or a stored verifier ("md5..." / "SCRAM-SHA-256$..."). */
  password: string;
}

/** auth_file text: `"user" "password"` per line, `"` doubled. A secret: ship with mode 0600, never in a plan. */
export function renderPgbouncerUserlist(users: PgbouncerUser[]): string {
  if (!Array.isArray(users) || users.length === 0) fail("users", "must list at least one user");
  return users
    .map((u, i) => {
      ident(`users[${i}].name`, u?.name, "app");
      // The message never carries the password.
      if (typeof u.password !== "string" || u.password === "" || /[\n\r\0]/.test(u.password)) fail(`users[${i}].password`, "must be a non-empty single line");
      const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
      return `${q(u.name)} ${q(u.password)}\n`;
    })
    .join("");
}
