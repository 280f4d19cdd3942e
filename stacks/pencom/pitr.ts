// Point-in-time recovery for Pencom's on-premises PostgreSQL (issue 14), through the shared piece for self-managed
// PostgreSQL (lib/postgresPitr.ts), the way Bunty's host PostgreSQL does it: WAL archived by pgBackRest (the server's
// own Debian/Ubuntu package), a weekly full and daily differential backup from systemd timers, and
// `recovery.coreDatabase.pointInTime`: the repository's backup plus WAL recovered to that moment in a scratch cluster
// beside the live one, pencom_core_db2 dumped out of it, and that dump restored by pg-restore.sh into a new database
// beside the live one (checksum and table of contents verified first); the existing cutover then points core at it.
//
// Where it runs: on the PostgreSQL server (`postgres.pitr.server`, an SSH login of the infrastructure team's host), as
// the server's OS user (postgres) over the local socket: archive_command runs on that host, and the repository is a
// posix one there: it recovers from operator mistakes and a corrupt database. With `postgres.pitr.offsite` a second
// repository (repo2) is a DigitalOcean Spaces bucket (lib/postgresPitr.ts spacesRepository, as Bunty's): every WAL
// segment goes to both, repo2 has its own backups (timers lazarus-pencom-pitr-repo2-*) and retention, encrypted; its
// passphrase and Spaces key are only in a 0600 include file owned by postgres (PENCOM_PGBACKREST_SECRETS). That copy
// is what `recovery.postgresServer` restores the whole cluster from on a replacement server (pencomServerRestoreCommand).
import { HOST_LAYOUT } from "../../lib/hostLayout";
import { OFFSITE_REPO, pitrArchiveApplyCommand, pitrRestoreArgv, pitrScratchDir, pitrServerFiles, pitrSystemdUnits, spacesRepository, type SelfManagedPitrSite } from "../../lib/postgresPitr";
import { shellJoin } from "../../lib/shell";
import type { PencomConfig } from "./config";

export const PENCOM_PGBACKREST_STANZA = "pencom";
const SERVER_USER = "postgres";
const SCRIPTS = `${HOST_LAYOUT.scriptsRoot}/backup`;

/** Paths on the PostgreSQL server. */
export const PENCOM_PITR_PATHS = {
  pgbackrestConf: "/etc/pgbackrest/pgbackrest.conf",
  /**
   * The scratch cluster's postgresql.conf. A Debian cluster keeps its configuration in /etc, so the backup's data
   * directory has none; the live cluster's own file names the LIVE data directory (data_directory) and port, so it must
   * never be the scratch cluster's. This one names only the scratch cluster's authentication file.
   */
  scratchConf: "/etc/pgbackrest/pencom-scratch.conf",
  scratchHba: "/etc/pgbackrest/pencom-scratch-hba.conf",
  spoolDir: "/var/spool/pgbackrest",
  logDir: "/var/log/pgbackrest",
  metricsDir: "/var/backups/pencom-postgres/metrics",
  backupDir: "/var/backups/pencom-postgres",
  /** pgBackRest's include directory and the 0600 file in it with repo2's passphrase and Spaces key (owner postgres). */
  includeDir: "/etc/pgbackrest/conf.d",
  secrets: "/etc/pgbackrest/conf.d/lazarus-secrets.conf",
} as const;

export interface PencomPitr {
  /** Rendered files on the PostgreSQL server (0644, root), by absolute path. */
  files: Record<string, string>;
  /**
   * Checks pgBackRest is installed, makes its directories, puts the archive settings into effect (a restart only while
   * archiving is off), the first full backup of each repository (only when it holds none of the cluster's timeline),
   * timers. Safe to run again: a later run restarts nothing and backs nothing up that is already there.
   */
  setup: string;
  units: string[];
  /** Commands the PostgreSQL server must have (its preflight). */
  runtimeCommands: string[];
}

export function pencomPitrSite(cfg: PencomConfig): SelfManagedPitrSite | undefined {
  const pitr = cfg.postgres.pitr;
  if (!pitr) return undefined;
  return {
    stanza: PENCOM_PGBACKREST_STANZA,
    // Debian/Ubuntu's cluster layout: the OS user and the superuser role are both postgres.
    pg: { dataDir: `/var/lib/postgresql/${pitr.version}/${pitr.cluster}`, socketDir: "/var/run/postgresql", port: cfg.postgres.port, user: SERVER_USER },
    repository: { type: "posix", path: pitr.repoPath },
    retentionFull: pitr.retentionFull,
    archiveTimeoutSeconds: pitr.archiveTimeoutSeconds,
    configPath: PENCOM_PITR_PATHS.pgbackrestConf,
    // the repository on the server stays as it was (unencrypted: it is on the server whose data it holds)
    encrypted: false,
    ...(pitr.offsite
      ? {
          offsite: { repository: spacesRepository({ bucket: pitr.offsite.bucket, region: pitr.offsite.region, path: pitr.offsite.path }), retentionFull: pitr.offsite.retentionFull },
          includeDir: PENCOM_PITR_PATHS.includeDir,
          secretsFile: PENCOM_PITR_PATHS.secrets,
        }
      : {}),
    spoolDir: PENCOM_PITR_PATHS.spoolDir,
    logDir: PENCOM_PITR_PATHS.logDir,
  };
}

/** The archive settings' conf.d file: read after the cluster's own postgresql.conf. */
export function pencomArchiveConfPath(cfg: PencomConfig): string {
  const pitr = cfg.postgres.pitr!;
  return `/etc/postgresql/${pitr.version}/${pitr.cluster}/conf.d/lazarus-archive.conf`;
}

/** The secrets file is written 0600 by root; pgBackRest (archive_command, the timers) runs as postgres. */
const handOverSecrets = `chown ${SERVER_USER}: ${PENCOM_PITR_PATHS.secrets} && chmod 0600 ${PENCOM_PITR_PATHS.secrets}`;

export function pencomPitr(cfg: PencomConfig): PencomPitr | undefined {
  const site = pencomPitrSite(cfg);
  const pitr = cfg.postgres.pitr;
  if (!site || !pitr) return undefined;
  const server = pitrServerFiles(site);
  const unitsFor = (repo: 1 | 2) =>
    pitrSystemdUnits({
      unitPrefix: "lazarus-pencom-pitr",
      stanza: site.stanza,
      schedule: { at: pitr.backupAt, fullWeekday: pitr.fullBackupWeekday },
      scriptsDir: SCRIPTS,
      metricsDir: PENCOM_PITR_PATHS.metricsDir,
      backupDir: PENCOM_PITR_PATHS.backupDir,
      user: SERVER_USER,
      ...(repo === 2 ? { repo } : {}),
    });
  // The off-site repository's backups are its own (a backup goes to one repository): the same schedule, PITR_REPO=2.
  const units = { ...unitsFor(1), ...(site.offsite ? unitsFor(OFFSITE_REPO) : {}) };
  const files: Record<string, string> = {
    [site.configPath]: server.pgbackrestConf,
    [pencomArchiveConfPath(cfg)]: `# Rendered by Lazarus (stacks/pencom/pitr.ts): WAL to pgBackRest.\n${server.archiveConf}`,
    [PENCOM_PITR_PATHS.scratchConf]: [
      "# Rendered by Lazarus (stacks/pencom/pitr.ts): the point-in-time restore's scratch cluster, started beside the live",
      "# one by pitr-restore.sh on its own port and socket with archiving off. Never the live cluster's postgresql.conf,",
      "# which names the live data directory.",
      `hba_file = '${PENCOM_PITR_PATHS.scratchHba}'`,
      "",
    ].join("\n"),
    // Only the server's OS user over the scratch cluster's own socket: pg_dump reads the recovered database, nobody else.
    [PENCOM_PITR_PATHS.scratchHba]: `# Rendered by Lazarus (stacks/pencom/pitr.ts): the scratch cluster admits only ${SERVER_USER} on its socket.\nlocal all ${SERVER_USER} peer\n`,
  };
  for (const [name, text] of Object.entries(units)) files[`/etc/systemd/system/${name}`] = text;
  const timers = Object.keys(units).filter((n) => n.endsWith(".timer"));
  const dirs = [pitr.repoPath, site.logDir, site.spoolDir, PENCOM_PITR_PATHS.backupDir, PENCOM_PITR_PATHS.metricsDir, pitr.scratchRoot];
  const setup = [
    "set -eu",
    // The infrastructure team's server: its pgBackRest comes from its own package source (the preflight names it when
    // missing); Lazarus does not install packages on a host it does not own.
    "command -v pgbackrest >/dev/null || { echo 'pgbackrest is not installed on the PostgreSQL server: apt-get install pgbackrest (the version of the server'\"'\"'s PostgreSQL repository)' >&2; exit 69; }",
    `install -d -o ${SERVER_USER} -g ${SERVER_USER} -m 0750 ${dirs.join(" ")}`,
    // archive_command reads the secrets file (repo2) as postgres: handed over before archiving is put into effect
    ...(site.offsite ? [handOverSecrets] : []),
    // Runs again whenever a file of the server or its machine id changes (recovery.postgresServer marked done or
    // removed): restarts only while archiving is off (lib/postgresPitr.ts says why).
    pitrArchiveApplyCommand(site, { scriptsDir: SCRIPTS, service: `postgresql@${pitr.version}-${pitr.cluster}` }),
    // stanza-create on the first run, `pgbackrest check` (WAL reaches the repository), then a full backup only when the
    // repository holds none of the cluster's current timeline (--if-no-backup): a new server, or one whose cluster
    // recovery.postgresServer restored onto a new timeline, gets one; a setup run again takes none.
    ...[undefined, ...(site.offsite ? [String(OFFSITE_REPO)] : [])].map(
      (repo) =>
        `runuser -u ${SERVER_USER} -- ${shellJoin(["env", `PITR_STANZA=${site.stanza}`, ...(repo ? [`PITR_REPO=${repo}`] : []), `METRICS_DIR=${PENCOM_PITR_PATHS.metricsDir}`, `BACKUP_DIR=${PENCOM_PITR_PATHS.backupDir}`, "bash", `${SCRIPTS}/backup-job.sh`, "pitr-full", "--", "--if-no-backup"])}`,
    ),
    "systemctl daemon-reload",
    `systemctl enable --now ${timers.join(" ")}`,
  ].join("\n");
  return { files, setup, units: Object.keys(units), runtimeCommands: ["pgbackrest", "psql", "pg_dump", "pg_restore", "vacuumdb", "jq", "runuser", "systemctl", "sha256sum"] };
}

/** pitr-restore.sh's argv: recover to the time in <scratchRoot>/<label>/data, dump the core database beside it. */
export function pencomPitrRecoverArgv(cfg: PencomConfig, o: { label: string; pointInTime: string }): string[] {
  const pitr = cfg.postgres.pitr!;
  return pitrRestoreArgv({
    stanza: PENCOM_PGBACKREST_STANZA,
    label: o.label,
    database: cfg.postgres.core.database,
    pointInTime: o.pointInTime,
    scratchRoot: pitr.scratchRoot,
    port: pitr.scratchPort,
    scriptsDir: SCRIPTS,
    confFile: PENCOM_PITR_PATHS.scratchConf,
  });
}

/** pg-restore.sh's argv: that dump (the scratch dir's `latest`) into a new database beside the live core database. */
export function pencomPitrBesideArgv(cfg: PencomConfig, label: string): string[] {
  const scratch = pitrScratchDir({ scratchRoot: cfg.postgres.pitr!.scratchRoot, label });
  return ["env", "PGHOST=/var/run/postgresql", `PGPORT=${cfg.postgres.port}`, "bash", `${SCRIPTS}/pg-restore.sh`, "-d", cfg.postgres.core.database, scratch];
}

/**
 * recovery.coreDatabase.pointInTime on the PostgreSQL server, as root over SSH: the scratch directory for this label,
 * pitr-restore.sh (recover to the time, dump the core database, remove the scratch cluster) and pg-restore.sh of that
 * dump into pencom_core_db2_restore_<timestamp> beside the live database, both as postgres over the local socket.
 * Its stdout is pg-restore.sh's result line alone, which names the database core's .env then points at.
 */
export function pencomPitrRestoreCommand(cfg: PencomConfig, o: { label: string; pointInTime: string }): string {
  const scratch = pitrScratchDir({ scratchRoot: cfg.postgres.pitr!.scratchRoot, label: o.label });
  const asServerUser = (argv: string[]) => `runuser -u ${SERVER_USER} -- ${shellJoin(argv)}`;
  return [
    "set -eu",
    `install -d -o ${SERVER_USER} -g ${SERVER_USER} -m 0750 ${shellJoin([scratch])}`,
    // pitr-restore.sh's own result line goes to the log (stderr)
    `${asServerUser(pencomPitrRecoverArgv(cfg, o))} >&2`,
    asServerUser(pencomPitrBesideArgv(cfg, o.label)),
  ].join("\n");
}

/**
 * recovery.postgresServer on the replacement PostgreSQL server, as root over SSH, after the pgBackRest files were
 * shipped there and before the setup: pitr-server-restore.sh restores the WHOLE cluster from the off-site repository
 * (repo2) to the time, in place, and starts it. Whole cluster, not dump + restore beside + cutover: after the loss of
 * the server nothing is live to keep beside, and the cluster brings back both databases, the roles and their
 * passwords (core's and ext-integrations' .env stay valid), in one step. The script refuses a cluster that holds
 * databases, so it never overwrites a live server.
 */
export function pencomServerRestoreCommand(cfg: PencomConfig, o: { pointInTime: string }): string {
  const site = pencomPitrSite(cfg);
  const pitr = cfg.postgres.pitr;
  if (!site?.offsite || !pitr) throw new Error("recovery.postgresServer needs postgres.pitr.offsite");
  return [
    "set -eu",
    handOverSecrets,
    shellJoin([
      "env",
      `PGBACKREST_CONFIG_INCLUDE_PATH=${PENCOM_PITR_PATHS.includeDir}`,
      "bash",
      `${SCRIPTS}/pitr-server-restore.sh`,
      "--stanza", site.stanza,
      "--repo", String(OFFSITE_REPO),
      "--data-dir", site.pg.dataDir,
      "--service", `postgresql@${pitr.version}-${pitr.cluster}`,
      "--port", String(site.pg.port),
      "--socket-dir", site.pg.socketDir,
      "--config", site.configPath,
      ...(o.pointInTime === "latest" ? [] : ["--target-time", o.pointInTime]),
    ]),
  ].join("\n");
}
