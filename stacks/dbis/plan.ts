// DBIS's plan: everything the platform will declare, computed from the stack config alone and validated before any
// resource exists. `declare.ts` only turns it into resources.
import { certbotTls, type ComposeTls } from "../../components/composeDeployment";
import { renderedFrom } from "../../config/planInput";
import { restoreArgs } from "../../config/shared";
import type { ManagedPostgresArgs } from "../../components/managedPostgres";
import { shq } from "../../lib/shell";
import { HOST_LAYOUT } from "../../lib/hostLayout";
import { projectFileMounts } from "../../lib/inventory";
import { composeServiceCommand, composeUpCommand } from "../../lib/opsCommands";
import { renderCloudInit } from "../../renderers/cloudInit";
import { renderCompose } from "../../renderers/compose";
import { renderNginxConf } from "../../renderers/nginx";
import type { HostPlan } from "../host";
import type { PlanContext } from "../platform";
import { isExistingHost } from "../../config/shared";
import { APP_FAILOVER_MOVES_TRAFFIC, PROMOTION_IS_IRREVERSIBLE, type DbisConfig } from "./config";
import { DBIS_RECONCILIATION_HEADER, operationCommand } from "./commands";
import { DBIS_APP_SERVICE, DBIS_EDGE_SERVICE, DBIS_ENDPOINTS, DBIS_FILES, DBIS_VOLUMES, dbisInventory, dbisNames, dbisNginxInput } from "./inventory";
import { dbisMonitoringFiles } from "./monitoring";
import { dbisRunbookMarkdown } from "./runbook";
import { DBIS_ALERTMANAGER_FILES, dbisAlertmanagerSecretsOwner, renderDbisAlertmanagerConfig } from "./alerting";
import { shellCommand } from "../../lib/shell";
import { DBIS_BACKUP_FILES, DBIS_BUCKET_PREFIXES, DBIS_PG_SERVICE, renderDbisCrontab } from "./backups";

/** One server of the compose deployment: the primary, or the standby of the runbook's Application Failover. */
export interface DbisServerPlan {
  role: "primary" | "standby";
  host: HostPlan;
  /** Prefix of its host steps: the primary keeps the names it had before standbys existed. */
  prefix: string;
  /** The app runs here (the primary unless recovery.appFailover says standby). */
  active: boolean;
  /** `compose up --wait` where active; on an idle standby images pulled and containers created, stopped. */
  upCommand: string;
  /** certbot TLS where active: an idle standby cannot answer the HTTP-01 challenge (the public IP is not on it). */
  tls?: ComposeTls;
}

export interface DbisPlan {
  stack: string;
  names: ReturnType<typeof dbisNames>;
  /** The primary server (also servers[0]). */
  host: HostPlan;
  /** Every server the deployment goes to, primary first: the one list the host steps are declared from. */
  servers: DbisServerPlan[];
  /**
   * The public address that moves between the servers (with a standby only): a reserved IP Lazarus declares (droplets),
   * or the stack file's (existing servers that are droplets).
   */
  appAddress?: { kind: "declared" } | { kind: "existing"; reservedIp: string; dropletIds: { primary: number; standby: number } };
  /** recovery.appFailover: where the reserved IP goes, and the warning its command prints. */
  failover?: { to: "primary" | "standby"; warning: string };
  database: Omit<DbisConfig["database"], "replica">;
  /** The read replica as ManagedPostgres takes it; absent when disabled. */
  replica?: { name: string; size: string; promoted: boolean };
  /** The restore switch as the cluster component takes it (a new cluster beside the live one). */
  databaseRestore: ManagedPostgresArgs["restore"];
  /** Run once before compose up when a restore is cut over: the migrations, against the restored cluster. */
  recoveryChains: { label: string; run: string; steps: { key: string; command: string }[] }[];
  /** The replica promotion's warning (printed by its command); present when recovery.promoteReplica is set. */
  promotion?: { warning: string };
  deployDir: string;
  /** Rendered files that hold no secret, by absolute path on the host. */
  files: Record<string, string>;
  /** The reconciliation API's `Authorization` header, 0600, composed at declare time from the secret token. */
  reconciliationHeaderFile: string;
  /**
   * The pg-backup container's connection and Spaces key, composed at declare time: the libpq service file (the active
   * cluster's host and port; no secret), the 0600 password file and the 0600 s3cmd config.
   */
  backupClient: { serviceFile: string; service: string; database: string; user: string; pgpass: string; s3cfg: string; serverNameFile: string };
  /** Alertmanager's two 0600 secret files (Slack webhook, SMTP password), handed to its user by `prepare`. */
  alertmanagerSecrets: { slackWebhook: string; smtpPassword: string };
  prepare: { command: string; rerunWhenWritten: string[] };
  /** The app's 0600 `.env`, composed at declare time from the active cluster's connection. */
  envFile: { path: string; vars: { NODE_ENV: string; PORT: string } };
  compose: { upCommand: string };
  operations: { id: string; command: string }[];
  buckets: DbisBucketPlan[];
  outputs: { url: string; healthUrl: string };
}

export { DBIS_BUCKET_PREFIXES } from "./backups";

/** A Spaces bucket and its lifecycle rules, as DigitalOcean takes them. */
export interface DbisBucketPlan {
  key: "backups" | "audit";
  name: string;
  region: string;
  /** Protected whatever the stack: the audit exports must survive any stack change (the provider offers no object lock). */
  alwaysProtected: boolean;
  lifecycleRules: { id: string; prefix: string; expirationDays?: number; noncurrentVersionExpirationDays: number }[];
}

/** Ten years are 3653 days at most (three leap days); retention errs long, never short. */
const yearsInDays = (years: number) => Math.ceil(years * 365.25);

/** The runbook's Data Retention as buckets and lifecycle rules. */
function dbisBuckets(b: DbisConfig["backups"]): DbisBucketPlan[] {
  const auditDays = yearsInDays(b.auditRetentionYears);
  return [
    {
      key: "backups",
      name: b.bucket,
      region: b.region,
      alwaysProtected: false,
      lifecycleRules: [
        { id: "expire-database-backups", prefix: DBIS_BUCKET_PREFIXES.database, expirationDays: b.databaseRetentionDays, noncurrentVersionExpirationDays: 7 },
        { id: "expire-app-logs", prefix: DBIS_BUCKET_PREFIXES.appLogs, expirationDays: b.appLogRetentionDays, noncurrentVersionExpirationDays: 7 },
        // "Payment Records: Indefinite (archived after 7 years)": the archive never expires; an overwritten or deleted
        // object's previous version is kept for the audit period.
        { id: "keep-payment-archive", prefix: DBIS_BUCKET_PREFIXES.paymentArchive, noncurrentVersionExpirationDays: auditDays },
      ],
    },
    {
      key: "audit",
      name: b.auditBucket,
      region: b.region,
      alwaysProtected: true,
      // Current and overwritten or deleted versions alike are kept the full retention: a delete cannot shorten it.
      lifecycleRules: [{ id: "expire-audit-exports", prefix: DBIS_BUCKET_PREFIXES.audit, expirationDays: auditDays, noncurrentVersionExpirationDays: auditDays }],
    },
  ];
}

/**
 * The runbook's "Run migrations" between the restore and the restart. The new .env (DATABASE_URL on the restored
 * cluster) is on disk before this step, so a one-off `docker compose run` of the app reads it, while the running app
 * still serves from the live cluster; compose up then recreates the app on the migrated restore. Once per cutover.
 */
function restoreChains(cfg: DbisConfig): DbisPlan["recoveryChains"] {
  const r = cfg.recovery.database;
  if (!r || r.cutover !== true) return [];
  const migrate = `cd ${shq(cfg.app.deployDir)} && ${shellCommand("docker", "compose", "-f", DBIS_FILES.compose, "run", "--rm", "--no-deps", "-T", DBIS_APP_SERVICE, "npm", "run", "migrate")}`;
  return [{ label: `database-restore-${r.label}`, run: `${r.label}:cutover`, steps: [{ key: "migrate", command: migrate }] }];
}

/**
 * An idle standby: the images pulled and the containers created, so a failover only starts them; and stopped, so
 * moving the app back to the primary leaves one running copy.
 */
export function standbyIdleCommand(dir: string): string {
  const compose = (...args: string[]) => shellCommand("docker", "compose", "-f", DBIS_FILES.compose, ...args);
  return ["set -eu", `cd ${shq(dir)}`, compose("pull", "--quiet"), compose("up", "--no-start", "--remove-orphans"), compose("stop")].join("; ");
}

export function planDbis(cfg: DbisConfig, ctx: PlanContext): DbisPlan {
  const { stack } = ctx;
  const names = dbisNames(stack);
  const dir = cfg.app.deployDir;
  const inventory = renderedFrom("app", () => dbisInventory(cfg));
  const hostNeeds = { deployDir: dir, acmeWebroot: HOST_LAYOUT.acmeWebroot };
  const healthUrl = `https://${cfg.app.serverName}${DBIS_ENDPOINTS.health}`;
  const { replica, ...database } = cfg.database;
  const amSecrets = { slackWebhook: `${dir}/${DBIS_ALERTMANAGER_FILES.slackWebhook}`, smtpPassword: `${dir}/${DBIS_ALERTMANAGER_FILES.smtpPassword}` };
  const hostPlan = (role: DbisServerPlan["role"]): HostPlan => ({
    name: role === "primary" ? names.host : names.standby,
    platform: "dbis",
    placement: role === "primary" ? cfg.host : cfg.standby!,
    needs: hostNeeds,
    userData: renderedFrom("app.deployDir", () => renderCloudInit(hostNeeds)),
    publicPorts: [80, 443],
    // One uptime check of the public name, on the primary's droplet: both servers answer for the same name.
    ...(role === "primary" ? { healthUrl } : {}),
    sshKeySecret: "dbisSshPrivateKey",
  });
  const tls = certbotTls({
    certName: names.certName,
    domains: [cfg.app.serverName],
    email: cfg.tls.email,
    acmeServer: cfg.tls.acmeServer,
    composeDir: dir,
    edgeService: DBIS_EDGE_SERVICE,
    restartEdgeCommand: composeServiceCommand({ dir, action: "restart", service: DBIS_EDGE_SERVICE, wait: true }),
  });
  // A changed .env (a cutover, a promotion) re-runs compose up, and Compose recreates the app because its resolved
  // environment changed: the new container reads the new DATABASE_URL (a restart would keep the old one).
  // --watch restarts nginx when nginx.conf changes, Prometheus when its config or rules do.
  const upCommand = composeUpCommand({ dir, scriptsRoot: HOST_LAYOUT.scriptsRoot, watch: projectFileMounts(inventory) });
  const failoverTo = cfg.recovery.appFailover?.to ?? "primary";
  const servers: DbisServerPlan[] = (cfg.standby ? (["primary", "standby"] as const) : (["primary"] as const)).map((role) => {
    const active = role === failoverTo;
    return {
      role,
      host: hostPlan(role),
      prefix: role === "primary" ? names.prefix : names.standby,
      active,
      // The primary always runs compose up: it may be down during a failover, and an unchanged step never connects.
      upCommand: role === "primary" || active ? upCommand : standbyIdleCommand(dir),
      ...(role === "primary" || active ? { tls } : {}),
    };
  });
  const standbyPlacement = cfg.standby;
  return {
    stack,
    names,
    host: servers[0].host,
    servers,
    appAddress: !standbyPlacement
      ? undefined
      : isExistingHost(standbyPlacement)
        ? { kind: "existing", reservedIp: cfg.appAddress!.reservedIp, dropletIds: cfg.appAddress!.dropletIds }
        : { kind: "declared" },
    failover: cfg.recovery.appFailover ? { to: cfg.recovery.appFailover.to, warning: `${names.appFailover} (to the ${cfg.recovery.appFailover.to}): ${APP_FAILOVER_MOVES_TRAFFIC}` } : undefined,
    database,
    replica: replica.enabled ? { name: names.replica, size: replica.size ?? database.size, promoted: cfg.recovery.promoteReplica !== undefined } : undefined,
    databaseRestore: restoreArgs(cfg.recovery.database),
    recoveryChains: restoreChains(cfg),
    promotion: cfg.recovery.promoteReplica ? { warning: `${names.replica}: ${PROMOTION_IS_IRREVERSIBLE}` } : undefined,
    deployDir: dir,
    files: {
      [`${dir}/${DBIS_FILES.compose}`]: renderedFrom("app", () => renderCompose({ name: "dbis", services: inventory, volumes: [...DBIS_VOLUMES] })),
      [`${dir}/${DBIS_FILES.nginxConf}`]: renderedFrom("app.serverName", () => renderNginxConf(dbisNginxInput(cfg, stack))),
      [`${dir}/${DBIS_BACKUP_FILES.crontab}`]: renderedFrom("backups.schedule", () => renderDbisCrontab(cfg)),
      // The operator runbook, generated from this plan's inventory and config (stacks/dbis/runbook.ts).
      [`${dir}/RUNBOOK.md`]: renderedFrom("operations", () => dbisRunbookMarkdown(cfg, stack, inventory)),
      [`${dir}/${DBIS_ALERTMANAGER_FILES.config}`]: renderedFrom("monitoring.alerting", () => renderDbisAlertmanagerConfig(cfg, stack)),
      ...Object.fromEntries(
        Object.entries(renderedFrom("monitoring", () => dbisMonitoringFiles({ stack, appPort: cfg.app.port }))).map(([rel, text]) => [`${dir}/${rel}`, text]),
      ),
    },
    reconciliationHeaderFile: `${dir}/${DBIS_RECONCILIATION_HEADER}`,
    alertmanagerSecrets: amSecrets,
    prepare: {
      // One chown per file, as the host model (and a reader) takes them.
      command: ["set -eu", ...[amSecrets.slackWebhook, amSecrets.smtpPassword].map((f) => shellCommand("chown", renderedFrom("monitoring.alertmanagerImage", () => dbisAlertmanagerSecretsOwner(cfg)), f))].join("; "),
      rerunWhenWritten: [amSecrets.slackWebhook, amSecrets.smtpPassword],
    },
    backupClient: {
      serviceFile: `${dir}/${DBIS_BACKUP_FILES.serviceFile}`,
      service: DBIS_PG_SERVICE,
      database: database.databaseName,
      user: database.userName,
      pgpass: `${dir}/${DBIS_BACKUP_FILES.pgpass}`,
      s3cfg: `${dir}/${DBIS_BACKUP_FILES.s3cfg}`,
      serverNameFile: `${dir}/${DBIS_BACKUP_FILES.serverName}`,
    },
    envFile: { path: `${dir}/${DBIS_FILES.env}`, vars: { NODE_ENV: "production", PORT: String(cfg.app.port) } },
    compose: { upCommand },
    operations: cfg.operations.map((op, i) => ({ id: op.id, command: renderedFrom(`operations[${i}]`, () => operationCommand(op, cfg)) })),
    buckets: dbisBuckets(cfg.backups),
    outputs: { url: `https://${cfg.app.serverName}`, healthUrl },
  };
}

/** The app's DATABASE_URL (lib/connectionUrls.ts: TLS required, every part URL-encoded). */
export { postgresUrl as databaseUrl } from "../../lib/connectionUrls";
