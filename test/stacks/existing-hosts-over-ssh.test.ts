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
// What is real: sshd, the login, bash, the scripts as the plan ships them, install/openssl/jq/certbot (the preflight
// only checks it is on PATH), the real docker CLI. Stand-ins, because no Docker engine or Compose v2 can run here:
//   - the engine: a Unix socket answering `docker version` as Docker Engine 26.1.3 (as in host-preflight-over-ssh);
//   - the compose plugin: a CLI plugin (metadata answered here) that hands `docker compose ...` to test/support/fake-docker,
//     which validates the real compose file with docker-compose v1, keeps container state in a file and logs calls.
// The session environment (PATH, DOCKER_HOST, DOCKER_CONFIG) is exported before each command, standing for the host's
// own environment; the command text itself is the plan's, unchanged.
//
// Steps that cannot run here (asserted to be exactly these, so a new step is not skipped silently):
//   - kro-prod-certificate: certbot against a real ACME server for kro.example.org; issuance is tested against pebble
//     in test/scripts/ops/certificates-against-pebble.test.ts.
//   - kro-prod-tls-activate: needs the issued certificate; run anyway and expected to refuse (exit 66) and leave the
//     placeholder linked.
//   - The DigitalOcean database is not a host step: the files carry the mock runtime's placeholders for its host,
//     password and CA certificate.
// The login uses the test sshd's own key, not the plan's (a sentinel): the key is the one input not exercised.
import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../cli/planner";
import type { DeclaredResource } from "../../lib/runtime/capture";
import type { SshResult, SshServer } from "../support/sshd";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, planFor } from "../support/stacks";

const REPO = resolve(__dirname, "../..");
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
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

let root: string;
let ssh: SshServer;
let engine: Server;
let plan: Plan;
let deployDir: string;
let dockerHome: string;
let hooksBefore: boolean;
/** Namespace path -> where the test sees it. */
const mounts: { path: string; seenAt: string }[] = [];
const seen = (p: string): string => {
  const m = mounts.filter((x) => p === x.path || p.startsWith(`${x.path}/`)).sort((a, b) => b.path.length - a.path.length)[0];
  return m ? join(m.seenAt, p.slice(m.path.length)) : p;
};
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface StepRun {
  name: string;
  kind: "copy" | "command" | "skipped";
  result?: SshResult;
}
const runs: StepRun[] = [];
const ran = (name: string) => runs.find((r) => r.name === name)!;

/** The platform's host steps in an order its dependencies allow (declaration order among equals). */
function topological(steps: DeclaredResource[]): DeclaredResource[] {
  const urns = new Set(steps.map((s) => s.urn));
  const done = new Set<string>();
  const out: DeclaredResource[] = [];
  while (out.length < steps.length) {
    const next = steps.find((s) => !done.has(s.urn) && s.dependencies.every((d) => !urns.has(d) || done.has(d)));
    if (!next) throw new Error(`dependency cycle among ${steps.filter((s) => !done.has(s.urn)).map((s) => s.name).join(", ")}`);
    done.add(next.urn);
    out.push(next);
  }
  return out;
}

/**
 * One step as the provider runs it: the command text over the SSH login, the content (if any) on its stdin, the
 * session's environment exported first. (Like sshExec in test/support/sshd.ts, but a command that exits without
 * reading stdin is not an EPIPE thrown at the test runner.)
 */
function runStep(command: string, env: Record<string, string>, input?: string): Promise<SshResult> {
  const exports = Object.entries(env).map(([k, v]) => `export ${k}=${q(v)}; `).join("");
  return new Promise((ok, fail) => {
    const child = spawn("ssh", [...ssh.sshArgs, exports + command], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.on("error", (e) => (stderr += `\n[test: stdin not fully read: ${e.message}]`));
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      ok({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input ?? "");
  });
}

/** Pipes a local command's stdout into a remote command over the SSH login (binary-safe). */
function pipeOverSsh(local: string, remote: string): Promise<SshResult> {
  return new Promise((ok, fail) => {
    const child = spawn("sh", ["-c", `${local} | ssh ${ssh.sshArgs.map(q).join(" ")} ${q(remote)}`], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => ok({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * CopyToRemote is not a command: what the provider (pulumi-command 1.2.1, sftpCopy) does with a directory archive is
 * emulated with its own rule: a source path ending in "/" copies the directory's contents into remotePath; without it
 * the directory itself lands in remotePath/<basename>. The bytes go over the SSH login (tar) into the namespace.
 */
function copyToRemote(step: DeclaredResource): Promise<SshResult> {
  const source = (step.rawInputs.source as { archive?: { path?: string } }).archive?.path;
  if (!source) throw new Error(`${step.name}: only a path archive is emulated, got ${JSON.stringify(step.rawInputs.source)}`);
  const remotePath = String(step.rawInputs.remotePath);
  const dest = source.endsWith("/") ? remotePath : join(remotePath, basename(source));
  return pipeOverSsh(`tar -C ${q(source)} -cf - .`, `mkdir -p ${q(dest)} && tar --no-same-owner -C ${q(dest)} -xf -`);
}

async function startEngine(socket: string): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader("Api-Version", "1.45");
    res.setHeader("Ostype", "linux");
    res.setHeader("Server", "Docker/26.1.3 (linux)");
    if (req.url === "/_ping") {
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      res.end(req.method === "HEAD" ? undefined : "OK");
    } else if (req.method === "GET" && /^\/v1\.\d+\/version$/.test(req.url ?? "")) {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ Version: "26.1.3", ApiVersion: "1.45", MinAPIVersion: "1.24", Os: "linux", Arch: "amd64" }));
    } else {
      res.statusCode = 404;
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ message: "page not found" }));
    }
  });
  await new Promise<void>((ok) => server.listen(socket, ok));
  return server;
}

/** sshd wrapped so it (and every session) runs in a private mount namespace with the sandboxed paths mounted. */
function namespaceSshd(): string {
  const lines = ["#!/bin/sh", "set -eu"];
  const overlaid = new Set<string>();
  for (const p of SANDBOXED) {
    if (existsSync(p)) {
      const dir = join(root, "ns", p.replace(/\//g, "_"));
      mkdirSync(dir, { recursive: true });
      lines.push(`mount --bind ${q(dir)} ${q(p)}`);
      mounts.push({ path: p, seenAt: dir });
    } else {
      const anchor = dirname(p);
      if (!existsSync(anchor) || anchor === "/") throw new Error(`no directory to overlay for ${p}`);
      if (overlaid.has(anchor)) continue;
      overlaid.add(anchor);
      const dir = join(root, "ns", anchor.replace(/\//g, "_"));
      mkdirSync(join(dir, "upper"), { recursive: true });
      mkdirSync(join(dir, "work"), { recursive: true });
      lines.push(`mount -t overlay lazarus-test -o ${q(`lowerdir=${anchor},upperdir=${dir}/upper,workdir=${dir}/work`)} ${q(anchor)}`);
      mounts.push({ path: anchor, seenAt: join(dir, "upper") });
    }
  }
  lines.push('exec /usr/sbin/sshd "$@"', "");
  const inner = join(root, "sshd-in-namespace");
  writeFileSync(inner, lines.join("\n"), { mode: 0o755 });
  const outer = join(root, "sshd");
  writeFileSync(outer, `#!/bin/sh\nexec unshare --mount --propagation private ${q(inner)} "$@"\n`, { mode: 0o755 });
  return outer;
}

beforeAll(async () => {
  hooksBefore = existsSync("/etc/letsencrypt/renewal-hooks/deploy");
  if (process.getuid?.() !== 0) throw new Error("this test mounts in a private namespace (unshare --mount): run it as root");
  root = mkdtempSync(join(tmpdir(), "lazarus-existing-"));
  chmodSync(root, 0o755);
  // (cloud-init's renderer, which plans the droplet variant too, refuses a path with a space.)
  deployDir = join(root, "srv", "kro-production");

  dockerHome = join(root, "docker-home");
  mkdirSync(dockerHome);
  cpSync(join(REPO, "test/support/fake-docker"), join(dockerHome, "fake-docker"));
  chmodSync(join(dockerHome, "fake-docker"), 0o755);
  mkdirSync(join(root, "docker-config", "cli-plugins"), { recursive: true });
  writeFileSync(
    join(root, "docker-config", "cli-plugins", "docker-compose"),
    [
      "#!/usr/bin/env bash",
      "# The real docker CLI asks a plugin for its metadata, then runs it as `docker-compose compose ARGS...`.",
      'if [[ "${1-}" == docker-cli-plugin-metadata ]]; then',
      `  echo '{"SchemaVersion":"0.1.0","Vendor":"Docker Inc.","Version":"v2.29.7","ShortDescription":"Docker Compose"}'`,
      "  exit 0",
      "fi",
      `exec ${q(join(dockerHome, "fake-docker"))} "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  engine = await startEngine(join(root, "docker.sock"));

  process.env.SSHD_BIN = namespaceSshd();
  const { startSshd } = await import("../support/sshd");
  ssh = await startSshd();

  plan = await planFor("prod", {
    secrets: ALL_SENTINEL_SECRETS,
    patch: (c) => {
      c["lazarus:kro"].host = { existing: { address: ssh.host, user: ssh.user, port: ssh.port } };
      c["lazarus:kro"].app.deployDir = deployDir;
    },
  });

  const env = { PATH: SYSTEM_PATH, DOCKER_HOST: `unix://${join(root, "docker.sock")}`, DOCKER_CONFIG: join(root, "docker-config"), LAZARUS_WAIT_INTERVAL: "0.1" };
  const steps = topological(plan.resources.filter((r) => (r.type === T.command || r.type === T.copy) && r.name.startsWith(`${PREFIX}-`)));
  for (const step of steps) {
    if (SKIPPED[step.name]) {
      runs.push({ name: step.name, kind: "skipped" });
    } else if (step.type === T.copy) {
      runs.push({ name: step.name, kind: "copy", result: await copyToRemote(step) });
    } else {
      const stdin = step.rawInputs.stdin;
      const result = await runStep(String(step.rawInputs.create), env, stdin === undefined ? undefined : String(stdin));
      runs.push({ name: step.name, kind: "command", result });
    }
    const r = runs[runs.length - 1].result;
    const want = EXPECTED_FAILURE[step.name] ?? 0;
    // Like `pulumi up`: a failed step stops everything after it.
    if (r && r.code !== want) break;
  }
}, 300_000);

afterAll(async () => {
  await ssh?.stop();
  await new Promise((ok) => (engine ? engine.close(ok) : ok(undefined)));
  if (root) rmSync(root, { recursive: true, force: true });
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
    const failed = runs.filter((r) => r.result && r.result.code !== (EXPECTED_FAILURE[r.name] ?? 0));
    expect(failed.map((r) => `${r.name}: exit ${r.result!.code}\n${r.result!.stdout}\n${r.result!.stderr}`)).toEqual([]);
    expect(runs.filter((r) => r.kind === "skipped").map((r) => r.name)).toEqual(Object.keys(SKIPPED));
  });

  it("ships the scripts where the commands call them", () => {
    const scripts = seen("/opt/lazarus/scripts");
    expect(readdirSync(scripts).sort()).toEqual(readdirSync(join(REPO, "scripts")).sort());
    expect(readFileSync(join(scripts, "ops/compose-up.sh"), "utf8")).toBe(readFileSync(join(REPO, "scripts/ops/compose-up.sh"), "utf8"));
    expect(statSync(join(scripts, "ops/host-preflight.sh")).mode & 0o777).toBe(0o755);
  });

  it("passes the preflight: one JSON line, nothing missing, the directories cloud-init would make created", () => {
    const r = ran(`${PREFIX}-software-preflight`).result!;
    const lines = r.stdout.split("\n").filter(Boolean);
    expect(lines, r.stderr).toHaveLength(1);
    const json = JSON.parse(lines[0]) as Record<string, unknown>;
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
    const calls = readFileSync(join(dockerHome, "calls.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { cwd: string; args: string[] });
    const ups = calls.filter((c) => c.args[1] === "up");
    expect(ups).toEqual([{ cwd: deployDir, args: ["compose", "up", "-d", "--wait", "--wait-timeout", "300", "--remove-orphans"] }]);
  });

  it("wrote nothing outside the namespace at the host paths", () => {
    for (const p of ["/opt/lazarus", "/etc/ssl/lazarus", "/var/www/certbot"]) expect(existsSync(p), p).toBe(false);
    expect(existsSync("/etc/letsencrypt/renewal-hooks/deploy")).toBe(hooksBefore);
    expect(statSync(seen("/etc/letsencrypt/renewal-hooks/deploy")).isDirectory()).toBe(true);
  });
});
