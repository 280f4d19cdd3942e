// What a full rebuild of a stack would do, computed offline: each platform's full-loss switches (its
// disasterRecovery facts) written into the stack config, that config validated and planned exactly as `pulumi up`
// would plan it (config/load.ts, stacks/index.ts planPlatforms: no engine, no credentials), and the steps read from
// the plans. `dr plan` prints it; `dr rebuild` runs it.
import { existsSync, readFileSync } from "node:fs";
import { ConfigError } from "../../config/errors";
import { confirmationToken, isProtectedStack } from "../../config/checks";
import { loadStackConfig, NAMESPACE, type RawStackConfig } from "../../config/load";
import type { DrReport } from "../../lib/dr/report";
import type { FullLossSwitches, RecoveryTargets } from "../../stacks/disasterRecovery";
import { planPlatforms } from "../../stacks";
import { PLATFORMS, type AnyPlatform } from "../../stacks/registry";

/** Bad input to a dr command: exit 2, nothing run. The message names the flag, what was expected and an example. */
export class DrInputError extends Error {}

export interface PlannedRebuildStep {
  /** `<platform>/<key>`: what a drill report's step keys are matched against. */
  key: string;
  title: string;
  /** Seconds the same step took in the last drill; absent when that drill did not time it. */
  estimateSeconds?: number;
}

export interface PlatformRebuild {
  platform: string;
  runbook: string;
  loss: string;
  targets: RecoveryTargets;
  /**
   * automated: switches set and steps planned; manual: not rebuilt by lazarus dr (why in `manual`); needs-input: a
   * flag is missing (`needs` names it; `dr plan` still lists the steps, `dr rebuild` refuses).
   */
  mode: "automated" | "manual" | "needs-input";
  needs?: string;
  switches?: FullLossSwitches;
  /** The confirmation token a protected stack needs for this platform's switch. */
  confirmToken?: string;
  manual?: string;
  healthUrl?: string;
  steps: PlannedRebuildStep[];
}

export interface RebuildPlan {
  stack: string;
  protectedStack: boolean;
  label: string;
  platforms: PlatformRebuild[];
  /** The stack config with every automated platform's switches set (and confirmations, when given). */
  raw: RawStackConfig;
  /** Where the estimates come from: the drill report's path and time, or "no drill yet". */
  estimatesFrom: string;
  /** Why platforms are in this order. */
  order: string;
}

/** A recovery label from the time: "r" and UTC minutes (r202612012350), valid for every platform's label rule. */
export function defaultLabel(now = new Date()): string {
  return `r${now.toISOString().replace(/[-:T]/g, "").slice(0, 12)}`;
}

function platformBlock(raw: RawStackConfig, name: string): Record<string, unknown> {
  const text = raw.values[`${NAMESPACE}:${name}`];
  const parsed: unknown = text === undefined ? {} : JSON.parse(text);
  return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
}

/** The platforms the stack enables, in registry order (what loadStackConfig plans). */
export function enabledPlatforms(raw: RawStackConfig): AnyPlatform[] {
  return loadStackConfig(raw, { allowMissingSecrets: true }).platforms.map((p) => p.module);
}

/** Checks --platform against the stack's enabled platforms. */
export function selectPlatforms(raw: RawStackConfig, platform: string | undefined): AnyPlatform[] {
  const enabled = enabledPlatforms(raw);
  if (platform === undefined) return enabled;
  const found = enabled.find((m) => m.name === platform);
  if (!found) {
    const known = PLATFORMS.some((m) => m.name === platform);
    throw new DrInputError(
      `--platform ${JSON.stringify(platform)}: ${known ? `is not enabled in stack ${raw.stack}` : "is not a platform"}; expected one of ${enabled.map((m) => m.name).join(", ")} (example: --platform ${enabled[0]?.name ?? "goodgo"})`,
    );
  }
  return [found];
}

/** Step seconds of a drill report, by `<platform>/<key>` and by bare key within a platform. */
export function readDrillEstimates(path: string): { from: string; seconds: (platform: string, key: string) => number | undefined } | undefined {
  if (!existsSync(path)) return undefined;
  let report: DrReport;
  try {
    report = JSON.parse(readFileSync(path, "utf8")) as DrReport;
    if (!Array.isArray(report.steps)) throw new Error("it has no steps[] (not a lazarus dr report)");
  } catch (e) {
    throw new DrInputError(`--drill-report ${path}: is not a drill report written by \`lazarus dr drill\` (${e instanceof Error ? e.message : String(e)}); example: --drill-report .lazarus/dr/last-drill.json`);
  }
  const seconds = (platform: string, key: string): number | undefined => {
    const step = report.steps.find(
      (s) => s.endedAt && s.status === "ok" && (s.key === `${platform}/${key}` || ((s.platform === platform || s.key.startsWith(`${platform}/`)) && s.key.endsWith(`/${key}`))),
    );
    return step?.endedAt ? (Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000 : undefined;
  };
  return { from: `drill of ${report.stack} at ${report.startedAt} (${path})`, seconds };
}

export interface RebuildPlanOptions {
  platform?: string;
  label?: string;
  snapshot?: string;
  /** Confirmation tokens to write into the switches: "assume" writes the expected ones (planning only, nothing runs). */
  confirm: "assume" | string[];
  drillReport?: string;
  /** `dr plan`: a missing flag is listed on its platform instead of refusing the whole plan. */
  lenient?: boolean;
}

/**
 * Sets each selected platform's full-loss switches in a copy of the raw config, validates and plans it. Throws
 * DrInputError for a bad flag and ConfigError when the switched config is refused (both exit 2: nothing ran).
 */
export function planRebuild(raw: RawStackConfig, options: RebuildPlanOptions): RebuildPlan {
  const selected = selectPlatforms(raw, options.platform);
  const label = options.label ?? defaultLabel();
  if (!/^[a-z0-9][a-z0-9-]{0,19}$/.test(label) || label.endsWith("-")) {
    throw new DrInputError(`--label ${JSON.stringify(label)}: is not a recovery label (lowercase letters, digits, dashes; up to 20; example: --label r1)`);
  }
  if (options.snapshot !== undefined && !/^[0-9]+$/.test(options.snapshot)) {
    throw new DrInputError(`--snapshot ${JSON.stringify(options.snapshot)}: is not a snapshot id (digits; example: --snapshot 187654321)`);
  }
  const protectedStack = isProtectedStack(raw.stack);
  const switched: RawStackConfig = { ...raw, values: { ...raw.values } };
  const rebuilds: PlatformRebuild[] = [];
  const problems: string[] = [];

  for (const module of selected) {
    const dr = module.disasterRecovery;
    const base = { platform: module.name, runbook: module.runbook, steps: [] as PlannedRebuildStep[] };
    if (!dr) {
      rebuilds.push({ ...base, loss: "not described", targets: { source: `runbook ${module.runbook}: not read` }, mode: "manual", manual: `${module.name} has no disasterRecovery facts (stacks/${module.name}/disasterRecovery.ts)` });
      continue;
    }
    const config = loadStackConfig(raw, { allowMissingSecrets: true }).platforms.find((p) => p.module === module)!.config;
    const result = dr.rebuild(config, { stack: raw.stack, label, snapshot: options.snapshot });
    if ("problem" in result) {
      if (options.lenient) rebuilds.push({ ...base, loss: dr.loss, targets: dr.targets, mode: "needs-input", needs: result.problem });
      else problems.push(result.problem);
      continue;
    }
    if ("manual" in result) {
      rebuilds.push({ ...base, loss: dr.loss, targets: dr.targets, mode: "manual", manual: result.manual });
      continue;
    }
    const block = platformBlock(switched, module.name);
    const recovery = { ...((block.recovery as Record<string, unknown> | undefined) ?? {}) };
    let confirmToken: string | undefined;
    for (const [key, value] of Object.entries(result.recovery)) recovery[key] = structuredClone(value);
    if (result.confirm && protectedStack) {
      confirmToken = confirmationToken(raw.stack, module.name, result.confirm.what);
      const given = options.confirm === "assume" ? confirmToken : options.confirm.find((t) => t === confirmToken);
      if (given) (recovery[result.confirm.switch] as Record<string, unknown>).confirm = given;
    }
    switched.values[`${NAMESPACE}:${module.name}`] = JSON.stringify({ ...block, recovery });
    rebuilds.push({ ...base, loss: dr.loss, targets: dr.targets, mode: "automated", switches: result, confirmToken });
  }
  if (problems.length) throw new DrInputError(problems.join("\n"));

  // Validated and planned as `pulumi up` would: every problem of the switched config at once, nothing declared.
  const planned = planPlatforms(loadStackConfig(switched, { allowMissingSecrets: true }));
  const estimates = options.drillReport ? readDrillEstimates(options.drillReport) : undefined;
  for (const r of rebuilds) {
    const p = planned.find((x) => x.module.name === r.platform);
    const dr = p?.module.disasterRecovery;
    if (!p || !dr) continue;
    r.healthUrl = r.mode === "manual" ? undefined : dr.healthUrl(p.plan);
    r.steps = dr.steps(p.plan).map((s) => ({ key: `${r.platform}/${s.key}`, title: s.title, estimateSeconds: estimates?.seconds(r.platform, s.key) }));
  }
  return {
    stack: raw.stack,
    protectedStack,
    label,
    platforms: rebuilds,
    raw: switched,
    estimatesFrom: estimates?.from ?? "no drill yet",
    order: "no platform depends on another (they share only the stack's VPC and project, which a host loss keeps): registry order; within a platform, its recovery chain in order",
  };
}

export { ConfigError };
