// Bunty's full host loss (runbook 003): no switch; a refreshed `pulumi up` finds the droplet gone and builds a new one
// (every host step is keyed on the droplet's id, so all run again). What the data survives on depends on where
// PostgreSQL runs: a managed cluster is kept; on the host, the database and its local dumps were on the lost disk, and
// what is left is the off-site copy (backups.offsite: the dumps, and the pgBackRest repository with pitr).
import { isExistingHost } from "../../config/shared";
import type { DisasterRecovery } from "../disasterRecovery";
import type { BuntyConfig } from "./config";
import type { BuntyPlan } from "./plan";

export const buntyDisasterRecovery: DisasterRecovery<BuntyConfig, BuntyPlan> = {
  loss: "the droplet is gone: a refreshed up builds a new one and deploys nginx, Redis, PM2 and the app again; a managed PostgreSQL cluster is kept, PostgreSQL on the host comes back EMPTY (its local dumps were on the lost disk; the off-site copy in backups.offsite is what is left)",
  targets: { source: "runbook 003 (Bunty): none stated" },
  rebuild(cfg) {
    if (isExistingHost(cfg.host)) {
      return { manual: "Bunty runs on an existing server Lazarus did not create: have the server back at the same address, then `pulumi up --replace` the platform's file writers and setup steps: they are keyed on the address and a refresh does not see them gone (what `lazarus dr rebuild` does for GoodGo; not automated for Bunty yet)" };
    }
    return {
      recovery: {},
      refresh: true,
      afterwards:
        cfg.postgres.where === "host"
          ? cfg.backups.offsite
            ? `nothing to undo (no switch was set); the database on the new host is empty: fetch the newest dump from s3://${cfg.backups.offsite.bucket}/${cfg.backups.offsite.prefix} into /var/backups/bunty (s3cmd get) and restore it with recovery.hostDatabase (beside the live one, then swapIn)`
            : "nothing to undo (no switch was set); the database on the new host is empty and no off-site copy is configured (backups.offsite): restore a copy of /var/backups/bunty kept elsewhere with recovery.hostDatabase"
          : "nothing to undo (no switch was set)",
    };
  },
  steps: (plan) => [
    { key: "droplet", title: `new droplet ${plan.host.name} (the refresh found the old one gone), reserved IP and firewall moved to it` },
    { key: "host-setup", title: "deploy user, PM2, pm2-logrotate, Redis, nginx" },
    ...(plan.postgres.where === "host" ? [{ key: "postgres", title: "PostgreSQL on the host (an EMPTY database: its local dumps were on the lost disk)" }] : []),
    { key: "app", title: `${plan.app.name}: .env and ecosystem written, started under PM2` },
    { key: "certificate", title: "TLS certificate issued again, nginx restarted" },
    { key: "health", title: `wait until ${plan.outputs.healthUrl} answers 2xx` },
  ],
  healthUrl: (plan) => plan.outputs.healthUrl,
};
