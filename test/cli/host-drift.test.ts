// `npm run drift:hosts` against a REAL host: KRO planned for an existing server (the test sshd on loopback, deploy dir
// in a temp dir), its files written there by the plan's own file-writer commands over SSH (their `create` with the
// file on stdin, as the command provider runs them), then changed by hand behind Pulumi's back.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHostDriftCli } from "../../cli/hostDrift";
import type { Plan } from "../../cli/planner";
import { REPO_ROOT as REPO } from "../../lib/engine/install";
import { gfmToHtml } from "../support/markdown";
import { startSshd, type SshServer } from "../support/sshd";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, patchedProject, planFor } from "../support/stacks";

let ssh: SshServer;
let deployDir: string;
let project: string;
let plan: Plan;
const knownHosts = join(mkdtempSync(join(tmpdir(), "lazarus-known-hosts-")), "known_hosts");

const cli = (extra: string[] = [], identity = () => ssh.keyFile) =>
  runHostDriftCli(["--stack", "prod", "--project-dir", project, "--host", `kro=${ssh.user}@${ssh.host}:${ssh.port}`, "--identity", identity(), "--known-hosts", knownHosts, ...extra]);

beforeAll(async () => {
  ssh = await startSshd();
  deployDir = mkdtempSync(join(tmpdir(), "lazarus-kro-deploy-"));
  const patch = (c: Record<string, any>) => {
    c["lazarus:kro"].host = { existing: { address: ssh.host, user: ssh.user, port: ssh.port } };
    c["lazarus:kro"].app.deployDir = deployDir;
  };
  project = patchedProject("prod", patch);
  // The deployed host: every KRO file written by its planned writer, secrets included (sentinels).
  plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch });
  const writers = plan.resources.filter((r) => r.type === T.command && r.name.startsWith("kro-prod-software-file-"));
  expect(writers.length).toBe(4);
  for (const w of writers) {
    const r = await ssh.sshExec(String(w.rawInputs.create), { input: String(w.rawInputs.stdin) });
    expect(r.code, `${w.name}: ${r.stderr}`).toBe(0);
  }
}, 180_000);

afterAll(async () => {
  await ssh?.stop();
  rmSync(deployDir, { recursive: true, force: true });
});

describe("npm run drift:hosts", () => {
  it("finds every file as planned right after they were written (exit 0); secret files by presence and mode only", async () => {
    const r = await cli();
    expect(r.stderr).toContain("drift:hosts: 0 difference(s); hosts not checked: none");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`| kro | \`${ssh.user}@${ssh.host}:${ssh.port}\` | 4 | 0 | ✅ complete |`);
    expect(r.stdout).toContain("- 2 file(s) compared by presence and mode only (secret, or content known only at deploy time)");
  }, 120_000);

  it("takes the hosts from the stack's outputs (the platform's `ssh` output, as `pulumi stack output --json` prints it)", async () => {
    const outputs = join(mkdtempSync(join(tmpdir(), "lazarus-outputs-")), "outputs.json");
    const ssh_ = (plan.outputs.kro as { ssh: string }).ssh;
    expect(ssh_).toBe(`ssh -p ${ssh.port} ${ssh.user}@${ssh.host}`);
    writeFileSync(outputs, JSON.stringify({ stack: "prod", kro: { ssh: ssh_ } }));
    const r = await runHostDriftCli(["--stack", "prod", "--project-dir", project, "--outputs", outputs, "--identity", ssh.keyFile, "--known-hosts", knownHosts]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`| kro | \`${ssh.user}@${ssh.host}:${ssh.port}\` | 4 | 0 | ✅ complete |`);
  }, 120_000);

  it("names a file edited by hand, a secret file re-moded and one deleted (exit 4), and never prints a secret or its digest", async () => {
    writeFileSync(join(deployDir, "nginx.conf"), readFileSync(join(deployDir, "nginx.conf"), "utf8") + "# hand edit at 3 a.m.\n");
    chmodSync(join(deployDir, "production.json"), 0o644);
    rmSync(join(deployDir, "kro-prod-db-cluster-ca-certificate.crt"));
    const r = await cli(["--out", join(deployDir, "..", "hosts.md")]);
    expect(r.code).toBe(4);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("- **"));
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^- \\*\\*content\\*\\*: \`${deployDir}/nginx.conf\`: plan sha256 [0-9a-f]{12}…, host [0-9a-f]{12}…$`)),
      `- **mode**: \`${deployDir}/production.json\`: plan 0600, host 0644`,
      `- **missing**: \`${deployDir}/kro-prod-db-cluster-ca-certificate.crt\``,
    ]);
    // No digest of a secret file either (a password's sha256 can be guessed).
    const secretDigest = createHash("sha256").update(readFileSync(join(deployDir, "production.json"))).digest("hex");
    expect(r.stdout).not.toContain(secretDigest.slice(0, 12));
    expect(lines).toHaveLength(3);
    for (const marker of ALL_SENTINEL_MARKERS) expect(r.stdout + r.stderr).not.toContain(marker);
    expect(gfmToHtml(r.stdout)).toContain("<h3>kro</h3>");
  }, 120_000);

  it("tools/ci/check-host-files.sh, the drift workflow's step, checks every stack's hosts from its outputs (pulumi stood in)", () => {
    // A checkout: the repository's files with the patched prod stack file and the real staging one.
    const checkout = mkdtempSync(join(tmpdir(), "lazarus-checkout-"));
    for (const entry of readdirSync(REPO)) {
      if ((entry.startsWith("Pulumi.") && entry !== "Pulumi.yaml") || [".git", ".scratch"].includes(entry)) continue;
      symlinkSync(join(REPO, entry), join(checkout, entry));
    }
    cpSync(join(project, "Pulumi.prod.yaml"), join(checkout, "Pulumi.prod.yaml"));
    cpSync(join(REPO, "Pulumi.staging.yaml"), join(checkout, "Pulumi.staging.yaml"));
    // Stand-in for the Pulumi CLI: `stack output --json --stack prod` prints prod's outputs; anything else is refused
    // as the real CLI refuses a stack it does not know.
    const bin = mkdtempSync(join(tmpdir(), "lazarus-fake-pulumi-"));
    const outputs = join(bin, "prod-outputs.json");
    writeFileSync(outputs, JSON.stringify({ stack: "prod", kro: { ssh: (plan.outputs.kro as { ssh: string }).ssh } }));
    writeFileSync(
      join(bin, "pulumi"),
      `#!/bin/sh\nif [ "$*" = "stack output --json --stack prod" ]; then cat ${outputs}; exit 0; fi\necho "error: no stack named '$5' found" >&2\nexit 255\n`,
      { mode: 0o755 },
    );
    const out = mkdtempSync(join(tmpdir(), "lazarus-hosts-"));
    const r = spawnSync("bash", [join(REPO, "tools/ci/check-host-files.sh"), out, ssh.keyFile, knownHosts], {
      cwd: checkout,
      encoding: "utf8",
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      timeout: 240_000,
    });
    expect(r.status, r.stderr).toBe(4);
    expect(r.stdout).toContain("check-host-files: prod: drift:hosts exited 4");
    expect(readFileSync(join(out, "prod.hosts.md"), "utf8")).toContain(`- **missing**: \`${deployDir}/kro-prod-db-cluster-ca-certificate.crt\``);
    expect(readFileSync(join(out, "staging.hosts.md"), "utf8")).toContain("- ❌ pulumi stack output failed: error: no stack named 'staging' found");
  }, 300_000);

  it("a host it cannot log in to is not a clean bill (exit 5), and a platform the stack renders no host files for is refused (exit 2)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lazarus-wrong-key-"));
    const wrong = join(dir, "id_ed25519");
    require("node:child_process").execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", wrong]);
    const r = await cli([], () => wrong);
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/- ❌ ssh root@127\.0\.0\.1:\d+ failed \(exit 255\): .*Permission denied/);
    const bad = await runHostDriftCli(["--stack", "prod", "--project-dir", project, "--host", "nosuch=root@203.0.113.9", "--identity", ssh.keyFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('stack prod renders no host files for platform "nosuch"; platforms with host files: kro, goodgo, bunty, dbis');
    const malformed = await runHostDriftCli(["--stack", "prod", "--project-dir", project, "--host", "kro:203.0.113.9", "--identity", ssh.keyFile]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--host "kro:203.0.113.9": expected <platform>=<user>@<address>[:<port>] (example: kro=root@203.0.113.20)');
  }, 120_000);
});
