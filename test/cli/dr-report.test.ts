// The DR report as Markdown (lib/dr/markdown.ts): rendered by cmark-gfm (the C library GitHub's renderer is built on)
// and its Mermaid gantt checked line by line against the gantt grammar's structure.
// What this does NOT check (no mermaid-cli offline): see test/support/gantt.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderGantt, renderReportMarkdown, targetsMissed, verdict } from "../../lib/dr/markdown";
import type { DrReport } from "../../lib/dr/report";
import { checkGantt } from "../support/gantt";
import { gfmToHtml, headings } from "../support/markdown";

const drill = JSON.parse(readFileSync(join(__dirname, "../fixtures/dr/last-drill.json"), "utf8")) as DrReport;

describe("the DR report in Markdown", () => {
  const md = renderReportMarkdown(drill);
  const html = gfmToHtml(md);

  it("renders with cmark-gfm: outcome, objectives, restored backups, timeline, notes", () => {
    expect(headings(html)).toEqual(["h2 Recovery objectives", "h2 Restored backups", "h2 Timeline", "h2 Notes"]);
    expect(html).toContain("<strong>Outcome: ok</strong> in 21 min 40 s");
    expect((html.match(/<table>/g) ?? []).length).toBe(3);
    // The restored backup with its checksum, in a table cell.
    expect(html).toContain("<td>goodgo_20261130T020000Z.dump</td>");
    expect(html).toContain("<td>sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</td>");
    // RTO and RPO against the runbook's targets.
    expect(html).toMatch(/<td>goodgo<\/td>\s*<td>21 min 40 s<\/td>\s*<td>1 h 00 min 00 s<\/td>\s*<td>met<\/td>\s*<td>7 min 00 s \(12 rows\)<\/td>\s*<td>24 h 00 min 00 s<\/td>\s*<td>met<\/td>/);
    // The gantt is a fenced code block with the mermaid info string (what GitHub draws as a chart).
    expect(html).toContain('<pre><code class="language-mermaid">gantt');
  });

  it("draws the timeline as a Mermaid gantt: a section per platform, a task per step, failed steps marked crit", () => {
    const block = /```mermaid\n([\s\S]*?)\n```/.exec(md)![1];
    expect(block).toBe(renderGantt(drill));
    const g = checkGantt(block);
    expect(g.sections).toEqual(["run", "goodgo"]);
    expect(g.tasks.map((t) => t.tag)).toEqual(["done", "done", "done", "done", "crit"]);
    expect(g.tasks[2]).toMatchObject({ name: "restore database", start: Date.parse("2026-11-30T10:03:00.000Z"), end: Date.parse("2026-11-30T10:13:00.000Z") });
  });

  it("keeps step titles that hold gantt syntax (':', '#', ';') from breaking the chart, and gives a 0 s step a length", () => {
    const at = "2026-12-01T00:00:00.000Z";
    const report: DrReport = { ...drill, steps: [{ key: "x/y", platform: "x", title: "update goodgo-staging-recover-host-r1: #1; done", startedAt: at, endedAt: at, status: "ok" }] };
    const g = checkGantt(renderGantt(report));
    expect(g.tasks[0]).toMatchObject({ name: "update goodgo-staging-recover-host-r1 1 done", end: Date.parse(at) + 1 });
  });

  it("names the failed step and what to do next, and says when nothing was restored", () => {
    const failed: DrReport = {
      ...drill,
      outcome: "failed",
      restored: [],
      steps: [{ key: "goodgo/restore-database", platform: "goodgo", title: "restore | database", startedAt: drill.startedAt, endedAt: drill.endedAt, status: "failed", detail: "pg_restore exited 1. Next: rerun" }],
    };
    const h = gfmToHtml(renderReportMarkdown(failed));
    expect(h).toContain("Failed at <strong>restore | database</strong> (<code>goodgo/restore-database</code>): pg_restore exited 1. Next: rerun");
    expect(h).toContain("Nothing was restored from a backup.");
  });

  it("judges targets: met, missed, none stated, not measured", () => {
    expect(verdict(10, 20)).toBe("met");
    expect(verdict(30, 20)).toBe("missed");
    expect(verdict(30, undefined)).toBe("no target");
    expect(verdict(undefined, 20)).toBe("not measured");
    expect(targetsMissed([{ platform: "goodgo", rtoSeconds: 4000, rtoTargetSeconds: 3600 }])).toBe(true);
    expect(targetsMissed([{ platform: "kro", rtoSeconds: 4000 }])).toBe(false);
  });
});
