// The Pencom operator runbook (Markdown) the plan writes with --out and the stack ships to /etc/pencom/RUNBOOK.md: the
// generic runbook model (renderers/runbookDoc.ts) built from the same inventory, fleet file and stack config the
// platform deploys from, so the dependency graph, the start tiers, the shutdown order and the snippet for each
// operation and recovery switch never drift from what runs. Every snippet is checked against the config schema.
import { stringify } from "yaml";
import { confirmationToken, isProtectedStack } from "../../config/checks";
import { restoredCopyExample, rollbackName } from "../../config/swapIn";
import { defineInventory, type ServiceInventory } from "../../lib/inventory";
import { refuseField } from "../../renderers/renderInputError";
import { renderRunbook, type RunbookSwitch } from "../../renderers/runbookDoc";
import { pencomSchema, type PencomConfig } from "./config";
import { PENCOM_SERVICES, PENCOM_STORES, pencomGraph, pencomStartTiers, pencomStopTiers, type PencomStore } from "./inventory";
import type { PencomPlan } from "./plan";

const RENDERER = "runbook";

/** A snippet for Pulumi.<stack>.yaml, validated against the schema with the stack's own config around it. */
function snippet(cfg: PencomConfig, stack: string, part: { operations?: unknown[]; recovery?: Record<string, unknown> }): string {
  const parsed = pencomSchema.safeParse({ ...cfg, ...part, recovery: part.recovery ?? {} });
  if (!parsed.success) refuseField(RENDERER, JSON.stringify(part), parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  return [`# Pulumi.${stack}.yaml`, stringify({ config: { "lazarus:pencom": part } }, { lineWidth: 0 }).trimEnd()].join("\n");
}

/** The graph nodes the runbook shows for the stores (outside PM2). */
const STORE_NODES: Record<PencomStore, string> = {
  coreDb: "postgres-core-db",
  integrationsDb: "postgres-integrations-db",
  notificationsDb: "mongodb-notifications",
  redis: "redis",
  oracle: "oracle",
};

/**
 * The services and the stores they need, for the runbook's table and graph: an edge to a store means the service is
 * started only when the store accepts connections. Oracle has no edge: its outage degrades ext-integrations, it never
 * holds a start back (the notes say so).
 */
function docGraph(readiness: Record<string, { port: number; healthPath: string }>, stores: Record<string, { address: string; port: number }>): ServiceInventory {
  const services = pencomGraph(readiness).services.map((s) => {
    const spec = PENCOM_SERVICES.find((x) => x.name === s.name)!;
    return { ...s, dependsOn: [...(s.dependsOn ?? []), ...spec.needs.map((k) => ({ service: STORE_NODES[k], condition: "healthy" as const }))] };
  });
  const storeNodes = (Object.keys(STORE_NODES) as PencomStore[]).map((k) => ({
    name: STORE_NODES[k],
    image: `${PENCOM_STORES[k].title}, outside PM2`,
    role: "data" as const,
    restart: "no" as const,
    healthcheck: { test: { shell: `TCP ${stores[k]!.address}:${stores[k]!.port} accepts connections` } },
  }));
  return defineInventory([...services, ...storeNodes]);
}

export function pencomRunbook(cfg: PencomConfig, stack: string, plan: PencomPlan): string {
  const protectedStack = isProtectedStack(stack);
  const confirm = (what: string) => (protectedStack ? { confirm: confirmationToken(stack, "pencom", what) } : {});
  const confirmValue = (what: string) => (protectedStack ? confirmationToken(stack, "pencom", what) : undefined);
  const commands = [`pulumi preview --stack ${stack}   # shows the commands that will run`, `pulumi up --stack ${stack}`].join("\n");
  const id = (what: string) => `yyyymmdd-${what}`;
  const readiness = cfg.services as Record<string, { port: number; healthPath: string }>;
  const tiers = pencomStartTiers();
  const op = (name: string, title: string, section: string, does: string, example: Record<string, unknown>, confirmWhat?: string): RunbookSwitch => ({
    name, title, section, does,
    confirm: confirmWhat ? confirmValue(confirmWhat) : undefined,
    stackConfig: snippet(cfg, stack, { operations: [example] }),
    commands,
  });
  const storeLine = (k: PencomStore) => {
    const users = PENCOM_SERVICES.filter((s) => s.needs.includes(k)).map((s) => s.name);
    const degraded = PENCOM_SERVICES.filter((s) => s.degradesWithout.includes(k)).map((s) => s.name);
    const fleet = JSON.parse(plan.files["/etc/pencom/fleet.json"]!) as { stores: Record<string, { address: string; port: number }> };
    const at = `${fleet.stores[k]!.address}:${fleet.stores[k]!.port}`;
    return `${PENCOM_STORES[k].title} at \`${at}\`: ${users.length ? `needed by ${users.join(", ")} (each is started only when it accepts connections)` : ""}${degraded.length ? `its outage degrades ${degraded.join(", ")}, which keeps running: \`status\` reports it "degraded", nothing restarts` : ""}.`;
  };

  const operations: RunbookSwitch[] = [
    op("start-all", "Start every service, tier by tier", "Starting Up Services",
      `\`pm2-fleet.sh start-all\`: tier by tier (${tiers.map((t) => t.join(", ")).join(" → ")}), each service started from the ecosystem file once the stores it needs accept connections; the next tier starts only when every service of this one answers its readiness URL (the seed's \`sleep 5\`, made a check, limit ${cfg.app.readyTimeoutSeconds} s). Then \`pm2 save\`.`,
      { id: id("start-all"), action: "start-all" }),
    op("graceful-shutdown", "Stop every service in reverse tiers", "Shutting Down Services",
      `\`pm2-fleet.sh stop-all\`: \`pm2 stop\` tier by tier, ${pencomStopTiers().map((t) => t.join(", ")).join(" → ")}, each tier stopped (PM2 sends SIGINT, SIGKILL after ${cfg.app.killTimeoutMs} ms) before the next is asked; then \`pm2 save\`, so a reboot does not bring them back. Never \`pkill\`: PM2 restarts what it kills.`,
      { id: id("shutdown"), action: "graceful-shutdown", ...confirm("graceful-shutdown") }, "graceful-shutdown"),
    op("restart-service", "Restart one service and wait until it is ready", "General Incident Checklist",
      "`pm2-fleet.sh restart <service>`: `pm2 restart`, then its readiness URL must answer; its .env is read again (node's --env-file).",
      { id: id("restart-core"), action: "restart-service", service: "core" }),
    op("stop-service", "Stop one service", "General Incident Checklist", "`pm2-fleet.sh stop <service>`: `pm2 stop`, then `pm2 save`. A later deploy leaves it stopped; `start-service` or `start-all` brings it back.",
      { id: id("stop-payments"), action: "stop-service", service: "payments", ...confirm("stop-service") }, "stop-service"),
    op("start-service", "Start one service", "General Incident Checklist", "`pm2-fleet.sh start <service>`: its stores must accept connections; started, then ready.",
      { id: id("start-payments"), action: "start-service", service: "payments" }),
    op("retry-failed-jobs", "Re-queue the failed jobs of one BullMQ queue", "Redis Recovery (Pencom)",
      "`bullmq-retry-failed.sh`: with the application's own bullmq and core's .env, every failed job of the queue goes back to waiting. Jobs that were in flight when Redis was lost are gone: they are not in Redis to be found; re-trigger those from their source.",
      { id: id("retry-payments"), action: "retry-failed-jobs", queue: "payments" }),
    op("status", "Status of every service and store", "General Incident Checklist",
      "`pm2-fleet.sh status`: per service its PM2 status, its readiness and the stores it uses that refuse connections; \"degraded\" (ready, a store down, e.g. Oracle) or \"down\" (not online or not ready). The operation fails while a service is down, so `pulumi up` shows it.",
      { id: id("status"), action: "status" }),
  ];
  const recovery: RunbookSwitch[] = [
    {
      name: "recovery.coreDatabase", title: "Restore the core database beside the live one, then point core at it", section: "Database Recovery (Pencom)",
      does: `\`pg-restore.sh\` (as \`postgres.adminUser\`, password on stdin) restores the backup on the host (custom format or plain SQL, with its \`.sha256\` sidecar) into \`${cfg.postgres.core.database}_restore_<timestamp>\` beside \`${cfg.postgres.core.database}\`, which is never touched (the seed's \`psql ... < backup.sql\` wrote into the live database). The restore is checked (checksum, completeness, the whole load in one transaction or none). With \`cutover: true\`, core's .env is rewritten with the database the restore's result line names and the deploy restarts core. Writes made to the live database after the backup stay there. With \`postgres.pitr\` set, \`pointInTime: latest\` or a UTC time (instead of \`backup\`) recovers the pgBackRest repository on the PostgreSQL server to that moment in a scratch cluster beside the live one, dumps the core database from it and restores that dump the same way, as the server's \`postgres\` user (no admin password).`,
      confirm: confirmValue("core-database-cutover"),
      stackConfig: snippet(cfg, stack, { recovery: { coreDatabase: { label: "yyyymmdd", backup: "/var/backups/pencom/pencom_core_db2.dump", cutover: true, ...confirm("core-database-cutover") } } }),
      commands: `sha256sum pencom_core_db2.dump > pencom_core_db2.dump.sha256   # on the host, beside the backup, if it has no sidecar\n${commands}`,
    },
    {
      name: "recovery.coreDatabase.swapIn", title: "Give the verified restored copy the live name", section: "Database Recovery (Pencom)",
      does: `A later run of the switch, after a restore beside the live database (with or without \`cutover\`) and your check of the copy: \`swapIn\` names the copy the restore's result line gave (instead of \`backup\`/\`pointInTime\`, without \`cutover\`). core is stopped, \`pg-restore.sh --swap-in\` (as \`postgres.adminUser\`, password on stdin) renames \`${cfg.postgres.core.database}\` to \`${rollbackName(cfg.postgres.core.database)}\` and the copy to \`${cfg.postgres.core.database}\` in one transaction (refused without the completion proof of a finished restore; nothing is restored again), core's .env names \`${cfg.postgres.core.database}\` again, the fleet converges and core is started. Each step runs once for this label and copy; the switch can stay.`,
      confirm: confirmValue("core-database-cutover"),
      stackConfig: snippet(cfg, stack, { recovery: { coreDatabase: { label: "yyyymmdd", swapIn: restoredCopyExample(cfg.postgres.core.database), ...confirm("core-database-cutover") } } }),
      commands,
    },
    {
      name: "recovery.notificationsDatabase", title: "Restore the notifications MongoDB database into a new database, then cut over", section: "MongoDB restore (notifications)",
      does: `\`mongo-restore-beside.sh\`: \`mongorestore --archive --gzip --nsFrom ${cfg.mongodb.database}.* --nsTo ${cfg.mongodb.database}_restore_<label>.*\` into a database that must not exist yet, counted afterwards. With \`cutover: true\`: notifications is stopped, its .env points at the new database, the fleet converges, notifications is started again.`,
      confirm: confirmValue("notifications-database-cutover"),
      stackConfig: snippet(cfg, stack, { recovery: { notificationsDatabase: { label: "yyyymmdd", archive: "/var/backups/pencom/notifications.archive.gz", cutover: true, ...confirm("notifications-database-cutover") } } }),
      commands,
    },
  ];

  return renderRunbook({
    platform: "Pencom",
    stack,
    configKey: "lazarus:pencom",
    source: "runbook 000 (Shutdown and Recovery Procedures: Pencom Platform (On-Premises), General Incident Checklist)",
    summary: `Eight Node services under PM2 as \`${cfg.app.user}\` on \`${cfg.host.existing.address}\`, from \`${cfg.app.dir}\` with \`/etc/pencom/ecosystem.config.js\`; each reads its own 0600 \`/etc/pencom/env/<service>.env\` (node --env-file). \`pm2 save\` keeps the list PM2 resurrects at boot (\`pm2 startup\`, unit \`pm2-${cfg.app.user}\`). Logs: \`pm2 logs <service>\` as \`${cfg.app.user}\`.`,
    inventory: docGraph(readiness, (JSON.parse(plan.files["/etc/pencom/fleet.json"]!) as { stores: Record<string, { address: string; port: number }> }).stores),
    serviceColumns: { container: "PM2 name", image: "Entry script" },
    startOrder: tiers,
    stopOrder: pencomStopTiers(),
    rollingRestart: { description: "Restarting everything one by one (dependencies first) is this order, each via `restart-service`:", services: tiers.flat() },
    notes: [
      { title: "Stores outside PM2", bullets: (Object.keys(PENCOM_STORES) as PencomStore[]).map(storeLine) },
      {
        title: "At boot",
        bullets: [
          "PM2 resurrects the saved list in the order it was saved (tier order) but without readiness waits; a service that exits because core is not ready yet is restarted by PM2. `status` shows when all are ready; `start-all` is the tiered start.",
        ],
      },
    ],
    howTo: [
      `Add the entry to \`Pulumi.${stack}.yaml\` under \`config:\` → \`lazarus:pencom:\` (\`operations:\` is a list: append to it).`,
      "Open a pull request: the offline plan shows what will run.",
      `\`pulumi preview --stack ${stack}\`, then \`pulumi up --stack ${stack}\`. Each operation runs once per id; a new id runs it again.`,
      ...(protectedStack ? [`On \`${stack}\`, entries that take services offline carry a \`confirm\` value (shown in the examples).`] : []),
    ],
    switchGroups: [
      { title: "Operations (`operations:`)", switches: operations },
      { title: "Recovery switches (`recovery:`)", switches: recovery },
    ],
    recoveryProcedures: [
      { switchName: "recovery.coreDatabase", title: "core database restore", steps: ["restore beside the live database (pg-restore.sh, no cutover of names)", "with cutover: core's .env rewritten with the restored database", ".env handed to the service user (0600)", "pm2-fleet.sh deploy: core restarted because its .env changed, then ready"] },
      { switchName: "recovery.coreDatabase.swapIn", title: "the verified copy swapped in", steps: ["pm2-fleet.sh stop core", "pg-restore.sh --swap-in <the copy>: the copy takes the live name, the live database kept as <db>_pre_restore_<timestamp> (refused without the completion proof)", "core's .env names the live database, handed to the service user (0600)", "pm2-fleet.sh deploy (core stays stopped)", "pm2-fleet.sh start core, then ready"] },
      { switchName: "recovery.notificationsDatabase", title: "notifications database restore", steps: ["mongorestore into the new database, counted", "with cutover: pm2-fleet.sh stop notifications", "notifications' .env points at the new database", "pm2-fleet.sh deploy (notifications stays stopped)", "pm2-fleet.sh start notifications, then ready"] },
    ],
    incidentsTitle: "Incidents (General Incident Checklist)",
    incidents: [
      {
        section: "1.", title: "A service is down", symptoms: "errors from one service; `pm2 status` shows it stopped or errored",
        steps: [{ text: `Logs: \`sudo -u ${cfg.app.user} -H pm2 logs <service>\`.` }, { text: "Run `status`, then `restart-service` for it.", stackConfig: snippet(cfg, stack, { operations: [{ id: id("restart-core"), action: "restart-service", service: "core" }] }) }],
        commands,
      },
      {
        section: "2.", title: "PENCOM Oracle DB unavailable", symptoms: "`status` reports ext-integrations degraded with oracle unreachable",
        steps: [{ text: "Nothing to restart: external-integrations keeps serving what is already synced into pencom_external_integrations; new syncs fail until Oracle is back." }, { text: "Contact the PENCOM IT department; when Oracle is back, retry the failed sync jobs (`retry-failed-jobs` of their queue)." }],
      },
      {
        section: "3.", title: "Redis lost", symptoms: "BullMQ workers cannot connect; jobs fail",
        steps: [{ text: "When Redis is back, re-queue the failed jobs of each critical queue; jobs in flight are lost and must be re-triggered from their source.", stackConfig: snippet(cfg, stack, { operations: [{ id: id("retry-payments"), action: "retry-failed-jobs", queue: "payments" }] }) }],
        commands,
      },
    ],
  });
}
