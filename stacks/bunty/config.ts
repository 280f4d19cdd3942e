// `lazarus:bunty`: the Bunty platform's stack config (runbook 003, "Bunty ZKP Platform"): one host (a droplet or an
// existing server) with the `deploy` user, nginx under systemd with certbot TLS, the Node backend under PM2 from
// /var/www/bunty-backend, PostgreSQL and Redis either managed or on the host; its secrets and its cross-key checks.
import { createHash } from "node:crypto";
import { z } from "zod";
import { confirmationToken, duplicateOperationIds, isProtectedStack, requireConfirm, type Problem } from "../../config/checks";
import { swapInProblems, swapInSchema } from "../../config/swapIn";
import { absolutePath, databaseSize, email, hostname, operationId, port, spacesBucketName, spacesRegion, sqlName } from "../../config/primitives";
import type { SecretSpec } from "../../config/secrets";
import type { PlainSecrets } from "../platform";
import { clusterLayoutProblems, databaseRestoreProblems, databaseRestoreSchema, hostPlacementSchema, isExistingHost, maintenanceWindowSchema, managedPostgresSchema, pm2Schema } from "../../config/shared";

const httpsUrl = (example: string) => z.string().regex(/^https:\/\/[^\s]+$/, { message: `is not an https URL (example: ${example})` });
const utcTime = (example: string) => z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: `is not a UTC time HH:MM (example: "${example}")` });

/**
 * Where PostgreSQL runs. The runbook only says "$DATABASE_URL", so both are offered: a DigitalOcean managed cluster
 * (backups, failover and restore beside the live cluster by the provider), or PostgreSQL on the host itself (one
 * machine to pay for; backups are then only Lazarus's own). Either way pg_stat_statements is available: the runbook's
 * slow-query procedure reads it.
 */
const postgresSchema = z.discriminatedUnion(
  "where",
  [
    z.strictObject({ where: z.literal("managed"), cluster: managedPostgresSchema }),
    z.strictObject({
      where: z.literal("host"),
      /** The runbook's database name on prod is bunty_prod (its REINDEX and pg_database_size lines). */
      databaseName: sqlName("database name", "bunty_prod"),
      userName: sqlName("database user name", "bunty"),
    }),
  ],
  { message: 'is not a PostgreSQL placement (example: {where: host, databaseName: bunty_prod, userName: bunty}, or {where: managed, cluster: {...}})' },
);

/**
 * Where Redis runs: on the host (loopback, the seed's `redis-cli -a`), or a DigitalOcean managed cluster (Valkey, its
 * Redis offering; TLS) that every droplet shares, which horizontal scale-out needs (one cache, one FLUSHDB).
 */
const redisSchema = z.discriminatedUnion(
  "where",
  [
    z.strictObject({ where: z.literal("host") }),
    z.strictObject({
      where: z.literal("managed"),
      cluster: z.strictObject({
        version: z.enum(["8"], { message: 'is not a Valkey version DigitalOcean offers (example: "8")' }).default("8"),
        size: databaseSize,
        nodeCount: z.union([z.literal(1), z.literal(2), z.literal(3)], { message: "is not a Valkey node count (example: 2; one of 1, 2, 3)" }),
        maintenanceWindow: maintenanceWindowSchema,
      }),
    }),
  ],
  { message: "is not a Redis placement (example: {where: host}, or {where: managed, cluster: {size: db-s-1vcpu-2gb, nodeCount: 2, maintenanceWindow: {day: sunday, hour: \"03:00\"}}})" },
);

const operationSchema = z.discriminatedUnion(
  "action",
  [
    z.strictObject({ id: operationId, action: z.literal("restart") }),
    /** The runbook's Emergency Rollback: swaps the live release with the previous one (again: rolls forward). */
    z.strictObject({ id: operationId, action: z.literal("rollback"), confirm: z.string().optional() }),
    /** The runbook's Emergency Shutdown: the app stops, nginx stays up and serves the maintenance page. */
    z.strictObject({ id: operationId, action: z.literal("emergency-shutdown"), confirm: z.string().optional() }),
    /** Brings the app back after an emergency shutdown. */
    z.strictObject({ id: operationId, action: z.literal("start") }),
    z.strictObject({ id: operationId, action: z.literal("renew-certificate"), force: z.boolean().default(true) }),
    /** P2 "Clear cache if needed": FLUSHDB on the app's Redis database (cached values, sessions, rate-limit counters). */
    z.strictObject({ id: operationId, action: z.literal("flush-cache"), confirm: z.string().optional() }),
    /** P1 "Kill long-running queries": pg_terminate_backend of one session of the app's database. */
    z.strictObject({
      id: operationId,
      action: z.literal("terminate-query"),
      pid: z.number({ message: "is not a backend pid (example: 12345, from pg_stat_activity)" }).int().positive({ message: "is not a backend pid (example: 12345)" }),
      confirm: z.string().optional(),
    }),
    /** Database Maintenance, "Optimizing Database". */
    z.strictObject({ id: operationId, action: z.literal("analyze") }),
    z.strictObject({ id: operationId, action: z.literal("vacuum-analyze") }),
    /** REINDEX DATABASE locks each table while its indexes are rebuilt. */
    z.strictObject({ id: operationId, action: z.literal("reindex"), confirm: z.string().optional() }),
    /** "Creating Database Backup": pg-backup.sh into the backup directory, now. */
    z.strictObject({ id: operationId, action: z.literal("backup-now") }),
    /** "Running Migrations": a backup first, then the SQL file (on the host) in one transaction. */
    z.strictObject({ id: operationId, action: z.literal("migrate"), file: absolutePath }),
  ],
  {
    message:
      "is not a Bunty operation (actions: restart, rollback, emergency-shutdown, start, renew-certificate, flush-cache, terminate-query, analyze, vacuum-analyze, reindex, backup-now, migrate; example: {id: 2026-12-01-restart, action: restart})",
  },
);
export type BuntyOperation = z.infer<typeof operationSchema>;

export const buntySchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** A droplet Lazarus declares, or `{ existing: { address, user, port } }`. */
  host: hostPlacementSchema,
  /** The runbook's names: bunty.io and api.bunty.io on prod, staging.bunty.io and api-staging.bunty.io on staging. */
  domains: z.strictObject({ frontend: hostname, api: hostname }),
  /** The runbook's health check URL (https://api.bunty.io/health on prod). */
  healthUrl: httpsUrl("https://api.bunty.io/health"),
  /** The runbook's P2 threshold: "API response times > 2 seconds". */
  latencyAlertMs: z.number().int().min(100, { message: "is not a latency threshold in ms of at least 100 (example: 2000)" }).default(2000),
  app: z
    .strictObject({
      /** PM2 app name, as every runbook command types it. */
      name: z.string().regex(/^[a-z][a-z0-9-]*$/, { message: "is not a PM2 app name (example: bunty-backend)" }).default("bunty-backend"),
      /** The live release; rollback swaps it with `<dir>-previous`. */
      dir: absolutePath.default("/var/www/bunty-backend"),
      /** Entry point, relative to dir. */
      script: z.string().regex(/^[A-Za-z0-9_./-]+$/, { message: "is not a script path (example: dist/index.js)" }).default("dist/index.js"),
      port: port.default(3000),
      instances: z.number().int().min(1, { message: "is not a process count (example: 2)" }).default(1),
      maxMemory: z.string().regex(/^\d+[MG]$/, { message: "is not a PM2 memory size (example: 1G)" }).default("1G"),
      /** Feature flags written into .env as NAME=true|false (the runbook's PLAID_ENABLED fallback switch). */
      featureFlags: z.record(z.string(), z.boolean({ message: "is not true or false (example: PLAID_ENABLED: false)" })).default({}),
      /** Non-secret .env values (e.g. MIDNIGHT_NETWORK: testnet). */
      env: z.record(z.string(), z.string({ message: 'is not a string (example: LOG_LEVEL: "info")' })).default({}),
    })
    .prefault({}),
  /** The runbook's PM2 and its Log Rotation settings. */
  pm2: pm2Schema,
  postgres: postgresSchema,
  redis: redisSchema.default({ where: "host" }),
  /**
   * The runbook's Horizontal Scaling: `count` more droplets from a snapshot of the app host behind a DigitalOcean load
   * balancer that terminates TLS with a DigitalOcean-managed Let's Encrypt certificate. Every host step (files, .env,
   * PM2, nginx) runs on every droplet. Needs PostgreSQL and Redis off the host (managed), so data and cache are shared.
   */
  scaleOut: z
    .strictObject({
      count: z.number({ message: "is not a number of extra droplets (example: 2)" }).int({ message: "is not a whole number of droplets (example: 2)" }).min(1, { message: "is not a number of extra droplets from 1 to 9 (example: 2)" }).max(9, { message: "is not a number of extra droplets from 1 to 9 (example: 2)" }),
      /** A droplet snapshot id (digits), or its name (the most recent snapshot of that exact name). */
      fromSnapshot: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, { message: "is not a snapshot id or name (example: 187654321, or bunty-prod-host-20261201)" }),
      confirm: z.string().optional(),
    })
    .optional(),
  tls: z.strictObject({
    email,
    acmeServer: httpsUrl("https://acme-staging-v02.api.letsencrypt.org/directory").optional(),
  }),
  /**
   * Scheduled logical backups on the host (systemd timers): daily into /var/backups/bunty (also the runbook's
   * bunty-latest.sql.gz), and the Maintenance Schedule's weekly "Check backup integrity" as a verified restore.
   */
  backups: z
    .strictObject({
      dailyAt: utcTime("02:00").default("02:00"),
      retentionDays: z.number().int().min(1, { message: "is not a number of days to keep backups (example: 7)" }).default(7),
      verifyOn: z.enum(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], { message: "is not a weekday (example: Sun)" }).default("Sun"),
      verifyAt: utcTime("04:00").default("04:00"),
      /**
       * The off-site copy, in a DigitalOcean Spaces bucket (declared here unless `existing`): every daily logical backup
       * and its checksum under `prefix` (the bucket's lifecycle rule expires them after `lifecycleDays`), and, with
       * PostgreSQL on the host, the pgBackRest repository under `pitrPath` (encrypted; pgBackRest keeps its own retention).
       */
      offsite: z
        .strictObject({
          bucket: spacesBucketName,
          region: spacesRegion,
          prefix: z.string().regex(/^[a-z0-9][a-z0-9/_-]*\/$/, { message: "is not a key prefix ending in / (example: postgres/)" }).default("postgres/"),
          lifecycleDays: z.number({ message: "is not a number of days (example: 30)" }).int({ message: "is not a whole number of days (example: 30)" }).min(1, { message: "is not a number of days of at least 1 (example: 30)" }).default(30),
          pitrPath: z
            .string()
            .regex(/^\/[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_-]*)*$/, { message: "is not a bucket path starting with / and without a trailing / (example: /pgbackrest)" })
            .default("/pgbackrest"),
          /** The bucket exists and another stack (or a person) keeps it: used, not declared. */
          existing: z.boolean().default(false),
        })
        .optional(),
    })
    .prefault({}),
  recovery: z
    .strictObject({
      /**
       * The runbook's Data Recovery, for a managed cluster: a backup (optionally at a point in time) restored into a new
       * cluster beside the live one, then, with `cutover: true`, the app's DATABASE_URL moved to it (the .env is
       * rewritten and PM2 reloads the app with it).
       */
      database: databaseRestoreSchema.optional(),
      /**
       * The runbook's Data Recovery with PostgreSQL on the host: a backup of /var/backups/bunty restored into a new
       * database beside the live one (pg-restore.sh, as the app's role); then `swapIn`, the restored database's name
       * from that step's result, cuts over in one transaction and restarts the app (confirmed on prod).
       */
      hostDatabase: z
        .strictObject({
          label: z.string().regex(/^[a-z0-9][a-z0-9-]{0,20}$/, { message: "is not a restore label (example: 20261201)" }),
          backup: z.string().regex(/^[A-Za-z0-9._-]+$/, { message: "is not a backup file name in /var/backups/bunty or latest (example: latest)" }).default("latest"),
          swapIn: swapInSchema("bunty_staging_restore_20261201021500").optional(),
          confirm: z.string().optional(),
        })
        .optional(),
    })
    .prefault({}),
  operations: z.array(operationSchema).default([]),
  /**
   * The runbook's JWT rotation, which logs every user out: the secret (buntyJwtSecret) rolls out with a new
   * `generation`, confirmed on prod (`prod/bunty/rotate-jwt-<generation>`). `secretSha256` records which secret the
   * generation is (buntyJwtFingerprint: sha256 of "<generation>:<secret>", 16 hex digits, no use to anyone without the
   * secret), so a secret changed without a new generation is refused at plan time instead of logging everyone out.
   */
  rotateJwt: z
    .strictObject({
      generation: z.number({ message: "is not a JWT secret generation (example: 2)" }).int({ message: "is not a whole generation number (example: 2)" }).min(1, { message: "is not a generation of at least 1 (example: 2)" }).default(1),
      secretSha256: z.string().regex(/^[0-9a-f]{16}$/, { message: "is not a JWT secret fingerprint, 16 hex digits (example: 3f9a0c1b2d4e5f60; the plan prints the value to write)" }).optional(),
      confirm: z.string().optional(),
    })
    .prefault({}),
});
export type BuntyConfig = z.infer<typeof buntySchema>;

export const BUNTY_SECRETS = {
  buntySshPrivateKey: {
    description: "the private half of an SSH key in lazarus:environment.sshKeys, used to run commands on the Bunty host",
    setWith: "pulumi config set --secret --stack <stack> buntySshPrivateKey < ~/.ssh/lazarus_bunty_ed25519",
  },
  buntyJwtSecret: {
    description: "JWT signing secret of the Bunty backend (runbook: openssl rand -base64 64; rotating it logs every user out, so a new one needs lazarus:bunty.rotateJwt's next generation)",
    setWith: "openssl rand -base64 64 | tr -d '\\n' | pulumi config set --secret --stack <stack> buntyJwtSecret",
  },
  buntyPlaidClientId: {
    description: "Plaid client id (PLAID_CLIENT_ID)",
    setWith: "pulumi config set --secret --stack <stack> buntyPlaidClientId <client-id from the Plaid dashboard>",
  },
  buntyPlaidSecret: {
    description: "Plaid secret (PLAID_SECRET)",
    setWith: "pulumi config set --secret --stack <stack> buntyPlaidSecret <secret from the Plaid dashboard>",
  },
  buntyStripeSecretKey: {
    description: "Stripe secret key (STRIPE_SECRET_KEY)",
    setWith: "pulumi config set --secret --stack <stack> buntyStripeSecretKey sk_live_...",
  },
  buntyStripeWebhookSecret: {
    description: "Stripe webhook signing secret (STRIPE_WEBHOOK_SECRET)",
    setWith: "pulumi config set --secret --stack <stack> buntyStripeWebhookSecret whsec_...",
  },
  buntySilaPrivateKey: {
    description: "Sila API private key (SILA_PRIVATE_KEY)",
    setWith: "pulumi config set --secret --stack <stack> buntySilaPrivateKey < sila_private_key.txt",
  },
  buntyRedisPassword: {
    description: "Redis password (REDIS_PASSWORD; the runbook's redis-cli -a)",
    setWith: "openssl rand -base64 32 | tr -d '\\n' | pulumi config set --secret --stack <stack> buntyRedisPassword",
  },
  buntyDatabasePassword: {
    description: "password of the Bunty database user when PostgreSQL runs on the host (a managed cluster generates its own)",
    setWith: "openssl rand -base64 32 | tr -d '\\n' | pulumi config set --secret --stack <stack> buntyDatabasePassword",
  },
  buntySpacesAccessKey: {
    description: "access key id of a DigitalOcean Spaces key that may write Bunty's off-site backup bucket (backups.offsite)",
    setWith: "pulumi config set --secret --stack <stack> buntySpacesAccessKey DO00EXAMPLEKEYID",
  },
  buntySpacesSecretKey: {
    description: "secret of that DigitalOcean Spaces key",
    setWith: "pulumi config set --secret --stack <stack> buntySpacesSecretKey < spaces-secret.txt",
  },
  buntyPgbackrestCipherPass: {
    description: "passphrase pgBackRest encrypts Bunty's off-site point-in-time repository with (repo1-cipher-pass; lose it and the repository is unreadable)",
    setWith: "openssl rand -base64 48 | tr -d '\\n' | pulumi config set --secret --stack <stack> buntyPgbackrestCipherPass",
  },
} as const satisfies Record<string, SecretSpec>;

/** .env names Lazarus writes itself (plan.ts buntyEnvFile); app.env may not set them. */
export const BUNTY_ENV_FROM_LAZARUS = ["NODE_ENV", "PORT", "DATABASE_URL", "REDIS_URL", "REDIS_PASSWORD", "JWT_SECRET", "PLAID_CLIENT_ID", "PLAID_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SILA_PRIVATE_KEY"];

export function buntyRequiredSecrets(cfg: BuntyConfig): string[] {
  const offsite = cfg.backups.offsite !== undefined;
  const onHost = cfg.postgres.where === "host";
  const needed: Record<string, boolean> = {
    buntyDatabasePassword: onHost,
    // a managed cluster has its own password
    buntyRedisPassword: cfg.redis.where === "host",
    buntySpacesAccessKey: offsite,
    buntySpacesSecretKey: offsite,
    // the pgBackRest repository goes off-site (encrypted) only with PostgreSQL on the host
    buntyPgbackrestCipherPass: offsite && onHost,
  };
  return Object.keys(BUNTY_SECRETS).filter((k) => needed[k] ?? true);
}

/** The fingerprint rotateJwt.secretSha256 records: sha256("<generation>:<secret>"), its first 16 hex digits. */
export function buntyJwtFingerprint(generation: number, secret: string): string {
  return createHash("sha256").update(`${generation}:${secret}`).digest("hex").slice(0, 16);
}

/** The shell line that prints the fingerprint, for an operator without a plan run at hand. */
function fingerprintCommand(stack: string, generation: number): string {
  return `printf '%s' "${generation}:$(pulumi config get --stack ${stack} buntyJwtSecret)" | sha256sum | cut -c1-16`;
}

/**
 * The JWT rotation: a changed secret needs a new generation (and on prod its confirmation). Only a run that has the
 * decrypted secret (`pulumi preview`/`up`) can compare it with the fingerprint; the offline plan checks the rest.
 */
function jwtRotationProblems(cfg: BuntyConfig, stack: string, secrets?: PlainSecrets): Problem[] {
  const { generation, secretSha256, confirm } = cfg.rotateJwt;
  const secret = secrets?.("buntyJwtSecret");
  const problems: Problem[] = [];
  const next = generation + 1;
  if (secretSha256 && secret !== undefined && buntyJwtFingerprint(generation, secret) !== secretSha256) {
    const rotate = `rotateJwt: {generation: ${next}, secretSha256: "${buntyJwtFingerprint(next, secret)}"${isProtectedStack(stack) ? `, confirm: "${confirmationToken(stack, "bunty", `rotate-jwt-${next}`)}"` : ""}}`;
    problems.push({
      path: "rotateJwt.secretSha256",
      message: `is generation ${generation}'s JWT secret, but lazarus:buntyJwtSecret holds another one: a new JWT secret logs every user out, so it rolls out only with a new generation. To rotate, set ${rotate}; to keep everyone logged in, set buntyJwtSecret back to generation ${generation}'s value`,
    });
  }
  if (generation > 1) {
    problems.push(
      ...requireConfirm(stack, "bunty", `rotate-jwt-${generation}`, confirm, "rotateJwt.confirm", `JWT secret generation ${generation} invalidates every session signed with the previous secret: every user is logged out`),
    );
    if (isProtectedStack(stack) && !secretSha256) {
      problems.push({
        path: "rotateJwt.secretSha256",
        message: `is missing: generation ${generation} must name the secret it rolls out, so a later change of buntyJwtSecret without a new generation is refused (example: secretSha256: "${secret !== undefined ? buntyJwtFingerprint(generation, secret) : "3f9a0c1b2d4e5f60"}"; computed by ${fingerprintCommand(stack, generation)})`,
      });
    }
  }
  return problems;
}

/** Horizontal scale-out: only a droplet, only with the data and the cache shared, confirmed on prod per count. */
function scaleOutProblems(cfg: BuntyConfig, stack: string): Problem[] {
  const problems: Problem[] = [];
  if (cfg.redis.where === "managed") problems.push(...clusterLayoutProblems("valkey", cfg.redis.cluster, "redis.cluster"));
  const so = cfg.scaleOut;
  if (!so) return problems;
  if (isExistingHost(cfg.host)) {
    problems.push({ path: "scaleOut", message: "clones a droplet from a snapshot, but host is an existing server Lazarus did not create; scale out from a droplet (example: host: {size: s-2vcpu-4gb, image: ubuntu-24-04-x64, ...})" });
  }
  if (cfg.postgres.where === "host") {
    problems.push({ path: "scaleOut", message: "needs PostgreSQL off the host: each clone of the snapshot would run its own database and writes would split between them; move it to a managed cluster first (example: postgres: {where: managed, cluster: {version: \"16\", size: db-s-1vcpu-2gb, nodeCount: 2, maintenanceWindow: {day: sunday, hour: \"03:00\"}, databaseName: bunty_prod, userName: bunty}})" });
  }
  if (cfg.redis.where === "host") {
    problems.push({ path: "scaleOut", message: "needs Redis off the host: each droplet would keep its own cache, rate-limit counters and sessions, and flush-cache would empty only one; use a managed cluster (example: redis: {where: managed, cluster: {size: db-s-1vcpu-2gb, nodeCount: 2, maintenanceWindow: {day: sunday, hour: \"03:00\"}}})" });
  }
  cfg.operations.forEach((op, i) => {
    if (op.action === "renew-certificate") {
      problems.push({ path: `operations[${i}]`, message: "renews the host's certbot certificate, but with scaleOut the load balancer terminates TLS with a DigitalOcean-managed certificate that DigitalOcean renews; remove the operation" });
    }
  });
  problems.push(
    ...requireConfirm(stack, "bunty", `scale-out-${so.count}`, so.confirm, "scaleOut.confirm",
      `scale-out to ${so.count} more droplet(s) from snapshot ${so.fromSnapshot} puts a load balancer in front of the API (DNS for ${cfg.domains.api} must then point at it) and every per-host operation runs on every droplet`),
  );
  return problems;
}

export function buntyProblems(cfg: BuntyConfig, stack: string, secrets?: PlainSecrets): Problem[] {
  const problems: Problem[] = [...duplicateOperationIds(cfg.operations), ...jwtRotationProblems(cfg, stack, secrets)];
  if (cfg.domains.frontend === cfg.domains.api) {
    problems.push({ path: "domains.api", message: `is the frontend's name too; the API needs its own (example: api.${cfg.domains.frontend})` });
  }
  if (!cfg.healthUrl.startsWith(`https://${cfg.domains.api}/`)) {
    problems.push({ path: "healthUrl", message: `is not on the API's domain ${cfg.domains.api}; the uptime check must probe the backend nginx serves (example: https://${cfg.domains.api}/health)` });
  }
  // zod reports a bad record key without its message, so the names are checked here, with an example each.
  for (const name of Object.keys(cfg.app.featureFlags)) {
    if (!/^[A-Z][A-Z0-9_]*_ENABLED$/.test(name)) problems.push({ path: `app.featureFlags.${name}`, message: "is not a feature flag name (NAME_ENABLED; example: PLAID_ENABLED: false)" });
  }
  for (const name of Object.keys(cfg.app.env)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) problems.push({ path: `app.env.${name}`, message: 'is not an environment variable name (example: LOG_LEVEL: "info")' });
    else if (BUNTY_ENV_FROM_LAZARUS.includes(name) || name.endsWith("_ENABLED")) problems.push({ path: `app.env.${name}`, message: "is written by Lazarus (secrets, connections, feature flags); remove it here (feature flags go under app.featureFlags)" });
  }
  const offsite = cfg.backups.offsite;
  // The lifecycle rule expires everything under prefix: WAL and backup.info pgBackRest still needs would vanish there.
  if (offsite && `${offsite.pitrPath.slice(1)}/`.startsWith(offsite.prefix)) {
    problems.push({
      path: "backups.offsite.pitrPath",
      message: `"${offsite.pitrPath}" is under backups.offsite.prefix "${offsite.prefix}", which the bucket's lifecycle rule expires after ${offsite.lifecycleDays} days; pgBackRest keeps its own retention (example: /pgbackrest)`,
    });
  }
  problems.push(...scaleOutProblems(cfg, stack));
  if (!isExistingHost(cfg.host)) {
    // Vertical Scaling: changing host.size is a resize, which powers the droplet off.
    problems.push(
      ...requireConfirm(stack, "bunty", `resize-to-${cfg.host.size}`, cfg.host.resizeConfirm, "host.resizeConfirm",
        `the droplet is ${cfg.host.size}: a resize (any change of host.size) shuts the droplet down gracefully, resizes CPU and memory (not the disk: it stays reversible) and boots it, a minute or two of downtime while PM2 resurrects the app`),
    );
  }
  if (cfg.recovery.database && cfg.postgres.where !== "managed") {
    problems.push({ path: "recovery.database", message: "restores a managed cluster from the provider's backups, but PostgreSQL runs on the host (postgres.where: host); remove recovery.database (a host database is restored from /var/backups/bunty with scripts/backup/pg-restore.sh)" });
  } else {
    problems.push(...databaseRestoreProblems(cfg.recovery.database, stack, "bunty"));
  }
  const hostRestore = cfg.recovery.hostDatabase;
  if (hostRestore && cfg.postgres.where !== "host") {
    problems.push({ path: "recovery.hostDatabase", message: "restores PostgreSQL on the host, but it runs in a managed cluster (postgres.where: managed); use recovery.database (example: recovery: {database: {label: 20261201}})" });
  } else if (hostRestore?.swapIn && cfg.postgres.where === "host") {
    // The restore beside stays in the plan: its step is keyed on the label and does not run again.
    problems.push(
      ...swapInProblems({ stack, platform: "bunty", path: "recovery.hostDatabase", database: cfg.postgres.databaseName, swapIn: hostRestore.swapIn, confirm: hostRestore.confirm, confirmWhat: "database-cutover", ends: "the app's database sessions", alongside: {} }),
    );
  }
  cfg.operations.forEach((op, i) => {
    if (op.action === "rollback") {
      problems.push(...requireConfirm(stack, "bunty", "rollback", op.confirm, `operations[${i}].confirm`, "a rollback puts the previous release live (the current one is kept as bunty-backend-previous)"));
    } else if (op.action === "emergency-shutdown") {
      problems.push(...requireConfirm(stack, "bunty", "emergency-shutdown", op.confirm, `operations[${i}].confirm`, "an emergency shutdown stops the backend (users see the maintenance page)"));
    } else if (op.action === "flush-cache") {
      problems.push(...requireConfirm(stack, "bunty", "flush-cache", op.confirm, `operations[${i}].confirm`, "FLUSHDB drops every cached value, session and rate-limit counter the backend keeps in Redis"));
    } else if (op.action === "terminate-query") {
      problems.push(...requireConfirm(stack, "bunty", "terminate-query", op.confirm, `operations[${i}].confirm`, `pg_terminate_backend(${op.pid}) ends that session and rolls back its open transaction`));
    } else if (op.action === "reindex") {
      problems.push(...requireConfirm(stack, "bunty", "reindex", op.confirm, `operations[${i}].confirm`, "REINDEX DATABASE locks each table against writes while its indexes are rebuilt"));
    }
  });
  return problems;
}
