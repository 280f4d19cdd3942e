// The pull-request comment: the plan diffs of every stack as Markdown a reviewer reads at a glance. Order: a summary
// table, then what must be read first (deletions and replacements of protected resources, protection removed, new
// policy violations), then per stack: what runs on hosts (recovery steps and operations first), replaced, deleted,
// added, changed, rendered files, policy. Values come only from the plans' redacted inputs; a value holding a
// redacted secret is never shown, secret files never have content, and long texts are shown as line diffs.
import { createHash } from "node:crypto";
import { structuredPatch } from "diff";
import { holdsSecret, type FileChange, type PlanDiff, type ResourceChange } from "./planDiff";

/** First line of the comment: the comment workflow finds (and updates) its one comment by it. */
export const COMMENT_MARKER = "<!-- lazarus-plan-diff -->";

/** GitHub refuses comments over 65,536 characters; the rest goes to the job summary and the artifact. */
export const MAX_COMMENT_CHARS = 60_000;

export interface StackEntry {
  stack: string;
  diff?: PlanDiff;
  /** Set when a side could not be planned (e.g. the base branch's config was invalid): what happened. */
  problem?: string;
}

export interface MarkdownOptions {
  baseRef?: string;
  headRef?: string;
  /** Omit line diffs of long texts (used to fit the comment size). */
  brief?: boolean;
  maxChars?: number;
}

const shortType = (type: string) => type.slice(type.lastIndexOf(":") + 1);

/** Inline code that survives backticks in the text. */
function code(text: string): string {
  const t = text.replace(/\n/g, " ");
  return t.includes("`") ? `\`\` ${t} \`\`` : `\`${t}\``;
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** A value for a one-line list item: short scalars as code, long or multi-line texts summarised, secrets never. */
export function showValue(value: unknown): string {
  if (value === undefined) return "(none)";
  if (holdsSecret(value)) return "(secret)";
  if (typeof value === "string") {
    if (value.includes("\n") || value.length > 80) return `(${value.split("\n").length} lines, ${value.length} bytes, sha256 ${digest(value)})`;
    return code(JSON.stringify(value));
  }
  const json = JSON.stringify(value);
  return json.length > 80 ? `(${json.length} bytes of JSON, sha256 ${digest(json)})` : code(json);
}

function isLongText(v: unknown): v is string {
  return typeof v === "string" && (v.includes("\n") || v.length > 80);
}

/** A unified line diff of two texts (context 2, at most `maxLines` lines), in a fenced diff block. */
export function textDiff(before: string, after: string, maxLines = 40): string {
  const patch = structuredPatch("before", "after", before, after, "", "", { context: 2 });
  const lines = patch.hunks.flatMap((h) => [`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, ...h.lines]);
  const shown = lines.slice(0, maxLines);
  if (lines.length > maxLines) shown.push(`... ${lines.length - maxLines} more diff lines`);
  const fence = shown.some((l) => l.includes("```")) ? "~~~~" : "```";
  return `${fence}diff\n${shown.join("\n")}\n${fence}`;
}

function protectedBefore(c: ResourceChange): boolean {
  return c.protect.before === true;
}

/** A reason such as `image (provider)` as code plus who says so. */
function reason(because: string): string {
  const m = /^(.*) \((.*)\)$/.exec(because);
  return m ? `${code(m[1])} (${m[2]})` : code(because);
}

function reasons(c: ResourceChange): string {
  return c.because.map(reason).join(", ");
}

function label(c: ResourceChange): string {
  return `${code(c.name)} (${shortType(c.type)})`;
}

function changeLines(c: ResourceChange, opts: MarkdownOptions, indent = "  "): string[] {
  const out: string[] = [];
  for (const ch of c.changes.slice(0, 12)) out.push(`${indent}- ${code(ch.path)}: ${showValue(ch.before)} → ${showValue(ch.after)}`);
  if (c.changes.length > 12) out.push(`${indent}- ... and ${c.changes.length - 12} more changed inputs`);
  if (c.ignored.length) out.push(`${indent}- not diffed (ignoreChanges): ${c.ignored.map(code).join(", ")}`);
  if (!opts.brief) {
    // A file writer's stdin is the file: its diff is shown once, under "Rendered host files".
    const texts = c.changes.filter((x) => x.path !== "stdin" && (isLongText(x.before) || isLongText(x.after)) && !holdsSecret(x.before) && !holdsSecret(x.after));
    for (const ch of texts.slice(0, 3)) {
      out.push("", `${indent}<details><summary>${code(ch.path)} line diff</summary>`, "", textDiff(String(ch.before ?? ""), String(ch.after ?? "")), "", `${indent}</details>`, "");
    }
  }
  return out;
}

function attention(entries: StackEntry[]): string[] {
  const items: string[] = [];
  for (const { stack, diff } of entries) {
    if (!diff) continue;
    for (const c of diff.resources) {
      if (c.kind === "delete" && protectedBefore(c)) {
        items.push(`- **${stack}** · 🔒 **delete** of protected ${label(c)}: the engine refuses to delete a resource protected in state, so \`pulumi up\` fails; if the deletion is meant, it is unprotected first in its own reviewed change (a switch's \`discard\`, or \`pulumi state unprotect\`)`);
      }
    }
    for (const c of diff.resources) {
      if ((c.kind === "replace" || c.kind === "maybe-replace") && (c.protect.before || c.protect.after)) {
        const verb = c.kind === "replace" ? "replace" : "possible replace";
        const state = c.protect.after
          ? "protected in the program and in state: the engine refuses it, `pulumi up` fails"
          : "unprotected by this change for the replacement (a recovery switch): the old one is deleted";
        items.push(`- **${stack}** · 🔒 **${verb}** of ${label(c)} because ${reasons(c)}: ${state}`);
      }
    }
    for (const c of diff.resources) {
      if (c.kind !== "delete" && c.kind !== "replace" && c.kind !== "maybe-replace" && c.protect.before === true && c.protect.after === false) {
        items.push(`- **${stack}** · 🔓 protection removed from ${label(c)}`);
      }
    }
    for (const v of diff.policy.added) items.push(`- **${stack}** · ❌ new policy violation **${v.policyName}**: ${v.message}`);
  }
  return items;
}

function counts(d: PlanDiff) {
  const n = (k: ResourceChange["kind"][]) => d.resources.filter((c) => k.includes(c.kind)).length;
  return {
    added: n(["add"]),
    changed: n(["update"]),
    replaced: n(["replace", "maybe-replace"]),
    deleted: n(["delete"]),
    runs: d.resources.filter((c) => c.runs).length,
  };
}

function policyCell(d: PlanDiff): string {
  const total = d.policy.added.length + d.policy.remaining.length;
  if (!total) return d.policy.resolved.length ? `✅ none (${d.policy.resolved.length} fixed)` : "✅ none";
  return `❌ ${total} violation(s)${d.policy.added.length ? `, ${d.policy.added.length} new` : ""}${d.policy.resolved.length ? `, ${d.policy.resolved.length} fixed` : ""}`;
}

function isEmpty(d: PlanDiff): boolean {
  return !d.resources.length && !d.files.length && !d.policy.added.length && !d.policy.resolved.length;
}

function fileLines(files: FileChange[], opts: MarkdownOptions): string[] {
  const out: string[] = [];
  for (const f of files) {
    const where = code(`${f.host}:${f.path}`);
    const secret = f.secret ? " (secret file: content not in the plan)" : "";
    if (f.kind === "add") out.push(`- added ${where} mode ${f.mode.after}${secret}`);
    else if (f.kind === "delete") out.push(`- removed from the plan ${where}${secret} (the host keeps it: nothing deletes files)`);
    else if (f.kind === "mode") out.push(`- ${where}: mode ${f.mode.before} → ${f.mode.after}${secret}`);
    else {
      const patch = structuredPatch("a", "b", f.before ?? "", f.after ?? "", "", "", { context: 0 });
      const plus = patch.hunks.reduce((n, h) => n + h.lines.filter((l) => l.startsWith("+")).length, 0);
      const minus = patch.hunks.reduce((n, h) => n + h.lines.filter((l) => l.startsWith("-")).length, 0);
      out.push(`- changed ${where} (+${plus} −${minus} lines)${f.mode.before !== f.mode.after ? `, mode ${f.mode.before} → ${f.mode.after}` : ""}`);
      if (!opts.brief) out.push("", "  <details><summary>diff</summary>", "", textDiff(f.before ?? "", f.after ?? ""), "", "  </details>", "");
    }
  }
  return out;
}

function stackSection(entry: StackEntry, opts: MarkdownOptions): string[] {
  const out = [`### ${entry.stack}`, ""];
  if (!entry.diff) {
    out.push(`⚠️ not compared: ${entry.problem ?? "no plan"}`, "");
    return out;
  }
  const d = entry.diff;
  if (isEmpty(d)) {
    out.push(`No change: the same ${d.counts.head} resources, files and policy results.`, "");
    return out;
  }
  const of = (kinds: ResourceChange["kind"][]) => d.resources.filter((c) => kinds.includes(c.kind));
  const oneShots = d.resources.filter((c) => c.runs && c.oneShot);
  if (oneShots.length) {
    out.push(`#### Recovery steps and operations that run at the next \`pulumi up\` (${oneShots.length})`, "");
    for (const c of oneShots) out.push(`- ${c.oneShot === "operation" ? "operation" : "recovery step"} ${code(c.name)}${c.kind === "add" ? "" : ` (runs again: ${reasons(c)})`}: ${c.command ? code(c.command) : ""}`);
    out.push("");
  }
  // Causes first: what the change replaces itself, then what is replaced because it takes an input from those.
  const cascaded = (c: ResourceChange) => (c.dependsOnReplaced.length && c.because.every((b) => b.endsWith(", replaced)")) ? 1 : 0);
  const replaced = of(["replace", "maybe-replace"]).sort((a, b) => cascaded(a) - cascaded(b));
  if (replaced.length) {
    out.push(`#### Replaced (${replaced.length})`, "");
    for (const c of replaced) {
      const flags = [c.protect.after ? "🔒 protected" : "", c.deleteBeforeReplace ? "deleted before its replacement exists" : ""].filter(Boolean);
      out.push(`- ${c.kind === "maybe-replace" ? "**may be replaced**" : "**replaced**"} ${label(c)} because ${reasons(c)}${c.why ? ` (${c.why})` : ""}${flags.length ? ` · ${flags.join(" · ")}` : ""}`);
      out.push(...changeLines(c, opts));
      const dependents = d.resources.filter((x) => x.dependsOnReplaced.includes(c.name) && x.kind !== "replace" && x.kind !== "maybe-replace");
      const takeInputs = dependents.filter((x) => x.unknownInputs.length);
      const ordering = dependents.length - takeInputs.length;
      if (takeInputs.length) {
        out.push(`  - ${takeInputs.length} resource(s) take inputs from it, unknown until deploy (an update, by the replace rules; \`pulumi preview\` says): ${takeInputs.slice(0, 15).map((x) => `${code(x.name)} (${x.unknownInputs.join(", ")})`).join(", ")}${takeInputs.length > 15 ? ", ..." : ""}`);
      }
      if (ordering) out.push(`  - ${ordering} more depend on it for ordering only, or through a secret input the plan cannot look into`);
    }
    out.push("");
  }
  const deleted = of(["delete"]);
  if (deleted.length) {
    out.push(`#### Deleted (${deleted.length})`, "");
    for (const c of deleted) out.push(`- ${c.protect.before ? "🔒 " : ""}${label(c)}${c.oneShot ? " (a one-shot step: removing it does nothing on the host)" : ""}`);
    out.push("");
  }
  const added = of(["add"]);
  if (added.length) {
    out.push(`#### Added (${added.length})`, "");
    for (const c of added.slice(0, 40)) out.push(`- ${label(c)}${c.protect.after ? " 🔒" : ""}`);
    if (added.length > 40) out.push(`- ... and ${added.length - 40} more`);
    out.push("");
  }
  const changed = of(["update"]);
  if (changed.length) {
    out.push(`#### Changed in place (${changed.length})`, "");
    for (const c of changed) {
      const prot = c.protect.before !== c.protect.after ? ` · protect ${c.protect.before} → ${c.protect.after}` : "";
      const run = c.type.startsWith("command:") ? (c.runs ? " · runs its command again" : c.oneShot ? " · one-shot: does not run again" : "") : "";
      out.push(`- ${label(c)}${prot}${run}`);
      out.push(...changeLines(c, opts));
    }
    out.push("");
  }
  const affected = of(["affected"]);
  if (affected.length) out.push(`${affected.length} otherwise unchanged resource(s) depend on a replaced one (counted under it).`, "");
  const otherRuns = d.resources.filter((c) => c.runs && !c.oneShot);
  if (otherRuns.length) {
    out.push(`<details><summary>Other commands that run on hosts at the next <code>pulumi up</code> (${otherRuns.length}: file writers, compose up, ...)</summary>`, "");
    for (const c of otherRuns.slice(0, 60)) out.push(`- ${code(c.name)}`);
    out.push("", "</details>", "");
  }
  if (d.files.length) {
    out.push(`#### Rendered host files (${d.files.length})`, "", ...fileLines(d.files, opts), "");
  }
  if (d.policy.added.length || d.policy.resolved.length || d.policy.remaining.length) {
    out.push("#### Policy (lazarus-invariants)", "");
    for (const v of d.policy.added) out.push(`- ❌ new: **${v.policyName}**: ${v.message}`);
    for (const v of d.policy.remaining) out.push(`- ❌ still: **${v.policyName}**: ${v.message}`);
    for (const v of d.policy.resolved) out.push(`- ✅ fixed: **${v.policyName}**: ${v.message}`);
    out.push("");
  }
  return out;
}

function render(entries: StackEntry[], opts: MarkdownOptions): string {
  const out = [COMMENT_MARKER, "## Lazarus: what this change does to each stack", ""];
  const refs = opts.baseRef || opts.headRef ? `Base ${code(opts.baseRef ?? "?")} → head ${code(opts.headRef ?? "?")}. ` : "";
  out.push(`${refs}Offline plans of every stack (\`npm run plan -- --json\`) compared by \`npm run plan:diff\`: no cloud credentials, no secrets. "Replaced" follows the providers' replace rules (cli/replaceRules.ts); the real \`pulumi preview\` has the last word.`, "");
  out.push("| stack | added | changed | replaced | deleted | commands run on hosts | policy |", "|---|---:|---:|---:|---:|---:|---|");
  for (const e of entries) {
    if (!e.diff) out.push(`| ${e.stack} | – | – | – | – | – | ⚠️ not compared |`);
    else if (isEmpty(e.diff)) out.push(`| ${e.stack} | 0 | 0 | 0 | 0 | 0 | ${policyCell(e.diff)} |`);
    else {
      const c = counts(e.diff);
      out.push(`| ${e.stack} | ${c.added} | ${c.changed} | ${c.replaced} | ${c.deleted} | ${c.runs} | ${policyCell(e.diff)} |`);
    }
  }
  out.push("");
  const first = attention(entries);
  if (first.length) out.push("### ⚠️ Read these first", "", ...first, "");
  for (const e of entries) out.push(...stackSection(e, opts));
  return out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n";
}

/**
 * The comment for every stack. Fits `maxChars` (default MAX_COMMENT_CHARS): first without line diffs, then cut with a
 * closing note (the full text is in the workflow's job summary and artifact).
 */
export function renderDiffMarkdown(entries: StackEntry[], opts: MarkdownOptions = {}): string {
  const max = opts.maxChars ?? MAX_COMMENT_CHARS;
  let text = render(entries, opts);
  if (text.length <= max) return text;
  text = render(entries, { ...opts, brief: true });
  if (text.length <= max) return text + "\n_Line diffs left out to fit a comment: the workflow's job summary has them._\n";
  const note = "\n\n_Cut to fit a comment: the full diff is in the workflow's job summary and its `plan-diff` artifact._\n";
  let cut = text.slice(0, max - note.length - 20).replace(/\n[^\n]*$/, "");
  // Close a <details> block the cut left open (brief text has no code fences to close).
  if ((cut.match(/<details>/g) ?? []).length > (cut.match(/<\/details>/g) ?? []).length) cut += "\n\n</details>";
  return cut + note;
}
