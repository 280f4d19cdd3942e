// DBIS's "Daily Backups" (runbook 004, Disaster Recovery): the database dump and the audit-log export for compliance,
// run by a pg-backup container on the host on a rendered schedule, off-site to the stack's Spaces buckets.
//
// The container runs the PostgreSQL 15 client image with scripts/backup/backup-schedule.sh as its entrypoint (the
// image has no cron; the loop runs the rendered crontab with the container's environment). Its connection is a libpq
// service file (host, port, database, user, sslmode=require; no secret) and a 0600 password file; the Spaces key is in
// a 0600 s3cmd config file. No secret is in its environment, its command line or the crontab. The scheduled lines and
// the "backup now" / "audit export now" operations run the same commands (dbisBackupCommands).
import { HOST_LAYOUT } from "../../lib/hostLayout";
import type { ServiceSpec } from "../../lib/inventory";
import { spacesEndpoint } from "../../config/primitives";
import { BACKUP_CRONTAB_PATH, renderCrontab } from "../../renderers/backupSchedule";
import type { DbisConfig } from "./config";

export const DBIS_BACKUP_SERVICE = "pg-backup";

/** Key prefixes in the buckets; the backup jobs and the lifecycle rules share them. */
export const DBIS_BUCKET_PREFIXES = { database: "postgres/", appLogs: "logs/", paymentArchive: "payments-archive/", audit: "audit/" } as const;

/** Where the pg-backup container finds what it reads (container paths). */
export const DBIS_BACKUP_PATHS = {
  backupDir: "/backups",
  auditDir: "/backups/audit",
  crontab: BACKUP_CRONTAB_PATH,
  serviceFile: "/etc/lazarus/pg_service.conf",
  pgpass: "/run/secrets/pgpass",
  s3cfg: "/run/secrets/s3cfg",
  scripts: `${HOST_LAYOUT.scriptsRoot}/backup`,
  /** The app's logs (read-only), the server's name (the key segment that keeps two servers' files apart), the record. */
  appLogs: "/app-logs",
  serverName: "/etc/lazarus/server-name",
  appLogsState: "/backups/app-logs-shipped.tsv",
} as const;

/** The same files on the host, relative to the deploy directory; the two secrets 0600. */
export const DBIS_BACKUP_FILES = {
  crontab: "backup/backup.crontab",
  serviceFile: "backup/pg_service.conf",
  pgpass: "secrets/pg-backup/pgpass",
  s3cfg: "secrets/pg-backup/s3cfg",
  /** Which server this is (dbis-<stack>-host or -standby), written per server by Lazarus. */
  serverName: "backup/server-name",
} as const;

/** The libpq service the jobs connect through (PGSERVICE). */
export const DBIS_PG_SERVICE = "dbis";

export const DBIS_BACKUP_VOLUME = "pg_backups";
/** The app's log directory, shared read-only with the backup container. */
export const DBIS_APP_LOGS_VOLUME = "app_logs";

/** s3://bucket/prefix/ of the dumps and of the audit exports. */
export function dbisBackupUrls(cfg: DbisConfig): { database: string; audit: string; appLogs: string } {
  return {
    database: `s3://${cfg.backups.bucket}/${DBIS_BUCKET_PREFIXES.database}`,
    audit: `s3://${cfg.backups.auditBucket}/${DBIS_BUCKET_PREFIXES.audit}`,
    appLogs: `s3://${cfg.backups.bucket}/${DBIS_BUCKET_PREFIXES.appLogs}`,
  };
}

/**
 * The two jobs' command words, in the container: the dump (pg-backup.sh: custom format, sha256 sidecar, local
 * retention, the off-site copy to S3_URL) and the audit export (audit-export.sh: gzipped CSV with a header, sidecar,
 * uploaded to the audit bucket). `day` absent exports the whole table, as the runbook's own command does.
 */
export function dbisBackupCommands(cfg: DbisConfig) {
  const script = (name: string) => `${DBIS_BACKUP_PATHS.scripts}/${name}`;
  return {
    database: [script("pg-backup.sh"), "-o", DBIS_BACKUP_PATHS.backupDir],
    auditExport: (day?: string) => [script("audit-export.sh"), "-o", DBIS_BACKUP_PATHS.auditDir, "--s3-url", dbisBackupUrls(cfg).audit, ...(day ? ["--day", day] : [])],
    // Rotated app logs, under logs/<host name>/: the primary's and the standby's files of one day never collide.
    appLogs: [
      script("app-logs-ship.sh"),
      "--dir", DBIS_BACKUP_PATHS.appLogs,
      "--s3-url", dbisBackupUrls(cfg).appLogs,
      "--source-file", DBIS_BACKUP_PATHS.serverName,
      "--state", DBIS_BACKUP_PATHS.appLogsState,
    ],
  };
}

/** The schedule: the dump at databaseAt, yesterday's audit rows at auditExportAt, rotated app logs at appLogsAt (UTC). */
export function renderDbisCrontab(cfg: DbisConfig): string {
  const c = dbisBackupCommands(cfg);
  return renderCrontab([
    { name: "database backup", at: cfg.backups.schedule.databaseAt, command: c.database },
    { name: "audit export", at: cfg.backups.schedule.auditExportAt, command: c.auditExport("yesterday") },
    { name: "app logs", at: cfg.backups.schedule.appLogsAt, command: c.appLogs },
  ]);
}

/** The pg-backup service: the schedule loop as PID 1, everything it reads mounted read-only, dumps on a volume. */
export function dbisBackupService(cfg: DbisConfig): ServiceSpec {
  const b = cfg.backups;
  const endpoint = spacesEndpoint(b.region);
  const P = DBIS_BACKUP_PATHS;
  const F = DBIS_BACKUP_FILES;
  return {
    name: DBIS_BACKUP_SERVICE,
    role: "backup",
    description: "daily database dump, audit-log export (runbook: Daily Backups) and rotated app logs, off-site to Spaces",
    image: b.image,
    entrypoint: ["bash", `${P.scripts}/backup-schedule.sh`],
    environment: {
      TZ: "UTC",
      BACKUP_CRONTAB: P.crontab,
      // The image has the PostgreSQL tools but not jq, zstd or s3cmd: installed at container start.
      BACKUP_APT_INSTALL: "1",
      BACKUP_DIR: P.backupDir,
      BACKUP_RETENTION_DAYS: String(b.localRetentionDays),
      AUDIT_EXPORT_DIR: P.auditDir,
      PGSERVICEFILE: P.serviceFile,
      PGSERVICE: DBIS_PG_SERVICE,
      PGDATABASE: cfg.database.databaseName,
      PGPASSFILE: P.pgpass,
      S3CMD_CONFIG: P.s3cfg,
      S3_URL: dbisBackupUrls(cfg).database,
      S3_ENDPOINT: endpoint,
      S3_HOST_BUCKET: `%(bucket)s.${endpoint}`,
      S3_REGION: b.region,
    },
    // Healthy once the tools the jobs need are installed, so `up --wait` never reports a container still installing.
    healthcheck: {
      test: { shell: "command -v jq >/dev/null && command -v flock >/dev/null && command -v zstd >/dev/null && command -v s3cmd >/dev/null" },
      interval: "10s",
      timeout: "5s",
      retries: 30,
      startPeriod: "60s",
    },
    volumes: [
      { kind: "volume", source: DBIS_BACKUP_VOLUME, target: P.backupDir },
      { kind: "bind", source: HOST_LAYOUT.scriptsRoot, target: HOST_LAYOUT.scriptsRoot, readOnly: true },
      { kind: "bind", source: `./${F.crontab}`, target: P.crontab, readOnly: true },
      { kind: "bind", source: `./${F.serviceFile}`, target: P.serviceFile, readOnly: true },
      { kind: "bind", source: `./${F.pgpass}`, target: P.pgpass, readOnly: true },
      { kind: "bind", source: `./${F.s3cfg}`, target: P.s3cfg, readOnly: true },
      { kind: "volume", source: DBIS_APP_LOGS_VOLUME, target: P.appLogs, readOnly: true },
      { kind: "bind", source: `./${F.serverName}`, target: P.serverName, readOnly: true },
    ],
    // SIGTERM reaches the loop, which stops a running dump (its partial file removed) and waits for it.
    stopGracePeriod: "60s",
    limits: { cpus: 0.5, memoryMb: 512 },
  };
}
