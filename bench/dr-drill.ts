// The DR drill (lib/dr/drill.ts runDrill) as a benchmark: N drills on the engine test stack (test/engine/drillStack.ts:
// GoodGo on the loopback sshd host, real PostgreSQL, the real engine and command provider), each losing the data host
// for real and recovering through recovery.database under the engine, RTO and RPO printed against runbook 001's targets.
// Baseline, interleaved in the same run: the same loss recovered by hand without the engine (the empty server back, the
// same backup restored with pg-restore.sh --cutover, the first write), so the ratio is what the engine and the stack's
// chain add to the restore itself. Needs the engine and the command plugin. Not a test.
//   npx tsx bench/dr-drill.ts            (BENCH_RUNS=3 by default)
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { runDrill } from "../lib/dr/drill";
import { loseDataHost } from "../lib/dr/loss";
import { verdict } from "../lib/dr/measure";
import type { DrReport } from "../lib/dr/report";
import { recoveryTargets } from "../lib/dr/targets";

const GOODGO_RECOVERY_TARGETS = recoveryTargets("goodgo")!;
import { AckedWriter, HEALTH_ID_FLOOR, nextDrillId } from "../lib/dr/writer";
import { engineGate } from "../test/engine/engineGate";
import { openDrillStack, type DrillStack } from "../test/engine/drillStack";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Kill -9 and data dir removed, the empty server back, the newest backup restored by hand, the first write: ms. */
async function byHand(d: DrillStack): Promise<number> {
  const conn = { host: d.pg.host, port: d.pg.port, user: d.pg.user, database: "goodgo" };
  const loss = await loseDataHost(d.pg.dataDir, conn);
  const back = spawnSync(d.replaceScript, { encoding: "utf8" });
  if (back.status !== 0) throw new Error(`replace: ${back.stderr}`);
  const restore = spawnSync("bash", [resolve(__dirname, "../scripts/backup/pg-restore.sh"), "--dbname", "goodgo", "--cutover", d.backupsDir], { encoding: "utf8", env: { ...process.env, ...d.pg.env } });
  if (restore.status !== 0) throw new Error(`pg-restore.sh: ${restore.stderr.slice(-2000)}`);
  const w = new AckedWriter(conn, Math.max(HEALTH_ID_FLOOR, nextDrillId(conn, Number.MAX_SAFE_INTEGER)));
  await w.waitForAcks(1);
  await w.stop();
  return w.acked[0]!.at - loss.lostAt;
}

async function main(): Promise<void> {
  const gate = engineGate({ command: true });
  if (!gate.run) throw new Error(`the drill needs the engine and the command provider: ${gate.reason}`);
  const stack = await openDrillStack({ rowsBeforeBackup: 500, rowsAfterBackup: 200 });
  const reports: DrReport[] = [];
  const hand: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const r = await runDrill({ stack: "staging", workDir: stack.projectDir });
      if (r.outcome !== "ok") throw new Error(`drill ${i + 1} ${r.outcome}: ${JSON.stringify(r.steps.filter((s) => s.status === "failed"), null, 1)}`);
      reports.push(r);
      if (!readdirSync(stack.backupsDir).some((f) => /\.dump(\.zst)?$/.test(f))) throw new Error("no backup for the baseline");
      hand.push(await byHand(stack));
      const o = r.objectives[0]!;
      console.log(`run ${i + 1}/${RUNS}: drill ${verdict(o)}; by hand (no engine) RTO ${(hand[i]! / 1000).toFixed(1)}s`);
    }
  } finally {
    await stack.stop();
  }
  const rto = median(reports.map((r) => r.objectives[0]!.rtoSeconds!));
  const base = median(hand) / 1000;
  const t = GOODGO_RECOVERY_TARGETS;
  console.log("");
  console.log(`drill RTO (kill -9 -> first write on the recovered database, through the engine), median of ${RUNS}: ${rto.toFixed(1)} s; target ≤ ${t.rtoByRoute!.localBackup!} s (${t.source}, local backup): ratio ${(rto / t.rtoByRoute!.localBackup!).toFixed(3)}`);
  console.log(`baseline (the same loss restored by hand, no engine), median: ${base.toFixed(1)} s; ratio drill / baseline: ${(rto / base).toFixed(2)}`);
  const rows = reports.map((r) => r.objectives[0]!.rpoRows!);
  const secs = reports.map((r) => r.objectives[0]!.rpoSeconds!);
  console.log(`drill RPO, worst of ${RUNS}: ${Math.max(...rows)} acknowledged rows (the writes after the backup), ${Math.max(...secs).toFixed(1)} s of writes; target ≤ ${t.rpoSeconds} s: ratio ${(Math.max(...secs) / t.rpoSeconds!).toFixed(5)}`);
  console.log("not measured: noticing the outage and deciding to recover (a person), pulling images and starting real containers (no Docker engine here)");
  const steps = reports.at(-1)!.steps.filter((s) => s.endedAt).map((s) => `${s.key} ${((Date.parse(s.endedAt!) - Date.parse(s.startedAt)) / 1000).toFixed(1)}s`);
  console.log(`last drill's steps: ${steps.join(", ")}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
