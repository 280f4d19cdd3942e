// Bad input fails before anything is rendered, naming the field, what was expected and what was given.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderAlertRules, renderPrometheusConfig, type AlertRule } from "../../../renderers/monitoring/prometheus";
import { renderAlertmanagerConfig } from "../../../renderers/monitoring/alertmanager";
import { renderDashboard, renderDatasources } from "../../../renderers/monitoring/grafana";
import { goodgoMonitoringFiles } from "../../../stacks/goodgo/monitoring";

const rule = (over: Partial<AlertRule> = {}): AlertRule => ({ alert: "A", expr: "up == 0", for: "5m", severity: "warning", service: "x", summary: "s", description: "d", ...over });

describe("the monitoring renderers", () => {
  it("reject duplicate alert names across groups and bad durations", () => {
    expect(() => renderAlertRules([{ name: "g1", rules: [rule()] }, { name: "g2", rules: [rule()] }])).toThrow(/alertGroups\[\]\.rules\[\]\.alert.*"A" appears more than once/);
    expect(() => renderAlertRules([{ name: "g", rules: [rule({ for: "5 minutes" })] }])).toThrow(/alertGroups\.g\.A\.for: expected a duration/);
  });

  it("require a service on every alert, static or from the series, but not both", () => {
    expect(() => renderAlertRules([{ name: "g", rules: [rule({ service: undefined })] }])).toThrow(/alertGroups\.g\.A\.service/);
    expect(() => renderAlertRules([{ name: "g", rules: [rule({ serviceFromSeries: true })] }])).toThrow(/alertGroups\.g\.A\.service/);
    expect(() => renderAlertRules([{ name: "g", rules: [rule({ labels: { severity: "critical" } })] }])).toThrow(/labels\.severity/);
  });

  it("reject scrape targets that are not host:port and duplicate jobs", () => {
    expect(() => renderPrometheusConfig({ ruleFiles: [], alertmanagers: [], scrapeJobs: [{ job: "api", targets: ["http://api:3001"] }] })).toThrow(/targets\[0\]: expected host:port/);
    expect(() => renderPrometheusConfig({ ruleFiles: [], alertmanagers: [], scrapeJobs: [{ job: "a", targets: ["a:1"] }, { job: "a", targets: ["b:1"] }] })).toThrow(/"a" appears more than once/);
  });

  it("reject routes to undeclared receivers and bad Slack channels", () => {
    expect(() => renderAlertmanagerConfig({ route: { receiver: "nobody" }, receivers: [{ kind: "null", name: "x" }] })).toThrow(/route\.receiver: receiver "nobody" is not declared/);
    expect(() => renderAlertmanagerConfig({ route: { receiver: "x", routes: [{ receiver: "y" }] }, receivers: [{ kind: "null", name: "x" }] })).toThrow(/route\.routes\[0\]\.receiver/);
    expect(() => renderAlertmanagerConfig({ route: { receiver: "x" }, receivers: [{ kind: "slack", name: "x", channel: "sre oncall", webhookFile: "/f" }] })).toThrow(/channel: expected a Slack channel/);
  });

  it("reject datasources without exactly one default and dashboards without panels", () => {
    expect(() => renderDatasources([{ type: "prometheus", uid: "p", name: "P", url: "http://p:9090" }])).toThrow(/exactly one datasource must be the default, found 0/);
    expect(() => renderDatasources([{ type: "prometheus", uid: "p", name: "P", url: "http://user:pw@p:9090", isDefault: true }])).toThrow(/url: expected an http\(s\) URL without credentials/);
    expect(() => renderDashboard({ uid: "d", title: "D", datasource: { type: "prometheus", uid: "p" }, panels: [] })).toThrow(/dashboards\.d\.panels/);
  });

  it("reject a stack name that is not one", () => {
    expect(() => goodgoMonitoringFiles({ stack: "" })).toThrow(/goodgo\.monitoring\.stack/);
    expect(() => goodgoMonitoringFiles({ stack: "Prod Stack" })).toThrow(/goodgo\.monitoring\.stack/);
  });
});

describe("the generic renderers", () => {
  it("name no platform: GoodGo's facts live only in stacks/goodgo/monitoring/", () => {
    const dir = join(__dirname, "../../../renderers/monitoring");
    for (const f of readdirSync(dir)) {
      expect(readFileSync(join(dir, f), "utf8"), f).not.toMatch(/goodgo|sre-oncall|pg-backup/i);
    }
  });
});
