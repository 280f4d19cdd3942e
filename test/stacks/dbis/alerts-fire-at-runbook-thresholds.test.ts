// Every alert of runbook 004's "Alert Thresholds", held to the runbook's number by the real `promtool test rules`
// over the rendered rule files: series just above the threshold leave the alert silent one evaluation before its
// `for` has elapsed and fire it when it has; series just below never fire it. Thresholds and severities are parsed
// from the runbook's text (./runbook.ts); the series are built here per metric (the runbook's metric names, or the
// contract DBIS_METRIC_CONTRACT defines where it names none). Read from the rules: alert names, `for`, annotations.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { DBIS_APP_JOB, DBIS_METRIC_CONTRACT, DBIS_PROMETHEUS_DIR, dbisAlertGroups, dbisMonitoringFiles } from "../../../stacks/dbis/monitoring";
import { run } from "../../renderers/monitoring/render";
import { runbookAlerts } from "./runbook";

interface Series { series: string; values: string }
interface AlertCase { above: Series[]; below: Series[]; trueFrom: number; interval: string }

const EVAL_S = 15;
const SAMPLES = 120;
const APP = { job: DBIS_APP_JOB, instance: "app:3000", service: "app" };
const labelText = (l: Record<string, string>) => Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(", ");
const num = (v: number) => String(Number(v.toPrecision(8)));
const gauge = (metric: string, v: number, extra: Record<string, string> = {}): Series => ({ series: `${metric}{${labelText({ ...APP, ...extra })}}`, values: `${num(v)}x${SAMPLES}` });
/** A counter growing by `perSample` every sample. */
const counter = (metric: string, perSample: number, extra: Record<string, string> = {}): Series => ({ series: `${metric}{${labelText({ ...APP, ...extra })}}`, values: `0+${num(perSample)}x${SAMPLES}` });
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1] ?? Number(/^(\d+)m$/.exec(d)![1]) * 60);
const duration = (s: number) => `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;

/** The runbook bullet each alert implements. */
const BULLET: Record<string, string> = {
  DbisPaymentFailureRateHigh: "Payment failure rate > 5% in 5 minutes",
  DbisTlsConnectionErrors: "TLS connection errors > 10 in 1 minute",
  DbisDatabasePoolExhausted: "Database connection pool exhaustion",
  DbisHealthCheckFailing: "Health check failing",
  DbisPaymentLatencyP95High: "Payment processing latency p95 > 30s",
  DbisReconciliationUnmatchedHigh: "Unmatched reconciliation items > 10",
  DbisTlsCircuitBreakerOpen: "TLS circuit breaker OPEN state",
};

/** p95 of `p95` seconds: one finite bucket at p95/0.95 (histogram_quantile interpolates from 0). */
const latency = (p95: number) => [num(p95 / 0.95), "+Inf"].map((le) => counter("payment_processing_duration_seconds_bucket", 10, { le }));

// One case per alert, from the runbook's threshold `t` (0 where the bullet states no number).
const CASES: Record<string, (t: number) => AlertCase> = {
  // 100 payments initiated a minute, 5 % above / below the runbook's failure percentage failing.
  DbisPaymentFailureRateHigh: (t) => ({
    above: [counter("payments_initiated_total", 100), counter("payments_failed_total", t * 1.05)],
    below: [counter("payments_initiated_total", 100), counter("payments_failed_total", t * 0.95)],
    trueFrom: 60,
    interval: "1m",
  }),
  // Errors every 15 s: t + 1 a minute fires once a full minute is seen; exactly t a minute never does.
  DbisTlsConnectionErrors: (t) => ({ above: [counter("tls_connection_errors_total", (t + 1) / 4)], below: [counter("tls_connection_errors_total", t / 4)], trueFrom: 60, interval: "15s" }),
  // Exhaustion: every connection in use; one free connection is not.
  DbisDatabasePoolExhausted: () => ({
    above: [gauge("db_pool_connections_in_use", 20), gauge("db_pool_connections_max", 20)],
    below: [gauge("db_pool_connections_in_use", 19), gauge("db_pool_connections_max", 20)],
    trueFrom: 0,
    interval: "1m",
  }),
  DbisHealthCheckFailing: () => ({
    above: [gauge("health_check_status", 0, { check: "database" }), gauge("health_check_status", 1, { check: "tls" }), gauge("up", 1)],
    below: [gauge("health_check_status", 1, { check: "database" }), gauge("health_check_status", 1, { check: "tls" }), gauge("up", 1)],
    trueFrom: 0,
    interval: "1m",
  }),
  DbisPaymentLatencyP95High: (t) => ({ above: latency(t * 1.05), below: latency(t * 0.95), trueFrom: 60, interval: "1m" }),
  DbisReconciliationUnmatchedHigh: (t) => ({ above: [gauge("reconciliation_unmatched_items", t + 1)], below: [gauge("reconciliation_unmatched_items", t)], trueFrom: 0, interval: "1m" }),
  // OPEN is 2 in the contract; HALF_OPEN (1) is not OPEN.
  DbisTlsCircuitBreakerOpen: () => ({ above: [gauge("tls_circuit_breaker_state", 2, { receiver: "172.67.157.88:443" })], below: [gauge("tls_circuit_breaker_state", 1, { receiver: "172.67.157.88:443" })], trueFrom: 0, interval: "1m" }),
};

const RULES = dbisAlertGroups().flatMap((g) => g.rules);

function testGroups(alert: string, c: AlertCase) {
  const rule = RULES.find((r) => r.alert === alert)!;
  const bullet = runbookAlerts().find((b) => b.text === BULLET[alert])!;
  const firesAt = c.trueFrom + seconds(rule.for);
  const labels = { severity: bullet.severity, service: "app" };
  const annotations = { summary: rule.summary, description: rule.description };
  return [
    {
      name: `${alert}: just above "${bullet.text}"`,
      interval: c.interval,
      input_series: c.above,
      alert_rule_test: [
        ...(firesAt >= EVAL_S ? [{ eval_time: duration(firesAt - EVAL_S), alertname: alert, exp_alerts: [] }] : []),
        { eval_time: duration(firesAt), alertname: alert, exp_alerts: [{ exp_labels: labels, exp_annotations: annotations }] },
      ],
    },
    {
      name: `${alert}: just below "${bullet.text}"`,
      interval: c.interval,
      input_series: c.below,
      alert_rule_test: [firesAt, firesAt + 1800].map((t) => ({ eval_time: duration(t), alertname: alert, exp_alerts: [] })),
    },
  ];
}

describe("every alert of runbook 004 fires just above its threshold and stays silent just below", () => {
  let dir: string;
  let files: Record<string, string>;
  let ruleFiles: string[];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lazarus-dbis-alerts-"));
    files = dbisMonitoringFiles({ stack: "prod", appPort: 3000 });
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
    ruleFiles = parse(files[`${DBIS_PROMETHEUS_DIR}/prometheus.yml`]).rule_files;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const promDir = () => join(dir, DBIS_PROMETHEUS_DIR);

  function testFile(alert: string, rulesDir: string, c = CASES[alert]!(runbookAlerts().find((b) => b.text === BULLET[alert])!.threshold ?? 0)): string {
    const file = join(rulesDir, `${alert}.test.yml`);
    writeFileSync(file, stringify({ rule_files: ruleFiles, evaluation_interval: `${EVAL_S}s`, tests: testGroups(alert, c) }, { lineWidth: 0 }));
    return file;
  }

  it("has one alert per runbook bullet, with the runbook's severity, and promtool accepts the config and rules", () => {
    expect(runbookAlerts().map((b) => b.text).sort()).toEqual(Object.values(BULLET).sort());
    expect(RULES.map((r) => r.alert).sort()).toEqual(Object.keys(CASES).sort());
    for (const r of RULES) expect(r.severity, r.alert).toBe(runbookAlerts().find((b) => b.text === BULLET[r.alert])!.severity);
    expect(parse(files[`${DBIS_PROMETHEUS_DIR}/prometheus.yml`]).global.evaluation_interval).toBe(`${EVAL_S}s`);
    const res = run("promtool", ["check", "config", "prometheus.yml"], { cwd: promDir() });
    expect(res.status, res.out).toBe(0);
  });

  it.each(Object.keys(BULLET).map((a) => [a, BULLET[a]]))("%s (%s)", (alert) => {
    const res = run("promtool", ["test", "rules", testFile(alert, promDir())], { cwd: promDir() });
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain("SUCCESS");
  });

  it("DbisHealthCheckFailing also fires when the app does not answer at all (its scrape is down)", () => {
    const c: AlertCase = { above: [gauge("up", 0)], below: [gauge("up", 1)], trueFrom: 0, interval: "1m" };
    const res = run("promtool", ["test", "rules", testFile("DbisHealthCheckFailing", promDir(), c)], { cwd: promDir() });
    expect(res.status, res.out).toBe(0);
  });

  it("selects only the metrics the runbook names or the contract defines", () => {
    const named = ["payments_initiated_total", "payments_failed_total", "payment_processing_duration_seconds_bucket", "tls_connection_errors_total", "up"];
    const used = new Set(RULES.flatMap((r) => [...r.expr.matchAll(/([a-z_]+)\{/g)].map((m) => m[1])));
    for (const m of used) expect([...named, ...Object.keys(DBIS_METRIC_CONTRACT)], m).toContain(m);
  });

  // The same cases against rules with each number doubled: every case must fail, so a wrong constant cannot pass.
  it("doubling any threshold fails that alert's case", () => {
    const mutatedDir = join(dir, "mutated");
    const mutated: string[] = [];
    for (const f of ruleFiles) {
      const doc = parse(files[`${DBIS_PROMETHEUS_DIR}/${f}`]);
      for (const rule of doc.groups.flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules)) {
        const m = />=? (\d+(?:\.\d+)?)$/.exec(rule.expr);
        if (!m) continue;
        rule.expr = rule.expr.replace(/(>=? )(\d+(?:\.\d+)?)$/, (_: string, op: string, v: string) => `${op}${Number(v) * 2}`);
        mutated.push(rule.alert);
      }
      mkdirSync(dirname(join(mutatedDir, f)), { recursive: true });
      writeFileSync(join(mutatedDir, f), stringify(doc));
    }
    expect(mutated.sort()).toEqual(Object.keys(BULLET).filter((a) => a !== "DbisHealthCheckFailing").sort());
    const res = run("promtool", ["test", "rules", ...mutated.map((a) => testFile(a, mutatedDir))], { cwd: mutatedDir });
    expect(res.status).not.toBe(0);
    const failed = new Set([...res.out.matchAll(/alertname: (\w+)/g)].map((x) => x[1]));
    expect(mutated.filter((a) => !failed.has(a))).toEqual([]);
  });
});
