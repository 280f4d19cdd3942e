// Drift of the files Lazarus writes on hosts, which `pulumi refresh` cannot see (pulumi-command's resources have no
// read; README "Drift"): every file the offline plan renders for a platform's host is looked at over SSH and compared
// with the plan: missing, another mode, or (for files that are not secret) another content, by sha256.
// Secret files are compared by presence and mode only: their content is not in the offline plan, and no digest of a
// secret (a low-entropy password's sha256 can be guessed) is computed on the host or printed.
// Files whose planned content holds deploy-time placeholders (lib/runtime/mockProviders.ts) cannot be compared by
// content either, and are reported as such.
import { createHash } from "node:crypto";
import { UNKNOWN_MARK } from "./runtime/capture";

/** What the host is asked about: one line per file, `<secret|plain>\t<path>`. */
export interface ExpectedFile {
  path: string;
  /** Octal, as the plan writes it ("0644"). */
  mode: string;
  secret: boolean;
  /** sha256 of the planned content; undefined for secret files and placeholder content. */
  sha256?: string;
  /** Why the content is not compared, when it is not. */
  contentNotCompared?: string;
}

export interface HostFileDrift {
  path: string;
  kind: "missing" | "mode" | "content";
  expected?: string;
  live?: string;
}

/**
 * Run on the host (bash, the file list on stdin): for each file, `<path>\tmissing`, or `<path>\t<mode>\t<sha256 or ->`.
 * Paths come from the plan; they are read as data (never evaluated) and secret files are never hashed.
 */
export const HOST_FILE_CHECK = [
  "set -u",
  "while IFS=$'\\t' read -r kind path; do",
  '  if [ ! -f "$path" ]; then printf \'%s\\tmissing\\n\' "$path"; continue; fi',
  '  mode=$(stat -c %a -- "$path")',
  '  if [ "$kind" = secret ]; then printf \'%s\\t%s\\t-\\n\' "$path" "$mode"',
  '  else printf \'%s\\t%s\\t%s\\n\' "$path" "$mode" "$(sha256sum < "$path" | cut -d " " -f 1)"; fi',
  "done",
].join("\n");

const PLACEHOLDER = /<[a-z0-9-]+\.[A-Za-z]+>/;

export function expectedFiles(files: readonly { path: string; mode: string; secret: boolean; content?: string }[]): ExpectedFile[] {
  return files.map((f) => {
    if (f.secret || f.content === undefined) return { path: f.path, mode: f.mode, secret: true };
    if (f.content.includes(UNKNOWN_MARK) || PLACEHOLDER.test(f.content)) {
      return { path: f.path, mode: f.mode, secret: false, contentNotCompared: "its content depends on values known only at deploy time" };
    }
    return { path: f.path, mode: f.mode, secret: false, sha256: createHash("sha256").update(f.content).digest("hex") };
  });
}

/** The host check's stdin for these files. */
export function checkInput(expected: readonly ExpectedFile[]): string {
  return expected.map((f) => `${f.secret ? "secret" : "plain"}\t${f.path}\n`).join("");
}

/** Compares the host check's output with the plan; throws when the output does not answer for every file. */
export function compareHostFiles(expected: readonly ExpectedFile[], output: string): HostFileDrift[] {
  const live = new Map<string, string[]>();
  for (const line of output.split("\n").filter(Boolean)) {
    const [path, ...rest] = line.split("\t");
    live.set(path, rest);
  }
  const drift: HostFileDrift[] = [];
  for (const f of expected) {
    const got = live.get(f.path);
    if (!got) throw new Error(`the host check did not answer for ${f.path} (its output: ${JSON.stringify(output.slice(0, 200))})`);
    if (got[0] === "missing") {
      drift.push({ path: f.path, kind: "missing" });
      continue;
    }
    if (Number.parseInt(got[0], 8) !== Number.parseInt(f.mode, 8)) drift.push({ path: f.path, kind: "mode", expected: f.mode, live: got[0].padStart(4, "0") });
    if (f.sha256 && got[1] !== f.sha256) drift.push({ path: f.path, kind: "content", expected: f.sha256.slice(0, 12), live: (got[1] ?? "?").slice(0, 12) });
  }
  return drift;
}

export function renderHostDriftMarkdown(results: { platform: string; target: string; checked: number; drift?: HostFileDrift[]; error?: string; notCompared: number }[]): string {
  const out = ["## Files on hosts that differ from the plan", "", "| platform | host | files | differ | check |", "|---|---|---:|---:|---|"];
  for (const r of results) out.push(`| ${r.platform} | \`${r.target}\` | ${r.checked} | ${r.drift ? r.drift.length : "–"} | ${r.error ? "❌ failed" : "✅ complete"} |`);
  out.push("");
  for (const r of results) {
    if (!r.error && !r.drift?.length && !r.notCompared) continue;
    out.push(`### ${r.platform}`, "");
    if (r.error) out.push(`- ❌ ${r.error}`);
    for (const d of r.drift ?? []) {
      if (d.kind === "missing") out.push(`- **missing**: \`${d.path}\``);
      else if (d.kind === "mode") out.push(`- **mode**: \`${d.path}\`: plan ${d.expected}, host ${d.live}`);
      else out.push(`- **content**: \`${d.path}\`: plan sha256 ${d.expected}…, host ${d.live}…`);
    }
    if (r.notCompared) out.push(`- ${r.notCompared} file(s) compared by presence and mode only (secret, or content known only at deploy time)`);
    out.push("");
  }
  return out.join("\n").trimEnd() + "\n";
}
