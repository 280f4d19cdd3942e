// The recovery targets a drill is measured against. They are kept once, in each platform's
// stacks/<platform>/disasterRecovery.ts (the runbook's words and section beside the numbers); this reads them from the
// registry so the drill, the bench and `lazarus dr` report against the same values.
import { PLATFORMS } from "../../stacks/registry";
import type { RecoveryRoute, RecoveryTargets } from "../../stacks/disasterRecovery";

export type { RecoveryRoute, RecoveryTargets };

/** The platform's targets, or undefined when it has no disaster-recovery facts. */
export function recoveryTargets(platform: string): RecoveryTargets | undefined {
  return PLATFORMS.find((p) => p.name === platform)?.disasterRecovery?.targets;
}

/** The RTO target for the route a recovery took: the runbook's per-route figure, else its full-loss RTO. */
export function rtoTarget(targets: RecoveryTargets, route: RecoveryRoute): number | undefined {
  return targets.rtoByRoute?.[route] ?? targets.rtoSeconds;
}
