// `lazarus:pencom`: the Pencom platform's stack config (runbook 000, "Pencom Platform (On-Premises)"): servers that
// already exist (no cloud), the eight Node services under PM2, the connection settings of PostgreSQL (two databases),
// MongoDB, Redis (BullMQ) and the read-only Oracle database, recovery switches and runbook operations.
import { z } from "zod";
import { duplicateOperationIds, requireConfirm, type Problem } from "../../config/checks";
import { restoredCopyExample, swapInProblems, swapInSchema } from "../../config/swapIn";
import { absolutePath, hostAddress, hourOfDay, operationId, port, spacesBucketName, spacesRegion, sqlName, unixUser } from "../../config/primitives";
import type { SecretSpec } from "../../config/secrets";
import { existingServerSchema, hostSchema, pm2Schema } from "../../config/shared";
import { POINT_IN_TIME } from "../../lib/postgresPitr";
import { PENCOM_SERVICE_NAMES } from "./inventory";

const serviceName = z.enum(PENCOM_SERVICE_NAMES as [string, ...string[]], {
  message: `is not a Pencom service (one of ${PENCOM_SERVICE_NAMES.join(", ")}; example: core)`,
});
const label = z.string().regex(/^[a-z0-9][a-z0-9_]{0,15}$/, { message: "is not a restore label (lowercase letters, digits, _; up to 16; example: 20261201)" });

/** Pencom runs on-premises: only servers that already exist. A droplet key is refused with the reason. */
const dropletKey = z
  .never({ message: "is a droplet setting, but Pencom is on-premises: host must be {existing: {address, user, port}} (example: {existing: {address: 10.20.0.11, user: root, port: 22}})" })
  .optional();
const onPremHost = z.strictObject({
  existing: existingServerSchema,
  ...(Object.fromEntries(Object.keys(hostSchema.shape).map((k) => [k, dropletKey])) as Record<keyof typeof hostSchema.shape, typeof dropletKey>),
});

/** Where one service answers its readiness check (on the host's loopback). */
const serviceSettings = z.strictObject({
  port,
  healthPath: z.string().regex(/^\/[A-Za-z0-9_./-]*$/, { message: "is not a URL path (example: /health)" }).default("/health"),
});

const operationSchema = z.discriminatedUnion(
  "action",
  [
    /** The seed's "Starting Up Services": every service, tier by tier, each tier once the previous one is ready. */
    z.strictObject({ id: operationId, action: z.literal("start-all") }),
    /** The seed's "Shutting Down Services": reverse tiers with `pm2 stop` (never pkill, which PM2 would undo). */
    z.strictObject({ id: operationId, action: z.literal("graceful-shutdown"), confirm: z.string().optional() }),
    z.strictObject({ id: operationId, action: z.literal("restart-service"), service: serviceName }),
    z.strictObject({ id: operationId, action: z.literal("stop-service"), service: serviceName, confirm: z.string().optional() }),
    z.strictObject({ id: operationId, action: z.literal("start-service"), service: serviceName }),
    /** The seed's Redis Recovery: "re-trigger any critical background jobs": the failed jobs of one BullMQ queue. */
    z.strictObject({
      id: operationId,
      action: z.literal("retry-failed-jobs"),
      queue: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, { message: "is not a BullMQ queue name (example: payments)" }),
    }),
    /** The incident checklist's "pm2 status", with readiness and the stores each service needs. */
    z.strictObject({ id: operationId, action: z.literal("status") }),
  ],
  {
    message:
      "is not a Pencom operation (actions: start-all, graceful-shutdown, restart-service, stop-service, start-service, retry-failed-jobs, status; example: {id: 2026-12-01-restart-core, action: restart-service, service: core})",
  },
);
export type PencomOperation = z.infer<typeof operationSchema>;
export const PENCOM_OPERATION_ACTIONS = operationSchema.options.map((o) => o.shape.action.value);

/**
 * Restore the core database into a new database beside the live one: from a backup file on the host (`backup`), or
 * (`pointInTime`, needs `postgres.pitr`) from the pgBackRest repository on the PostgreSQL server, recovered to that
 * moment in a scratch cluster and dumped (stacks/pencom/pitr.ts). One of the two.
 */
const coreDatabaseRestoreSchema = z.strictObject({
  /** Names this restore's steps; a new label restores again. */
  label,
  /** A pg_dump custom-format archive or a plain SQL dump on the host, with its `sha256sum` sidecar (`<file>.sha256`). */
  backup: absolutePath.optional(),
  /** "latest" (the end of the archived WAL) or a UTC time such as "2026-11-23T02:00:00Z". */
  pointInTime: z.string().regex(POINT_IN_TIME, { message: 'is not a point in time (example: latest, or a UTC time such as "2026-11-23T02:00:00Z")' }).optional(),
  /** Second switch: point core's .env at the restored database and restart core (the live database is kept). */
  cutover: z.boolean().default(false),
  /**
   * Instead of backup/pointInTime (and not with cutover): the copy an earlier run restored (its result line names it,
   * pencom_core_db2_restore_<timestamp>) and the operator verified takes the live name (pg-restore.sh --swap-in, only a
   * copy with the completion proof), core stopped around it; core's .env names the live database again.
   */
  swapIn: swapInSchema("pencom_core_db2_restore_20261201021500").optional(),
  confirm: z.string().optional(),
});

const wholeNumber = (what: string, min: number, max: number, example: number) =>
  z
    .number({ message: `is not ${what} (example: ${example})` })
    .int({ message: `is not a whole number: ${what} ${min}-${max} (example: ${example})` })
    .min(min, { message: `is not ${what} ${min}-${max} (example: ${example})` })
    .max(max, { message: `is not ${what} ${min}-${max} (example: ${example})` });

/**
 * Point-in-time recovery of the PostgreSQL server (issue 14; stacks/pencom/pitr.ts): WAL archived with pgBackRest
 * into a repository on that server, full and differential backups from systemd timers. Lazarus reaches the server
 * over SSH (the infrastructure team's host, with pgBackRest installed) and restarts its PostgreSQL once to turn
 * archiving on.
 */
const pitrSchema = z.strictObject({
  /** The SSH login of the PostgreSQL server (the key is pencomSshPrivateKey); steps there run as root. */
  server: existingServerSchema,
  /** The Debian/Ubuntu cluster: /etc/postgresql/<version>/<cluster>, /var/lib/postgresql/<version>/<cluster>. */
  version: z.string().regex(/^1[0-9]$/, { message: 'is not a PostgreSQL major version (example: "15")' }).default("15"),
  cluster: z.string().regex(/^[a-z0-9_-]{1,32}$/, { message: "is not a Debian cluster name (example: main)" }).default("main"),
  /** The posix repository on the server. */
  repoPath: absolutePath.default("/var/lib/pgbackrest"),
  /** Full backups kept; each keeps its differentials and the WAL to replay from it. */
  retentionFull: wholeNumber("a number of full backups", 1, 30, 2).default(2),
  /** archive_timeout: a WAL segment is shipped at least this often, so at most this much committed data is lost. */
  archiveTimeoutSeconds: wholeNumber("a number of seconds", 10, 3600, 60).default(60),
  /** The backups' time (UTC): the full backup on fullBackupWeekday, a differential every other day. */
  backupAt: hourOfDay.default("01:00"),
  fullBackupWeekday: wholeNumber("a day of the week (0 = Sunday)", 0, 6, 0).default(0),
  /** Where a point-in-time restore's scratch cluster and its dump go on the server (room for a whole cluster). */
  scratchRoot: absolutePath.default("/var/lib/pgbackrest-restore"),
  /** The scratch cluster's port (localhost only, while it recovers and is dumped). */
  scratchPort: port.default(5433),
  /**
   * A second repository off the server (repo2): a DigitalOcean Spaces bucket, encrypted, every WAL segment pushed to
   * both, its own backups and retention; what `recovery.postgresServer` restores from when the server is lost.
   */
  offsite: z
    .strictObject({
      bucket: spacesBucketName,
      region: spacesRegion,
      /** Where in the bucket the repository is. */
      path: z
        .string()
        .regex(/^\/[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_-]*)*$/, { message: "is not a bucket path starting with / and without a trailing / (example: /pgbackrest)" })
        .default("/pgbackrest"),
      /** Full backups kept there (with their differentials and WAL); the bucket has no lifecycle rule of its own. */
      retentionFull: wholeNumber("a number of full backups", 1, 30, 4).default(4),
      /** The bucket exists and another stack (or a person) keeps it: used, not declared. */
      existing: z.boolean().default(false),
    })
    .optional(),
});

/**
 * The loss of the PostgreSQL server: on its replacement (same `postgres.pitr.server` login, PostgreSQL and pgBackRest
 * installed, the cluster empty) the whole cluster restored from the off-site repository (postgres.pitr.offsite) to
 * `pointInTime`, started in place; then the pgBackRest files and setup run again on the new machine. Once it has run,
 * `done: true` (GoodGo's recovery.host pattern): the label stays in the server's machine id, so nothing there runs
 * again, and the restore is no longer declared.
 */
const postgresServerRestoreSchema = z.strictObject({
  /**
   * Names this restore and is part of the PostgreSQL server's machine id: the step runs once per label, and a label
   * taken away (or changed) makes every step on that server run again as on a new machine.
   */
  label: z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? "is missing: it names the restore and is part of the PostgreSQL server's machine id; keep the label the restore ran with, also with done: true, or every step on that server runs again as on a new machine (example: {label: r1, done: true})"
          : "is not a restore label (lowercase letters, digits, _; up to 16; example: r1)",
    })
    .regex(/^[a-z0-9][a-z0-9_]{0,15}$/, { message: "is not a restore label (lowercase letters, digits, _; up to 16; example: r1)" }),
  /** "latest" (the end of the WAL that reached the bucket) or a UTC time such as "2026-11-23T02:00:00Z". */
  pointInTime: z.string().regex(POINT_IN_TIME, { message: 'is not a point in time (example: latest, or a UTC time such as "2026-11-23T02:00:00Z")' }).default("latest"),
  /**
   * The restore has run: the switch stays as the record. Its label stays in the server's machine id (the server's
   * steps do not run again) and the restore command is no longer declared; no confirmation is needed any more.
   */
  done: z.boolean({ message: "is not true or false (example: done: true)" }).default(false),
  confirm: z.string().optional(),
});

/** Restore the notifications MongoDB database from a mongodump archive into a new database, then cut over. */
const notificationsRestoreSchema = z.strictObject({
  label,
  /** `mongodump --archive=<file> --gzip` output on the host, with its sha256 sidecar. */
  archive: absolutePath,
  cutover: z.boolean().default(false),
  confirm: z.string().optional(),
});

export const pencomSchema = z.strictObject({
  enabled: z.boolean().default(true),
  host: onPremHost,
  app: z
    .strictObject({
      /** The seed's `cd /path/to/pencom-project`: where dist/apps/... is. */
      dir: absolutePath,
      /** The user PM2 and the services run as (created when missing; never root). */
      user: unixUser.default("pencom"),
      nodeEnv: z.string().regex(/^[a-z]+$/, { message: "is not a NODE_ENV value (example: production)" }).default("production"),
      /** Seconds a service has to become ready after it starts (the seed's "sleep 5", made a check with a limit). */
      readyTimeoutSeconds: z.number().int().min(5, { message: "is not a number of seconds of at least 5 (example: 60)" }).default(60),
      /** Milliseconds PM2 waits after SIGINT before SIGKILL on stop. */
      killTimeoutMs: z.number().int().min(1000, { message: "is not a number of milliseconds of at least 1000 (example: 10000)" }).default(10000),
    }),
  /** Where each of the eight services answers its readiness check, by the seed's PM2 name. */
  services: z.strictObject(Object.fromEntries(PENCOM_SERVICE_NAMES.map((n) => [n, serviceSettings])) as Record<string, typeof serviceSettings>),
  /** The runbook's PM2 and its Log Rotation settings. */
  pm2: pm2Schema,
  /** The on-premises PostgreSQL server and the seed's two databases. */
  postgres: z.strictObject({
    host: hostAddress,
    port: port.default(5432),
    /** The role restores run as: it creates the restored database with the live one's owner (a superuser, usually). */
    adminUser: sqlName("database user", "postgres").default("postgres"),
    sslmode: z.enum(["disable", "prefer", "require", "verify-full"], { message: "is not a libpq sslmode (example: require)" }).default("prefer"),
    core: z.strictObject({ database: sqlName("database name", "pencom_core_db2").default("pencom_core_db2"), user: sqlName("database user", "pencom_core") }),
    integrations: z.strictObject({
      database: sqlName("database name", "pencom_external_integrations").default("pencom_external_integrations"),
      user: sqlName("database user", "pencom_integrations"),
    }),
    pitr: pitrSchema.optional(),
  }),
  mongodb: z.strictObject({
    host: hostAddress,
    port: port.default(27017),
    database: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, { message: "is not a MongoDB database name (example: pencom_notifications)" }),
    user: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: "is not a MongoDB user (example: pencom_notifications)" }),
    authSource: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, { message: "is not a MongoDB auth database (example: admin)" }).default("admin"),
  }),
  /** Redis for BullMQ queues and the cache. */
  redis: z.strictObject({
    host: hostAddress,
    port: port.default(6379),
    db: z.number().int().min(0).max(15, { message: "is not a Redis database number 0-15 (example: 0)" }).default(0),
    /** BullMQ's key prefix (its default is "bull"). */
    queuePrefix: z.string().regex(/^[A-Za-z0-9_:-]{1,32}$/, { message: "is not a BullMQ prefix (example: bull)" }).default("bull"),
  }),
  /** The read-only Oracle database external-integrations syncs from (PENCOM IT's). */
  oracle: z.strictObject({
    host: hostAddress,
    port: port.default(1521),
    serviceName: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, { message: "is not an Oracle service name (example: PENCOM)" }),
    user: z.string().regex(/^[A-Za-z0-9_$#]{1,128}$/, { message: "is not an Oracle user (example: PENCOM_RO)" }),
  }),
  recovery: z
    .strictObject({
      coreDatabase: coreDatabaseRestoreSchema.optional(),
      notificationsDatabase: notificationsRestoreSchema.optional(),
      postgresServer: postgresServerRestoreSchema.optional(),
    })
    .prefault({}),
  operations: z.array(operationSchema).default([]),
});
export type PencomConfig = z.infer<typeof pencomSchema>;

export const PENCOM_SECRETS = {
  pencomSshPrivateKey: {
    description: "the private half of an SSH key authorized for host.existing.user on the Pencom server (and for postgres.pitr.server.user on the PostgreSQL server when postgres.pitr is set)",
    setWith: "pulumi config set --secret --stack <stack> pencomSshPrivateKey < ~/.ssh/lazarus_pencom_ed25519",
  },
  pencomCoreDbPassword: {
    description: "password of postgres.core.user (core's DATABASE_URL)",
    setWith: "pulumi config set --secret --stack <stack> pencomCoreDbPassword '<from the infrastructure team>'",
  },
  pencomIntegrationsDbPassword: {
    description: "password of postgres.integrations.user (external-integrations' DATABASE_URL)",
    setWith: "pulumi config set --secret --stack <stack> pencomIntegrationsDbPassword '<from the infrastructure team>'",
  },
  pencomMongoPassword: {
    description: "password of mongodb.user (notifications' MONGODB_URI)",
    setWith: "pulumi config set --secret --stack <stack> pencomMongoPassword '<from the infrastructure team>'",
  },
  pencomRedisPassword: {
    description: "Redis password (REDIS_PASSWORD, BullMQ's connection)",
    setWith: "pulumi config set --secret --stack <stack> pencomRedisPassword '<from the infrastructure team>'",
  },
  pencomOraclePassword: {
    description: "password of oracle.user, read-only (the seed: Oracle DB credentials, on the server)",
    setWith: "pulumi config set --secret --stack <stack> pencomOraclePassword '<from PENCOM IT>'",
  },
  pencomPostgresAdminPassword: {
    description: "password of postgres.adminUser, used only by recovery.coreDatabase's restore",
    setWith: "pulumi config set --secret --stack <stack> pencomPostgresAdminPassword '<from the infrastructure team>'",
  },
  pencomSpacesAccessKey: {
    description: "access key id of a DigitalOcean Spaces key that may read and write postgres.pitr.offsite.bucket (pgBackRest's repo2)",
    setWith: "pulumi config set --secret --stack <stack> pencomSpacesAccessKey DO00EXAMPLEKEYID",
  },
  pencomSpacesSecretKey: {
    description: "secret of that DigitalOcean Spaces key",
    setWith: "pulumi config set --secret --stack <stack> pencomSpacesSecretKey < spaces-secret.txt",
  },
  pencomPgbackrestCipherPass: {
    description: "passphrase pgBackRest encrypts the off-site repository with (repo2-cipher-pass); keep a copy outside Pulumi: without it the bucket cannot be read",
    setWith: "openssl rand -base64 48 | tr -d '\\n' | pulumi config set --secret --stack <stack> pencomPgbackrestCipherPass",
  },
  pencomAppEnv: {
    description: "the application's own secrets every service reads (JWT keys, vendor keys: the seed's server .env), as KEY=value lines",
    setWith: "pulumi config set --secret --stack <stack> pencomAppEnv < pencom-app-secrets.env",
  },
} as const satisfies Record<string, SecretSpec>;

export function pencomRequiredSecrets(cfg: PencomConfig): string[] {
  // A point-in-time restore runs on the PostgreSQL server as its OS user over the local socket: no password.
  const adminPassword = cfg.recovery.coreDatabase !== undefined && cfg.recovery.coreDatabase.pointInTime === undefined;
  const offsite = cfg.postgres.pitr?.offsite !== undefined;
  const needed: Record<string, boolean> = { pencomPostgresAdminPassword: adminPassword, pencomSpacesAccessKey: offsite, pencomSpacesSecretKey: offsite, pencomPgbackrestCipherPass: offsite };
  return Object.keys(PENCOM_SECRETS).filter((k) => needed[k] ?? true);
}

export function pencomProblems(cfg: PencomConfig, stack: string): Problem[] {
  const problems: Problem[] = [...duplicateOperationIds(cfg.operations)];
  if (cfg.app.user === "root") problems.push({ path: "app.user", message: "is root; the services must not run as root (example: pencom)" });
  const ports = new Map<number, string>();
  for (const name of PENCOM_SERVICE_NAMES) {
    const p = cfg.services[name]!.port;
    if (ports.has(p)) problems.push({ path: `services.${name}.port`, message: `${p} is ${ports.get(p)}'s port too; each service needs its own (example: ${p + 1})` });
    ports.set(p, name);
  }
  if (cfg.postgres.core.database === cfg.postgres.integrations.database) {
    problems.push({ path: "postgres.integrations.database", message: "is core's database too; the seed has two (example: pencom_external_integrations)" });
  }
  cfg.operations.forEach((op, i) => {
    if (op.action === "graceful-shutdown") {
      problems.push(...requireConfirm(stack, "pencom", "graceful-shutdown", op.confirm, `operations[${i}].confirm`, "a graceful shutdown stops all eight services"));
    } else if (op.action === "stop-service") {
      problems.push(...requireConfirm(stack, "pencom", "stop-service", op.confirm, `operations[${i}].confirm`, `stopping ${op.service} takes it offline`));
    }
  });
  const core = cfg.recovery.coreDatabase;
  if (core?.swapIn !== undefined) {
    problems.push(
      ...swapInProblems({
        stack, platform: "pencom", path: "recovery.coreDatabase", database: cfg.postgres.core.database, swapIn: core.swapIn, confirm: core.confirm, confirmWhat: "core-database-cutover",
        ends: "core's database sessions (core is stopped first)",
        alongside: { cutover: core.cutover, backup: core.backup !== undefined, pointInTime: core.pointInTime !== undefined },
      }),
    );
  } else if (core && core.backup === undefined && core.pointInTime === undefined) {
    problems.push({ path: "recovery.coreDatabase", message: `needs backup (a pg_dump file on the host), pointInTime (the pgBackRest repository, with postgres.pitr) or swapIn (a copy an earlier restore made); example: {label: r1, backup: /var/backups/pencom/core.dump}, {label: r1, pointInTime: "2026-11-23T02:00:00Z"} or {label: r1, swapIn: ${restoredCopyExample(cfg.postgres.core.database)}}` });
  }
  if (core?.swapIn === undefined && core?.backup !== undefined && core.pointInTime !== undefined) {
    problems.push({ path: "recovery.coreDatabase.pointInTime", message: `cannot be combined with backup "${core.backup}": pointInTime restores from the pgBackRest repository, backup from a pg_dump file; keep one (example: pointInTime: latest)` });
  }
  if (core?.pointInTime !== undefined && cfg.postgres.pitr === undefined) {
    problems.push({ path: "recovery.coreDatabase.pointInTime", message: "needs postgres.pitr (WAL archiving on the PostgreSQL server), which this stack does not set (example: postgres: {pitr: {server: {address: 10.20.0.12}}})" });
  }
  if (core?.pointInTime !== undefined && core.pointInTime !== "latest" && Date.parse(core.pointInTime) > Date.now()) {
    problems.push({ path: "recovery.coreDatabase.pointInTime", message: `"${core.pointInTime}" is in the future; name a moment that has passed, or latest (example: 2026-11-23T02:00:00Z)` });
  }
  const pitr = cfg.postgres.pitr;
  if (pitr && pitr.scratchPort === cfg.postgres.port) {
    problems.push({ path: "postgres.pitr.scratchPort", message: `${pitr.scratchPort} is the live server's port (postgres.port); the scratch cluster needs another (example: ${pitr.scratchPort + 1})` });
  }
  if (core?.cutover && core.swapIn === undefined) {
    problems.push(...requireConfirm(stack, "pencom", "core-database-cutover", core.confirm, "recovery.coreDatabase.confirm", "a cutover points core at the restored database (writes since the backup stay in the old one)"));
  }
  // A switch marked done restores nothing any more: it only keeps its label in the server's machine id.
  const server = cfg.recovery.postgresServer;
  const restoring = server !== undefined && !server.done;
  if (restoring && pitr?.offsite === undefined) {
    problems.push({
      path: "recovery.postgresServer",
      message: "needs postgres.pitr.offsite (the off-site repository survives the server; the one on it does not), which this stack does not set (example: postgres: {pitr: {offsite: {bucket: pencom-prod-pgbackrest, region: fra1}}})",
    });
  }
  if (restoring && server.pointInTime !== "latest" && Date.parse(server.pointInTime) > Date.now()) {
    problems.push({ path: "recovery.postgresServer.pointInTime", message: `"${server.pointInTime}" is in the future; name a moment that has passed, or latest (example: 2026-11-23T02:00:00Z)` });
  }
  if (restoring) {
    problems.push(...requireConfirm(stack, "pencom", "postgres-server-restore", server.confirm, "recovery.postgresServer.confirm", "the restore replaces the PostgreSQL server's cluster with the off-site copy"));
  }
  if (server?.done && server.confirm !== undefined) {
    problems.push({
      path: "recovery.postgresServer.confirm",
      message: `is set, but done: true says the restore of label ${server.label} has run and nothing of it runs again; remove confirm and keep label and done (to restore onto another replacement server, use a new label without done, confirmed)`,
    });
  }
  const mongo = cfg.recovery.notificationsDatabase;
  if (mongo?.cutover) {
    problems.push(
      ...requireConfirm(stack, "pencom", "notifications-database-cutover", mongo.confirm, "recovery.notificationsDatabase.confirm", "the cutover stops notifications and points it at the restored database"),
    );
  }
  return problems;
}
