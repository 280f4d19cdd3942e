// The file and TLS steps components run on hosts (lib/hostCommands.ts), run as command resources run them: the exact
// command string over a real SSH login, file contents over the session's stdin.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tlsActivateCommand, tlsBootstrapCommand, writeFileCommand } from "../../../lib/hostCommands";
import { startSshd, type SshServer } from "../../support/sshd";

let ssh: SshServer;
let root: string;
beforeAll(async () => {
  ssh = await startSshd();
  root = mkdtempSync(join(tmpdir(), "lazarus-host-"));
});
afterAll(async () => {
  await ssh?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("writing a file from stdin", () => {
  it("creates the directory and the file with the requested mode, content byte for byte", async () => {
    const path = join(root, "deploy dir", "it's", "production.json");
    const content = '{"jwtSecret": "s3cr3t $(rm -rf /) `x` \\n"}\n';
    const r = await ssh.sshExec(writeFileCommand(path, "0600", "root:root"), { input: content });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path, "utf8")).toBe(content);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(existsSync(`${path}.lazarus-tmp`)).toBe(false);
  });

  it("creates missing directories 0755, so a container's non-root user can traverse them; a secret keeps its own 0600", async () => {
    const path = join(root, "monitoring", "alertmanager", "secrets", "slack_webhook_url");
    const r = await ssh.sshExec(writeFileCommand(path, "0600"), { input: "https://hooks.example/x\n" });
    expect(r.code, r.stderr).toBe(0);
    for (const dir of ["monitoring", "monitoring/alertmanager", "monitoring/alertmanager/secrets"]) {
      expect(statSync(join(root, dir)).mode & 0o777, dir).toBe(0o755);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("keeps the secret out of the command text", () => {
    expect(writeFileCommand("/root/production.json", "0600")).not.toContain("s3cr3t");
  });

  it("replaces an existing file atomically and changes its mode", async () => {
    const path = join(root, "nginx.conf");
    await ssh.sshExec(writeFileCommand(path, "0600"), { input: "old\n" });
    const r = await ssh.sshExec(writeFileCommand(path, "0644"), { input: "new\n" });
    expect(r.code).toBe(0);
    expect(readFileSync(path, "utf8")).toBe("new\n");
    expect(statSync(path).mode & 0o777).toBe(0o644);
  });
});

describe("TLS link: placeholder first, certbot's certificate once issued", () => {
  const paths = () => ({ tlsDir: join(root, "tls"), certName: "kro-test", letsencryptDir: join(root, "letsencrypt") });

  it("creates a placeholder certificate nginx can load and links it", async () => {
    const p = paths();
    const r = await ssh.sshExec(tlsBootstrapCommand(p, "kro.test"));
    expect(r.code, r.stderr).toBe(0);
    const link = join(p.tlsDir, p.certName);
    expect(readlinkSync(link)).toBe(`${link}-bootstrap`);
    expect(readFileSync(join(link, "fullchain.pem"), "utf8")).toContain("BEGIN CERTIFICATE");
    expect(statSync(join(link, "privkey.pem")).mode & 0o777).toBe(0o600);
  });

  it("leaves an existing link alone on a re-run", async () => {
    const p = paths();
    const before = readFileSync(join(p.tlsDir, p.certName, "fullchain.pem"), "utf8");
    const r = await ssh.sshExec(tlsBootstrapCommand(p, "kro.test"));
    expect(r.stdout).toContain("certificate link present");
    expect(readFileSync(join(p.tlsDir, p.certName, "fullchain.pem"), "utf8")).toBe(before);
  });

  it("refuses to activate before certbot has issued, and changes nothing", async () => {
    const p = paths();
    const marker = join(root, "restarted");
    const r = await ssh.sshExec(tlsActivateCommand(p, `touch '${marker}'`));
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("was it issued?");
    expect(readlinkSync(join(p.tlsDir, p.certName))).toMatch(/-bootstrap$/);
    expect(existsSync(marker)).toBe(false);
  });

  it("points the link at certbot's live directory and restarts nginx once", async () => {
    const p = paths();
    const live = join(p.letsencryptDir, "live", p.certName);
    const marker = join(root, "restarted");
    await ssh.sshExec(`mkdir -p '${live}' && echo issued > '${live}/fullchain.pem' && echo key > '${live}/privkey.pem'`);
    const first = await ssh.sshExec(tlsActivateCommand(p, `echo x >> '${marker}'`));
    expect(first.code, first.stderr).toBe(0);
    expect(readlinkSync(join(p.tlsDir, p.certName))).toBe(live);
    expect(readFileSync(join(p.tlsDir, p.certName, "fullchain.pem"), "utf8")).toBe("issued\n");
    const second = await ssh.sshExec(tlsActivateCommand(p, `echo x >> '${marker}'`));
    expect(second.stdout).toContain("already active");
    expect(readFileSync(marker, "utf8")).toBe("x\n");
  });
});

describe("the generated command lines", () => {
  it("are shellcheck-clean", async () => {
    const { spawnSync } = await import("node:child_process");
    const { waitForCloudInitCommand } = await import("../../../lib/hostCommands");
    const p = { tlsDir: "/etc/ssl/lazarus", certName: "kro-prod" };
    for (const cmd of [
      writeFileCommand("/root/Kro/kro-devops/production/production.json", "0600"),
      waitForCloudInitCommand(),
      tlsBootstrapCommand(p, "kro.example.org"),
      tlsActivateCommand(p, "docker compose restart nginx"),
    ]) {
      const r = spawnSync("shellcheck", ["-s", "sh", "-"], { input: cmd, encoding: "utf8" });
      expect(r.status, `${cmd}\n${r.stdout}`).toBe(0);
    }
  });
});
