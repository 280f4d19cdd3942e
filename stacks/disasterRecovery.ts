// What a full loss means for one platform, for `lazarus dr` (cli/dr/): the recovery switch values that rebuild it, the
// steps that rebuild runs (read from the platform's own plan), the health URL to wait for, and the runbook's RTO/RPO
// targets. Each platform keeps these facts in stacks/<platform>/disasterRecovery.ts; the CLI iterates the registry.

/** The runbook's recovery objectives; absent when the runbook states none (`source` then says so). */
export interface RecoveryTargets {
  /** The full-loss RTO (what `dr rebuild` is held to). */
  rtoSeconds?: number;
  rpoSeconds?: number;
  /** RTO by recovery route where the runbook distinguishes them (a drill is held to the route it took). */
  rtoByRoute?: Partial<Record<RecoveryRoute, number>>;
  /** Where the runbook states them, e.g. "runbook 001 §RPO/RTO Summary (full host recovery)", or "runbook 000: none stated". */
  source: string;
}

/** How a recovery got its data back: a local backup, an off-site one, or the whole host rebuilt. */
export type RecoveryRoute = "localBackup" | "offsiteBackup" | "fullHost";

/** What the operator passed that a platform's rebuild may need. */
export interface RebuildArgs {
  stack: string;
  /** Names this recovery run (a switch's `label`: a new label runs the recovery again). */
  label: string;
  /** A snapshot id for platforms that rebuild a droplet from a snapshot (KRO). */
  snapshot?: string;
}

/** The switch values of a full rebuild, under the platform's `recovery:` key. */
export interface FullLossSwitches {
  /** Keys to set under `recovery:` (replacing what is there); `{}` when a refreshed `pulumi up` alone rebuilds it. */
  recovery: Record<string, unknown>;
  /** The switch whose `confirm` key takes `<stack>/<platform>/<what>` on a protected stack. */
  confirm?: { switch: string; what: string };
  /** Run `pulumi refresh` first, so the engine learns which resources are gone and `up` creates them again. */
  refresh: boolean;
  /**
   * Resources to replace in the `up` (by name prefix), so their steps run again: on an existing server that lost its
   * disk, the file writers and setup steps are keyed on the server's address, which did not change, and a refresh of
   * a command resource does not look at the host, so nothing else would write the files again.
   */
  rerun?: { namePrefixes: string[]; why: string };
  /** What the operator does once the rebuild succeeded, so the switch does nothing new on a later `up`. */
  afterwards: string;
}

/** One step of a rebuild as `dr plan` lists it; `key` matches the step keys of a drill report, for its timing. */
export interface RebuildStep {
  key: string;
  title: string;
}

export interface DisasterRecovery<Config = unknown, Plan = unknown> {
  /** What is lost in a full host (or cluster) loss and what brings it back, one sentence. */
  loss: string;
  targets: RecoveryTargets;
  /**
   * The switches; or `problem`: they cannot be set from the arguments (names the flag and an example; exit 2); or
   * `manual`: this placement is not rebuilt by `lazarus dr` (why, and what the operator does instead).
   */
  rebuild(config: Config, args: RebuildArgs): FullLossSwitches | { problem: string } | { manual: string };
  /** The rebuild's steps in order, from the plan made WITH the switches set. */
  steps(plan: Plan): RebuildStep[];
  /** The URL answering 2xx once the platform serves again; undefined when there is none to probe from outside. */
  healthUrl(plan: Plan): string | undefined;
}

export const MINUTE = 60;
export const HOUR = 60 * MINUTE;
