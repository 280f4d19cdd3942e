// Bunty's host steps for real: a real PM2 (the pinned devDependency) driven over a real SSH login on loopback by the
// scripts the plan runs, and a real nginx with the site the plan renders in front of it. Proves: pm2-logrotate's
// settings read back from PM2, the ecosystem file starts the app and `pm2 jlist` shows it, restart restarts it,
// rollback swaps releases (twice, without nesting), and an emergency shutdown leaves nginx serving the maintenance page.
// The setup step runs over SSH too, in a session without the test runner's CA variables: `pm2 install pm2-logrotate`
// hung there (PM2's `npm install --prefix` drops the host's global npmrc, see pm2-host-setup.sh), so the module is now
// a tarball bundle built once with the host's npm config, and installed again from it with no network and no npm.
// Stand-in limits: PM2 runs as the test's user with its own PM2_HOME instead of as `deploy` (no user is created on the
// test machine), without `pm2 startup` (no systemd here); nginx listens on free loopback ports with a self-signed
// certificate at the production path, and the app is a stub that reports its release and its .env.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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
let moduleCache: string;

const run = async (script: string, args: string[]) => {
  const r = await ssh.sshExec(["bash", join(OPS, script), ...args].map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(" "), { env, timeoutMs: 120_000 });
  return { ...r, json: parseResult(r.stdout) };
};
const setupArgs = (moduleCache: string) => {
  const lr = cfg.pm2.logrotate;
  return [
    "--user", ssh.user, "--app-dir", appDir, "--pm2-version", cfg.pm2.version, "--logrotate-version", lr.version,
    "--logrotate-max-size", lr.maxSize, "--logrotate-retain", String(lr.retain), "--logrotate-compress", String(lr.compress),
    "--module-cache", moduleCache, "--no-startup",
  ];
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
  moduleCache = join(root, "pm2-modules");
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
  it("sets up pm2-logrotate over SSH with the runbook's settings, read back from PM2, building its bundle once", async () => {
    const started = Date.now();
    const r = await run("pm2-host-setup.sh", setupArgs(moduleCache));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ status: "ok", pm2_version: "7.0.4", changed: true, logrotate: { max_size: "10M", retain: "7", compress: "true" } });
    expect(r.json.logrotate_bundle).toBe(join(moduleCache, `pm2-logrotate-${cfg.pm2.logrotate.version}.tar.gz`));
    // What hung: minutes per package. Not a timing assertion, a bound that a hang cannot meet.
    expect(Date.now() - started).toBeLessThan(110_000);
    const module = (await jlist()).find((p) => p.name === "pm2-logrotate")!;
    expect(module.pm2_env.status).toBe("online");
    // The module itself runs with the settings (PM2 hands a module its configuration in its environment).
    expect(JSON.parse((module.pm2_env as unknown as Record<string, string>)["pm2-logrotate"]!)).toMatchObject({ max_size: "10M", retain: "7", compress: "true" });
  }, 180_000);

  it("a second run changes nothing: no install, no setting, the module not restarted", async () => {
    const before = (await jlist()).find((p) => p.name === "pm2-logrotate")!;
    const r = await run("pm2-host-setup.sh", setupArgs(moduleCache));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ status: "ok", changed: false });
    const after = (await jlist()).find((p) => p.name === "pm2-logrotate")!;
    expect(after.pid).toBe(before.pid);
    expect(after.pm2_env.restart_time).toBe(before.pm2_env.restart_time);
  }, 60_000);

  it("another pinned version replaces the installed module (uninstall, install) and the settings are set again", async () => {
    // A second version, made here from the kept bundle with another version number (no network in this test).
    const other = "9.9.9";
    const work = join(root, "repack");
    mkdirSync(work, { recursive: true });
    const sh = (cmd: string) => {
      const r = spawnSync("bash", ["-c", cmd], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(r.stderr);
    };
    sh(`tar xzf '${join(moduleCache, `pm2-logrotate-${cfg.pm2.logrotate.version}.tar.gz`)}' -C '${work}'`);
    sh(`cd '${work}/module' && jq '.version = "${other}"' package.json > p.json && mv p.json package.json`);
    sh(`tar czf '${join(moduleCache, `pm2-logrotate-${other}.tar.gz`)}' -C '${work}' module`);
    const args = setupArgs(moduleCache);
    args[args.indexOf("--logrotate-version") + 1] = other;
    const r = await run("pm2-host-setup.sh", args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ status: "ok", changed: true, logrotate: { max_size: "10M", retain: "7", compress: "true" } });
    const modules = (await jlist()).filter((p) => p.name === "pm2-logrotate");
    expect(modules.map((m) => (m.pm2_env as unknown as { version: string }).version)).toEqual([other]);
    // Back to the stack's version for the tests that follow.
    const back = await run("pm2-host-setup.sh", setupArgs(moduleCache));
    expect(back.code, back.stderr).toBe(0);
    expect((await jlist()).filter((p) => p.name === "pm2-logrotate").map((m) => (m.pm2_env as unknown as { version: string }).version)).toEqual([cfg.pm2.logrotate.version]);
  }, 150_000);

  it("installs offline from the kept bundle: no network, npm never called, a fresh PM2 home", async () => {
    const offline = join(root, "offline");
    mkdirSync(join(offline, "bin"), { recursive: true });
    // npm, if called, records it and fails; the proxies point at a closed port so any download fails at once.
    writeFileSync(join(offline, "bin/npm"), `#!/bin/sh\necho "$@" >> '${offline}/npm-calls'\nexit 1\n`, { mode: 0o755 });
    const offlineEnv = { ...env, PM2_HOME: join(offline, "pm2"), PATH: `${join(offline, "bin")}:${env.PATH}`, https_proxy: "http://127.0.0.1:9", http_proxy: "http://127.0.0.1:9", HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" };
    try {
      const r = await ssh.sshExec(["bash", join(OPS, "pm2-host-setup.sh"), ...setupArgs(moduleCache)].map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(" "), { env: offlineEnv, timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(parseResult(r.stdout)).toMatchObject({ status: "ok", changed: true, logrotate: { max_size: "10M", retain: "7", compress: "true" } });
      expect(existsSync(join(offline, "npm-calls"))).toBe(false);
      const list = JSON.parse((await ssh.sshExec(`'${PM2_BIN}' jlist`, { env: offlineEnv })).stdout) as { name: string; pm2_env: { status: string; version: string } }[];
      expect(list.find((p) => p.name === "pm2-logrotate")?.pm2_env).toMatchObject({ status: "online", version: cfg.pm2.logrotate.version });
    } finally {
      await ssh.sshExec(`'${PM2_BIN}' kill`, { env: offlineEnv }).catch(() => undefined);
    }
  }, 150_000);

  it("without a bundle and without network it fails fast with 69 and says where a bundle goes", async () => {
    const cold = join(root, "cold");
    const coldEnv = { ...env, PM2_HOME: join(cold, "pm2"), npm_config_registry: "http://127.0.0.1:9/" };
    try {
      const r = await ssh.sshExec(["bash", join(OPS, "pm2-host-setup.sh"), ...setupArgs(join(cold, "cache"))].map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(" "), { env: coldEnv, timeoutMs: 120_000 });
      expect(r.code).toBe(69);
      expect(parseResult(r.stdout)).toMatchObject({ status: "error", exit_code: 69 });
      expect(String(parseResult(r.stdout).error)).toContain(`put a bundle at ${join(cold, "cache")}/pm2-logrotate-`);
      expect(readdirSync(join(cold, "cache"))).toEqual([]);
    } finally {
      await ssh.sshExec(`'${PM2_BIN}' kill`, { env: coldEnv }).catch(() => undefined);
    }
  }, 150_000);

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
