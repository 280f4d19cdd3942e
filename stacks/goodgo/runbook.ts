// The GoodGo operator runbook (Markdown) the plan writes with --out and the stack ships to the deploy directory: this
// file builds the generic runbook model (renderers/runbookDoc.ts) from the same inventory as the compose file and from
// this stack's config (runbook 001), so services, ports, health checks, orders and the config change for each incident
// never drift from what is deployed:
//   - start / stop / rolling-restart orders from lib/inventory's graph functions (never a hand-kept list);
//   - what each recovery switch runs, step by step, from the recovery chains the stack declares (./commands.ts);
//   - for each incident of sections 3 and 4, the exact change to `Pulumi.<stack>.yaml` (under `lazarus:goodgo`) and the
//     `pulumi preview` / `pulumi up` that carries it out. The operation actions and recovery switches are the config
//     schema's own lists (stacks/goodgo/config.ts: GOODGO_OPERATION_ACTIONS, GOODGO_RECOVERY_SWITCHES, re-exported
//     here), and every YAML snippet is valid against that schema (the tests merge each into the real stack files).
import { stringify } from "yaml";
import {
  EXAMPLE_BACKUP_FILE,
  GOODGO_OPERATION_ACTIONS,
  GOODGO_RECOVERY_SWITCHES,
  goodgoSchema,
  type GoodgoConfig,
  type GoodgoOperation,
  type GoodgoOperationAction,
} from "./config";
import { confirmationToken, isProtectedStack } from "../../config/checks";
import { restoredCopyExample } from "../../config/swapIn";
import { dependentsOf, rollingRestartOrder, startOrder, stopOrder, type ServiceInventory } from "../../lib/inventory";
import { refuseField } from "../../renderers/renderInputError";
import { renderRunbook, type RunbookIncident, type RunbookIncidentStep, type RunbookModel, type RunbookSwitch } from "../../renderers/runbookDoc";
import { databaseRestoreSteps, hostRecoverySteps } from "./commands";
import { GOODGO_BACKUP_METRICS } from "./monitoring";

export { GOODGO_OPERATION_ACTIONS, GOODGO_RECOVERY_SWITCHES };
export type GoodgoRecoverySwitch = (typeof GOODGO_RECOVERY_SWITCHES)[number];

const RENDERER = "runbook";

export interface GoodgoRunbookInput {
  /** The stack's parsed `lazarus:goodgo` config (its values fill the examples: tags, pool size, schedule, bucket). */
  config: GoodgoConfig;
  /** Stack name: the file the snippets go into (Pulumi.<stack>.yaml) and the confirmation values on protected stacks. */
  stack: string;
  /** The services the stack deploys (the 14 of section 1 plus what the stack adds). */
  inventory: ServiceInventory;
  /** Prefix of the example operation ids (default "yyyymmdd": replace with the day's date; a new id runs it again). */
  idPrefix?: string;
}

/** How the stack restarts one service (scripts/ops/compose-service.sh): restart, then wait until healthy. */
const RESTART = "`compose-service.sh --wait restart <service>` (`docker compose restart <service>`, then `docker compose ps` polled until it is running and healthy)";

/** A snippet for Pulumi.<stack>.yaml: the given keys under config -> lazarus:goodgo. */
function stackSnippet(stack: string, goodgo: Record<string, unknown>): string {
  return [`# Pulumi.${stack}.yaml`, stringify({ config: { "lazarus:goodgo": goodgo } }, { lineWidth: 0 }).trimEnd()].join("\n");
}

/** Operation defaults as the config schema fills them (so the doc shows what `pulumi up` will really do). */
function withDefaults(op: Record<string, unknown>): GoodgoOperation {
  const parsed = goodgoSchema.shape.operations.safeParse([op]);
  if (!parsed.success) refuseField(RENDERER, `operation ${JSON.stringify(op)}`, parsed.error.issues.map((i) => i.message).join("; "));
  return parsed.data[0]!;
}

/** The config with one recovery switch set as its example sets it (defaults filled in by the schema). */
function withRecovery(cfg: GoodgoConfig, recovery: Record<string, unknown>): GoodgoConfig {
  const parsed = goodgoSchema.shape.recovery.safeParse(recovery);
  if (!parsed.success) refuseField(RENDERER, `recovery ${JSON.stringify(recovery)}`, parsed.error.issues.map((i) => i.message).join("; "));
  return { ...cfg, recovery: parsed.data };
}

interface ActionDoc {
  section: string;
  title: string;
  /** What `pulumi up` runs on the host for it. */
  does: (op: GoodgoOperation) => string;
  example: Record<string, unknown>;
  /** Confirmation key ("what") on protected stacks. */
  confirm?: string;
}

interface RecoveryDoc {
  section: string;
  title: string;
  does: string;
  example: Record<string, unknown>;
  confirm?: string;
}

type Step = { text: string; operation?: Record<string, unknown>; recovery?: Record<string, unknown>; config?: Record<string, unknown> };

/** The runbook model of one GoodGo stack. */
export function goodgoRunbookModel(input: GoodgoRunbookInput): RunbookModel {
  const { config: cfg, stack, inventory: inv } = input;
  const prefix = input.idPrefix ?? "yyyymmdd";
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(prefix)) refuseField(RENDERER, "idPrefix", `must be lowercase letters, digits and dashes, got ${JSON.stringify(prefix)}`);
  const names = new Set(inv.services.map((s) => s.name));
  const has = (n: string) => names.has(n);
  const id = (what: string) => `${prefix}-${what}`;
  const protectedStack = isProtectedStack(stack);
  const confirm = (what: string) => (protectedStack ? { confirm: confirmationToken(stack, "goodgo", what) } : {});
  const confirmValue = (what: string | undefined) => (what && protectedStack ? confirmationToken(stack, "goodgo", what) : undefined);
  const file = `Pulumi.${stack}.yaml`;
  const pulumi = [`pulumi preview --stack ${stack}   # shows the commands that will run`, `pulumi up --stack ${stack}`].join("\n");

  const rolling = withDefaults({ id: id("rolling-restart"), action: "rolling-restart" });
  if (rolling.action !== "rolling-restart") refuseField(RENDERER, "rolling-restart", "schema returned another action");
  const rollingOrder = rollingRestartOrder(inv, { roles: rolling.roles, exclude: rolling.exclude.filter(has) });

  const B = cfg.backups;
  const backups = [
    `pg-backup runs \`backup-job.sh backup\` daily at ${B.backupAt} UTC (pg-backup.sh: pg_dump custom format, ${B.codec === "zstd" ? "in one zstd stream, " : ""}sha256 sidecar, ${B.retentionDays} days kept in the \`pg_backups\` volume) and copies each backup off-site to \`s3://${B.offsite.bucket}/${B.offsite.prefix}\` (${B.offsite.region}; the bucket's lifecycle rule deletes copies after ${B.offsite.lifecycleDays} days).`,
    `It runs \`backup-job.sh verify\` daily at ${B.verifyAt} UTC: the latest backup is restored into a temporary database and compared with the live one (tables, row counts, checksums of ${cfg.database.criticalTables.join(", ")}, extensions, indexes, enums); the report is \`/backups/verify-latest.json\`.`,
    `Metrics for the alerts (node_exporter textfile collector, \`${GOODGO_BACKUP_METRICS.dir}\`): \`${GOODGO_BACKUP_METRICS.lastSuccess}\` and \`${GOODGO_BACKUP_METRICS.lastSize}\` only after a successful backup (BackupTooOld fires ${GOODGO_BACKUP_METRICS.maxAgeSeconds / 3600} h after the last one), \`${GOODGO_BACKUP_METRICS.verifySuccess}\` after every verification (BackupVerificationFailed), and \`goodgo_backup_last_run_success\` / \`goodgo_backup_last_failure_timestamp_seconds\` / \`goodgo_backup_offsite_upload_success\` per backup run.`,
    `Check by hand: \`docker exec goodgo-pg-backup cat /backups/verify-latest.json\`, \`docker exec goodgo-pg-backup cat ${GOODGO_BACKUP_METRICS.backupTextfile}\`.`,
  ];

  const howTo = [
    `Add the entry below to \`${file}\` under \`config:\` → \`lazarus:goodgo:\` (\`operations:\` is a list: append to it; \`recovery:\` holds at most one entry per switch; other keys, such as \`pgbouncer:\` or \`backups:\`, merge into the section already there).`,
    "Open a pull request: the offline plan in CI shows what will run.",
    `After review: \`pulumi preview --stack ${stack}\`, then \`pulumi up --stack ${stack}\`. Each operation runs once, as a command resource named by its \`id\`; to run it again, add an entry with a new id (the examples use \`${prefix}-...\`: put the day's date there).`,
    "Recovery switches stay in the file while they are in effect (a rollback keeps the old tag deployed); remove them in a later pull request once the incident is over.",
    ...(protectedStack ? [`On \`${stack}\`, destructive entries carry a \`confirm\` value (shown in the examples); the plan refuses them without it and names the value.`] : []),
  ];

  // ---------------------------------------------------------------- operations
  const actions: Record<GoodgoOperationAction, ActionDoc> = {
    "rolling-restart": {
      section: "4.3",
      title: "Full-stack rolling restart in dependency order",
      does: (op) => (op.action === "rolling-restart" ? `For each of ${rollingRestartOrder(inv, { roles: op.roles, exclude: op.exclude.filter(has) }).join(", ")} in turn: ${RESTART} (the next one is restarted only when this one is healthy; the first failure stops the chain).` : ""),
      example: { id: id("rolling-restart"), action: "rolling-restart" },
    },
    "restart-service": {
      section: "4.3",
      title: "Restart one service and wait for its health check",
      does: (op) => (op.action === "restart-service" ? `${RESTART.replaceAll("<service>", op.service)}; the operation fails if the health check does not pass in time.` : ""),
      example: { id: id("restart-api"), action: "restart-service", service: "api" },
    },
    "terminate-long-queries": {
      section: "3.1, 3.4",
      title: "Terminate queries running longer than N minutes",
      does: (op) =>
        op.action === "terminate-long-queries"
          ? `In the postgres container: \`SELECT pg_terminate_backend(pid)\` for every non-idle backend of the application database whose query started more than ${op.olderThanMinutes} minutes ago (3.1 uses 5 minutes, 3.4 uses 30 seconds = 0.5).`
          : "",
      example: { id: id("kill-long-queries"), action: "terminate-long-queries", olderThanMinutes: 5, ...confirm("terminate-long-queries") },
      confirm: "terminate-long-queries",
    },
    "restart-pgbouncer": {
      section: "3.1",
      title: "Restart PgBouncer",
      does: () => `${RESTART.replaceAll("<service>", "pgbouncer")}${has("pgbouncer") && dependentsOf(inv, "pgbouncer").length ? `; its dependents (${dependentsOf(inv, "pgbouncer").join(", ")}) reconnect` : ""}.`,
      example: { id: id("restart-pgbouncer"), action: "restart-pgbouncer" },
    },
    "flush-redis": {
      section: "4.2",
      title: "Flush Redis",
      does: () => "`redis-cli FLUSHALL` in the redis container (redis-cli takes the password from REDISCLI_AUTH, set for that command from the container's password file: never from its environment or the command line), then `DBSIZE` must be 0. The cache warms up again from PostgreSQL.",
      example: { id: id("flush-redis"), action: "flush-redis", ...confirm("flush-redis") },
      confirm: "flush-redis",
    },
    "reindex-typesense": {
      section: "3.3, 4.5",
      title: "Rebuild the Typesense index from PostgreSQL",
      does: () => "The API image's reindex, `npx ts-node scripts/typesense-reindex.ts`, in the running api container (`docker compose exec -T api ...`).",
      example: { id: id("reindex-typesense"), action: "reindex-typesense" },
    },
    "backup-now": {
      section: "4.1",
      title: "On-demand backup",
      does: (op) =>
        op.action === "backup-now"
          ? `\`backup-job.sh backup\` in the pg-backup container${op.offsite ? `, with the off-site copy to \`s3://${B.offsite.bucket}/${B.offsite.prefix}\`` : " (local only)"}; the backup metrics are updated as for the scheduled run. With \`kind: pitr-full\` (or \`pitr-diff\`) instead: the scheduled pgBackRest job, \`backup-job.sh pitr-full\`, a backup into the repository \`s3://${B.offsite.bucket}${B.pitr.repoPath}\` (the physical route's, which \`recovery.database.pointInTime\` restores from).`
          : "",
      example: { id: id("backup-now"), action: "backup-now" },
    },
    "verify-backup": {
      section: "4.1, 9",
      title: "Verify a backup (restore into a temporary database and compare)",
      does: (op) => (op.action === "verify-backup" ? `\`backup-job.sh verify\` in the pg-backup container on ${op.backup === "latest" ? "the latest backup" : `\`/backups/${op.backup}\` (VERIFY_TARGET)`}: writes \`/backups/verify-latest.json\` and the verification metric.` : ""),
      example: { id: id("verify-backup"), action: "verify-backup", backup: "latest" },
    },
  };
  const operations: RunbookSwitch[] = GOODGO_OPERATION_ACTIONS.map((action) => {
    const a = actions[action];
    return {
      name: action,
      title: a.title,
      section: a.section,
      does: a.does(withDefaults(a.example)),
      confirm: confirmValue(a.confirm),
      stackConfig: stackSnippet(stack, { operations: [a.example] }),
      commands: pulumi,
    };
  });

  // ---------------------------------------------------------------- recovery switches
  const previousTag = "PREVIOUS_TAG";
  const recovery: Record<GoodgoRecoverySwitch, RecoveryDoc> = {
    host: {
      section: "4.6",
      title: "Full host recovery",
      does: `A new droplet from ${"the base image (cloud-init installs Docker and Compose) or a snapshot (`fromSnapshot`)"}, the reserved IP moved to it; then, in order: data services first (${startOrder(inv).flat().filter((n) => ["data", "backup"].includes(inv.services.find((s) => s.name === n)!.role)).join(", ")}, waiting until healthy), the database restored into PostgreSQL and cut over (\`backup: latest\`: the physical route, the pgBackRest repository to the end of its archived WAL, when it has a backup of the lost cluster, else the newest off-site dump, the route and its reason in the step's result line; a named file: that dump), migrations (\`prisma migrate deploy\`, unless \`migrate: false\`), the Typesense reindex, a Redis flush, then the application services in start order. Target RTO: 60 minutes.${protectedStack ? " On this stack `fromSnapshot` is a snapshot id (`doctl compute snapshot list --resource droplet --format ID,Name,CreatedAt`), never `latest`." : ""} Once it has run, replace \`confirm\` with \`done: true\` and keep the switch: the droplet is protected again and nothing of it runs again.`,
      // "latest" is refused on protected stacks: it would be looked up again by every up.
      example: { host: { label: id("host").replace(/-host$/, ""), fromSnapshot: protectedStack ? "187654321" : "latest", backup: "latest", ...confirm("recover-host") } },
      confirm: "recover-host",
    },
    rollback: {
      section: "4.4",
      title: "Roll back to an image tag",
      does: `the compose project is rendered with IMAGE_TAG=\`${previousTag}\` instead of \`app.imageTag\` (${cfg.app.imageTag}), so api, web and ai-services are recreated from the older images; data services are untouched. Keep the switch until a fixed release is deployed through \`app.imageTag\`, then remove it.`,
      example: { rollback: { imageTag: previousTag, reason: "5xx spike after deploy" } },
    },
    database: {
      section: "4.1",
      title: "Restore the database from a backup",
      does: `The named backup (from the pg_backups volume, or fetched from the off-site bucket with \`fromOffsite: true\`), or with \`pointInTime\` (\`latest\` or a UTC time such as 2026-11-23T02:00:00Z, instead of \`backup\`) the pgBackRest repository recovered to that moment in a scratch cluster and dumped, is checked and restored into a NEW database beside the live one; with \`cutover: true\` the application services stop, the restored database is swapped in (the live one kept as the rollback point), migrations run, Redis is flushed and the services start again. Or in two runs, verifying the copy in between: the first without \`cutover\` (its result line names the copy, \`${restoredCopyExample(cfg.database.name).replace(/[0-9]{14}$/, "<timestamp>")}\`), then \`swapIn: <that name>\` instead of \`backup\`/\`pointInTime\`: the services stop and that copy, not a new restore, is swapped in (refused without the completion proof of a finished restore). The RPO of \`pointInTime: latest\` is the stack's \`backups.pitr.archiveTimeoutSeconds\` at most; of a dump, up to a day.`,
      example: { database: { label: id("restore").replace(/-restore$/, ""), backup: EXAMPLE_BACKUP_FILE, cutover: true, ...confirm("database-cutover") } },
      confirm: "database-cutover",
    },
  };
  // The second run of recovery.database after a restore beside the live one: the copy it named, verified, swapped in.
  const restoreLabel = id("restore").replace(/-restore$/, "");
  const besideExample = { database: { label: restoreLabel, backup: EXAMPLE_BACKUP_FILE } };
  const swapInExample = { database: { label: restoreLabel, swapIn: restoredCopyExample(cfg.database.name), ...confirm("database-cutover") } };
  const recoverySwitches: RunbookSwitch[] = GOODGO_RECOVERY_SWITCHES.map((sw) => {
    const r = recovery[sw];
    return { name: `recovery.${sw}`, title: r.title, section: r.section, does: r.does, confirm: confirmValue(r.confirm), stackConfig: stackSnippet(stack, { recovery: r.example }), commands: pulumi };
  });
  // The chains the stack declares for the examples above; the whole compose project comes up after either.
  const after = "Then the whole compose project comes up (`up -d --wait`), every service in start order.";
  const whatEachStepDoes = (steps: { what: string }[]) => steps.map((s) => s.what);
  const recoveryProcedures = [
    { switchName: "recovery.host", title: "what a full host recovery does", steps: whatEachStepDoes(hostRecoverySteps(withRecovery(cfg, recovery.host.example), inv)), after },
    { switchName: "recovery.database", title: "what a database restore with cutover does", steps: whatEachStepDoes(databaseRestoreSteps(withRecovery(cfg, recovery.database.example), inv)), after },
    { switchName: "recovery.database", title: "what swapping in a verified restored copy (swapIn) does", steps: whatEachStepDoes(databaseRestoreSteps(withRecovery(cfg, swapInExample), inv)), after },
  ];

  // ---------------------------------------------------------------- incidents
  const op = (a: GoodgoOperationAction, extra: Record<string, unknown> = {}, what?: string): Record<string, unknown> => ({
    ...actions[a].example,
    ...extra,
    ...(what ? { id: id(what) } : {}),
  });
  const restart = (service: string): Step => ({ text: `Restart ${service} and wait for its health check.`, operation: op("restart-service", { service }, `restart-${service}`) });
  const bouncer = inv.services.find((x) => x.name === "pgbouncer");
  const incidents: { section: string; title: string; symptoms: string; steps: Step[] }[] = [
    {
      section: "3.1", title: "Database connection pool exhaustion",
      symptoms: "API 503s or hangs; /health/ready unhealthy for the database; PgBouncer logs `no more connections allowed` or `query_wait_timeout`; PostgresActiveConnectionsHigh / PostgresConnectionPoolCritical.",
      steps: [
        ...(bouncer
          ? [{ text: `Look at the pools first (read-only): \`docker exec ${bouncer.containerName ?? bouncer.name} psql -h 127.0.0.1 -p ${bouncer.ports?.[0]?.container ?? 6432} -U pgbouncer_admin pgbouncer -c "SHOW POOLS;"\` (the container's PGPASSWORD is pgbouncer_admin's); \`cl_waiting\` above 0 means clients are queuing for a server connection.` }]
          : []),
        { text: "Terminate queries running longer than 5 minutes.", operation: op("terminate-long-queries", { olderThanMinutes: 5 }) },
        { text: "If the pool is still exhausted, restart PgBouncer.", operation: op("restart-pgbouncer") },
        { text: `If it persists, raise the pool size temporarily (now ${cfg.pgbouncer.poolSize}); \`pulumi up\` rewrites PGBOUNCER_POOL_SIZE in the host's .env, which pgbouncer reads when it is recreated.`, config: { pgbouncer: { poolSize: cfg.pgbouncer.poolSize + 10 } } },
      ],
    },
    {
      section: "3.2", title: "Redis connection failure",
      symptoms: "/health/redis unhealthy; slower API (cache misses hit PostgreSQL); Redis errors in the API logs. The API keeps working without Redis.",
      steps: [restart("redis"), { text: "If Redis is out of memory: maxmemory is set by `redis.maxMemoryMb` (allkeys-lru evicts; 3.2). A corrupted AOF is repaired by hand with `redis-check-aof --fix` (scripts/backup/redis-aof-check.sh) while redis is stopped; there is no stack operation for it." }],
    },
    {
      section: "3.3", title: "Typesense unavailable",
      symptoms: "Search errors or the PostgreSQL fallback; /health on 8108 fails; Typesense timeouts in the API logs.",
      steps: [restart("typesense"), { text: "If its data is corrupted, rebuild the index from PostgreSQL (after the volume is recreated).", operation: op("reindex-typesense") }],
    },
    {
      section: "3.4", title: "High API latency",
      symptoms: "ApiLatencyP99High (p99 > 1 s for 5 min) or ApiLatencyP99Critical (p99 > 3 s for 3 min); slow pages.",
      steps: [
        { text: "Terminate database queries running longer than 30 seconds.", operation: op("terminate-long-queries", { olderThanMinutes: 0.5 }, "kill-slow-queries") },
        { text: "If the pool is exhausted, see 3.1." },
        restart("redis"),
        restart("api"),
      ],
    },
    {
      section: "3.5", title: "Payment callback failures",
      symptoms: "Payments stuck in PENDING; VNPay/MoMo/ZaloPay IPN callbacks failing.",
      steps: [restart("api"), { text: "Stuck payments are reconciled by hand against the provider's merchant portal (3.5, step 3); callbacks are idempotent, replaying them is safe. No stack operation." }],
    },
    {
      section: "3.6", title: "Disk space alerts",
      symptoms: "HostDiskUsageHigh / HostDiskUsageCritical; containers failing to start; PostgreSQL refusing writes.",
      steps: [
        { text: `Local backups older than \`backups.retentionDays\` (now ${B.retentionDays}) are pruned by every backup run; lower it to free space.`, config: { backups: { retentionDays: Math.max(1, B.retentionDays - 2) } } },
        { text: `Prometheus keeps \`monitoring.prometheusRetention\` (${cfg.monitoring.prometheusRetention ?? (stack === "prod" ? "30d" : "15d")}) and Loki \`monitoring.lokiRetentionDays\` (${cfg.monitoring.lokiRetentionDays}); container logs rotate at 10 MB × ${cfg.app.logMaxFile}. \`docker system prune\` stays a manual step.` },
      ],
    },
    { section: "3.7", title: "MinIO / object storage failure", symptoms: "Uploads fail; property photos missing; the console on 9001 unreachable.", steps: [restart("minio")] },
    { section: "3.8", title: "AI services unavailable", symptoms: "AI features fail; /health on 8000 fails; AI timeouts in the API logs. The API degrades gracefully.", steps: [restart("ai-services")] },
    {
      section: "3.9", title: "Log pipeline failure (Loki/Promtail)",
      symptoms: "Empty results in Grafana's log explorer; promtail crash-looping; Loki 503.",
      steps: [restart("loki"), restart("promtail")],
    },
    {
      section: "3.10", title: "5xx error rate spike",
      symptoms: "ApiErrorRate5xxHigh (> 1 % for 5 min) or ApiErrorRate5xxCritical (> 5 % for 3 min).",
      steps: [
        { text: "Database-related: see 3.1; Redis-related: see 3.2." },
        { text: "After a deploy: roll back to the previous image tag (4.4).", recovery: recovery.rollback.example },
        restart("api"),
      ],
    },
    {
      section: "4.1", title: "Database restore from backup",
      symptoms: "Data loss or corruption; a bad migration.",
      steps: [
        { text: "Make sure the backup to restore is sound first.", operation: op("verify-backup", { backup: EXAMPLE_BACKUP_FILE }, "verify-before-restore") },
        { text: "Restore it into a new database beside the live one; its result line names the copy.", recovery: besideExample },
        { text: "Check the copy (row counts, the rows the incident is about), then swap it in: the services stop, the copy takes the live name (the live database is kept), migrations, Redis flush, services back.", recovery: swapInExample },
        { text: "An on-demand backup of the current state before anything risky.", operation: op("backup-now") },
      ],
    },
    { section: "4.2", title: "Redis cache flush", symptoms: "Stale cache after a restore, data fix or schema change.", steps: [{ text: "Flush Redis; the cache warms up from PostgreSQL.", operation: op("flush-redis") }] },
    {
      section: "4.3", title: "Rolling restarts",
      symptoms: "A service misbehaves, or after a configuration change.",
      steps: [restart("api"), { text: `Whole stack, in dependency order (${rollingOrder.join(" → ")}).`, operation: op("rolling-restart") }],
    },
    { section: "4.4", title: "Rollback deployment", symptoms: "A release misbehaves (smoke tests, 5xx, latency).", steps: [{ text: "Run the previous image tag for api, web and ai-services.", recovery: recovery.rollback.example }] },
    { section: "4.5", title: "Typesense reindex from PostgreSQL", symptoms: "Typesense data lost or corrupted.", steps: [{ text: "Rebuild the index.", operation: op("reindex-typesense") }] },
    { section: "4.6", title: "Full host recovery", symptoms: "The host is lost, or a move to a new server.", steps: [{ text: "One switch does the whole sequence (see `recovery.host`).", recovery: recovery.host.example }] },
  ];
  const incidentStep = (s: Step): RunbookIncidentStep => {
    const body = s.operation ? { operations: [s.operation] } : s.recovery ? { recovery: s.recovery } : s.config;
    return { text: s.text, ...(body ? { stackConfig: stackSnippet(stack, body) } : {}) };
  };
  const runbookIncidents: RunbookIncident[] = incidents.map((inc) => {
    const steps = inc.steps.map(incidentStep);
    return { ...inc, steps, ...(steps.some((s) => s.stackConfig) ? { commands: pulumi } : {}) };
  });

  return {
    platform: "GoodGo",
    stack,
    configKey: "lazarus:goodgo",
    source: "runbook 001 (GoodGo Platform — Production Runbook)",
    summary: `Deploy directory \`${cfg.app.deployDir}\`, compose project \`${cfg.app.composeProject}\`, images \`${cfg.app.registryUrl}/*:${cfg.app.imageTag}\`.`,
    inventory: inv,
    startOrder: startOrder(inv),
    stopOrder: stopOrder(inv),
    rollingRestart: {
      description: `Rolling restart (operation \`rolling-restart\` with its defaults: roles ${rolling.roles.join(", ")}; left running: ${rolling.exclude.join(", ") || "none"}), one service at a time, each \`docker compose up -d --no-deps --wait\` before the next:`,
      services: rollingOrder,
    },
    notes: [{ title: "Backups", bullets: backups }],
    howTo,
    switchGroups: [
      { title: "Operations (`operations:`)", switches: operations },
      { title: "Recovery switches (`recovery:`)", switches: recoverySwitches },
    ],
    recoveryProcedures,
    incidentsTitle: "Incidents (sections 3 and 4)",
    incidents: runbookIncidents,
  };
}

/** The Markdown runbook of one GoodGo stack. Throws RenderInputError for input the document cannot be built from. */
export function renderGoodgoRunbook(input: GoodgoRunbookInput): string {
  return renderRunbook(goodgoRunbookModel(input));
}

export function goodgoRunbookMarkdown(cfg: GoodgoConfig, stack: string, inv: ServiceInventory): string {
  return renderGoodgoRunbook({ config: cfg, stack, inventory: inv });
}
