// DBIS's alerts delivered by a REAL Alertmanager (Debian's prometheus-alertmanager 0.25; the stack pins the
// prom/alertmanager:v0.27.0 image) run on loopback with the prod plan's RENDERED alertmanager.yml and the two 0600
// secret files exactly as the plan ships them. Only the relay's address (monitoring.alerting.email.smarthost, a stack
// key) and the secrets' values are the test's: the Slack webhook points at a local HTTP server, the relay is
// test/support/smtpStub.ts (STARTTLS with a certificate Alertmanager trusts through SSL_CERT_FILE, the login of the
// stack file and the password from its file; it refuses commands out of order, AUTH without TLS, a wrong login).
// What the runbook asks: a critical alert arrives by e-mail AND on Slack; a warning only on Slack; a firing critical
// suppresses the same service's warnings. The webhook URL and the password are in no rendered file, only in their own.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { DBIS_ALERTMANAGER_SECRET_PATHS } from "../../../stacks/dbis/alerting";
import { freePort } from "../../support/ports";
import { startSmtpStub, type SmtpStub } from "../../support/smtpStub";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, one, planFor } from "../../support/stacks";

const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN ?? "prometheus-alertmanager";
const CONFIG = "/opt/dbis/monitoring/alertmanager/alertmanager.yml";
const fileWriter = (path: string) => `dbis-prod-software-file-${path.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "")}`;

async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs: number, diag: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`condition not met within ${timeoutMs} ms\n${diag()}`);
}

describe("DBIS's alerts, delivered by a real Alertmanager", () => {
  let dir: string;
  let plan: Plan;
  let smtp: SmtpStub;
  let slack: Server;
  let am: ChildProcess | undefined;
  let amLog = "";
  let amBase = "";
  let cert = "";
  let key = "";
  const posts: { path: string; body: { channel?: string; attachments?: { title?: string; text?: string }[] } }[] = [];
  const password = ALL_SENTINEL_SECRETS["lazarus:dbisSmtpPassword"];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lazarus-dbis-delivery-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "relay.key"), "-out", join(dir, "relay.crt"), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], { stdio: "ignore" });
    cert = readFileSync(join(dir, "relay.crt"), "utf8");
    key = readFileSync(join(dir, "relay.key"), "utf8");

    const slackPort = await freePort();
    slack = createServer((req, res) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        posts.push({ path: req.url ?? "", body: JSON.parse(data || "{}") });
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => slack.listen(slackPort, "127.0.0.1", r));
    const smtpPort = await freePort();
    smtp = await startSmtpStub(smtpPort, { tls: { cert, key }, auth: { user: "alertmanager@example.org", password } });

    // The prod plan, its relay on loopback and the Slack webhook secret pointing at the local server.
    const webhook = `http://127.0.0.1:${slackPort}/services/T000/B000/${ALL_SENTINEL_MARKERS.find((m) => m.includes("slack")) ?? "SENTINEL-slack"}`;
    plan = await planFor("prod", {
      secrets: { ...ALL_SENTINEL_SECRETS, "lazarus:dbisSlackWebhook": webhook },
      patch: (c) => (c["lazarus:dbis"].monitoring.alerting.email.smarthost = `localhost:${smtpPort}`),
    });
    // The two secret files as the plan ships them (0600), at the test's paths instead of the container's.
    const secretFile = (path: string, name: string) => {
      const f = join(dir, name);
      writeFileSync(f, String(one(plan, T.command, fileWriter(path)).rawInputs.stdin), { mode: 0o600 });
      chmodSync(f, 0o600);
      return f;
    };
    const webhookFile = secretFile("/opt/dbis/secrets/alertmanager/slack_webhook_url", "slack_webhook_url");
    const passwordFile = secretFile("/opt/dbis/secrets/alertmanager/smtp_password", "smtp_password");
    const rendered = plan.files.find((f) => f.path === CONFIG)!.content!;
    writeFileSync(join(dir, "alertmanager.yml"), rendered.split(DBIS_ALERTMANAGER_SECRET_PATHS.slackWebhook).join(webhookFile).split(DBIS_ALERTMANAGER_SECRET_PATHS.smtpPassword).join(passwordFile));

    const amPort = await freePort();
    amBase = `http://127.0.0.1:${amPort}`;
    am = spawn(
      ALERTMANAGER_BIN,
      [`--config.file=${join(dir, "alertmanager.yml")}`, `--storage.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${amPort}`, "--cluster.listen-address=", "--log.level=debug"],
      // Go reads SSL_CERT_FILE for its trusted roots: the relay's certificate is verified, not skipped.
      { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, SSL_CERT_FILE: join(dir, "relay.crt") } },
    );
    am.stdout!.on("data", (d) => (amLog += d));
    am.stderr!.on("data", (d) => (amLog += d));
    await waitFor(async () => (await fetch(`${amBase}/-/ready`).catch(() => undefined))?.ok === true, 30_000, () => amLog);
  }, 120_000);

  afterAll(async () => {
    if (am && am.exitCode === null) {
      am.kill("SIGTERM");
      await new Promise((r) => am!.once("exit", r));
    }
    await smtp?.close();
    await new Promise((r) => slack?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the webhook URL and the relay password out of the rendered config", () => {
    const rendered = plan.files.find((f) => f.path === CONFIG)!.content!;
    expect(rendered).toContain(`auth_password_file: ${DBIS_ALERTMANAGER_SECRET_PATHS.smtpPassword}`);
    expect(rendered).toContain(`api_url_file: ${DBIS_ALERTMANAGER_SECRET_PATHS.slackWebhook}`);
    for (const marker of ALL_SENTINEL_MARKERS) expect(rendered).not.toContain(marker);
    expect(rendered).not.toContain("127.0.0.1");
  });

  const post = async (alerts: { alertname: string; severity: string }[]) => {
    const startsAt = new Date().toISOString();
    const res = await fetch(`${amBase}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(alerts.map((a) => ({ labels: { ...a, service: "app", stack: "prod" }, annotations: { summary: `${a.alertname} summary`, description: "from the test" }, startsAt }))),
    });
    expect(res.status, amLog).toBe(200);
  };
  const slackTitles = () => posts.map((p) => `${p.body.channel} ${p.body.attachments?.[0]?.title}`);

  it("a warning goes to Slack only", async () => {
    await post([{ alertname: "DbisReconciliationUnmatchedHigh", severity: "warning" }]);
    // The warning route's group_wait is 30 s.
    await waitFor(() => posts.length >= 1, 60_000, () => `${JSON.stringify(posts)}\n${amLog}`);
    expect(slackTitles()).toEqual(["#dbis-alerts [prod] [FIRING:1] DbisReconciliationUnmatchedHigh"]);
    expect(posts[0].path).toMatch(/^\/services\/T000\/B000\//);
    expect(smtp.messages).toEqual([]);
  }, 90_000);

  it("a critical arrives by e-mail (STARTTLS, the stack's login, the password from its file) and on Slack; it suppresses the app's warnings", async () => {
    await post([
      { alertname: "DbisHealthCheckFailing", severity: "critical" },
      { alertname: "DbisPaymentLatencyP95High", severity: "warning" },
    ]);
    await waitFor(() => smtp.messages.length >= 1 && posts.length >= 2, 60_000, () => `${JSON.stringify(posts)}\n${JSON.stringify(smtp.transcript)}\n${amLog}`);
    const mail = smtp.messages[0];
    expect(mail).toMatchObject({ from: "alertmanager@example.org", to: ["dbis-oncall@example.org"], tls: true, user: "alertmanager@example.org" });
    expect(mail.data).toMatch(/^Subject: \[DBIS prod\] CRITICAL DbisHealthCheckFailing \(firing\)\r$/m);
    expect(smtp.transcript.map((t) => t.command.split(" ")[0].toUpperCase())).toEqual(expect.arrayContaining(["EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA"]));
    expect(slackTitles()).toContain("#dbis-alerts :rotating_light: [prod] [FIRING:1] DbisHealthCheckFailing");

    type AmAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    const alerts = (await (await fetch(`${amBase}/api/v2/alerts`)).json()) as AmAlert[];
    const state = Object.fromEntries(alerts.map((a) => [a.labels.alertname, a.status]));
    expect(state.DbisHealthCheckFailing.state).toBe("active");
    for (const warning of ["DbisPaymentLatencyP95High", "DbisReconciliationUnmatchedHigh"]) {
      expect(state[warning].state, warning).toBe("suppressed");
      expect(state[warning].inhibitedBy, warning).toHaveLength(1);
    }
    // The latency warning was never sent anywhere; one e-mail in all (warnings never go by mail).
    await new Promise((r) => setTimeout(r, 1_000));
    expect(slackTitles().join("\n")).not.toContain("DbisPaymentLatencyP95High");
    expect(smtp.messages).toHaveLength(1);
    // Alertmanager read both secrets from their files: neither is in its status API or its log.
    const status = (await (await fetch(`${amBase}/api/v2/status`)).json()) as { config: { original: string } };
    expect(status.config.original).not.toContain(password);
    expect(amLog).not.toContain(password);
    expect(amLog).not.toContain(posts[0].path);
  }, 90_000);
});

describe("the SMTP stand-in refuses what a real relay refuses", () => {
  let smtp: SmtpStub;
  let dir: string;
  let cert = "";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lazarus-smtp-stub-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k"), "-out", join(dir, "c"), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], { stdio: "ignore" });
    cert = readFileSync(join(dir, "c"), "utf8");
    smtp = await startSmtpStub(await freePort(), { tls: { cert, key: readFileSync(join(dir, "k"), "utf8") }, auth: { user: "u@example.org", password: "right" } });
  });
  afterAll(async () => {
    await smtp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends each line after the previous reply (upgrading after STARTTLS) and returns the reply codes. */
  const session = (lines: string[]) =>
    new Promise<number[]>((resolve, reject) => {
      const codes: number[] = [];
      let sock: import("node:net").Socket = connect(smtp.port, "127.0.0.1");
      let pending = "";
      let i = -1;
      const next = () => {
        i++;
        if (i >= lines.length) {
          sock.end();
          return resolve(codes);
        }
        sock.write(`${lines[i]}\r\n`);
      };
      const onData = (d: Buffer) => {
        pending += d.toString();
        const done = pending.split("\r\n").filter((l) => /^\d{3} /.test(l));
        if (!done.length) return;
        pending = "";
        const code = Number(done[done.length - 1].slice(0, 3));
        if (i >= 0) codes.push(code);
        if (i >= 0 && lines[i] === "STARTTLS" && code === 220) {
          sock.removeAllListeners("data");
          sock = tlsConnect({ socket: sock, servername: "localhost", ca: cert }, next);
          sock.on("data", onData);
          return;
        }
        next();
      };
      sock.on("data", onData);
      sock.on("error", reject);
    });

  it("refuses commands before EHLO, AUTH without TLS, RCPT before MAIL, DATA before RCPT, MAIL before AUTH, a wrong password", async () => {
    const plain = (u: string, p: string) => `AUTH PLAIN ${Buffer.from(`\0${u}\0${p}`).toString("base64")}`;
    expect(await session(["MAIL FROM:<a@example.org>", "EHLO test", plain("u@example.org", "right"), "RCPT TO:<b@example.org>", "DATA", "QUIT"])).toEqual([503, 250, 538, 503, 503, 221]);
    expect(await session(["EHLO test", "STARTTLS", "MAIL FROM:<a@example.org>", "EHLO test", "MAIL FROM:<a@example.org>", plain("u@example.org", "wrong"), "QUIT"])).toEqual([250, 220, 503, 250, 530, 535, 221]);
    expect(await session(["EHLO test", "STARTTLS", "EHLO test", plain("u@example.org", "right"), "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>", "DATA", "Subject: x\r\n\r\nbody\r\n.", "QUIT"])).toEqual([250, 220, 250, 235, 250, 250, 354, 250, 221]);
    expect(smtp.messages).toEqual([{ from: "a@example.org", to: ["b@example.org"], data: "Subject: x\r\n\r\nbody\r\n", tls: true, user: "u@example.org" }]);
  });
});
