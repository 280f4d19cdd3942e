// Runs a platform's planned host steps for an existing server over a REAL SSH login on loopback, as the command
// provider would: each command:remote:Command's `create` text as the remote command with its `stdin` (a file's content)
// on the session's stdin, each CopyToRemote as the provider copies a directory, in an order the plan's dependencies
// allow. Used by test/stacks/existing-hosts-over-ssh.test.ts (KRO) and test/stacks/goodgo/existing-host-over-ssh.test.ts.
//
// The machine: a test sshd (test/support/sshd.ts) started under `unshare --mount --propagation private`, so it and every
// SSH session live in a private mount namespace where each host path the steps write outside the deploy dir (the
// `sandboxed` list: /opt/lazarus, /etc/ssl/lazarus, ...) is a temp dir bound over the path when it exists, or an overlay
// (upper dir in the temp dir) on the parent of one that does not. The real machine is not written; `seen(path)` says
// where the test sees a namespace path. Requires root (mount namespaces, and chown in the steps).
//
// What is real: sshd, the login, bash, the scripts as the plan ships them, install/openssl/jq/certbot, the real docker
// CLI. Stand-ins, because no Docker engine or Compose v2 can run here:
//   - the engine: a Unix socket answering `docker version` as Docker Engine 26.1.3 (as in host-preflight-over-ssh);
//   - the compose plugin: a CLI plugin (metadata answered here) that hands `docker compose ...` to test/support/fake-docker,
//     which validates the real compose file with docker-compose v1, keeps container state in a file and logs calls
//     (`dockerCalls()`). With `composeExec` set, `docker compose ... exec ...` goes to that program instead (e.g.
//     test/support/fake-docker-exec, which runs the command here as the container would), with `composeRun` set,
//     `docker compose ... run ...` to that one (test/support/fake-compose-run.ts), every other call to fake-docker.
// The session environment (`env`: PATH, DOCKER_HOST, DOCKER_CONFIG, a fast health-poll interval, plus `extraEnv`) is
// set by sshd in every session (SetEnv) and exported again before each command run(), standing for the host's own
// environment; the command text itself is the plan's.
// The login uses the test sshd's own key, not the plan's (a sentinel): the key is the one input not exercised.
import { startDockerEngineStub } from "./dockerEngineStub";
import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Plan } from "../../cli/planner";
import type { DeclaredResource } from "../../lib/runtime/capture";
import { startSshd, type SshResult, type SshServer } from "./sshd";
import { T } from "./stacks";

const REPO = resolve(__dirname, "../..");
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface DockerCall {
  cwd: string;
  args: string[];
}

export interface PlanHostOptions {
  /** Absolute host paths outside the deploy dir that the steps write to, kept inside the private mount namespace. */
  sandboxed: string[];
  /** Variables added to every session's environment. */
  extraEnv?: Record<string, string>;
  /** A program that takes `docker compose ... exec ...` (the compose plugin's arguments, from `compose` on). */
  composeExec?: string;
  /** A program that takes `docker compose ... run ...` (e.g. test/support/fake-compose-run.ts), the same way. */
  composeRun?: string;
}

export interface PlanHost {
  /** The test's temp dir (removed by stop()); a deploy dir under it is shared with the test as is. */
  root: string;
  ssh: SshServer;
  /** fake-docker's home: state.txt, calls.jsonl. */
  dockerHome: string;
  /** What each session exports before the command. */
  env: Record<string, string>;
  /** Where the test sees a path of the namespace. */
  seen(path: string): string;
  /** One command as the provider runs it: the text over the SSH login, `input` on its stdin. */
  run(command: string, input?: string): Promise<SshResult>;
  /** A CopyToRemote step, as pulumi-command's sftpCopy does it. */
  copyToRemote(step: DeclaredResource): Promise<SshResult>;
  /** Every `docker compose` call fake-docker saw (args after `docker`). */
  dockerCalls(): DockerCall[];
  /** fake-docker's containers: service -> {state, health}. */
  containers(): Record<string, { state: string; health: string }>;
  stop(): Promise<void>;
}

/** sshd wrapped so it (and every session) runs in a private mount namespace with the sandboxed paths mounted. */
function namespaceSshd(root: string, sandboxed: string[], mounts: { path: string; seenAt: string }[]): string {
  const lines = ["#!/bin/sh", "set -eu"];
  const overlaid = new Set<string>();
  for (const p of sandboxed) {
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

/** The compose CLI plugin: metadata for the docker CLI, then `compose ARGS...` to fake-docker (or `exec` elsewhere). */
function composePlugin(fakeDocker: string, composeExec: string | undefined, composeRun: string | undefined): string {
  const lines = [
    "#!/usr/bin/env bash",
    "# The real docker CLI asks a plugin for its metadata, then runs it as `docker-compose compose ARGS...`.",
    'if [[ "${1-}" == docker-cli-plugin-metadata ]]; then',
    `  echo '{"SchemaVersion":"0.1.0","Vendor":"Docker Inc.","Version":"v2.29.7","ShortDescription":"Docker Compose"}'`,
    "  exit 0",
    "fi",
  ];
  if (composeExec || composeRun) {
    lines.push(
      "# The subcommand is the first word after the global options (-p/-f/--project-name/--file/--project-directory VALUE).",
      'args=("${@:2}")',
      "i=0",
      'while ((i < ${#args[@]})); do',
      '  case ${args[i]} in -p | -f | --project-name | --file | --project-directory) i=$((i + 2)) ;; *) break ;; esac',
      "done",
      ...(composeExec ? [`if [[ "\${args[i]-}" == exec ]]; then exec ${q(composeExec)} "$@"; fi`] : []),
      ...(composeRun ? [`if [[ "\${args[i]-}" == run ]]; then exec ${q(composeRun)} "$@"; fi`] : []),
    );
  }
  lines.push(`exec ${q(fakeDocker)} "$@"`, "");
  return lines.join("\n");
}

export async function startPlanHost(options: PlanHostOptions): Promise<PlanHost> {
  if (process.getuid?.() !== 0) throw new Error("this test mounts in a private namespace (unshare --mount): run it as root");
  const root = mkdtempSync(join(tmpdir(), "lazarus-existing-"));
  chmodSync(root, 0o755);
  const mounts: { path: string; seenAt: string }[] = [];
  let engine: Server | undefined;
  let ssh: SshServer | undefined;
  try {
    const dockerHome = join(root, "docker-home");
    mkdirSync(dockerHome);
    cpSync(join(REPO, "test/support/fake-docker"), join(dockerHome, "fake-docker"));
    chmodSync(join(dockerHome, "fake-docker"), 0o755);
    mkdirSync(join(root, "docker-config", "cli-plugins"), { recursive: true });
    writeFileSync(join(root, "docker-config", "cli-plugins", "docker-compose"), composePlugin(join(dockerHome, "fake-docker"), options.composeExec, options.composeRun), { mode: 0o755 });
    engine = await startDockerEngineStub(join(root, "docker.sock"));
    const env = {
      PATH: SYSTEM_PATH,
      DOCKER_HOST: `unix://${join(root, "docker.sock")}`,
      DOCKER_CONFIG: join(root, "docker-config"),
      LAZARUS_WAIT_INTERVAL: "0.1",
      ...options.extraEnv,
    };
    // sshd sets the same environment in every session, so a client that sends only the command text (the real
    // command provider, test/engine/) sees the host as run() does.
    ssh = await startSshd({ sshdBin: namespaceSshd(root, options.sandboxed, mounts), setEnv: env });
    const server = ssh;
    const started = engine;

    const run = (command: string, input?: string): Promise<SshResult> => {
      // (Like sshExec in test/support/sshd.ts, but never rejects: a timeout is a killed session, reported as its result.)
      const exports = Object.entries(env).map(([k, v]) => `export ${k}=${q(v)}; `).join("");
      return new Promise((ok, fail) => {
        const child = spawn("ssh", [...server.sshArgs, exports + command], { stdio: ["pipe", "pipe", "pipe"] });
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
    };

    /** Pipes a local command's stdout into a remote command over the SSH login (binary-safe). */
    const pipeOverSsh = (local: string, remote: string): Promise<SshResult> =>
      new Promise((ok, fail) => {
        const child = spawn("sh", ["-c", `${local} | ssh ${server.sshArgs.map(q).join(" ")} ${q(remote)}`], { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", fail);
        child.on("close", (code) => ok({ code: code ?? -1, stdout, stderr }));
      });

    const host: PlanHost = {
      root,
      ssh: server,
      dockerHome,
      env,
      seen(p) {
        const m = mounts.filter((x) => p === x.path || p.startsWith(`${x.path}/`)).sort((a, b) => b.path.length - a.path.length)[0];
        return m ? join(m.seenAt, p.slice(m.path.length)) : p;
      },
      run,
      /**
       * CopyToRemote is not a command: what the provider (pulumi-command 1.2.1, sftpCopy) does with a directory archive
       * is emulated with its own rule: a source path ending in "/" copies the directory's contents into remotePath;
       * without it the directory itself lands in remotePath/<basename>. The bytes go over the SSH login (tar).
       */
      copyToRemote(step) {
        const source = (step.rawInputs.source as { archive?: { path?: string } }).archive?.path;
        if (!source) throw new Error(`${step.name}: only a path archive is emulated, got ${JSON.stringify(step.rawInputs.source)}`);
        const remotePath = String(step.rawInputs.remotePath);
        const dest = source.endsWith("/") ? remotePath : join(remotePath, basename(source));
        return pipeOverSsh(`tar -C ${q(source)} -cf - .`, `mkdir -p ${q(dest)} && tar --no-same-owner -C ${q(dest)} -xf -`);
      },
      dockerCalls() {
        const file = join(dockerHome, "calls.jsonl");
        if (!existsSync(file)) return [];
        return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as DockerCall);
      },
      containers() {
        const file = join(dockerHome, "state.txt");
        const out: Record<string, { state: string; health: string }> = {};
        if (!existsSync(file)) return out;
        for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
          const [s, state, health] = line.split("|");
          out[s] = { state, health };
        }
        return out;
      },
      async stop() {
        await server.stop();
        await new Promise((ok) => started.close(ok));
        rmSync(root, { recursive: true, force: true });
      },
    };
    return host;
  } catch (e) {
    await ssh?.stop();
    await new Promise((ok) => (engine ? engine.close(ok) : ok(undefined)));
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
}

/** Steps in an order their dependencies allow (declaration order among equals). */
export function topological(steps: DeclaredResource[]): DeclaredResource[] {
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

/** A platform's host steps (commands and copies named `<prefix>-...`), ordered by their dependencies. */
export function hostSteps(plan: Plan, prefix: string): DeclaredResource[] {
  return topological(plan.resources.filter((r) => (r.type === T.command || r.type === T.copy) && r.name.startsWith(`${prefix}-`)));
}

export interface StepRun {
  name: string;
  kind: "copy" | "command" | "skipped";
  result?: SshResult;
  /** Wall time of the step, in milliseconds. */
  ms: number;
}

export interface RunStepsOptions {
  /** Steps not run, by name, with why (each must be among the steps: a renamed step is not skipped silently). */
  skipped?: Record<string, string>;
  /** Run in a skipped step's place (e.g. leave what it would have made), by name. */
  standIns?: Record<string, (host: PlanHost) => void | Promise<void>>;
  /** Steps expected to fail, with their exit code: the run goes on after them. */
  expectedFailure?: Record<string, number>;
}

/**
 * Runs the steps in order, each as the provider would. Like `pulumi up`, a step that fails (an exit code other than the
 * expected one) stops everything after it; the runs so far are returned.
 */
export async function runHostSteps(host: PlanHost, steps: DeclaredResource[], options: RunStepsOptions = {}): Promise<StepRun[]> {
  const skipped = options.skipped ?? {};
  const unknown = Object.keys({ ...skipped, ...options.expectedFailure }).filter((n) => !steps.some((s) => s.name === n));
  if (unknown.length) throw new Error(`skipped or expected to fail, but not planned: ${unknown.join(", ")}`);
  const runs: StepRun[] = [];
  for (const step of steps) {
    const t0 = Date.now();
    if (skipped[step.name] !== undefined) {
      await options.standIns?.[step.name]?.(host);
      runs.push({ name: step.name, kind: "skipped", ms: Date.now() - t0 });
      continue;
    }
    if (step.type === T.copy) {
      const result = await host.copyToRemote(step);
      runs.push({ name: step.name, kind: "copy", result, ms: Date.now() - t0 });
    } else {
      const stdin = step.rawInputs.stdin;
      const result = await host.run(String(step.rawInputs.create), stdin === undefined ? undefined : String(stdin));
      runs.push({ name: step.name, kind: "command", result, ms: Date.now() - t0 });
    }
    const r = runs[runs.length - 1].result!;
    if (r.code !== (options.expectedFailure?.[step.name] ?? 0)) break;
  }
  return runs;
}

/** The runs that failed otherwise than expected, each with its output (for a readable assertion). */
export function unexpectedFailures(runs: StepRun[], expectedFailure: Record<string, number> = {}): string[] {
  return runs
    .filter((r) => r.result && r.result.code !== (expectedFailure[r.name] ?? 0))
    .map((r) => `${r.name}: exit ${r.result!.code}\n${r.result!.stdout}\n${r.result!.stderr}`);
}

/** The shipped scripts folder (as the host sees it) holds exactly the repository's scripts, contents and modes intact. */
export function shippedScriptsProblems(scriptsOnHost: string): string[] {
  const repo = join(REPO, "scripts");
  const problems: string[] = [];
  const names = (d: string) => readdirSync(d).sort().join(",");
  if (names(scriptsOnHost) !== names(repo)) problems.push(`top level: ${names(scriptsOnHost)} instead of ${names(repo)}`);
  for (const rel of ["ops/compose-up.sh", "ops/compose-service.sh", "ops/host-preflight.sh"]) {
    if (readFileSync(join(scriptsOnHost, rel), "utf8") !== readFileSync(join(repo, rel), "utf8")) problems.push(`${rel}: content differs`);
  }
  if ((statSync(join(scriptsOnHost, "ops/host-preflight.sh")).mode & 0o777) !== 0o755) problems.push("ops/host-preflight.sh: not 0755");
  return problems;
}

/** The preflight's one JSON result line (fails if it printed anything else on stdout). */
export function preflightResult(result: SshResult): Record<string, unknown> {
  const lines = result.stdout.split("\n").filter(Boolean);
  if (lines.length !== 1) throw new Error(`preflight printed ${lines.length} lines on stdout, not one JSON line; stderr:\n${result.stderr}`);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}
