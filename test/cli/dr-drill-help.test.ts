// `lazarus dr drill` with a tiny local stand-in for the drill core (lib/dr/drill.ts runDrill, built on the dr-drill
// branch): the stand-in only returns a report, so this shows the command's part alone: progress lines, the reports
// written (and copied to where `dr plan` reads the last drill), RTO/RPO against targets, and the exit codes.
// And `--help` of every command, run through commander.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runDrCli } from "../../cli/dr/main";
import type { DrReport, DrStep } from "../../lib/dr/report";
import { PROJECT_DIR } from "../support/stacks";

const fixture = JSON.parse(readFileSync(join(__dirname, "../fixtures/dr/last-drill.json"), "utf8")) as DrReport;

function standIn(report: DrReport) {
  const seen: unknown[] = [];
  return {
    seen,
    runDrill: async (opts: { stack: string; platform?: string; workDir?: string; route?: string; onStep?: (s: DrStep) => void }) => {
      seen.push({ stack: opts.stack, platform: opts.platform, workDir: opts.workDir, ...(opts.route ? { route: opts.route } : {}) });
      for (const s of report.steps) opts.onStep?.(s);
      return report;
    },
  };
}

async function drill(report: DrReport, ...args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "lazarus-dr-drill-"));
  const s = standIn(report);
  let progress = "";
  const r = await runDrCli(["dr", "drill", "--project-dir", PROJECT_DIR, "--report-dir", join(dir, "reports"), "--last-drill", join(dir, "last-drill.json"), ...args], {
    runDrill: s.runDrill,
    progress: (t) => void (progress += t),
  });
  return { ...r, dir, progress, seen: s.seen };
}

describe("lazarus dr drill", () => {
  it("runs the drill core, prints RTO/RPO against the runbook's targets, writes the reports and the last drill", async () => {
    const r = await drill(fixture, "--stack", "staging", "--platform", "goodgo", "--work-dir", "/tmp/x");
    expect(r.code).toBe(0);
    expect(r.seen).toEqual([{ stack: "staging", platform: "goodgo", workDir: "/tmp/x" }]);
    expect(r.progress).toContain("✔ data services  90.0 s\n");
    expect(r.progress).toContain("✖ flush redis (failed once)  10.0 s\n");
    expect(r.stdout).toContain("| goodgo | 21 min 40 s | 1 h 00 min 00 s | met | 7 min 00 s (12 rows) | 24 h 00 min 00 s | met | runbook 001 |");
    expect(r.stdout).toContain("Every stated target was met.");
    expect(JSON.parse(readFileSync(join(r.dir, "last-drill.json"), "utf8"))).toEqual(fixture);
    expect(existsSync(join(r.dir, "reports", "drill-staging-2026-11-30T10-00-00-000Z.md"))).toBe(true);
  });

  it("exits 6 when a target is missed, and says so", async () => {
    const slow = { ...fixture, objectives: [{ ...fixture.objectives[0], rtoSeconds: 5000 }] };
    const r = await drill(slow, "--stack", "staging");
    expect(r.code).toBe(6);
    expect(r.stdout).toContain("| goodgo | 1 h 23 min 20 s | 1 h 00 min 00 s | missed |");
    expect(r.stdout).toContain("A runbook target was MISSED (exit 6).");
  });

  it("exits 5 when the drill failed, naming the step", async () => {
    const failed: DrReport = { ...fixture, outcome: "failed", steps: [{ ...fixture.steps[1], status: "failed", detail: "compose up timed out" }] };
    const r = await drill(failed, "--stack", "staging", "--json");
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout).outcome).toBe("failed");
  });

  it("--route physical goes to the drill core; a bad --route is refused (exit 2) naming the option, the routes and an example", async () => {
    const r = await drill(fixture, "--stack", "staging", "--route", "physical");
    expect(r.code).toBe(0);
    expect(r.seen).toEqual([{ stack: "staging", platform: undefined, workDir: undefined, route: "physical" }]);
    const bad = await drill(fixture, "--stack", "staging", "--route", "wal");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--route "wal": is not a drill route \(one of logical, physical: .*example: --route physical\)/);
    expect(bad.seen).toEqual([]);
    const help = await runDrCli(["dr", "drill", "--help"]);
    expect(help.stdout).toMatch(/--route <route>\s+logical \(a pg_dump backup restored/);
  });

  it("refuses a protected stack (exit 2) before the drill core runs", async () => {
    const r = await drill(fixture, "--stack", "prod");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--stack prod: a drill loses the data host on purpose; .*never a protected one \(example: --stack staging\)/);
    expect(r.seen).toEqual([]);
  });
});

describe("lazarus dr --help", () => {
  it.each([["dr"], ["dr", "plan"], ["dr", "rebuild"], ["dr", "drill"]])("%j --help prints usage and the exit codes, exit 0", async (...cmd) => {
    const r = await runDrCli([...cmd, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: lazarus ${cmd.join(" ")} \\[options\\]`));
    for (const code of ["0  done", "1  unexpected", "2  bad input", "4  refused", "5  failed", "6  drill done"]) expect(r.stdout).toContain(code);
  });

  it("rebuild --help documents the confirmation, the copy and the report", async () => {
    const r = await runDrCli(["dr", "rebuild", "--help"]);
    expect(r.stdout).toContain("--confirm <token>");
    expect(r.stdout).toContain("--write-config");
    expect(r.stdout).toContain("--report-dir <dir>");
    expect(r.stdout).toContain("--json");
  });
});
