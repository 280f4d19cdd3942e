// `lazarus dr drill --route physical` on the engine test stack (test/engine/drillStack.ts with `physical`): the real
// program with GoodGo alone on the loopback sshd host, run by the real engine and the real command provider, its
// PostgreSQL 15 archiving WAL continuously with real pgBackRest 2.45 on GoodGo's RENDERED archive settings and
// pgbackrest.conf (encrypted S3 repository, async push) into the repository on the S3 stand-in over verified HTTPS.
// The drill runs through the CLI's own code (runDrCli with --route physical; the drill core in this process, so the
// stand-ins answer and the loss can be checked the moment it happens):
//   - its backup is GoodGo's own operation, backup-now kind pitr-full (backup-job.sh pitr-full → pitr-backup.sh as
//     postgres: stanza-create, check, a full backup into the repository), taken while the writer keeps writing;
//   - the data host is lost: kill -9 of PostgreSQL, its data directory AND pgBackRest's local spool removed; the
//     repository survives (it is off-site, as the bucket would be);
//   - an empty server comes back (initdb, the saved configuration, an empty spool);
//   - recovery through GoodGo's switch for a lost data host, recovery.host {backup: latest} onto the same (existing)
//     server: pitr-route.sh picks the physical route (the repository has the drill's backup), pitr-restore.sh restores
//     the backup and replays the archived WAL to its end in a scratch cluster, dumps the database, pg-restore.sh
//     restores the dump beside the live one and cuts over; reindex, Redis flushed, and pitr-first-full: the replaced
//     server (a new database system) archives to its own stanza goodgo-<label>, created with its first full backup;
//     healthy = the first acknowledged write. (recovery.database would restore the data and leave archiving broken:
//     pgBackRest refuses the new system's WAL for stanza goodgo; its archive-check step refuses that server now.)
// RPO is measured from the writer's acknowledged log exactly as in the logical drill (test/engine/dr-drill.test.ts), and
// must be what WAL archiving promises: far fewer rows lost than were written after the backup, in seconds bounded by
// archive_timeout plus the segment in flight. The report names the route, the pgBackRest backup set and the repository.
// And afterwards the recovered server archives again: a forced segment switch is archived (last_archived_wal advances,
// failed_count unchanged) into its own stanza, whose first full backup is in the repository beside the lost stanza's.
//
// Stand-ins and what they cannot check: containers (fake-docker; `compose exec` runs the command here against the real
// servers, test/support/fake-docker-exec, as root where the container would run as root too; pgBackRest as postgres via
// runuser as the plan's commands say); the containers' recreation by compose up when the switch changes the stanza
// (the postgres service's archive_command, pgbackrest.conf, pg-backup's PITR_STANZA) is test/engine/drillPitrFollow.ts,
// which brings the server and config to the deploy directory's rendered files before each exec (archive_command by
// ALTER SYSTEM and a reload); the API image's reindex is test/support/fake-compose-run.ts (strict: it checks the api's
// DATABASE_URL names the live database and that it answers, not Typesense); the S3 stand-in (test/support/s3Stub.ts)
// keeps objects in memory (that process is the "off-site" storage), and has none of Spaces' rate limits or eventual
// listing; the replacement host is initdb with the saved configuration, not the postgis image's entrypoint.
// The scratch cluster of the restore listens on 127.0.0.1:5433 here (in pg-backup's network namespace on a real host).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrCli } from "../../cli/dr/main";
import { runDrill } from "../../lib/dr/drill";
import { changeCount } from "../../lib/engine/driver";
import type { DrReport, DrStep } from "../../lib/dr/report";
import { recoveryTargets } from "../../lib/dr/targets";
import { DRILL_TABLE } from "../../lib/dr/writer";
import { GOODGO_PITR_FILES } from "../../stacks/goodgo/pitr";
import { GOODGO_SECRET_MOUNTS } from "../../stacks/goodgo/services";
import { renderedServiceEnvironment } from "../support/composeConfig";
import { checkGantt } from "../support/gantt";
import { gfmToHtml } from "../support/markdown";
import { openDrillStack, type DrillStack } from "./drillStack";
import { engineGate } from "./engineGate";

const ARCHIVE_TIMEOUT_S = 10;
/** The bound on the data lost: archive_timeout, plus the segment being pushed when the server died (async push). */
const RPO_BOUND_S = ARCHIVE_TIMEOUT_S + 10;
const GOODGO_RECOVERY_TARGETS = recoveryTargets("goodgo")!;
/** recovery.host's chain on the drill's route (migrate: false; fetch-backup skips itself: the route is physical). */
const CHAIN = ["data-services", "restore-route", "fetch-backup", "pitr-restore", "restore-database", "reindex-typesense", "flush-redis", "pitr-first-full"];
const gate = engineGate({ command: true });

if (gate.mustFail) {
  describe("engine: the physical DR drill", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)(`engine: the DR drill on the physical route (pgBackRest, WAL archiving)${gate.reason ? ` (${gate.reason})` : ""}`, () => {
    let drill: DrillStack;
    let out: string;

    beforeAll(async () => {
      // A trickle (one write every 20 ms) for about half a minute after the backup: several archive_timeouts.
      drill = await openDrillStack({ rowsBeforeBackup: 100, rowsAfterBackup: 1000, everyMs: 20 }, { physical: { archiveTimeoutSeconds: ARCHIVE_TIMEOUT_S } });
      out = mkdtempSync(join(tmpdir(), "dr-drill-physical-"));
    }, 300_000);

    afterAll(async () => {
      await drill?.stop();
      if (out) rmSync(out, { recursive: true, force: true });
    });

    const refused = () => spawnSync("psql", ["-X", "-At", "-c", "SELECT 1"], { env: { ...process.env, ...drill.pg.env, PGCONNECT_TIMEOUT: "3" }, encoding: "utf8" });

    it("loses the data host and its spool, recovers through recovery.host (physical route, latest point): RPO seconds, not everything after the backup; the report names the route, the backup set and the repository; the recovered server archives again, to its own stanza", async () => {
      const { pg, pitr } = drill;
      const seen: DrStep[] = [];
      let atLoss: { dataDirExists: boolean; spoolExists: boolean; psql: ReturnType<typeof refused> } | undefined;
      let progress = "";
      const cli = await runDrCli(
        ["dr", "drill", "--stack", "staging", "--work-dir", drill.projectDir, "--route", "physical", "--report-dir", join(out, "reports"), "--last-drill", join(out, "last-drill.json")],
        {
          progress: (t) => void (progress += t),
          runDrill: (o) =>
            runDrill({
              ...o,
              onStep: (s) => {
                o.onStep?.(s);
                seen.push(s);
                // Right after the loss, before anything is brought back: what an operator would see.
                if (s.key === "drill/lose-data-host" && s.status === "ok") atLoss = { dataDirExists: existsSync(pg.dataDir), spoolExists: existsSync(pitr!.spoolDir), psql: refused() };
              },
            }),
        },
      );
      console.log(`$ lazarus dr drill --stack staging --work-dir ... --route physical --report-dir ... --last-drill ...\n${progress}${cli.stdout}`);
      const reports = readdirSync(join(out, "reports"));
      const report = JSON.parse(readFileSync(join(out, "last-drill.json"), "utf8")) as DrReport;
      const failed = report.steps.filter((s) => s.status === "failed");
      expect(failed, JSON.stringify(failed, null, 1)).toEqual([]);
      expect(cli.code, cli.stdout + cli.stderr).toBe(0);
      expect(report).toMatchObject({ kind: "drill", stack: "staging", outcome: "ok", route: "physical" });

      // The switch's label names the recovered cluster's own stanza.
      const label = /label: (drill-\d+)/.exec(report.steps.find((s) => s.key === "drill/recovery-switch")!.detail ?? "")?.[1];
      expect(label).toBeDefined();
      const ownStanza = `goodgo-${label}`;

      // The drill ran GoodGo's rendered files: what the plan wrote on the host is what the drill adapted (after the
      // switch, with the recovered cluster's stanza: the only change recovery.host makes to pgbackrest.conf).
      const deployDir = join(drill.host.root, "srv", "goodgo");
      expect(pitr!.rendered.pgbackrestConf).toContain("\n[goodgo]\n");
      expect(readFileSync(join(deployDir, GOODGO_PITR_FILES.pgbackrestConf), "utf8")).toBe(pitr!.rendered.pgbackrestConf.replace("\n[goodgo]\n", `\n[${ownStanza}]\n`));
      expect(readFileSync(join(deployDir, GOODGO_SECRET_MOUNTS.pgbackrestSecrets.host), "utf8")).toBe(pitr!.rendered.secretsConf);
      for (const line of ["repo1-type=s3", `repo1-s3-bucket=${pitr!.cfg.backups.offsite.bucket}`, "repo1-path=/pgbackrest", "repo1-cipher-type=aes-256-cbc", "archive-async=y"]) {
        expect(pitr!.rendered.pgbackrestConf.split("\n")).toContain(line);
      }
      const pgBackup = renderedServiceEnvironment(join(deployDir, "docker-compose.prod.yml"), "pg-backup");
      expect({ PITR_STANZA: pgBackup.PITR_STANZA, PITR_RUN_AS: pgBackup.PITR_RUN_AS }).toEqual({ PITR_STANZA: ownStanza, PITR_RUN_AS: "postgres" });
      expect(pg.sql("SHOW archive_timeout")).toBe(`${ARCHIVE_TIMEOUT_S}s`);

      // The loss really happened: data directory and spool gone, connections refused.
      expect(atLoss).toMatchObject({ dataDirExists: false, spoolExists: false });
      expect(atLoss!.psql.status).not.toBe(0);
      expect(atLoss!.psql.stderr).toMatch(/Connection refused|No such file|could not connect/);
      expect(report.writer).toMatchObject({ dataDirGone: true, alsoLost: [pitr!.spoolDir], alsoLostGone: true });

      // The backup: GoodGo's pitr-full operation, a full backup set in the repository, which the recovery restored.
      const backupLabel = /pgBackRest full backup (\d{8}-\d{6}F) of stanza goodgo in s3:\/\/[a-z0-9.-]+\/pgbackrest/.exec(report.backup ?? "")?.[1];
      expect(backupLabel, report.backup).toBeDefined();
      const info = pitr!.info();
      expect(info.backup.map((b: { label: string; type: string }) => `${b.label} ${b.type}`)).toEqual([`${backupLabel} full`]);
      const bucket = pitr!.cfg.backups.offsite.bucket;
      expect(report.restored).toEqual([
        {
          platform: "goodgo",
          database: "goodgo",
          route: "physical",
          backupLabel,
          stanza: "goodgo",
          repository: `s3://${bucket}/pgbackrest`,
          recoveredUntil: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/),
          source: expect.stringContaining(`pgBackRest backup ${backupLabel} (stanza goodgo, s3://${bucket}/pgbackrest) + archived WAL to the latest point`),
          checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        },
      ]);
      // WAL kept being archived after the backup ended: the repository's archive goes past the backup's stop segment.
      const archived = String(info.archive.find((a: { max?: string }) => a.max)?.max ?? "");
      expect(archived > info.backup[0].archive.stop, `archive max ${archived}, backup stop ${info.backup[0].archive.stop}`).toBe(true);

      // RPO from the writer's own log: the writes after the backup came back from the WAL, all but the last seconds'.
      const w = report.writer!;
      const o = report.objectives.find((x) => x.platform === "goodgo")!;
      const afterBackup = w.ackedBeforeLoss - w.ackedAtBackup;
      expect(afterBackup).toBeGreaterThanOrEqual(1000);
      expect(o.rpoRows).toBeLessThan(afterBackup);
      expect(o.rpoSeconds).toBeLessThan(RPO_BOUND_S);
      const present = Number(pg.sql(`SELECT count(*) FROM ${DRILL_TABLE} WHERE id < 1000000000`, "goodgo"));
      expect(present).toBe(w.ackedBeforeLoss - o.rpoRows!);
      expect(present).toBeGreaterThan(w.ackedAtBackup);
      // ... where the logical route loses every one of them (its drill: rpoRows = writes after the backup).
      console.log(
        `physical drill: ${w.ackedBeforeLoss} writes acknowledged, ${afterBackup} after the full backup ended; ${o.rpoRows} lost (${o.rpoSeconds} s of writes, archive_timeout ${ARCHIVE_TIMEOUT_S} s); a restore of the backup alone would have lost ${afterBackup}; RTO ${o.rtoSeconds} s`,
      );

      // RTO from the loss to the first write on the recovered database, held to runbook 001's off-site figure.
      expect(o.rtoSeconds).toBeGreaterThan(0);
      expect(o.rtoSeconds).toBeCloseTo((Date.parse(w.healthyAt!) - Date.parse(w.lostAt!)) / 1000, 0);
      expect(o).toMatchObject({ rtoTargetSeconds: GOODGO_RECOVERY_TARGETS.rtoByRoute!.offsiteBackup, rpoTargetSeconds: GOODGO_RECOVERY_TARGETS.rpoSeconds });

      // The timeline in order, the chain's commands included; the progress lines as the operator saw them.
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
        ...CHAIN.map((k) => `goodgo/recovery.host/${k}`),
        "drill/healthy",
        "drill/measure",
      ]);
      expect(seen.filter((s) => s.status === "running")).toHaveLength(report.steps.length);
      expect(progress).toMatch(/✔ pitr-restore {2}\d+\.\d s\n/);

      // What the operator reads: the CLI's lines, the JSON and the Markdown reports.
      expect(cli.stdout).toMatch(/^drill of staging \(goodgo\): ok\nroute: physical; backup taken: pgBackRest full backup \d{8}-\d{6}F/);
      expect(cli.stdout).toMatch(/restored \(goodgo, physical\): pgBackRest backup \d{8}-\d{6}F \(stanza goodgo, s3:\/\//);
      expect(cli.stdout).toMatch(/Every stated target was met/);
      expect(reports.filter((f) => f.endsWith(".json"))).toHaveLength(1);
      const md = readFileSync(join(out, "reports", reports.find((f) => f.endsWith(".md"))!), "utf8");
      console.log(md);
      expect(md).toContain(`Route: **physical**; the drill's backup: pgBackRest full backup ${backupLabel}`);
      expect(md).toContain(`goodgo: pgBackRest backup set \`${backupLabel}\`, stanza \`goodgo\`, repository \`s3://${bucket}/pgbackrest\`, WAL replayed to `);
      expect(gfmToHtml(md)).toContain("<table>");
      const gantt = checkGantt(/```mermaid\n([\s\S]*?)\n```/.exec(md)![1]!);
      expect(gantt.tasks.map((t) => t.name)).toContain("pitr-restore");

      // After the recovery the server archives again: recovery.host gave the new database system its own stanza, and
      // pitr-first-full created it with a full backup. A forced segment switch is archived, and nothing fails.
      expect(pg.sql("SHOW archive_command")).toContain(`--stanza=${ownStanza} archive-push`);
      const own = pitr!.info(ownStanza);
      expect(own.status).toMatchObject({ code: 0 });
      expect(own.backup.map((b: { type: string }) => b.type)).toEqual(["full"]);
      expect(report.notes.join("\n")).toContain(`the recovered cluster (a new database system) archives to its own stanza ${ownStanza}`);
      const archiver = () => pg.sql("SELECT coalesce(last_archived_wal, '') || '|' || failed_count FROM pg_stat_archiver").split("|") as [string, string];
      const [lastBefore, failedBefore] = archiver();
      const switched = pg.sql("SELECT pg_walfile_name(pg_switch_wal())");
      let now = archiver();
      for (let i = 0; i < 120 && now[0] < switched; i++) {
        await new Promise((r) => setTimeout(r, 250));
        now = archiver();
      }
      console.log(`archiving after the recovery: segment ${switched} switched; last archived ${lastBefore} -> ${now[0]}; failed_count ${failedBefore} -> ${now[1]}`);
      expect(now[0] >= switched, `last archived ${now[0]}, switched ${switched}`).toBe(true);
      expect(now[0] > lastBefore).toBe(true);
      expect(now[1]).toBe(failedBefore);
      const check = spawnSync("runuser", ["-u", "postgres", "--", "pgbackrest", `--config=${pitr!.confFile}`, `--config-include-path=${pitr!.includeDir}`, `--stanza=${ownStanza}`, "check"], { encoding: "utf8" });
      expect(check.status, check.stdout + check.stderr).toBe(0);

      // The drill's operation and switch stay in the scratch stack file: a later up does nothing new.
      const again = await drill.goodgo.stack.up();
      expect(changeCount(again.summary)).toBe(0);
      expect(Number(pg.sql(`SELECT count(*) FROM ${DRILL_TABLE} WHERE id < 1000000000`, "goodgo"))).toBe(present);
    }, 900_000);
  });
}
