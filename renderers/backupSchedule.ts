// A pg-backup service's schedule: the backup and its verification once a day each, at UTC times, as crontab lines
// rendered from typed input. Pure: no Pulumi, no I/O.
//
// Who reads the crontab. The pg-backup container runs the postgis/postgis:16-3.4 image, which (like the postgres image
// it builds on) has no cron daemon. Installing one at container start would need the network on every start, and cron
// starts jobs with an empty environment, so PGPASSWORD and the S3 keys would have to be written to a file for it.
// So the container's entrypoint is scripts/backup/backup-schedule.sh: a small scheduler loop (PID 1, logs on the
// container's stdout) that reads THIS crontab and runs each line's command in the minute its `minute hour` fields name,
// with the container's own environment. The lines are ordinary crontab syntax (5 fields + command), so the same file
// works unchanged in a real crontab if the image ever gets cron; the loop accepts exactly the subset rendered here
// (numeric minute and hour lists, `*` for day of month and month, `*` or a list of weekdays for the pgBackRest jobs)
// and refuses anything else at start.
// Times are UTC: the loop reads the clock with `date -u`, and the service also sets TZ=UTC.
//
// Each line runs scripts/backup/backup-job.sh, which wraps pg-backup.sh / pg-verify.sh (and, with `pitr`, pitr-backup.sh:
// a weekly full, a daily differential) and writes the backup metrics textfiles a platform's backup alerts read.

import { pitrScheduleJobs, WEEKDAYS, type PitrSchedule } from "../lib/postgresPitr";
import { refuseField } from "./renderInputError";

export interface BackupSchedule {
  /** Daily backup time, "HH:MM" UTC (example: "02:00"). */
  backupAt: string;
  /** Daily verification time, "HH:MM" UTC, after the backup has finished (example: "04:00"). */
  verifyAt: string;
  /** Where scripts/backup is inside the container (default /opt/lazarus/scripts/backup: scripts/ mounted at /opt/lazarus/scripts). */
  scriptsDir?: string;
  /** The physical route's pgBackRest backups (lib/postgresPitr.ts): a weekly full, a differential on the other days. */
  pitr?: PitrSchedule;
}

export const DEFAULT_BACKUP_SCRIPTS_DIR = "/opt/lazarus/scripts/backup";

/** Where the pg-backup container finds the rendered crontab (backup-schedule.sh's default, env BACKUP_CRONTAB). */
export const BACKUP_CRONTAB_PATH = "/etc/lazarus/backup.crontab";

const RENDERER = "backup schedule";

export interface ScheduledJob {
  job: "backup" | "verify" | "pitr-full" | "pitr-diff";
  hour: number;
  minute: number;
  /** cron days of the week (0 = Sunday); absent: every day. */
  weekdays?: number[];
  command: string;
}

function time(field: string, v: unknown): { hour: number; minute: number } {
  const m = typeof v === "string" ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(v) : null;
  if (!m) refuseField(RENDERER, field, `must be a UTC time "HH:MM" (example: "02:00"), got ${JSON.stringify(v)}`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** The jobs of a schedule, validated (the times differ; the scripts dir is an absolute plain path). */
export function backupJobs(s: BackupSchedule): ScheduledJob[] {
  if (typeof s !== "object" || s === null) refuseField(RENDERER, "(schedule)", "must be {backupAt, verifyAt}");
  for (const k of Object.keys(s)) {
    if (!["backupAt", "verifyAt", "scriptsDir", "pitr"].includes(k)) refuseField(RENDERER, k, "is not a schedule setting (allowed: backupAt, verifyAt, scriptsDir, pitr)");
  }
  const b = time("backupAt", s.backupAt);
  const v = time("verifyAt", s.verifyAt);
  if (b.hour === v.hour && b.minute === v.minute) {
    refuseField(RENDERER, "verifyAt", `is the same minute as backupAt (${s.backupAt}); verify after the backup has finished (example: "04:00")`);
  }
  const dir = s.scriptsDir ?? DEFAULT_BACKUP_SCRIPTS_DIR;
  if (typeof dir !== "string" || !/^\/[A-Za-z0-9._/-]*$/.test(dir) || dir.includes("..")) {
    refuseField(RENDERER, "scriptsDir", `must be an absolute path of letters, digits, . _ - / (example: ${DEFAULT_BACKUP_SCRIPTS_DIR}), got ${JSON.stringify(dir)}`);
  }
  const job = dir.replace(/\/$/, "") + "/backup-job.sh";
  const pitr = s.pitr ? pitrScheduleJobs(s.pitr) : [];
  for (const p of pitr) {
    if ((p.hour === b.hour && p.minute === b.minute) || (p.hour === v.hour && p.minute === v.minute)) {
      refuseField(RENDERER, "pitr.at", `is the same minute as the logical backup or its verification (${s.backupAt}, ${s.verifyAt}); give the pgBackRest backups their own time (example: "01:00")`);
    }
  }
  return [
    { job: "backup", ...b, command: `${job} backup` },
    { job: "verify", ...v, command: `${job} verify` },
    ...pitr.map((p): ScheduledJob => ({ job: p.job, hour: p.hour, minute: p.minute, weekdays: p.weekdays, command: `${job} ${p.job}` })),
  ];
}

/** A job of a backup container's crontab: a name for the comment, a UTC time, the days, and the command's words. */
export interface CronJob {
  name: string;
  /** "HH:MM" UTC. */
  at: string;
  /** cron days of the week (0 = Sunday); absent: every day. */
  weekdays?: number[];
  /** An absolute program path and plain-word arguments: what backup-schedule.sh runs without a shell. */
  command: string[];
}

// The words backup-schedule.sh accepts (no quotes, $, ;, &, |, <, >, backquotes, backslashes, spaces): it runs them
// without a shell, so anything a shell would interpret is refused here, before a host sees it.
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Crontab text, times in UTC: `minute hour * * dow command  # name daily at HH:MM UTC` (or `# name Sun at ...`), the
 * subset backup-schedule.sh runs (and a real cron would too). Refuses a time that is not HH:MM, two jobs in the same
 * minute on a common day (one would wait for the other's database connections), a relative program and a word a
 * shell would interpret.
 */
export function renderCrontab(jobs: CronJob[], header = "Rendered by Lazarus (renderers/backupSchedule.ts)."): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  const ALL_DAYS = [0, 1, 2, 3, 4, 5, 6];
  const seen: { at: string; days: number[]; name: string }[] = [];
  const lines = jobs.map((j, i) => {
    const t = time(`jobs[${i}].at`, j.at);
    const days = j.weekdays ?? ALL_DAYS;
    const clash = seen.find((o) => o.at === j.at && o.days.some((d) => days.includes(d)));
    if (clash) refuseField(RENDERER, `jobs[${i}].at`, `${j.name} is at ${j.at}, the same minute as ${clash.name}; give it its own time (example: "04:00")`);
    seen.push({ at: j.at, days, name: j.name });
    const [program, ...args] = j.command;
    if (!program || !/^\/[A-Za-z0-9._/-]+$/.test(program) || program.includes("..")) {
      refuseField(RENDERER, `jobs[${i}].command`, `must start with an absolute program path (example: ${DEFAULT_BACKUP_SCRIPTS_DIR}/pg-backup.sh), got ${JSON.stringify(program)}`);
    }
    for (const w of args) {
      if (!PLAIN_WORD.test(w)) refuseField(RENDERER, `jobs[${i}].command`, `${JSON.stringify(w)} is not a plain word (letters, digits and _@%+=:,./-; no spaces or shell syntax)`);
    }
    if (!/^[a-z0-9 -]+$/.test(j.name)) refuseField(RENDERER, `jobs[${i}].name`, `must be lower-case words (example: database backup), got ${JSON.stringify(j.name)}`);
    const when = j.weekdays ? `${j.weekdays.map((d) => WEEKDAYS[d]).join(", ")} at` : "daily at";
    return `${t.minute} ${t.hour} * * ${j.weekdays ? j.weekdays.join(",") : "*"} ${j.command.join(" ")}  # ${j.name} ${when} ${pad(t.hour)}:${pad(t.minute)} UTC`;
  });
  return [`# ${header} Times are UTC; read by scripts/backup/backup-schedule.sh.`, "# m h dom mon dow command", ...lines, ""].join("\n");
}

/** Crontab text: `minute hour * * dow <dir>/backup-job.sh backup|verify|pitr-full|pitr-diff`, times in UTC. */
export function renderBackupCrontab(s: BackupSchedule): string {
  const jobs = backupJobs(s);
  const pad = (n: number) => String(n).padStart(2, "0");
  return renderCrontab(jobs.map((j) => ({ name: j.job, at: `${pad(j.hour)}:${pad(j.minute)}`, weekdays: j.weekdays, command: j.command.split(" ") })));
}
