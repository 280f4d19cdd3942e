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
  /** How `lazarus dr drill` drills this platform (lib/dr/drill.ts); absent: it has no drill yet. */
  drill?: DrillAdapter;
}

/**
 * How a drill gets its data back: "logical" (a pg_dump backup restored: everything written after it is lost) or
 * "physical" (a pgBackRest backup plus the WAL archived since, replayed to the latest point: seconds are lost).
 */
export const DRILL_ROUTES = ["logical", "physical"] as const;
export type DrillRoute = (typeof DRILL_ROUTES)[number];

/** The JSON result line a script printed (scripts/lib/common.sh emit_result), or undefined. */
export type ResultLine = Record<string, unknown> | undefined;

/** The last JSON result line of `script` in a command's stdout (log lines around it are skipped). */
export function resultLine(stdout: unknown, script: string): ResultLine {
  if (typeof stdout !== "string") return undefined;
  for (const line of stdout.trim().split("\n").reverse()) {
    try {
      const v = JSON.parse(line) as { script?: unknown };
      if (v && typeof v === "object" && v.script === script) return v as Record<string, unknown>;
    } catch {
      /* a log line */
    }
  }
  return undefined;
}

/** What was restored, as the drill report lists it (lib/dr/report.ts RestoredBackup without the platform). */
export interface DrillRestored {
  database: string;
  source: string;
  checksum?: string;
  route: DrillRoute;
  /** Physical: the pgBackRest backup set restored, its repository and stanza, and how far the WAL replay got. */
  backupLabel?: string;
  repository?: string;
  stanza?: string;
  recoveredUntil?: string;
}

/** One route of a platform's drill: its backup operation, its recovery switch, and where the scripts report. */
export interface DrillRouteAdapter {
  /** The drill step's title for the backup (what runs). */
  backupTitle: string;
  /** Pause the writer while the backup runs (a dump's boundary is then exact; a physical backup is taken live). */
  pauseWriter: boolean;
  /** Adds a one-off backup operation to the platform's block; returns the operation's resource-name suffix. */
  addBackup(block: Record<string, any>, label: string): string;
  /** The script whose JSON result line (in the operation's stdout) names the backup taken. */
  backupScript: string;
  /** From that line: the backup's reference for the switch and a sentence for the report; a string is what is missing. */
  backupTaken(result: ResultLine, block: Record<string, any>): { ref: string; describe: string } | string;
  /** Sets the recovery switch that brings the database back from the backup; returns what was set, for the report. */
  setRecovery(block: Record<string, any>, label: string, backupRef: string): string;
  /** The switch's name in step keys ("recovery.database"). */
  switchName: string;
  /** The engine resource-name part of the recovery chain (its steps are `<prefix><step>`). */
  recoveryPrefix(label: string): string;
  /** What the chain restored, from its steps' stdout (by step key); undefined when no step reported it. */
  restored(stdoutOf: (step: string) => unknown, block: Record<string, any>): DrillRestored | undefined;
  /** The runbook's RTO route a drill on this route is held to. */
  rtoRoute: RecoveryRoute;
  /** Facts for the report's notes once measured (e.g. the configured bound on the RPO). */
  notes?(block: Record<string, any>): string[];
}

export interface DrillAdapter {
  /** The stack-config key of the platform's block ("lazarus:goodgo"). */
  configKey: string;
  routes: Partial<Record<DrillRoute, DrillRouteAdapter>>;
}

export const MINUTE = 60;
export const HOUR = 60 * MINUTE;
