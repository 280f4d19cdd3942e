// The GoodGo operator runbook (Markdown), generated from the service inventory and the stack's config (runbook 001).
// Pure: no Pulumi, no I/O. Everything an operator reads here derives from data the stack also deploys from:
//   - the services table (image, ports, limits, shm, health check, restart, dependencies) from the inventory;
//   - the dependency graph as a Mermaid `graph`, one edge per `dependsOn` entry (labelled with its condition);
//   - start / stop / rolling-restart orders from lib/inventory's graph functions (never a hand-kept list);
//   - for each incident of sections 3 and 4, the exact change to `Pulumi.<stack>.yaml` (under `lazarus:goodgo`) and the
//     `pulumi preview` / `pulumi up` that carries it out. The operation actions and recovery switches are the config
//     schema's own lists (config/platforms/goodgo.ts: GOODGO_OPERATION_ACTIONS, GOODGO_RECOVERY_SWITCHES, re-exported
//     here), and every YAML snippet is valid against that schema (the tests merge each into the real stack files).
import { stringify } from "yaml";
import {
  GOODGO_OPERATION_ACTIONS,
  GOODGO_RECOVERY_SWITCHES,
  goodgoSchema,
  type GoodgoConfig,
  type GoodgoOperation,
  type GoodgoOperationAction,
} from "../config/platforms/goodgo";
import { confirmationToken, isProtectedStack } from "../config/platforms/index";
import {
  dependentsOf,
  namedVolumes,
  rollingRestartOrder,
  startOrder,
  stopOrder,
  type HealthCheck,
  type ServiceInventory,
  type ServiceSpec,
} from "../lib/inventory";
import { GOODGO_BACKUP_METRICS } from "../stacks/goodgo/monitoring";
import { refuseField } from "./renderInputError";

export { GOODGO_OPERATION_ACTIONS, GOODGO_RECOVERY_SWITCHES };
export type GoodgoRecoverySwitch = (typeof GOODGO_RECOVERY_SWITCHES)[number];

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

/** Mermaid node id for a service name (Mermaid ids cannot hold "-"). */
export function mermaidId(service: string): string {
  return service.replace(/[^A-Za-z0-9_]/g, "_");
}

/** How the stack restarts one service (scripts/ops/compose-service.sh): restart, then wait until healthy. */
const RESTART = "`compose-service.sh --wait restart <service>` (`docker compose restart <service>`, then `docker compose ps` polled until it is running and healthy)";

/** Compose interpolation shown as the variable it reads (`${IMAGE_TAG:-latest}` -> `$IMAGE_TAG`), `$$` as `$`. */
const display = (s: string) => s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?][^}]*)?\}/g, "$$$1").replace(/\$\$/g, "$");

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (s: string) => `\`${cell(display(s)).replace(/`/g, "'")}\``;

function healthText(h: HealthCheck | undefined): string {
  if (!h) return "—";
  const cmd = "exec" in h.test ? h.test.exec.filter((x, i) => !(i === 0 && x === "CMD")).join(" ") : h.test.shell;
  const timing = [h.interval && `every ${h.interval}`, h.timeout && `timeout ${h.timeout}`, h.retries && `${h.retries} retries`, h.startPeriod && `start ${h.startPeriod}`]
    .filter(Boolean)
    .join(", ");
  return `${code(cmd)}${timing ? ` (${timing})` : ""}`;
}

function portsText(s: ServiceSpec): string {
  const ps = (s.ports ?? []).map((p) => {
    const what = p.description ? ` ${p.description}` : "";
    return p.published ? `${p.bind ? `${p.bind}:` : ""}${p.published}→${p.container}${what} (published)` : `${p.container}${what} (internal)`;
  });
  return ps.length ? ps.join(", ") : "—";
}

/** The dependency graph: one node per service, one edge per dependsOn entry, pointing at what the service needs. */
export function goodgoMermaidGraph(inv: ServiceInventory): string {
  const byName = [...inv.services].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines = ["graph TD"];
  for (const s of byName) lines.push(`  ${mermaidId(s.name)}["${s.name}"]`);
  for (const s of byName) {
    for (const d of [...(s.dependsOn ?? [])].sort((a, b) => (a.service < b.service ? -1 : 1))) {
      lines.push(`  ${mermaidId(s.name)} -->|${d.condition}| ${mermaidId(d.service)}`);
    }
  }
  return lines.join("\n");
}

/** A snippet for Pulumi.<stack>.yaml: the given keys under config -> lazarus:goodgo. */
function stackSnippet(stack: string, goodgo: Record<string, unknown>): string {
  return [`# Pulumi.${stack}.yaml`, stringify({ config: { "lazarus:goodgo": goodgo } }, { lineWidth: 0 }).trimEnd()].join("\n");
}

/** Operation defaults as the config schema fills them (so the doc shows what `pulumi up` will really do). */
function withDefaults(op: Record<string, unknown>): GoodgoOperation {
  const parsed = goodgoSchema.shape.operations.safeParse([op]);
  if (!parsed.success) refuseField("runbook", `operation ${JSON.stringify(op)}`, parsed.error.issues.map((i) => i.message).join("; "));
  return parsed.data[0]!;
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

interface Incident {
  section: string;
  title: string;
  symptoms: string;
  steps: Step[];
}

/** The Markdown runbook. Throws RenderInputError when an example would not be valid stack config. */
export function renderGoodgoRunbook(input: GoodgoRunbookInput): string {
  const { config: cfg, stack, inventory: inv } = input;
  if (!stack || !/^[a-z0-9][a-z0-9-]*$/.test(stack)) refuseField("runbook", "stack", `must be a stack name such as prod, got ${JSON.stringify(stack)}`);
  if (!inv || !inv.services?.length) refuseField("runbook", "inventory", "must hold the services the stack deploys");
  const prefix = input.idPrefix ?? "yyyymmdd";
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(prefix)) refuseField("runbook", "idPrefix", `must be lowercase letters, digits and dashes, got ${JSON.stringify(prefix)}`);
  const names = new Set(inv.services.map((s) => s.name));
  const has = (n: string) => names.has(n);
  const id = (what: string) => `${prefix}-${what}`;
  const protectedStack = isProtectedStack(stack);
  const confirm = (what: string) => (protectedStack ? { confirm: confirmationToken(stack, "goodgo", what) } : {});
  const file = `Pulumi.${stack}.yaml`;
  const pulumi = [`pulumi preview --stack ${stack}   # shows the commands that will run`, `pulumi up --stack ${stack}`].join("\n");
  const L: string[] = [];
  const P = (...xs: string[]) => L.push(...xs);

  // ---------------------------------------------------------------- header
  P(`# GoodGo operator runbook — stack \`${stack}\``, "");
  P(
    `Generated by Lazarus (renderers/runbookDoc.ts) from the service inventory and \`${file}\` (\`lazarus:goodgo\`).`,
    "Do not edit: change the inventory or the stack config and regenerate. Source: runbook 001 (GoodGo Platform — Production Runbook).",
    "",
    `Deploy directory \`${cfg.app.deployDir}\`, compose project \`${cfg.app.composeProject}\`, images \`${cfg.app.registryUrl}/*:${cfg.app.imageTag}\`.`,
    "",
  );

  // ---------------------------------------------------------------- services
  P("## Services", "", "| Service | Container | Image | Role | Ports | Limits | Health check | Restart | Depends on |", "|---|---|---|---|---|---|---|---|---|");
  for (const s of inv.services) {
    const limits = s.limits ? `${s.limits.cpus} CPU / ${s.limits.memoryMb} MB${s.shmSizeMb ? `, shm ${s.shmSizeMb} MB` : ""}` : "—";
    const deps = (s.dependsOn ?? []).map((d) => `${d.service} (${d.condition})`).join(", ") || "—";
    P(`| ${s.name} | ${s.containerName ?? "—"} | ${code(s.image)} | ${s.role} | ${portsText(s)} | ${limits} | ${healthText(s.healthcheck)} | ${s.restart ?? "unless-stopped"} | ${deps} |`);
  }
  P("");
  const vols = namedVolumes(inv);
  if (vols.length) {
    P("### Volumes", "", "| Volume | Mounted by |", "|---|---|");
    for (const v of vols) {
      const by = inv.services.filter((s) => (s.volumes ?? []).some((m) => m.kind === "volume" && m.source === v)).map((s) => {
        const m = s.volumes!.find((x) => x.kind === "volume" && x.source === v)!;
        return `${s.name} at ${code(m.target)}${m.readOnly ? " (read-only)" : ""}`;
      });
      P(`| ${v} | ${by.join(", ")} |`);
    }
    P("");
  }

  // ---------------------------------------------------------------- graph and orders
  P("## Dependency graph", "", "An arrow points from a service to what it needs before it starts (label: the `depends_on` condition).", "");
  P("```mermaid", goodgoMermaidGraph(inv), "```", "");
  P("## Orders (derived from the dependencies)", "");
  P("Start order, layer by layer (a layer starts once the previous one is healthy):", "");
  startOrder(inv).forEach((layer, i) => P(`${i + 1}. ${layer.join(", ")}`));
  P("", "Stop order (dependents first):", "");
  stopOrder(inv).forEach((layer, i) => P(`${i + 1}. ${layer.join(", ")}`));
  const rolling = withDefaults({ id: id("rolling-restart"), action: "rolling-restart" });
  if (rolling.action !== "rolling-restart") refuseField("runbook", "rolling-restart", "schema returned another action");
  const rollingOrder = rollingRestartOrder(inv, { roles: rolling.roles, exclude: rolling.exclude.filter(has) });
  P(
    "",
    `Rolling restart (operation \`rolling-restart\` with its defaults: roles ${rolling.roles.join(", ")}; left running: ${rolling.exclude.join(", ") || "none"}), one service at a time, each \`docker compose up -d --no-deps --wait\` before the next:`,
    "",
  );
  rollingOrder.forEach((s, i) => P(`${i + 1}. ${s}`));
  P("", "Restarting a service leaves its dependents holding old connections; these restart after it (in this order):", "", "| Service | Dependents |", "|---|---|");
  for (const s of inv.services) {
    const d = dependentsOf(inv, s.name);
    if (d.length) P(`| ${s.name} | ${d.join(" → ")} |`);
  }
  P("");

  // ---------------------------------------------------------------- backups
  const B = cfg.backups;
  P(
    "## Backups",
    "",
    `- pg-backup runs \`backup-job.sh backup\` daily at ${B.backupAt} UTC (pg-backup.sh: pg_dump custom format, sha256 sidecar, ${B.retentionDays} days kept in the \`pg_backups\` volume) and copies each backup off-site to \`s3://${B.offsite.bucket}/${B.offsite.prefix}\` (${B.offsite.region}; the bucket's lifecycle rule deletes copies after ${B.offsite.lifecycleDays} days).`,
    `- It runs \`backup-job.sh verify\` daily at ${B.verifyAt} UTC: the latest backup is restored into a temporary database and compared with the live one (tables, row counts, checksums of ${cfg.database.criticalTables.join(", ")}, extensions, indexes, enums); the report is \`/backups/verify-latest.json\`.`,
    `- Metrics for the alerts (node_exporter textfile collector, \`${GOODGO_BACKUP_METRICS.dir}\`): \`${GOODGO_BACKUP_METRICS.lastSuccess}\` and \`${GOODGO_BACKUP_METRICS.lastSize}\` only after a successful backup (BackupTooOld fires ${GOODGO_BACKUP_METRICS.maxAgeSeconds / 3600} h after the last one), \`${GOODGO_BACKUP_METRICS.verifySuccess}\` after every verification (BackupVerificationFailed), and \`goodgo_backup_last_run_success\` / \`goodgo_backup_last_failure_timestamp_seconds\` / \`goodgo_backup_offsite_upload_success\` per backup run.`,
    `- Check by hand: \`docker exec goodgo-pg-backup cat /backups/verify-latest.json\`, \`docker exec goodgo-pg-backup cat ${GOODGO_BACKUP_METRICS.backupTextfile}\`.`,
    "",
  );

  // ---------------------------------------------------------------- how a change is made
  P(
    "## How an operation or recovery is run",
    "",
    `1. Add the entry below to \`${file}\` under \`config:\` → \`lazarus:goodgo:\` (\`operations:\` is a list: append to it; \`recovery:\` holds at most one entry per switch; other keys, such as \`pgbouncer:\` or \`backups:\`, merge into the section already there).`,
    "2. Open a pull request: the offline plan in CI shows what will run.",
    `3. After review: \`pulumi preview --stack ${stack}\`, then \`pulumi up --stack ${stack}\`. Each operation runs once, as a command resource named by its \`id\`; to run it again, add an entry with a new id (the examples use \`${prefix}-...\`: put the day's date there).`,
    "4. Recovery switches stay in the file while they are in effect (a rollback keeps the old tag deployed); remove them in a later pull request once the incident is over.",
    ...(protectedStack
      ? [`5. On \`${stack}\`, destructive entries carry a \`confirm\` value (shown in the examples); the plan refuses them without it and names the value.`]
      : []),
    "",
  );

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
      does: () => "`redis-cli FLUSHALL` in the redis container (redis-cli takes the password from REDISCLI_AUTH in the container's environment, never from the command line), then `DBSIZE` must be 0. The cache warms up again from PostgreSQL.",
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
          ? `\`backup-job.sh backup\` in the pg-backup container${op.offsite ? `, with the off-site copy to \`s3://${B.offsite.bucket}/${B.offsite.prefix}\`` : " (local only)"}; the backup metrics are updated as for the scheduled run.`
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

  P("## Operations (`operations:`)", "");
  for (const action of GOODGO_OPERATION_ACTIONS) {
    const a = actions[action];
    const op = withDefaults(a.example);
    P(`### \`${action}\` — ${a.title}`, "", `Runbook section ${a.section}. \`pulumi up\` runs: ${a.does(op)}`, "");
    if (a.confirm && protectedStack) P(`On \`${stack}\` it needs \`confirm: ${confirmationToken(stack, "goodgo", a.confirm)}\`.`, "");
    P("```yaml", stackSnippet(stack, { operations: [a.example] }), "```", "", "```sh", pulumi, "```", "");
  }

  // ---------------------------------------------------------------- recovery switches
  const previousTag = "PREVIOUS_TAG";
  const recovery: Record<GoodgoRecoverySwitch, RecoveryDoc> = {
    host: {
      section: "4.6",
      title: "Full host recovery",
      does: `A new droplet from ${"the base image (cloud-init installs Docker and Compose) or a snapshot (`fromSnapshot`)"}, the reserved IP moved to it; then, in order: data services first (${startOrder(inv).flat().filter((n) => ["data", "backup"].includes(inv.services.find((s) => s.name === n)!.role)).join(", ")}, waiting until healthy), the off-site backup (\`backup\`: latest or a named file) restored into PostgreSQL, migrations (\`prisma migrate deploy\`, unless \`migrate: false\`), the Typesense reindex, a Redis flush, then the application services in start order. Target RTO: 60 minutes.`,
      example: { host: { label: id("host").replace(/-host$/, ""), fromSnapshot: "latest", backup: "latest", ...confirm("recover-host") } },
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
      does: "The named backup (from the pg_backups volume, or fetched from the off-site bucket with `fromOffsite: true`) is checked and restored into a NEW database beside the live one; with `cutover: true` the application services stop, the restored database is swapped in (the live one kept as the rollback point), migrations run, Redis is flushed and the services start again.",
      example: { database: { label: id("restore").replace(/-restore$/, ""), backup: "goodgo_20261123T020000Z.dump", cutover: true, ...confirm("database-cutover") } },
      confirm: "database-cutover",
    },
  };
  P("## Recovery switches (`recovery:`)", "");
  for (const sw of GOODGO_RECOVERY_SWITCHES) {
    const r = recovery[sw];
    P(`### \`recovery.${sw}\` — ${r.title}`, "", `Runbook section ${r.section}. \`pulumi up\` runs: ${r.does}`, "");
    if (r.confirm && protectedStack) P(`On \`${stack}\` it needs \`confirm: ${confirmationToken(stack, "goodgo", r.confirm)}\`.`, "");
    P("```yaml", stackSnippet(stack, { recovery: r.example }), "```", "", "```sh", pulumi, "```", "");
  }

  // ---------------------------------------------------------------- incidents
  const op = (a: GoodgoOperationAction, extra: Record<string, unknown> = {}, what?: string): Record<string, unknown> => ({
    ...actions[a].example,
    ...extra,
    ...(what ? { id: id(what) } : {}),
  });
  const restart = (service: string): Step => ({ text: `Restart ${service} and wait for its health check.`, operation: op("restart-service", { service }, `restart-${service}`) });
  const bouncer = inv.services.find((x) => x.name === "pgbouncer");
  const incidents: Incident[] = [
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
        { text: "Make sure the backup to restore is sound first.", operation: op("verify-backup", { backup: "goodgo_20261123T020000Z.dump" }, "verify-before-restore") },
        { text: "Restore it into a new database and cut over.", recovery: recovery.database.example },
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

  P("## Incidents (sections 3 and 4)", "");
  for (const inc of incidents) {
    P(`### ${inc.section} ${inc.title}`, "", `Symptoms: ${inc.symptoms}`, "");
    inc.steps.forEach((s, i) => {
      P(`${i + 1}. ${s.text}`);
      const body = s.operation ? { operations: [s.operation] } : s.recovery ? { recovery: s.recovery } : s.config;
      if (body) {
        P("", "```yaml", stackSnippet(stack, body), "```", "");
      }
    });
    if (inc.steps.some((s) => s.operation || s.recovery || s.config)) P("", "```sh", pulumi, "```");
    P("");
  }
  return `${L.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}
