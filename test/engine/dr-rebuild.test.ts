// `lazarus dr rebuild` on the real engine with the real program: the engine test stack (test/engine/goodgoStack.ts:
// GoodGo alone on an existing server, the loopback sshd of test/support/planOverSsh.ts, fake-docker for Docker) is
// brought up, the host is lost (its deploy directory deleted, its containers gone, its database an empty new one), and
// the CLI rebuilds it through lib/engine/driver.ts: switches in a copy of Pulumi.staging.yaml, refresh, preview, up
// with one progress line per engine step, the health URL waited for, and the report. (Found on the way: a refresh does
// not see the files gone, since command resources are keyed on the unchanged address, so the rebuild replaces the
// existing server's file writers and prepare: stacks/goodgo/disasterRecovery.ts `rerun`.)
//
// The whole of GoodGo's host-recovery chain (stacks/goodgo/commands.ts hostRecoverySteps) runs, each step's command
// over the command provider's SSH session as the plan has it:
//   - data-services: compose up of the data services (fake-docker);
//   - restore-route: pitr-route.sh as postgres with real pgBackRest reading a real (posix) repository that has no backup
//     of the lost cluster's stanza, so it writes "logical" and says why;
//   - fetch-backup: the real s3cmd lists the bucket of the stack file on the S3 stand-in (test/support/s3Stub.ts), with
//     the Spaces key of the shipped s3cfg, and fetches the newest dump and its sidecar; the bucket holds a REAL backup
//     made by scripts/backup/pg-backup.sh of the database with rows, uploaded by its own s3cmd upload;
//   - pitr-restore: skipped by its own guard (the route is logical);
//   - restore-database: pg-restore.sh restores it into a new database and cuts over on the real PostgreSQL 15, the
//     empty database the new host started with kept as goodgo_pre_restore_<ts>;
//   - migrate, reindex-typesense: `compose run --rm --no-deps api ...` goes to test/support/fake-compose-run.ts, a
//     STRICT stand-in for the API image (GoodGo's image is not public, no Docker engine runs here): only those two
//     commands with exactly those flags; it checks the api's rendered environment (compose file + .env) names the
//     live database and its user in DATABASE_URL and DATABASE_URL_DIRECT and that the database answers (SELECT 1),
//     and records how many tables it held. What the real image would do that it cannot check: prisma's migrations and
//     their history table, the reindex's Typesense collection and documents, the URLs' password (the test server
//     trusts loopback), and the container network (service names are not resolved; the test server stands for them);
//   - flush-redis: redis-cli FLUSHALL/DBSIZE against a real Redis with the stack's password file;
//   - pitr-first-full: backup-job.sh pitr-full runs pitr-backup.sh as postgres: stanza-create, check (WAL archived by
//     the server's archive_command) and a real full backup of the recovered cluster into its own stanza goodgo-r1 (GoodGo's
//     PITR is always on: backups.pitr has defaults, so this step is never a no-op);
//   - compose-up of every service (fake-docker), then the health wait: a loopback HTTP server answers the health URL
//     with 200 only while fake-docker says the api is running and healthy (--health-url), so the wait is real.
// `compose exec` runs the command here as the container would (test/support/fake-docker-exec, pointed at the real
// PostgreSQL and Redis: test/engine/goodgoStack.ts writeGoodgoComposeExec, shared with the drill). Also shown: a
// bucket without a backup stops the chain at fetch-backup (exit 5, the step named with what to do next, the user's
// stack file untouched), and a second rebuild with the same label runs no chain step again and restores nothing.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrCli } from "../../cli/dr/main";
import type { DrReport } from "../../lib/dr/report";
import { REPO_ROOT } from "../../lib/engine/install";
import { GOODGO_SECRET_MOUNTS } from "../../stacks/goodgo/services";
import { renderedServiceEnvironment } from "../support/composeConfig";
import { checkGantt } from "../support/gantt";
import { gfmToHtml } from "../support/markdown";
import { startPitrCluster, type PitrCluster } from "../support/pgbackrest";
import { startPlanHost, type PlanHost } from "../support/planOverSsh";
import type { PostgresServer } from "../support/postgres";
import { startRedis, type RedisServer } from "../support/redis";
import { startS3Stub, type S3Stub } from "../support/s3Stub";
import { GOODGO_SENTINEL_SECRETS } from "../support/stacks";
import { engineGate } from "./engineGate";
import { ENGINE_STACK, GOODGO_SANDBOXED, goodgoOnHostConfig, goodgoSecrets, openGoodgoStack, writeGoodgoComposeExec, writeGoodgoComposeRun, type GoodgoEngineStack } from "./goodgoStack";


/** A command run without blocking this process (the S3 stand-in answers from it): status and output. */
function runAsync(cmd: string, args: string[], o: { env: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { env: o.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => done({ status, stdout, stderr }));
  });
}

const gate = engineGate({ command: true });
const PASSPHRASE = "lazarus-engine-test";
/** The rows the lost database held when its backup was made. */
const ROWS = 240;
/** The recovered cluster's own stanza (stacks/goodgo/pitr.ts: goodgo-<label>); the lost one's, "goodgo", has no backup. */
const RECOVERED_STANZA = "goodgo-r1";
const CHAIN = ["data-services", "restore-route", "fetch-backup", "pitr-restore", "restore-database", "migrate", "reindex-typesense", "flush-redis", "pitr-first-full"];

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
    let pitr: PitrCluster;
    let pg: PostgresServer;
    let redis: RedisServer;
    let s3: S3Stub;
    let health: Server;
    let healthUrl: string;
    let deployDir: string;
    let backupsDir: string;
    let side: string;
    /** The off-site objects of the real backup (dump and sidecar), kept aside while the bucket is empty. */
    let offsite: Map<string, Buffer>;
    let dumpName: string;
    let dbUser: string;
    const runs: { code: number; stdout: string; stderr: string; progress: string; report: DrReport; markdown: string }[] = [];

    const rebuild = async (label: string) => {
      let progress = "";
      const reportDir = join(side, `reports-${runs.length}`);
      const r = await runDrCli(
        ["dr", "rebuild", "--stack", ENGINE_STACK, "--platform", "goodgo", "--label", label, "--project-dir", goodgo.projectDir, "--backend-dir", goodgo.stack.backendDir, "--report-dir", reportDir, "--health-url", `goodgo=${healthUrl}`, "--health-timeout", "60"],
        { env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE }, progress: (t) => void (progress += t), interactive: false, healthIntervalMs: 200 },
      );
      const report = JSON.parse(readFileSync(join(reportDir, `rebuild-staging-${label}.json`), "utf8")) as DrReport;
      const run = { ...r, progress, report, markdown: readFileSync(join(reportDir, `rebuild-staging-${label}.md`), "utf8") };
      runs.push(run);
      return run;
    };
    // The chain's steps this run created (an earlier label's chain resources are deleted in the same up, a no-op on the
    // host, which the timeline files under their own names: "delete goodgo-staging-recover-host-r0-restore-route").
    const chainKeys = (report: DrReport) =>
      report.steps.filter((s) => s.title.startsWith("create ") && CHAIN.some((k) => s.key === `goodgo/${k}`)).map((s) => `${s.key.slice("goodgo/".length)} ${s.status}`);
    const preRestoreDatabases = () => pg.sql("SELECT datname FROM pg_database WHERE datname LIKE 'goodgo\\_pre\\_restore\\_%' ORDER BY 1").split("\n").filter(Boolean);

    beforeAll(async () => {
      side = mkdtempSync(join(tmpdir(), "lazarus-engine-dr-"));
      chmodSync(side, 0o755);
      backupsDir = join(side, "backups");
      mkdirSync(backupsDir);
      s3 = await startS3Stub({ accessKey: GOODGO_SENTINEL_SECRETS["lazarus:goodgoSpacesAccessKey"]!, secretKey: GOODGO_SENTINEL_SECRETS["lazarus:goodgoSpacesSecretKey"]! });
      // A real PostgreSQL 15 whose WAL is archived by pgBackRest into a posix repository, configured for the recovered
      // cluster's stanza only (pgBackRest's S3 driver speaks HTTPS only; the stand-in is plain HTTP).
      pitr = await startPitrCluster({ stanza: RECOVERED_STANZA, archiveTimeoutSeconds: 60 });
      pg = pitr.pg;
      redis = await startRedis({ password: GOODGO_SENTINEL_SECRETS["lazarus:goodgoRedisPassword"] });
      const composeExec = join(side, "compose-exec");
      const composeRun = join(side, "compose-run");
      host = await startPlanHost({ sandboxed: GOODGO_SANDBOXED, composeExec, composeRun });
      deployDir = join(host.root, "srv", "goodgo");
      goodgo = await openGoodgoStack(goodgoOnHostConfig(host.ssh, deployDir), goodgoSecrets(readFileSync(host.ssh.keyFile, "utf8")), PASSPHRASE);
      await goodgo.stack.up();

      // pg-backup's off-site settings as the stack renders them, the endpoint pointed at the S3 stand-in.
      const composeFile = join(deployDir, "docker-compose.prod.yml");
      const pgBackup = renderedServiceEnvironment(composeFile, "pg-backup");
      const s3Env = { S3_URL: pgBackup.S3_URL, S3_REGION: pgBackup.S3_REGION, S3_ENDPOINT: s3.endpoint, S3_HOST_BUCKET: s3.endpoint, S3_NO_SSL: "1" };
      writeGoodgoComposeExec({
        side,
        composeExec,
        host,
        deployDir,
        pg,
        redis,
        backupsDir,
        backupDirInEnv: true,
        // (PITR_STANZA: what the recovery's compose file renders for label r1, asserted below.)
        extraEnv: { ...s3Env, PITR_STANZA: RECOVERED_STANZA, PITR_RUN_AS: pgBackup.PITR_RUN_AS, PGBACKREST_CONFIG: pitr.confFile },
      });
      writeGoodgoComposeRun({ side, composeRun, pg });

      // What the host held: the database with rows, and its backup made by pg-backup.sh, uploaded off-site by its own
      // s3cmd upload with the stack's s3cfg.
      dbUser = renderedServiceEnvironment(composeFile, "postgres").POSTGRES_USER;
      pg.sql(`CREATE ROLE "${dbUser}" LOGIN`);
      pg.sql(`CREATE DATABASE goodgo OWNER "${dbUser}"`);
      pg.sql(`CREATE TABLE listings (id serial PRIMARY KEY, title text NOT NULL); INSERT INTO listings (title) SELECT 'listing ' || g FROM generate_series(1, ${ROWS}) g`, "goodgo");
      const backup = await runAsync("bash", [join(REPO_ROOT, "scripts/backup/pg-backup.sh")], {
        env: { ...process.env, ...pg.env, PGDATABASE: "goodgo", BACKUP_DIR: join(side, "seed"), S3CMD_CONFIG: join(deployDir, GOODGO_SECRET_MOUNTS.pgBackupS3cfg.host), ...s3Env },
      });
      const result = JSON.parse(backup.stdout.trim().split("\n").pop() ?? "{}") as { status?: string; uploaded?: boolean; file?: string };
      if (backup.status !== 0 || result.uploaded !== true) throw new Error(`seed backup: ${backup.stdout}\n${backup.stderr}`);
      dumpName = result.file!.split("/").pop()!;
      offsite = new Map(s3.objects);

      // The loss: the deploy directory and the containers are gone; the new host's PostgreSQL has an empty database
      // (as the postgres image initialises one); Redis holds stale keys.
      rmSync(deployDir, { recursive: true, force: true });
      writeFileSync(join(host.dockerHome, "state.txt"), "");
      pg.sql("DROP DATABASE goodgo");
      pg.sql(`CREATE DATABASE goodgo OWNER "${dbUser}"`);
      redis.cli("SET", "stale:listing:1", "old");

      // The health URL: 200 only while fake-docker has the api running and healthy.
      health = createServer((_req, res) => {
        const api = host.containers().api;
        res.writeHead(api?.state === "running" && api.health === "healthy" ? 200 : 503).end();
      });
      await new Promise<void>((ok) => health.listen(0, "127.0.0.1", ok));
      healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
    }, 600_000);

    afterAll(async () => {
      await host?.stop();
      goodgo?.remove();
      pitr?.destroy();
      redis?.destroy();
      await s3?.close();
      await new Promise((ok) => (health ? health.close(ok) : ok(undefined)));
      if (side) rmSync(side, { recursive: true, force: true });
    });

    it("with no backup in the bucket, stops at fetch-backup and names it with what to do next (exit 5), the stack file untouched", async () => {
      s3.objects.clear();
      const stackFile = readFileSync(join(goodgo.projectDir, `Pulumi.${ENGINE_STACK}.yaml`), "utf8");
      const r = await rebuild("r0");
      expect(r.code, r.progress).toBe(5);
      expect(r.report.outcome).toBe("failed");
      expect(r.report.steps.filter((s) => s.key.startsWith("rebuild/")).map((s) => `${s.key} ${s.status}`)).toEqual(["rebuild/refresh ok", "rebuild/preview ok", "rebuild/up failed"]);
      expect(chainKeys(r.report)).toEqual(["data-services ok", "restore-route ok", "fetch-backup failed"]);
      expect(r.report.steps.find((s) => s.key === "goodgo/fetch-backup")!.detail).toMatch(/no backup found under s3:\/\//);
      expect(r.progress).toMatch(/✖ failed at [^\n]*\(goodgo\/fetch-backup\): .+\. Next: fix what .* and run the same command again with --label r0/);
      // The existing server's file writers and prepare were replaced, so they ran again: the .env is back.
      expect(r.report.notes.join("\n")).toMatch(/replaced so their steps run again \(goodgo: the server is the same address.*\): \d+ resources/);
      expect(existsSync(join(deployDir, ".env"))).toBe(true);
      expect(readFileSync(join(goodgo.projectDir, `Pulumi.${ENGINE_STACK}.yaml`), "utf8")).toBe(stackFile);
      expect(readdirSync(join(goodgo.projectDir, ".lazarus/dr")).filter((f) => f.startsWith("work-"))).toEqual([]);
      expect(gfmToHtml(r.markdown)).toContain("<strong>Outcome: failed</strong>");
      // Nothing was restored.
      expect(preRestoreDatabases()).toEqual([]);
    }, 900_000);

    it("with the backup in the bucket, runs the whole chain: exit 0, every step ok in order, the rows back in the live database, Redis empty, the health URL answered", async () => {
      for (const [k, v] of offsite) s3.objects.set(k, v);
      const r = await rebuild("r1");
      expect(r.code, `${r.progress}\n${JSON.stringify(r.report.steps.filter((s) => s.status !== "ok"), null, 1)}`).toBe(0);
      expect(r.report.outcome).toBe("ok");
      expect(r.report.steps.filter((s) => s.status !== "ok")).toEqual([]);
      expect(r.report.steps.filter((s) => s.key.startsWith("rebuild/")).map((s) => s.key)).toEqual(["rebuild/refresh", "rebuild/preview", "rebuild/up"]);
      expect(chainKeys(r.report)).toEqual(CHAIN.map((k) => `${k} ok`));
      expect(r.report.steps.filter((s) => s.title.startsWith("delete ")).map((s) => s.title)).toEqual([
        "delete goodgo-staging-recover-host-r0-restore-route",
        "delete goodgo-staging-recover-host-r0-data-services",
      ]);
      // ... never under this run's step keys.
      expect(r.report.steps.filter((s) => s.title.startsWith("delete ")).map((s) => s.key)).toEqual(["goodgo/goodgo-staging-recover-host-r0-restore-route", "goodgo/goodgo-staging-recover-host-r0-data-services"]);
      const keys = r.report.steps.map((s) => s.key);
      expect(keys.indexOf("goodgo/compose-up")).toBeGreaterThan(keys.indexOf("goodgo/pitr-first-full"));
      expect(keys.at(-1)).toBe("goodgo/health");

      // The route: logical, written where the next steps read it, and why.
      expect(readFileSync(join(backupsDir, "pitr", "host-r1", "route"), "utf8").trim()).toBe("logical");
      // The newest off-site dump fetched and restored, as pg-restore.sh's result line says, with the backup's checksum.
      const object = (name: string) => offsite.get([...offsite.keys()].find((k) => k.endsWith(`/${name}`))!)!;
      expect(readlinkSync(join(backupsDir, "offsite", "latest"))).toBe(dumpName);
      expect(readFileSync(join(backupsDir, "offsite", `${dumpName}.sha256`), "utf8")).toBe(object(`${dumpName}.sha256`).toString());
      const sha = createHash("sha256").update(object(dumpName)).digest("hex");
      expect(r.report.restored).toEqual([expect.objectContaining({ platform: "goodgo", database: "goodgo", checksum: `sha256:${sha}`, route: "logical" })]);
      // The rows are in the live database; the new host's empty one is kept beside it.
      expect(pg.sql("SELECT count(*) FROM listings", "goodgo")).toBe(String(ROWS));
      const kept = preRestoreDatabases();
      expect(kept).toHaveLength(1);
      expect(pg.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", kept[0])).toBe("0");
      // migrate, then reindex, each with the API image's exact command, against the restored database.
      const apiRuns = readFileSync(join(side, "exec.log-run.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { argv: string[]; database: string; user: string; tables: number });
      expect(apiRuns.map((x) => `${x.argv.join(" ")} ${x.database} ${x.user} ${x.tables}`)).toEqual([`npx prisma migrate deploy goodgo ${dbUser} 1`, `npx ts-node scripts/typesense-reindex.ts goodgo ${dbUser} 1`]);
      // Redis flushed.
      expect(redis.keyCount()).toBe(0);
      // The recovered cluster's first full backup, in its own stanza, which the recovery's compose file names.
      const info = JSON.parse(pitr.pg.runAsServerUser("pgbackrest", [`--config=${pitr.confFile}`, `--stanza=${RECOVERED_STANZA}`, "info", "--output=json"])) as { backup: { type: string }[] }[];
      expect(info[0].backup.map((b) => b.type)).toEqual(["full"]);
      expect(renderedServiceEnvironment(join(deployDir, "docker-compose.prod.yml"), "pg-backup").PITR_STANZA).toBe(RECOVERED_STANZA);
      // Every service up, the health URL waited for.
      expect(Object.values(host.containers()).every((c) => c.state === "running")).toBe(true);
      expect(r.report.steps.find((s) => s.key === "goodgo/health")!.status).toBe("ok");
      // The report: Markdown renders, its gantt holds the timeline.
      expect(gfmToHtml(r.markdown)).toContain("<strong>Outcome: ok</strong>");
      const gantt = checkGantt(/```mermaid\n([\s\S]*?)\n```/.exec(r.markdown)![1]);
      expect(gantt.sections).toEqual(["run", "goodgo"]);
    }, 900_000);

    it("a second rebuild with the same label runs no chain step again and restores nothing", async () => {
      const r = await rebuild("r1");
      expect(r.code, r.progress).toBe(0);
      expect(chainKeys(r.report)).toEqual([]);
      expect(r.report.restored).toEqual([]);
      expect(preRestoreDatabases()).toHaveLength(1);
      expect(pg.sql("SELECT count(*) FROM listings", "goodgo")).toBe(String(ROWS));
      expect(readFileSync(join(side, "exec.log-run.jsonl"), "utf8").trim().split("\n")).toHaveLength(2);
    }, 900_000);
  });
}
