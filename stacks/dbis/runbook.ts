// The DBIS operator runbook (Markdown), shipped to the deploy directory as RUNBOOK.md: the generic runbook model
// (renderers/runbookDoc.ts) built from the same inventory as the compose file and from this stack's config (runbook
// 004), so services, ports, orders, the exact command each operation runs and the stack-file change for each incident
// never drift from what is deployed. Every operation action of the schema (DBIS_OPERATION_ACTIONS) is listed; every
// snippet is valid against the schema (test/stacks/dbis/runbook-doc.test.ts merges each into the real stack file).
import { stringify } from "yaml";
import { confirmationToken, isProtectedStack } from "../../config/checks";
import { startOrder, stopOrder, type ServiceInventory } from "../../lib/inventory";
import { refuseField } from "../../renderers/renderInputError";
import { renderRunbook, type RunbookModel, type RunbookSwitch } from "../../renderers/runbookDoc";
import { dbisBackupUrls } from "./backups";
import { APP_FAILOVER_MOVES_TRAFFIC, DBIS_OPERATION_ACTIONS, PROMOTION_IS_IRREVERSIBLE, dbisSchema, type DbisConfig, type DbisOperation } from "./config";
import { isExistingHost } from "../../config/shared";
import { operationCommand } from "./commands";
import { DBIS_APP_SERVICE, dbisNames } from "./inventory";

const RENDERER = "runbook";

type Action = (typeof DBIS_OPERATION_ACTIONS)[number];

/** A snippet for Pulumi.<stack>.yaml: the given keys under config -> lazarus:dbis. */
export function dbisStackSnippet(stack: string, body: Record<string, unknown>): string {
  return [`# Pulumi.${stack}.yaml`, stringify({ config: { "lazarus:dbis": body } }, { lineWidth: 0 }).trimEnd()].join("\n");
}

function withDefaults(op: Record<string, unknown>): DbisOperation {
  const parsed = dbisSchema.shape.operations.safeParse([op]);
  if (!parsed.success) refuseField(RENDERER, `operation ${JSON.stringify(op)}`, parsed.error.issues.map((i) => i.message).join("; "));
  return parsed.data[0]!;
}

export function dbisRunbookModel(cfg: DbisConfig, stack: string, inv: ServiceInventory, idPrefix = "yyyymmdd"): RunbookModel {
  const protectedStack = isProtectedStack(stack);
  const confirmFor = (what: string) => (protectedStack ? { confirm: confirmationToken(stack, "dbis", what) } : {});
  const file = `Pulumi.${stack}.yaml`;
  const pulumi = [`pulumi preview --stack ${stack}   # shows the commands that will run`, `pulumi up --stack ${stack}`].join("\n");
  const names = dbisNames(stack);
  const urls = dbisBackupUrls(cfg);

  const actions: Record<Action, { section: string; title: string; extra?: Record<string, unknown>; confirm?: string }> = {
    "restart-app": { section: "Common Operations: Start/Stop System", title: "Restart the app (its health check waited for)" },
    "check-status": { section: "Check System Status", title: "Health, metrics and the database through /health" },
    "reconcile-daily": { section: "Run Reconciliation", title: "Daily reconciliation report", extra: { date: "2026-11-22" } },
    "reconcile-aging": { section: "Run Reconciliation", title: "Aging items", extra: { days: 1 } },
    migrate: { section: "Database Operations", title: "Run migrations" },
    "migrate-rollback": { section: "Database Operations", title: "Roll back the last migration", confirm: "migrate-rollback" },
    "seed-operators": { section: "Database Operations", title: "Seed operators" },
    "backup-now": { section: "Database Operations: Backup database", title: "A database backup now (the scheduled job)" },
    "audit-export-now": { section: "Backup Procedures: Audit logs export", title: "An audit-log export now", extra: { day: "2026-11-22" } },
  };
  const opExample = (action: Action) => {
    const a = actions[action];
    return { id: `${idPrefix}-${action}`, action, ...(a.extra ?? {}), ...(a.confirm ? confirmFor(a.confirm) : {}) };
  };
  const operations: RunbookSwitch[] = DBIS_OPERATION_ACTIONS.map((action) => {
    const a = actions[action];
    const example = opExample(action);
    return {
      name: action,
      title: a.title,
      section: a.section,
      does: `\`${operationCommand(withDefaults(example), cfg)}\``,
      ...(a.confirm && protectedStack ? { confirm: confirmationToken(stack, "dbis", a.confirm) } : {}),
      stackConfig: dbisStackSnippet(stack, { operations: [example] }),
      commands: pulumi,
    };
  });

  const restoreExample = { database: { label: "20261123", pointInTime: "2026-11-23T01:30:00Z" } };
  const cutoverExample = { database: { label: "20261123", pointInTime: "2026-11-23T01:30:00Z", cutover: true, ...confirmFor("database-cutover") } };
  const promoteExample = { promoteReplica: { ...confirmFor("promote-replica") } };
  const failoverExample = (to: "standby" | "primary") => ({ appFailover: { to, ...confirmFor("app-failover") } });
  const traffic =
    cfg.standby && isExistingHost(cfg.standby)
      ? `the reserved IP ${cfg.appAddress?.reservedIp ?? "of appAddress"} reassigned by the DigitalOcean API, token from the secret \`dbisDigitaloceanApiToken\``
      : `the load balancer \`${names.appLb}\` pointed at it`;
  const recoverySwitches: RunbookSwitch[] = [
    {
      name: "recovery.database",
      title: "Database Recovery: restore beside the live cluster, then cut over",
      section: "Recovery Procedures: Database Recovery",
      does: `Restores the cluster's backup (at \`pointInTime\`, or the latest) into a new protected cluster \`${names.database}-restore-<label>\`; the live cluster is not touched. With \`cutover: true\`: the migrations against it, then \`DATABASE_URL\` on it and the app recreated.`,
      stackConfig: dbisStackSnippet(stack, { recovery: restoreExample }),
      commands: pulumi,
    },
    {
      name: "recovery.database (cutover)",
      title: "Move the app to the restored cluster",
      section: "Recovery Procedures: Database Recovery",
      does: "Runs the migrations against the restored cluster, then recreates the app on it (see the steps below).",
      ...(protectedStack ? { confirm: confirmationToken(stack, "dbis", "database-cutover") } : {}),
      stackConfig: dbisStackSnippet(stack, { recovery: cutoverExample }),
      commands: pulumi,
    },
    {
      name: "recovery.promoteReplica",
      title: "Database Failover: promote the read replica",
      section: "Failover Procedures: Database Failover",
      does: `The DigitalOcean API's promote call for \`${names.replica}\`, then \`DATABASE_URL\` on it and the app recreated. ${PROMOTION_IS_IRREVERSIBLE}.`,
      ...(protectedStack ? { confirm: confirmationToken(stack, "dbis", "promote-replica") } : {}),
      stackConfig: dbisStackSnippet(stack, { recovery: promoteExample }),
      commands: pulumi,
    },
    // Application Failover, where the stack has a standby server.
    ...(cfg.standby
      ? [
          {
            name: "recovery.appFailover",
            title: "Application Failover: move the app to the standby server",
            section: "Failover Procedures: Application Failover",
            does: `Starts the app on \`${names.standby}\` (healthy first), then moves the traffic to it (${traffic}), then issues its certificate. ${APP_FAILOVER_MOVES_TRAFFIC}.`,
            ...(protectedStack ? { confirm: confirmationToken(stack, "dbis", "app-failover") } : {}),
            stackConfig: dbisStackSnippet(stack, { recovery: failoverExample("standby") }),
            commands: pulumi,
          },
          {
            name: "recovery.appFailover (back)",
            title: "Move the app back to the primary server",
            section: "Failover Procedures: Application Failover",
            does: `Moves the traffic back to \`${names.host}\`, then stops the standby's containers.`,
            ...(protectedStack ? { confirm: confirmationToken(stack, "dbis", "app-failover") } : {}),
            stackConfig: dbisStackSnippet(stack, { recovery: failoverExample("primary") }),
            commands: pulumi,
          },
        ]
      : []),
  ];

  const op = (action: Action) => dbisStackSnippet(stack, { operations: [opExample(action)] });
  return {
    platform: "DBIS",
    stack,
    configKey: "lazarus:dbis",
    source: "runbook 004 (DBIS — Operational Runbook)",
    summary: `Deploy directory \`${cfg.app.deployDir}\`, image \`${cfg.app.image}:${cfg.app.imageTag}\`, public name \`${cfg.app.serverName}\` (the app on the host's loopback port ${cfg.app.port}), managed PostgreSQL \`${names.database}\` (database \`${cfg.database.databaseName}\`)${cfg.database.replica.enabled ? ` with the read replica \`${names.replica}\`` : ""}.`,
    inventory: inv,
    startOrder: startOrder(inv),
    stopOrder: stopOrder(inv),
    // No rolling-restart operation: the runbook restarts only the app; nginx keeps serving while it does.
    rollingRestart: { description: "No rolling restart: the operation `restart-app` restarts the app alone (nginx answers 502 for the seconds it takes), in this order:", services: [DBIS_APP_SERVICE] },
    notes: [
      {
        title: "Backups",
        bullets: [
          `pg-backup runs \`pg-backup.sh\` daily at ${cfg.backups.schedule.databaseAt} UTC: \`${cfg.database.databaseName}_<time>.dump.zst\` (custom format in one zstd stream, sha256 sidecar) on the \`pg_backups\` volume (${cfg.backups.localRetentionDays} days) and in \`${urls.database}\` (${cfg.backups.databaseRetentionDays} days).`,
          `It runs \`audit-export.sh --day yesterday\` daily at ${cfg.backups.schedule.auditExportAt} UTC: \`audit_logs_<day>.csv.gz\` (CSV with header, sha256 sidecar) to \`${urls.audit}\`, kept ${cfg.backups.auditRetentionYears} years (the bucket is protected and versioned).`,
          `It runs \`app-logs-ship.sh\` daily at ${cfg.backups.schedule.appLogsAt} UTC: the app's rotated \`application-*.log\` files (from \`${cfg.app.logsDir}\` in the app, the \`app_logs\` volume), gzipped, to \`${urls.appLogs}<host name>/\`, expired after ${cfg.backups.appLogRetentionDays} days.`,
          `Logs: \`docker compose logs pg-backup\` in \`${cfg.app.deployDir}\`.`,
        ],
      },
      {
        title: "Alerts",
        bullets: [
          `Every alert to Slack ${cfg.monitoring.alerting.slackChannel}; criticals also by e-mail to ${cfg.monitoring.alerting.email.to}. A critical suppresses the same service's warnings.`,
          "Prometheus and Alertmanager listen on the host's loopback only (9090, 9093): `ssh -L 9093:127.0.0.1:9093 root@<host>` to silence.",
        ],
      },
    ],
    howTo: [
      `Add the entry to \`${file}\` under \`config:\` → \`lazarus:dbis:\` (\`operations:\` is a list: append to it).`,
      "Open a pull request: the offline plan in CI shows what will run.",
      `After review: \`pulumi preview --stack ${stack}\`, then \`pulumi up --stack ${stack}\`. Each operation runs once, named by its \`id\`; a new id runs it again (replace \`${idPrefix}\` with the day's date).`,
      "Recovery switches stay in the file while they are in effect; a one-shot step never runs twice.",
      ...(protectedStack ? [`On \`${stack}\`, destructive entries carry a \`confirm\` value (shown in the examples); the plan refuses them without it.`] : []),
    ],
    switchGroups: [
      { title: "Operations (`operations:`)", switches: operations },
      { title: "Recovery switches (`recovery:`)", switches: recoverySwitches },
    ],
    recoveryProcedures: [
      {
        switchName: "recovery.database",
        title: "what a database cutover does",
        steps: [
          "`.env` is rewritten with `DATABASE_URL` on the restored cluster (the running app keeps its old environment).",
          `\`docker compose run --rm --no-deps -T ${DBIS_APP_SERVICE} npm run migrate\`: the runbook's "Run migrations", against the restored cluster, once.`,
          "`docker compose up -d --wait` recreates the app with the new `.env`; the backup jobs follow the restored cluster.",
        ],
      },
      {
        switchName: "recovery.promoteReplica",
        title: "what a replica promotion does",
        steps: [
          `\`PUT /v2/databases/{cluster}/replicas/${names.replica}/promote\` (token from the secret \`dbisDigitaloceanApiToken\` on curl's stdin); fails on anything but 204.`,
          "`.env` is rewritten with `DATABASE_URL` on the promoted cluster.",
          "`docker compose up -d --wait` recreates the app (a restart would keep the old URL).",
        ],
        after: "Afterwards, before any `pulumi refresh`: the two commands of the stack output `dbis.afterPromotion` (`pulumi import` of the promoted cluster, `pulumi state delete` of the replica resource); stacks/dbis/README.md, \"After a promotion\".",
      },
      ...(cfg.standby
        ? [
            {
              switchName: "recovery.appFailover",
              title: "what an application failover does",
              steps: [
                `\`${names.standby}\`: \`docker compose up -d --wait\` (its containers were created and stopped; its files are the primary's).`,
                `The traffic moves to it: ${traffic}.`,
                "certbot issues its certificate (the HTTP-01 challenge now reaches it), nginx restarts with it; operations run there from now on.",
                "The primary is left as it is (it may be down): when it is back, move the app back with `to: primary`, which also stops the standby.",
              ],
            },
          ]
        : []),
    ],
    incidentsTitle: "Troubleshooting and Disaster Recovery",
    incidents: [
      {
        section: "Payment Stuck in Processing:",
        title: "payment stuck in approved",
        symptoms: "Payment status is APPROVED but not progressing; no ledger posting or message generation.",
        steps: [{ text: "Check health and the payment and TLS metrics.", stackConfig: op("check-status") }, { text: "Then the application logs: `docker compose logs -f app` on the host." }],
        commands: pulumi,
      },
      {
        section: "TLS Connection Issues:",
        title: "TLS errors, circuit breaker OPEN",
        symptoms: "`tls_connection_errors_total` increasing (alert DbisTlsConnectionErrors), DbisTlsCircuitBreakerOpen.",
        steps: [{ text: "Check the TLS metrics.", stackConfig: op("check-status") }, { text: "Verify the receiver's address, certificate and network from the host (`openssl s_client`)." }],
        commands: pulumi,
      },
      {
        section: "Database Connection Issues:",
        title: "pool exhausted or database unreachable",
        symptoms: "DbisDatabasePoolExhausted or DbisHealthCheckFailing; query timeouts.",
        steps: [{ text: "Check status.", stackConfig: op("check-status") }, { text: "If the primary is lost, promote the replica.", stackConfig: dbisStackSnippet(stack, { recovery: promoteExample }) }],
        commands: pulumi,
      },
      {
        section: "Reconciliation Exceptions:",
        title: "unmatched items accumulating",
        symptoms: "DbisReconciliationUnmatchedHigh; aging items.",
        steps: [{ text: "Aging items older than a day.", stackConfig: op("reconcile-aging") }, { text: "The daily report.", stackConfig: op("reconcile-daily") }],
        commands: pulumi,
      },
      {
        section: "Database Recovery:",
        title: "data loss or a bad migration",
        symptoms: "Data lost or corrupted.",
        steps: [
          { text: "Restore beside the live cluster and check it.", stackConfig: dbisStackSnippet(stack, { recovery: restoreExample }) },
          { text: "Cut over: migrations, DATABASE_URL, app recreated.", stackConfig: dbisStackSnippet(stack, { recovery: cutoverExample }) },
        ],
        commands: pulumi,
      },
    ],
  };
}

export function dbisRunbookMarkdown(cfg: DbisConfig, stack: string, inv: ServiceInventory): string {
  return renderRunbook(dbisRunbookModel(cfg, stack, inv));
}
