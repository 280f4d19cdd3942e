// GoodGo's point-in-time recovery, through the shared piece for self-managed PostgreSQL (lib/postgresPitr.ts): WAL
// archived by pgBackRest to the off-site bucket (S3-compatible repository under its own path, outside the lifecycle
// rule's prefix, encrypted with aes-256-cbc, retention by full backups), a weekly full and daily differential backup.
//
// Where pgBackRest runs:
//   - in the postgres container, for archive_command (the server runs it): the service runs the image built FROM
//     postgis/postgis:16-3.4 with pinned pgbackrest (GOODGO_POSTGRES_IMAGE); the archive settings are its `-c`
//     arguments (the data directory's postgresql.conf is the image's own, and a restore brings back the backup's);
//   - in the pg-backup container (the same image), for the scheduled backups and the restores: it mounts the data
//     directory read-only and the server's socket directory (./postgres/run, bind-mounted in both), so pgBackRest can
//     read the files and ask the server for pg_backup_start/stop; it runs pgBackRest as the postgres user (uid 999).
// The passphrase and the Spaces keys are a 0600 include file (GOODGO_SECRET_MOUNTS.pgbackrestSecrets) mounted into
// both, never the environment.
import { posix } from "node:path";
import { HOST_LAYOUT } from "../../lib/hostLayout";
import { pgbackrestImage, pitrRestoreArgv, pitrRouteArgv, pitrServerFiles, type SelfManagedPitrSite } from "../../lib/postgresPitr";
import type { GoodgoConfig } from "./config";
import { spacesEndpoint } from "./inventory";
import { GOODGO_SECRET_MOUNTS } from "./services";

/** GoodGo's PostgreSQL image: section 1's postgis/postgis:16-3.4 with pgBackRest (built on the host). */
export const GOODGO_POSTGRES_IMAGE = pgbackrestImage("postgis/postgis:16-3.4");

/** Host paths (relative to the deploy dir) of the rendered files and the build context. */
export const GOODGO_PITR_FILES = {
  pgbackrestConf: "pgbackrest/pgbackrest.conf",
  /** The build context of GOODGO_POSTGRES_IMAGE: only its Dockerfile. */
  buildContext: "postgres/image",
  dockerfile: "postgres/image/Dockerfile",
  /** The server's socket directory, shared by postgres and pg-backup (pgBackRest talks to the server over it). */
  socketDir: "postgres/run",
} as const;

/** Where the containers see them and their own directories (the postgis image's layout). */
export const GOODGO_PITR_PATHS = {
  pgbackrestConf: "/etc/pgbackrest/pgbackrest.conf",
  /** The directory of GOODGO_SECRET_MOUNTS.pgbackrestSecrets (passphrase and Spaces keys, 0600). */
  includeDir: posix.dirname(GOODGO_SECRET_MOUNTS.pgbackrestSecrets.container),
  dataDir: "/var/lib/postgresql/data",
  socketDir: "/var/run/postgresql",
  spoolDir: "/var/spool/pgbackrest",
  logDir: "/var/log/pgbackrest",
  /** Scratch space of point-in-time restores, on the pg_backups volume (room for a whole cluster). */
  scratchRoot: "/backups/pitr",
} as const;

/** The base stanza: the cluster's name inside the repository. */
export const GOODGO_PGBACKREST_STANZA = "goodgo";

/** The port a restore's scratch cluster listens on, inside the pg-backup container (localhost only). */
export const GOODGO_PITR_SCRATCH_PORT = 5433;

/**
 * The stanza this stack's cluster archives to. A host recovered by `recovery.host` runs a new database system (a new
 * system identifier, which pgBackRest refuses to mix into a stanza), so it archives to goodgo-<label>; the lost
 * cluster's stanza stays readable for the recovery and any later restore to a time before it.
 */
export function goodgoStanza(cfg: GoodgoConfig): string {
  return cfg.recovery.host ? `${GOODGO_PGBACKREST_STANZA}-${cfg.recovery.host.label}` : GOODGO_PGBACKREST_STANZA;
}

/** The stanza a full host recovery restores from: the lost cluster's. */
export function goodgoRecoveryStanza(cfg: GoodgoConfig): string {
  return cfg.recovery.host?.fromStanza ?? GOODGO_PGBACKREST_STANZA;
}

export function goodgoPitrSite(cfg: GoodgoConfig): SelfManagedPitrSite {
  const { offsite, pitr } = cfg.backups;
  return {
    stanza: goodgoStanza(cfg),
    // The image's entrypoint creates only POSTGRES_USER as superuser: there is no "postgres" role to connect as.
    pg: { dataDir: GOODGO_PITR_PATHS.dataDir, socketDir: GOODGO_PITR_PATHS.socketDir, port: 5432, user: cfg.database.user },
    repository: { type: "s3", bucket: offsite.bucket, endpoint: spacesEndpoint(offsite.region), region: offsite.region, path: pitr.repoPath },
    retentionFull: pitr.retentionFull,
    archiveTimeoutSeconds: pitr.archiveTimeoutSeconds,
    configPath: GOODGO_PITR_PATHS.pgbackrestConf,
    includeDir: GOODGO_PITR_PATHS.includeDir,
    secretsFile: GOODGO_SECRET_MOUNTS.pgbackrestSecrets.container,
    encrypted: true,
    spoolDir: GOODGO_PITR_PATHS.spoolDir,
    logDir: GOODGO_PITR_PATHS.logDir,
  };
}

export function goodgoPgbackrestConf(cfg: GoodgoConfig): string {
  return pitrServerFiles(goodgoPitrSite(cfg)).pgbackrestConf;
}

/** The postgres service's command: the server with the archive settings as `-c` arguments. */
export function goodgoPostgresCommand(cfg: GoodgoConfig): string[] {
  return ["postgres", ...pitrServerFiles(goodgoPitrSite(cfg)).serverArgs];
}

const SCRIPTS = `${HOST_LAYOUT.scriptsRoot}/backup`;

/** The pitr-restore.sh argv of a point-in-time restore labelled `label` (run as postgres in pg-backup). */
export function goodgoPitrRestoreArgv(cfg: GoodgoConfig, o: { label: string; pointInTime: string; stanza: string }): string[] {
  return pitrRestoreArgv({
    stanza: o.stanza,
    label: o.label,
    database: cfg.database.name,
    pointInTime: o.pointInTime,
    scratchRoot: GOODGO_PITR_PATHS.scratchRoot,
    port: GOODGO_PITR_SCRATCH_PORT,
    scriptsDir: SCRIPTS,
  });
}

export function goodgoPitrRouteArgv(cfg: GoodgoConfig, routeFile: string): string[] {
  return pitrRouteArgv({ stanza: goodgoRecoveryStanza(cfg), routeFile, scriptsDir: SCRIPTS });
}
