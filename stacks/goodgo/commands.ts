// The command lines GoodGo's runbook operations and recovery switches run on the host. Pure: config and inventory in,
// shell text out. Every order comes from the inventory; no secret is ever in a command (they live in 0600 files shipped
// over SSH stdin: the containers' secret files, and the .env the application services load).
import { BACKUP_NAME_END, type GoodgoBackupKind, type GoodgoConfig, type GoodgoOperation } from "./config";
import { projectFileMounts, rollingRestartOrder, startOrder, stopOrder, type ServiceInventory } from "../../lib/inventory";
import { composeServiceCommand, composeUpCommand } from "../../lib/opsCommands";
import { shellCommand, shq } from "../../lib/shell";
import { HOST_LAYOUT } from "../../lib/hostLayout";
import { swapInArgs } from "../../config/swapIn";
import { isExistingHost } from "../../config/shared";
import { GOODGO_COMPOSE_FILE, GOODGO_OFFSITE_DIR } from "./inventory";
import { GOODGO_SECRET_MOUNTS } from "./services";
import { pitrScratchDir } from "../../lib/postgresPitr";
import { GOODGO_PGBACKREST_STANZA, GOODGO_PITR_FILES, GOODGO_PITR_PATHS, goodgoPitrRestoreArgv, goodgoPitrRouteArgv, goodgoRecoveryStanza, goodgoStanza } from "./pitr";

export interface ComposeTarget {
  dir: string;
  project: string;
}

export function composeTarget(cfg: GoodgoConfig): ComposeTarget {
  return { dir: cfg.app.deployDir, project: cfg.app.composeProject };
}

/** `cd DIR && docker compose -p PROJECT -f docker-compose.prod.yml ARGS...`, every word quoted. */
export function compose(t: ComposeTarget, ...args: string[]): string {
  return `cd ${shq(t.dir)} && ${shellCommand("docker", "compose", "-p", t.project, "-f", GOODGO_COMPOSE_FILE, ...args)}`;
}

/** A command run inside a running service's container, without a TTY (no secret in it: the container's files have them). */
export function composeExec(t: ComposeTarget, service: string, argv: string[]): string {
  return compose(t, "exec", "-T", service, ...argv);
}

/** The scripts the ops helper wrote look for compose.yaml / docker-compose.yml: link the runbook's file name to them. */
export function composeFileLinkCommand(dir: string): string {
  return `set -eu; cd ${shq(dir)}; ln -sfn ${GOODGO_COMPOSE_FILE} compose.yaml`;
}

/**
 * Mounted project paths no restart is wanted for: the server's socket directory (its lock file changes with every
 * server start, so watching it would restart PostgreSQL on every up), and pgBackRest's config and secrets, which every
 * pgbackrest run (archive_command, the scheduled backups) reads afresh: a retention change must not restart the database.
 */
export const GOODGO_UNWATCHED_MOUNTS: readonly string[] = [GOODGO_PITR_FILES.socketDir, GOODGO_PITR_FILES.pgbackrestConf, GOODGO_SECRET_MOUNTS.pgbackrestSecrets.host];

/** `up -d --wait`, restarting the services whose mounted project files changed (projectFileMounts of the inventory). */
export function upCommand(t: ComposeTarget, inv: ServiceInventory): string {
  const watch = Object.fromEntries(
    Object.entries(projectFileMounts(inv))
      .map(([service, paths]) => [service, paths.filter((p) => !GOODGO_UNWATCHED_MOUNTS.includes(p))] as const)
      .filter(([, paths]) => paths.length),
  );
  return composeUpCommand({ dir: t.dir, projectName: t.project, scriptsRoot: HOST_LAYOUT.scriptsRoot, watch });
}

/** Section 4.3: one service at a time, each healthy (`--wait`) before the next; the order derives from the dependencies. */
export function rollingRestartServices(inv: ServiceInventory, op: Extract<GoodgoOperation, { action: "rolling-restart" }>): string[] {
  return rollingRestartOrder(inv, { roles: op.roles, exclude: op.exclude });
}

export function restartCommand(t: ComposeTarget, service: string): string {
  return composeServiceCommand({ dir: t.dir, projectName: t.project, action: "restart", service, wait: true, scriptsRoot: HOST_LAYOUT.scriptsRoot });
}

/** Section 3.1/3.4: terminate non-idle queries of the application database running longer than N minutes. */
export function terminateQueriesSql(minutes: number): string {
  if (!(Number.isFinite(minutes) && minutes > 0)) throw new Error(`terminate-long-queries: olderThanMinutes must be a positive number, got ${minutes}`);
  return (
    "SELECT count(pg_terminate_backend(pid)) AS terminated FROM pg_stat_activity " +
    `WHERE datname = current_database() AND state <> 'idle' AND now() - query_start > interval '${minutes} minutes' AND pid <> pg_backend_pid();`
  );
}

/** psql inside the postgres container as the container's own superuser and database (from its environment). */
function psqlInPostgres(t: ComposeTarget, sql: string): string {
  return composeExec(t, "postgres", ["sh", "-c", `psql -v ON_ERROR_STOP=1 -At -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c ${shq(sql)}`]);
}

/**
 * Section 4.2: FLUSHALL then DBSIZE (must be 0). redis-cli takes the password from REDISCLI_AUTH, set inside the
 * container from the file REDIS_PASSWORD_FILE names (never in the container's environment or on a command line).
 */
export function flushRedisCommand(t: ComposeTarget): string {
  return composeExec(t, "redis", [
    "sh",
    "-c",
    'REDISCLI_AUTH=$(cat "$REDIS_PASSWORD_FILE") && export REDISCLI_AUTH && redis-cli FLUSHALL && n=$(redis-cli DBSIZE) && echo "keys after flush: $n" && [ "$n" = 0 ]',
  ]);
}

/** Section 4.5: rebuild the Typesense index from PostgreSQL with the API image's own script. */
export function reindexTypesenseCommand(t: ComposeTarget, running = true): string {
  const argv = ["npx", "ts-node", "scripts/typesense-reindex.ts"];
  return running ? composeExec(t, "api", argv) : compose(t, "run", "--rm", "--no-deps", "api", ...argv);
}

/** Sections 4.1/4.6: `prisma migrate deploy` with the API image, without starting the API itself. */
export function migrateCommand(t: ComposeTarget): string {
  return compose(t, "run", "--rm", "--no-deps", "api", "npx", "prisma", "migrate", "deploy");
}

const script = (name: string) => `${HOST_LAYOUT.scriptsRoot}/backup/${name}`;

/**
 * Section 4.1 "Create an On-Demand Backup": the scheduled job's own wrapper (backup-job.sh runs pg-backup.sh and writes
 * the backup metrics BackupTooOld reads) in the pg-backup container, whose environment names the database and bucket.
 * Without the off-site copy, S3_URL is emptied for this run only.
 */
export function backupNowCommand(t: ComposeTarget, offsite: boolean, kind: GoodgoBackupKind = "dump"): string {
  // pitr-full/pitr-diff: the scheduled pgBackRest job itself (PITR_STANZA and PITR_RUN_AS are pg-backup's environment).
  if (kind !== "dump") return compose(t, "exec", "-T", "pg-backup", "bash", script("backup-job.sh"), kind);
  return compose(t, "exec", "-T", ...(offsite ? [] : ["-e", "S3_URL="]), "pg-backup", "bash", script("backup-job.sh"), "backup");
}

/** Section 4.1 "Verify a Backup Without Restoring": backup-job.sh verify (report verify-latest.json, verification metrics). */
export function verifyBackupCommand(t: ComposeTarget, backup: string): string {
  return compose(t, "exec", "-T", ...(backup === "latest" ? [] : ["-e", `VERIFY_TARGET=/backups/${backup}`]), "pg-backup", "bash", script("backup-job.sh"), "verify");
}

/**
 * Fetches an off-site backup (and its sha256 sidecar) from the Spaces bucket into /backups/offsite in the pg-backup
 * container, pointing /backups/offsite/latest at it. "latest" is the newest *.dump* object (names carry UTC stamps, so
 * they sort by time). Credentials come from s3cmd's config file S3CMD_CONFIG (the container's mounted secret file), or
 * else from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, as in lib-pg.sh's upload.
 */
export function fetchOffsiteCommand(t: ComposeTarget, backup: string, dir: string = GOODGO_OFFSITE_DIR): string {
  return composeExec(t, "pg-backup", ["sh", "-c", fetchOffsiteScript(backup, dir)]);
}

function fetchOffsiteScript(backup: string, dir: string): string {
  return [
    "set -eu",
    `mkdir -p ${shq(dir)}`,
    'if [ -n "${S3CMD_CONFIG:-}" ]; then cfg=$S3CMD_CONFIG; else cfg=$(mktemp); trap \'rm -f "$cfg"\' EXIT; fi',
    // S3_NO_SSL=1 only for a local test endpoint, as in lib-pg.sh's upload.
    'tls=; [ "${S3_NO_SSL:-0}" = 1 ] && tls=--no-ssl',
    's3="s3cmd -c $cfg --no-progress $tls --host=$S3_ENDPOINT --host-bucket=$S3_HOST_BUCKET --region=$S3_REGION"',
    backup === "latest"
      ? `name=$($s3 ls "$S3_URL/" | awk '{print $4}' | sed 's#.*/##' | grep -E ${shq(BACKUP_NAME_END)} | sort | tail -n 1 || true)`
      : `name=${shq(backup)}`,
    '[ -n "$name" ] || { echo "no backup found under $S3_URL/" >&2; exit 66; }',
    `$s3 --force get "$S3_URL/$name" "$S3_URL/$name.sha256" ${shq(dir + "/")}`,
    `ln -sfn "$name" ${shq(dir + "/latest")}`,
    'echo "fetched $name"',
  ].join("; ");
}

/** pg-restore.sh: the backup into a NEW database beside the live one; with cutover, swapped in (the old one kept). */
export function restoreCommand(t: ComposeTarget, database: string, source: string, cutover: boolean): string {
  return composeExec(t, "pg-backup", ["bash", script("pg-restore.sh"), "--dbname", database, ...(cutover ? ["--cutover"] : []), source]);
}

/** pg-restore.sh --swap-in: the copy an earlier restore made (only with its completion proof) takes the live name. */
export function swapInCommand(t: ComposeTarget, database: string, swapIn: string): string {
  return composeExec(t, "pg-backup", ["bash", script("pg-restore.sh"), ...swapInArgs(database, swapIn)]);
}

/** What is stopped around a cutover (section 4.1 steps 1-2): the application services and PgBouncer, dependents first. */
export function servicesStoppedForCutover(inv: ServiceInventory): string[] {
  const apps = new Set(inv.services.filter((s) => s.role === "app" || s.role === "edge").map((s) => s.name));
  apps.add("pgbouncer");
  return stopOrder(inv).flat().filter((s) => apps.has(s));
}

export function stopServicesCommand(t: ComposeTarget, services: string[]): string {
  return compose(t, "stop", ...services);
}

/** Section 4.6 step 4: data services (and the backup container that restores into them) first, waiting for health. */
export function dataServices(inv: ServiceInventory): string[] {
  const wanted = new Set(inv.services.filter((s) => s.role === "data" || s.role === "backup").map((s) => s.name));
  return startOrder(inv).flat().filter((s) => wanted.has(s));
}

export function startDataCommand(t: ComposeTarget, inv: ServiceInventory): string {
  return compose(t, "up", "-d", "--wait", ...dataServices(inv));
}

export interface RecoveryStep {
  /** Suffix of the command resource's name. */
  key: string;
  what: string;
  command: string;
}

/** The pgBackRest user inside pg-backup (uid 999 of the image, which owns the secrets include file). */
const PGBACKREST_USER = "postgres";

/** A scratch directory of a point-in-time restore, made as root in pg-backup and handed to pgBackRest's user. */
function scratchDirFor(label: string): string {
  return pitrScratchDir({ scratchRoot: GOODGO_PITR_PATHS.scratchRoot, label });
}

/** `sh -c` in pg-backup: make the scratch dir, then run argv as pgBackRest's user. */
function asPgbackrestUser(t: ComposeTarget, label: string, argv: string[], guard = ""): string {
  const dir = scratchDirFor(label);
  return composeExec(t, "pg-backup", ["sh", "-c", `${guard}set -eu; install -d -o ${PGBACKREST_USER} -g ${PGBACKREST_USER} ${shq(dir)}; exec runuser -u ${PGBACKREST_USER} -- ${shellCommand(...argv)}`]);
}

/**
 * The physical route of section 4.1 (`recovery.database.pointInTime`): the pgBackRest repository's backup and archived
 * WAL recovered to the named time (or the latest point) in a scratch cluster in pg-backup, the application database
 * dumped from it with a sha256 sidecar, the scratch cluster removed. pg-restore.sh then restores that dump beside the
 * live database like any other backup (checksum and TOC verified, completion proof), and cuts over only when asked.
 */
export function pitrRestoreCommand(t: ComposeTarget, cfg: GoodgoConfig, o: { label: string; pointInTime: string; stanza: string }, guard = ""): string {
  return asPgbackrestUser(t, o.label, goodgoPitrRestoreArgv(cfg, o), guard);
}

/** Which route a host recovery takes, written to the scratch dir's `route` file (scripts/backup/pitr-route.sh). */
function routeFile(label: string): string {
  return `${scratchDirFor(label)}/route`;
}

const onRoute = (label: string, route: "physical" | "logical") =>
  `route=$(cat ${shq(routeFile(label))}); if [ "$route" != ${route} ]; then echo "skipped: the recovery takes the $route route"; exit 0; fi; `;

/**
 * Section 4.6 as one ordered chain: data services; the route (physical: the pgBackRest repository to the latest point,
 * when it has a backup of the lost cluster's stanza; logical: the newest off-site dump; a named dump is always
 * logical); the backup restored into a new database and cut over; migrations, Typesense reindex, Redis flush; the
 * recovered cluster's first full backup into its own stanza. The stack's compose up (all services) runs after it.
 */
export function hostRecoverySteps(cfg: GoodgoConfig, inv: ServiceInventory): RecoveryStep[] {
  const r = cfg.recovery.host!;
  const t = composeTarget(cfg);
  const label = `host-${r.label}`;
  const from = goodgoRecoveryStanza(cfg);
  const steps: RecoveryStep[] = [{ key: "data-services", what: "start the data services and wait until healthy", command: startDataCommand(t, inv) }];
  if (r.backup === "latest") {
    steps.push(
      {
        key: "restore-route",
        what: `choose the route: physical (pgBackRest stanza ${from} in the off-site repository, to the latest point) if the repository has a backup of it, else logical (the newest off-site dump)`,
        command: asPgbackrestUser(t, label, goodgoPitrRouteArgv(cfg, routeFile(label))),
      },
      { key: "fetch-backup", what: "logical route: fetch the newest off-site dump", command: composeExec(t, "pg-backup", ["sh", "-c", onRoute(label, "logical") + fetchOffsiteScript("latest", GOODGO_OFFSITE_DIR)]) },
      {
        key: "pitr-restore",
        what: `physical route: restore stanza ${from} to the latest point in a scratch cluster and dump the database`,
        command: pitrRestoreCommand(t, cfg, { label, pointInTime: "latest", stanza: from }, onRoute(label, "physical")),
      },
      {
        key: "restore-database",
        what: "restore the route's dump into a new database and cut over",
        command: composeExec(t, "pg-backup", [
          "sh",
          "-c",
          `set -eu; if [ "$(cat ${shq(routeFile(label))})" = physical ]; then src=${shq(scratchDirFor(label))}; else src=${shq(GOODGO_OFFSITE_DIR)}; fi; ` +
            `exec bash ${shq(script("pg-restore.sh"))} --dbname ${shq(cfg.database.name)} --cutover "$src"`,
        ]),
      },
    );
  } else {
    steps.push(
      { key: "fetch-backup", what: `logical route (a named dump): fetch ${r.backup} from the off-site bucket`, command: fetchOffsiteCommand(t, r.backup) },
      { key: "restore-database", what: "restore it into a new database and cut over", command: restoreCommand(t, cfg.database.name, GOODGO_OFFSITE_DIR, true) },
    );
  }
  steps.push(
    ...(r.migrate ? [{ key: "migrate", what: "apply pending migrations", command: migrateCommand(t) }] : []),
    { key: "reindex-typesense", what: "rebuild the search index from PostgreSQL", command: reindexTypesenseCommand(t, false) },
    { key: "flush-redis", what: "flush the stale cache", command: flushRedisCommand(t) },
    {
      key: "pitr-first-full",
      what: `the recovered cluster's first full pgBackRest backup into its own stanza, ${GOODGO_PGBACKREST_STANZA}-<label> (a new database system; ${from} stays readable)`,
      command: compose(t, "exec", "-T", "pg-backup", "bash", script("backup-job.sh"), "pitr-full"),
    },
  );
  return steps;
}

/**
 * Before a database restore onto the live server: is that server still the database system its stanza archives
 * (scripts/backup/pitr-archive-check.sh, in pg-backup with its libpq environment; pgBackRest as PITR_RUN_AS)? A server
 * that came back on an empty, replaced data volume is a new system whose WAL pgBackRest refuses for the stanza: a
 * restore would bring the data back and leave archive_command failing for good (pg_wal filling the disk, the repository
 * getting no WAL). recovery.host is the switch for that: its own stanza goodgo-<label> and a first full backup.
 */
export function archiveCheckCommand(t: ComposeTarget, cfg: GoodgoConfig): string {
  const hint =
    `The switch for a replaced data volume is recovery.host {label: <new label>, backup: latest}${isExistingHost(cfg.host) ? " (onto this existing server: host: {existing: ...} stays)" : ""} ` +
    `instead of recovery.database: the recovered cluster archives to its own stanza ${GOODGO_PGBACKREST_STANZA}-<label> and takes its first full backup there.`;
  return composeExec(t, "pg-backup", ["bash", script("pitr-archive-check.sh"), "--stanza", goodgoStanza(cfg), "--hint", hint]);
}

/**
 * Section 4.1 as a chain: the backup (a pg_dump file, fetched off-site when asked; or with pointInTime the physical
 * route's dump) restored beside the live database; with cutover: stop apps, swap, migrate, flush. With swapIn (a later
 * run): stop apps, swap in the copy the earlier run restored, migrate, flush; compose up brings the apps back.
 */
export function databaseRestoreSteps(cfg: GoodgoConfig, inv: ServiceInventory): RecoveryStep[] {
  const r = cfg.recovery.database!;
  const t = composeTarget(cfg);
  // First, before anything is stopped or restored (backups.pitr is always on: it has defaults).
  const steps: RecoveryStep[] = [
    { key: "archive-check", what: `check that the live server is the database system of pgBackRest stanza ${goodgoStanza(cfg)} (a replaced, empty server cannot archive there)`, command: archiveCheckCommand(t, cfg) },
  ];
  if (r.swapIn !== undefined) {
    steps.push(
      { key: "stop-apps", what: "stop the application services and PgBouncer", command: stopServicesCommand(t, servicesStoppedForCutover(inv)) },
      { key: "swap-in", what: "swap in the restored copy an earlier run made (refused without its completion proof; the live database kept as <db>_pre_restore_<timestamp>)", command: swapInCommand(t, cfg.database.name, r.swapIn) },
    );
    if (r.migrate) steps.push({ key: "migrate", what: "apply pending migrations", command: migrateCommand(t) });
    steps.push({ key: "flush-redis", what: "flush the stale cache", command: flushRedisCommand(t) });
    return steps;
  }
  let source: string;
  if (r.pointInTime !== undefined) {
    const label = `db-${r.label}${r.cutover ? "-cutover" : ""}`;
    const when = r.pointInTime === "latest" ? "the latest point" : r.pointInTime;
    steps.push({
      key: "pitr-restore",
      what: `restore pgBackRest stanza ${goodgoStanza(cfg)} to ${when} in a scratch cluster and dump the database (the live database untouched)`,
      command: pitrRestoreCommand(t, cfg, { label, pointInTime: r.pointInTime, stanza: goodgoStanza(cfg) }),
    });
    source = scratchDirFor(label);
  } else {
    const backup = r.backup ?? "latest";
    source = r.fromOffsite ? GOODGO_OFFSITE_DIR : `/backups/${backup}`;
    if (r.fromOffsite) steps.push({ key: "fetch-backup", what: `fetch ${backup} from the off-site bucket`, command: fetchOffsiteCommand(t, backup) });
  }
  if (!r.cutover) {
    steps.push({ key: "restore-database", what: "restore into a new database beside the live one (no cutover)", command: restoreCommand(t, cfg.database.name, source, false) });
    return steps;
  }
  steps.push(
    { key: "stop-apps", what: "stop the application services and PgBouncer", command: stopServicesCommand(t, servicesStoppedForCutover(inv)) },
    { key: "restore-database", what: "restore into a new database and cut over", command: restoreCommand(t, cfg.database.name, source, true) },
  );
  if (r.migrate) steps.push({ key: "migrate", what: "apply pending migrations", command: migrateCommand(t) });
  steps.push({ key: "flush-redis", what: "flush the stale cache", command: flushRedisCommand(t) });
  return steps;
}

/** The command of one runbook operation. */
export function operationCommand(op: GoodgoOperation, cfg: GoodgoConfig, inv: ServiceInventory): string {
  const t = composeTarget(cfg);
  switch (op.action) {
    case "rolling-restart":
      return ["set -e", ...rollingRestartServices(inv, op).map((s) => restartCommand(t, s))].join("\n");
    case "restart-service":
      return restartCommand(t, op.service);
    case "terminate-long-queries":
      return psqlInPostgres(t, terminateQueriesSql(op.olderThanMinutes));
    case "restart-pgbouncer":
      return restartCommand(t, "pgbouncer");
    case "flush-redis":
      return flushRedisCommand(t);
    case "reindex-typesense":
      return reindexTypesenseCommand(t);
    case "backup-now":
      return backupNowCommand(t, op.offsite, op.kind);
    case "verify-backup":
      return verifyBackupCommand(t, op.backup);
  }
}
