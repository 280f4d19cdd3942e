// GoodGo's full host loss (runbook 001 section 4.6): ONE switch, recovery.host: a new host (or the existing server back
// at its address), the data services first, the newest off-site backup restored and cut over, migrations, reindex,
// flush, the apps. Targets from the runbook's RPO/RTO Summary.
import { isExistingHost } from "../../config/shared";
import { HOUR, MINUTE, type DisasterRecovery } from "../disasterRecovery";
import type { GoodgoConfig } from "./config";
import type { GoodgoPlan } from "./plan";

export const goodgoDisasterRecovery: DisasterRecovery<GoodgoConfig, GoodgoPlan> = {
  loss: "the host and its volumes are gone: recovery.host brings up the data services on a new droplet (or the existing server back at its address), restores the newest off-site backup (pgBackRest to the latest archived WAL when the repository has one, else the newest dump), cuts over, migrates, reindexes, flushes Redis and starts the apps",
  targets: {
    rtoSeconds: 1 * HOUR,
    rpoSeconds: 24 * HOUR,
    rtoByRoute: { localBackup: 15 * MINUTE, offsiteBackup: 30 * MINUTE, fullHost: 1 * HOUR },
    source: "runbook 001 §RPO/RTO Summary: RPO ≤ 24 hours; RTO ≤ 15 minutes from a local backup, ≤ 30 minutes off-site, ≤ 60 minutes full host recovery",
  },
  rebuild(cfg, { stack, label, snapshot }) {
    const existing = isExistingHost(cfg.host);
    if (existing && snapshot) return { problem: "--snapshot: GoodGo runs on an existing server here; a snapshot builds a new droplet (remove --snapshot)" };
    return {
      recovery: { host: { label, backup: "latest", ...(snapshot ? { fromSnapshot: snapshot } : {}) } },
      confirm: { switch: "host", what: "recover-host" },
      refresh: true,
      ...(existing
        ? {
            rerun: {
              namePrefixes: [`goodgo-${stack}-software-`, `goodgo-${stack}-prepare`, `goodgo-${stack}-tls-bootstrap`],
              why: "the server is the same address, so its file writers and prepare would not run again by themselves",
            },
          }
        : {}),
      afterwards: existing
        ? `leave recovery.host (label ${label} and confirm) as it is: each step ran once for this label and no later up runs it again; a new label runs the whole recovery again`
        : "add `done: true` to recovery.host (and remove its `confirm`) and run `pulumi up`: the droplet is protected again and nothing of the chain runs again",
    };
  },
  steps(plan) {
    const chain = plan.recoveryChains.find((c) => c.label.startsWith("recover-host-"));
    const existing = isExistingHost(plan.config.host);
    return [
      existing
        ? { key: "host", title: `the existing server ${plan.host.name} (back at its address): files under ${plan.config.app.deployDir} written again` }
        : { key: "host", title: `new droplet ${plan.host.name}, reserved IP and firewall moved to it, files under ${plan.config.app.deployDir}` },
      ...(chain?.steps ?? []).map((s) => ({ key: s.key, title: (s as { what?: string }).what ?? s.key })),
      { key: "compose-up", title: "compose up --wait: every service" },
      { key: "health", title: `wait until ${plan.outputs.healthUrl} answers 2xx` },
    ];
  },
  healthUrl: (plan) => plan.outputs.healthUrl,
};
