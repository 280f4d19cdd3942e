// Certificate issuance and the runbook's "Certificate Renewal Recovery", run as the exact command lines
// lib/opsCommands.ts produces, over a real SSH login, with the real certbot against a real local ACME server
// (pebble), which validates HTTP-01 by fetching the challenge from a real nginx serving the webroot. The nginx
// restart goes through docker compose, the one stand-in (test/support/fake-docker: no Docker engine can run here).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { certIssueCommand, certRenewCommand, shellJoin, shellQuote, type CertbotDirs } from "../../../lib/opsCommands";
import { startPebble, type PebbleServer } from "../../support/pebble";
import { KRO_SERVICES, startTestHost, type TestHost } from "../../support/testHost";

let host: TestHost;
let pebble: PebbleServer;
let dirs: Required<CertbotDirs>;
let webroot: string;
const DOMAIN = "kro.test";
const EMAIL = "ops@kro.test";

function openssl(args: string[], input?: string): string {
  const r = spawnSync("openssl", args, { encoding: "utf8", input });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}
const live = (file: string) => join(dirs.configDir, "live", DOMAIN, file);
const serialOf = (pem: string) => openssl(["x509", "-in", pem, "-noout", "-serial"]).replace(/^serial=/, "");
const archived = () => readdirSync(join(dirs.configDir, "archive", DOMAIN)).filter((f) => f.startsWith("cert")).sort();
const issue = (extra: Partial<Parameters<typeof certIssueCommand>[0]> = {}) =>
  certIssueCommand({
    domains: [DOMAIN],
    email: EMAIL,
    webroot,
    composeDir: host.projectDir,
    nginxService: "nginx",
    acmeServer: pebble.directoryUrl,
    certbotDirs: dirs,
    scriptsRoot: host.scriptsRoot,
    ...extra,
  });
const renew = (force: boolean, extra: Partial<Parameters<typeof certRenewCommand>[0]> = {}) =>
  certRenewCommand({ force, composeDir: host.projectDir, nginxService: "nginx", certbotDirs: dirs, scriptsRoot: host.scriptsRoot, ...extra });

beforeAll(async () => {
  host = await startTestHost();
  webroot = join(host.root, "var/www/certbot");
  mkdirSync(webroot, { recursive: true });
  dirs = {
    configDir: join(host.root, "etc/letsencrypt"),
    workDir: join(host.root, "var/lib/letsencrypt"),
    logsDir: join(host.root, "var/log/letsencrypt"),
  };
  pebble = await startPebble({ webroot });
});
afterAll(async () => {
  await pebble?.stop();
  await host?.destroy();
});
beforeEach(() => {
  host.resetCalls();
  host.setContainers(Object.fromEntries(KRO_SERVICES.map((s) => [s, "running|healthy|"])));
});

describe("certificates (certbot against pebble, over SSH)", () => {
  let firstSerial: string;

  it("issues the certificate with a real HTTP-01 validation, installs the deploy hook and restarts nginx", async () => {
    const r = await host.run(issue(), pebble.env);
    expect(r.code, r.stderr).toBe(0);
    firstSerial = serialOf(live("cert.pem"));
    expect(r.json).toMatchObject({
      script: "cert-issue.sh",
      status: "ok",
      cert_name: DOMAIN,
      domains: [DOMAIN],
      issued: true,
      serial: firstSerial,
      fullchain: live("fullchain.pem"),
      hook_changed: true,
      nginx_restarted: true,
    });
    // The certificate is for the domain and chains to pebble's root of this run.
    expect(openssl(["x509", "-in", live("cert.pem"), "-noout", "-ext", "subjectAltName"])).toContain(`DNS:${DOMAIN}`);
    const root = join(host.root, "pebble-root.pem");
    writeFileSync(root, await pebble.rootCertificate());
    expect(openssl(["verify", "-CAfile", root, "-untrusted", live("chain.pem"), live("cert.pem")])).toBe(`${live("cert.pem")}: OK`);
    // pebble fetched the challenge from nginx: validation was real.
    expect(pebble.nginxAccessLog()).toMatch(/"GET \/\.well-known\/acme-challenge\/[A-Za-z0-9_-]+ HTTP\/1\.1" 200 .*Pebble/);
    // The hook is installed where certbot runs deploy hooks, executable, naming this project and service.
    const hook = String(r.json.hook);
    expect(hook).toBe(join(dirs.configDir, "renewal-hooks/deploy", `lazarus-${DOMAIN}-restart-nginx.sh`));
    expect(statSync(hook).mode & 0o777).toBe(0o755);
    expect(readFileSync(hook, "utf8")).toContain(`${host.scriptsRoot}/ops/cert-deploy-hook.sh --cert-name ${DOMAIN} --compose-dir `);
    expect(host.composeCalls()).toEqual(["compose restart nginx", "compose ps --all --format json"]);
    expect(r.json.nginx).toEqual({ service: "nginx", state: "running", health: "healthy" });
    expect(new Set(host.calls().map((c) => c.cwd))).toEqual(new Set([host.projectDir]));
  });

  it("is idempotent: a re-run keeps the certificate, the hook, and nginx as they are", async () => {
    const hookBefore = readFileSync(join(dirs.configDir, "renewal-hooks/deploy", `lazarus-${DOMAIN}-restart-nginx.sh`), "utf8");
    const r = await host.run(issue(), pebble.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ issued: false, serial: firstSerial, hook_changed: false, nginx_restarted: false });
    expect(serialOf(live("cert.pem"))).toBe(firstSerial);
    expect(archived()).toEqual(["cert1.pem"]);
    expect(readFileSync(String(r.json.hook), "utf8")).toBe(hookBefore);
    expect(host.composeCalls()).toEqual([]);
  });

  let forcedSerial: string;
  it("forced renewal (the runbook's recovery) gets a new certificate and restarts nginx exactly once", async () => {
    const r = await host.run(renew(true), pebble.env);
    expect(r.code, r.stderr).toBe(0);
    forcedSerial = serialOf(live("cert.pem"));
    expect(forcedSerial).not.toBe(firstSerial);
    expect(archived()).toEqual(["cert1.pem", "cert2.pem"]);
    expect(r.json).toMatchObject({
      script: "cert-renew.sh",
      status: "ok",
      forced: true,
      renewed: [{ cert_name: DOMAIN, serial_before: firstSerial, serial: forcedSerial }],
      lineages: [DOMAIN],
      nginx_restarted: true,
    });
    // The deploy hook ran inside certbot and deferred to the script, which restarted nginx once.
    expect(r.stderr).toContain(`cert-deploy-hook.sh: ${DOMAIN} renewed; cert-renew.sh restarts nginx once all renewals are done`);
    expect(host.composeCalls()).toEqual(["compose restart nginx", "compose ps --all --format json"]);
    expect(r.json.nginx).toEqual({ service: "nginx", state: "running", health: "healthy" });
  });

  it("a renewal by certbot itself (Debian's certbot.timer) restarts nginx through the deploy hook and compose", async () => {
    // What the timer runs: plain certbot, no Lazarus script around it (forced, and without the timer's random delay
    // of up to 8 minutes, so the test need not wait for the certificate to be due).
    const certbot = shellJoin(["certbot", "renew", "--force-renewal", "--no-random-sleep-on-renew", "--non-interactive", "--config-dir", dirs.configDir, "--work-dir", dirs.workDir, "--logs-dir", dirs.logsDir]);
    const r = await host.ssh.sshExec(certbot, { env: { PATH: host.path, ...pebble.env } });
    expect(r.code, r.stderr).toBe(0);
    expect(serialOf(live("cert.pem"))).not.toBe(forcedSerial);
    expect(archived()).toEqual(["cert1.pem", "cert2.pem", "cert3.pem"]);
    expect(host.composeCalls()).toEqual(["compose restart nginx", "compose ps --all --format json"]);
    expect(new Set(host.calls().map((c) => c.cwd))).toEqual(new Set([host.projectDir]));
    expect(r.stdout + r.stderr).toContain(`cert-deploy-hook.sh: ${DOMAIN} renewed: restarted nginx`);
  });

  it("renewal without --force renews nothing that is not due, and still restarts nginx as the runbook does", async () => {
    const before = serialOf(live("cert.pem"));
    const r = await host.run(renew(false, { certName: DOMAIN }), pebble.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ forced: false, renewed: [], lineages: [DOMAIN], nginx_restarted: true });
    expect(serialOf(live("cert.pem"))).toBe(before);
    expect(host.composeCalls()).toEqual(["compose restart nginx", "compose ps --all --format json"]);
  });

  it("fails with 69 when nginx is not running after the restart (here: no nginx container at all)", async () => {
    host.setContainers({ backend: "running|healthy|", frontend: "running|healthy|", "admin-frontend": "running|healthy|" });
    const r = await host.run(renew(false), pebble.env);
    expect(r.code).toBe(69);
    expect(r.json).toMatchObject({ status: "error", renewed: [], nginx_restarted: true, nginx: { service: "nginx", state: "missing" } });
    expect(r.json.error).toBe("nginx is not running and healthy after its restart (missing)");
  });

  it("a failed validation exits 69, keeps the current certificate and does not restart nginx", async () => {
    const before = serialOf(live("cert.pem"));
    // A webroot nginx does not serve: pebble's fetch of the challenge gets a 404.
    const elsewhere = join(host.root, "srv/not-served");
    mkdirSync(elsewhere, { recursive: true });
    const r = await host.run(issue({ domains: [DOMAIN, "www.kro.test"], webroot: elsewhere }), pebble.env);
    expect(r.code).toBe(69);
    expect(r.json).toMatchObject({ status: "error", exit_code: 69 });
    expect(String(r.json.error)).toBe(`certbot certonly failed for ${DOMAIN} www.kro.test (see ${dirs.logsDir}/letsencrypt.log)`);
    expect(r.stderr).toMatch(/www\.kro\.test.*\n?.*404/);
    expect(serialOf(live("cert.pem"))).toBe(before);
    expect(host.composeCalls()).toEqual([]);
  });

  it("the deploy hook leaves nginx alone when certbot renewed another lineage", async () => {
    const hook = join(dirs.configDir, "renewal-hooks/deploy", `lazarus-${DOMAIN}-restart-nginx.sh`);
    const r = await host.run(`bash ${shellQuote(hook)}`, { RENEWED_LINEAGE: join(dirs.configDir, "live/other.test") });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ script: "cert-deploy-hook.sh", status: "ok", cert_name: DOMAIN, action: "skipped" });
    expect(host.composeCalls()).toEqual([]);
  });

  it("bad input fails before certbot runs", async () => {
    const logBefore = readFileSync(join(dirs.logsDir, "letsencrypt.log"), "utf8");
    const cases: [string, number, string][] = [
      [issue({ webroot: join(host.root, "var/www/missing") }), 66, `webroot directory not found: ${join(host.root, "var/www/missing")} (nginx must serve it under /.well-known/acme-challenge/)`],
      [issue({ nginxService: "proxy" }), 65, `unknown service 'proxy' (services in ${host.projectDir}/docker-compose.yml: backend frontend admin-frontend nginx)`],
      [renew(true, { certName: "other.test" }), 66, `no certificate lineage named other.test in ${dirs.configDir}/live`],
      [
        `bash ${shellQuote(`${host.scriptsRoot}/ops/cert-issue.sh`)} --domain 'KRO_TEST;id' --email ${EMAIL} --webroot ${shellQuote(webroot)}`,
        64,
        "invalid --domain: 'KRO_TEST;id' (a lowercase DNS name such as example.com)",
      ],
      [`bash ${shellQuote(`${host.scriptsRoot}/ops/cert-renew.sh`)} --compose-dir ${shellQuote(host.projectDir)} --nginx-service nginx --server http://insecure.test/dir`, 64, "--server must be an https:// ACME directory URL, got: 'http://insecure.test/dir'"],
      [`bash ${shellQuote(`${host.scriptsRoot}/ops/cert-issue.sh`)} --domain ${DOMAIN} --email nobody --webroot ${shellQuote(webroot)}`, 64, "--email is required and must be an address, got: 'nobody'"],
    ];
    for (const [cmd, code, message] of cases) {
      const r = await host.run(cmd, pebble.env);
      expect({ cmd, code: r.code, error: r.json.error }).toEqual({ cmd, code, error: message });
    }
    // certbot never ran: its log is unchanged, nothing was restarted.
    expect(readFileSync(join(dirs.logsDir, "letsencrypt.log"), "utf8")).toBe(logBefore);
    expect(host.composeCalls()).toEqual([]);
    expect(existsSync(join(dirs.configDir, "live", "other.test"))).toBe(false);
  });
});
