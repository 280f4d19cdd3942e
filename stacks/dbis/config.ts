// `lazarus:dbis`: the DBIS payments core's stack config (runbook 004, "Operational Runbook"): one host running docker
// compose (the Express app and an nginx edge with certbot TLS), a DigitalOcean managed PostgreSQL cluster with a read
// replica in the same VPC; its secrets and the checks that span keys.
import { z } from "zod";
import { duplicateOperationIds, requireConfirm, type Problem } from "../../config/checks";
import { absolutePath, email, hostname, hourOfDay, imageRef, imageTag, operationId, pinnedImage, port, spacesBucketName, spacesRegion } from "../../config/primitives";
import type { SecretSpec } from "../../config/secrets";
import { databaseRestoreProblems, databaseRestoreSchema, hostPlacementSchema, isExistingHost, managedPostgresSchema } from "../../config/shared";

/**
 * The runbook says "PostgreSQL 14+". The project's backup tools (pg-backup.sh, pg-verify.sh, pg-restore.sh, audit-export.sh)
 * run PostgreSQL 15's client, and pg_dump refuses a server newer than itself ("aborting because of server version
 * mismatch"): 16 or 17 would make every daily backup fail. So 14 or 15, and 15 by default.
 */
export const DBIS_POSTGRES_VERSIONS = ["14", "15"] as const;

const databaseSchema = managedPostgresSchema.extend({
  version: z
    .enum(DBIS_POSTGRES_VERSIONS, {
      message: 'is not a PostgreSQL version the backup tools (PostgreSQL 15 client) can dump; the runbook asks 14+ (example: "15"; one of 14, 15)',
    })
    .default("15"),
  databaseName: managedPostgresSchema.shape.databaseName.default("dbis_core"),
  userName: managedPostgresSchema.shape.userName.default("dbis"),
  /** The read replica (runbook "Database Failover: Promote replica to primary"); in the cluster's region and VPC. */
  replica: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Defaults to the cluster's size: a promoted replica carries the whole load. */
      size: managedPostgresSchema.shape.size.optional(),
    })
    .prefault({}),
});

export const DBIS_OPERATION_ACTIONS = ["restart-app", "check-status", "reconcile-daily", "reconcile-aging", "migrate", "migrate-rollback", "seed-operators", "backup-now", "audit-export-now"] as const;

const dropletId = z.number({ message: "is not a droplet id (example: 412345678)" }).int({ message: "is not a droplet id (example: 412345678)" }).positive({ message: "is not a droplet id (example: 412345678)" });

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: "is not a date YYYY-MM-DD (example: 2026-11-23)" });

const operationSchema = z.discriminatedUnion(
  "action",
  [
    z.strictObject({ id: operationId, action: z.literal("restart-app") }),
    z.strictObject({ id: operationId, action: z.literal("check-status") }),
    z.strictObject({ id: operationId, action: z.literal("reconcile-daily"), date: isoDate }),
    z.strictObject({ id: operationId, action: z.literal("reconcile-aging"), days: z.number().int().min(1, { message: "is not a whole number of days (example: 1)" }).default(1) }),
    z.strictObject({ id: operationId, action: z.literal("migrate") }),
    z.strictObject({ id: operationId, action: z.literal("migrate-rollback"), confirm: z.string().optional() }),
    z.strictObject({ id: operationId, action: z.literal("seed-operators") }),
    // "Backup database", now: the scheduled job's own command (pg-backup.sh, off-site copy included).
    z.strictObject({ id: operationId, action: z.literal("backup-now") }),
    // "Audit logs export (for compliance)", now: one UTC day, "yesterday", or (no day) the whole table as the runbook's
    // command does.
    z.strictObject({ id: operationId, action: z.literal("audit-export-now"), day: z.string().regex(/^(\d{4}-\d{2}-\d{2}|yesterday)$/, { message: "is not a date YYYY-MM-DD or yesterday (example: 2026-11-23)" }).optional() }),
  ],
  { message: `is not a DBIS operation (actions: ${DBIS_OPERATION_ACTIONS.join(", ")}; example: {id: 2026-11-23-status, action: check-status})` },
);
export type DbisOperation = z.infer<typeof operationSchema>;

export const dbisSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** A droplet Lazarus declares, or `{ existing: { address, user, port } }` for a server that is already there. */
  host: hostPlacementSchema,
  /**
   * The runbook's Application Failover ("Deploy to secondary server"): a second server, placed like `host`, with the
   * same compose deployment and files, its containers created but stopped until `recovery.appFailover` moves the app
   * there (two running copies would run the backup jobs twice and open two TLS pools to the payment receiver).
   */
  standby: hostPlacementSchema.optional(),
  /**
   * The public address that moves between the two servers ("Update load balancer"): a DigitalOcean reserved IP. With
   * droplets Lazarus declares it; with existing servers (which must be droplets) give it and the two droplets' ids.
   */
  appAddress: z
    .strictObject({
      reservedIp: z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, { message: "is not an IPv4 reserved IP (example: 203.0.113.10)" }),
      dropletIds: z.strictObject({ primary: dropletId, standby: dropletId }),
    })
    .optional(),
  database: databaseSchema,
  app: z.strictObject({
    /** Where the compose project lives on the host (the runbook's `docker-compose` commands run there). */
    deployDir: absolutePath.default("/opt/dbis"),
    image: imageRef,
    /** Rolling back is changing this tag. */
    imageTag,
    /** The runbook's `curl http://localhost:3000/health`: the app listens on 3000. */
    port: port.default(3000),
    memoryMb: z.number().int().min(128, { message: "is below 128 MB (example: 1024)" }).default(1024),
    cpus: z.number().positive({ message: "is not a positive CPU count (example: 1)" }).default(1),
    /** Public name of the API (`/api/v1`), the terminal UI (`/`) and the API docs (`/api-docs`). */
    serverName: hostname,
    nginxImage: pinnedImage.default("nginx:1.27-alpine"),
    /**
     * Where the app writes the runbook's `logs/application-*.log` inside its container (its working directory's
     * logs/): a volume there is read by the daily job that ships rotated files to the backup bucket's logs/.
     */
    logsDir: absolutePath.default("/app/logs"),
  }),
  tls: z.strictObject({
    email,
    acmeServer: z.string().regex(/^https:\/\//, { message: "is not an https ACME directory URL (example: https://acme-staging-v02.api.letsencrypt.org/directory)" }).optional(),
  }),
  monitoring: z
    .strictObject({
      prometheusImage: pinnedImage.default("prom/prometheus:v2.51.0"),
      retention: z.string().regex(/^\d+[dwy]$/, { message: "is not a retention duration (example: 30d)" }).default("30d"),
      alertmanagerImage: pinnedImage.default("prom/alertmanager:v0.27.0"),
      /**
       * Where the alerts go (stacks/dbis/alerting.ts): the runbook's Emergency Contacts are placeholders, so the team's
       * channel and on-call address are the stack's. Every alert to Slack; criticals also by e-mail.
       */
      alerting: z.strictObject({
        slackChannel: z.string().regex(/^#[\w.-]+$/, { message: 'is not a Slack channel (example: "#dbis-alerts")' }),
        email: z.strictObject({
          to: email,
          from: email,
          smarthost: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, { message: "is not host:port of an SMTP relay (example: smtp.example.org:587)" }),
          /** The relay login; its password is the secret dbisSmtpPassword. */
          username: z.string().min(1, { message: "is not an SMTP login (example: alerts@example.org)" }),
        }),
      }),
    }),
  /**
   * Object storage for the runbook's Data Retention: the daily database dumps and app logs (expiring), the payment
   * archive (kept indefinitely), and the audit-log exports in their own bucket (kept auditRetentionYears).
   */
  backups: z.strictObject({
    region: spacesRegion,
    bucket: spacesBucketName,
    /** Daily logical backups (pg-backup.sh) under postgres/ are deleted after this many days. */
    databaseRetentionDays: z.number().int().min(7, { message: "is below 7 days of daily database backups (example: 35)" }).max(3650, { message: "is above 3650 days (example: 35)" }).default(35),
    /** The runbook's Application Logs: 30 days. */
    appLogRetentionDays: z.number().int().min(1, { message: "is not a number of days (example: 30)" }).max(3650, { message: "is above 3650 days (example: 30)" }).default(30),
    auditBucket: spacesBucketName,
    /** The runbook's Audit Logs: "7-10 years (configurable)"; 10 by default, the longest the runbook allows. */
    auditRetentionYears: z
      .number({ message: "is not a number of years between 7 and 10 (example: 10)" })
      .int({ message: "is not a whole number of years between 7 and 10 (example: 10)" })
      .min(7, { message: "is below the runbook's 7 years of audit-log retention (example: 10)" })
      .max(10, { message: "is above the runbook's 10 years of audit-log retention (example: 10)" })
      .default(10),
    /**
     * The runbook's "Daily Backups", run by the pg-backup container's schedule (UTC): the database dump, and the audit
     * export of the previous UTC day (so it runs after midnight, late enough for the day's last transactions).
     */
    schedule: z
      .strictObject({
        databaseAt: hourOfDay.default("02:00"),
        auditExportAt: hourOfDay.default("00:30"),
        /** Rotated application logs to the backup bucket's logs/ (after the app's daily rotation at midnight). */
        appLogsAt: hourOfDay.default("00:15"),
      })
      .prefault({}),
    /** Dumps kept on the host's pg_backups volume besides the off-site copies (the newest good one is always kept). */
    localRetentionDays: z.number().int().min(1, { message: "is not a number of days (example: 7)" }).max(35, { message: "is above 35 days of dumps on the host's disk (example: 7)" }).default(7),
    /** The PostgreSQL client the backup jobs run: 15, which dumps the cluster's 14 or 15 (see DBIS_POSTGRES_VERSIONS). */
    image: pinnedImage.default("postgres:15.10-bookworm"),
  }),
  recovery: z
    .strictObject({
      /**
       * The runbook's Database Failover: promote the read replica to a standalone primary (DigitalOcean API), point
       * DATABASE_URL at it, recreate the app. Irreversible; confirmed on prod.
       */
      promoteReplica: z.strictObject({ confirm: z.string().optional() }).optional(),
      /**
       * The runbook's Application Failover: the standby's app is started (healthy first), then the public reserved IP
       * is reassigned to it (DigitalOcean API), then the standby gets its certificate. `to: primary` moves it back (the
       * IP first, then the standby is stopped). Confirmed on prod; runs once per `to`.
       */
      appFailover: z
        .strictObject({
          to: z.enum(["standby", "primary"], { message: 'is not a server to move the app to (example: standby; one of standby, primary)' }),
          confirm: z.string().optional(),
        })
        .optional(),
      /**
       * The runbook's Database Recovery, beside the live cluster: a backup (optionally at a point in time) restored into
       * a new cluster; with `cutover: true` the migrations run against it, then DATABASE_URL moves to it and the app is
       * recreated. The live cluster is never touched. Cutover, cutover back and discard are confirmed on prod.
       */
      database: databaseRestoreSchema.optional(),
    })
    .prefault({}),
  operations: z.array(operationSchema).default([]),
});

export type DbisConfig = z.infer<typeof dbisSchema>;

export const DBIS_SECRETS = {
  dbisSshPrivateKey: {
    description: "the private half of an SSH key in lazarus:environment.sshKeys, used to run commands on the DBIS host",
    setWith: "pulumi config set --secret --stack <stack> dbisSshPrivateKey < ~/.ssh/lazarus_dbis_ed25519",
  },
  dbisReconciliationToken: {
    description: "the bearer token the reconciliation operations send to the DBIS API (runbook: Run Reconciliation)",
    setWith: "pulumi config set --secret --stack <stack> dbisReconciliationToken < reconciliation-token.txt",
  },
  dbisSpacesAccessKey: {
    description: "access key id of a DigitalOcean Spaces key that may write DBIS's backup and audit buckets",
    setWith: "pulumi config set --secret --stack <stack> dbisSpacesAccessKey DO00EXAMPLEKEYID",
  },
  dbisSpacesSecretKey: {
    description: "secret of that DigitalOcean Spaces key",
    setWith: "pulumi config set --secret --stack <stack> dbisSpacesSecretKey < spaces-secret.txt",
  },
  dbisSlackWebhook: {
    description: "the Slack incoming-webhook URL Alertmanager posts DBIS's alerts to",
    setWith: "pulumi config set --secret --stack <stack> dbisSlackWebhook https://hooks.slack.com/services/T000/B000/XXXX",
  },
  dbisSmtpPassword: {
    description: "the password of the SMTP relay login (monitoring.alerting.email.username) that mails critical alerts",
    setWith: "pulumi config set --secret --stack <stack> dbisSmtpPassword < smtp-password.txt",
  },
  dbisDigitaloceanApiToken: {
    description: "a DigitalOcean API token (database and reserved IP write scopes) for the calls the provider has no resource for: the replica promotion, the application failover's reserved IP reassignment",
    setWith: "pulumi config set --secret --stack <stack> dbisDigitaloceanApiToken < do-token.txt",
  },
} as const satisfies Record<string, SecretSpec>;

/** Said by the confirmation and printed by the promote command itself, so the preview shows it. */
export const PROMOTION_IS_IRREVERSIBLE =
  "promoting the read replica is IRREVERSIBLE: it leaves replication for good and becomes a standalone primary; the old primary keeps its data but is no longer replicated to, and the application moves to the promoted cluster";

/** Said by the confirmation and printed by the failover command. */
export const APP_FAILOVER_MOVES_TRAFFIC =
  "moving the application's public reserved IP to another server: every client is served by that server from then on; connections to the other one are cut";

function standbyProblems(cfg: DbisConfig, stack: string): Problem[] {
  const problems: Problem[] = [];
  const { standby, appAddress } = cfg;
  if (standby) {
    if (isExistingHost(standby) !== isExistingHost(cfg.host)) {
      problems.push({
        path: "standby",
        message: "is placed differently from host: both must be droplets Lazarus declares, or both existing servers, because the reserved IP moves between two droplets (example: standby: {size: s-2vcpu-4gb, image: ubuntu-24-04-x64})",
      });
    } else if (isExistingHost(standby) && isExistingHost(cfg.host)) {
      if (standby.existing.address === cfg.host.existing.address) {
        problems.push({ path: "standby.existing.address", message: `is the primary's address ${JSON.stringify(standby.existing.address)}; the standby must be another server (example: 203.0.113.21)` });
      }
      if (appAddress && [cfg.host.existing.address, standby.existing.address].includes(appAddress.reservedIp)) {
        problems.push({
          path: "appAddress.reservedIp",
          message: `${JSON.stringify(appAddress.reservedIp)} is also a server's SSH address; it moves between the servers, so each server's existing.address must be its own (example: the droplet's public IPv4)`,
        });
      }
      if (!appAddress) {
        problems.push({
          path: "appAddress",
          message: "is missing: with existing servers the failover moves a reserved IP between two droplets, so name them (example: appAddress: {reservedIp: 203.0.113.10, dropletIds: {primary: 412345678, standby: 412345679}})",
        });
      }
    }
  }
  if (appAddress && !(standby && isExistingHost(standby))) {
    problems.push({ path: "appAddress", message: "is only for existing servers with a standby; with droplets Lazarus declares the reserved IP itself (example: remove appAddress)" });
  }
  if (appAddress && appAddress.dropletIds.primary === appAddress.dropletIds.standby) {
    problems.push({ path: "appAddress.dropletIds.standby", message: "is the primary's droplet id; the standby must be another droplet (example: 412345679)" });
  }
  const failover = cfg.recovery.appFailover;
  if (failover) {
    if (!standby) problems.push({ path: "recovery.appFailover", message: "needs a standby server, but standby is not set (example: standby: {size: s-2vcpu-4gb, image: ubuntu-24-04-x64})" });
    problems.push(...requireConfirm(stack, "dbis", "app-failover", failover.confirm, "recovery.appFailover.confirm", APP_FAILOVER_MOVES_TRAFFIC));
  }
  return problems;
}

export function dbisProblems(cfg: DbisConfig, stack: string): Problem[] {
  const problems: Problem[] = [...duplicateOperationIds(cfg.operations), ...standbyProblems(cfg, stack)];
  if (cfg.recovery.promoteReplica) {
    if (!cfg.database.replica.enabled) {
      problems.push({ path: "recovery.promoteReplica", message: "needs the read replica, but database.replica.enabled is false (example: database: {replica: {enabled: true}})" });
    }
    problems.push(...requireConfirm(stack, "dbis", "promote-replica", cfg.recovery.promoteReplica.confirm, "recovery.promoteReplica.confirm", PROMOTION_IS_IRREVERSIBLE));
  }
  problems.push(...databaseRestoreProblems(cfg.recovery.database, stack, "dbis"));
  if (cfg.recovery.database && cfg.recovery.promoteReplica) {
    problems.push({
      path: "recovery.database",
      message: "and recovery.promoteReplica would each move the application to another cluster; recover with one of them (example: remove recovery.database while the promoted replica is the primary)",
    });
  }
  cfg.operations.forEach((op, i) => {
    if (op.action === "migrate-rollback") {
      problems.push(...requireConfirm(stack, "dbis", "migrate-rollback", op.confirm, `operations[${i}].confirm`, "rolling back a migration can drop columns or tables and the payment data in them"));
    }
  });
  if (cfg.backups.auditBucket === cfg.backups.bucket) {
    problems.push({
      path: "backups.auditBucket",
      message: `"${cfg.backups.auditBucket}" is the same bucket as backups.bucket; the audit exports need their own protected bucket with their own retention (example: dbis-prod-audit)`,
    });
  }
  return problems;
}
