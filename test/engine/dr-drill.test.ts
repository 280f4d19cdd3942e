// `lazarus dr drill`'s core (lib/dr/drill.ts runDrill) end to end on the engine test stack (test/engine/goodgoStack.ts):
// the real program with GoodGo alone on the loopback sshd host, run by the real engine and the real command provider.
// The drill loses the data host for real (kill -9 of PostgreSQL 15, its data directory removed), brings an empty one
// back and recovers through GoodGo's own recovery.database switch under the engine, with its writer running; RTO and
// RPO are checked against the writer's own acknowledged log and the backup's own content, never invented numbers.
//
// Real: the engine, the command provider's SSH sessions, sshd, bash, backup-job.sh/pg-backup.sh/pg-restore.sh as
// shipped, PostgreSQL 15 and Redis. Stand-ins (as in goodgo-existing-host.test.ts): containers (fake-docker; `compose
// exec` runs the command here against the real servers through fake-docker-exec), and the empty data host that comes
// back after the loss: on a compose host the postgres container restarts on its empty volume and its image initialises
// it; here test/support/drillTarget.ts runs initdb with the saved configuration (the drill file's `replace`).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrill } from "../../lib/dr/drill";
import { changeCount } from "../../lib/engine/driver";
import type { DrReport, DrStep } from "../../lib/dr/report";
import { REPO_ROOT } from "../../lib/engine/install";
import { recoveryTargets } from "../../lib/dr/targets";
import { DRILL_TABLE } from "../../lib/dr/writer";
import type { PostgresServer } from "../support/postgres";
import { openDrillStack, type DrillStack } from "./drillStack";
import { engineGate } from "./engineGate";

const GOODGO_RECOVERY_TARGETS = recoveryTargets("goodgo")!;
const gate = engineGate({ command: true });

if (gate.mustFail) {
  describe("engine: the DR drill", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)(`engine: the DR drill on the engine test stack${gate.reason ? ` (${gate.reason})` : ""}`, () => {
    let drill: DrillStack;
    let pg: PostgresServer;
    let backupsDir: string;

    beforeAll(async () => {
      drill = await openDrillStack({ rowsBeforeBackup: 150, rowsAfterBackup: 60 });
      ({ pg, backupsDir } = drill);
    }, 300_000);

    afterAll(async () => {
      await drill?.stop();
    });

    const refused = () => spawnSync("psql", ["-X", "-At", "-c", "SELECT 1"], { env: { ...process.env, ...pg.env, PGCONNECT_TIMEOUT: "3" }, encoding: "utf8" });

    it("loses the data host for real and brings it back through recovery.database: RTO measured, RPO = the writes after the backup", async () => {
      const seen: DrStep[] = [];
      let atLoss: { dataDirExists: boolean; psql: ReturnType<typeof refused> } | undefined;
      const report = await runDrill({
        stack: "staging",
        workDir: drill.projectDir,
        onStep: (s) => {
          seen.push(s);
          if (s.status !== "running") console.log(`${s.key}: ${s.status}${s.detail ? ` (${s.detail.slice(0, 300)})` : ""}`);
          // Right after the loss, before anything is brought back: what an operator would see.
          if (s.key === "drill/lose-data-host" && s.status === "ok") atLoss = { dataDirExists: existsSync(pg.dataDir), psql: refused() };
        },
      });
      const failed = report.steps.filter((s) => s.status === "failed");
      expect(failed, JSON.stringify(failed, null, 1)).toEqual([]);
      expect(report.outcome).toBe("ok");

      // The loss really happened.
      expect(atLoss?.dataDirExists).toBe(false);
      expect(atLoss?.psql.status).not.toBe(0);
      expect(atLoss?.psql.stderr).toMatch(/Connection refused|No such file|could not connect/);
      expect(report.writer).toMatchObject({ dataDirGone: true });

      // RPO against the writer's own log and the backup's own content.
      const w = report.writer!;
      expect(w.ackedAtBackup).toBeGreaterThanOrEqual(150);
      expect(w.ackedBeforeLoss).toBeGreaterThanOrEqual(w.ackedAtBackup + 60);
      const o = report.objectives.find((x) => x.platform === "goodgo")!;
      expect(o.rpoRows).toBe(w.ackedBeforeLoss - w.ackedAtBackup);
      const inBackup = spawnSync("bash", ["-c", `zstd -q -d -c -- "$1" | pg_restore --data-only -t ${DRILL_TABLE} -f - | grep -cE '^[0-9]+\\s'`, "_", join(backupsDir, report.restored[0]!.source.split("/").pop()!)], { encoding: "utf8" });
      expect(Number(inBackup.stdout.trim())).toBe(w.ackedAtBackup);
      expect(pg.sql(`SELECT count(*) FROM ${DRILL_TABLE} WHERE id < 1000000000`, "goodgo")).toBe(String(w.ackedAtBackup));
      expect(o.rpoSeconds).toBeGreaterThan(0);

      // RTO measured from the loss to the first write on the recovered database, beside runbook 001's targets.
      expect(o.rtoSeconds).toBeGreaterThan(0);
      expect(o.rtoSeconds).toBeCloseTo((Date.parse(w.healthyAt!) - Date.parse(w.lostAt!)) / 1000, 0);
      expect(o).toMatchObject({ rtoTargetSeconds: GOODGO_RECOVERY_TARGETS.rtoByRoute!.localBackup, rpoTargetSeconds: GOODGO_RECOVERY_TARGETS.rpoSeconds });

      // What was restored, as pg-restore.sh's result line said; the timeline in order, the chain's commands included.
      expect(report.restored).toEqual([{ platform: "goodgo", database: "goodgo", source: expect.stringMatching(/goodgo_[0-9TZ-]+\.dump\.zst$/), checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), route: "logical" }]);
      const sha = readFileSync(join(backupsDir, `${report.restored[0]!.source.split("/").pop()!}.sha256`), "utf8").split(/\s/)[0];
      expect(report.restored[0]!.checksum).toBe(`sha256:${sha}`);
      expect(report.steps.map((s) => s.key)).toEqual([
        "drill/check-target",
        "drill/baseline-up",
        "drill/start-writer",
        "drill/backup",
        "drill/writes-after-backup",
        "drill/lose-data-host",
        "drill/replace-data-host",
        "drill/recovery-switch",
        "drill/recovery-up",
        // The preflight passes here: this server does not archive and the repository has no stanza goodgo (README
        // "Drills": on a real host whose server archives, a replaced server is refused by it).
        "goodgo/recovery.database/archive-check",
        "goodgo/recovery.database/stop-apps",
        "goodgo/recovery.database/restore-database",
        "goodgo/recovery.database/flush-redis",
        "drill/healthy",
        "drill/measure",
      ]);
      expect(seen.filter((s) => s.status === "running")).toHaveLength(report.steps.length);
      console.log(`drill: ${report.steps.find((s) => s.key === "drill/measure")!.detail}`);

      // The drill's backup operation and recovery switch stay in the scratch stack file: a later up does nothing new.
      const again = await drill.goodgo.stack.up();
      expect(changeCount(again.summary)).toBe(0);
      expect(pg.sql(`SELECT count(*) FROM ${DRILL_TABLE} WHERE id < 1000000000`, "goodgo")).toBe(String(w.ackedAtBackup));
    }, 900_000);

    it("`lazarus dr drill` as an operator runs it: exit 0, RTO and RPO printed against runbook 001's targets, JSON and Markdown reports written and kept as the last drill", async () => {
      const out = mkdtempSync(join(tmpdir(), "dr-drill-cli-"));
      try {
        const cli = join(REPO_ROOT, "cli/dr/lazarus");
        const args = ["dr", "drill", "--stack", "staging", "--work-dir", drill.projectDir, "--report-dir", join(out, "reports"), "--last-drill", join(out, "last-drill.json")];
        // Asynchronous: the test's stand-ins answer from this process while the CLI runs.
        const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
          const child = spawn(cli, args, { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
          let stdout = "";
          let stderr = "";
          child.stdout.on("data", (d) => (stdout += d));
          child.stderr.on("data", (d) => (stderr += d));
          child.on("close", (code) => done({ code, stdout, stderr }));
        });
        expect(run.code, run.stdout + run.stderr).toBe(0);
        expect(run.stdout).toMatch(/drill of staging \(goodgo\): ok/);
        expect(run.stdout).toMatch(/runbook 001/);
        expect(run.stdout).toMatch(/Every stated target was met/);
        const reports = readdirSync(join(out, "reports"));
        expect(reports.filter((f) => f.endsWith(".json"))).toHaveLength(1);
        expect(reports.filter((f) => f.endsWith(".md"))).toHaveLength(1);
        const report = JSON.parse(readFileSync(join(out, "last-drill.json"), "utf8")) as DrReport;
        expect(report).toMatchObject({ kind: "drill", stack: "staging", outcome: "ok" });
        const o = report.objectives.find((x) => x.platform === "goodgo")!;
        expect(o.rtoSeconds).toBeGreaterThan(0);
        expect(o.rpoRows).toBe(report.writer!.ackedBeforeLoss - report.writer!.ackedAtBackup);
        const md = readFileSync(join(out, "reports", reports.find((f) => f.endsWith(".md"))!), "utf8");
        expect(md).toMatch(/```mermaid\ngantt/);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }, 900_000);

    it("a recovery whose backup is gone fails: outcome failed, the chain's restore step named with the script's message", async () => {
      pg.sql("SELECT 1"); // the recovered server from the first drill is the live one now
      const report = await runDrill({
        stack: "staging",
        workDir: drill.projectDir,
        onStep: (s) => {
          if (s.key === "drill/lose-data-host" && s.status === "ok") for (const f of readdirSync(backupsDir)) rmSync(join(backupsDir, f), { recursive: true, force: true });
        },
      });
      expect(report.outcome, JSON.stringify(report.steps, null, 1)).toBe("failed");
      const failed = report.steps.filter((s) => s.status === "failed").map((s) => s.key);
      expect(failed).toEqual(["drill/recovery-up", "goodgo/recovery.database/restore-database"]);
      const restore = report.steps.find((s) => s.key === "goodgo/recovery.database/restore-database")!;
      expect(restore.detail).toMatch(/pg-restore\.sh/);
      expect(report.steps.map((s) => s.key)).not.toContain("drill/healthy");
      expect(report.objectives).toEqual([]);
    }, 900_000);
  });
}
