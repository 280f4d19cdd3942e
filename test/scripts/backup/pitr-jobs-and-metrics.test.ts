// The physical route's schedule and metrics, run for real against PostgreSQL 15 archiving to real pgBackRest:
//   - backup-job.sh pitr-full / pitr-diff run pitr-backup.sh (as the server's OS user when run as root, as in the
//     pg-backup container) and write pgbackrest_<type>.prom with exactly the names GoodGo's rules read
//     (lib/postgresPitr.ts PITR_METRICS, GOODGO_BACKUP_METRICS.pitrLastSuccess), accepted by `promtool check metrics`;
//     a failed run leaves the success timestamp as it was (so PitrBackupTooOld fires 25 h after the last good one)
//     and sets the run metric to 0;
//   - the scheduler loop on a test clock starts the full backup on Sunday and a differential on Monday, at 01:00, as
//     the rendered crontab says;
//   - postgres_exporter's pg_wal_archive query (WalArchivingFailing) reads 0 while archiving works and 1 once
//     archive_command fails.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PG_WAL_ARCHIVE_SQL, PITR_METRICS } from "../../../lib/postgresPitr";
import { renderBackupCrontab } from "../../../renderers/backupSchedule";
import { GOODGO_BACKUP_METRICS, goodgoMonitoringFiles } from "../../../stacks/goodgo/monitoring";
import { SCRIPTS_DIR, chownToServerUser, startPitrCluster, type PitrCluster } from "../../support/pgbackrest";
import { PG_BIN } from "../../support/postgres";

const JOB = join(SCRIPTS_DIR, "backup-job.sh");
const SCHEDULER = join(SCRIPTS_DIR, "backup-schedule.sh");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let c: PitrCluster;
let metrics: string;
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  PGBACKREST_CONFIG: c.confFile,
  PG_BIN,
  PITR_STANZA: "goodgo",
  BACKUP_DIR: c.root,
  METRICS_DIR: metrics,
  ...extra,
});

function job(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync("bash", [JOB, ...args], { env: env(extra), encoding: "utf8" });
  const lines = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, wrapped: lines[0], result: lines[lines.length - 1] };
}

function labelled(text: string, metric: string, labels: string): number | undefined {
  // labels as written, braces included: {stanza="goodgo",type="full"}
  const m = new RegExp(`^${metric}${labels.replace(/[{}]/g, (ch) => `\\${ch}`)} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

beforeAll(async () => {
  c = await startPitrCluster({ stanza: "goodgo", archiveTimeoutSeconds: 10 });
  c.pg.sql("create table t (id int)");
  metrics = c.mkdir("metrics");
  chownToServerUser(metrics);
});
afterAll(() => c?.destroy());

describe("backup-job.sh pitr-full / pitr-diff", () => {
  it("a full backup writes pgbackrest_full.prom with the names GoodGo's rules read, accepted by promtool", () => {
    const before = Math.floor(Date.now() / 1000);
    const r = job(["pitr-full"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.wrapped).toMatchObject({ script: "pitr-backup.sh", status: "ok", type: "full", stanza: "goodgo" });
    expect(r.result).toMatchObject({ script: "backup-job.sh", status: "ok", job: "pitr-full", metrics: ["pgbackrest_full.prom", "pgbackrest_full_job.prom"] });
    const text = readFileSync(join(metrics, "pgbackrest_full.prom"), "utf8");
    const promtool = spawnSync("promtool", ["check", "metrics"], { input: text + readFileSync(join(metrics, "pgbackrest_full_job.prom"), "utf8"), encoding: "utf8" });
    expect(promtool.status, promtool.stdout + promtool.stderr).toBe(0);
    const labels = '{stanza="goodgo",type="full"}';
    const ended = labelled(text, PITR_METRICS.lastSuccess, labels)!;
    expect(ended).toBeGreaterThanOrEqual(before - 1);
    expect(ended).toBe(Math.floor(Date.parse(r.wrapped.stopped_at) / 1000));
    expect(labelled(text, PITR_METRICS.lastRepoBytes, labels)).toBe(r.wrapped.repo_bytes);
    // the names the rendered alert rules read are the ones the job wrote
    expect(GOODGO_BACKUP_METRICS.pitrLastSuccess).toBe(PITR_METRICS.lastSuccess);
    const rules = goodgoMonitoringFiles({ stack: "prod" })["prometheus/rules/backup.yml"]!;
    expect(rules).toContain(`max(${PITR_METRICS.lastSuccess})`);
    expect(rules).toContain(`max(${PITR_METRICS.walArchiveFailing})`);
    const run = readFileSync(join(metrics, "pgbackrest_full_job.prom"), "utf8");
    expect(labelled(run, PITR_METRICS.lastRunSuccess, labels)).toBe(1);
  });

  it("a differential after it is a differential, in its own file", () => {
    c.pg.sql("insert into t select generate_series(1, 1000)");
    const r = job(["pitr-diff"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.wrapped).toMatchObject({ type: "diff", requested_type: "diff" });
    const text = readFileSync(join(metrics, "pgbackrest_diff.prom"), "utf8");
    expect(labelled(text, PITR_METRICS.lastSuccess, '{stanza="goodgo",type="diff"}')).toBe(Math.floor(Date.parse(r.wrapped.stopped_at) / 1000));
  });

  it("a failed run (server stopped) keeps the last success, sets the run metric to 0 and exits with pitr-backup.sh's code", () => {
    const before = readFileSync(join(metrics, "pgbackrest_diff.prom"), "utf8");
    c.pg.stop("fast");
    try {
      const r = job(["pitr-diff"]);
      expect(r.code).toBe(69);
      expect(r.result).toMatchObject({ status: "error", job: "pitr-diff", wrapped_exit_code: 69 });
      expect(readFileSync(join(metrics, "pgbackrest_diff.prom"), "utf8")).toBe(before);
      expect(labelled(readFileSync(join(metrics, "pgbackrest_diff_job.prom"), "utf8"), PITR_METRICS.lastRunSuccess, '{stanza="goodgo",type="diff"}')).toBe(0);
    } finally {
      c.pg.start();
    }
  });

  it("refuses to run without the stanza (64) and writes no metric", () => {
    const r = job(["pitr-full"], { PITR_STANZA: "" });
    expect(r.code).toBe(64);
    expect(r.result.error).toContain("PITR_STANZA must name the pgBackRest stanza");
  });
});

describe("the schedule", () => {
  it("the scheduler loop runs the full backup on Sunday and a differential on Monday at 01:00, as the rendered crontab says", async () => {
    const crontab = join(c.root, "pitr.crontab");
    writeFileSync(crontab, renderBackupCrontab({ backupAt: "02:00", verifyAt: "04:00", scriptsDir: SCRIPTS_DIR, pitr: { at: "01:00", fullWeekday: 0 } }));
    expect(readFileSync(crontab, "utf8")).toContain("0 1 * * 0 ");
    const clock = join(c.root, "clock");
    writeFileSync(clock, "2026-11-22T00:59\n"); // a Sunday
    const dir = join(c.root, "scheduled-metrics");
    mkdirSync(dir);
    chownToServerUser(dir);
    const child = spawn(SCHEDULER, ["--crontab", crontab], { env: env({ SCHEDULE_CLOCK_FILE: clock, SCHEDULE_TICK_SECONDS: "0.2", METRICS_DIR: dir }) });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
    const waitFor = async (what: string, cond: () => boolean) => {
      for (let i = 0; i < 900 && !cond(); i++) await sleep(100);
      if (!cond()) throw new Error(`timed out waiting for ${what}; scheduler output:\n${out}`);
    };
    try {
      await waitFor("the scheduler to log its jobs", () => /scheduled: \S+ pitr-diff .* on day\(s\) 1,2,3,4,5,6/.test(out));
      writeFileSync(clock, "2026-11-22T01:00\n");
      await waitFor("Sunday's full backup", () => /job ended: \S+backup-job\.sh pitr-full \(exit 0\)/.test(out));
      expect(out).not.toMatch(/starting at 2026-11-22T01:00 UTC: \S+ pitr-diff/);
      writeFileSync(clock, "2026-11-23T01:00\n"); // Monday
      await waitFor("Monday's differential", () => /job ended: \S+backup-job\.sh pitr-diff \(exit 0\)/.test(out));
      expect(out.match(/starting at \S+ UTC: \S+ pitr-full/g)).toHaveLength(1);
      expect(existsSync(join(dir, "pgbackrest_full.prom")) && existsSync(join(dir, "pgbackrest_diff.prom"))).toBe(true);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  }, 180_000);
});

describe("postgres_exporter's pg_wal_archive query (WalArchivingFailing)", () => {
  it("reads 0 while archiving works and 1 once archive_command fails", async () => {
    const failing = () => c.pg.sql(PG_WAL_ARCHIVE_SQL).split("|")[0];
    c.pg.sql("insert into t values (1)");
    c.pg.sql("select pg_switch_wal()");
    await sleep(2000);
    expect(failing()).toBe("0");
    c.pg.sql("alter system set archive_command = 'false'");
    c.pg.sql("select pg_reload_conf()");
    try {
      c.pg.sql("insert into t values (2)");
      c.pg.sql("select pg_switch_wal()");
      for (let i = 0; i < 40 && failing() !== "1"; i++) await sleep(250);
      expect(failing()).toBe("1");
    } finally {
      c.pg.sql("alter system reset archive_command");
      c.pg.sql("select pg_reload_conf()");
    }
    // archiving works again: the next success clears it
    for (let i = 0; i < 80 && failing() !== "0"; i++) await sleep(250);
    expect(failing()).toBe("0");
  });

  it("pitr-route.sh is shellcheck-clean", () => {
    const r = spawnSync("shellcheck", ["-x", "pitr-route.sh", "pitr-restore.sh", "backup-job.sh", "backup-schedule.sh"], { cwd: SCRIPTS_DIR, encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
