// `lazarus dr rebuild` on the real engine with the real program: the engine test stack (test/engine/goodgoStack.ts:
// GoodGo alone on an existing server, the loopback sshd of test/support/planOverSsh.ts, fake-docker for Docker) is
// brought up, its deploy directory is lost (deleted on the "host"), and the CLI rebuilds it through
// lib/engine/driver.ts: switches in a copy of Pulumi.staging.yaml, refresh, preview, up with one progress line per
// engine step, and the report. Found here: a refresh does not see the files gone (they are command resources, whose
// read does not look at the host, keyed on the server's address, which did not change), so the first version's up
// rewrote nothing and the data services failed on the missing .env ("DB_USER must be set in the env file"); the
// rebuild now replaces the platform's file writers and prepare on an existing server (stacks/goodgo/disasterRecovery.ts
// `rerun`, `pulumi up --replace`), so they run again.
// How far it gets here: the recovery chain's first step (the data services, through fake-docker) runs; the off-site
// route and fetch need the stack's Spaces bucket, which this machine cannot reach, so the chain stops there, and that
// is what this shows end to end on the real engine: the failure line naming the step and what to do next, exit 5,
// the report, the user's stack file untouched, and that a second run with the same label does not run the finished
// steps again. (The full chain against an S3 stand-in is test/stacks/goodgo/existing-host-over-ssh.test.ts, under
// the mock runtime; health probing is covered by test/cli/dr-rebuild.test.ts.)
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrCli } from "../../cli/dr/main";
import type { DrReport } from "../../lib/dr/report";
import { checkGantt } from "../support/gantt";
import { gfmToHtml } from "../support/markdown";
import { startPlanHost, type PlanHost } from "../support/planOverSsh";
import { engineGate } from "./engineGate";
import { ENGINE_STACK, GOODGO_PREFIX as PREFIX, GOODGO_SANDBOXED, goodgoOnHostConfig, goodgoSecrets, openGoodgoStack, type GoodgoEngineStack } from "./goodgoStack";

const gate = engineGate({ command: true });
const PASSPHRASE = "lazarus-engine-test";

if (gate.mustFail) {
  describe("engine: lazarus dr rebuild", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)(`engine: lazarus dr rebuild of GoodGo on an existing host${gate.reason ? ` (${gate.reason})` : ""}`, () => {
    let host: PlanHost;
    let goodgo: GoodgoEngineStack;
    let deployDir: string;
    let side: string;
    const runs: { code: number; stdout: string; stderr: string; progress: string; report: DrReport; markdown: string }[] = [];

    const rebuild = async () => {
      let progress = "";
      const reportDir = join(side, `reports-${runs.length}`);
      const r = await runDrCli(
        ["dr", "rebuild", "--stack", ENGINE_STACK, "--platform", "goodgo", "--label", "r1", "--project-dir", goodgo.projectDir, "--backend-dir", goodgo.stack.backendDir, "--report-dir", reportDir, "--skip-health"],
        { env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE }, progress: (t) => void (progress += t), interactive: false },
      );
      const report = JSON.parse(readFileSync(join(reportDir, "rebuild-staging-r1.json"), "utf8")) as DrReport;
      const run = { ...r, progress, report, markdown: readFileSync(join(reportDir, "rebuild-staging-r1.md"), "utf8") };
      runs.push(run);
      return run;
    };

    beforeAll(async () => {
      side = mkdtempSync(join(tmpdir(), "lazarus-engine-dr-"));
      chmodSync(side, 0o755);
      host = await startPlanHost({ sandboxed: GOODGO_SANDBOXED });
      deployDir = join(host.root, "srv", "goodgo");
      goodgo = await openGoodgoStack(goodgoOnHostConfig(host.ssh, deployDir), goodgoSecrets(readFileSync(host.ssh.keyFile, "utf8")));
      await goodgo.stack.up();
      // The loss: everything under the deploy directory is gone.
      rmSync(deployDir, { recursive: true, force: true });
    }, 600_000);

    afterAll(async () => {
      await host?.stop();
      goodgo?.remove();
      if (side) rmSync(side, { recursive: true, force: true });
    });

    it("rebuilds on the real engine until the step that cannot run here, and names it with what to do next (exit 5)", async () => {
      const stackFile = readFileSync(join(goodgo.projectDir, `Pulumi.${ENGINE_STACK}.yaml`), "utf8");
      const r = await rebuild();
      expect(r.code, r.progress).toBe(5);
      expect(r.report.outcome).toBe("failed");
      // The phases in order, each with its time.
      expect(r.report.steps.filter((s) => s.key.startsWith("rebuild/")).map((s) => `${s.key} ${s.status}`)).toEqual(["rebuild/refresh ok", "rebuild/preview ok", "rebuild/up failed"]);
      // The engine's steps in the timeline: the deploy dir's files written again, the chain's first step done.
      const engineSteps = r.report.steps.filter((s) => s.platform === "goodgo");
      expect(engineSteps.find((s) => s.key === "goodgo/data-services")).toMatchObject({ status: "ok" });
      expect(engineSteps.some((s) => s.title.includes(`${PREFIX}-software-file`) && s.status === "ok")).toBe(true);
      const failed = engineSteps.filter((s) => s.status === "failed");
      expect(failed.length).toBeGreaterThan(0);
      expect(failed[0].key).toMatch(/^goodgo\/(restore-route|fetch-backup|pitr-restore|restore-database)$/);
      expect(r.progress).toMatch(new RegExp(`✖ failed at [^\\n]*\\(${failed[0].key}\\): .+\\. Next: fix what .* and run the same command again with --label r1`));
      expect(r.progress).toContain("✔ create data-services");
      // The existing server's file writers and prepare were replaced, so they ran again: the .env is back.
      expect(r.report.notes.join("\n")).toMatch(/replaced so their steps run again \(goodgo: the server is the same address.*\): \d+ resources/);
      expect(existsSync(join(deployDir, ".env"))).toBe(true);
      // The user's stack file is as it was; the copy is gone.
      expect(readFileSync(join(goodgo.projectDir, `Pulumi.${ENGINE_STACK}.yaml`), "utf8")).toBe(stackFile);
      expect(readdirSync(join(goodgo.projectDir, ".lazarus/dr")).filter((f) => f.startsWith("work-"))).toEqual([]);
      // The report's Markdown renders, and its gantt holds the timeline.
      expect(gfmToHtml(r.markdown)).toContain("<strong>Outcome: failed</strong>");
      const gantt = checkGantt(/```mermaid\n([\s\S]*?)\n```/.exec(r.markdown)![1]);
      expect(gantt.sections).toEqual(["run", "goodgo"]);
    }, 900_000);

    it("a second run with the same label does not run the finished steps again; it stops at the same step", async () => {
      const r = await rebuild();
      expect(r.code).toBe(5);
      const keys = r.report.steps.filter((s) => s.platform === "goodgo").map((s) => s.key);
      expect(keys).not.toContain("goodgo/data-services");
      expect(r.report.steps.find((s) => s.status === "failed" && s.platform === "goodgo")!.key).toBe(runs[0].report.steps.find((s) => s.status === "failed" && s.platform === "goodgo")!.key);
      expect(existsSync(join(deployDir, "docker-compose.prod.yml"))).toBe(true);
    }, 900_000);
  });
}
