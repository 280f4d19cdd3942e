// DBIS's full host loss (runbook 004): no switch; a refreshed `pulumi up` finds the droplet gone and builds a new one
// (every host step is keyed on the droplet's id). The database is a managed cluster (with its replica) and is kept;
// the backups and audit exports are in buckets.
import { isExistingHost } from "../../config/shared";
import type { DisasterRecovery } from "../disasterRecovery";
import type { DbisConfig } from "./config";
import type { DbisPlan } from "./plan";

export const dbisDisasterRecovery: DisasterRecovery<DbisConfig, DbisPlan> = {
  loss: "the droplet is gone: a refreshed up builds a new one and deploys the compose project again; the managed PostgreSQL cluster (and replica) and the backup and audit buckets are not on the host and are kept",
  targets: { source: "runbook 004 (DBIS): none stated" },
  rebuild(cfg) {
    if (isExistingHost(cfg.host)) {
      return { manual: "DBIS runs on an existing server Lazarus did not create: have the server back at the same address, then `pulumi up --replace` the platform's file writers and setup steps: they are keyed on the address and a refresh does not see them gone (what `lazarus dr rebuild` does for GoodGo; not automated for DBIS yet)" };
    }
    return {
      recovery: {},
      refresh: true,
      afterwards: cfg.standby
        ? "nothing to undo (no switch was set); faster than a rebuild while the primary is gone: recovery.appFailover {to: standby} moves the app to the standby server (runbook 004, Application Failover)"
        : "nothing to undo (no switch was set)",
    };
  },
  steps: (plan) => [
    { key: "droplet", title: `new droplet ${plan.host.name} (the refresh found the old one gone), reserved IP and firewall moved to it` },
    { key: "host-software", title: `files under ${plan.deployDir} (.env with the managed connection), compose up --wait` },
    { key: "health", title: `wait until ${plan.outputs.healthUrl} answers 2xx` },
  ],
  healthUrl: (plan) => plan.outputs.healthUrl,
};
