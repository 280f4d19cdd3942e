// DBIS's alerts reach people: the prod plan's alertmanager.yml passes the real `amtool check-config`, and
// `amtool config routes test` sends every one of the runbook's alerts (taken from the rule groups Prometheus loads) to
// the receivers its severity calls for: criticals to Slack AND e-mail, warnings to Slack. Prometheus is pointed at
// Alertmanager; the Slack webhook and the SMTP password are 0600 files handed to Alertmanager's user, in no config.
// Not shown here: a delivery by a real Alertmanager (GoodGo's routing test does that for Slack through the same
// renderer; an SMTP relay with STARTTLS has no stand-in in the tests).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { DBIS_RECEIVERS } from "../../../stacks/dbis/alerting";
import { dbisAlertGroups } from "../../../stacks/dbis/monitoring";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, byType, one, planFor } from "../../support/stacks";

const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};

describe("DBIS's Alertmanager", () => {
  let plan: Plan;
  let dir: string;
  let config: string;
  const file = (path: string) => plan.files.find((f) => f.path === path)?.content;

  beforeAll(async () => {
    plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
    dir = mkdtempSync(join(tmpdir(), "lazarus-dbis-am-"));
    config = join(dir, "alertmanager.yml");
    writeFileSync(config, file("/opt/dbis/monitoring/alertmanager/alertmanager.yml")!);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("passes amtool check-config: three receivers, one inhibition rule", () => {
    const r = run("amtool", ["check-config", config]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("3 receivers");
    expect(r.out).toContain("1 inhibit rules");
  });

  const routesTo = (receivers: string[], labels: string[]) => run("amtool", ["config", "routes", "test", `--config.file=${config}`, `--verify.receivers=${receivers.join(",")}`, ...labels]);

  it("routes every critical alert to Slack and e-mail, every warning to Slack", () => {
    const rules = dbisAlertGroups().flatMap((g) => g.rules);
    expect(rules.length).toBe(7);
    for (const rule of rules) {
      const expected = rule.severity === "critical" ? [DBIS_RECEIVERS.criticalSlack, DBIS_RECEIVERS.criticalEmail] : [DBIS_RECEIVERS.warning];
      const r = routesTo(expected, [`alertname=${rule.alert}`, `severity=${rule.severity}`, `service=${rule.service}`]);
      expect(r.status, `${rule.alert} -> ${expected.join(",")}: ${r.out}`).toBe(0);
    }
    // The check can fail: a warning does not page by e-mail, a critical is not only in Slack.
    expect(routesTo([DBIS_RECEIVERS.warning, DBIS_RECEIVERS.criticalEmail], ["alertname=DbisPaymentLatencyP95High", "severity=warning", "service=app"]).status).not.toBe(0);
    expect(routesTo([DBIS_RECEIVERS.criticalSlack], ["alertname=DbisHealthCheckFailing", "severity=critical", "service=app"]).status).not.toBe(0);
  });

  it("mails over TLS with the relay password read from a file, posts to the channel with the webhook read from a file; a critical inhibits the same service's warnings", () => {
    const cfg = parse(file("/opt/dbis/monitoring/alertmanager/alertmanager.yml")!);
    const byName = Object.fromEntries(cfg.receivers.map((r: { name: string }) => [r.name, r]));
    expect(byName[DBIS_RECEIVERS.criticalEmail].email_configs[0]).toMatchObject({
      to: "dbis-oncall@example.org",
      smarthost: "smtp.example.org:587",
      auth_username: "alertmanager@example.org",
      auth_password_file: "/run/secrets/smtp_password",
      require_tls: true,
    });
    for (const name of [DBIS_RECEIVERS.warning, DBIS_RECEIVERS.criticalSlack]) {
      expect(byName[name].slack_configs[0]).toMatchObject({ channel: "#dbis-alerts", api_url_file: "/run/secrets/slack_webhook_url" });
    }
    expect(cfg.inhibit_rules).toEqual([{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ["service"] }]);
  });

  it("Prometheus sends its alerts to Alertmanager on the compose network", () => {
    const prom = parse(file("/opt/dbis/monitoring/prometheus/prometheus.yml")!);
    expect(prom.alerting.alertmanagers[0].static_configs[0].targets).toEqual(["alertmanager:9093"]);
    const compose = parse(file("/opt/dbis/docker-compose.yml")!);
    expect(compose.services.alertmanager.ports).toEqual(["127.0.0.1:9093:9093/tcp"]);
  });

  it("writes the webhook and the SMTP password only as 0600 secret files, handed to Alertmanager's user (nobody) before compose up", () => {
    for (const name of ["slack-webhook-url", "smtp-password"]) {
      const writer = byType(plan, T.command).find((r) => r.name === `dbis-prod-software-file-opt-dbis-secrets-alertmanager-${name}`)!;
      expect(String(writer.inputs.create)).toContain("chmod 0600");
      expect(writer.inputs.stdin).toBe("[secret]");
    }
    expect(String(byType(plan, T.command).find((r) => r.name === "dbis-prod-software-file-opt-dbis-secrets-alertmanager-slack-webhook-url")!.rawInputs.stdin)).toBe(
      `${ALL_SENTINEL_SECRETS["lazarus:dbisSlackWebhook"]}\n`,
    );
    const prepare = one(plan, T.command, "dbis-prod-prepare");
    expect(String(prepare.inputs.create)).toBe("set -eu; chown 65534:65534 /opt/dbis/secrets/alertmanager/slack_webhook_url; chown 65534:65534 /opt/dbis/secrets/alertmanager/smtp_password");
    expect(one(plan, T.command, "dbis-prod-compose-up").dependencies).toContain(prepare.urn);
    const shown = JSON.stringify(plan.resources.map((r) => r.inputs)) + plan.files.map((f) => f.content ?? "").join("");
    for (const m of ALL_SENTINEL_MARKERS) expect(shown).not.toContain(m);
  });
});
