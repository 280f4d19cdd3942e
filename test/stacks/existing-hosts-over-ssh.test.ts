// KRO on an existing server, for real: the offline plan's own host steps for `host: {existing: ...}`, run over a real
// SSH login on loopback in the order the plan's dependencies give, as the command provider runs them: each
// command:remote:Command's `create` text as the remote command, its `stdin` (a file's content) on the session's stdin.
//
// The plan is made with host.existing pointing at the test sshd (127.0.0.1, its port, root) and app.deployDir in a temp
// dir, with sentinel secrets. Everything the steps touch outside the deploy dir (/opt/lazarus/scripts, /etc/ssl/lazarus,
// /etc/letsencrypt, /var/www/certbot) lives in a private mount namespace: sshd runs under `unshare --mount
// --propagation private`, with a temp dir bound over each path that exists, or an overlay (upper dir in the temp dir) on
// the parent of one that does not. Every SSH session inherits that namespace; the real machine is not written.
//
// The runner and the machine (namespace, real docker CLI with an engine and compose-plugin stand-in before
// test/support/fake-docker, the session environment) are test/support/planOverSsh.ts; its header says what is real.
//
// Steps that cannot run here (asserted to be exactly these, so a new step is not skipped silently):
//   - kro-prod-certificate: certbot against a real ACME server for kro.example.org; issuance is tested against pebble
//     in test/scripts/ops/certificates-against-pebble.test.ts.
//   - kro-prod-tls-activate: needs the issued certificate; run anyway and expected to refuse (exit 66) and leave the
//     placeholder linked.
//   - The DigitalOcean database is not a host step: the files carry the mock runtime's placeholders for its host,
//     password and CA certificate.
// The login uses the test sshd's own key, not the plan's (a sentinel): the key is the one input not exercised.
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../cli/planner";
import { hostSteps, runHostSteps, startPlanHost, unexpectedFailures, preflightResult, shippedScriptsProblems, type PlanHost, type StepRun } from "../support/planOverSsh";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, planFor } from "../support/stacks";

/** Paths outside the deploy dir the KRO steps write to, kept inside the private mount namespace. */
const SANDBOXED = ["/opt/lazarus", "/etc/ssl/lazarus", "/etc/letsencrypt", "/var/www/certbot"];
const PREFIX = "kro-prod";
const SKIPPED: Record<string, string> = {
  [`${PREFIX}-certificate`]: "certbot against a real ACME server; see test/scripts/ops/certificates-against-pebble.test.ts",
};
const EXPECTED_FAILURE: Record<string, number> = {
  // No certificate was issued (the step above is skipped): activation must refuse and change nothing.
  [`${PREFIX}-tls-activate`]: 66,
};

let host: PlanHost;
let ssh: PlanHost["ssh"];
let plan: Plan;
let deployDir: string;
let hooksBefore: boolean;
const seen = (p: string): string => host.seen(p);
let runs: StepRun[] = [];
const ran = (name: string) => runs.find((r) => r.name === name)!;

beforeAll(async () => {
  hooksBefore = existsSync("/etc/letsencrypt/renewal-hooks/deploy");
  host = await startPlanHost({ sandboxed: SANDBOXED });
  ssh = host.ssh;
  // (cloud-init's renderer, which plans the droplet variant too, refuses a path with a space.)
  deployDir = join(host.root, "srv", "kro-production");

  plan = await planFor("prod", {
    secrets: ALL_SENTINEL_SECRETS,
    patch: (c) => {
      c["lazarus:kro"].host = { existing: { address: ssh.host, user: ssh.user, port: ssh.port } };
      c["lazarus:kro"].app.deployDir = deployDir;
    },
  });
  runs = await runHostSteps(host, hostSteps(plan, PREFIX), { skipped: SKIPPED, expectedFailure: EXPECTED_FAILURE });
}, 300_000);

afterAll(async () => {
  await host?.stop();
});

describe("KRO's plan for an existing server, run over SSH", () => {
  it("points every host step at the test server, and orders them copy, preflight, files, placeholder, compose up", () => {
    for (const r of plan.resources.filter((x) => x.name.startsWith(`${PREFIX}-`) && x.type.startsWith("command:remote:"))) {
      expect(r.rawInputs.connection, r.name).toMatchObject({ host: "127.0.0.1", port: ssh.port, user: ssh.user });
    }
    const order = runs.map((r) => r.name.replace(`${PREFIX}-`, "").replace(/^software-file-.*/, "software-file"));
    expect([...new Set(order)]).toEqual([
      "software-scripts",
      "software-scripts-mode",
      "software-preflight",
      "software-file",
      "tls-bootstrap",
      "compose-up",
      "certificate",
      "tls-activate",
    ]);
  });

  it("runs every step that can run here, and fails none but the expected", () => {
    expect(unexpectedFailures(runs, EXPECTED_FAILURE)).toEqual([]);
    expect(runs.filter((r) => r.kind === "skipped").map((r) => r.name)).toEqual(Object.keys(SKIPPED));
  });

  it("ships the scripts where the commands call them", () => {
    expect(shippedScriptsProblems(seen("/opt/lazarus/scripts"))).toEqual([]);
  });

  it("passes the preflight: one JSON line, nothing missing, the directories cloud-init would make created", () => {
    const json = preflightResult(ran(`${PREFIX}-software-preflight`).result!);
    expect(json).toMatchObject({ script: "host-preflight.sh", status: "ok", missing: [], unwritable: [], docker_server: "26.1.3", compose_version: "2.29.7-lazarus-fake" });
    expect(json.created).toEqual(expect.arrayContaining([deployDir, "/var/www/certbot"]));
    expect(statSync(seen("/var/www/certbot")).isDirectory()).toBe(true);
    expect(statSync(deployDir).mode & 0o777).toBe(0o750);
  });

  it("writes every planned file with the plan's mode and content, secrets included", () => {
    const files = plan.files.filter((f) => f.platform === "kro");
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const writer = plan.resources.find((r) => r.type === T.command && r.name === `${PREFIX}-software-file${f.path.replace(/[^A-Za-z0-9]+/g, "-")}`)!;
      const content = f.secret ? String(writer.rawInputs.stdin) : f.content!;
      const at = seen(f.path);
      expect(readFileSync(at, "utf8"), f.path).toBe(content);
      expect((statSync(at).mode & 0o777).toString(8).padStart(4, "0"), f.path).toBe(f.mode);
      expect(existsSync(`${at}.lazarus-tmp`)).toBe(false);
    }
    const productionJson = readFileSync(join(deployDir, "production.json"), "utf8");
    expect(productionJson).toContain("SENTINEL-jwt-5d1f0c");
  });

  it("never puts a secret in a command's text", () => {
    const texts = plan.resources.filter((r) => r.type === T.command).map((r) => String(r.rawInputs.create));
    for (const marker of ALL_SENTINEL_MARKERS) expect(texts.filter((t) => t.includes(marker)), marker).toEqual([]);
  });

  it("links a placeholder certificate, and refuses to activate one that was never issued", () => {
    const link = seen("/etc/ssl/lazarus/kro-prod");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe("/etc/ssl/lazarus/kro-prod-bootstrap");
    expect(readFileSync(join(seen("/etc/ssl/lazarus/kro-prod-bootstrap"), "fullchain.pem"), "utf8")).toContain("BEGIN CERTIFICATE");
    const activate = ran(`${PREFIX}-tls-activate`).result!;
    expect(activate.code).toBe(66);
    expect(activate.stderr).toContain("no certificate at /etc/letsencrypt/live/kro-prod: was it issued?");
  });

  it("brings the compose project up in the deploy dir: every service running and healthy", () => {
    const r = ran(`${PREFIX}-compose-up`).result!;
    const json = JSON.parse(r.stdout.trim()) as { status: string; dir: string; services: { service: string; state: string; health: string }[] };
    expect(json.status).toBe("ok");
    expect(json.dir).toBe(deployDir);
    expect(json.services.map((s) => `${s.service} ${s.state} ${s.health}`).sort()).toEqual(
      ["admin-frontend", "backend", "frontend", "nginx"].map((s) => `${s} running healthy`),
    );
    const calls = host.dockerCalls();
    const ups = calls.filter((c) => c.args[1] === "up");
    expect(ups).toEqual([{ cwd: deployDir, args: ["compose", "up", "-d", "--wait", "--wait-timeout", "300", "--remove-orphans"] }]);
  });

  it("wrote nothing outside the namespace at the host paths", () => {
    for (const p of ["/opt/lazarus", "/etc/ssl/lazarus", "/var/www/certbot"]) expect(existsSync(p), p).toBe(false);
    expect(existsSync("/etc/letsencrypt/renewal-hooks/deploy")).toBe(hooksBefore);
    expect(statSync(seen("/etc/letsencrypt/renewal-hooks/deploy")).isDirectory()).toBe(true);
  });
});
