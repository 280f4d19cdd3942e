// Redis configuration (maxmemory and its eviction policy, AOF or RDB persistence, bind and port), rendered from one
// typed settings object. Pure: no Pulumi, no I/O.
//   - renderRedisConf(settings): redis.conf. It never holds a password (no `requirepass`): the password is set on the
//     default user in an ACL file (`aclfile`), shipped separately;
//   - renderRedisAcl(users): that ACL file. Passwords are stored as SHA-256 hashes (`#<hex>`), which Redis accepts in
//     ACL files, so not even the secret file holds a password in clear; it is still shipped with mode 0600.
// Clients (redis-cli in the health check, the API) authenticate as the default user with the password, e.g.
// REDISCLI_AUTH from the .env's REDIS_PASSWORD.
// Input is validated; every error names the field, what was expected and what was given.
import { createHash } from "node:crypto";
import { refuseField } from "./renderInputError";

export type MaxmemoryPolicy =
  | "noeviction" | "allkeys-lru" | "allkeys-lfu" | "allkeys-random" | "volatile-lru" | "volatile-lfu" | "volatile-random" | "volatile-ttl";
export type Appendfsync = "always" | "everysec" | "no";

export interface RedisSettings {
  /** Addresses to listen on ("0.0.0.0" in the container, "127.0.0.1" for host-local). */
  bind: string[];
  port: number;
  /** Working directory: the AOF directory (appendonlydir/) and dump.rdb live here (/data, the redis_data volume). */
  dir: string;
  /** The memory limit in MiB (e.g. 512). */
  maxmemoryMb: number;
  /** What is evicted at the limit (allkeys-lru for a cache). */
  maxmemoryPolicy: MaxmemoryPolicy;
  /** AOF persistence on or off. */
  appendonly: boolean;
  appendfsync: Appendfsync;
  /** RDB snapshot rules as "<seconds> <changes>" pairs; [] disables RDB snapshots (AOF is the persistence). */
  save?: string[];
  /** ACL file with the users and their password hashes (renderRedisAcl); absent means no password (tests only). */
  aclfile?: string;
  /** Log file; "" logs to stdout (the container's log). */
  logfile?: string;
  /** Run in the background (never in a container). */
  daemonize?: boolean;
  pidfile?: string;
  /** Refuse outside clients when no password is set (default yes). */
  protectedMode?: boolean;
}

function fail(field: string, problem: string, got?: unknown): never {
  refuseField("redis", field, got === undefined ? problem : `${problem}, got ${JSON.stringify(got)}`);
}

const POLICIES: readonly MaxmemoryPolicy[] = [
  "noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
];
const FSYNC: readonly Appendfsync[] = ["always", "everysec", "no"];
const ALLOWED = ["bind", "port", "dir", "maxmemoryMb", "maxmemoryPolicy", "appendonly", "appendfsync", "save", "aclfile", "logfile", "daemonize", "pidfile", "protectedMode"];

function absPath(field: string, v: unknown): string {
  if (typeof v !== "string" || !v.startsWith("/") || /[\s"'\\]/.test(v)) fail(field, "must be an absolute path without spaces or quotes (example: /data)", v);
  return v;
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== "boolean") fail(field, "must be true or false", v);
  return v;
}

/** redis.conf text. No password appears in it (the default user's password is in the ACL file). */
export function renderRedisConf(s: RedisSettings, header = "Rendered by Lazarus (renderers/redisConf.ts). The password is in the ACL file, never here."): string {
  if (typeof s !== "object" || s === null) fail("(settings)", "must be an object");
  for (const k of Object.keys(s)) {
    if (ALLOWED.includes(k)) continue;
    if (/pass/i.test(k)) fail(k, "passwords never go into redis.conf: set them on the default user in the ACL file (renderRedisAcl) named by aclfile");
    fail(k, `is not a known setting (allowed: ${ALLOWED.join(", ")})`);
  }
  if (!Array.isArray(s.bind) || s.bind.length === 0) fail("bind", "must list at least one address (example: [0.0.0.0])", s.bind);
  s.bind.forEach((b, i) => {
    if (typeof b !== "string" || !/^((\d{1,3}\.){3}\d{1,3}|::1?|-?::\*|\*)$/.test(b)) fail(`bind[${i}]`, "must be an IP address (example: 127.0.0.1)", b);
  });
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) fail("port", "must be a port from 1 to 65535", s.port);
  absPath("dir", s.dir);
  if (!Number.isInteger(s.maxmemoryMb) || s.maxmemoryMb < 1 || s.maxmemoryMb > 1024 * 1024) fail("maxmemoryMb", "must be a whole number of MB >= 1 (example: 512)", s.maxmemoryMb);
  if (!POLICIES.includes(s.maxmemoryPolicy)) fail("maxmemoryPolicy", `must be one of ${POLICIES.join(", ")}`, s.maxmemoryPolicy);
  bool("appendonly", s.appendonly);
  if (!FSYNC.includes(s.appendfsync)) fail("appendfsync", `must be one of ${FSYNC.join(", ")}`, s.appendfsync);
  const save = s.save ?? [];
  if (!Array.isArray(save)) fail("save", 'must be a list of "<seconds> <changes>" rules (example: ["3600 1"]) or []', save);
  save.forEach((r, i) => {
    if (typeof r !== "string" || !/^\d+ \d+$/.test(r)) fail(`save[${i}]`, 'must be "<seconds> <changes>" (example: "3600 1")', r);
  });
  if (s.aclfile !== undefined) absPath("aclfile", s.aclfile);
  if (s.logfile !== undefined && s.logfile !== "") absPath("logfile", s.logfile);
  if (s.pidfile !== undefined) absPath("pidfile", s.pidfile);
  const daemonize = s.daemonize === undefined ? false : bool("daemonize", s.daemonize);
  const protectedMode = s.protectedMode === undefined ? true : bool("protectedMode", s.protectedMode);

  const lines = [
    ...header.split("\n").map((l) => `# ${l}`.trimEnd()),
    `bind ${s.bind.join(" ")}`,
    `port ${s.port}`,
    `protected-mode ${protectedMode ? "yes" : "no"}`,
    `daemonize ${daemonize ? "yes" : "no"}`,
    ...(s.pidfile ? [`pidfile ${s.pidfile}`] : []),
    `logfile "${s.logfile ?? ""}"`,
    `dir ${s.dir}`,
    "dbfilename dump.rdb",
    save.length ? save.map((r) => `save ${r}`).join("\n") : 'save ""',
    `maxmemory ${s.maxmemoryMb}mb`,
    `maxmemory-policy ${s.maxmemoryPolicy}`,
    `appendonly ${s.appendonly ? "yes" : "no"}`,
    `appendfsync ${s.appendfsync}`,
    'appenddirname "appendonlydir"',
    "aof-use-rdb-preamble yes",
    ...(s.aclfile ? [`aclfile ${s.aclfile}`] : []),
    "",
  ];
  return lines.join("\n");
}

export interface RedisAclUser {
  /** "default" is the user clients get without AUTH <user>; redis-cli's REDISCLI_AUTH authenticates as it. */
  name: string;
  password: string;
  /** ACL rules (default: everything, "~* &* +@all"). */
  rules?: string;
}

/** The ACL file: one `user <name> on #<sha256> <rules>` line per user. Secret-adjacent: ship with mode 0600. */
export function renderRedisAcl(users: RedisAclUser[]): string {
  if (!Array.isArray(users) || users.length === 0) fail("users", "must list at least one user (example: [{name: default, password}])");
  if (!users.some((u) => u?.name === "default")) fail("users", 'must include the "default" user (otherwise it stays open without a password)');
  return users
    .map((u, i) => {
      if (typeof u?.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(u.name)) fail(`users[${i}].name`, "must be a user name of letters, digits, _ . -", u?.name);
      // The message never carries the password.
      if (typeof u.password !== "string" || u.password.length === 0) fail(`users[${i}].password`, "must be a non-empty string");
      const rules = u.rules ?? "~* &* +@all";
      if (/[\n\r]/.test(rules) || /(^|\s)[>#<!]/.test(rules)) fail(`users[${i}].rules`, "must be ACL rules without passwords or hashes (example: ~* &* +@all)", rules);
      return `user ${u.name} on #${createHash("sha256").update(u.password, "utf8").digest("hex")} ${rules}\n`;
    })
    .join("");
}
