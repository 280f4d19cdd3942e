// Every one of the Appendix's alerts, held to the threshold and duration the RUNBOOK states, by the real
// `promtool test rules` over the rendered rule files. For each alert: input series holding the alerted quantity just
// above the Appendix's threshold must leave it silent one evaluation before its `for` has elapsed and firing when it
// has; series just below the threshold must never fire it. The thresholds are parsed from the Appendix's Expression
// column (./appendix.ts, copied from the runbook), the durations and severities come from the Appendix too, and the
// series are built here per metric: nothing of the expected behaviour is read from the rule code, so a wrong
// constant in stacks/goodgo/monitoring/alerts.ts fails here (the last tests mutate the rendered rules to prove it).
// What is read from the rendered rules: which rule files exist, the alert names (checked equal to the Appendix's and
// to the cases'), and the annotations (not under test here; other tests hold them to the runbook).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { goodgoAlertGroups } from "../../../stacks/goodgo/monitoring";
import { APPENDIX_ALERTS, RENDERED_ALERTS } from "./appendix";
import { renderToTempDir, run, type Rendered } from "./render";

interface Series { series: string; values: string }
/** What one alert's case feeds promtool: series just above / just below the threshold, and what the firing alert carries. */
interface AlertCase {
  above: Series[];
  below: Series[];
  /** Seconds from the start of the series until the condition first holds for `above` (a rate needs two samples). */
  trueFrom: number;
  /** The firing alert's labels besides severity: what survives of the series' labels, and the rule's own. */
  labels: Record<string, string>;
}

/** The Appendix's threshold: "5xx rate > 1%" → { op: ">", value: 1 }; none for "Health probe fails". */
function appendixThreshold(expression: string): { op: ">" | "="; value: number } | undefined {
  const m = /([>=]) (\d+(?:\.\d+)?)/.exec(expression);
  return m ? { op: m[1] as ">" | "=", value: Number(m[2]) } : undefined;
}
const seconds = (d: string): number => {
  const m = /^(\d+)([smh])$/.exec(d);
  if (!m) throw new Error(`duration ${d}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as "s" | "m" | "h"];
};
const duration = (s: number): string => `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;

const EVAL_S = 15; // the rendered prometheus.yml's evaluation_interval, checked below
const SAMPLES = 180; // input series run three hours at one sample a minute
const RATE_TRUE_FROM = 60; // a ratio of rates, or increase() > 0, holds once [5m] has the samples at 0 and 1m
const RATE_WINDOW_FULL = 300; // an absolute rate reaches the counter's slope once [5m] is full of samples
/** For a count ("> 15 connections"): threshold + 1 fires, the threshold itself does not. */
const countAround = (t: number) => ({ above: t + 1, below: t });
/** For a continuous quantity ("p99 > 1s", "> 80%"): 5 % above fires, 5 % below does not. */
const ratioAround = (t: number) => ({ above: t * 1.05, below: t * 0.95 });

const num = (v: number) => String(Number(v.toPrecision(8)));
const labelText = (l: Record<string, string>) => Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(", ");
const gauge = (metric: string, labels: Record<string, string>, v: number): Series => ({ series: `${metric}{${labelText(labels)}}`, values: `${num(v)}x${SAMPLES}` });
const counter = (metric: string, labels: Record<string, string>, perSecond: number): Series => ({ series: `${metric}{${labelText(labels)}}`, values: `0+${num(perSecond * 60)}x${SAMPLES}` });

const API = { job: "goodgo-api", instance: "api:3001", service: "api" };
const PG = { job: "postgres", instance: "postgres-exporter:9187", service: "postgres" };
const REDIS = { job: "redis", instance: "redis-exporter:9121", service: "redis" };
const CADVISOR = { job: "cadvisor", instance: "cadvisor:8080", service: "cadvisor" };
const ROOT_FS = { job: "node", instance: "node-exporter:9100", service: "host", device: "/dev/vda1", fstype: "ext4", mountpoint: "/" };
const NODE = { job: "node", instance: "node-exporter:9100", service: "host" };

/** A latency histogram whose p99 is `p99` seconds: one finite bucket at p99/0.99 (histogram_quantile interpolates from 0). */
function latency(p99: number, extra: Record<string, string> = {}): Series[] {
  return [num(p99 / 0.99), "+Inf"].map((le) => counter("goodgo_api_request_duration_seconds_bucket", { ...API, ...extra, le }, 10));
}
/** 1000 requests a minute, `percent` of them answered 5xx. */
function errorRate(percent: number): Series[] {
  return [counter("http_requests_total", { ...API, status_code: "200" }, (1000 - 10 * percent) / 60), counter("http_requests_total", { ...API, status_code: "500" }, (10 * percent) / 60)];
}
/** A container started at t=0 and restarted `restarts` times, one a minute, then stable. */
function restarts(n: number): Series[] {
  const starts = Array.from({ length: n + 1 }, (_, i) => 1000 + 60 * i);
  return [{ series: `container_start_time_seconds{${labelText({ ...CADVISOR, name: "goodgo-api" })}}`, values: `${starts.join(" ")}x${SAMPLES}` }];
}
const numeric = (around: (t: number) => { above: number; below: number }, build: (v: number) => Series[], rest: Omit<AlertCase, "above" | "below">) =>
  (t: number): AlertCase => {
    const { above, below } = around(t);
    return { above: build(above), below: build(below), ...rest };
  };
const upDown = (down: Series[], up: Series[], rest: Omit<AlertCase, "above" | "below">) => (): AlertCase => ({ above: down, below: up, ...rest });

// One case per alert, built from the Appendix's threshold `t` in the Appendix's unit (seconds, %, count, hours).
const CASES: Record<string, (t: number) => AlertCase> = {
  ApiLatencyP99High: numeric(ratioAround, (v) => latency(v), { trueFrom: RATE_TRUE_FROM, labels: { service: "api" } }),
  ApiEndpointLatencyP99High: numeric(ratioAround, (v) => [...latency(v, { route: "/v1/search", method: "GET" }), ...latency(0.1, { route: "/v1/health", method: "GET" })],
    { trueFrom: RATE_TRUE_FROM, labels: { service: "api", route: "/v1/search", method: "GET" } }),
  ApiLatencyP99Critical: numeric(ratioAround, (v) => latency(v), { trueFrom: RATE_TRUE_FROM, labels: { service: "api" } }),
  ApiErrorRate5xxHigh: numeric(ratioAround, errorRate, { trueFrom: RATE_TRUE_FROM, labels: { service: "api" } }),
  ApiErrorRate5xxCritical: numeric(ratioAround, errorRate, { trueFrom: RATE_TRUE_FROM, labels: { service: "api" } }),
  // "Request rate = 0": no request at all fires it (from the first evaluation); one request a minute does not.
  ApiNoTraffic: (t) => ({ above: [counter("http_requests_total", { ...API, status_code: "200" }, t)], below: [counter("http_requests_total", { ...API, status_code: "200" }, 1 / 60)], trueFrom: 0, labels: { service: "api" } }),
  // Idle connections and other databases are there so that only active ones on goodgo count.
  PostgresActiveConnectionsHigh: numeric(countAround, (v) => [gauge("pg_stat_activity_count", { ...PG, datname: "goodgo", state: "active" }, v), gauge("pg_stat_activity_count", { ...PG, datname: "goodgo", state: "idle" }, 40)],
    { trueFrom: 0, labels: { service: "postgres" } }),
  PostgresConnectionPoolCritical: numeric(countAround, (v) => [gauge("pg_stat_activity_count", { ...PG, datname: "goodgo", state: "active" }, 20), gauge("pg_stat_activity_count", { ...PG, datname: "goodgo", state: "idle" }, v - 30), gauge("pg_stat_activity_count", { ...PG, datname: "postgres", state: "idle" }, 10)],
    { trueFrom: 0, labels: { service: "postgres" } }),
  PostgresSlowQueries: numeric(countAround, (v) => [gauge("pg_lock_waiting_count", { ...PG, datname: "goodgo" }, v - 1), gauge("pg_lock_waiting_count", { ...PG, datname: "postgres" }, 1)],
    { trueFrom: 0, labels: { service: "postgres" } }),
  PostgresDown: upDown([gauge("pg_up", PG, 0), gauge("up", PG, 1)], [gauge("pg_up", PG, 1), gauge("up", PG, 1)], { trueFrom: 0, labels: PG }),
  RedisMemoryHigh: numeric(ratioAround, (v) => [gauge("redis_memory_used_bytes", REDIS, v * 10), gauge("redis_memory_max_bytes", REDIS, 1000)], { trueFrom: 0, labels: REDIS }),
  RedisMemoryCritical: numeric(ratioAround, (v) => [gauge("redis_memory_used_bytes", REDIS, v * 10), gauge("redis_memory_max_bytes", REDIS, 1000)], { trueFrom: 0, labels: REDIS }),
  RedisConnectedClientsHigh: numeric(countAround, (v) => [gauge("redis_connected_clients", REDIS, v)], { trueFrom: 0, labels: REDIS }),
  // One rejected connection (at 1m) fires it; none does not.
  RedisRejectedConnections: numeric(countAround, (v) => [{ series: `redis_rejected_connections_total{${labelText(REDIS)}}`, values: `0 ${v}x${SAMPLES}` }], { trueFrom: RATE_TRUE_FROM, labels: REDIS }),
  // "> 3 restarts in 15 min": four restarts a minute apart fire it once the fourth is seen (4m); three never do.
  ContainerRestartLoop: (t) => ({ above: restarts(t + 1), below: restarts(t), trueFrom: (t + 1) * 60, labels: { ...CADVISOR, name: "goodgo-api", service: "api" } }),
  ContainerMemoryHigh: numeric(ratioAround, (v) => [gauge("container_memory_usage_bytes", { ...CADVISOR, name: "goodgo-redis" }, v * 10), gauge("container_spec_memory_limit_bytes", { ...CADVISOR, name: "goodgo-redis" }, 1000)],
    { trueFrom: 0, labels: { ...CADVISOR, name: "goodgo-redis", service: "redis" } }),
  ContainerCPUThrottled: numeric(ratioAround, (v) => [counter("container_cpu_cfs_throttled_seconds_total", { ...CADVISOR, name: "goodgo-api" }, v)],
    { trueFrom: RATE_WINDOW_FULL, labels: { ...CADVISOR, name: "goodgo-api", service: "api" } }),
  HostDiskUsageHigh: numeric(ratioAround, (v) => [gauge("node_filesystem_avail_bytes", ROOT_FS, 1000 - v * 10), gauge("node_filesystem_size_bytes", ROOT_FS, 1000)], { trueFrom: 0, labels: ROOT_FS }),
  HostDiskUsageCritical: numeric(ratioAround, (v) => [gauge("node_filesystem_avail_bytes", ROOT_FS, 1000 - v * 10), gauge("node_filesystem_size_bytes", ROOT_FS, 1000)], { trueFrom: 0, labels: ROOT_FS }),
  ApiHealthCheckFailing: upDown([gauge("up", API, 0)], [gauge("up", API, 1)], { trueFrom: 0, labels: API }),
  PrometheusTargetDown: upDown([gauge("up", REDIS, 0), gauge("up", API, 1)], [gauge("up", REDIS, 1), gauge("up", API, 1)], { trueFrom: 0, labels: REDIS }),
  // "Last backup > 25 hours ago": one backup at t=0 and none after is older than 25 h from the first evaluation after
  // 25 h; backups every 95 % of 25 h never get that old.
  BackupTooOld: (hours) => {
    const series = (values: string): Series[] => [{ series: `goodgo_backup_last_success_timestamp_seconds{${labelText(NODE)}}`, values }];
    const everyMinutes = Math.floor(hours * 60 * 0.95);
    const below = [0, 1].map((i) => `${i * everyMinutes * 60}x${everyMinutes - 1}`).join(" "); // two backups: past the checks
    return { above: series(`0x${hours * 60 + 60}`), below: series(below), trueFrom: hours * 3600 + EVAL_S, labels: { service: "pg-backup", category: "backup" } };
  },
  // "Last pgBackRest backup > 25 hours ago", as BackupTooOld: one full at t=0 and nothing after; below, a full and
  // then a differential (another series of the metric, type="diff") each 95 % of 25 h later: max() takes the newest.
  PitrBackupTooOld: (hours) => {
    const at = (type: string, values: string): Series => ({ series: `pgbackrest_backup_last_success_timestamp_seconds{${labelText({ ...NODE, stanza: "goodgo", type })}}`, values });
    const everyMinutes = Math.floor(hours * 60 * 0.95);
    return {
      above: [at("full", `0x${hours * 60 + 60}`)],
      below: [at("full", `0x${2 * everyMinutes}`), at("diff", `_x${everyMinutes - 1} ${everyMinutes * 60}x${everyMinutes}`)],
      trueFrom: hours * 3600 + EVAL_S,
      labels: { service: "pg-backup", category: "backup" },
    };
  },
  WalArchivingFailing: upDown([gauge("pg_wal_archive_failing", PG, 1)], [gauge("pg_wal_archive_failing", PG, 0)], { trueFrom: 0, labels: { service: "postgres", category: "backup" } }),
  BackupVerificationFailed: upDown([gauge("goodgo_backup_verify_success", NODE, 0)], [gauge("goodgo_backup_verify_success", NODE, 1)], { trueFrom: 0, labels: { service: "pg-backup", category: "backup" } }),
};

const RULES = goodgoAlertGroups().flatMap((g) => g.rules);
function annotations(alert: string, labels: Record<string, string>): Record<string, string> {
  const rule = RULES.find((r) => r.alert === alert)!;
  const expand = (text: string) => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? "");
  return { summary: expand(rule.summary), description: expand(rule.description), ...(rule.runbookUrl ? { runbook_url: rule.runbookUrl } : {}) };
}

/** promtool test groups for one alert: above the threshold (silent just before `for`, firing at it), and below it. */
function testGroups(alert: string) {
  const row = RENDERED_ALERTS.find((a) => a.alert === alert)!;
  const threshold = appendixThreshold(row.expression);
  const c = CASES[alert]!(threshold?.value ?? 0);
  const firesAt = c.trueFrom + seconds(row.for);
  const labels = { ...c.labels, severity: row.severity };
  return [
    {
      name: `${alert}: just above "${row.expression}"`,
      interval: "1m",
      input_series: c.above,
      alert_rule_test: [
        { eval_time: duration(firesAt - EVAL_S), alertname: alert, exp_alerts: [] },
        { eval_time: duration(firesAt), alertname: alert, exp_alerts: [{ exp_labels: labels, exp_annotations: annotations(alert, labels) }] },
      ],
    },
    {
      name: `${alert}: just below "${row.expression}"`,
      interval: "1m",
      input_series: c.below,
      alert_rule_test: [firesAt, firesAt + 1800].map((t) => ({ eval_time: duration(t), alertname: alert, exp_alerts: [] })),
    },
  ];
}

describe("every Appendix alert fires just above its runbook threshold after its duration, and stays silent just below", () => {
  let r: Rendered;
  /** Alert name → the rendered rule file (relative to prometheus.yml) that holds it. */
  let fileOf: Record<string, string>;
  beforeAll(() => {
    r = renderToTempDir({ stack: "prod" });
    const ruleFiles: string[] = parse(r.files["prometheus/prometheus.yml"]).rule_files;
    fileOf = Object.fromEntries(ruleFiles.flatMap((f) => parse(r.files[`prometheus/${f}`]).groups.flatMap((g: { rules: { alert: string }[] }) => g.rules.map((x) => [x.alert, f]))));
  });
  afterAll(() => r?.remove());

  /** Writes the alert's promtool test file next to the rule files under `dir`; returns its path. */
  function testFile(alert: string, dir: string): string {
    const file = r.path(`${dir}/${alert}.test.yml`);
    writeFileSync(file, stringify({ rule_files: [fileOf[alert]], evaluation_interval: `${EVAL_S}s`, tests: testGroups(alert) }, { lineWidth: 0 }));
    return file;
  }

  it("covers every rendered alert, and every rendered alert is the Appendix's (the same 23 names) or one of the 2 beyond it (PITR)", () => {
    expect(parse(r.files["prometheus/prometheus.yml"]).global.evaluation_interval).toBe(`${EVAL_S}s`);
    const rendered = Object.keys(fileOf).sort();
    expect(rendered).toHaveLength(25);
    expect(Object.keys(CASES).sort()).toEqual(rendered);
    expect(RENDERED_ALERTS.map((a) => a.alert).sort()).toEqual(rendered);
    expect(APPENDIX_ALERTS).toHaveLength(23);
  });

  it.each(RENDERED_ALERTS.map((a) => [a.alert, a.expression, a.for]))("%s (%s for %s)", (alert) => {
    const res = run("promtool", ["test", "rules", testFile(alert, "prometheus")], { cwd: r.path("prometheus") });
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain("SUCCESS");
  });

  // The same cases against rules with one constant changed: each must fail, so a wrong constant cannot pass.
  /** The comparison that ends the alerted quantity: `> 1` in the 5xx rule, `> 90000` in BackupTooOld. */
  const THRESHOLD = /> (\d+(?:\.\d+)?)(?!.*> \d)/;
  /** Runs every case against mutated rules (one promtool run); returns the mutated alerts and those whose case still passed. */
  function mutationResult(mutate: (rule: { alert: string; expr: string; for: string }) => boolean): { mutated: string[]; notCaught: string[] } {
    const mutated: string[] = [];
    for (const f of new Set(Object.values(fileOf))) {
      const doc = parse(r.files[`prometheus/${f}`]);
      for (const rule of doc.groups.flatMap((g: { rules: unknown[] }) => g.rules)) if (mutate(rule)) mutated.push(rule.alert);
      mkdirSync(dirname(r.path(`mutated/${f}`)), { recursive: true });
      writeFileSync(r.path(`mutated/${f}`), stringify(doc));
    }
    const res = run("promtool", ["test", "rules", ...RENDERED_ALERTS.map((a) => testFile(a.alert, "mutated"))], { cwd: r.path("mutated") });
    expect(res.status).not.toBe(0);
    const failed = new Set([...res.out.matchAll(/alertname: (\w+)/g)].map((m) => m[1]!));
    return { mutated, notCaught: mutated.filter((a) => !failed.has(a)) };
  }
  const scaleThreshold = (factor: number) => (rule: { expr: string }) => {
    const m = THRESHOLD.exec(rule.expr);
    if (!m || Number(m[1]) === 0) return false;
    rule.expr = rule.expr.replace(THRESHOLD, `> ${Number(m[1]) * factor}`);
    return true;
  };

  it("doubling any threshold (e.g. ApiErrorRate5xxHigh's 1 % to 2 %) fails that alert's case", () => {
    const { mutated, notCaught } = mutationResult(scaleThreshold(2));
    expect(mutated).toHaveLength(18); // every "> N" rule but RedisRejectedConnections' "> 0" (PitrBackupTooOld included)
    expect(mutated).toContain("ApiErrorRate5xxHigh");
    expect(mutated).toContain("PitrBackupTooOld");
    expect(notCaught).toEqual([]);
  });

  it("halving any non-zero threshold fails that alert's case", () => {
    const { mutated, notCaught } = mutationResult(scaleThreshold(0.5));
    expect(mutated).toHaveLength(18);
    expect(notCaught).toEqual([]);
  });

  it("shortening any `for` by one evaluation interval fails that alert's case", () => {
    const { mutated, notCaught } = mutationResult((rule) => {
      rule.for = duration(seconds(rule.for) - EVAL_S);
      return true;
    });
    expect(mutated).toHaveLength(25);
    expect(notCaught).toEqual([]);
  });
});
