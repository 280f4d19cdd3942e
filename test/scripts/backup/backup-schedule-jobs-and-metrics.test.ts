// The pg-backup service's schedule and jobs, run for real against PostgreSQL on loopback:
//   - renderBackupCrontab's lines are what backup-schedule.sh runs (its --check parses them back into the same jobs);
//   - backup-job.sh writes the metrics textfiles byte for byte as stacks/goodgo/monitoring/backupMetrics.ts renders the contract
//     (renderBackupSuccessMetrics / renderVerifyMetrics), accepted by `promtool check metrics`;
//   - a failed backup (stopped server, wrong password) leaves the previous success timestamp alone and sets the failure
//     metric; a failed or impossible verification sets goodgo_backup_verify_success 0 and rewrites verify-latest.json;
//   - the off-site copy goes to an S3-compatible endpoint through pg-backup.sh's upload, and its failure is reported;
//   - the scheduler loop, on a test clock, starts the backup in the 02:00 minute (once) and the verification at 04:00,
//     and stops cleanly on SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { startS3Stub, type S3Stub } from "../../support/s3Stub";
import { GOODGO_BACKUP_METRICS, renderBackupSuccessMetrics, renderVerifyMetrics } from "../../../stacks/goodgo/monitoring";
import { RenderInputError } from "../../../renderers/renderInputError";
import { backupJobs, renderBackupCrontab } from "../../../renderers/backupSchedule";
import { GOODGO_BACKUP_SCHEDULE } from "../../../stacks/goodgo/serviceSettings";
import { resultLines, runAsync } from "../../support/commandText";

const SCRIPTS = resolve(__dirname, "../../../scripts/backup");
const JOB = join(SCRIPTS, "backup-job.sh");
const SCHEDULER = join(SCRIPTS, "backup-schedule.sh");
const WRONG_PASSWORD = `test-only-wrong-${process.pid}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: Record<string, any>[];
}

// Asynchronous on purpose: the S3 stub answers from this process's event loop, which spawnSync would block.
async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const r = await runAsync(cmd, args, { env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: resultLines(r.stdout) };
}

function promValue(text: string, metric: string): number | undefined {
  const m = new RegExp(`^${metric} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

function promtoolCheck(text: string): { ok: boolean; output: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

const read = (p: string) => readFileSync(p, "utf8");
const archives = (dir: string) => readdirSync(dir).filter((f) => /^goodgo_.*\.dump\.zst$/.test(f));

describe("backup schedule: crontab, jobs and the metrics contract against real PostgreSQL", () => {
  let pg: PostgresServer;
  let base: string;
  let s3: S3Stub;
  /** The S3 stub's key pair: it verifies every signature with the secret. */
  const secret = `test-only-s3-secret-${process.pid}`;
  const cleanups: Array<() => Promise<void> | void> = [];

  const envFor = (backupDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...pg.env, PGDATABASE: "goodgo", BACKUP_DIR: backupDir, BACKUP_RETENTION_DAYS: "7", VERIFY_CRITICAL_TABLES: "User,Payment", ...extra };
    for (const k of ["S3_URL", "RESULT_FILE", "METRICS_DIR", "VERIFY_TARGET"]) if (!(k in extra)) delete env[k];
    return env;
  };

  beforeAll(async () => {
    pg = await startPostgres();
    pg.sql("CREATE DATABASE goodgo");
    pg.sql(`CREATE TABLE "User" (id serial PRIMARY KEY, email text NOT NULL); INSERT INTO "User" (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, 500) g;
            CREATE TABLE "Payment" (id serial PRIMARY KEY, "userId" int REFERENCES "User"(id), "amountVND" bigint); INSERT INTO "Payment" ("userId", "amountVND") SELECT g, g * 1000 FROM generate_series(1, 500) g;`, "goodgo");
    base = mkdtempSync(join(tmpdir(), "lazarus-backup-schedule-"));
    s3 = await startS3Stub({ accessKey: "AKIALAZARUSTEST", secretKey: secret });
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await s3?.close();
    pg?.destroy();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it("renderBackupCrontab writes 02:00 backup and 04:00 verify lines that backup-schedule.sh --check reads back as the same jobs", async () => {
    const text = renderBackupCrontab({ ...GOODGO_BACKUP_SCHEDULE, scriptsDir: SCRIPTS });
    expect(text).toContain(`0 2 * * * ${JOB} backup`);
    expect(text).toContain(`0 4 * * * ${JOB} verify`);
    const file = join(base, "crontab");
    writeFileSync(file, text);
    const r = await run(SCHEDULER, ["--crontab", file, "--check"], envFor(base));
    expect(r.code, r.stderr).toBe(0);
    const parsed = r.lines.at(-1)!.jobs.map((j: any) => ({ minute: Number(j.minute), hour: Number(j.hour), command: j.command }));
    expect(parsed).toEqual(backupJobs({ ...GOODGO_BACKUP_SCHEDULE, scriptsDir: SCRIPTS }).map(({ minute, hour, command }) => ({ minute, hour, command })));
    // The default container path, and a different schedule, render accordingly.
    expect(renderBackupCrontab({ backupAt: "01:30", verifyAt: "05:05" })).toContain("30 1 * * * /opt/lazarus/scripts/backup/backup-job.sh backup");
  });

  it("without a crontab file, BACKUP_AT / VERIFY_AT (the service's environment) give exactly renderBackupCrontab's jobs", async () => {
    const env: NodeJS.ProcessEnv = { ...envFor(base), BACKUP_AT: "02:00", VERIFY_AT: "04:05" };
    delete env.BACKUP_CRONTAB;
    const r = await run(SCHEDULER, ["--check"], env);
    expect(r.code, r.stderr).toBe(0);
    const parsed = r.lines.at(-1)!.jobs.map((j: any) => ({ minute: Number(j.minute), hour: Number(j.hour), command: j.command }));
    expect(parsed).toEqual(backupJobs({ backupAt: "02:00", verifyAt: "04:05", scriptsDir: SCRIPTS }).map(({ minute, hour, command }) => ({ minute, hour, command })));
    // The generated crontab is a temp file, removed when the script ends.
    expect(existsSync(r.lines.at(-1)!.crontab)).toBe(false);
    const bad = await run(SCHEDULER, ["--check"], { ...env, VERIFY_AT: "4:00" });
    expect(bad.code).toBe(64);
    expect(bad.lines.at(-1)!.error).toMatch(/VERIFY_AT must be a UTC time HH:MM/);
  });

  it("names the tools its image lacks (69) before anything runs, and with BACKUP_APT_INSTALL=1 installs them with apt-get", async () => {
    // A PATH with every command of this machine except s3cmd and apt-get (the postgis image has no s3cmd).
    const bin = join(base, "bin-without-s3cmd");
    mkdirSync(bin);
    for (const d of ["/usr/local/bin", "/usr/bin", "/usr/sbin"]) {
      for (const f of readdirSync(d)) {
        if (["s3cmd", "apt-get"].includes(f) || existsSync(join(bin, f))) continue;
        symlinkSync(join(d, f), join(bin, f));
      }
    }
    const crontab = join(base, "preflight.crontab");
    writeFileSync(crontab, renderBackupCrontab({ ...GOODGO_BACKUP_SCHEDULE, scriptsDir: SCRIPTS }));
    const env = { ...envFor(base, { S3_URL: "s3://goodgo-prod-backups/postgres/" }), PATH: bin };
    const missing = await run(SCHEDULER, ["--crontab", crontab, "--check"], env);
    expect(missing.code).toBe(69);
    expect(missing.lines.at(-1)!.error).toBe("required commands missing: s3cmd");
    expect(missing.stderr).toMatch(/BACKUP_APT_INSTALL=1/);
    // Without S3_URL nothing is missing.
    expect((await run(SCHEDULER, ["--crontab", crontab, "--check"], { ...envFor(base), PATH: bin })).code).toBe(0);

    // A stand-in apt-get that records its arguments and "installs" s3cmd into the PATH.
    const log = join(base, "apt-get.log");
    writeFileSync(join(bin, "apt-get"), `#!/bin/sh\necho "$@" >> ${log}\ncase "$1" in install) printf '#!/bin/sh\\nexit 0\\n' > ${join(bin, "s3cmd")}; chmod +x ${join(bin, "s3cmd")};; esac\n`, { mode: 0o755 });
    const installed = await run(SCHEDULER, ["--crontab", crontab, "--check"], { ...env, BACKUP_APT_INSTALL: "1" });
    expect(installed.code, installed.stderr).toBe(0);
    expect(read(log)).toMatch(/^update -qq\ninstall -y -qq --no-install-recommends s3cmd\n$/);
  });

  it("bad schedules fail naming the field; crontab lines outside the supported subset are refused at start (65)", async () => {
    expect(() => renderBackupCrontab({ backupAt: "2:00", verifyAt: "04:00" })).toThrow(/backupAt: must be a UTC time "HH:MM"/);
    expect(() => renderBackupCrontab({ backupAt: "02:00", verifyAt: "24:00" })).toThrow(/verifyAt/);
    expect(() => renderBackupCrontab({ backupAt: "02:00", verifyAt: "02:00" })).toThrow(RenderInputError);
    expect(() => renderBackupCrontab({ backupAt: "02:00", verifyAt: "02:00" })).toThrow(expect.objectContaining({ renderer: "backup schedule" }));
    expect(() => renderBackupCrontab({ backupAt: "02:00", verifyAt: "04:00", scriptsDir: "scripts; rm -rf /" })).toThrow(/scriptsDir/);
    for (const [line, re] of [
      ["0 2 1 * * /x/backup-job.sh backup", /day of month and month must be '\*'/],
      // a weekday list is the pgBackRest jobs' (weekly full); anything else in that field is refused
      ["0 2 * * 1-5 /x/backup-job.sh backup", /day of week must be '\*' or 0-6/],
      ["0 2 * * 7 /x/backup-job.sh backup", /day of week must be '\*' or 0-6/],
      ["*/5 2 * * * /x/backup-job.sh backup", /minute must be 0-59/],
      ["0 2 * * * backup-job.sh backup", /absolute path/],
      ["0 2 * * * /x/backup-job.sh backup; rm -rf /", /shell syntax/],
      ["# only comments", /no job lines/],
    ] as const) {
      const f = join(base, "bad.crontab");
      writeFileSync(f, `${line}\n`);
      const r = await run(SCHEDULER, ["--crontab", f, "--check"], envFor(base));
      expect(r.code, line).toBe(65);
      expect(r.lines.at(-1)!.error, line).toMatch(re);
    }
    expect((await run(SCHEDULER, ["--crontab", join(base, "missing"), "--check"], envFor(base))).code).toBe(66);
  });

  describe("backup-job.sh backup", () => {
    let dir: string;
    let firstMetrics: string;

    beforeAll(() => {
      dir = join(base, "backups");
    });

    it("after a successful backup, pg_backup.prom is exactly the contract's rendering of the result (finished_at, bytes)", async () => {
      const r = await run(JOB, ["backup"], envFor(dir));
      expect(r.code, r.stderr).toBe(0);
      const backup = r.lines.find((l) => l.script === "pg-backup.sh")!;
      expect(backup.status).toBe("ok");
      const metricsDir = join(dir, "metrics");
      firstMetrics = read(join(metricsDir, "pg_backup.prom"));
      expect(firstMetrics).toBe(renderBackupSuccessMetrics({ finishedUnix: Date.parse(backup.finished_at) / 1000, sizeBytes: backup.bytes }));
      expect(backup.bytes).toBe(readFileSync(backup.file).length);
      const check = promtoolCheck(firstMetrics);
      expect(check.ok, check.output).toBe(true);
      // Where node_exporter's textfile collector reads them: GOODGO_BACKUP_METRICS.dir is <BACKUP_DIR>/metrics.
      expect(GOODGO_BACKUP_METRICS.backupTextfile).toBe(`${GOODGO_BACKUP_METRICS.dir}/pg_backup.prom`);
      expect(GOODGO_BACKUP_METRICS.dir).toBe("/backups/metrics");
      const job = read(join(metricsDir, "pg_backup_job.prom"));
      expect(promValue(job, "goodgo_backup_last_run_success")).toBe(1);
      expect(promValue(job, "goodgo_backup_last_failure_timestamp_seconds")).toBeUndefined();
      expect(promtoolCheck(job).ok).toBe(true);
      expect(r.lines.at(-1)).toMatchObject({ script: "backup-job.sh", status: "ok", job: "backup", metrics: ["pg_backup.prom", "pg_backup_job.prom"] });
      // No temp files left beside them.
      expect(readdirSync(metricsDir).sort()).toEqual(["pg_backup.prom", "pg_backup_job.prom"]);
    });

    it("a backup against a stopped server fails (69), leaves the last success timestamp as it was and sets the failure metric", async () => {
      pg.stop();
      try {
        const before = Math.floor(Date.now() / 1000);
        const r = await run(JOB, ["backup"], envFor(dir));
        expect(r.code).toBe(69);
        expect(r.lines.find((l) => l.script === "pg-backup.sh")!.error).toMatch(/cannot connect/);
        expect(read(join(dir, "metrics", "pg_backup.prom"))).toBe(firstMetrics);
        const job = read(join(dir, "metrics", "pg_backup_job.prom"));
        expect(promValue(job, "goodgo_backup_last_run_success")).toBe(0);
        expect(promValue(job, "goodgo_backup_last_failure_timestamp_seconds")).toBeGreaterThanOrEqual(before);
        expect(r.lines.at(-1)).toMatchObject({ status: "error", exit_code: 69, metrics: ["pg_backup_job.prom"] });
      } finally {
        pg.start();
      }
    });

    it("a backup with a wrong password fails the same way, and the password appears nowhere", async () => {
      pg.sql("CREATE ROLE backup_pw LOGIN PASSWORD 'the-right-one'; GRANT pg_read_all_data TO backup_pw;");
      const hba = join(pg.dataDir, "pg_hba.conf");
      writeFileSync(hba, `host all backup_pw 127.0.0.1/32 scram-sha-256\n${read(hba)}`);
      pg.sql("SELECT pg_reload_conf()");
      const r = await run(JOB, ["backup"], envFor(dir, { PGUSER: "backup_pw", PGPASSWORD: WRONG_PASSWORD }));
      expect(r.code).toBe(69);
      expect(read(join(dir, "metrics", "pg_backup.prom"))).toBe(firstMetrics);
      const job = read(join(dir, "metrics", "pg_backup_job.prom"));
      expect(promValue(job, "goodgo_backup_last_run_success")).toBe(0);
      const everything = r.stdout + r.stderr + readdirSync(join(dir, "metrics")).map((f) => read(join(dir, "metrics", f))).join("");
      expect(everything).not.toContain(WRONG_PASSWORD);
    });

    it("the next good backup moves the success timestamp on, keeps the last failure time and sets run success back to 1", async () => {
      const failedAt = promValue(read(join(dir, "metrics", "pg_backup_job.prom")), "goodgo_backup_last_failure_timestamp_seconds");
      const r = await run(JOB, ["backup"], envFor(dir));
      expect(r.code, r.stderr).toBe(0);
      const backup = r.lines.find((l) => l.script === "pg-backup.sh")!;
      expect(read(join(dir, "metrics", "pg_backup.prom"))).toBe(renderBackupSuccessMetrics({ finishedUnix: Date.parse(backup.finished_at) / 1000, sizeBytes: backup.bytes }));
      const job = read(join(dir, "metrics", "pg_backup_job.prom"));
      expect(promValue(job, "goodgo_backup_last_run_success")).toBe(1);
      expect(promValue(job, "goodgo_backup_last_failure_timestamp_seconds")).toBe(failedAt);
      expect(archives(dir).length).toBe(2);
    });

    it("copies the backup off-site with pg-backup.sh's upload when S3_URL is set; a refused upload keeps the local success but fails the run (75)", async () => {
      const s3env = { S3_ENDPOINT: s3.endpoint, S3_NO_SSL: "1", AWS_ACCESS_KEY_ID: "AKIALAZARUSTEST", AWS_SECRET_ACCESS_KEY: secret };
      const ok = await run(JOB, ["backup"], envFor(dir, { ...s3env, S3_URL: "s3://goodgo-prod-backups/postgres/" }));
      expect(ok.code, ok.stderr).toBe(0);
      const backup = ok.lines.find((l) => l.script === "pg-backup.sh")!;
      const name = backup.file.split("/").pop();
      expect(s3.objects.get(`/goodgo-prod-backups/postgres/${name}`)?.equals(readFileSync(backup.file))).toBe(true);
      expect(s3.objects.get(`/goodgo-prod-backups/postgres/${name}.sha256`)?.toString()).toBe(read(`${backup.file}.sha256`));
      expect(promValue(read(join(dir, "metrics", "pg_backup_job.prom")), "goodgo_backup_offsite_upload_success")).toBe(1);

      const denied = await run(JOB, ["backup"], envFor(dir, { ...s3env, S3_URL: "s3://denied/postgres/" }));
      expect(denied.code).toBe(75);
      const local = denied.lines.find((l) => l.script === "pg-backup.sh")!;
      expect(existsSync(local.file)).toBe(true);
      expect(read(join(dir, "metrics", "pg_backup.prom"))).toBe(renderBackupSuccessMetrics({ finishedUnix: Date.parse(local.finished_at) / 1000, sizeBytes: local.bytes }));
      const job = read(join(dir, "metrics", "pg_backup_job.prom"));
      expect(promValue(job, "goodgo_backup_last_run_success")).toBe(0);
      expect(promValue(job, "goodgo_backup_offsite_upload_success")).toBe(0);
      expect(ok.stdout + ok.stderr + denied.stdout + denied.stderr).not.toContain(secret);
    });
  });

  describe("backup-job.sh verify", () => {
    it("a passing verification writes verify-latest.json (status ok) and pg_verify.prom as the contract renders it", async () => {
      const dir = join(base, "backups");
      const r = await run(JOB, ["verify"], envFor(dir));
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(read(join(dir, "verify-latest.json")));
      expect(report).toMatchObject({ script: "pg-verify.sh", status: "ok" });
      expect(report.checks.critical_checksums.ok).toBe(true);
      expect(report.checks.row_counts.restored_rows).toBe(1000);
      const metrics = read(join(dir, "metrics", "pg_verify.prom"));
      expect(metrics).toBe(renderVerifyMetrics({ passed: true, finishedUnix: Date.parse(report.finished_at) / 1000 }));
      expect(promtoolCheck(metrics).ok).toBe(true);
    });

    it("a corrupted latest backup fails verification: report status error, goodgo_backup_verify_success 0", async () => {
      const src = join(base, "backups");
      const dir = join(base, "corrupt");
      mkdirSync(dir);
      const latest = readlinkSync(join(src, "latest"));
      copyFileSync(join(src, latest), join(dir, latest));
      copyFileSync(join(src, `${latest}.sha256`), join(dir, `${latest}.sha256`));
      symlinkSync(latest, join(dir, "latest"));
      appendFileSync(join(dir, latest), "garbage");
      const r = await run(JOB, ["verify"], envFor(dir));
      expect(r.code).toBe(65);
      const report = JSON.parse(read(join(dir, "verify-latest.json")));
      expect(report.status).toBe("error");
      expect(report.error).toMatch(/checksum mismatch/);
      const metrics = read(join(dir, "metrics", "pg_verify.prom"));
      expect(metrics).toBe(renderVerifyMetrics({ passed: false, finishedUnix: Date.parse(report.finished_at) / 1000 }));
    });

    it("a verification that cannot run at all (no backup) still rewrites verify-latest.json and reports failure", async () => {
      const dir = join(base, "empty");
      mkdirSync(dir);
      writeFileSync(join(dir, "verify-latest.json"), '{"status":"ok","note":"a stale report from an earlier run"}\n');
      const r = await run(JOB, ["verify"], envFor(dir));
      expect(r.code).toBe(66);
      const report = JSON.parse(read(join(dir, "verify-latest.json")));
      expect(report).toMatchObject({ status: "error", exit_code: 66 });
      expect(report.note).toBeUndefined();
      expect(promValue(read(join(dir, "metrics", "pg_verify.prom")), "goodgo_backup_verify_success")).toBe(0);
    });

    it("usage errors exit 64 without touching metrics", async () => {
      const dir = join(base, "usage");
      expect((await run(JOB, ["restore"], envFor(dir))).code).toBe(64);
      expect((await run(JOB, [], envFor(dir))).code).toBe(64);
      expect(existsSync(join(dir, "metrics"))).toBe(false);
    });
  });

  it("the scheduler loop on a test clock runs the backup once in the 02:00 minute, the verification at 04:00, and stops on SIGTERM", async () => {
    const dir = join(base, "scheduled");
    const clock = join(base, "clock");
    const crontab = join(base, "scheduled.crontab");
    writeFileSync(crontab, renderBackupCrontab({ ...GOODGO_BACKUP_SCHEDULE, scriptsDir: SCRIPTS }));
    writeFileSync(clock, "2026-11-23T01:59\n");
    const child = spawn(SCHEDULER, ["--crontab", crontab], { env: envFor(dir, { SCHEDULE_CLOCK_FILE: clock, SCHEDULE_TICK_SECONDS: "0.2" }) });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    });
    const waitFor = async (what: string, cond: () => boolean) => {
      for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
      if (!cond()) throw new Error(`timed out waiting for ${what}; scheduler output:\n${out}`);
    };
    await waitFor("the scheduler to log its jobs", () => out.includes("scheduled:"));
    // Several ticks at 01:59: nothing runs.
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(dir) ? archives(dir) : []).toEqual([]);

    writeFileSync(clock, "2026-11-23T02:00\n");
    await waitFor("the 02:00 backup", () => existsSync(join(dir, "metrics", "pg_backup.prom")));
    // Still 02:00 for many more ticks: the job does not run again in the same minute.
    await new Promise((r) => setTimeout(r, 1500));
    expect(archives(dir).length).toBe(1);
    expect(out.match(/starting at 2026-11-23T02:00 UTC: \S+backup-job\.sh backup/g)?.length).toBe(1);

    writeFileSync(clock, "2026-11-23T04:00\n");
    await waitFor("the 04:00 verification", () => existsSync(join(dir, "metrics", "pg_verify.prom")));
    await waitFor("the verification to end", () => /job ended: \S+backup-job\.sh verify \(exit 0\)/.test(out));
    expect(JSON.parse(read(join(dir, "verify-latest.json"))).status).toBe("ok");
    expect(promValue(read(join(dir, "metrics", "pg_verify.prom")), "goodgo_backup_verify_success")).toBe(1);

    // The next day's 02:00 runs the backup again.
    writeFileSync(clock, "2026-11-24T02:00\n");
    await waitFor("the next day's backup", () => /job ended: \S+backup-job\.sh backup \(exit 0\)[\s\S]*job ended: \S+backup-job\.sh backup \(exit 0\)/.test(out));
    expect(archives(dir).length).toBe(2);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out).toContain("stopped");
  });

  it("both scripts are shellcheck-clean", async () => {
    for (const f of [JOB, SCHEDULER]) {
      const r = spawnSync("shellcheck", ["-x", f], { cwd: SCRIPTS, encoding: "utf8" });
      expect(r.status, `${f}\n${r.stdout}${r.stderr}`).toBe(0);
    }
  });
});
