// The rendered rules fire when the runbook says they should, and stay quiet below threshold, as proven by the real
// `promtool test rules` evaluating them over synthetic series. The series and the expected labels are written
// here by hand; only the annotations (not what is under test) are read from the rule data.
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { goodgoAlertGroups } from "../../../stacks/goodgo/monitoring";
import { renderToTempDir, run, type Rendered } from "./render";

const RULES = goodgoAlertGroups();
function annotations(alert: string): Record<string, string> {
  const rule = RULES.flatMap((g) => g.rules).find((r) => r.alert === alert);
  if (!rule) throw new Error(`no rule ${alert}`);
  return { summary: rule.summary, description: rule.description, ...(rule.runbookUrl ? { runbook_url: rule.runbookUrl } : {}) };
}

interface Series { series: string; values: string }
interface AlertCase { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string>; exp_annotations: Record<string, string> }[] }

function firing(alert: string, labels: Record<string, string>) {
  return [{ exp_labels: labels, exp_annotations: annotations(alert) }];
}

// A latency histogram whose requests all land in one bucket, one request per second.
function apiHistogram(bucketOfAllRequests: string): Series[] {
  const les = ["0.5", "1", "2.5", "5", "+Inf"];
  const idx = les.indexOf(bucketOfAllRequests);
  return les.map((le, i) => ({
    series: `goodgo_api_request_duration_seconds_bucket{job="goodgo-api", instance="api:3001", service="api", le="${le}"}`,
    values: i >= idx ? "0+60x30" : "0x30",
  }));
}

function unitTestFile(ruleFiles: string[], tests: { name: string; interval: string; input_series: Series[]; alert_rule_test: AlertCase[] }[]): string {
  return stringify({ rule_files: ruleFiles, evaluation_interval: "15s", tests }, { lineWidth: 0 });
}

describe("GoodGo's alert rules under promtool test rules", () => {
  let r: Rendered;
  beforeAll(() => {
    r = renderToTempDir({ stack: "prod" });
  });
  afterAll(() => r?.remove());

  function promtoolTest(name: string, text: string) {
    const file = r.path(`prometheus/${name}.test.yml`);
    writeFileSync(file, text);
    return run("promtool", ["test", "rules", file], { cwd: r.path("prometheus") });
  }

  it("ApiLatencyP99High fires after p99 has been above 1s for 5 minutes, ApiLatencyP99Critical does not (p99 2.485s)", () => {
    const res = promtoolTest("api-latency-slow", unitTestFile(["rules/api.yml"], [{
      name: "every request takes between 1s and 2.5s",
      interval: "1m",
      input_series: apiHistogram("2.5"),
      alert_rule_test: [
        { eval_time: "5m", alertname: "ApiLatencyP99High", exp_alerts: [] }, // pending: true since 1m, not yet 5m
        { eval_time: "7m", alertname: "ApiLatencyP99High", exp_alerts: firing("ApiLatencyP99High", { severity: "warning", service: "api" }) },
        { eval_time: "7m", alertname: "ApiLatencyP99Critical", exp_alerts: [] },
      ],
    }]));
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain("SUCCESS");
  });

  it("ApiLatencyP99Critical fires after p99 has been above 3s for 3 minutes", () => {
    const res = promtoolTest("api-latency-critical", unitTestFile(["rules/api.yml"], [{
      name: "every request takes between 2.5s and 5s",
      interval: "1m",
      input_series: apiHistogram("5"),
      alert_rule_test: [
        { eval_time: "3m", alertname: "ApiLatencyP99Critical", exp_alerts: [] },
        { eval_time: "5m", alertname: "ApiLatencyP99Critical", exp_alerts: firing("ApiLatencyP99Critical", { severity: "critical", service: "api" }) },
      ],
    }]));
    expect(res.status, res.out).toBe(0);
  });

  it("ApiLatencyP99High stays quiet when requests finish within 0.5s", () => {
    const res = promtoolTest("api-latency-fast", unitTestFile(["rules/api.yml"], [{
      name: "every request takes under 0.5s",
      interval: "1m",
      input_series: apiHistogram("0.5"),
      alert_rule_test: [
        { eval_time: "10m", alertname: "ApiLatencyP99High", exp_alerts: [] },
        { eval_time: "25m", alertname: "ApiLatencyP99High", exp_alerts: [] },
      ],
    }]));
    expect(res.status, res.out).toBe(0);
  });

  const backupSeries = (values: string): Series => ({
    series: 'goodgo_backup_last_success_timestamp_seconds{job="node", instance="node-exporter:9100", service="host"}',
    values,
  });
  const backupLabels = { severity: "warning", service: "pg-backup", category: "backup" };

  it("BackupTooOld fires once the last backup is more than 25 hours old for 5 minutes", () => {
    const res = promtoolTest("backup-too-old", unitTestFile(["rules/backup.yml"], [{
      name: "one backup at t=0, none after",
      interval: "1m",
      input_series: [backupSeries("0x1800")],
      alert_rule_test: [
        { eval_time: "24h", alertname: "BackupTooOld", exp_alerts: [] },
        { eval_time: "25h4m", alertname: "BackupTooOld", exp_alerts: [] }, // above 25h since 25h0m15s, still pending
        { eval_time: "25h10m", alertname: "BackupTooOld", exp_alerts: firing("BackupTooOld", backupLabels) },
      ],
    }]));
    expect(res.status, res.out).toBe(0);
  });

  it("BackupTooOld stays quiet while a backup lands every 24 hours", () => {
    const res = promtoolTest("backup-daily", unitTestFile(["rules/backup.yml"], [{
      name: "backups at 0h and 24h",
      interval: "1m",
      input_series: [backupSeries("0x1439 86400x1440")],
      alert_rule_test: [
        { eval_time: "23h59m", alertname: "BackupTooOld", exp_alerts: [] },
        { eval_time: "47h50m", alertname: "BackupTooOld", exp_alerts: [] },
      ],
    }]));
    expect(res.status, res.out).toBe(0);
  });

  it("BackupTooOld fires when pg-backup has never recorded a backup (the metric is absent)", () => {
    const res = promtoolTest("backup-absent", unitTestFile(["rules/backup.yml"], [{
      name: "no backup metric at all",
      interval: "1m",
      input_series: [{ series: 'up{job="node", instance="node-exporter:9100", service="host"}', values: "1x20" }],
      alert_rule_test: [
        { eval_time: "4m", alertname: "BackupTooOld", exp_alerts: [] },
        { eval_time: "10m", alertname: "BackupTooOld", exp_alerts: firing("BackupTooOld", backupLabels) },
      ],
    }]));
    expect(res.status, res.out).toBe(0);
  });

  it("BackupVerificationFailed fires a minute after verification reports failure, not while it passes", () => {
    const verify = (values: string): Series => ({ series: 'goodgo_backup_verify_success{job="node", instance="node-exporter:9100", service="host"}', values });
    const res = promtoolTest("backup-verify", unitTestFile(["rules/backup.yml"], [
      {
        name: "verification passes, then fails",
        interval: "1m",
        input_series: [verify("1x10 0x20")],
        alert_rule_test: [
          { eval_time: "10m", alertname: "BackupVerificationFailed", exp_alerts: [] },
          { eval_time: "13m", alertname: "BackupVerificationFailed", exp_alerts: firing("BackupVerificationFailed", backupLabels) },
        ],
      },
      {
        name: "verification keeps passing",
        interval: "1m",
        input_series: [verify("1x30")],
        alert_rule_test: [{ eval_time: "30m", alertname: "BackupVerificationFailed", exp_alerts: [] }],
      },
    ]));
    expect(res.status, res.out).toBe(0);
  });

  it("container alerts carry the service taken from the container name (what inhibition matches on)", () => {
    const res = promtoolTest("container-memory", unitTestFile(["rules/containers.yml"], [{
      name: "goodgo-redis at 90% of its limit",
      interval: "1m",
      input_series: [
        { series: 'container_memory_usage_bytes{job="cadvisor", name="goodgo-redis", service="cadvisor"}', values: "900x20" },
        { series: 'container_spec_memory_limit_bytes{job="cadvisor", name="goodgo-redis", service="cadvisor"}', values: "1000x20" },
      ],
      alert_rule_test: [
        { eval_time: "10m", alertname: "ContainerMemoryHigh", exp_alerts: [{ exp_labels: { severity: "warning", service: "redis", job: "cadvisor", name: "goodgo-redis" }, exp_annotations: { summary: "goodgo-redis memory above 85% of its limit", description: annotations("ContainerMemoryHigh").description } }] },
      ],
    }]));
    expect(res.status, res.out).toBe(0);
  });

  it("a wrong expectation makes promtool test rules fail, so the tests above can fail", () => {
    const res = promtoolTest("wrong-expectation", unitTestFile(["rules/backup.yml"], [{
      name: "claims a day-old backup is too old",
      interval: "1m",
      input_series: [backupSeries("0x1800")],
      alert_rule_test: [{ eval_time: "24h", alertname: "BackupTooOld", exp_alerts: firing("BackupTooOld", backupLabels) }],
    }]));
    expect(res.status).not.toBe(0);
    expect(res.out).toMatch(/FAILED/);
  });
});
