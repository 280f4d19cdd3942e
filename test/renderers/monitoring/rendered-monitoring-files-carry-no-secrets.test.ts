// Secrets never sit in rendered monitoring files: the Slack webhook and the Grafana admin password are shipped as
// separate 0600 files, and the renderers only ever name those files. Rendering with sentinel secret files in place
// and searching every rendered byte proves it; the renderers also refuse a URL where a file path belongs.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderAlertmanagerConfig } from "../../../renderers/monitoring/alertmanager";
import { grafanaSecurityEnv } from "../../../renderers/monitoring/grafana";
import { goodgoGrafanaEnv, goodgoMonitoringFiles, goodgoPrometheusFlags } from "../../../stacks/goodgo/monitoring";

describe("rendered monitoring files", () => {
  let dir: string;
  const webhook = `https://hooks.slack.com/services/T000/B000/SENTINEL${randomBytes(12).toString("hex")}`;
  const password = `SENTINEL-PW-${randomBytes(12).toString("hex")}`;
  let webhookFile: string;
  let passwordFile: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lazarus-monitoring-secrets-"));
    webhookFile = join(dir, "slack_webhook_url");
    passwordFile = join(dir, "grafana_admin_password");
    writeFileSync(webhookFile, webhook, { mode: 0o600 });
    writeFileSync(passwordFile, password, { mode: 0o600 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("never contain the webhook or the admin password, for any stack", () => {
    for (const stack of ["prod", "staging"]) {
      const files = goodgoMonitoringFiles({ stack, slackWebhookFile: webhookFile });
      const everything = [
        ...Object.values(files),
        JSON.stringify(goodgoGrafanaEnv({ adminPasswordFile: passwordFile })),
        goodgoPrometheusFlags({ stack }).join(" "),
      ].join("\n");
      expect(everything).not.toContain(webhook);
      expect(everything).not.toContain(webhook.split("/").pop());
      expect(everything).not.toContain(password);
      expect(everything).not.toMatch(/hooks\.slack\.com/);
      // What they do contain is the path of each secret file.
      expect(files["alertmanager/alertmanager.yml"]).toContain(`api_url_file: ${webhookFile}`);
      expect(files["alertmanager/alertmanager.yml"]).not.toMatch(/^\s*(slack_)?api_url:/m);
    }
  });

  it("refuse a webhook URL where the webhook file belongs", () => {
    expect(() => goodgoMonitoringFiles({ stack: "prod", slackWebhookFile: webhook })).toThrow(/slackWebhookFile.*absolute file path/);
    expect(() =>
      renderAlertmanagerConfig({
        route: { receiver: "x" },
        receivers: [{ kind: "slack", name: "x", channel: "#x", webhookFile: webhook }],
      }),
    ).toThrow(/webhookFile/);
  });

  it("refuse a password where the Grafana password file belongs", () => {
    expect(() => grafanaSecurityEnv({ adminUser: "admin", adminPasswordFile: password })).toThrow(/adminPasswordFile/);
    expect(goodgoGrafanaEnv({ adminPasswordFile: passwordFile })).toEqual(expect.objectContaining({ GF_SECURITY_ADMIN_PASSWORD__FILE: passwordFile }));
  });
});
