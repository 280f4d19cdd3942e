// Waqiti's point-in-time recovery (`backups.pitr`), through the shared piece for self-managed PostgreSQL
// (lib/postgresPitr.ts): WAL archived by pgBackRest from the PostgreSQL StatefulSet to a bucket of its own
// (S3 repository, aes-256-cbc, retention by full backups), archive_timeout from the RPO target, a weekly full and
// daily differential backup (CronJobs that exec pitr-backup.sh in the database pod), and restores beside the live
// database (an init container of `postgres-<label>` restores the backup plus WAL to `latest` or a named time).
//
// Where pgBackRest runs: inside the postgres container (the server runs archive_command; a backup reads the data
// directory, which only that pod mounts: the claim is ReadWriteOnce). The image is lib/postgresPitr.ts's, built FROM
// the stack's pinned postgres image and pushed to the platform's registry (the Dockerfile is a rendered file).
// pgbackrest.conf is a ConfigMap; the passphrase and the bucket's keys are a Secret holding pgBackRest's include file.
//
// Stanzas: the live `postgres` archives to `waqiti`; a restored `postgres-<label>` is a new timeline (or, by the
// logical route, a new system) and archives to `waqiti-<label>`, so the live database's archive is never mixed with
// it and stays readable for a later restore. One pgbackrest.conf lists both sections (a restore reads `waqiti`
// while the restored server pushes to `waqiti-<label>`).
import { LOCAL_IMAGE_PREFIX, pgbackrestImage, pitrScheduleJobs, pitrServerFiles, PITR_JOBS, type SelfManagedPitrSite } from "../../lib/postgresPitr";
import type { WaqitiConfig } from "./config";

export type WaqitiPitr = NonNullable<WaqitiConfig["backups"]["pitr"]>;

export const WAQITI_PGBACKREST_STANZA = "waqiti";

/** Where things are inside the postgres container (the official image's layout plus the mounts). */
export const WAQITI_PITR_PATHS = {
  /** ConfigMap waqiti-pgbackrest, mounted as a directory (a sibling of the include dir, not above it). */
  configDir: "/etc/pgbackrest/conf",
  configFile: "/etc/pgbackrest/conf/pgbackrest.conf",
  /** Secret waqiti-pgbackrest-secrets: secrets.conf (passphrase, S3 keys), group-readable by the postgres group only. */
  includeDir: "/etc/pgbackrest/conf.d",
  secretsFile: "/etc/pgbackrest/conf.d/secrets.conf",
  dataDir: "/var/lib/postgresql/data/pgdata",
  socketDir: "/var/run/postgresql",
  spoolDir: "/var/spool/pgbackrest",
  logDir: "/var/log/pgbackrest",
} as const;

/** The postgres image's user and group (uid/gid 999): pgBackRest must run as the data directory's owner. */
export const POSTGRES_UID = 999;

/** The stanza a PostgreSQL StatefulSet archives to: `waqiti` for the live one, `waqiti-<label>` for a restored one. */
export function waqitiStanza(instance: string): string {
  return instance === "live" ? WAQITI_PGBACKREST_STANZA : `${WAQITI_PGBACKREST_STANZA}-${instance}`;
}

/** archive_timeout: half the RPO target (the other half covers the async push of the segment). */
export function waqitiArchiveTimeoutSeconds(p: WaqitiPitr): number {
  return Math.floor(p.rpoSeconds / 2);
}

/**
 * The image with pgBackRest (lib/postgresPitr.ts), named in the platform's registry: a cluster pulls from a registry,
 * never from a local build. Its tag names the base and pgBackRest's version, so a new pin is a new image.
 */
export function waqitiPitrImage(cfg: WaqitiConfig): { image: string; dockerfile: string } {
  const built = pgbackrestImage(cfg.postgres.image);
  return { image: `${cfg.images.registry}/${built.image.slice(LOCAL_IMAGE_PREFIX.length)}`, dockerfile: built.dockerfile };
}

export function waqitiPitrSite(cfg: WaqitiConfig, p: WaqitiPitr, stanza: string): SelfManagedPitrSite {
  return {
    stanza,
    pg: { dataDir: WAQITI_PITR_PATHS.dataDir, socketDir: WAQITI_PITR_PATHS.socketDir, port: 5432, user: "postgres" },
    repository: { type: "s3", bucket: p.bucket, endpoint: cfg.backups.endpoint.replace(/:\d+$/, ""), region: cfg.backups.region, path: p.repoPath },
    retentionFull: p.retentionFull,
    archiveTimeoutSeconds: waqitiArchiveTimeoutSeconds(p),
    configPath: WAQITI_PITR_PATHS.configFile,
    includeDir: WAQITI_PITR_PATHS.includeDir,
    secretsFile: WAQITI_PITR_PATHS.secretsFile,
    encrypted: true,
    spoolDir: WAQITI_PITR_PATHS.spoolDir,
    logDir: WAQITI_PITR_PATHS.logDir,
  };
}

/** pgbackrest.conf with a section for each stanza (the first one's global settings; every section the same pg1-*). */
export function waqitiPgbackrestConf(cfg: WaqitiConfig, p: WaqitiPitr, stanzas: string[]): string {
  const [first, ...others] = stanzas.map((s) => pitrServerFiles(waqitiPitrSite(cfg, p, s)).pgbackrestConf);
  const sections = others.map((text, i) => {
    const at = text.indexOf(`\n[${stanzas[i + 1]}]\n`);
    return text.slice(at + 1);
  });
  return [first, ...sections].join("\n");
}

/** The postgres container's command: the server with the archive settings as `-c` arguments (a restore keeps them). */
export function waqitiPostgresArgs(cfg: WaqitiConfig, p: WaqitiPitr, stanza: string): string[] {
  return ["postgres", ...pitrServerFiles(waqitiPitrSite(cfg, p, stanza)).serverArgs];
}

/** The full and differential CronJobs' schedules, from lib/postgresPitr.ts's weekly full + daily differential. */
export function waqitiPitrSchedules(p: WaqitiPitr): { type: "full" | "diff"; schedule: string }[] {
  return pitrScheduleJobs(p.schedule).map((j) => ({ type: j.job === PITR_JOBS.full ? "full" : "diff", schedule: `${j.minute} ${j.hour} * * ${j.weekdays.join(",")}` }));
}

/** pgBackRest's --target form of an ISO 8601 UTC time (it reads "2026-11-23 14:03:00+00", not "T" and "Z"). */
export function pgbackrestTargetTime(iso: string): string {
  return iso.replace("T", " ").replace(/Z$/, "+00");
}

/**
 * The init container of a restored `postgres-<label>`: pgBackRest restores the live stanza's backup plus WAL into the
 * new, empty data directory (to the end of the archive, or to the named time, then promote). Once: a marker beside
 * PGDATA, written only after a whole restore, makes a restarted pod start what it has. A data directory that holds
 * anything without the marker (an interrupted restore, or a cluster this container did not restore) is refused, never
 * restored over or started: nothing is deleted, the operator decides (a new label restores beside it).
 */
export function waqitiPitrRestoreScript(pointInTime: string): string {
  const target = pointInTime === "latest" ? [] : ["--type=time", `"--target=${pgbackrestTargetTime(pointInTime)}"`, "--target-action=promote"];
  return [
    "set -euo pipefail",
    'marker="$(dirname "$PGDATA")/.lazarus-pitr-restored"',
    'if [ -e "$marker" ]; then echo "pitr-restore: $PGDATA was restored ($(cat "$marker")), not restored again"; exit 0; fi',
    'if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then',
    '  echo "pitr-restore: $PGDATA is not empty and no restore finished here (interrupted, or another cluster): refused; inspect it, or restore under a new recovery.database.label" >&2',
    "  exit 73",
    "fi",
    'install -d -m 0700 "$PGDATA"',
    `pgbackrest --stanza=${WAQITI_PGBACKREST_STANZA} --pg1-path="$PGDATA" --log-level-console=info restore ${target.join(" ")}`.trimEnd(),
    `echo "stanza ${WAQITI_PGBACKREST_STANZA} to ${pointInTime} at $(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$marker"`,
    `echo "pitr-restore: restored stanza ${WAQITI_PGBACKREST_STANZA} to ${pointInTime}; the server replays the WAL and promotes"`,
    "",
  ].join("\n");
}

/**
 * The verification of a point-in-time restore (Job restore-postgres-<label>): the restored server has left recovery,
 * and the seed's three counts (users, transactions, wallets) are read from it and printed with the time it reached.
 */
export function waqitiPitrVerifyScript(timeoutSeconds: number): string {
  return [
    "set -euo pipefail",
    'PGPASSWORD=$(cat "$PG_PASSWORD_FILE"); export PGPASSWORD',
    `deadline=$((SECONDS + ${timeoutSeconds}))`,
    'until [ "$(psql -XAtq -c "select pg_is_in_recovery()" 2>/dev/null)" = f ]; do',
    '  if ((SECONDS > deadline)); then echo \'{"status":"error","code":75,"message":"the restored database did not leave recovery in time"}\'; exit 75; fi',
    "  sleep 5",
    "done",
    'until_ts=$(psql -XAtq -c "select coalesce(pg_last_xact_replay_timestamp()::text, \'\')")',
    'counts=""',
    "for t in users transactions wallets; do",
    '  n=$(psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT COUNT(*) FROM $t;") || { echo "{\\"status\\":\\"error\\",\\"code\\":65,\\"message\\":\\"table $t unreadable in the restored database\\"}"; exit 65; }',
    '  counts="$counts${counts:+,}\\"$t\\":$n"',
    "done",
    'echo "{\\"status\\":\\"ok\\",\\"host\\":\\"$PGHOST\\",\\"recovered_until\\":\\"$until_ts\\",\\"counts\\":{$counts}}"',
    "",
  ].join("\n");
}
