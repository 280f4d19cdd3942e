// scripts/ops/host-preflight.sh run as HostSoftware runs it on an existing server: the command hostPreflightCommand
// builds from cloud-init's own list (hostProvisions), over a real SSH login, against real tools where they can run here:
// the real docker CLI (28.x), jq, certbot, install, bash. Two stand-ins, because no Docker engine and no Compose v2
// build can run on this machine:
//   - the engine: test/support/dockerEngineStub.ts (see that file); "daemon down" is the real CLI facing a socket with
//     nothing behind it.
//   - the Compose v2 plugin: test/support/fake-compose-plugin (see that file), found and run by the real CLI. "No compose
//     v2" is the real CLI with no plugin installed.
// Directories come from the same list with their paths moved under a temp root, so the test writes nothing outside it.
import { startDockerEngineStub } from "../../support/dockerEngineStub";
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REMOTE_SCRIPTS_ROOT } from "../../../components/hostSoftware";
import { hostPreflightCommand } from "../../../lib/hostCommands";
import { hostProvisions, type HostProvisions } from "../../../renderers/cloudInit";
import { startSshd, type SshServer } from "../../support/sshd";

const REPO = resolve(__dirname, "../../..");
const SYSTEM_PATH = ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"];

let ssh: SshServer;
let root: string;
let scriptsRoot: string;
let engine: Server;
let engineSocket: string;
let withCompose: string;
let withoutCompose: string;

/** A PATH of links to every system command but the named ones: a host where those packages are not installed. */
function pathWithout(...names: string[]): string {
  const dir = mkdtempSync(join(root, "path-"));
  for (const from of SYSTEM_PATH) {
    if (!existsSync(from)) continue;
    for (const entry of readdirSync(from)) {
      if (names.includes(entry) || existsSync(join(dir, entry))) continue;
      symlinkSync(join(from, entry), join(dir, entry));
    }
  }
  return dir;
}

interface Run {
  code: number;
  stderr: string;
  json: Record<string, unknown>;
}

async function preflight(command: string, env: Record<string, string> = {}): Promise<Run> {
  const r = await ssh.sshExec(command, {
    env: { PATH: SYSTEM_PATH.join(":"), DOCKER_HOST: `unix://${engineSocket}`, DOCKER_CONFIG: withCompose, ...env },
  });
  const lines = r.stdout.split("\n").filter(Boolean);
  expect(lines, `exactly one JSON line on stdout\n${r.stdout}\n${r.stderr}`).toHaveLength(1);
  return { code: r.code, stderr: r.stderr, json: JSON.parse(lines[0]) as Record<string, unknown> };
}

/** KRO's needs (compose project and certificates), directories moved under the test's root. */
function kroProvisions(tag: string): HostProvisions {
  const p = hostProvisions({ deployDir: "/root/Kro/kro devops's production", acmeWebroot: "/var/www/certbot" });
  return { ...p, directories: p.directories.map((d) => ({ ...d, path: join(root, tag, d.path) })) };
}

const command = (p: HostProvisions) => hostPreflightCommand(p, scriptsRoot);

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "lazarus-preflight-"));
  chmodSync(root, 0o755);
  scriptsRoot = join(root, REMOTE_SCRIPTS_ROOT);
  cpSync(join(REPO, "scripts"), scriptsRoot, { recursive: true });
  withCompose = join(root, "docker-config");
  mkdirSync(join(withCompose, "cli-plugins"), { recursive: true });
  cpSync(join(REPO, "test/support/fake-compose-plugin"), join(withCompose, "cli-plugins/docker-compose"));
  chmodSync(join(withCompose, "cli-plugins/docker-compose"), 0o755);
  withoutCompose = join(root, "docker-config-without-compose");
  mkdirSync(withoutCompose);

  engineSocket = join(root, "docker.sock");
  engine = await startDockerEngineStub(engineSocket);
  ssh = await startSshd();
});

afterAll(async () => {
  await ssh?.stop();
  await new Promise((ok) => engine?.close(ok));
  rmSync(root, { recursive: true, force: true });
});

describe("on a host with everything cloud-init would have installed", () => {
  it("passes, creates the directories with cloud-init's modes, and reports the engine and compose versions", async () => {
    const p = kroProvisions("complete");
    const r = await preflight(command(p));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      script: "host-preflight.sh",
      status: "ok",
      exit_code: 0,
      missing: [],
      unwritable: [],
      created: p.directories.map((d) => d.path),
      docker_server: "26.1.3",
      compose_version: "2.27.1+ds1-0ubuntu1~24.04.1",
    });
    for (const d of p.directories) expect((statSync(d.path).mode & 0o777).toString(8).padStart(4, "0")).toBe(d.mode);
  });

  it("passes again without creating anything, and leaves no probe file behind", async () => {
    const p = kroProvisions("complete");
    const r = await preflight(command(p));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.created).toEqual([]);
    for (const d of p.directories) expect(readdirSync(d.path)).toEqual([]);
  });

  it("accepts an upstream compose build's version line (v2.x)", async () => {
    const r = await preflight(command(kroProvisions("complete")), { FAKE_COMPOSE_VERSION: "v2.29.7" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.compose_version).toBe("2.29.7");
  });

  it("does not ask for certbot on a platform that issues no certificates", async () => {
    const p = hostProvisions({ deployDir: join(root, "no-tls", "srv") });
    expect(p.commands).toEqual(["docker", "jq"]);
    const r = await preflight(command(p), { PATH: pathWithout("certbot") });
    expect(r.code, r.stderr).toBe(0);
  });
});

describe("on a host missing something", () => {
  it("names certbot when it is not installed (exit 69)", async () => {
    const r = await preflight(command(kroProvisions("no-certbot")), { PATH: pathWithout("certbot") });
    expect(r.code).toBe(69);
    expect(r.json).toMatchObject({ status: "error", exit_code: 69, missing: ["certbot"], unwritable: [], error: "missing: certbot" });
  });

  it("names the engine when the docker daemon does not answer (the real CLI's failure)", async () => {
    const r = await preflight(command(kroProvisions("engine-down")), { DOCKER_HOST: `unix://${join(root, "no-daemon.sock")}` });
    expect(r.code).toBe(69);
    expect(r.json).toMatchObject({ missing: ["docker-engine"], docker_server: "", compose_version: "2.27.1+ds1-0ubuntu1~24.04.1" });
    expect(r.stderr).toContain("Cannot connect to the Docker daemon");
  });

  it("names compose v2 when the docker CLI has no compose plugin (the real CLI's failure)", async () => {
    const r = await preflight(command(kroProvisions("no-compose")), { DOCKER_CONFIG: withoutCompose });
    expect(r.code).toBe(69);
    expect(r.json).toMatchObject({ missing: ["docker-compose-v2"], docker_server: "26.1.3" });
    expect(r.stderr).toContain("unknown command: docker compose");
  });

  it("names docker when there is no docker CLI at all, and everything else missing in the same result", async () => {
    const file = join(root, "a-file");
    writeFileSync(file, "");
    const p = { commands: ["docker", "certbot", "jq"], directories: [{ path: join(file, "deploy"), mode: "0750" as const }] };
    const r = await preflight(command(p), { PATH: pathWithout("docker", "certbot") });
    expect(r.code).toBe(69);
    expect(r.json).toMatchObject({ missing: ["docker", "certbot"], unwritable: [join(file, "deploy")] });
    expect(r.json.error).toBe(`missing: docker certbot; cannot create or write: ${join(file, "deploy")}`);
  });

  it("names jq without jq: the one result line written by hand", async () => {
    const r = await preflight(command(kroProvisions("no-jq")), { PATH: pathWithout("jq") });
    expect(r.code).toBe(69);
    expect(r.json).toEqual({ script: "host-preflight.sh", status: "error", exit_code: 69, missing: ["jq"], error: "missing: jq" });
  });

  it("exits 73 when only a directory cannot be created", async () => {
    const file = join(root, "another-file");
    writeFileSync(file, "");
    const r = await preflight(command({ commands: ["jq"], directories: [{ path: join(file, "srv"), mode: "0750" }] }));
    expect(r.code).toBe(73);
    expect(r.json).toMatchObject({ status: "error", missing: [], unwritable: [join(file, "srv")] });
  });
});

describe("bad arguments", () => {
  const script = () => `bash '${join(scriptsRoot, "ops/host-preflight.sh")}'`;
  it.each([
    ["no check at all", "", "nothing to check"],
    ["an unknown option", "--comand docker", "unknown argument: --comand"],
    ["a command that is not a name", "--command 'jq;reboot'", "--command must be a command name"],
    ["a mode cloud-init does not use", "--dir 0777:/srv/app", "--dir must be MODE:PATH"],
    ["a relative directory", "--dir 0750:srv/app", "--dir must be MODE:PATH"],
    ["an option without its value", "--dir", "--dir needs a value"],
  ])("refuses %s (exit 64) and checks nothing", async (_what, args, message) => {
    const r = await preflight(`${script()} ${args}`);
    expect(r.code).toBe(64);
    expect(r.json).toMatchObject({ status: "error", exit_code: 64 });
    expect(String(r.json.error)).toContain(message);
    expect(r.json.missing).toBeUndefined();
  });
});

describe("the stand-in compose plugin", () => {
  it("is shellcheck-clean", () => {
    const r = spawnSync("shellcheck", ["-x", "--severity=style", "test/support/fake-compose-plugin"], { cwd: REPO, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
