// Waqiti's full loss (runbook 002, "Complete System Recovery from Backup"): a new cluster; recovery.fullSystem declares
// every stage in order (namespace → policies → RBAC → secrets → config → PostgreSQL and Redis restored from the newest
// backups → applications). Targets from the runbook's Production SLA Targets.
import { HOUR, type DisasterRecovery } from "../disasterRecovery";
import type { WaqitiConfig } from "./config";
import { WAQITI_STAGES } from "./manifests";
import type { WaqitiPlan } from "./plan";

export const waqitiDisasterRecovery: DisasterRecovery<WaqitiConfig, WaqitiPlan> = {
  loss: "the cluster is gone: point lazarus:environment.kubernetes.context at the new cluster first; recovery.fullSystem then declares every stage in order, PostgreSQL restored by a Job and Redis by its init container before the applications start",
  targets: { rtoSeconds: 4 * HOUR, rpoSeconds: 1 * HOUR, source: "runbook 002 §Production SLA Targets: RTO 4 hours, RPO 1 hour" },
  rebuild: (_cfg, { label }) => ({
    recovery: { fullSystem: { label, postgresBackup: "latest", redisBackup: "latest" } },
    confirm: { switch: "fullSystem", what: "full-system-recovery" },
    refresh: true,
    afterwards: `leave recovery.fullSystem (label ${label}) in place: its restore Jobs are one-shot for this label and no later up runs them again; then run the \`verify\` operation`,
  }),
  steps(plan) {
    const used = new Set(plan.manifests.map((m) => m.stage));
    return [
      ...WAQITI_STAGES.filter((s) => s !== "cutover" && s !== "operations" && used.has(s)).map((stage) => ({
        key: stage,
        title: `stage ${stage}: ${plan.manifests.filter((m) => m.stage === stage).map((m) => `${m.kind} ${m.manifest.metadata.name}`).join(", ")}`,
      })),
      { key: "health", title: "every Deployment ready (the engine waits for readiness)" },
    ];
  },
  healthUrl: () => undefined,
};
