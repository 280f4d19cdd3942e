// The contract between pg-backup and the backup alerts: the two textfiles pg-backup and pg-verify write
// (renderBackupSuccessMetrics, renderVerifyMetrics) pass `promtool check metrics`, and a real Prometheus (Debian's
// prometheus, on loopback) scraping them, as node_exporter's textfile collector serves them, with GoodGo's
// rendered backup rules puts BackupTooOld / BackupVerificationFailed into `pending` when the backup is 26 h old and
// the verification failed, and clears them when a fresh, verified backup is reported. (`for` is 5 m and 1 m, which
// the promtool unit tests cover; here the expression and the metric names are proven against a live scrape.)
// Also: postgres_exporter's extra query for PostgresSlowQueries counts a real lock-waiting backend on PostgreSQL 15.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  GOODGO_BACKUP_METRICS,
  PG_LOCK_WAITING_SQL,
  goodgoMonitoringFiles,
  renderBackupSuccessMetrics,
  renderVerifyMetrics,
} from "../../../stacks/goodgo/monitoring";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { freePort } from "../../support/ports";
import { run } from "./render";

const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? "prometheus";

describe("the pg-backup and pg-verify metrics textfiles", () => {
  it("are valid Prometheus exposition format (promtool check metrics) with the names the rules read", () => {
    const backup = renderBackupSuccessMetrics({ finishedUnix: 1_700_000_000, sizeBytes: 12345 });
    const verify = renderVerifyMetrics({ passed: true, finishedUnix: 1_700_007_200 });
    for (const text of [backup, verify, backup + verify]) {
      const res = run("promtool", ["check", "metrics"], { input: text });
      expect(res.status, res.out).toBe(0);
      expect(res.out.trim()).toBe("");
    }
    const rules = goodgoMonitoringFiles({ stack: "prod" })["prometheus/rules/backup.yml"];
    expect(rules).toContain(GOODGO_BACKUP_METRICS.lastSuccess);
    expect(rules).toContain(GOODGO_BACKUP_METRICS.verifySuccess);
    expect(backup).toMatch(new RegExp(`^${GOODGO_BACKUP_METRICS.lastSuccess} 1700000000$`, "m"));
    expect(verify).toMatch(new RegExp(`^${GOODGO_BACKUP_METRICS.verifySuccess} 1$`, "m"));
    expect(renderVerifyMetrics({ passed: false, finishedUnix: 1 })).toMatch(new RegExp(`^${GOODGO_BACKUP_METRICS.verifySuccess} 0$`, "m"));
    expect(() => renderBackupSuccessMetrics({ finishedUnix: Number.NaN, sizeBytes: 1 })).toThrow(/goodgo_backup_last_success_timestamp_seconds/);
  });
});

describe("a real Prometheus evaluating GoodGo's backup rules over the pg-backup textfile", () => {
  let dir: string;
  let exporter: Server;
  let prom: ChildProcess | undefined;
  let promLog = "";
  let promPort: number;
  let body = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lazarus-prometheus-"));
    const exporterPort = await freePort();
    exporter = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body);
    });
    await new Promise<void>((resolve) => exporter.listen(exporterPort, "127.0.0.1", resolve));
    writeFileSync(join(dir, "backup.yml"), goodgoMonitoringFiles({ stack: "prod" })["prometheus/rules/backup.yml"]);
    writeFileSync(join(dir, "prometheus.yml"), [
      "global: { scrape_interval: 1s, evaluation_interval: 1s }",
      "rule_files: [backup.yml]",
      "scrape_configs:",
      `  - { job_name: node, static_configs: [ { targets: ["127.0.0.1:${exporterPort}"] } ] }`,
      "",
    ].join("\n"));
    promPort = await freePort();
    prom = spawn(PROMETHEUS_BIN, [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    prom.stdout!.on("data", (d) => (promLog += d));
    prom.stderr!.on("data", (d) => (promLog += d));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${promPort}/-/ready`).catch(() => undefined))?.ok === true, 60_000, () => promLog);
  });

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      prom.kill("SIGTERM");
      await new Promise((r) => prom!.once("exit", r));
    }
    await new Promise((r) => exporter?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  async function alerts(): Promise<Record<string, { state: string; labels: Record<string, string> }>> {
    const res = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
    return Object.fromEntries(res.data.alerts.map((a) => [a.labels.alertname, a]));
  }

  it("raises BackupTooOld and BackupVerificationFailed for a 26-hour-old backup whose verification failed", async () => {
    const now = Date.now() / 1000;
    // The 02:00 backups of the last day failed (pg_backup.prom kept its old value); the verification failed.
    body = renderBackupSuccessMetrics({ finishedUnix: now - 26 * 3600, sizeBytes: 1000 }) + renderVerifyMetrics({ passed: false, finishedUnix: now - 24 * 3600 });
    let seen: Awaited<ReturnType<typeof alerts>> = {};
    await waitFor(async () => {
      seen = await alerts();
      return Boolean(seen.BackupTooOld && seen.BackupVerificationFailed);
    }, 60_000, () => `${JSON.stringify(seen)}\n${promLog}`);
    expect(seen.BackupTooOld.state).toMatch(/pending|firing/);
    expect(seen.BackupTooOld.labels).toMatchObject({ severity: "warning", service: "pg-backup", category: "backup" });
    expect(seen.BackupVerificationFailed.labels).toMatchObject({ severity: "warning", service: "pg-backup", category: "backup" });
  });

  it("clears both once a fresh backup passed verification", async () => {
    const now = Date.now() / 1000;
    body = renderBackupSuccessMetrics({ finishedUnix: now - 3600, sizeBytes: 1000 }) + renderVerifyMetrics({ passed: true, finishedUnix: now - 60 });
    let seen: Awaited<ReturnType<typeof alerts>> = {};
    await waitFor(async () => {
      seen = await alerts();
      return !seen.BackupTooOld && !seen.BackupVerificationFailed;
    }, 60_000, () => `${JSON.stringify(seen)}\n${promLog}`);
    // The scrape really returned the fresh values (the alerts did not clear because the target vanished).
    const q = await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(`time() - ${GOODGO_BACKUP_METRICS.lastSuccess}`)}`)).json() as { data: { result: { value: [number, string] }[] } };
    expect(Number(q.data.result[0].value[1])).toBeLessThan(2 * 3600);
  });
});

describe("postgres_exporter's lock-waiting query (PostgresSlowQueries)", () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(() => pg?.destroy());

  it("is valid exporter YAML and counts a backend that waits on a lock", async () => {
    const q = parse(goodgoMonitoringFiles({ stack: "prod" })["postgres-exporter/queries.yml"]);
    expect(q.pg_lock_waiting.query).toBe(PG_LOCK_WAITING_SQL);
    expect(q.pg_lock_waiting.metrics).toEqual([
      { datname: { usage: "LABEL", description: "Database name" } },
      { count: { usage: "GAUGE", description: "Backends waiting on a lock" } },
    ]);
    pg.sql("CREATE DATABASE goodgo");
    pg.sql("CREATE TABLE t (id int); INSERT INTO t VALUES (1);", "goodgo");
    expect(pg.sql(PG_LOCK_WAITING_SQL)).toBe("");
    // Session 1 holds an exclusive lock for a while; session 2 waits on it.
    const psql = (sql: string) => spawn("psql", ["-X", "-d", "goodgo", "-c", sql], { env: { ...process.env, ...pg.env }, stdio: "ignore" });
    const holder = psql("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20); COMMIT;");
    await waitFor(async () => pg.sql("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND granted AND relation = 't'::regclass", "goodgo") === "1", 20_000, () => "no lock holder");
    const waiter = psql("SELECT * FROM t;");
    try {
      await waitFor(async () => pg.sql(PG_LOCK_WAITING_SQL) === "goodgo|1", 20_000, () => pg.sql(PG_LOCK_WAITING_SQL));
    } finally {
      pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'goodgo' AND pid <> pg_backend_pid()");
      await Promise.all([holder, waiter].map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
    }
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, diag: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`condition not met within ${timeoutMs} ms\n${diag()}`);
}
