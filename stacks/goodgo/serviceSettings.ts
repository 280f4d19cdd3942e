// GoodGo's data services as runbook 001 configures them, in the shapes the generic renderers take: Redis (section
// 3.2), PgBouncer (section 3.1) and the pg-backup schedule (sections 4.1 and 9). Pure data and defaults; the stack
// fills in its config (stacks/goodgo/inventory.ts, stacks/goodgo.ts).
import type { BackupSchedule } from "../../renderers/backupSchedule";
import type { PgbouncerSettings } from "../../renderers/pgbouncer";
import type { RedisSettings } from "../../renderers/redisConf";

/** Where the GoodGo redis service finds its files (read-only bind mounts). */
export const GOODGO_REDIS_PATHS = {
  conf: "/usr/local/etc/redis/redis.conf",
  acl: "/usr/local/etc/redis/users.acl",
  dir: "/data",
} as const;

/** The compose command for the redis service: the image's redis-server with the rendered file, nothing on argv. */
export function goodgoRedisCommand(): string[] {
  return ["redis-server", GOODGO_REDIS_PATHS.conf];
}

/** Section 3.2's Redis: 512 MB, allkeys-lru, AOF everysec, password through the ACL file. */
export function goodgoRedisSettings(o: { maxmemoryMb?: number } = {}): RedisSettings {
  return {
    bind: ["0.0.0.0"],
    port: 6379,
    dir: GOODGO_REDIS_PATHS.dir,
    maxmemoryMb: o.maxmemoryMb ?? 512,
    maxmemoryPolicy: "allkeys-lru",
    appendonly: true,
    appendfsync: "everysec",
    save: [],
    aclfile: GOODGO_REDIS_PATHS.acl,
    logfile: "",
  };
}

export interface GoodgoPgbouncerOptions {
  /** PGBOUNCER_POOL_SIZE (section 3.1: 20). */
  poolSize?: number;
  /** PGBOUNCER_MAX_CLIENT_CONN (section 3.1: 200). */
  maxClientConn?: number;
  dbName?: string;
  dbHost?: string;
  dbPort?: number;
  listenAddr?: string;
  listenPort?: number;
  authFile?: string;
  adminUsers?: string[];
}

/** Section 3.1's PgBouncer: transaction pooling, pool 20, 200 clients, reserve 5 after 3 s, query wait timeout 120 s. */
export function goodgoPgbouncerSettings(o: GoodgoPgbouncerOptions = {}): PgbouncerSettings {
  return {
    listenAddr: o.listenAddr ?? "0.0.0.0",
    listenPort: o.listenPort ?? 6432,
    database: { name: o.dbName ?? "goodgo", host: o.dbHost ?? "postgres", port: o.dbPort ?? 5432 },
    auth: { type: "scram-sha-256", file: o.authFile ?? "/etc/pgbouncer/userlist.txt" },
    poolMode: "transaction",
    defaultPoolSize: o.poolSize ?? 20,
    maxClientConn: o.maxClientConn ?? 200,
    reservePoolSize: 5,
    reservePoolTimeout: 3,
    queryWaitTimeout: 120,
    adminUsers: o.adminUsers ?? ["pgbouncer_admin"],
    ignoreStartupParameters: ["extra_float_digits"],
  };
}

/** Section 4.1/9's schedule. */
export const GOODGO_BACKUP_SCHEDULE: BackupSchedule = { backupAt: "02:00", verifyAt: "04:00" };
