// `lazarus:goodgo`: the GoodGo platform (runbook 001, "GoodGo Platform — Production Runbook"): one droplet running the
// 14-service docker compose project of section 1 (NestJS API, Next.js web, FastAPI AI services, PostgreSQL/PostGIS with
// PgBouncer, Redis, Typesense, MinIO, the pg-backup cron container and the Prometheus/Alertmanager/Grafana/Loki/Promtail
// monitoring stack), with daily backups copied off-site to a DigitalOcean Spaces bucket.
import { z } from "zod";
import { duplicateOperationIds, requireConfirm, type Problem } from "../../config/checks";
import { restoredCopyExample, swapInProblems, swapInSchema } from "../../config/swapIn";
import { absolutePath, email, hostname, hourOfDay, imageRef, imageTag, operationId, serviceName, spacesBucketName, spacesRegion } from "../../config/primitives";
import type { SecretSpec } from "../../config/secrets";
import { RenderInputError } from "../../renderers/renderInputError";
import { POINT_IN_TIME } from "../../lib/postgresPitr";
import { goodgoStackInventory } from "./inventory";
import { hostPlacement, hostRebuildProblems, hostSchema, isExistingHost, rebuildDone, snapshotChoice } from "../../config/shared";

/** Section 4.6: "Requirements: Docker >= 24, Docker Compose v2, 8 GB RAM minimum". */
export const GOODGO_MIN_MEMORY_GB = 8;

/**
 * RAM of a droplet size slug in GB, read from the slug itself: `s-4vcpu-8gb` -> 8, `s-1vcpu-512mb-10gb` -> 0.5,
 * `c-4` -> 8 (CPU-optimized droplets have 2 GB per vCPU), `g-2vcpu-8gb` -> 8. Undefined when the slug does not say.
 */
export function dropletMemoryGb(size: string): number | undefined {
  const cpuOptimized = /^c-(\d+)(-intel)?$/.exec(size);
  if (cpuOptimized) return Number(cpuOptimized[1]) * 2;
  const m = /^[a-z0-9_]+-\d+vcpu-(\d+)(gb|mb)/.exec(size);
  if (!m) return undefined;
  return m[2] === "gb" ? Number(m[1]) : Number(m[1]) / 1024;
}

const goodgoHostSchema = hostSchema.extend({
  // A slug the size pattern rejects has no readable memory; that pattern's own message covers it.
  size: hostSchema.shape.size.refine((s) => (dropletMemoryGb(s) ?? Infinity) >= GOODGO_MIN_MEMORY_GB, {
    message: `has less than the ${GOODGO_MIN_MEMORY_GB} GB RAM minimum of runbook 001 section 4.6 (the 14 services' memory limits add up to more; example: s-4vcpu-8gb)`,
  }),
});

/** DigitalOcean regions that offer Spaces. */
const retention = z.string().regex(/^\d+[dhw]$/, { message: "is not a retention duration (example: 30d)" });

const days = (what: string, example: number, max = 3650) =>
  z
    .number({ message: `is not a number of days (example: ${example})` })
    .int({ message: `is not a whole number of days (example: ${example})` })
    .min(1, { message: `is not a number of days between 1 and ${max} for ${what} (example: ${example})` })
    .max(max, { message: `is not a number of days between 1 and ${max} for ${what} (example: ${example})` });

/** A backup file name as pg-backup.sh writes it by default, for examples in messages and the runbook. */
export const EXAMPLE_BACKUP_FILE = "goodgo_20261123T020000Z.dump.zst";

/**
 * How pg-backup.sh's archive names end (scripts/backup/lib-pg.sh's layout): .dump (gzip inside, or none) or .dump.zst,
 * then .age or .enc when encrypted. Both a JavaScript and a POSIX extended regular expression (the off-site fetch greps
 * the bucket's listing with it).
 */
export const BACKUP_NAME_END = String.raw`\.dump(\.zst)?(\.age|\.enc)?$`;

/** A backup to restore: "latest" or a file name as pg-backup.sh writes it (EXAMPLE_BACKUP_FILE; .dump for gzip or none). */
const backupChoice = z.string().refine((v) => v === "latest" || new RegExp(`^[A-Za-z0-9][A-Za-z0-9_.-]*${BACKUP_NAME_END}`).test(v), {
  message: `is not a backup choice (example: latest, or a file name such as "${EXAMPLE_BACKUP_FILE}")`,
});

/** Names a recovery run: part of its command resources' names, so a new label runs the recovery again. */
const runLabel = z.string().regex(/^[a-z0-9][a-z0-9-]{0,20}$/, { message: "is not a recovery label (example: 20261123)" });

/** Section 4.6 as ONE switch: a new host, data services first, an off-site backup restored, migrations, reindex, flush, apps. */
export const goodgoHostRecoverySchema = z.strictObject({
  label: runLabel,
  /** The new host's image: the base image (cloud-init installs everything) or a snapshot (an id; "latest" off prod). */
  fromSnapshot: snapshotChoice.optional(),
  snapshotNameRegex: z.string().optional(),
  /** The recovery has run: the droplet is protected again and nothing of the chain runs again. */
  done: rebuildDone,
  /**
   * What to restore into the new host's PostgreSQL (a new database, then cutover). "latest": the physical route (the
   * pgBackRest repository to the end of its archived WAL) when the repository has a backup, else the newest off-site
   * dump; a named dump file: that dump (the logical route).
   */
  backup: backupChoice.default("latest"),
  /**
   * The stanza the lost cluster archived to (default: the base stanza, "goodgo"). A recovered host runs a new database
   * system, so it archives to a stanza of its own, goodgo-<label>; after a second recovery, name the first one's here.
   */
  fromStanza: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: "is not a pgBackRest stanza (example: goodgo-r1)" }).optional(),
  /** Run `prisma migrate deploy` after the restore (the backup may predate the code). */
  migrate: z.boolean().default(true),
  /** On prod, must equal the value the error message names, because this replaces the live droplet. */
  confirm: z.string().optional(),
});
export type GoodgoHostRecovery = z.infer<typeof goodgoHostRecoverySchema>;

/** Section 4.4: rolling back is running another image tag; nothing else changes. */
export const goodgoRollbackSchema = z.strictObject({
  imageTag,
  /** Why, for the record in the stack file's history (shown in the plan). */
  reason: z.string().max(200, { message: "is longer than 200 characters (example: 5xx spike after deploy 8f3c2a1)" }).optional(),
});

/** A point in time to recover to: "latest" (the end of the archived WAL) or a UTC time. */
const pointInTime = z.string().regex(POINT_IN_TIME, {
  message: 'is not a point in time (example: latest, or a UTC time such as "2026-11-23T02:00:00Z")',
});

/**
 * Section 4.1: restore into a NEW database beside the live one, then (second switch) cut over. Either a named pg_dump
 * backup (`backup`, the logical route), or `pointInTime` (the physical route: the pgBackRest repository's backup and
 * archived WAL recovered to that moment in a scratch cluster, whose database is then restored beside the live one).
 */
export const goodgoDatabaseRestoreSchema = z.strictObject({
  label: runLabel,
  backup: backupChoice.optional(),
  pointInTime: pointInTime.optional(),
  /** Fetch the backup from the off-site bucket first (the local pg_backups volume is lost or does not have it). */
  fromOffsite: z.boolean().default(false),
  /** Swap the restored database in for the live one (the live one is kept as the rollback point). */
  cutover: z.boolean().default(false),
  /** Run `prisma migrate deploy` after the cutover. */
  migrate: z.boolean().default(true),
  /**
   * The second run of the switch: the copy an earlier run restored beside the live database (its result line names
   * it, goodgo_restore_<timestamp>) and the operator verified, swapped in by name (pg-restore.sh --swap-in: only a copy
   * with the completion proof) with the apps and PgBouncer stopped; instead of backup/pointInTime, not with cutover.
   */
  swapIn: swapInSchema("goodgo_restore_20261201021500").optional(),
  confirm: z.string().optional(),
});
export type GoodgoDatabaseRestore = z.infer<typeof goodgoDatabaseRestoreSchema>;

/** The operation actions (section 3 resolutions and 4.2-4.3), in one list the runbook generator also uses. */
export const GOODGO_OPERATION_ACTIONS = [
  "rolling-restart",
  "restart-service",
  "terminate-long-queries",
  "restart-pgbouncer",
  "flush-redis",
  "reindex-typesense",
  "backup-now",
  "verify-backup",
] as const;
export type GoodgoOperationAction = (typeof GOODGO_OPERATION_ACTIONS)[number];

/** backup-now's kinds: a pg_dump file, or a pgBackRest backup (the physical route's repository). */
export const GOODGO_BACKUP_KINDS = ["dump", "pitr-full", "pitr-diff"] as const;
export type GoodgoBackupKind = (typeof GOODGO_BACKUP_KINDS)[number];

/** The recovery switches under `recovery:`. */
export const GOODGO_RECOVERY_SWITCHES = ["host", "rollback", "database"] as const;

const ROLES = ["data", "app", "edge", "monitoring", "backup"] as const;

const operationSchema = z.discriminatedUnion(
  "action",
  [
    z.strictObject({
      id: operationId,
      action: z.literal("rolling-restart"),
      /** Which roles to restart, in the order the inventory's dependencies give (section 4.3: data, then apps). */
      roles: z.array(z.enum(ROLES, { message: `is not a service role (one of ${ROLES.join(", ")})` })).min(1).default(["data", "app"]),
      /** Services left running (the database itself by default, as in the runbook's rolling restart). */
      exclude: z.array(serviceName).default(["postgres"]),
    }),
    z.strictObject({ id: operationId, action: z.literal("restart-service"), service: serviceName }),
    z.strictObject({
      id: operationId,
      action: z.literal("terminate-long-queries"),
      /** Section 3.1 kills queries running longer than 5 minutes; 3.4 uses 30 seconds. */
      olderThanMinutes: z.number({ message: "is not a number of minutes (example: 5)" }).positive({ message: "is not a positive number of minutes (example: 5)" }).default(5),
      confirm: z.string().optional(),
    }),
    z.strictObject({ id: operationId, action: z.literal("restart-pgbouncer") }),
    z.strictObject({ id: operationId, action: z.literal("flush-redis"), confirm: z.string().optional() }),
    z.strictObject({ id: operationId, action: z.literal("reindex-typesense") }),
    z.strictObject({
      id: operationId,
      action: z.literal("backup-now"),
      /**
       * dump: pg-backup.sh (a pg_dump file, copied off-site unless `offsite: false`); pitr-full / pitr-diff: the
       * scheduled pgBackRest job's own run (backup-job.sh pitr-full|pitr-diff) into the repository in the off-site bucket.
       */
      kind: z.enum(GOODGO_BACKUP_KINDS, { message: `is not a backup kind (one of ${GOODGO_BACKUP_KINDS.join(", ")}; example: pitr-full)` }).default("dump"),
      offsite: z.boolean().default(true),
    }),
    z.strictObject({ id: operationId, action: z.literal("verify-backup"), backup: backupChoice.default("latest") }),
  ],
  {
    message: `is not a GoodGo operation (actions: ${GOODGO_OPERATION_ACTIONS.join(", ")}; example: {id: 2026-11-23-restart-api, action: restart-service, service: api})`,
  },
);
export type GoodgoOperation = z.infer<typeof operationSchema>;

const slackChannel = z.string().regex(/^#[a-z0-9_-]+$/, { message: 'is not a Slack channel (example: "#sre-oncall")' });

export const goodgoSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** A droplet Lazarus declares (8 GB minimum), or `{ existing: { address, user, port } }` for a server already there. */
  host: hostPlacement(goodgoHostSchema),
  app: z.strictObject({
    /** Where the compose project lives on the host (the runbook's ~/goodgo). */
    deployDir: absolutePath.default("/root/goodgo"),
    /** Compose project name: prefixes the volumes (goodgo_pgdata, ...). */
    composeProject: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, { message: "is not a compose project name (example: goodgo)" }).default("goodgo"),
    /** REGISTRY_URL: where the api, web and ai-services images come from. */
    registryUrl: imageRef.default("ghcr.io/goodgo"),
    /** IMAGE_TAG of the application images. Rolling back is changing this tag (or recovery.rollback.imageTag). */
    imageTag,
    /** Public exposure: "nginx" puts nginx with certbot TLS on 80/443 in front of web and API; "direct" opens 3000/3001. */
    exposure: z.enum(["nginx", "direct"], { message: "is not an exposure mode (example: nginx; one of nginx, direct)" }).default("nginx"),
    /** The web site's domain; the API is served under /api/ there and, if set, on apiDomain. */
    domain: hostname,
    apiDomain: hostname.optional(),
    /** json-file log rotation max-file (the runbook: max-size 10m, max-file 3-5). */
    logMaxFile: z.number().int().min(3, { message: "is below 3 (the runbook keeps 3-5 files; example: 5)" }).max(5, { message: "is above 5 (the runbook keeps 3-5 files; example: 5)" }).default(3),
    /** VNPay gateway settings that are not secret (VNPAY_HASH_SECRET is the secret goodgoVnpayHashSecret). */
    vnpay: z.strictObject({
      tmnCode: z.string().regex(/^[A-Za-z0-9]{1,32}$/, { message: "is not a VNPay terminal code (letters and digits; example: GOODGO01)" }),
      url: z.string().regex(/^https:\/\/[^\s'"$\\]+$/, { message: "is not an https URL (example: https://pay.vnpay.vn/vpcpay.html)" }),
      returnUrl: z.string().regex(/^https:\/\/[^\s'"$\\]+$/, { message: "is not an https URL (example: https://goodgo.example.org/payments/vnpay/return)" }),
    }),
    /** Public URL the uptime check probes. */
    healthUrl: z.string().regex(/^https?:\/\/[^\s]+$/, { message: "is not an http(s) URL (example: https://goodgo.example.org/api/health)" }),
  }),
  tls: z
    .strictObject({
      email,
      acmeServer: z.string().regex(/^https:\/\//, { message: "is not an https ACME directory URL (example: https://acme-staging-v02.api.letsencrypt.org/directory)" }).optional(),
    })
    .optional(),
  database: z
    .strictObject({
      name: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: "is not a database name (example: goodgo)" }).default("goodgo"),
      user: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: "is not a database user name (example: goodgo)" }).default("goodgo"),
      /** Tables pg-verify.sh checksums (section 9: the critical Prisma models). */
      criticalTables: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, { message: "is not a table name (example: Payment)" })).default(["User", "Property", "Listing", "Payment", "Subscription", "Transaction", "Plan"]),
    })
    .prefault({}),
  pgbouncer: z
    .strictObject({
      /** PGBOUNCER_POOL_SIZE (section 3.1: 20; raise it here to "increase pool size temporarily"). */
      poolSize: z.number().int().min(1, { message: "is not a pool size of at least 1 (example: 20)" }).max(500, { message: "is above 500 (example: 20)" }).default(20),
      maxClientConn: z.number().int().min(1, { message: "is not a connection count of at least 1 (example: 200)" }).max(10000, { message: "is above 10000 (example: 200)" }).default(200),
    })
    .prefault({}),
  redis: z
    .strictObject({
      /** maxmemory in MB (section 3.2: 512 in prod), below the container's 768 MB limit. */
      maxMemoryMb: z.number().int().min(64, { message: "is below 64 MB (example: 512)" }).max(700, { message: "is above 700 MB, too close to the container's 768 MB limit (example: 512)" }).default(512),
    })
    .prefault({}),
  grafana: z
    .strictObject({
      /** Section 8: Grafana is published on 3002, reachable from the admin CIDRs only. */
      port: z
        .number({ message: "is not a port number (example: 3002)" })
        .int({ message: "is not a port number (example: 3002)" })
        .min(1024, { message: "is a privileged port; Grafana listens on an unprivileged admin-only port (example: 3002)" })
        .max(65535, { message: "is not a port number between 1024 and 65535 (example: 3002)" })
        .default(3002),
      adminUser: z.string().regex(/^[a-z][a-z0-9_.-]{1,31}$/, { message: "is not a Grafana user name (example: admin)" }).default("admin"),
    })
    .prefault({}),
  monitoring: z
    .strictObject({
      /** Prometheus TSDB retention: 30d on prod, 15d elsewhere by default (section 3.6/8). */
      prometheusRetention: retention.optional(),
      lokiRetentionDays: days("Loki retention", 15, 365).default(15),
      slackChannels: z.strictObject({ oncall: slackChannel.default("#sre-oncall"), infrastructure: slackChannel.default("#infrastructure") }).prefault({}),
      runbookUrl: z.string().regex(/^https:\/\/[^\s#]+$/, { message: "is not an https URL (example: https://wiki.example.org/goodgo/runbook)" }).optional(),
    })
    .prefault({}),
  backups: z.strictObject({
    /** Section 4.1: backups daily at 02:00 UTC, verification at 04:00 UTC. */
    backupAt: hourOfDay.default("02:00"),
    verifyAt: hourOfDay.default("04:00"),
    /** BACKUP_RETENTION_DAYS on the host's pg_backups volume. */
    retentionDays: days("local backup retention", 7, 365).default(7),
    /**
     * How pg-backup.sh compresses the archive (BACKUP_CODEC): zstd by default (pg_dump's uncompressed archive in one zstd
     * stream, <db>_<time>.dump.zst: on the 1 GB bench the backup 6.6x faster and 23% smaller than pg_dump's own gzip,
     * the restore 1.04x faster; README "Benchmarks"), or gzip (pg_dump -Z inside the archive, a .dump any pg_restore
     * reads).
     */
    codec: z.enum(["zstd", "gzip"], { message: 'is not a backup codec (expected "zstd" or "gzip"; example: zstd)' }).default("zstd"),
    /**
     * The codec's level (BACKUP_COMPRESS): zstd 1-19 (3 by default), gzip 1-9 (6 by default); 0 writes the archive
     * uncompressed (a .dump about 2.3x the disk, the fastest restore). Unset: the codec's default.
     */
    compressLevel: z
      .number({ message: "is not a compression level (example: 3)" })
      .int({ message: "is not a whole compression level (example: 3)" })
      .min(0, { message: "is not a compression level: 0 (none), zstd 1-19, gzip 1-9 (example: 3)" })
      .max(19, { message: "is not a compression level: 0 (none), zstd 1-19, gzip 1-9 (example: 3)" })
      .optional(),
    offsite: z.strictObject({
      /** The Spaces bucket declared by this stack; bucket names are global, so prod and staging differ. */
      bucket: spacesBucketName,
      region: spacesRegion,
      prefix: z.string().regex(/^[a-z0-9][a-z0-9/_-]*\/$/, { message: "is not a key prefix ending in / (example: postgres/)" }).default("postgres/"),
      /** Off-site copies older than this are deleted by the bucket's lifecycle rule. */
      lifecycleDays: days("the off-site lifecycle rule", 30),
      /**
       * The bucket already exists and another stack (or a person) keeps it: Lazarus uses it but does not declare it.
       * A DR rebuild onto an existing server restores from the bucket the lost stack declared.
       */
      existing: z.boolean().default(false),
    }),
    /**
     * Point-in-time recovery: pgBackRest archives WAL into the off-site bucket under its own path (stacks/goodgo/pitr.ts).
     * Runbook 4.1 names only "RPO: <= 24 hours (daily backups; consider WAL archiving for lower RPO)", no target for
     * archiving; archive_timeout bounds the data lost, 60 s by default.
     */
    pitr: z
      .strictObject({
        /** Path inside the off-site bucket for pgBackRest's repository; outside offsite.prefix (see goodgoProblems). */
        repoPath: z
          .string()
          .regex(/^\/[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_-]*)*$/, { message: "is not a bucket path starting with / and without a trailing / (example: /pgbackrest)" })
          .default("/pgbackrest"),
        /** Full backups kept; each keeps its differentials and the WAL needed to replay from it. */
        retentionFull: z
          .number({ message: "is not a number of full backups (example: 2)" })
          .int({ message: "is not a whole number of full backups 1-30 (example: 2)" })
          .min(1, { message: "is not a number of full backups 1-30 (example: 2)" })
          .max(30, { message: "is not a number of full backups 1-30 (example: 2)" })
          .default(2),
        /** archive_timeout: a WAL segment is shipped at least this often, so at most this much committed data is lost. */
        archiveTimeoutSeconds: z
          .number({ message: "is not a number of seconds (example: 60)" })
          .int({ message: "is not a whole number of seconds 10-3600 (example: 60)" })
          .min(10, { message: "is below 10 seconds: every switch ships a 16 MB segment (example: 60)" })
          .max(3600, { message: "is above 3600 seconds, an RPO of over an hour (example: 60)" })
          .default(60),
        /** The pgBackRest backups' time (UTC): the full backup on fullBackupWeekday, a differential every other day. */
        backupAt: hourOfDay.default("01:00"),
        /** The day of the weekly full backup, 0 = Sunday ... 6 = Saturday. */
        fullBackupWeekday: z
          .number({ message: "is not a day of the week 0-6 (0 = Sunday; example: 0)" })
          .int({ message: "is not a day of the week 0-6 (0 = Sunday; example: 0)" })
          .min(0, { message: "is not a day of the week 0-6 (0 = Sunday; example: 0)" })
          .max(6, { message: "is not a day of the week 0-6 (0 = Sunday; example: 0)" })
          .default(0),
      })
      .prefault({}),
  }),
  recovery: z
    .strictObject({
      host: goodgoHostRecoverySchema.optional(),
      rollback: goodgoRollbackSchema.optional(),
      database: goodgoDatabaseRestoreSchema.optional(),
    })
    .prefault({}),
  operations: z.array(operationSchema).default([]),
});

export type GoodgoConfig = z.infer<typeof goodgoSchema>;

/** The secrets a GoodGo stack needs (section 8's secret variables, the Slack webhook, Spaces keys, the SSH key). */
export const GOODGO_SECRETS = {
  goodgoSshPrivateKey: {
    description: "the private half of an SSH key in lazarus:environment.sshKeys, used to run commands on the GoodGo host",
    setWith: "pulumi config set --secret --stack <stack> goodgoSshPrivateKey < ~/.ssh/lazarus_goodgo_ed25519",
  },
  goodgoDbPassword: {
    description: "GoodGo's PostgreSQL password (DB_PASSWORD; also inside DATABASE_URL and DATABASE_URL_DIRECT)",
    setWith: "openssl rand -hex 32 | pulumi config set --secret --stack <stack> goodgoDbPassword",
  },
  goodgoJwtSecret: {
    description: "GoodGo's JWT signing secret (JWT_SECRET)",
    setWith: "openssl rand -base64 48 | tr -d '\\n' | pulumi config set --secret --stack <stack> goodgoJwtSecret",
  },
  goodgoJwtRefreshSecret: {
    description: "GoodGo's refresh-token signing secret (JWT_REFRESH_SECRET)",
    setWith: "openssl rand -base64 48 | tr -d '\\n' | pulumi config set --secret --stack <stack> goodgoJwtRefreshSecret",
  },
  goodgoRedisPassword: {
    description: "GoodGo's Redis password (REDIS_PASSWORD; also inside REDIS_URL)",
    setWith: "openssl rand -hex 32 | pulumi config set --secret --stack <stack> goodgoRedisPassword",
  },
  goodgoTypesenseApiKey: {
    description: "GoodGo's Typesense admin API key (TYPESENSE_API_KEY)",
    setWith: "openssl rand -hex 32 | pulumi config set --secret --stack <stack> goodgoTypesenseApiKey",
  },
  goodgoMinioAccessKey: {
    description: "GoodGo's MinIO root user (MINIO_ACCESS_KEY)",
    setWith: "pulumi config set --secret --stack <stack> goodgoMinioAccessKey goodgo-minio",
  },
  goodgoMinioSecretKey: {
    description: "GoodGo's MinIO root password (MINIO_SECRET_KEY)",
    setWith: "openssl rand -hex 32 | pulumi config set --secret --stack <stack> goodgoMinioSecretKey",
  },
  goodgoAiApiKey: {
    description: "the key the GoodGo API uses to call the AI services (AI_API_KEY)",
    setWith: "openssl rand -hex 32 | pulumi config set --secret --stack <stack> goodgoAiApiKey",
  },
  goodgoVnpayHashSecret: {
    description: "GoodGo's VNPay signature secret (VNPAY_HASH_SECRET, from the VNPay merchant portal)",
    setWith: "pulumi config set --secret --stack <stack> goodgoVnpayHashSecret < vnpay-hash-secret.txt",
  },
  goodgoPgbouncerAdminPassword: {
    description: "password of pgbouncer_admin, the user of GoodGo's PgBouncer admin console (SHOW POOLS, section 3.1)",
    setWith: "openssl rand -hex 24 | pulumi config set --secret --stack <stack> goodgoPgbouncerAdminPassword",
  },
  goodgoGrafanaAdminPassword: {
    description: "GoodGo's Grafana admin password (GRAFANA_ADMIN_PASSWORD)",
    setWith: "openssl rand -base64 24 | tr -d '\\n' | pulumi config set --secret --stack <stack> goodgoGrafanaAdminPassword",
  },
  goodgoSlackWebhook: {
    description: "Slack incoming-webhook URL GoodGo's Alertmanager posts to (SLACK_WEBHOOK_URL)",
    setWith: "pulumi config set --secret --stack <stack> goodgoSlackWebhook https://hooks.slack.com/services/T000/B000/XXXX",
  },
  goodgoSpacesAccessKey: {
    description: "access key id of a DigitalOcean Spaces key that may write GoodGo's off-site backup bucket",
    setWith: "pulumi config set --secret --stack <stack> goodgoSpacesAccessKey DO00EXAMPLEKEYID",
  },
  goodgoPgbackrestCipherPass: {
    description: "passphrase pgBackRest encrypts GoodGo's point-in-time repository with (repo1-cipher-pass; lose it and the repository is unreadable)",
    setWith: "openssl rand -base64 48 | tr -d '\\n' | pulumi config set --secret --stack <stack> goodgoPgbackrestCipherPass",
  },
  goodgoSpacesSecretKey: {
    description: "secret of that DigitalOcean Spaces key",
    setWith: "pulumi config set --secret --stack <stack> goodgoSpacesSecretKey < spaces-secret.txt",
  },
} as const satisfies Record<string, SecretSpec>;
export type GoodgoSecretName = keyof typeof GOODGO_SECRETS;

/** Checks that span keys or need the stack name: confirmations of destructive switches on prod, ids, services. */
export function goodgoProblems(cfg: GoodgoConfig, stack: string): Problem[] {
  const problems: Problem[] = [];
  // The services operations may name are the inventory's (section 1's 14, nginx when exposed, the exporters). An
  // inventory this config cannot build is reported by the plan, under its own key; the checks here still run.
  let known: string[] = [];
  try {
    known = goodgoStackInventory(cfg, stack).services.map((s) => s.name);
  } catch (e) {
    if (!(e instanceof RenderInputError)) throw e;
  }
  if (cfg.app.exposure === "nginx" && !cfg.tls) {
    problems.push({ path: "tls", message: "is missing: exposure nginx serves HTTPS with a certbot certificate and needs an ACME contact (example: tls: {email: ops@example.org})" });
  }
  if (cfg.backups.codec === "gzip" && (cfg.backups.compressLevel ?? 0) > 9) {
    problems.push({ path: "backups.compressLevel", message: `${cfg.backups.compressLevel} is not a gzip level (codec gzip takes 1-9, or 0 for none; example: 6)` });
  }
  if ([80, 443, 3000, 3001].includes(cfg.grafana.port)) {
    problems.push({ path: "grafana.port", message: `${cfg.grafana.port} is a public port of the web, API or nginx; Grafana needs its own admin-only port (example: 3002)` });
  }
  if (cfg.app.apiDomain && cfg.app.apiDomain === cfg.app.domain) {
    problems.push({ path: "app.apiDomain", message: `"${cfg.app.apiDomain}" is the same as app.domain; leave it out to serve the API under /api/ of the domain (example: api.goodgo.example.org)` });
  }
  const r = cfg.recovery;
  if (r.host && isExistingHost(cfg.host)) {
    // Nothing protects an existing server, so its recovery stays confirmed for as long as the switch is there.
    problems.push(
      ...requireConfirm(stack, "goodgo", "recover-host", r.host.confirm, "recovery.host.confirm", "full host recovery restores the database on the existing server from an off-site backup and cuts over to it"),
    );
    if (r.host.done) {
      problems.push({ path: "recovery.host.done", message: "protects a rebuilt droplet, but host is an existing server Lazarus did not create; remove done and keep confirm (example: recovery: {host: {label: r1, backup: latest, confirm: ...}})" });
    }
  } else if (r.host) {
    problems.push(
      ...hostRebuildProblems(r.host, stack, "goodgo", {
        what: "recover-host",
        why: "full host recovery replaces the live droplet and restores the database from an off-site backup",
      }),
    );
  }
  // The bucket's lifecycle rule expires everything under offsite.prefix: inside it, WAL and backup.info pgBackRest still
  // needs would vanish behind its back and break every restore from then on.
  const pitrKeyPath = `${cfg.backups.pitr.repoPath.slice(1)}/`;
  if (pitrKeyPath.startsWith(cfg.backups.offsite.prefix)) {
    problems.push({
      path: "backups.pitr.repoPath",
      message: `"${cfg.backups.pitr.repoPath}" is under backups.offsite.prefix "${cfg.backups.offsite.prefix}", which the bucket's lifecycle rule expires after ${cfg.backups.offsite.lifecycleDays} days; pgBackRest keeps its own retention (example: /pgbackrest)`,
    });
  }
  if (r.host && r.database) {
    problems.push({ path: "recovery.database", message: `cannot be combined with recovery.host, which restores the database itself (set recovery.host.backup instead; example: backup: ${EXAMPLE_BACKUP_FILE})` });
  }
  if (r.database) {
    const d = r.database;
    if (d.swapIn !== undefined) {
      problems.push(
        ...swapInProblems({
          stack, platform: "goodgo", path: "recovery.database", database: cfg.database.name, swapIn: d.swapIn, confirm: d.confirm, confirmWhat: "database-cutover",
          ends: "the apps' and PgBouncer's database sessions (they are stopped first)",
          alongside: { cutover: d.cutover, backup: d.backup !== undefined, pointInTime: d.pointInTime !== undefined, fromOffsite: d.fromOffsite },
        }),
      );
    } else if (d.backup === undefined && d.pointInTime === undefined) {
      problems.push({ path: "recovery.database", message: `needs backup (a pg_dump backup), pointInTime (the pgBackRest repository) or swapIn (a copy an earlier restore made); example: {label: r1, pointInTime: "2026-11-23T02:00:00Z"}, {label: r1, backup: latest} or {label: r1, swapIn: ${restoredCopyExample(cfg.database.name)}}` });
    }
    if (d.swapIn === undefined && d.backup !== undefined && d.pointInTime !== undefined) {
      problems.push({ path: "recovery.database.pointInTime", message: `cannot be combined with backup "${d.backup}": pointInTime restores from the pgBackRest repository, backup from a pg_dump file; keep one (example: pointInTime: latest)` });
    }
    if (d.swapIn === undefined && d.pointInTime !== undefined && d.fromOffsite) {
      problems.push({ path: "recovery.database.fromOffsite", message: "applies to pg_dump backups; pointInTime already reads the off-site pgBackRest repository (remove fromOffsite)" });
    }
    if (d.pointInTime !== undefined && d.pointInTime !== "latest" && Date.parse(d.pointInTime) > Date.now()) {
      problems.push({ path: "recovery.database.pointInTime", message: `"${d.pointInTime}" is in the future; name a moment that has passed, or latest (example: 2026-11-23T02:00:00Z)` });
    }
  }
  if (r.database?.cutover && r.database.swapIn === undefined) {
    problems.push(
      ...requireConfirm(stack, "goodgo", "database-cutover", r.database.confirm, "recovery.database.confirm", "cutting over swaps the restored database in for the live one"),
    );
  }
  if (r.rollback && r.rollback.imageTag === cfg.app.imageTag) {
    problems.push({ path: "recovery.rollback.imageTag", message: `"${r.rollback.imageTag}" is the tag already deployed (app.imageTag); name the tag to roll back to (example: the previous release's git SHA)` });
  }
  if (r.host?.fromSnapshot && isExistingHost(cfg.host)) {
    problems.push({ path: "recovery.host.fromSnapshot", message: "builds a new droplet from a snapshot, but host is an existing server Lazarus did not create; remove fromSnapshot to recover onto that server (example: recovery: {host: {label: r1, backup: latest}})" });
  }
  problems.push(...duplicateOperationIds(cfg.operations));
  cfg.operations.forEach((op, i) => {
    if (op.action === "restart-service" && known.length && !known.includes(op.service)) {
      problems.push({ path: `operations[${i}].service`, message: `"${op.service}" is not a GoodGo service (one of ${known.join(", ")})` });
    }
    if (op.action === "rolling-restart") {
      op.exclude.forEach((s, j) => {
        if (known.length && !known.includes(s)) problems.push({ path: `operations[${i}].exclude[${j}]`, message: `"${s}" is not a GoodGo service (one of ${known.join(", ")})` });
      });
    }
    if (op.action === "flush-redis") {
      problems.push(...requireConfirm(stack, "goodgo", "flush-redis", op.confirm, `operations[${i}].confirm`, "FLUSHALL empties the cache and every session stored in Redis"));
    }
    if (op.action === "backup-now" && op.kind !== "dump" && !op.offsite) {
      problems.push({ path: `operations[${i}].offsite`, message: `false applies to dumps only: a ${op.kind} backup goes to the pgBackRest repository, which is in the off-site bucket (remove offsite; example: {id: 2026-11-23-pitr, action: backup-now, kind: pitr-full})` });
    }
    if (op.action === "terminate-long-queries") {
      problems.push(...requireConfirm(stack, "goodgo", "terminate-long-queries", op.confirm, `operations[${i}].confirm`, "terminating queries aborts their transactions"));
    }
  });
  return problems;
}
