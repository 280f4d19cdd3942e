// The drill's pieces that need no engine, against a REAL PostgreSQL 15 (test/support/postgres.ts): the writer's
// acknowledged log, the loss (kill -9 and the data directory removed, proved), a logical recovery with the real
// scripts (pg-backup.sh, then pg-restore.sh --cutover into an empty server at the same address), and RPO measured
// against the writer's own log. The drill file's refusals come before anything is touched.
// The end-to-end drill under the engine is test/engine/dr-drill.test.ts.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrill, readDrillFile, DRILL_FILE, DrillTargetError } from "../../../lib/dr/drill";
import { loseDataHost, serverAnswers } from "../../../lib/dr/loss";
import { measureRpo, objectives, verdict } from "../../../lib/dr/measure";
import type { DrStep } from "../../../lib/dr/report";
import { recoveryTargets } from "../../../lib/dr/targets";

const GOODGO_RECOVERY_TARGETS = recoveryTargets("goodgo")!;
import { AckedWriter, createDrillTable, idsPresent, type PgConnection } from "../../../lib/dr/writer";
import { emptyPostgresScript } from "../../support/drillTarget";
import { startPostgres, type PostgresServer } from "../../support/postgres";

const SCRIPTS = resolve(__dirname, "../../../scripts/backup");

describe("DR drill pieces on a real PostgreSQL", () => {
  let pg: PostgresServer;
  let side: string;
  let conn: PgConnection;

  beforeAll(async () => {
    pg = await startPostgres({ extraConf: ["synchronous_commit = on"] });
    side = mkdtempSync(join(tmpdir(), "lazarus-drill-pieces-"));
    pg.sql("CREATE DATABASE goodgo");
    conn = { host: pg.host, port: pg.port, user: pg.user, database: "goodgo" };
  });
  afterAll(() => {
    pg?.destroy();
    if (side) rmSync(side, { recursive: true, force: true });
  });

  it("a backup, writes after it, the data host lost, an empty one back, the backup restored: the rows lost are exactly the writes after the backup", async () => {
    createDrillTable(conn);
    const writer = new AckedWriter(conn);
    await writer.waitForAcks(150);
    await writer.pause();
    const atBackup = writer.acked.length;
    const dump = spawnSync("bash", [join(SCRIPTS, "pg-backup.sh"), "-d", "goodgo", "-o", join(side, "backups")], { encoding: "utf8", env: { ...process.env, ...pg.env } });
    expect(dump.status, dump.stderr).toBe(0);
    writer.resume();
    await writer.waitForAcks(atBackup + 80);
    const replace = emptyPostgresScript(pg, join(side, "replace"), "goodgo");

    const loss = await loseDataHost(pg.dataDir, conn);
    await writer.stop();
    expect(loss.dataDirGone).toBe(true);
    expect(existsSync(pg.dataDir)).toBe(false);
    expect(serverAnswers(conn).up).toBe(false);
    expect(writer.alive).toBe(false);
    const acked = [...writer.acked];
    expect(acked.length).toBeGreaterThanOrEqual(atBackup + 80);
    // Every acknowledged id is consecutive from 1: the log is the writer's own, one insert per round trip.
    expect(acked.map((a) => a.id)).toEqual(acked.map((_, i) => i + 1));

    const back = spawnSync(replace, { encoding: "utf8" });
    expect(back.status, back.stderr).toBe(0);
    expect(pg.sql("SELECT count(*) FROM pg_database WHERE datname = 'goodgo'")).toBe("1");
    const restore = spawnSync("bash", [join(SCRIPTS, "pg-restore.sh"), "--dbname", "goodgo", "--cutover", join(side, "backups")], {
      encoding: "utf8",
      env: { ...process.env, ...pg.env },
    });
    expect(restore.status, restore.stderr).toBe(0);
    const rpo = measureRpo(acked, idsPresent(conn));
    expect(rpo.lostRows).toBe(acked.length - atBackup);
    expect(rpo.present).toBe(atBackup);
    expect(rpo.presentIsPrefix).toBe(true);
    expect(rpo.rpoSeconds).toBeCloseTo((acked.at(-1)!.at - acked[atBackup - 1]!.at) / 1000, 3);
    expect(rpo.rpoSeconds).toBeGreaterThan(0);
  });

  it("refuses to lose a directory no server runs from, and leaves it alone", async () => {
    const dir = join(side, "not-a-server");
    spawnSync("mkdir", ["-p", dir]);
    await expect(loseDataHost(dir, conn)).rejects.toThrow(/no PostgreSQL server runs from .*postmaster\.pid is missing/);
    expect(existsSync(dir)).toBe(true);
  });

  it("RPO: nothing lost is 0 s and 0 rows; rows present that the writer never had acknowledged are not a prefix", () => {
    const acked = [1, 2, 3, 4].map((id) => ({ id, at: 1000 * id }));
    expect(measureRpo(acked, [1, 2, 3, 4])).toMatchObject({ lostRows: 0, rpoSeconds: 0, presentIsPrefix: true });
    expect(measureRpo(acked, [1, 2])).toMatchObject({ lostRows: 2, rpoSeconds: 2, presentIsPrefix: true });
    expect(measureRpo(acked, [1, 3])).toMatchObject({ lostRows: 2, presentIsPrefix: false });
    expect(measureRpo(acked, [1, 2, 99])).toMatchObject({ presentIsPrefix: false });
    expect(measureRpo(acked, [])).toMatchObject({ lostRows: 4, rpoSeconds: 3 });
  });

  it("objectives carry runbook 001's targets for the route taken, and the verdict says within or MISSED", () => {
    const o = objectives("goodgo", { rtoMs: 42_500, rpo: { lostRows: 7, rpoSeconds: 1.25, ackedBeforeLoss: 10, present: 3, presentIsPrefix: true } }, GOODGO_RECOVERY_TARGETS, "localBackup");
    expect(o).toEqual({ platform: "goodgo", rtoSeconds: 42.5, rtoTargetSeconds: 900, rpoSeconds: 1.25, rpoRows: 7, rpoTargetSeconds: 86_400, targetSource: `${GOODGO_RECOVERY_TARGETS.source} (RTO: localBackup)` });
    expect(verdict(o)).toBe("RTO 42.5s (target ≤ 900s: within); RPO 1.25s (target ≤ 86400s: within), 7 rows");
    expect(verdict({ ...o, rtoSeconds: 901 })).toMatch(/RTO 901s \(target ≤ 900s: MISSED\)/);
  });
});

describe("the drill refuses before touching anything", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lazarus-drill-target-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a missing drill file: the file named, with an example", () => {
    expect(() => readDrillFile(dir, "staging")).toThrow(DrillTargetError);
    expect(() => readDrillFile(dir, "staging")).toThrow(new RegExp(`${DRILL_FILE} is missing.*\\n.*stack: staging`));
  });

  it("a wrong key or a file naming another stack: the key and what was expected", () => {
    writeFileSync(join(dir, DRILL_FILE), "stack: staging\nbackendDir: /tmp/x\ndataHost: { postgres: { host: 127.0.0.1, port: 'five', user: postgres, database: goodgo, dataDir: /tmp/pg }, replace: [] }\n");
    expect(() => readDrillFile(dir, "staging")).toThrow(/dataHost\.postgres\.port: .*dataHost\.replace: .*example:/s);
    writeFileSync(join(dir, DRILL_FILE), "stack: local\nbackendDir: /tmp/x\ndataHost: { postgres: { host: 127.0.0.1, port: 5432, user: postgres, database: goodgo, dataDir: /tmp/pg }, replace: [/bin/true] }\n");
    expect(() => readDrillFile(dir, "staging")).toThrow(/stack is "local" but the drill was asked for stack "staging"/);
  });

  it("a bad route, in the drill file or as --route: the key, the routes there are, an example", async () => {
    const file = (route: string) =>
      writeFileSync(join(dir, DRILL_FILE), `stack: staging\nbackendDir: /tmp/x\nroute: ${route}\ndataHost: { postgres: { host: 127.0.0.1, port: 5432, user: postgres, database: goodgo, dataDir: /tmp/pg }, replace: [/bin/true] }\n`);
    file("sideways");
    expect(() => readDrillFile(dir, "staging")).toThrow(/route: is not a drill route \(one of logical, physical; example: route: physical\)/);
    file("physical");
    expect(readDrillFile(dir, "staging")).toMatchObject({ route: "physical", dataHost: { alsoLost: [] }, writer: { everyMs: 0 } });
    writeFileSync(join(dir, `Pulumi.staging.yaml`), "config: {}\n");
    const bad = await runDrill({ stack: "staging", workDir: dir, route: "sideways" as never });
    expect(bad.outcome).toBe("refused");
    expect(bad.steps[0]!.detail).toMatch(/route "sideways" is not a drill route \(one of logical, physical\); example: --route physical/);
    rmSync(join(dir, `Pulumi.staging.yaml`));
    file("logical"); // as the next test expects to find it
  });

  it("prod, an unknown platform, a missing drill file: outcome refused, the check step failed with the reason", async () => {
    const seen: DrStep[] = [];
    const prod = await runDrill({ stack: "prod", workDir: dir, onStep: (s) => seen.push(s) });
    expect(prod.outcome).toBe("refused");
    expect(prod.steps).toHaveLength(1);
    expect(prod.steps[0]).toMatchObject({ key: "drill/check-target", status: "failed" });
    expect(prod.steps[0]!.detail).toMatch(/stack "prod" is protected/);
    expect(seen.map((s) => s.status)).toEqual(["running", "failed"]);
    const other = await runDrill({ stack: "staging", platform: "dbis", workDir: dir });
    expect(other.steps[0]!.detail).toMatch(/platform "dbis" has no drill yet \(drillable: goodgo\)/);
    rmSync(join(dir, DRILL_FILE));
    const missing = await runDrill({ stack: "staging", workDir: dir });
    expect(missing).toMatchObject({ kind: "drill", outcome: "refused", platforms: ["goodgo"], objectives: [], restored: [] });
    expect(missing.steps[0]!.detail).toMatch(/lazarus-drill\.yaml is missing/);
  });
});
