// `lazarus dr drill`: the drill's measurement core (lib/dr/drill.ts: a scratch copy of a staging or local stack, the
// data host lost on purpose and brought back, RTO and RPO measured) run with progress lines, its report written as
// JSON and Markdown (and as the last drill, which `dr plan` reads its estimates from), and RTO/RPO printed against
// each platform's runbook targets.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isProtectedStack } from "../../config/checks";
import { runDrill } from "../../lib/dr/drill";
import { objectivesTable, renderReportMarkdown, targetsMissed } from "../../lib/dr/markdown";
import type { DrReport, DrStep } from "../../lib/dr/report";
import { DRILL_ROUTES, type DrillRoute } from "../../stacks/disasterRecovery";
import { DR_EXIT } from "./exitCodes";
import { DrInputError } from "./rebuildPlan";

export interface DrillCliOptions {
  stack: string;
  platform?: string;
  workDir?: string;
  /** logical or physical; default: the drill file's `route` (itself logical by default). */
  route?: string;
  reportDir: string;
  /** Where `dr plan` reads the last drill from; the report is copied there. */
  lastDrill: string;
  json?: boolean;
}

export type RunDrill = typeof runDrill;

export async function runDrillCommand(o: DrillCliOptions, progress: (line: string) => void, drill: RunDrill = runDrill): Promise<{ code: number; stdout: string; report: DrReport }> {
  if (isProtectedStack(o.stack)) {
    throw new DrInputError(`--stack ${o.stack}: a drill loses the data host on purpose; it runs against a scratch copy of a staging or local stack, never a protected one (example: --stack staging)`);
  }
  if (o.route !== undefined && !(DRILL_ROUTES as readonly string[]).includes(o.route)) {
    throw new DrInputError(`--route ${JSON.stringify(o.route)}: is not a drill route (one of ${DRILL_ROUTES.join(", ")}: logical restores a dump, physical a pgBackRest backup and the archived WAL to the latest point; example: --route physical)`);
  }
  const report = await drill({
    stack: o.stack,
    platform: o.platform,
    workDir: o.workDir,
    ...(o.route !== undefined ? { route: o.route as DrillRoute } : {}),
    onStep: (s: DrStep) => {
      if (s.status === "running") progress(`… ${s.title}\n`);
      else progress(`${s.status === "ok" ? "✔" : s.status === "failed" ? "✖" : "↓"} ${s.title}${s.endedAt ? `  ${((Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)} s` : ""}${s.detail ? `: ${s.detail}` : ""}\n`);
    },
  });
  const dir = resolve(o.reportDir);
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `drill-${report.stack}-${report.startedAt.replace(/[:.]/g, "-")}`);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + "\n");
  writeFileSync(`${base}.md`, renderReportMarkdown(report));
  mkdirSync(dirname(resolve(o.lastDrill)), { recursive: true });
  copyFileSync(`${base}.json`, resolve(o.lastDrill));

  const missed = targetsMissed(report.objectives);
  const code = report.outcome !== "ok" ? DR_EXIT.failed : missed ? DR_EXIT.targetMissed : DR_EXIT.ok;
  const failed = report.steps.find((s) => s.status === "failed");
  const text = [
    `drill of ${report.stack} (${report.platforms.join(", ")}): ${report.outcome}${failed ? `, failed at ${failed.title} (${failed.key}): ${failed.detail ?? ""}` : ""}`,
    ...(report.route ? [`route: ${report.route}${report.backup ? `; backup taken: ${report.backup}` : ""}`] : []),
    ...report.restored.map((r) => `restored (${r.platform}, ${r.route}): ${r.source}${r.checksum ? `, ${r.checksum}` : ""}`),
    "",
    objectivesTable(report.objectives),
    "",
    missed ? "A runbook target was MISSED (exit 6)." : report.outcome === "ok" ? "Every stated target was met." : "",
    `report: ${base}.json, ${base}.md (also ${resolve(o.lastDrill)}, which \`lazarus dr plan\` reads)`,
    "",
  ].join("\n");
  return { code, stdout: o.json ? JSON.stringify(report, null, 2) + "\n" : text, report };
}
