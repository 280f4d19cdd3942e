// Bunty's certificate for real: the plan's own issue and forced-renewal command lines (systemd nginx, lineage
// bunty-prod, the API's name), re-pointed only at the test's certbot directories, scripts and ACME server, run over a
// real SSH login with the real certbot against pebble, which validates HTTP-01 from a real nginx serving the webroot.
// The one stand-in: systemctl (test/support/fake-systemctl; no systemd here): it refuses unknown units like the real
// one, records the calls, and cannot show what a real nginx restart does with its configuration (nginx -t on the
// rendered site is test/stacks/bunty/pm2-and-nginx-for-real.test.ts's).
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certIssueCommand, certRenewCommand, type CertbotDirs } from "../../../lib/opsCommands";
import { bunty } from "../../../stacks/bunty";
import { buntyNames, planBunty } from "../../../stacks/bunty/plan";
import { startPebble, type PebbleServer } from "../../support/pebble";
import { REPO, startTestHost, type TestHost } from "../../support/testHost";
import { stackPlatformConfig } from "../../support/stacks";

const cfg = stackPlatformConfig("prod", bunty);
const plan = planBunty(cfg, { stack: "prod", stackFile: "Pulumi.prod.yaml", environment: {} as never });
const LINEAGE = buntyNames("prod").certName;
let host: TestHost;
let pebble: PebbleServer;
let dirs: Required<CertbotDirs>;
let webroot: string;
let systemctlDir: string;

const serial = () => spawnSync("openssl", ["x509", "-in", join(dirs.configDir, "live", LINEAGE, "cert.pem"), "-noout", "-serial"], { encoding: "utf8" }).stdout.trim();
const calls = () => readFileSync(join(systemctlDir, "calls"), "utf8").trim().split("\n");
const run = (command: string) => host.run(command, { ...pebble.env, FAKE_SYSTEMCTL_DIR: systemctlDir });

beforeAll(async () => {
  host = await startTestHost();
  webroot = join(host.root, "var/www/certbot");
  mkdirSync(webroot, { recursive: true });
  dirs = { configDir: join(host.root, "etc/letsencrypt"), workDir: join(host.root, "var/lib/letsencrypt"), logsDir: join(host.root, "var/log/letsencrypt") };
  systemctlDir = join(host.root, "systemctl");
  mkdirSync(systemctlDir);
  writeFileSync(join(systemctlDir, "units"), "nginx\n");
  writeFileSync(join(systemctlDir, "calls"), "");
  cpSync(join(REPO, "test/support/fake-systemctl"), join(host.binDir, "systemctl"));
  pebble = await startPebble({ webroot });
}, 120_000);
afterAll(async () => {
  await pebble?.stop();
  await host?.destroy();
});

describe("Bunty's certificate against pebble, over SSH", () => {
  const test = { webroot: "", acmeServer: "", certbotDirs: {} as CertbotDirs, scriptsRoot: "" };
  beforeAll(() => Object.assign(test, { webroot, acmeServer: pebble.directoryUrl, certbotDirs: dirs, scriptsRoot: host.scriptsRoot }));

  it("the plan issues for the API's name only, restarting the systemd nginx", () => {
    expect(plan.commands.certIssue).toContain(`--domain ${cfg.domains.api} --email ${cfg.tls.email} --webroot /var/www/certbot --systemd-unit nginx --cert-name ${LINEAGE}`);
    expect(plan.commands.certIssue).not.toContain(`--domain ${cfg.domains.frontend} `);
  });

  let first: string;
  it("issues it with a real HTTP-01 validation; the deploy hook restarts the nginx unit and checks it active", async () => {
    const r = await run(certIssueCommand({ domains: [cfg.domains.api], email: cfg.tls.email, systemdUnit: "nginx", certName: LINEAGE, ...test }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ status: "ok", cert_name: LINEAGE, domains: [cfg.domains.api], issued: true, nginx_restarted: true });
    first = serial();
    expect(pebble.nginxAccessLog()).toMatch(/"GET \/\.well-known\/acme-challenge\/[A-Za-z0-9_-]+ HTTP\/1\.1" 200 .*Pebble/);
    expect(calls()).toEqual(expect.arrayContaining(["restart nginx", "is-active nginx"]));
    expect(readdirSync(join(dirs.configDir, "renewal-hooks/deploy"))).toEqual([`lazarus-${LINEAGE}-restart-nginx.sh`]);
  }, 120_000);

  it("the runbook's forced renewal (operation renew-certificate) gets a new certificate and restarts nginx once", async () => {
    writeFileSync(join(systemctlDir, "calls"), "");
    const r = await run(certRenewCommand({ force: true, systemdUnit: "nginx", certName: LINEAGE, ...test }));
    expect(r.code, r.stderr).toBe(0);
    expect(serial()).not.toBe(first);
    expect(r.json).toMatchObject({ status: "ok", forced: true, nginx_restarted: true });
    expect(calls().filter((c) => c === "restart nginx")).toHaveLength(1);
  }, 120_000);
});
