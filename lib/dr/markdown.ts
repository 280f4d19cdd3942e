// A DR report (lib/dr/report.ts) as Markdown for people: the outcome first, the recovery objectives against the
// runbooks' targets, what was restored from which backup (with its checksum), the timeline step by step, and the same
// timeline as a Mermaid gantt chart (GitHub renders it as a picture). cmark-gfm checks the Markdown in the tests.
import type { DrReport, DrStep, Objectives } from "./report";

/** "1 h 02 min 05 s", "4 min 10 s", "12.3 s". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h ? `${h} h ${String(m).padStart(2, "0")} min ${String(rest).padStart(2, "0")} s` : `${m} min ${String(rest).padStart(2, "0")} s`;
}

export function stepSeconds(step: DrStep): number | undefined {
  if (!step.endedAt) return undefined;
  return (Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000;
}

/** A table cell: no pipes or newlines. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

export type Verdict = "met" | "missed" | "no target" | "not measured";

export function verdict(measured: number | undefined, target: number | undefined): Verdict {
  if (measured === undefined) return "not measured";
  if (target === undefined) return "no target";
  return measured <= target ? "met" : "missed";
}

/** True when any measured objective is over its runbook target. */
export function targetsMissed(objectives: Objectives[]): boolean {
  return objectives.some((o) => verdict(o.rtoSeconds, o.rtoTargetSeconds) === "missed" || verdict(o.rpoSeconds, o.rpoTargetSeconds) === "missed");
}

const fmt = (s: number | undefined, none: string) => (s === undefined ? none : formatDuration(s));

/** The objectives as a GFM table (also printed by `lazarus dr drill`). */
export function objectivesTable(objectives: Objectives[]): string {
  const rows = objectives.map((o) =>
    [
      o.platform,
      fmt(o.rtoSeconds, "not measured"),
      fmt(o.rtoTargetSeconds, "none stated"),
      verdict(o.rtoSeconds, o.rtoTargetSeconds),
      o.rpoSeconds === undefined ? "not measured" : `${formatDuration(o.rpoSeconds)}${o.rpoRows !== undefined ? ` (${o.rpoRows} rows)` : ""}`,
      fmt(o.rpoTargetSeconds, "none stated"),
      verdict(o.rpoSeconds, o.rpoTargetSeconds),
      o.targetSource ?? "",
    ]
      .map(cell)
      .join(" | "),
  );
  return ["| platform | RTO | RTO target | | RPO | RPO target | | target source |", "|---|---|---|---|---|---|---|---|", ...rows.map((r) => `| ${r} |`)].join("\n");
}

/** Mermaid gantt task names may not hold ":" (it ends the name), "#" or ";" (comment, statement end). */
function ganttName(text: string): string {
  const t = text.replace(/[:#;]/g, " ").replace(/\s+/g, " ").trim();
  return t.length > 60 ? `${t.slice(0, 57)}...` : t;
}

const GANTT_TAG: Record<DrStep["status"], string> = { ok: "done", failed: "crit", running: "active", skipped: "done" };

/**
 * The timeline as a Mermaid gantt: one section per platform (steps without one under "run"), times as Unix
 * milliseconds (`dateFormat x`), so a step of a few seconds still has a length. A step still running ends at the
 * report's end (or its start).
 */
export function renderGantt(report: DrReport): string {
  const lines = ["gantt", `    title lazarus dr ${report.kind} of ${report.stack}`, "    dateFormat x", "    axisFormat %H:%M:%S"];
  const sections = new Map<string, DrStep[]>();
  for (const s of report.steps) {
    const name = s.platform ?? "run";
    sections.set(name, [...(sections.get(name) ?? []), s]);
  }
  let n = 0;
  for (const [section, steps] of sections) {
    lines.push(`    section ${ganttName(section)}`);
    for (const s of steps) {
      const start = Date.parse(s.startedAt);
      const end = Math.max(start + 1, Date.parse(s.endedAt ?? report.endedAt ?? s.startedAt));
      lines.push(`    ${ganttName(s.title)} :${GANTT_TAG[s.status]}, t${++n}, ${start}, ${end}`);
    }
  }
  return lines.join("\n");
}

export function renderReportMarkdown(report: DrReport): string {
  const out: string[] = [];
  const took = report.endedAt ? ` in ${formatDuration((Date.parse(report.endedAt) - Date.parse(report.startedAt)) / 1000)}` : "";
  out.push(`# lazarus dr ${report.kind}: ${report.stack} (${report.platforms.join(", ") || "no platform"})`, "");
  out.push(`**Outcome: ${report.outcome}**${took}, started ${report.startedAt}.`, "");
  if (report.route) out.push(`Route: **${report.route}**${report.backup ? `; the drill's backup: ${cell(report.backup)}` : ""}.`, "");
  // The most specific failure: an engine step fails inside the `up` phase, which is listed before it.
  const failed = report.steps.filter((s) => s.status === "failed").pop();
  if (failed) out.push(`Failed at **${cell(failed.title)}** (\`${failed.key}\`): ${cell(failed.detail ?? "no detail")}`, "");

  out.push("## Recovery objectives", "");
  out.push(report.objectives.length ? objectivesTable(report.objectives) : "No objective was measured.", "");

  out.push("## Restored backups", "");
  if (report.restored.length) {
    out.push("| platform | database | route | from | checksum |", "|---|---|---|---|---|");
    for (const r of report.restored) out.push(`| ${[r.platform, r.database, r.route, r.source, r.checksum ?? "not reported"].map(cell).join(" | ")} |`);
    for (const r of report.restored.filter((x) => x.backupLabel)) {
      out.push("", `${r.platform}: pgBackRest backup set \`${r.backupLabel}\`, stanza \`${r.stanza ?? "?"}\`, repository \`${r.repository ?? "?"}\`${r.recoveredUntil ? `, WAL replayed to ${r.recoveredUntil}` : ""}.`);
    }
  } else out.push("Nothing was restored from a backup.");
  out.push("");

  out.push("## Timeline", "");
  if (report.steps.length) {
    out.push("| # | platform | step | started | took | status | detail |", "|---|---|---|---|---|---|---|");
    report.steps.forEach((s, i) => {
      const secs = stepSeconds(s);
      out.push(`| ${[String(i + 1), s.platform ?? "", s.title, s.startedAt, secs === undefined ? "" : formatDuration(secs), s.status, s.detail ?? ""].map(cell).join(" | ")} |`);
    });
    out.push("", "```mermaid", renderGantt(report), "```");
  } else out.push("No step ran.");
  out.push("");

  if (report.notes.length) {
    out.push("## Notes", "", ...report.notes.map((n) => `- ${cell(n)}`), "");
  }
  return out.join("\n");
}
