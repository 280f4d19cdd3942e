// The recovery targets the runbooks state, kept here once: the drill (lib/dr/drill.ts) reports its measurements against
// them, the bench prints them. Only what a runbook says; a platform without stated targets has no entry.
// (When stacks/<platform>/disasterRecovery.ts exists, these move there and this file re-exports them.)

/** A platform's recovery targets, in seconds, with the runbook section they come from. */
export interface RecoveryTargets {
  platform: string;
  rpoSeconds: number;
  /** RTO by recovery route: restoring a local backup, an off-site one, or rebuilding the whole host. */
  rtoSeconds: { localBackup: number; offsiteBackup: number; fullHost: number };
  source: string;
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;

/** Runbook 001 (GoodGo), "RPO/RTO Summary": RPO ≤ 24 h; RTO ≤ 15 min local backup, ≤ 30 min off-site, ≤ 60 min full host. */
export const GOODGO_RECOVERY_TARGETS: RecoveryTargets = {
  platform: "goodgo",
  rpoSeconds: 24 * HOUR,
  rtoSeconds: { localBackup: 15 * MINUTE, offsiteBackup: 30 * MINUTE, fullHost: 60 * MINUTE },
  source: "runbook 001 §RPO/RTO Summary",
};

export const RECOVERY_TARGETS: Readonly<Record<string, RecoveryTargets>> = { goodgo: GOODGO_RECOVERY_TARGETS };
