// The difference between two offline plans of one stack (the base branch's and the head's): which resources are
// added, changed (which inputs), replaced, deleted; which commands would run on hosts at the next `pulumi up`, the
// recovery steps and runbook operations among them; protection changes; rendered host files; policy results.
// Pure: it reads two parsed plan JSONs (cli/planJson.ts) and never sees a secret, since the plan JSON holds none
// (secret inputs are "[secret]", secret files have no content).
import { SECRET_MARK } from "../lib/runtime/capture";
import { mockRefersTo } from "../lib/runtime/mockProviders";
import type { PlanJson, PlanResource } from "./planJson";
import { ignoredPaths, replaceVerdict } from "./replaceRules";

export type ChangeKind = "add" | "delete" | "update" | "replace" | "maybe-replace" | "affected";

export interface InputChange {
  /** Path of the changed value: `image`, `triggers[0]`, `inboundRules[1].sourceAddresses`. */
  path: string;
  before: unknown;
  after: unknown;
}

/** A step that must run once (a runbook operation or a recovery step): see oneShotKind. */
export type OneShot = "operation" | "recovery";

export interface ResourceChange {
  urn: string;
  name: string;
  type: string;
  kind: ChangeKind;
  protect: { before?: boolean; after?: boolean };
  /** Changed inputs the engine will diff (ignoreChanges removed). */
  changes: InputChange[];
  /** Changed inputs hidden by the resource's ignoreChanges option. */
  ignored: string[];
  /** Why it is (or may be) replaced. */
  because: string[];
  why?: string;
  deleteBeforeReplace: boolean;
  /** Names of replaced resources this one takes inputs from (their outputs are unknown until deploy). */
  dependsOnReplaced: string[];
  /** Its inputs taken from those replaced resources. */
  unknownInputs: string[];
  oneShot?: OneShot;
  /** A command that executes on a host at the next `pulumi up`. */
  runs: boolean;
  /** The command text it runs (commands only; never a secret: secret inputs are redacted in the plan). */
  command?: string;
}

export interface FileChange {
  host: string;
  path: string;
  kind: "add" | "delete" | "update" | "mode";
  secret: boolean;
  before?: string;
  after?: string;
  mode: { before?: string; after?: string };
}

export interface PolicyResult {
  policyName: string;
  urn: string;
  message: string;
}

export interface PlanDiff {
  stack: string;
  resources: ResourceChange[];
  files: FileChange[];
  policy: { added: PolicyResult[]; resolved: PolicyResult[]; remaining: PolicyResult[] };
  /** Custom resources in base and head. */
  counts: { base: number; head: number };
}

const COMMAND = "command:remote:Command";
const COPY = "command:remote:CopyToRemote";

/**
 * One-shot steps carry an `update` that only echoes why it does nothing (components/hostSoftware.ts hostCommand's
 * `once`, DBIS's replica promotion): they run when created or replaced, never on an update. Operations are named
 * `<prefix>-op-<id>` (components/composeDeployment.ts, stacks/bunty/declare.ts); every other one-shot step is a
 * recovery step (a recovery chain's step, a promotion).
 */
export function oneShotKind(r: PlanResource): OneShot | undefined {
  if (r.type !== COMMAND) return undefined;
  const update = r.inputs.update;
  if (typeof update !== "string" || !/^echo '[^']*'$/.test(update)) return undefined;
  return /-op-/.test(nameOf(r.urn)) ? "operation" : "recovery";
}

export function nameOf(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Every leaf path where `a` and `b` differ (objects by key, arrays by index). */
export function changedPaths(a: unknown, b: unknown, path = ""): InputChange[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => changedPaths(a[k], b[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: InputChange[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(...changedPaths(a[i], b[i], `${path}[${i}]`));
    return out;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path, before: a, after: b }];
}

function commandText(r: PlanResource): string | undefined {
  if (r.type === COMMAND && typeof r.inputs.create === "string") return r.inputs.create;
  if (r.type === COPY) return `copy to ${String(r.inputs.remotePath)}`;
  return undefined;
}

function base(r: PlanResource, kind: ChangeKind): ResourceChange {
  return {
    urn: r.urn,
    name: nameOf(r.urn),
    type: r.type,
    kind,
    protect: {},
    changes: [],
    ignored: [],
    because: [],
    deleteBeforeReplace: r.deleteBeforeReplace ?? false,
    dependsOnReplaced: [],
    unknownInputs: [],
    oneShot: oneShotKind(r),
    runs: false,
    command: commandText(r),
  };
}

function customResources(plan: PlanJson): Map<string, PlanResource> {
  return new Map(plan.steps.filter((s) => s.newState.custom).map((s) => [s.urn, s.newState]));
}

function diffResources(before: PlanJson, after: PlanJson): ResourceChange[] {
  const olds = customResources(before);
  const news = customResources(after);
  const out: ResourceChange[] = [];
  for (const [urn, r] of news) {
    const old = olds.get(urn);
    if (!old) {
      out.push({ ...base(r, "add"), protect: { after: r.protect }, runs: r.type === COMMAND || r.type === COPY });
      continue;
    }
    const all = changedPaths(old.inputs, r.inputs);
    const ignored = ignoredPaths(all.map((c) => c.path), r.ignoreChanges ?? []);
    const changes = all.filter((c) => !ignored.includes(c.path));
    const protect = { before: old.protect, after: r.protect };
    if (!changes.length) {
      if (old.protect !== r.protect || ignored.length) out.push({ ...base(r, "update"), protect, ignored });
      continue;
    }
    const verdict = replaceVerdict(r.type, changes.map((c) => c.path), r.replaceOnChanges ?? []);
    const c: ResourceChange = { ...base(r, verdict.kind), protect, changes, ignored };
    if (verdict.kind !== "update") c.because = verdict.because;
    if (verdict.kind === "maybe-replace") c.why = verdict.why;
    // A command runs again when replaced, or on an update (pulumi-command 1.2.1 runs `create` again) unless one-shot.
    c.runs = (r.type === COMMAND || r.type === COPY) && (verdict.kind !== "update" || !c.oneShot);
    out.push(c);
  }
  for (const [urn, r] of olds) {
    if (!news.has(urn)) out.push({ ...base(r, "delete"), protect: { before: r.protect } });
  }
  cascade(out, olds, news);
  return out.sort((a, b) => a.urn.localeCompare(b.urn));
}

/**
 * Replacements spread: a resource taking an input from a replaced one sees that input unknown until deploy. Offline,
 * such an input is found by the replaced resource's placeholder id or outputs (lib/runtime/mockProviders.ts
 * mockRefersTo); when the input replaces on change (cli/replaceRules.ts), the dependent is replaced too, and so on.
 * Other dependents are listed with the inputs that become unknown (the engine decides: usually an update).
 */
function cascade(out: ResourceChange[], olds: Map<string, PlanResource>, news: Map<string, PlanResource>): void {
  const byUrn = new Map(out.map((c) => [c.urn, c]));
  const replacedNow = () => new Map(out.filter((c) => c.kind === "replace" || c.kind === "maybe-replace").map((c) => [c.urn, c]));
  for (let changed = true; changed; ) {
    changed = false;
    const replaced = replacedNow();
    for (const [urn, r] of news) {
      const old = olds.get(urn);
      if (!old || replaced.has(urn)) continue;
      const from = r.dependencies.filter((d) => replaced.has(d) && d !== urn).map((d) => replaced.get(d)!);
      if (!from.length) continue;
      let c = byUrn.get(urn);
      if (!c) {
        c = { ...base(r, "affected"), protect: { before: old.protect, after: r.protect } };
        out.push(c);
        byUrn.set(urn, c);
      }
      c.dependsOnReplaced = from.map((f) => f.name);
      const unknown = Object.keys(r.inputs).filter((k) => from.some((f) => mockRefersTo(r.inputs[k], f.type, f.name)));
      c.unknownInputs = unknown;
      const verdict = replaceVerdict(r.type, unknown, r.replaceOnChanges ?? []);
      if (verdict.kind === "replace") {
        const source = (input: string) => from.find((f) => mockRefersTo(r.inputs[input], f.type, f.name))?.name ?? "?";
        c.kind = "replace";
        c.because = [...c.because, ...verdict.because.map((b) => b.replace(/^(\S+) \((.*)\)$/, (_m, p: string, by: string) => `${p} (${by}; from ${source(p)}, replaced)`))];
        c.runs = r.type === COMMAND || r.type === COPY;
        changed = true;
      }
    }
  }
}

function diffFiles(before: PlanJson, after: PlanJson): FileChange[] {
  type F = NonNullable<PlanJson["files"]>[number];
  const key = (f: F) => `${f.host}:${f.path}`;
  const olds = new Map((before.files ?? []).map((f) => [key(f), f]));
  const news = new Map((after.files ?? []).map((f) => [key(f), f]));
  const out: FileChange[] = [];
  for (const [k, f] of news) {
    const o = olds.get(k);
    const secret = f.secret || (o?.secret ?? false);
    // A secret file's content is never in the plan; only its appearance, removal and mode are compared.
    const content = (x?: F) => (secret ? undefined : x?.content);
    if (!o) out.push({ host: f.host, path: f.path, kind: "add", secret, after: content(f), mode: { after: f.mode } });
    else if (!secret && o.content !== f.content) out.push({ host: f.host, path: f.path, kind: "update", secret, before: o.content, after: f.content, mode: { before: o.mode, after: f.mode } });
    else if (o.mode !== f.mode) out.push({ host: f.host, path: f.path, kind: "mode", secret, mode: { before: o.mode, after: f.mode } });
  }
  for (const [k, o] of olds) {
    if (!news.has(k)) out.push({ host: o.host, path: o.path, kind: "delete", secret: o.secret, mode: { before: o.mode } });
  }
  return out.sort((a, b) => `${a.host}:${a.path}`.localeCompare(`${b.host}:${b.path}`));
}

function diffPolicy(before: PlanJson, after: PlanJson): PlanDiff["policy"] {
  const key = (v: PolicyResult) => `${v.policyName}\u0000${v.urn}\u0000${v.message}`;
  const pick = (v: PolicyResult): PolicyResult => ({ policyName: v.policyName, urn: v.urn, message: v.message });
  const olds = new Map((before.policyViolations ?? []).map((v) => [key(v), pick(v)]));
  const news = new Map((after.policyViolations ?? []).map((v) => [key(v), pick(v)]));
  return {
    added: [...news].filter(([k]) => !olds.has(k)).map(([, v]) => v),
    resolved: [...olds].filter(([k]) => !news.has(k)).map(([, v]) => v),
    remaining: [...news].filter(([k]) => olds.has(k)).map(([, v]) => v),
  };
}

/** The difference from `before` (the base branch's plan) to `after` (the head's), for one stack. */
export function diffPlans(before: PlanJson, after: PlanJson): PlanDiff {
  if (before.stack !== after.stack) {
    throw new Error(`the plans are of different stacks (${before.stack} and ${after.stack}); diff the same stack's plans`);
  }
  return {
    stack: after.stack,
    resources: diffResources(before, after),
    files: diffFiles(before, after),
    policy: diffPolicy(before, after),
    counts: { base: customResources(before).size, head: customResources(after).size },
  };
}

/** Whether a value may be shown: never a redacted secret (there is nothing to show) and never an object holding one. */
export function holdsSecret(value: unknown): boolean {
  return JSON.stringify(value ?? null).includes(JSON.stringify(SECRET_MARK));
}
