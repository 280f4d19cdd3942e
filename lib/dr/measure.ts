// RTO and RPO from what was observed, never from what was configured:
//   RTO = healthy − lost: from the kill to the first write the recovered database acknowledged.
//   RPO = the writes the server acknowledged before the loss that are absent after the recovery: their count, and the
//         time between the last acknowledged write before the loss and the newest acknowledged write still present.
import type { Objectives } from "./report";
import { rtoTarget, type RecoveryRoute, type RecoveryTargets } from "./targets";
import type { Ack } from "./writer";

export interface RpoMeasure {
  /** Acknowledged before the loss and absent after. */
  lostRows: number;
  /** Seconds between the last acknowledged write and the newest acknowledged write present (0 when nothing was lost). */
  rpoSeconds: number;
  ackedBeforeLoss: number;
  present: number;
  /** The rows present are exactly the first N acknowledged ones: nothing invented, no gap in the middle. */
  presentIsPrefix: boolean;
}

/** Compares the writer's acknowledged log (up to the loss) with the ids present after the recovery. */
export function measureRpo(acked: readonly Ack[], presentIds: readonly number[]): RpoMeasure {
  const present = new Set(presentIds);
  const kept = acked.filter((a) => present.has(a.id));
  const lost = acked.length - kept.length;
  const last = acked.at(-1);
  const newestKept = kept.at(-1);
  // With nothing kept at all, the loss reaches back to before the first write: count from the first one.
  const rpoMs = lost === 0 || !last ? 0 : last.at - (newestKept?.at ?? acked[0]!.at);
  const ackedIds = new Set(acked.map((a) => a.id));
  const presentIsPrefix = kept.every((a, i) => a.id === acked[i]!.id) && presentIds.every((id) => ackedIds.has(id));
  return { lostRows: lost, rpoSeconds: rpoMs / 1000, ackedBeforeLoss: acked.length, present: kept.length, presentIsPrefix };
}

export type RtoRoute = RecoveryRoute;

/** The report's objectives: the measurements beside the runbook's targets for the route the recovery took. */
export function objectives(platform: string, m: { rtoMs?: number; rpo?: RpoMeasure }, targets: RecoveryTargets | undefined, route: RtoRoute): Objectives {
  return {
    platform,
    ...(m.rtoMs !== undefined ? { rtoSeconds: Math.round(m.rtoMs) / 1000 } : {}),
    ...(m.rpo ? { rpoSeconds: m.rpo.rpoSeconds, rpoRows: m.rpo.lostRows } : {}),
    ...(targets ? { rtoTargetSeconds: rtoTarget(targets, route), rpoTargetSeconds: targets.rpoSeconds, targetSource: `${targets.source} (RTO: ${route})` } : {}),
  };
}

/** "within" / "MISSED" per objective, for a one-line summary. */
export function verdict(o: Objectives): string {
  const part = (name: string, v?: number, t?: number, unit = "s") =>
    v === undefined ? `${name} not measured` : `${name} ${v}${unit}${t === undefined ? "" : ` (target ≤ ${t}${unit}: ${v <= t ? "within" : "MISSED"})`}`;
  return [part("RTO", o.rtoSeconds, o.rtoTargetSeconds), `${part("RPO", o.rpoSeconds, o.rpoTargetSeconds)}${o.rpoRows === undefined ? "" : `, ${o.rpoRows} rows`}`].join("; ");
}
