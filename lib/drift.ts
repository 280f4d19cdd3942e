// Drift: what the live state differs in from Pulumi's state, read from the engine's own events.
//
// Input: the JSON lines of `pulumi refresh --preview-only --json` with PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true (one
// engine event per line, the same events the Automation API streams). Without streaming, `--json` prints every refresh
// step with op "refresh" and old and new state alike (observed on the engine 3.274.1), so only the events say which
// resource drifted. A refresh step is a resourcePreEvent with op "refresh"; its resOutputsEvent carries the result:
// op "update" (the provider read something else than the state holds) or "delete" (the resource is gone), old and new
// state with secret values masked as "[secret]". `pulumi preview --refresh` streams the same refresh steps, with op
// "refresh" in every result; both are read.
// Limits: a provider without a Read returns the state unchanged, so nothing it manages can drift here; pulumi-command
// 1.2.1's Command and CopyToRemote are such (the files and commands on hosts: see README "Drift"). A drift only in
// secret values is counted (the engine compares the real values) but cannot be shown, and under `preview --refresh`
// it is not seen at all.
import { createHash } from "node:crypto";

export interface EngineEventLine {
  resourcePreEvent?: { metadata: StepMetadata };
  resOutputsEvent?: { metadata: StepMetadata };
  diagnosticEvent?: { severity: string; message: string; urn?: string };
  summaryEvent?: { resourceChanges?: Record<string, number>; result?: string };
}

interface StepMetadata {
  op: string;
  urn: string;
  type: string;
  old?: { outputs?: Record<string, unknown>; protect?: boolean };
  new?: { outputs?: Record<string, unknown>; protect?: boolean };
}

export interface DriftedResource {
  urn: string;
  type: string;
  name: string;
  kind: "changed" | "gone";
  /** Top-level outputs that differ ("[secret]" ones never do: their drift is only counted). */
  keys: string[];
  /** Old and new value per differing key, for display; never a secret (masked values compare equal). */
  values: Record<string, { state: unknown; live: unknown }>;
  protect: boolean;
}

export interface DriftReport {
  /** Resources the refresh read (the stack and providers excluded). */
  checked: number;
  drifted: DriftedResource[];
  /** Drifted resources whose only difference is in secret values: the engine counts them, the events cannot show which. */
  secretOnly: number;
  /** The engine's error messages: the refresh did not complete, so the report is not a verdict. */
  errors: string[];
}

/** An events file that cannot be read as engine events; the message names the file, the line and what to run. */
export class DriftInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DriftInputError";
  }
}

const HOW = "write it with: PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true pulumi refresh --preview-only --json --stack <stack> > <file>";

export function parseEngineEvents(text: string, file: string): EngineEventLine[] {
  const events: EngineEventLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      throw new DriftInputError(`${file}:${i + 1}: not a JSON engine event (${JSON.stringify(line.slice(0, 60))}); expected one event per line; ${HOW}`);
    }
    if (!e || typeof e !== "object" || Array.isArray(e)) throw new DriftInputError(`${file}:${i + 1}: not an engine event object; ${HOW}`);
    if ("steps" in e && "changeSummary" in e) {
      throw new DriftInputError(`${file}: this is \`--json\` output without streaming, which does not say which resource drifted; ${HOW}`);
    }
    events.push(e as EngineEventLine);
  }
  if (!events.some((e) => e.summaryEvent || e.resourcePreEvent || e.diagnosticEvent)) {
    throw new DriftInputError(`${file}: no engine events (empty or not a refresh); ${HOW}`);
  }
  return events;
}

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
const ignored = (type: string) => type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:");

function differingKeys(a: Record<string, unknown> = {}, b: Record<string, unknown> = {}): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

export function detectDrift(events: readonly EngineEventLine[]): DriftReport {
  const refreshing = new Set<string>();
  const drifted: DriftedResource[] = [];
  let checked = 0;
  let secretOnly = 0;
  const errors: string[] = [];
  for (const e of events) {
    const pre = e.resourcePreEvent?.metadata;
    if (pre) {
      if (pre.op === "refresh") refreshing.add(pre.urn);
      else refreshing.delete(pre.urn);
    }
    const out = e.resOutputsEvent?.metadata;
    if (out && refreshing.has(out.urn)) {
      refreshing.delete(out.urn);
      if (ignored(out.type)) continue;
      checked++;
      const base = { urn: out.urn, type: out.type, name: nameOf(out.urn), protect: out.old?.protect ?? false };
      if (out.op === "delete" || !out.new) {
        drifted.push({ ...base, kind: "gone", keys: [], values: {} });
        continue;
      }
      const keys = differingKeys(out.old?.outputs, out.new.outputs);
      if (keys.length) {
        const values = Object.fromEntries(keys.map((k) => [k, { state: out.old?.outputs?.[k], live: out.new?.outputs?.[k] }]));
        drifted.push({ ...base, kind: "changed", keys, values });
      } else if (out.op === "update") secretOnly++;
    }
    const d = e.diagnosticEvent;
    if (d?.severity === "error") errors.push(d.message.trim());
    if (e.summaryEvent?.result === "failed" && !errors.length) errors.push("the engine reported the refresh as failed");
  }
  return { checked, drifted: drifted.sort((a, b) => a.urn.localeCompare(b.urn)), secretOnly, errors };
}

export function hasDrift(r: DriftReport): boolean {
  return r.drifted.length > 0 || r.secretOnly > 0;
}

/** A value for the issue: short values as code, long ones summarised (a file's content can be long). */
function show(v: unknown): string {
  if (v === undefined) return "(none)";
  const t = JSON.stringify(v);
  if (t.length > 120) {
    const text = typeof v === "string" ? v : t;
    return `(${text.split("\n").length} lines, ${text.length} bytes, sha256 ${createHash("sha256").update(text).digest("hex").slice(0, 12)})`;
  }
  return t.includes("`") ? `\`\` ${t} \`\`` : `\`${t}\``;
}

/** First line of the drift issue's body: the workflow finds its one issue by the label, and checks this marker. */
export const DRIFT_MARKER = "<!-- lazarus-drift -->";

export function renderDriftMarkdown(stacks: { stack: string; report?: DriftReport; problem?: string }[], runUrl?: string): string {
  const out = [DRIFT_MARKER, "## Live state differs from Pulumi's state", ""];
  out.push(
    `From \`pulumi refresh --preview-only\` per stack${runUrl ? ` ([run](${runUrl}))` : ""}. A drifted resource was changed outside Pulumi: either make the stack file say what is live (and review it in a pull request), or run \`pulumi up\` to put back what the stack file says. Nothing was changed by this check.`,
    "",
    "| stack | resources read | drifted | refresh |",
    "|---|---:|---:|---|",
  );
  for (const s of stacks) {
    const r = s.report;
    if (!r) out.push(`| ${s.stack} | – | – | ⚠️ ${s.problem ?? "not run"} |`);
    else out.push(`| ${s.stack} | ${r.checked} | ${r.drifted.length + r.secretOnly} | ${r.errors.length ? "❌ failed" : "✅ complete"} |`);
  }
  out.push("");
  for (const s of stacks) {
    const r = s.report;
    if (!r || (!hasDrift(r) && !r.errors.length)) continue;
    out.push(`### ${s.stack}`, "");
    for (const d of r.drifted) {
      const lock = d.protect ? "🔒 " : "";
      if (d.kind === "gone") out.push(`- ${lock}**gone**: \`${d.name}\` (${d.type}) no longer exists`);
      else {
        out.push(`- ${lock}**changed**: \`${d.name}\` (${d.type}): ${d.keys.map((k) => `\`${k}\``).join(", ")}`);
        for (const k of d.keys.slice(0, 8)) out.push(`  - \`${k}\`: state ${show(d.values[k].state)}, live ${show(d.values[k].live)}`);
      }
    }
    if (r.secretOnly) out.push(`- ${r.secretOnly} more resource(s) differ only in secret values (not shown)`);
    for (const e of r.errors.slice(0, 5)) out.push(`- ❌ refresh error: ${e.split("\n")[0]}`);
    out.push("");
  }
  return out.join("\n").trimEnd() + "\n";
}
