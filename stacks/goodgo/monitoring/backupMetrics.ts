// The backup metrics contract (GOODGO_BACKUP_METRICS): what pg-backup must expose so BackupTooOld and
// BackupVerificationFailed fire truthfully. Two Prometheus textfiles in /backups/metrics/ (on the pg_backups volume),
// each written to a temp file in the same directory and then `mv`-ed into place so node_exporter never reads one
// half-written:
//   pg_backup.prom  rewritten by pg-backup.sh ONLY after a successful backup (a failed run leaves it alone, so the
//                   timestamp keeps ageing and BackupTooOld fires 25 h after the last good backup):
//     goodgo_backup_last_success_timestamp_seconds  unix time the backup finished (the result line's finished_at)
//     goodgo_backup_last_size_bytes                 size of that backup file (the result line's bytes)
//   pg_verify.prom  rewritten by pg-verify.sh after EVERY verification run, pass or fail:
//     goodgo_backup_verify_success                  1 if verify-latest.json says ok, 0 otherwise (also 0 when the
//                                                   verification could not run at all)
//     goodgo_backup_verify_last_run_timestamp_seconds  unix time the verification finished
// renderBackupSuccessMetrics / renderVerifyMetrics render exactly those files (the tests pass them through
// `promtool check metrics` and through a real Prometheus evaluating the backup rules). In shell, e.g.:
//   printf '%s\n' '# TYPE goodgo_backup_last_success_timestamp_seconds gauge' \
//     "goodgo_backup_last_success_timestamp_seconds $(date +%s)" ... > /backups/metrics/.pg_backup.prom.tmp &&
//   mv /backups/metrics/.pg_backup.prom.tmp /backups/metrics/pg_backup.prom
// node_exporter reads the directory with --collector.textfile.directory=/backups/metrics (pg_backups mounted at
// /backups read-only). BackupTooOld also fires when the metric is absent (no backup ever recorded, or the file is
// gone); BackupVerificationFailed fires when the last verification failed.
import { PITR_METRICS } from "../../../lib/postgresPitr";
import { refuseField } from "../../../renderers/renderInputError";

export const GOODGO_BACKUP_METRICS = {
  dir: "/backups/metrics",
  backupTextfile: "/backups/metrics/pg_backup.prom",
  verifyTextfile: "/backups/metrics/pg_verify.prom",
  lastSuccess: "goodgo_backup_last_success_timestamp_seconds",
  lastSize: "goodgo_backup_last_size_bytes",
  verifySuccess: "goodgo_backup_verify_success",
  verifyLastRun: "goodgo_backup_verify_last_run_timestamp_seconds",
  /** BackupTooOld threshold: 25 hours. */
  maxAgeSeconds: 25 * 3600,
  /**
   * The physical route (lib/postgresPitr.ts PITR_METRICS): pgBackRest's weekly full and daily differential backups,
   * written by backup-job.sh pitr-full|pitr-diff into pgbackrest_<type>.prom beside the files above, and WAL
   * archiving's state from postgres_exporter. PitrBackupTooOld fires when the newest of them is older than 25 hours
   * (a differential runs every day) or none was ever recorded; WalArchivingFailing while archive_command fails.
   */
  pitrLastSuccess: PITR_METRICS.lastSuccess,
  pitrMaxAgeSeconds: 25 * 3600,
  walArchiveFailing: PITR_METRICS.walArchiveFailing,
} as const;

function gauge(name: string, help: string, value: number): string[] {
  if (!Number.isFinite(value) || value < 0) refuseField("backup metrics", name, `expected a non-negative number, got ${value}`);
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${Math.floor(value)}`];
}

/** pg_backup.prom: written by pg-backup only after a successful backup. */
export function renderBackupSuccessMetrics(m: { finishedUnix: number; sizeBytes: number }): string {
  const B = GOODGO_BACKUP_METRICS;
  return `${[
    ...gauge(B.lastSuccess, "Unix time the last successful pg-backup finished.", m.finishedUnix),
    ...gauge(B.lastSize, "Size in bytes of the last successful backup file.", m.sizeBytes),
  ].join("\n")}\n`;
}

/** pg_verify.prom: written by pg-verify after every verification run. */
export function renderVerifyMetrics(m: { passed: boolean; finishedUnix: number }): string {
  const B = GOODGO_BACKUP_METRICS;
  return `${[
    ...gauge(B.verifySuccess, "1 if the last backup verification passed, 0 if it failed.", m.passed ? 1 : 0),
    ...gauge(B.verifyLastRun, "Unix time the last backup verification finished.", m.finishedUnix),
  ].join("\n")}\n`;
}
