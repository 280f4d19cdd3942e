// The command lines DBIS's runbook operations run on the host ("Common Operations"). Pure: config in, shell text out.
// No secret is ever in a command: the reconciliation API's bearer token is in a 0600 header file shipped over SSH
// stdin (curl -H @file), DATABASE_URL in the app's 0600 .env.
import { shellCommand, shq } from "../../lib/shell";
import type { DbisConfig, DbisOperation } from "./config";
import { DBIS_APP_SERVICE, DBIS_ENDPOINTS, DBIS_FILES } from "./inventory";
import { composeServiceCommand } from "../../lib/opsCommands";
import { DBIS_BACKUP_SERVICE, dbisBackupCommands } from "./backups";

/** The 0600 file holding `Authorization: Bearer <token>` for the reconciliation API, relative to the deploy directory. */
export const DBIS_RECONCILIATION_HEADER = "secrets/reconciliation.header";

const local = (cfg: DbisConfig, path: string) => `http://127.0.0.1:${cfg.app.port}${path}`;

/** `cd DIR && docker compose ARGS...`, every word quoted. */
function compose(cfg: DbisConfig, ...args: string[]): string {
  return `cd ${shq(cfg.app.deployDir)} && ${shellCommand("docker", "compose", "-f", DBIS_FILES.compose, ...args)}`;
}

/** A GET of the app's API with the reconciliation token from its header file; fails on an HTTP error. */
function authorizedGet(cfg: DbisConfig, pathAndQuery: string): string {
  return shellCommand("curl", "-fsS", "-H", `@${cfg.app.deployDir}/${DBIS_RECONCILIATION_HEADER}`, local(cfg, pathAndQuery));
}

export function operationCommand(op: DbisOperation, cfg: DbisConfig): string {
  const dir = cfg.app.deployDir;
  switch (op.action) {
    case "restart-app":
      return composeServiceCommand({ dir, action: "restart", service: DBIS_APP_SERVICE, wait: true });
    // "Check System Status": health, metrics, and the database through the app (its /health reports the database).
    case "check-status":
      return [
        "set -eu",
        shellCommand("curl", "-fsS", local(cfg, DBIS_ENDPOINTS.health)),
        `${shellCommand("curl", "-fsS", local(cfg, DBIS_ENDPOINTS.metrics))} | grep -E '^(payments_|tls_|db_pool_|health_check_status|reconciliation_)' || true`,
      ].join("; ");
    // "Run Reconciliation": the daily report for a date, or the items aging more than N days.
    case "reconcile-daily":
      return authorizedGet(cfg, `${DBIS_ENDPOINTS.api}/payments/reconciliation/daily?date=${op.date}`);
    case "reconcile-aging":
      return authorizedGet(cfg, `${DBIS_ENDPOINTS.api}/payments/reconciliation/aging?days=${op.days}`);
    // "Database Operations", inside the running app container (its image has npm and the migrations).
    case "migrate":
      return compose(cfg, "exec", "-T", DBIS_APP_SERVICE, "npm", "run", "migrate");
    case "migrate-rollback":
      return compose(cfg, "exec", "-T", DBIS_APP_SERVICE, "npm", "run", "migrate:rollback");
    case "seed-operators":
      return compose(cfg, "exec", "-T", DBIS_APP_SERVICE, "npm", "run", "seed");
    // "Daily Backups", now: the scheduled jobs' own commands in the pg-backup container (its environment and files),
    // through the image's bash as GoodGo's do (the scripts come from the read-only scripts mount).
    case "backup-now":
      return compose(cfg, "exec", "-T", DBIS_BACKUP_SERVICE, "bash", ...dbisBackupCommands(cfg).database);
    case "audit-export-now":
      return compose(cfg, "exec", "-T", DBIS_BACKUP_SERVICE, "bash", ...dbisBackupCommands(cfg).auditExport(op.day));
  }
}
