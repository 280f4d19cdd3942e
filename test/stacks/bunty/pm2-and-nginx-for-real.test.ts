// Bunty's host steps for real: a real PM2 (the pinned devDependency) driven over a real SSH login on loopback by the
// scripts the plan runs, and a real nginx with the site the plan renders in front of it. Proves: pm2-logrotate's
// settings read back from PM2, the ecosystem file starts the app and `pm2 jlist` shows it, restart restarts it,
// rollback swaps releases (twice, without nesting), and an emergency shutdown leaves nginx serving the maintenance page.
// The setup step runs directly, not over SSH: inside the loopback SSH session `pm2 install pm2-logrotate` hangs in its
// `npm install` (the same script, same PM2_HOME and PATH, finishes in about 7 s when run directly; not yet understood).
// Stand-in limits: PM2 runs as the test's user with its own PM2_HOME instead of as `deploy` (no user is created on the
// test machine), without `pm2 startup` (no systemd here); nginx listens on free loopback ports with a self-signed
// certificate at the production path, and the app is a stub that reports its release and its .env.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderNginxConf } from "../../../renderers/nginx";
import { renderPm2Ecosystem } from "../../../renderers/pm2Ecosystem";
import { bunty } from "../../../stacks/bunty";
import { BUNTY_PATHS, buntyNginxInput, planBunty } from "../../../stacks/bunty/plan";
import { freePort } from "../../support/ports";
import { startSshd, type SshServer } from "../../support/sshd";
import { REPO, parseResult } from "../../support/testHost";
import { stackPlatformConfig } from "../../support/stacks";
import { nginxServe, nginxTest, type RunningNginx } from "../../support/validators";

const cfg = stackPlatformConfig("prod", bunty);
const PM2_BIN = join(REPO, "node_modules/.bin/pm2");
const OPS = join(REPO, "scripts/ops");
const API = cfg.domains.api;
const TLS = { certPath: "/etc/ssl/lazarus/bunty-prod/fullchain.pem", keyPath: "/etc/ssl/lazarus/bunty-prod/privkey.pem", names: [API] };
const MAINTENANCE_FILE = `${BUNTY_PATHS.maintenanceRoot}/${BUNTY_PATHS.maintenancePage}`;

const STUB_APP = `const http = require("http");
const fs = require("fs");
const env = Object.fromEntries(fs.readFileSync(".env", "utf8").split("\\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
const release = fs.readFileSync("RELEASE", "utf8").trim();
http.createServer((req, res) => res.end(JSON.stringify({ status: "healthy", release, pid: process.pid, plaid: env.PLAID_ENABLED }))).listen(Number(process.env.PORT), "127.0.0.1");
`;

function release(dir: string, name: string) {
  mkdirSync(join(dir, "dist"), { recursive: true });
  writeFileSync(join(dir, "dist/index.js"), STUB_APP);
  writeFileSync(join(dir, "RELEASE"), `${name}\n`);
}

let ssh: SshServer;
let nginx: RunningNginx;
let root: string;
let appDir: string;
let ecosystem: string;
let httpsPort: number;
let env: Record<string, string>;

const run = async (script: string, args: string[]) => {
  const r = await ssh.sshExec(["bash", join(OPS, script), ...args].map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(" "), { env, timeoutMs: 120_000 });
  return { ...r, json: parseResult(r.stdout) };
};
const runDirect = (script: string, args: string[]) => {
  const r = spawnSync("bash", [join(OPS, script), ...args], { encoding: "utf8", env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], timeout: 150_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: parseResult(r.stdout) };
};
const appArgs = () => ["--user", ssh.user, "--ecosystem", ecosystem, "--app", cfg.app.name];
const curlApi = () => {
  const r = spawnSync("curl", ["-sk", "-m", "5", "-w", "\\n%{http_code}", "--resolve", `${API}:${httpsPort}:127.0.0.1`, `https://${API}:${httpsPort}/health`], { encoding: "utf8" });
  const lines = r.stdout.trimEnd().split("\n");
  return { status: Number(lines.pop()), body: lines.join("\n") };
};
const jlist = async () => JSON.parse((await ssh.sshExec(`'${PM2_BIN}' jlist`, { env })).stdout) as { name: string; pid: number; pm2_env: { status: string; restart_time: number } }[];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "lazarus-bunty-"));
  appDir = join(root, "www/bunty-backend");
  release(appDir, "v2");
  writeFileSync(join(appDir, ".env"), "PLAID_ENABLED=true\n", { mode: 0o600 });
  const appPort = await freePort();
  ecosystem = join(root, "ecosystem.config.js");
  // The plan's ecosystem app, pointed at the temp release directory and a free port.
  writeFileSync(ecosystem, renderPm2Ecosystem({ apps: [{ name: cfg.app.name, script: cfg.app.script, cwd: appDir, env: { NODE_ENV: "production", PORT: String(appPort) } }] }));
  env = { PM2_HOME: join(root, "pm2"), PM2_BIN, PATH: `${join(REPO, "node_modules/.bin")}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin` };
  ssh = await startSshd();
  httpsPort = await freePort();
  const input = buntyNginxInput(cfg, "prod");
  const conf = renderNginxConf({ ...input, upstreams: [{ ...input.upstreams[0]!, port: appPort }], httpPort: await freePort(), httpsPort, listenAddress: "127.0.0.1" });
  const page = planBunty(cfg, { stack: "prod", stackFile: "Pulumi.prod.yaml", environment: {} as never }).files[MAINTENANCE_FILE]!;
  nginx = await nginxServe(conf, httpsPort, { certs: [TLS], files: { [MAINTENANCE_FILE]: page } });
}, 120_000);

afterAll(async () => {
  if (ssh) await ssh.sshExec(`'${PM2_BIN}' kill`, { env }).catch(() => undefined);
  await nginx?.stop();
  await ssh?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the rendered nginx site", () => {
  it("passes nginx -t as the plan renders it, at its production paths", () => {
    const plan = planBunty(cfg, { stack: "prod", stackFile: "Pulumi.prod.yaml", environment: {} as never });
    const r = nginxTest(plan.files[BUNTY_PATHS.nginxConf]!, { certs: [TLS], files: { [MAINTENANCE_FILE]: plan.files[MAINTENANCE_FILE]! } });
    expect(r.ok, r.output).toBe(true);
  });
});

describe("Bunty under a real PM2, over SSH", () => {
  it("sets up pm2-logrotate with the runbook's settings, read back from PM2", async () => {
    const lr = cfg.pm2.logrotate;
    const r = runDirect("pm2-host-setup.sh", [
      "--user", ssh.user, "--app-dir", appDir, "--pm2-version", cfg.pm2.version, "--logrotate-version", lr.version,
      "--logrotate-max-size", lr.maxSize, "--logrotate-retain", String(lr.retain), "--logrotate-compress", String(lr.compress), "--no-startup",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ status: "ok", pm2_version: "7.0.4", logrotate: { max_size: "10M", retain: "7", compress: "true" } });
    expect((await jlist()).map((p) => p.name)).toContain("pm2-logrotate");
  }, 180_000);

  it("starts the app from the ecosystem file: pm2 jlist shows it online, nginx proxies to it", async () => {
    const r = await run("pm2-app.sh", [...appArgs(), "start"]);
    expect(r.code, r.stderr).toBe(0);
    const app = (await jlist()).find((p) => p.name === "bunty-backend")!;
    expect(app.pm2_env.status).toBe("online");
    await expect.poll(() => curlApi().status, { timeout: 10_000 }).toBe(200);
    expect(JSON.parse(curlApi().body)).toMatchObject({ status: "healthy", release: "v2", plaid: "true", pid: app.pid });
  }, 60_000);

  it("restarts it: a new process, PM2's restart count up by one", async () => {
    const before = (await jlist()).find((p) => p.name === "bunty-backend")!;
    const r = await run("pm2-app.sh", [...appArgs(), "restart"]);
    expect(r.code, r.stderr).toBe(0);
    const after = (await jlist()).find((p) => p.name === "bunty-backend")!;
    expect(after.pid).not.toBe(before.pid);
    expect(after.pm2_env.restart_time).toBe(before.pm2_env.restart_time + 1);
    await expect.poll(() => { const c = curlApi(); return c.status === 200 ? JSON.parse(c.body).pid : undefined; }, { timeout: 10_000 }).toBe(after.pid);
  }, 60_000);

  it("rolls back by swapping releases, and again (rolling forward), never nesting directories", async () => {
    release(`${appDir}-previous`, "v1");
    writeFileSync(join(`${appDir}-previous`, ".env"), "PLAID_ENABLED=stale\n");
    const first = await run("pm2-rollback.sh", ["--dir", appDir, ...appArgs().slice(0, 6)]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({ live_release: "v1", previous_release: "v2", app: { status: "online" } });
    // The live .env came along: the old release's stale one is not what the app reads.
    await expect.poll(() => curlApi().body, { timeout: 10_000 }).toContain('"release":"v1"');
    expect(JSON.parse(curlApi().body).plaid).toBe("true");
    const second = await run("pm2-rollback.sh", ["--dir", appDir, ...appArgs().slice(0, 6)]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json).toMatchObject({ live_release: "v2", previous_release: "v1" });
    await expect.poll(() => curlApi().body, { timeout: 10_000 }).toContain('"release":"v2"');
    expect(readdirSync(join(root, "www")).sort()).toEqual(["bunty-backend", "bunty-backend-previous"]);
    expect(readdirSync(appDir).filter((f) => f.startsWith("bunty-backend"))).toEqual([]);
  }, 120_000);

  it("emergency shutdown stops the app and nginx serves the maintenance page (503) meanwhile; start brings it back", async () => {
    const r = await run("pm2-app.sh", [...appArgs(), "stop"]);
    expect(r.code, r.stderr).toBe(0);
    expect((await jlist()).find((p) => p.name === "bunty-backend")!.pm2_env.status).toBe("stopped");
    const down = curlApi();
    expect(down.status).toBe(503);
    expect(down.body).toContain("Bunty is down for maintenance");
    const up = await run("pm2-app.sh", [...appArgs(), "start"]);
    expect(up.code, up.stderr).toBe(0);
    await expect.poll(() => curlApi().status, { timeout: 10_000 }).toBe(200);
  }, 60_000);
});
