// A "host" for the operation-script tests: a temp dir laid out like a KRO droplet, reached over a real SSH login.
//   <root>/opt/lazarus/scripts   a copy of scripts/ (what CopyToRemote puts at /opt/lazarus/scripts)
//   <root>/bin/docker            test/support/fake-docker (no Docker engine can run here; see that file), first on PATH
//   <root>/<projectDir>          the compose project, with a compose file naming the KRO services
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startSshd, type SshResult, type SshServer } from "./sshd";
import { loadStackConfig, platformConfig } from "../../config/load";
import { kro } from "../../stacks/kro";
import { readStackFile } from "../../config/stackFile";
import { renderCompose } from "../../renderers/compose";
import { kroInventory } from "../../stacks/kro/inventory";

export const REPO = resolve(__dirname, "../..");

export const KRO_SERVICES = ["backend", "frontend", "admin-frontend", "nginx"] as const;

/** The compose file the prod stack ships to the KRO host, rendered from the real Pulumi.prod.yaml. */
export const KRO_COMPOSE = (() => {
  const config = loadStackConfig(readStackFile(join(REPO, "Pulumi.prod.yaml"), "prod"), { allowMissingSecrets: true });
  return renderCompose({ name: "production", services: kroInventory(platformConfig(config, kro)!, "prod") });
})();

export interface DockerCall {
  cwd: string;
  args: string[];
}

export interface RunResult extends SshResult {
  /** The parsed JSON result line (the only line on stdout). */
  json: Record<string, unknown>;
}

export interface TestHost {
  root: string;
  ssh: SshServer;
  scriptsRoot: string;
  binDir: string;
  /** The compose project directory (its path has a space and a quote, to prove the quoting end to end). */
  projectDir: string;
  /** PATH for the SSH session: the fake docker first. */
  path: string;
  /** Runs a command over SSH with PATH (fake docker first) and a fast health-poll interval. */
  run(command: string, env?: Record<string, string>): Promise<RunResult>;
  /** Sets the fake docker's containers: service -> "state|health|flags". */
  setContainers(rows: Record<string, string>): void;
  /** The fake docker's containers: service -> {state, health}. */
  containers(): Record<string, { state: string; health: string }>;
  /** Every docker call since the last reset. */
  calls(): DockerCall[];
  /** docker compose calls that act or look (without the `version` and `config --services` preflight calls). */
  composeCalls(): string[];
  resetCalls(): void;
  destroy(): Promise<void>;
}

export function parseResult(stdout: string): Record<string, unknown> {
  const lines = stdout.split("\n").filter((l) => l.length > 0);
  if (lines.length !== 1) throw new Error(`expected exactly one JSON line on stdout, got ${lines.length}:\n${stdout}`);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

export async function startTestHost(projectSubdir = "root/Kro/kro devops's production"): Promise<TestHost> {
  const root = mkdtempSync(join(tmpdir(), "lazarus-host-"));
  chmodSync(root, 0o755);
  const scriptsRoot = join(root, "opt/lazarus/scripts");
  cpSync(join(REPO, "scripts"), scriptsRoot, { recursive: true });
  const binDir = join(root, "bin");
  mkdirSync(binDir);
  cpSync(join(REPO, "test/support/fake-docker"), join(binDir, "docker"));
  chmodSync(join(binDir, "docker"), 0o755);
  const projectDir = join(root, projectSubdir);
  mkdirSync(projectDir, { recursive: true });
  writeFileSync(join(projectDir, "docker-compose.yml"), KRO_COMPOSE);
  const path = `${binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
  let ssh: SshServer;
  try {
    ssh = await startSshd();
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  const stateFile = join(binDir, "state.txt");
  const callsFile = join(binDir, "calls.jsonl");
  const host: TestHost = {
    root,
    ssh,
    scriptsRoot,
    binDir,
    projectDir,
    path,
    async run(command, env = {}) {
      const r = await ssh.sshExec(command, { env: { PATH: path, LAZARUS_WAIT_INTERVAL: "0.1", ...env } });
      let json: Record<string, unknown>;
      try {
        json = parseResult(r.stdout);
      } catch (e) {
        throw new Error(`${(e as Error).message}\ncommand: ${command}\nexit ${r.code}\nstderr:\n${r.stderr}`);
      }
      return { ...r, json };
    },
    setContainers(rows) {
      writeFileSync(stateFile, Object.entries(rows).map(([s, v]) => `${s}|${v}\n`).join(""));
    },
    containers() {
      const out: Record<string, { state: string; health: string }> = {};
      if (!existsSync(stateFile)) return out;
      for (const line of readFileSync(stateFile, "utf8").split("\n")) {
        if (!line) continue;
        const [s, state, health] = line.split("|");
        out[s] = { state, health };
      }
      return out;
    },
    calls() {
      if (!existsSync(callsFile)) return [];
      return readFileSync(callsFile, "utf8")
        .split("\n")
        .filter((l) => l)
        .map((l) => JSON.parse(l) as DockerCall);
    },
    composeCalls() {
      return host
        .calls()
        .filter((c) => !(c.args[1] === "version" || c.args.slice(-2).join(" ") === "config --services"))
        .map((c) => c.args.join(" "));
    },
    resetCalls() {
      rmSync(callsFile, { force: true });
    },
    async destroy() {
      await ssh.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return host;
}
