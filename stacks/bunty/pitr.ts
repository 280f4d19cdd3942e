// Point-in-time recovery for Bunty's PostgreSQL when it runs on the host (`postgres.where: host`), through the shared
// piece for self-managed PostgreSQL (lib/postgresPitr.ts): WAL archived by pgBackRest (Ubuntu's package, pinned), a
// weekly full and daily differential backup from systemd timers, restores with scripts/backup/pitr-restore.sh beside
// the live cluster. A managed cluster (`postgres.where: managed`) has the provider's own point-in-time restore.
//
// With `backups.offsite` the repository is the off-site Spaces bucket (repo1-type=s3, under offsite.pitrPath, outside
// the lifecycle rule's prefix), encrypted (aes-256-cbc, buntyPgbackrestCipherPass); the passphrase and the Spaces key
// are in a 0600 include file owned by postgres (BUNTY_PGBACKREST_SECRETS), never in pgbackrest.conf or the environment.
// Without it the repository is a directory on the host (/var/lib/pgbackrest): recovery from operator mistakes and a
// corrupt database, not from the loss of the host.
import { HOST_LAYOUT } from "../../lib/hostLayout";
import { pitrArchiveApplyCommand, pitrServerFiles, pitrSystemdUnits, spacesRepository, type SelfManagedPitrSite } from "../../lib/postgresPitr";
import { shellJoin } from "../../lib/shell";
import type { BuntyConfig } from "./config";

/** Ubuntu 24.04's pgBackRest (noble: 2.50-1build2); the version the timers' and archive_command's binary is. */
export const BUNTY_PGBACKREST_PACKAGE = "pgbackrest=2.50-1build2";
export const BUNTY_PGBACKREST_STANZA = "bunty";
/** pgBackRest's include directory and the 0600 secrets file in it (passphrase, Spaces key), owned by postgres. */
export const BUNTY_PGBACKREST_INCLUDE_DIR = "/etc/pgbackrest/conf.d";
export const BUNTY_PGBACKREST_SECRETS = `${BUNTY_PGBACKREST_INCLUDE_DIR}/lazarus-secrets.conf`;

export interface BuntyPitr {
  /** Rendered files (0644, root), by absolute path. */
  files: Record<string, string>;
  /** Installs pgBackRest, makes its directories, puts archiving into effect (a restart only while it is off), takes the first full backup, starts the timers. */
  setup: string;
  units: string[];
}

export function buntyPitr(cfg: BuntyConfig, postgresVersion: string): BuntyPitr | undefined {
  if (cfg.postgres.where !== "host") return undefined;
  const offsite = cfg.backups.offsite;
  const site: SelfManagedPitrSite = {
    stanza: BUNTY_PGBACKREST_STANZA,
    // Debian/Ubuntu's cluster "main": the OS user and the superuser role are both postgres.
    pg: { dataDir: `/var/lib/postgresql/${postgresVersion}/main`, socketDir: "/var/run/postgresql", port: 5432, user: "postgres" },
    repository: offsite
      ? spacesRepository({ bucket: offsite.bucket, region: offsite.region, path: offsite.pitrPath })
      : { type: "posix", path: "/var/lib/pgbackrest" },
    retentionFull: 2,
    archiveTimeoutSeconds: 60,
    configPath: "/etc/pgbackrest/pgbackrest.conf",
    ...(offsite ? { includeDir: BUNTY_PGBACKREST_INCLUDE_DIR, secretsFile: BUNTY_PGBACKREST_SECRETS } : {}),
    encrypted: offsite !== undefined,
    spoolDir: "/var/spool/pgbackrest",
    logDir: "/var/log/pgbackrest",
  };
  const server = pitrServerFiles(site);
  const scripts = `${HOST_LAYOUT.scriptsRoot}/backup`;
  const metricsDir = "/var/backups/bunty/metrics";
  const units = pitrSystemdUnits({
    unitPrefix: "lazarus-bunty-pitr",
    stanza: site.stanza,
    schedule: { at: "01:00", fullWeekday: 0 },
    scriptsDir: scripts,
    metricsDir,
    backupDir: "/var/backups/bunty",
    user: "postgres",
  });
  const files: Record<string, string> = {
    [site.configPath]: server.pgbackrestConf,
    // after lazarus.conf in conf.d (files are read in name order)
    [`/etc/postgresql/${postgresVersion}/main/conf.d/lazarus-archive.conf`]: `# Rendered by Lazarus (stacks/bunty/pitr.ts): WAL to pgBackRest.\n${server.archiveConf}`,
  };
  for (const [name, text] of Object.entries(units)) files[`/etc/systemd/system/${name}`] = text;
  const timers = Object.keys(units).filter((n) => n.endsWith(".timer"));
  const dirs = [site.repository.type === "posix" ? site.repository.path : "", site.logDir, site.spoolDir, metricsDir].filter(Boolean);
  const setup = [
    "set -eu",
    `dpkg -s pgbackrest >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${BUNTY_PGBACKREST_PACKAGE}`,
    `install -d -o postgres -g postgres -m 0750 ${dirs.join(" ")}`,
    // Runs again whenever one of these files changes (a new retention, the off-site bucket added): restarts the
    // cluster only while archiving is off (lib/postgresPitr.ts says why). Ubuntu's unit for the cluster "main".
    pitrArchiveApplyCommand(site, { scriptsDir: scripts, service: `postgresql@${postgresVersion}-main` }),
    // stanza-create on the first run, `pgbackrest check` (WAL reaches the repository), then a full backup only when the
    // repository holds none of the cluster's current timeline: a setup run again takes none.
    `runuser -u postgres -- ${shellJoin(["env", `PITR_STANZA=${site.stanza}`, `METRICS_DIR=${metricsDir}`, "BACKUP_DIR=/var/backups/bunty", "bash", `${scripts}/backup-job.sh`, "pitr-full", "--", "--if-no-backup"])}`,
    "systemctl daemon-reload",
    `systemctl enable --now ${timers.join(" ")}`,
  ].join("\n");
  return { files, setup, units: Object.keys(units) };
}
