// GoodGo's alertmanager.yml passes the real `amtool check-config`; `amtool config routes test` sends warnings,
// criticals and backup alerts to the runbook's receivers; and a real Alertmanager (Debian's
// prometheus-alertmanager, on loopback) loads it, inhibits a warning while a critical alert for the same service
// fires, and posts to the Slack webhook it reads from the webhook FILE (a local HTTP server stands in for Slack).
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { goodgoMonitoringFiles } from "../../../stacks/goodgo/monitoring";
import { freePort } from "../../support/ports";
import { run } from "./render";

const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN ?? "prometheus-alertmanager";

describe("GoodGo's Alertmanager configuration", () => {
  let dir: string;
  let config: string;
  let webhookPath: string;
  const sentinel = `SENTINEL-${randomBytes(8).toString("hex")}`;
  let slack: Server;
  let slackPort: number;
  const posts: { path: string; body: { channel?: string; attachments?: { title?: string; text?: string; color?: string }[] } }[] = [];
  let am: ChildProcess | undefined;
  let amPort: number;
  let amLog = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lazarus-alertmanager-"));
    slackPort = await freePort();
    slack = createServer((req, res) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        try {
          posts.push({ path: req.url ?? "", body: JSON.parse(data) });
        } catch {
          posts.push({ path: req.url ?? "", body: {} });
        }
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => slack.listen(slackPort, "127.0.0.1", resolve));
    // The webhook URL is a secret: it lives only in this 0600 file (removed in afterAll), never in the config.
    webhookPath = join(dir, "slack_webhook_url");
    writeFileSync(webhookPath, `http://127.0.0.1:${slackPort}/services/${sentinel}\n`, { mode: 0o600 });
    chmodSync(webhookPath, 0o600);
    config = join(dir, "alertmanager.yml");
    writeFileSync(config, goodgoMonitoringFiles({ stack: "prod", slackWebhookFile: webhookPath })["alertmanager/alertmanager.yml"]);
  });

  afterAll(async () => {
    if (am && am.exitCode === null) {
      am.kill("SIGTERM");
      await new Promise((r) => am!.once("exit", r));
    }
    await new Promise((r) => slack?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes amtool check-config", () => {
    const res = run("amtool", ["check-config", config]);
    expect(res.status, res.out).toBe(0);
    expect(res.out).toMatch(/SUCCESS/);
    expect(res.out).toContain("3 receivers");
    expect(res.out).toContain("1 inhibit rules");
  });

  const routesTo = (receiver: string, labels: string[]) =>
    run("amtool", ["config", "routes", "test", `--config.file=${config}`, `--verify.receivers=${receiver}`, ...labels]);

  it("routes warnings to #sre-oncall, criticals to #sre-oncall with priority, and backup alerts to #infrastructure", () => {
    const cases: [string, string[]][] = [
      ["sre-oncall-warning", ["alertname=ApiLatencyP99High", "severity=warning", "service=api"]],
      ["sre-oncall-warning", ["alertname=RedisMemoryHigh", "severity=warning", "service=redis"]],
      ["sre-oncall-critical", ["alertname=ApiLatencyP99Critical", "severity=critical", "service=api"]],
      ["sre-oncall-critical", ["alertname=PostgresDown", "severity=critical", "service=postgres"]],
      ["infrastructure-backup", ["alertname=BackupTooOld", "severity=warning", "service=pg-backup", "category=backup"]],
      ["infrastructure-backup", ["alertname=BackupVerificationFailed", "severity=warning", "service=pg-backup", "category=backup"]],
    ];
    for (const [receiver, labels] of cases) {
      const res = routesTo(receiver, labels);
      expect(res.status, `${labels.join(" ")} -> ${receiver}: ${res.out}`).toBe(0);
    }
    // And the check can fail: a backup alert does not reach the on-call warning receiver.
    expect(routesTo("sre-oncall-warning", ["alertname=BackupTooOld", "severity=warning", "category=backup"]).status).not.toBe(0);
  });

  it("repeats warnings every 4h, criticals every 1h, backup alerts every 6h, to the runbook's channels", () => {
    const cfg = parse(run("cat", [config]).stdout);
    const byReceiver = Object.fromEntries(cfg.route.routes.map((r: { receiver: string; repeat_interval: string }) => [r.receiver, r.repeat_interval]));
    expect(byReceiver).toEqual({ "sre-oncall-warning": "4h", "sre-oncall-critical": "1h", "infrastructure-backup": "6h" });
    expect(cfg.route.repeat_interval).toBe("4h");
    const channels = Object.fromEntries(cfg.receivers.map((r: { name: string; slack_configs: { channel: string }[] }) => [r.name, r.slack_configs[0].channel]));
    expect(channels).toEqual({ "sre-oncall-warning": "#sre-oncall", "sre-oncall-critical": "#sre-oncall", "infrastructure-backup": "#infrastructure" });
    for (const r of cfg.receivers) expect(r.slack_configs[0].api_url_file).toBe(webhookPath);
  });

  it("takes per-stack channel overrides", () => {
    const cfg = parse(goodgoMonitoringFiles({ stack: "staging", slackChannels: { oncall: "#goodgo-staging", infrastructure: "#goodgo-staging-infra" } })["alertmanager/alertmanager.yml"]);
    const channels = Object.fromEntries(cfg.receivers.map((r: { name: string; slack_configs: { channel: string }[] }) => [r.name, r.slack_configs[0].channel]));
    expect(channels).toEqual({ "sre-oncall-warning": "#goodgo-staging", "sre-oncall-critical": "#goodgo-staging", "infrastructure-backup": "#goodgo-staging-infra" });
  });

  it("inhibits warnings with a critical alert for the same service (source critical, target warning, equal service)", () => {
    const cfg = parse(run("cat", [config]).stdout);
    expect(cfg.inhibit_rules).toEqual([{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ["service"] }]);
  });

  it("a real Alertmanager suppresses the warning for the inhibited service and notifies Slack through the webhook file", async () => {
    amPort = await freePort();
    am = spawn(ALERTMANAGER_BIN, [
      `--config.file=${config}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      "--cluster.listen-address=",
      "--log.level=info",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    am.stdout!.on("data", (d) => (amLog += d));
    am.stderr!.on("data", (d) => (amLog += d));
    const base = `http://127.0.0.1:${amPort}`;
    await waitFor(async () => (await fetch(`${base}/-/ready`).catch(() => undefined))?.ok === true, 30_000, () => amLog);

    const now = new Date().toISOString();
    const alert = (labels: Record<string, string>) => ({ labels, annotations: { summary: labels.alertname, description: "test" }, startsAt: now });
    const res = await fetch(`${base}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        alert({ alertname: "ApiLatencyP99Critical", severity: "critical", service: "api" }),
        alert({ alertname: "ApiLatencyP99High", severity: "warning", service: "api" }),
        alert({ alertname: "RedisMemoryHigh", severity: "warning", service: "redis" }),
        alert({ alertname: "BackupTooOld", severity: "warning", service: "pg-backup", category: "backup" }),
      ]),
    });
    expect(res.status, amLog).toBe(200);

    type AmAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    let alerts: AmAlert[] = [];
    await waitFor(async () => {
      alerts = (await (await fetch(`${base}/api/v2/alerts`)).json()) as AmAlert[];
      return alerts.length === 4 && alerts.some((a) => a.status.inhibitedBy.length > 0);
    }, 30_000, () => JSON.stringify(alerts));
    const state = Object.fromEntries(alerts.map((a) => [a.labels.alertname, a.status]));
    expect(state.ApiLatencyP99High.state).toBe("suppressed");
    expect(state.ApiLatencyP99High.inhibitedBy).toHaveLength(1);
    // A warning for another service is not inhibited by the API's critical alert.
    expect(state.RedisMemoryHigh.state).toBe("active");
    expect(state.ApiLatencyP99Critical.state).toBe("active");
    expect(state.BackupTooOld.state).toBe("active");

    // Notifications: critical after group_wait 10s, the rest after 30s. Alertmanager read the URL from the file.
    await waitFor(async () => posts.length >= 3, 90_000, () => `${JSON.stringify(posts)}\n${amLog}`);
    for (const p of posts) expect(p.path).toBe(`/services/${sentinel}`);
    const titles = posts.map((p) => `${p.body.channel} ${p.body.attachments?.[0]?.title}`);
    expect(titles).toEqual(expect.arrayContaining([
      expect.stringMatching(/^#sre-oncall :rotating_light: \[P1\] \[FIRING:1\] ApiLatencyP99Critical \(api\)$/),
      expect.stringMatching(/^#sre-oncall \[FIRING:1\] RedisMemoryHigh \(redis\)$/),
      expect.stringMatching(/^#infrastructure \[FIRING:1\] BackupTooOld \(pg-backup\)$/),
    ]));
    expect(titles.join("\n")).not.toContain("ApiLatencyP99High");

    // The status API shows the loaded config: the webhook's path, never its content.
    const status = await (await fetch(`${base}/api/v2/status`)).json() as { config: { original: string } };
    expect(status.config.original).toContain(webhookPath);
    expect(status.config.original).not.toContain(sentinel);
    expect(amLog).not.toContain(sentinel);
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
