// Waqiti's plan: every manifest, the dependency graph its NetworkPolicies come from, the backup schedule's worst-case
// data loss, and what each recovery switch and operation does, computed from the stack config alone and checked
// before any resource exists. `declare.ts` only turns it into resources.
import { Cron } from "croner";
import { isProtectedStack } from "../../config/checks";
import { renderedFrom } from "../../config/planInput";
import { RenderInputError } from "../../renderers/renderInputError";
import type { PlanContext } from "../platform";
import { WAQITI_VAULT_FIELDS, type WaqitiConfig } from "./config";
import { waqitiManifests, type PlannedManifest } from "./manifests";
import { waqitiRunbookMarkdown } from "./runbook";
import type { WaqitiGraph } from "./services";
import { waqitiArchiveTimeoutSeconds, waqitiPitrImage, waqitiPitrSchedules, waqitiStanza } from "./pitr";

export interface WaqitiPlan {
  stack: string;
  namespace: string;
  /** Protect stateful objects (namespace, StatefulSets): always on protected stacks. */
  protect: boolean;
  graph: WaqitiGraph;
  /** Secrets read from Vault at `pulumi up` (the seed's commands), by secret name; absent: all from Pulumi config. */
  vault?: { reads: Record<string, { command: string }>; refreshedAt?: string };
  manifests: PlannedManifest[];
  /** The generated operator runbook (also in the namespace as ConfigMap waqiti-runbook). */
  runbook: string;
  backups: { schedule: string; worstCaseDataLossMinutes: number; rpoMinutes: number };
  /** backups.pitr: WAL archiving (the image to build and push, its Dockerfile, the archive bound, the schedule). */
  pitr?: { image: string; dockerfile: string; bucket: string; stanza: string; archiveTimeoutSeconds: number; rpoSeconds: number; schedules: { type: "full" | "diff"; schedule: string }[] };
  outputs: { namespace: string; apiUrl: string; backupBucket: string; activeDatabase: string };
}

/**
 * The longest interval between two consecutive runs of a 5-field cron schedule (UTC), in minutes, over 8 days (which
 * covers every weekly pattern's turn of the week); undefined when the expression is not a Kubernetes cron schedule.
 */
export function longestCronGapMinutes(schedule: string): number | undefined {
  if (schedule.trim().split(/\s+/).length !== 5 || schedule.startsWith("@")) return undefined;
  let cron: Cron;
  try {
    cron = new Cron(schedule, { timezone: "Etc/UTC", legacyMode: true, paused: true });
  } catch {
    return undefined;
  }
  const start = new Date(Date.UTC(2026, 0, 5, 0, 0, 0));
  const end = start.getTime() + 8 * 24 * 60 * 60 * 1000;
  let prev = cron.nextRun(start);
  if (!prev) return undefined;
  let longest = 0;
  while (prev.getTime() < end) {
    const next = cron.nextRun(prev);
    if (!next) return undefined;
    longest = Math.max(longest, (next.getTime() - prev.getTime()) / 60000);
    prev = next;
  }
  return longest;
}

/** Data at risk is the gap between two backups plus how long the later one may take: both must fit in the RPO. */
function checkedBackupSchedule(b: WaqitiConfig["backups"]): WaqitiPlan["backups"] {
  const gap = renderedFrom("backups.schedule", () => {
    const g = longestCronGapMinutes(b.schedule);
    if (g === undefined) throw new RenderInputError("backup schedule", [`${JSON.stringify(b.schedule)} is not a 5-field cron schedule (example: "*/30 * * * *")`]);
    return g;
  });
  const worst = gap + b.deadlineMinutes;
  renderedFrom("backups.schedule", () => {
    if (worst > b.rpoMinutes) {
      throw new RenderInputError("backup schedule", [
        `${JSON.stringify(b.schedule)} runs up to ${gap} minutes apart and a run may take ${b.deadlineMinutes} (backups.deadlineMinutes): up to ${worst} minutes of data at risk, more than the RPO of ${b.rpoMinutes} (example: "*/30 * * * *" with deadlineMinutes 25)`,
      ]);
    }
  });
  return { schedule: b.schedule, worstCaseDataLossMinutes: worst, rpoMinutes: b.rpoMinutes };
}

export function planWaqiti(cfg: WaqitiConfig, ctx: PlanContext): WaqitiPlan {
  const backups = checkedBackupSchedule(cfg.backups);
  const p = cfg.backups.pitr;
  // pgBackRest's image is built FROM postgres.image: a base whose Debian release is unknown is refused here, by key.
  const image = p ? renderedFrom("postgres.image", () => waqitiPitrImage(cfg)) : undefined;
  const { graph, manifests } = waqitiManifests({ config: cfg, stack: ctx.stack });
  const active = cfg.recovery.database?.cutover ? cfg.recovery.database.label : "live";
  const pitr = p
    ? { ...image!, bucket: p.bucket, stanza: waqitiStanza(active), archiveTimeoutSeconds: waqitiArchiveTimeoutSeconds(p), rpoSeconds: p.rpoSeconds, schedules: waqitiPitrSchedules(p) }
    : undefined;
  const runbook = renderedFrom("operations", () => waqitiRunbookMarkdown(cfg, ctx.stack, graph, backups.worstCaseDataLossMinutes));
  manifests.push({
    kind: "ConfigMap",
    stage: "apps",
    manifest: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "waqiti-runbook", namespace: cfg.namespace.name, labels: { "app.kubernetes.io/part-of": "waqiti", "app.kubernetes.io/managed-by": "lazarus" } }, data: { "RUNBOOK.md": runbook } },
  });
  return {
    runbook,
    stack: ctx.stack,
    namespace: cfg.namespace.name,
    protect: isProtectedStack(ctx.stack) || ctx.environment.protect,
    graph,
    ...(cfg.vault
      ? {
          vault: {
            reads: Object.fromEntries(Object.entries(WAQITI_VAULT_FIELDS).map(([name, f]) => [name, { command: `vault kv get -field=${f!.field} ${f!.path}` }])),
            ...(cfg.vault.refreshedAt ? { refreshedAt: cfg.vault.refreshedAt } : {}),
          },
        }
      : {}),
    manifests,
    backups,
    ...(pitr ? { pitr } : {}),
    outputs: {
      namespace: cfg.namespace.name,
      apiUrl: `https://${cfg.ingress.host}`,
      backupBucket: `s3://${cfg.backups.bucket}/`,
      activeDatabase: cfg.recovery.database?.cutover ? `postgres-${cfg.recovery.database.label}` : "postgres",
    },
  };
}
