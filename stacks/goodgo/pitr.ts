// GoodGo's point-in-time recovery files: the pgbackrest.conf and the postgresql.conf archive lines for its postgres
// container, rendered by renderers/pgbackrest.ts from the stack config (backups.pitr, backups.offsite).
//
// The repository is S3-compatible: the stack's Spaces bucket, under its own path (outside the lifecycle rule's prefix),
// encrypted with aes-256-cbc, retention by full backups. pgBackRest must run where PostgreSQL runs, because the
// server itself executes archive_command; the postgis image has no pgbackrest binary (lib/imageFacts.ts).
// The passphrase and the Spaces keys are a 0600 include file (GOODGO_SECRET_MOUNTS.pgbackrestSecrets), never the
// environment. The two files here are not yet mounted into the postgres service: turning archive_mode on there without
// the binary would keep every WAL segment in pg_wal (archive_command fails, nothing is recycled) until the volume is full.
import { posix } from "node:path";
import { renderPgBackRestConf, renderPostgresArchiveConf } from "../../renderers/pgbackrest";
import type { GoodgoConfig } from "./config";
import { spacesEndpoint } from "./inventory";
import { GOODGO_SECRET_MOUNTS } from "./services";

/** Host paths (relative to the deploy dir) of the rendered files. */
export const GOODGO_PITR_FILES = { pgbackrestConf: "pgbackrest/pgbackrest.conf", archiveConf: "postgres/archive.conf" } as const;

/** Where the postgres container sees them and its own directories (the postgis image's layout). */
export const GOODGO_PITR_PATHS = {
  pgbackrestConf: "/etc/pgbackrest/pgbackrest.conf",
  /** The directory of GOODGO_SECRET_MOUNTS.pgbackrestSecrets (passphrase and Spaces keys, 0600). */
  includeDir: posix.dirname(GOODGO_SECRET_MOUNTS.pgbackrestSecrets.container),
  dataDir: "/var/lib/postgresql/data",
  socketDir: "/var/run/postgresql",
  spoolDir: "/var/spool/pgbackrest",
  logDir: "/var/log/pgbackrest",
} as const;

/** The stanza: the cluster's name inside the repository. */
export const GOODGO_PGBACKREST_STANZA = "goodgo";

export function goodgoPgbackrestConf(cfg: GoodgoConfig): string {
  const { offsite, pitr } = cfg.backups;
  return renderPgBackRestConf({
    stanza: GOODGO_PGBACKREST_STANZA,
    // The image's entrypoint creates only POSTGRES_USER as superuser: there is no "postgres" role to connect as.
    pg: { dataPath: GOODGO_PITR_PATHS.dataDir, port: 5432, socketPath: GOODGO_PITR_PATHS.socketDir, user: cfg.database.user },
    repository: { type: "s3", bucket: offsite.bucket, endpoint: spacesEndpoint(offsite.region), region: offsite.region, path: pitr.repoPath },
    retention: { full: pitr.retentionFull },
    compress: { type: "zst", level: 3 },
    processMax: 2,
    // One S3 round trip per segment would hold back the server's archiver; async pushes them in parallel.
    archiveAsync: { spoolPath: GOODGO_PITR_PATHS.spoolDir, processMax: 2 },
    encryption: { cipherType: "aes-256-cbc" },
    logPath: GOODGO_PITR_PATHS.logDir,
    secretsFile: GOODGO_SECRET_MOUNTS.pgbackrestSecrets.container,
  });
}

export function goodgoArchiveConf(cfg: GoodgoConfig): string {
  return renderPostgresArchiveConf({
    stanza: GOODGO_PGBACKREST_STANZA,
    configPath: GOODGO_PITR_PATHS.pgbackrestConf,
    configIncludePath: GOODGO_PITR_PATHS.includeDir,
    archiveTimeoutSeconds: cfg.backups.pitr.archiveTimeoutSeconds,
  });
}
