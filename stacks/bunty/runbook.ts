// The Bunty operator runbook (Markdown), generated from the stack's config with the generic renderer
// (renderers/runbookDoc.ts) and shipped to the host as /etc/bunty/RUNBOOK.md (outside the release directory, which a
// rollback swaps). Every operation and switch snippet is parsed with Bunty's own schema before it is printed, so the
// document cannot show an entry the stack would refuse; the confirmation values are the ones `check` demands.
import { stringify } from "yaml";
import { confirmationToken, isProtectedStack } from "../../config/checks";
import { isExistingHost } from "../../config/shared";
import { refuseField } from "../../renderers/renderInputError";
import { renderRunbook, type RunbookIncident, type RunbookModel, type RunbookSwitch } from "../../renderers/runbookDoc";
import { buntySchema, type BuntyConfig } from "./config";
import { BUNTY_DEPLOY_USER, BUNTY_PATHS, buntyNames } from "./plan";

const RENDERER = "runbook";

interface OperationDoc {
  section: string;
  title: string;
  does: string;
  example: Record<string, unknown>;
  /** The confirmation's `what` on protected stacks. */
  confirm?: string;
}

export function buntyRunbookModel(cfg: BuntyConfig, stack: string, idPrefix = "yyyymmdd"): RunbookModel {
  const names = buntyNames(stack);
  const protectedStack = isProtectedStack(stack);
  const token = (what: string) => confirmationToken(stack, "bunty", what);
  const file = `Pulumi.${stack}.yaml`;
  const pulumi = [`pulumi preview --stack ${stack}   # shows the command that will run`, `pulumi up --stack ${stack}`].join("\n");
  const snippet = (bunty: Record<string, unknown>) => [`# ${file}`, stringify({ config: { "lazarus:bunty": bunty } }, { lineWidth: 0 }).trimEnd()].join("\n");
  const app = cfg.app.name;
  const env = `${cfg.app.dir}/.env`;

  const operations: OperationDoc[] = [
    { section: "P0 step 4, P1", title: "restart the backend", does: `\`pm2 restart ${app} --update-env\` as ${BUNTY_DEPLOY_USER}, then \`pm2 jlist\` until it is online.`, example: { action: "restart" } },
    { section: "P0 step 5, Emergency Rollback", title: "roll back to the previous release", does: `swaps \`${cfg.app.dir}\` with \`${cfg.app.dir}-previous\` (the broken release is kept; a second rollback rolls forward), the live .env carried over, then restarts the app.`, example: { action: "rollback" }, confirm: "rollback" },
    { section: "Emergency Shutdown", title: "stop the backend behind the maintenance page", does: `\`pm2 stop ${app}\` and \`pm2 save\`; nginx keeps running and answers every request with the maintenance page (503). \`start\` brings the app back.`, example: { action: "emergency-shutdown" }, confirm: "emergency-shutdown" },
    { section: "Emergency Shutdown", title: "start the backend again", does: "`pm2 startOrReload` from the ecosystem file, `pm2 save`.", example: { action: "start" } },
    { section: "P1 Database Connection Issues", title: "terminate a query by pid", does: "`pg_terminate_backend(pid)` for a session of the app's database only; its open transaction rolls back. Find the pid with the runbook's long-running-queries query.", example: { action: "terminate-query", pid: 12345 }, confirm: "terminate-query" },
    { section: "P2 Slow Response Times", title: "clear the cache", does: "FLUSHDB of the app's Redis database: every cached value, session and rate-limit counter there is gone (users may have to log in again).", example: { action: "flush-cache" }, confirm: "flush-cache" },
    { section: "Optimizing Database", title: "ANALYZE", does: "`ANALYZE` on the app's database.", example: { action: "analyze" } },
    { section: "Optimizing Database", title: "VACUUM ANALYZE", does: "`VACUUM ANALYZE` on the app's database.", example: { action: "vacuum-analyze" } },
    { section: "Optimizing Database", title: "REINDEX", does: "`REINDEX DATABASE` of the app's database; each table is locked against writes while its indexes are rebuilt.", example: { action: "reindex" }, confirm: "reindex" },
    { section: "Creating Database Backup", title: "back up now", does: `\`pg-backup.sh\` into \`${BUNTY_PATHS.backupDir}\` (checksummed, \`latest\`).`, example: { action: "backup-now" } },
    { section: "Running Migrations", title: "run a migration after a backup", does: "a backup first (no backup, no migration), then the file in one transaction with ON_ERROR_STOP (a failing migration changes nothing).", example: { action: "migrate", file: `${cfg.app.dir}/migrations/001.sql` } },
    { section: "Renewing SSL Certificate", title: "force a certificate renewal", does: "`certbot renew --force-renewal`, then one nginx restart.", example: { action: "renew-certificate" } },
  ];
  const entry = (op: OperationDoc) => {
    const action = String(op.example.action);
    const full = { id: `${idPrefix}-${action}`, ...op.example, ...(op.confirm && protectedStack ? { confirm: token(op.confirm) } : {}) };
    const parsed = buntySchema.shape.operations.safeParse([full]);
    if (!parsed.success) refuseField(RENDERER, `operation ${action}`, parsed.error.issues.map((i) => i.message).join("; "));
    return full;
  };
  const opSwitches: RunbookSwitch[] = operations.map((op) => ({
    name: String(op.example.action),
    title: op.title,
    section: op.section,
    does: op.does,
    ...(op.confirm && protectedStack ? { confirm: token(op.confirm) } : {}),
    stackConfig: snippet({ operations: [entry(op)] }),
    commands: pulumi,
  }));

  const recovery: RunbookSwitch[] = [];
  if (cfg.postgres.where === "managed") {
    const restore = { label: `${idPrefix}`, pointInTime: "2026-12-01T02:00:00Z" };
    recovery.push(
      { name: "recovery.database", title: "restore the database beside the live cluster", section: "Data Recovery", does: `a new cluster \`${names.database}-restore-<label>\` from the live cluster's backup at \`pointInTime\` (latest when absent), protected, behind the same firewall; the app stays on the live cluster.`, stackConfig: snippet({ recovery: { database: restore } }), commands: pulumi },
      { name: "recovery.database.cutover", title: "move the app to the restored cluster", section: "Data Recovery", does: "rewrites the .env's DATABASE_URL to the restored cluster; PM2 reloads the app with it. Verify first (`psql ... -c \"SELECT count(*) FROM users;\"` on the restored cluster).", ...(protectedStack ? { confirm: token("database-cutover") } : {}), stackConfig: snippet({ recovery: { database: { ...restore, cutover: true, ...(protectedStack ? { confirm: token("database-cutover") } : {}) } } }), commands: pulumi },
    );
  }
  if (cfg.postgres.where === "host") {
    const swapIn = `${cfg.postgres.databaseName}_restore_20261201021500`;
    recovery.push(
      { name: "recovery.hostDatabase", title: "restore a backup beside the live database", section: "Data Recovery", does: `\`pg-restore.sh\` of \`${BUNTY_PATHS.backupDir}/<backup>\` (default \`latest\`) into a new database \`${cfg.postgres.databaseName}_restore_<timestamp>\`, as the app's role; its name is in the step's result. The live database is untouched.`, stackConfig: snippet({ recovery: { hostDatabase: { label: idPrefix, backup: "latest" } } }), commands: pulumi },
      { name: "recovery.hostDatabase.swapIn", title: "swap the restored database in", section: "Data Recovery", does: "the restored database takes the live name in one transaction (the app's sessions end; the old database stays as `<db>_pre_restore_<timestamp>`), then the app restarts. Verify the restored database first.", ...(protectedStack ? { confirm: token("database-cutover") } : {}), stackConfig: snippet({ recovery: { hostDatabase: { label: idPrefix, backup: "latest", swapIn, ...(protectedStack ? { confirm: token("database-cutover") } : {}) } } }), commands: pulumi },
    );
  }
  // Rotating the JWT secret logs every user out: a new generation, the secret's fingerprint, and on prod its token.
  const nextJwt = cfg.rotateJwt.generation + 1;
  const jwtExample = { generation: nextJwt, secretSha256: "3f9a0c1b2d4e5f60", ...(protectedStack ? { confirm: token(`rotate-jwt-${nextJwt}`) } : {}) };
  if (!buntySchema.shape.rotateJwt.safeParse(jwtExample).success) refuseField(RENDERER, "rotateJwt", "the example does not parse");
  recovery.push({
    name: "rotateJwt",
    title: "rotate the JWT secret (logs every user out)",
    section: "Rotating API Keys",
    does: `set the new secret (\`openssl rand -base64 64 | tr -d '\\n' | pulumi config set --secret --stack ${stack} buntyJwtSecret\`), then write the next generation with the secret's fingerprint (\`printf '%s' "${nextJwt}:$(pulumi config get --stack ${stack} buntyJwtSecret)" | sha256sum | cut -c1-16\`; \`pulumi preview\` prints it too). The .env is rewritten, PM2 reloads the app, every session signed with the old secret is invalid, and \`${BUNTY_PATHS.jwtGeneration}\` records the generation. A secret changed without a new generation is refused at preview.`,
    ...(protectedStack ? { confirm: token(`rotate-jwt-${nextJwt}`) } : {}),
    stackConfig: snippet({ rotateJwt: jwtExample }),
    commands: pulumi,
  });
  if (!isExistingHost(cfg.host)) {
    const bigger = "s-4vcpu-8gb";
    recovery.push({
      name: "host.size",
      title: "resize the droplet (vertical scaling)",
      section: "Vertical Scaling",
      does: "shuts the droplet down gracefully, resizes CPU and memory (not the disk) and boots it; PM2 resurrects the app. A minute or two of downtime.",
      ...(protectedStack ? { confirm: token(`resize-to-${bigger}`) } : {}),
      stackConfig: snippet({ host: { size: bigger, ...(protectedStack ? { resizeConfirm: token(`resize-to-${bigger}`) } : {}) } }),
      commands: pulumi,
    });
    const count = cfg.scaleOut ? cfg.scaleOut.count + 1 : 2;
    const shared = cfg.postgres.where === "managed" && cfg.redis.where === "managed";
    recovery.push({
      name: "scaleOut",
      title: "add droplets behind a load balancer (horizontal scaling)",
      section: "Horizontal Scaling",
      does: `${count} droplet(s) from a snapshot of the app host (\`fromSnapshot\`: an id, or a snapshot name) behind a load balancer with a DigitalOcean-managed Let's Encrypt certificate (DigitalOcean must host the DNS of ${cfg.domains.api}; point it at the output \`balancerIp\`). Every droplet gets the same files, .env, PM2 and nginx; restart, start, rollback and emergency-shutdown run on every droplet, the data operations once. ${shared ? "" : "Needs PostgreSQL and Redis off the host first (`postgres: {where: managed, ...}`, `redis: {where: managed, ...}`): the plan refuses it otherwise."}`.trim(),
      ...(protectedStack ? { confirm: token(`scale-out-${count}`) } : {}),
      stackConfig: snippet({ scaleOut: { count, fromSnapshot: "187654321", ...(protectedStack ? { confirm: token(`scale-out-${count}`) } : {}) } }),
      commands: pulumi,
    });
  }

  const op = (action: string) => `operation \`${action}\` (below)`;
  const incidents: RunbookIncident[] = [
    { section: "P0", title: "Complete Service Outage", symptoms: `${cfg.healthUrl} returns 5xx, users cannot reach the app, several alerts firing.`, steps: [
      { text: `On the host (\`ssh ${BUNTY_DEPLOY_USER}@<ip>\`): \`pm2 status\`, \`pm2 logs ${app} --err --lines 50\`, \`df -h\`, \`free -h\`.` },
      { text: `Restart: ${op("restart")}.` },
      { text: `After a recent deployment: ${op("rollback")}.` },
      { text: `To take the app offline behind the maintenance page: ${op("emergency-shutdown")}.` },
    ] },
    { section: "P1", title: "Database Connection Issues", symptoms: "connection errors in the logs, queries timing out, pool exhausted.", steps: [
      { text: "`psql \"$DATABASE_URL\"` on the host (the URL is in the app's .env): `SELECT count(*), state FROM pg_stat_activity GROUP BY state;` and the long-running queries." },
      { text: `End one: ${op("terminate-query")} with its pid.` },
      { text: `Then ${op("restart")}.` },
    ] },
    { section: "P1", title: "High Memory Usage", symptoms: "the host unresponsive, OOM errors, slow responses.", steps: [
      { text: `\`pm2 list\`, \`ps aux --sort=-%mem | head\`; PM2 restarts the app itself above ${cfg.app.maxMemory} (max_memory_restart).` },
      { text: `${op("restart")}; if it keeps growing, resize (\`host.size\`, below).` },
    ] },
    { section: "P1", title: "External API Failures", symptoms: "Plaid, Stripe or Sila calls failing.", steps: [
      { text: "Turn the feature off: the flag is rendered into the .env (never appended), and the .env's new content reloads the app.", stackConfig: snippet({ app: { featureFlags: { PLAID_ENABLED: false } } }) },
      { text: "A rotated key: `pulumi config set --secret --stack " + stack + " buntyPlaidSecret ...` (or the Stripe/Sila secret), then `pulumi up`: the .env is rewritten and the app reloaded." },
    ] },
    { section: "P2", title: "Slow Response Times", symptoms: `responses over ${cfg.latencyAlertMs} ms (the uptime check's latency alert).`, steps: [
      { text: "Slow queries: `SELECT query, mean_exec_time, calls FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 10;`." },
      { text: `Statistics: ${op("analyze")} or ${op("vacuum-analyze")}.` },
      { text: `Cache: ${op("flush-cache")}.` },
    ] },
  ];

  const offsite = cfg.backups.offsite;
  const db = cfg.postgres.where === "managed" ? `the managed cluster \`${names.database}\` (database \`${cfg.postgres.cluster.databaseName}\`)` : `PostgreSQL on the host (database \`${cfg.postgres.databaseName}\`)`;
  return {
    platform: "Bunty",
    stack,
    configKey: "lazarus:bunty",
    source: "runbook 003 (Bunty ZKP Platform, Operations Runbook)",
    summary: `One host serves \`https://${cfg.domains.api}\` (health: ${cfg.healthUrl}): nginx with certbot TLS in front of \`${app}\`, run by PM2 as \`${BUNTY_DEPLOY_USER}\` from \`${cfg.app.dir}\`. PostgreSQL: ${db}. ${cfg.redis.where === "host" ? "Redis on the host, loopback only." : `Redis: the managed Valkey cluster \`${names.prefix}-cache\` (TLS).`}${cfg.scaleOut ? ` Scaled out: ${cfg.scaleOut.count} more droplet(s) from snapshot ${cfg.scaleOut.fromSnapshot} behind the load balancer \`${names.prefix}-lb\`, which terminates TLS.` : ""}`,
    processes: [
      { name: "nginx", managedBy: "systemd unit `nginx`", details: `${BUNTY_PATHS.nginxConf}; certificate \`${names.certName}\` (renewals restart nginx); serves ${BUNTY_PATHS.maintenanceRoot}/${BUNTY_PATHS.maintenancePage} with 503 while the app does not answer` },
      { name: app, managedBy: `PM2 as ${BUNTY_DEPLOY_USER} (unit \`pm2-${BUNTY_DEPLOY_USER}\` resurrects it at boot)`, details: `${BUNTY_PATHS.ecosystem}; ${cfg.app.instances} instance(s) on port ${cfg.app.port}; .env ${env} (0600); logs rotated by pm2-logrotate at ${cfg.pm2.logrotate.maxSize}, ${cfg.pm2.logrotate.retain} kept, compress ${cfg.pm2.logrotate.compress}` },
      { name: "redis-server", managedBy: "systemd unit `redis-server`", details: `${BUNTY_PATHS.redisConf}; password only as a hash in ${BUNTY_PATHS.redisAcl}; \`redis-cli\` reads it from REDISCLI_AUTH` },
      { name: "backups", managedBy: "systemd timers `bunty-backup`, `bunty-backup-verify`", details: `daily ${cfg.backups.dailyAt} UTC into ${BUNTY_PATHS.backupDir} (${cfg.backups.retentionDays} days, and ${BUNTY_PATHS.plainBackup})${offsite ? `, each copied with its checksum to s3://${offsite.bucket}/${offsite.prefix} (expired after ${offsite.lifecycleDays} days)` : ", no off-site copy (backups.offsite)"}; verification ${cfg.backups.verifyOn} ${cfg.backups.verifyAt} UTC${offsite && cfg.postgres.where === "host" ? `; pgBackRest's repository (WAL, full and differential backups) encrypted in s3://${offsite.bucket}${offsite.pitrPath}` : ""}` },
    ],
    notes: [
      { title: "Backups", bullets: [
        `\`systemctl list-timers 'bunty-backup*'\`; results in \`journalctl -u bunty-backup -u bunty-backup-verify\` (one JSON line per run; a failed off-site upload fails the run with 75, the local backup kept).`,
        ...(offsite ? [`Off-site copies: \`s3cmd -c ${BUNTY_PATHS.s3cfg} --host=${offsite.region}.digitaloceanspaces.com --host-bucket=${offsite.bucket}.${offsite.region}.digitaloceanspaces.com ls s3://${offsite.bucket}/${offsite.prefix}\`; fetch one with \`get\` and check it against its \`.sha256\` before restoring.`] : []),
        `The runbook's Data Recovery file is \`${BUNTY_PATHS.backupDir}/${BUNTY_PATHS.plainBackup}\` (plain SQL): restore it into a new database beside the live one (\`createdb\`, then \`gunzip < ... | psql\` into that database), verify it, then switch; never over the live database. \`scripts/backup/pg-restore.sh\` does the same with the custom-format \`latest\` and swaps names in one transaction.`,
      ] },
    ],
    howTo: [
      `Add the entry to \`${file}\` under \`config:\` → \`lazarus:bunty:\` (\`operations:\` is a list: append to it).`,
      "Open a pull request: the offline plan in CI shows the command that will run.",
      `After review: \`pulumi preview --stack ${stack}\`, then \`pulumi up --stack ${stack}\`. Each operation runs once, by its \`id\`; a new id runs it again (the examples use \`${idPrefix}-...\`: put the day's date there).`,
      ...(protectedStack ? [`On \`${stack}\`, destructive entries carry a \`confirm\` value (shown in the examples); the plan refuses them without it and names the value.`] : []),
    ],
    switchGroups: [
      { title: "Operations (`operations:`)", switches: opSwitches },
      ...(recovery.length ? [{ title: "Recovery and scaling switches", switches: recovery }] : []),
    ],
    recoveryProcedures: [],
    incidentsTitle: "Incidents (the runbook's Incident Response)",
    incidents,
  };
}

export function buntyRunbookMarkdown(cfg: BuntyConfig, stack: string): string {
  return renderRunbook(buntyRunbookModel(cfg, stack));
}
