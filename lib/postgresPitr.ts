// Point-in-time recovery for any platform that runs its own PostgreSQL (GoodGo's postgres container, Bunty's host
// PostgreSQL; later Pencom on-prem and Waqiti's StatefulSet): ONE piece, so every platform archives, schedules and
// restores the same way. Pure: typed input in, file texts, server arguments, crontab lines and command lines out.
//
//   - pgbackrestImage(): a PostgreSQL image with pgBackRest, for platforms whose server runs in a container. The
//     server itself runs archive_command, so pgBackRest must be inside the server's image; the official postgres and
//     postgis images do not ship it. The image is built FROM the platform's pinned image with pinned packages from the
//     PGDG repository those images already configure (see the Dockerfile's comment for why a local build).
//   - pitrServerFiles(): pgbackrest.conf (renderers/pgbackrest.ts) and the archive settings, both as postgresql.conf
//     lines (a host's conf.d) and as `-c` arguments of the server (a container, whose PGDATA postgresql.conf is the
//     image's own and would be replaced by a restore).
//   - PITR_JOBS / pitrScheduleJobs(): the full + differential schedule, as lines of the backup crontab that
//     scripts/backup/backup-schedule.sh (or cron) runs through backup-job.sh.
//   - pitrRestoreArgv() / pitrRouteArgv(): the restore beside the live database (a pgBackRest restore into a scratch
//     data directory, recovered to the named time or the latest point, dumped, then scripts/backup/pg-restore.sh into
//     a new database beside the live one, verified, and cut over only when asked), and the choice between the physical
//     route and the logical one for a full host recovery.
import { renderSystemdTimer } from "../renderers/systemdTimer";
import { renderPgBackRestConf, type PgBackRestInput, type S3Repository, type PosixRepository } from "../renderers/pgbackrest";
import { refuseField } from "../renderers/renderInputError";
import { spacesEndpoint } from "../config/primitives";
import { shellJoin } from "./shell";

// ---------------------------------------------------------------------------------------------------------------------
// The image

/**
 * pgBackRest from the PGDG apt repository, pinned per Debian release of the base image (PGDG's version suffix names
 * it: pgdg110 = bullseye, pgdg120 = bookworm). 2.54.2 knows PostgreSQL 16 (support came in 2.48) and reads every
 * repository 2.45 (the tests' Debian package) writes. PGDG removes superseded versions from its main repository, so
 * this pin will one day stop resolving: the build then fails (apt exits 100 naming the version), nothing runs a
 * different pgBackRest silently; raise the pin here. These strings cannot be checked against the repository from this
 * machine (no network): the build on the host is the first to prove them. zstd is Debian's (bookworm's point-release
 * version as `apt-cache policy zstd` lists it on a bookworm machine; bullseye's release version), for pg-backup.sh's
 * .dump.zst archives.
 */
export const PGBACKREST_DEBIAN_PACKAGES = {
  bullseye: { pgbackrest: "2.54.2-1.pgdg110+1", jq: "1.6-2.1", zstd: "1.4.8+dfsg-2.1" },
  bookworm: { pgbackrest: "2.54.2-1.pgdg120+1", jq: "1.6-2.1", zstd: "1.5.4+dfsg2-5+deb12u1" },
} as const;
export type DebianRelease = keyof typeof PGBACKREST_DEBIAN_PACKAGES;

/** The Debian release each supported base image is built on (its Dockerfile's FROM). */
export const BASE_IMAGE_RELEASES: Readonly<Record<string, DebianRelease>> = {
  // https://github.com/postgis/docker-postgis/blob/master/16-3.4/Dockerfile: FROM postgres:16-bullseye
  "postgis/postgis:16-3.4": "bullseye",
  // https://github.com/docker-library/postgres/blob/master/15/bookworm/Dockerfile: postgres:15.10 is 15.10-bookworm
  "postgres:15.10": "bookworm",
};

/** Locally built images live under this repository prefix: "localhost/" is never pulled from Docker Hub. */
export const LOCAL_IMAGE_PREFIX = "localhost/lazarus/";

export interface PgbackrestImage {
  /** The image reference compose runs: localhost/lazarus/<base>-pgbackrest:<base tag>-pgbackrest<version>. */
  image: string;
  /** Its repository (lib/imageFacts.ts keys on it). */
  repository: string;
  /** The base image it is built FROM. */
  base: string;
  /** The Dockerfile text. */
  dockerfile: string;
  /** Programs the image adds to its base's (lib/imageFacts.ts). */
  adds: readonly string[];
}

/** The repository of the image built from `baseRepository` (e.g. postgis/postgis -> localhost/lazarus/postgis-pgbackrest). */
export function pgbackrestImageRepository(baseRepository: string): string {
  return `${LOCAL_IMAGE_PREFIX}${baseRepository.split("/").pop()}-pgbackrest`;
}

/**
 * The PostgreSQL image with pgBackRest for a pinned base image ("repository:tag", one of BASE_IMAGE_RELEASES).
 * The tag carries the base tag and the pgBackRest version, so a new pin is a new tag and compose builds it.
 */
export function pgbackrestImage(base: string): PgbackrestImage {
  const release = BASE_IMAGE_RELEASES[base];
  if (!release) {
    refuseField("pgbackrest image", "base", `${JSON.stringify(base)} has no known Debian release (known: ${Object.keys(BASE_IMAGE_RELEASES).join(", ")}); add its FROM's release to BASE_IMAGE_RELEASES`);
  }
  const [repository, tag] = [base.slice(0, base.lastIndexOf(":")), base.slice(base.lastIndexOf(":") + 1)];
  const pins = PGBACKREST_DEBIAN_PACKAGES[release];
  const upstream = pins.pgbackrest.split("-")[0];
  const repo = pgbackrestImageRepository(repository);
  const dockerfile = [
    "# Rendered by Lazarus (lib/postgresPitr.ts). Do not edit by hand.",
    `# ${base} plus pgBackRest: the server runs archive_command, so pgBackRest must be inside the server's image.`,
    "# Built on the host by `docker compose up` (the service's build:, pull_policy build): no registry to keep, and the",
    "# tag names the base and the pinned pgBackRest, so a new pin is a new image. pgBackRest comes from the PGDG",
    "# repository the base image already configures (/etc/apt/sources.list.d/pgdg.list), jq and zstd (pg-backup.sh's",
    "# archives) from its Debian release; each pinned to a version.",
    `FROM ${base}`,
    "RUN set -eux; \\",
    "    apt-get update; \\",
    `    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pgbackrest=${pins.pgbackrest} jq=${pins.jq} zstd=${pins.zstd}; \\`,
    "    rm -rf /var/lib/apt/lists/*; \\",
    "    install -d -o postgres -g postgres -m 0750 /var/log/pgbackrest /var/spool/pgbackrest /var/lib/pgbackrest; \\",
    "    install -d -o postgres -g postgres -m 0770 /tmp/pgbackrest; \\",
    `    pgbackrest version | grep -qx 'pgBackRest ${upstream}'`,
    "",
  ].join("\n");
  return { image: `${repo}:${tag}-pgbackrest${upstream}`, repository: repo, base, dockerfile, adds: ["pgbackrest", "jq", "zstd"] };
}

// ---------------------------------------------------------------------------------------------------------------------
// The server's files and arguments

export interface SelfManagedPitrSite {
  /** The cluster's name in the repository. */
  stanza: string;
  /** The server as pgBackRest sees it where it runs (in the container, or on the host). */
  pg: { dataDir: string; socketDir: string; port: number; user: string };
  repository: S3Repository | PosixRepository;
  /** Full backups kept; each keeps its differentials and the WAL to replay from it. */
  retentionFull: number;
  /** archive_timeout: the bound on committed data lost (RPO) on a quiet server. */
  archiveTimeoutSeconds: number;
  /** Where pgbackrest.conf is installed, and the include directory holding the secrets file (if any). */
  configPath: string;
  includeDir?: string;
  /** The 0600 secrets include file (renderPgBackRestSecretsConf): passphrase, S3 keys. */
  secretsFile?: string;
  encrypted: boolean;
  spoolDir: string;
  logDir: string;
  /** Parallel processes for backup/restore and the async archive push (default 2: the hosts have two cores). */
  processMax?: number;
  /**
   * A second, off-site repository (repo2, spacesRepository()): every WAL segment is pushed to both, its backups
   * are its own (backup-job.sh with PITR_REPO=2), its retention its own; always encrypted (aes-256-cbc, the
   * passphrase and the Spaces key in secretsFile as repo2-* options). What survives the loss of the server.
   */
  offsite?: { repository: S3Repository; retentionFull: number };
}

/** The repository number of the off-site copy when a site has one beside its own (SelfManagedPitrSite.offsite). */
export const OFFSITE_REPO = 2;

/**
 * A DigitalOcean Spaces bucket as a pgBackRest S3 repository (Bunty's repo1, Pencom's repo2): the region's endpoint,
 * the bucket's virtual host (uri-style host, as Spaces serves it), under `path` in the bucket.
 */
export function spacesRepository(o: { bucket: string; region: string; path: string }): S3Repository {
  return { type: "s3", bucket: o.bucket, endpoint: spacesEndpoint(o.region), region: o.region, path: o.path };
}

export interface PitrServerFiles {
  pgbackrestConf: string;
  /** The archive settings, one GUC each: wal_level, archive_mode, archive_command, archive_timeout. */
  archiveSettings: Record<string, string>;
  /** As postgresql.conf lines (a host's conf.d). */
  archiveConf: string;
  /** As server arguments (`postgres -c k=v ...`, a container's command). */
  serverArgs: string[];
}

export function pitrPgbackrestInput(site: SelfManagedPitrSite): PgBackRestInput {
  const processMax = site.processMax ?? 2;
  return {
    stanza: site.stanza,
    pg: { dataPath: site.pg.dataDir, port: site.pg.port, socketPath: site.pg.socketDir, user: site.pg.user },
    repository: site.repository,
    retention: { full: site.retentionFull },
    compress: { type: "zst", level: 3 },
    processMax,
    // One repository round trip per segment would hold back the server's archiver; async pushes them in parallel.
    archiveAsync: { spoolPath: site.spoolDir, processMax },
    ...(site.encrypted ? { encryption: { cipherType: "aes-256-cbc" as const } } : {}),
    logPath: site.logDir,
    ...(site.secretsFile ? { secretsFile: site.secretsFile } : {}),
    ...(site.offsite
      ? { repo2: { repository: site.offsite.repository, retention: { full: site.offsite.retentionFull }, encryption: { cipherType: "aes-256-cbc" as const } } }
      : {}),
  };
}

export function pitrArchiveSettings(site: SelfManagedPitrSite): Record<string, string> {
  const timeout = site.archiveTimeoutSeconds;
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86400) refuseField("pitr", "archiveTimeoutSeconds", `must be a whole number of seconds from 1 to 86400, got ${timeout}`);
  const config = `--config=${site.configPath}${site.includeDir ? ` --config-include-path=${site.includeDir}` : ""}`;
  return {
    wal_level: "replica",
    archive_mode: "on",
    archive_command: `pgbackrest ${config} --stanza=${site.stanza} archive-push %p`,
    archive_timeout: `${timeout}s`,
  };
}

export function pitrServerFiles(site: SelfManagedPitrSite): PitrServerFiles {
  const pgbackrestConf = renderPgBackRestConf(pitrPgbackrestInput(site));
  const archiveSettings = pitrArchiveSettings(site);
  const quote = (v: string) => (/^[A-Za-z0-9_.]+$/.test(v) ? v : `'${v.replace(/'/g, "''")}'`);
  return {
    pgbackrestConf,
    archiveSettings,
    archiveConf: `${Object.entries(archiveSettings).map(([k, v]) => `${k} = ${quote(v)}`).join("\n")}\n`,
    serverArgs: Object.entries(archiveSettings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
  };
}

/** The archive settings back from a server's argv (`postgres -c k=v ...`): what a container really starts with. */
export function archiveSettingsFromServerArgs(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== "-c") continue;
    const kv = argv[++i] ?? "";
    const eq = kv.indexOf("=");
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// The schedule

/** The backup-job.sh jobs of the physical route: a full backup once a week, a differential every other day. */
export const PITR_JOBS = { full: "pitr-full", diff: "pitr-diff" } as const;

export interface PitrSchedule {
  /** "HH:MM" UTC, every day: the full backup on fullWeekday, a differential on the six others. */
  at: string;
  /** 0 = Sunday ... 6 = Saturday (cron's day of week). */
  fullWeekday: number;
}

export interface PitrScheduledJob {
  job: (typeof PITR_JOBS)[keyof typeof PITR_JOBS];
  hour: number;
  minute: number;
  /** cron day-of-week numbers. */
  weekdays: number[];
}

export const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"] as const;

export function pitrScheduleJobs(s: PitrSchedule): PitrScheduledJob[] {
  const m = typeof s.at === "string" ? /^([01]\d|2[0-3]):([0-5]\d)$/.exec(s.at) : null;
  if (!m) refuseField("pitr schedule", "at", `must be a UTC time "HH:MM" (example: "01:00"), got ${JSON.stringify(s.at)}`);
  if (!Number.isInteger(s.fullWeekday) || s.fullWeekday < 0 || s.fullWeekday > 6) {
    refuseField("pitr schedule", "fullWeekday", `must be a day of the week 0-6 (0 = Sunday), got ${JSON.stringify(s.fullWeekday)}`);
  }
  const [hour, minute] = [Number(m[1]), Number(m[2])];
  const others = [0, 1, 2, 3, 4, 5, 6].filter((d) => d !== s.fullWeekday);
  return [
    { job: PITR_JOBS.full, hour, minute, weekdays: [s.fullWeekday] },
    { job: PITR_JOBS.diff, hour, minute, weekdays: others },
  ];
}

// ---------------------------------------------------------------------------------------------------------------------
// Restores

/** Where a restore's scratch cluster and its dump go: <scratchRoot>/<label>/{data, <db>_pitr_<label>.dump}. */
export interface PitrRestoreInput {
  stanza: string;
  label: string;
  /** The database the application uses: dumped from the restored cluster, restored beside the live one. */
  database: string;
  /** "latest", or an ISO 8601 UTC time ("2026-11-23T02:00:00Z"). */
  pointInTime: string;
  /** A directory with room for a whole cluster (GoodGo: the pg_backups volume). */
  scratchRoot: string;
  /** A free port for the scratch cluster (it listens on localhost only). */
  port: number;
  scriptsDir: string;
  /**
   * The scratch cluster's postgresql.conf, for a cluster that keeps its configuration outside the data directory
   * (Debian/Ubuntu's /etc/postgresql/<version>/<cluster>), whose backup therefore has none (pitr-restore.sh --conf-file).
   */
  confFile?: string;
}

export const POINT_IN_TIME = /^(latest|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z)$/;

export function pitrScratchDir(r: Pick<PitrRestoreInput, "scratchRoot" | "label">): string {
  return `${r.scratchRoot.replace(/\/$/, "")}/${r.label}`;
}

/**
 * pitr-restore.sh: the repository's backup plus WAL into a new data directory beside the live cluster, recovered to
 * the named time or the end of the archive, started on its own port with archiving off, the application database
 * dumped (pg_dump -Fc with a sha256 sidecar, the format pg-restore.sh checks) and the scratch cluster removed.
 * Run as the server's OS user.
 */
export function pitrRestoreArgv(r: PitrRestoreInput): string[] {
  if (!POINT_IN_TIME.test(r.pointInTime)) refuseField("pitr restore", "pointInTime", `must be latest or a UTC time such as 2026-11-23T02:00:00Z, got ${JSON.stringify(r.pointInTime)}`);
  const dir = pitrScratchDir(r);
  return [
    "bash",
    `${r.scriptsDir}/pitr-restore.sh`,
    "--stanza",
    r.stanza,
    "--target-dir",
    `${dir}/data`,
    "--port",
    String(r.port),
    ...(r.pointInTime === "latest" ? [] : ["--target-time", r.pointInTime]),
    ...(r.confFile ? ["--conf-file", r.confFile] : []),
    "--dump-database",
    r.database,
    "--dump-dir",
    dir,
  ];
}

/** pitr-route.sh: physical when the repository has a backup of the stanza, logical otherwise; written to `routeFile`. */
export function pitrRouteArgv(o: { stanza: string; routeFile: string; scriptsDir: string }): string[] {
  return ["bash", `${o.scriptsDir}/pitr-route.sh`, "--stanza", o.stanza, "--out", o.routeFile];
}

// ---------------------------------------------------------------------------------------------------------------------
// Metrics

/**
 * What scripts/backup/backup-job.sh pitr-full|pitr-diff writes (node_exporter textfiles pgbackrest_<type>.prom and
 * pgbackrest_<type>_job.prom, labelled {stanza, type}), and what postgres_exporter's extra query on pg_stat_archiver
 * exposes. A platform's alerts read these names; the tests hold the script, the query and the rules to them.
 */
export const PITR_METRICS = {
  /** Written only after a successful backup: the set's stop time. */
  lastSuccess: "pgbackrest_backup_last_success_timestamp_seconds",
  lastRepoBytes: "pgbackrest_backup_last_repo_bytes",
  /** Written after every run: 1 or 0, and when. */
  lastRunSuccess: "pgbackrest_backup_last_run_success",
  lastRunTimestamp: "pgbackrest_backup_last_run_timestamp_seconds",
  /** postgres_exporter query `pg_wal_archive` (PG_WAL_ARCHIVE_SQL): 1 while the last archive attempt failed. */
  walArchiveFailing: "pg_wal_archive_failing",
  walArchiveFailedCount: "pg_wal_archive_failed_count",
} as const;

/**
 * pg_stat_archiver as postgres_exporter reads it: failing is 1 when the newest archive attempt failed (a failure after
 * the last success), which is what fills pg_wal and stops the RPO clock; failed_count for dashboards. A quiet server
 * archives nothing and stays 0 (an age-of-last-archive rule would fire on every idle night).
 */
export const PG_WAL_ARCHIVE_SQL =
  "SELECT CASE WHEN last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time) THEN 1 ELSE 0 END AS failing, failed_count FROM pg_stat_archiver";

// ---------------------------------------------------------------------------------------------------------------------
// The schedule on a systemd host (a platform whose PostgreSQL runs on the host, not in a container)

export interface PitrSystemdInput {
  /** Unit name prefix, e.g. "lazarus-bunty-pitr": <prefix>-full.{service,timer}, <prefix>-diff.{service,timer}. */
  unitPrefix: string;
  stanza: string;
  schedule: PitrSchedule;
  scriptsDir: string;
  /** Where backup-job.sh writes its metrics textfiles (METRICS_DIR) and its scratch (BACKUP_DIR). */
  metricsDir: string;
  backupDir: string;
  /** The server's OS user: pgBackRest runs as it. */
  user: string;
  /** The repository these backups go to (PITR_REPO): 2 for the off-site copy, whose units are <prefix>-repo2-*. */
  repo?: 1 | 2;
}

/**
 * systemd service + timer pairs running backup-job.sh pitr-full / pitr-diff as the server's OS user, on the days and
 * time of pitrScheduleJobs (UTC). Timers, not cron: systemd-analyze checks them, Persistent=true runs a backup the
 * host missed while it was off, and the journal keeps each run's result line. Keyed by file name (/etc/systemd/system/).
 */
export function pitrSystemdUnits(o: PitrSystemdInput): Record<string, string> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(o.unitPrefix)) refuseField("pitr systemd units", "unitPrefix", `must be lower-case letters, digits and '-', got ${JSON.stringify(o.unitPrefix)}`);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const pad = (n: number) => String(n).padStart(2, "0");
  const units: Record<string, string> = {};
  for (const j of pitrScheduleJobs(o.schedule)) {
    const name = `${o.unitPrefix}-${o.repo === 2 ? "repo2-" : ""}${j.job.replace(/^pitr-/, "")}`;
    // One systemd renderer for every timer (renderers/systemdTimer.ts: quoting, checks, Persistent=true).
    const { service, timer } = renderSystemdTimer({
      name,
      description: `pgBackRest ${j.job === PITR_JOBS.full ? "full" : "differential"} backup of stanza ${o.stanza}${o.repo === 2 ? " to repo2" : ""} (metrics in ${o.metricsDir})`,
      command: ["/bin/bash", `${o.scriptsDir}/backup-job.sh`, j.job],
      onCalendar: `${j.weekdays.map((d) => days[d]).join(",")} *-*-* ${pad(j.hour)}:${pad(j.minute)}:00 UTC`,
      after: ["postgresql.service"],
      user: o.user,
      environment: { PITR_STANZA: o.stanza, METRICS_DIR: o.metricsDir, BACKUP_DIR: o.backupDir, ...(o.repo === 2 ? { PITR_REPO: "2" } : {}) },
    });
    units[`${name}.service`] = service;
    units[`${name}.timer`] = timer;
  }
  return units;
}

/**
 * The setup step that puts the rendered archive settings into effect on a running self-managed cluster
 * (scripts/backup/pitr-archive-apply.sh). A setup runs again whenever one of its files or its host's identity changes,
 * and a restart of a production server is an outage: the script asks the server what is in effect and restarts the
 * unit only while archive_mode is off (it takes effect only at a start), reloads when archive_command or
 * archive_timeout changed, and otherwise leaves it alone. It reaches the cluster on the port and socket pgbackrest.conf
 * names (pg1-port, pg1-socket-path), so a wrong port fails here and in pgBackRest alike instead of restarting anything.
 */
export function pitrArchiveApplyCommand(site: SelfManagedPitrSite, o: { scriptsDir: string; service: string }): string {
  return shellJoin([
    "bash", `${o.scriptsDir}/pitr-archive-apply.sh`,
    "--service", o.service,
    "--port", String(site.pg.port),
    "--socket-dir", site.pg.socketDir,
    "--archive-command", pitrArchiveSettings(site).archive_command!,
    "--archive-timeout", String(site.archiveTimeoutSeconds),
    "--user", site.pg.user,
  ]);
}
