// `npm run drift:hosts`: are the files Lazarus writes on hosts still what the plan says? (lib/hostDrift.ts; the part
// of drift `pulumi refresh` cannot see.) Plans the stack offline, then asks each host over SSH.
//   npm run drift:hosts -- --stack prod (--outputs outputs.json | --host kro=root@203.0.113.20 ...) \
//     --identity ~/.ssh/lazarus_ed25519 [--known-hosts FILE] [--out hosts.md]
// --outputs is `pulumi stack output --json`: every platform with host files and an `ssh` output ("ssh [-p PORT]
// user@address", stacks/host.ts) is checked; --host names one explicitly (and wins over the outputs). Exit codes: 0 every file as planned; 4 some file differs; 5 a host could not be checked (SSH failed);
// 2 bad arguments or stack file; 1 anything unexpected.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command } from "commander";
import { ConfigError } from "../config/errors";
import { loadStackConfig } from "../config/load";
import { readStackFile, stackFilePath } from "../config/stackFile";
import { checkInput, compareHostFiles, expectedFiles, HOST_FILE_CHECK, renderHostDriftMarkdown, type HostFileDrift } from "../lib/hostDrift";
import { shq } from "../lib/shell";
import { planStack } from "./planner";
import { parseCommandLine, runAsMain, type CliResult } from "./runMain";


interface Target {
  platform: string;
  user: string;
  address: string;
  port: number;
}

function parseTarget(value: string): Target {
  const m = /^([a-z][a-z0-9-]*)=([a-z_][a-z0-9_-]*)@([A-Za-z0-9.:-]+?)(?::(\d+))?$/.exec(value);
  if (!m) throw new ConfigError("--host", [`--host ${JSON.stringify(value)}: expected <platform>=<user>@<address>[:<port>] (example: kro=root@203.0.113.20)`]);
  return { platform: m[1], user: m[2], address: m[3], port: m[4] ? Number(m[4]) : 22 };
}

/** Targets from `pulumi stack output --json`: each platform's `ssh` output, "ssh [-p PORT] user@address". */
function targetsFromOutputs(file: string): Target[] {
  let outputs: Record<string, unknown>;
  try {
    outputs = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(file, [`${file}: not the JSON of \`pulumi stack output --json\` (${(e as Error).message})`]);
  }
  const targets: Target[] = [];
  for (const [platform, value] of Object.entries(outputs)) {
    const ssh = value && typeof value === "object" ? (value as Record<string, unknown>).ssh : undefined;
    if (typeof ssh !== "string") continue;
    const m = /^ssh (?:-p (\d+) )?([a-z_][a-z0-9_-]*)@(\S+)$/.exec(ssh);
    if (!m) throw new ConfigError(file, [`${file}: ${platform}.ssh ${JSON.stringify(ssh)} is not "ssh [-p PORT] user@address"`]);
    targets.push({ platform, user: m[2], address: m[3], port: m[1] ? Number(m[1]) : 22 });
  }
  return targets;
}

function sshRun(t: Target, identity: string, knownHosts: string | undefined, input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [
    "-i", identity, "-p", String(t.port), "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR",
    ...(knownHosts ? ["-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=accept-new"] : []),
    `${t.user}@${t.address}`, `bash -c ${shq(HOST_FILE_CHECK)}`,
  ];
  return new Promise((done) => {
    const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

export async function runHostDriftCli(argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const program = new Command()
    .name("npm run drift:hosts --")
    .description("Compare the files the plan writes on hosts with what is on them, over SSH.")
    .requiredOption("-s, --stack <name>", "stack to plan (reads Pulumi.<name>.yaml)")
    .option("--host <platform=user@address[:port]>", "a platform's host (repeatable)", (v: string, all: string[] = []) => [...all, v])
    .option("--outputs <file>", "the stack's outputs (`pulumi stack output --json`): hosts from each platform's `ssh` output")
    .requiredOption("--identity <file>", "SSH private key for the hosts")
    .option("--known-hosts <file>", "known_hosts file to use (new host keys are added to it)")
    .option("--out <file>", "also write the Markdown here")
    .option("--project-dir <dir>", "directory holding the stack files", process.cwd());
  const exit = parseCommandLine(program, argv, { out: (s) => (stdout += s), err: (s) => (stderr += s) });
  if (exit !== undefined) return { code: exit, stdout, stderr };
  const opts = program.opts<{ stack: string; host?: string[]; outputs?: string; identity: string; knownHosts?: string; out?: string; projectDir: string }>();
  try {
    const explicit = (opts.host ?? []).map(parseTarget);
    const fromOutputs = opts.outputs ? targetsFromOutputs(opts.outputs).filter((t) => !explicit.some((e) => e.platform === t.platform)) : [];
    const targets = [...explicit, ...fromOutputs];
    if (!targets.length) throw new ConfigError("--host", ["no host to check: give --outputs (pulumi stack output --json) or --host <platform>=<user>@<address>[:<port>]"]);
    const raw = readStackFile(stackFilePath(resolve(opts.projectDir), opts.stack), opts.stack);
    loadStackConfig(raw, { allowMissingSecrets: true });
    const plan = await planStack(raw);
    const results = [];
    for (const t of targets) {
      const files = plan.files.filter((f) => f.platform === t.platform);
      if (!files.length) {
        const known = [...new Set(plan.files.map((f) => f.platform))].join(", ");
        throw new ConfigError("--host", [`--host ${t.platform}=...: stack ${opts.stack} renders no host files for platform ${JSON.stringify(t.platform)}; platforms with host files: ${known}`]);
      }
      const expected = expectedFiles(files);
      const target = `${t.user}@${t.address}:${t.port}`;
      const notCompared = expected.filter((f) => !f.sha256).length;
      const r = await sshRun(t, opts.identity, opts.knownHosts, checkInput(expected));
      if (r.code !== 0) {
        results.push({ platform: t.platform, target, checked: 0, notCompared, error: `ssh ${target} failed (exit ${r.code}): ${r.stderr.trim().split("\n")[0] ?? ""}` });
        continue;
      }
      let drift: HostFileDrift[];
      try {
        drift = compareHostFiles(expected, r.stdout);
      } catch (e) {
        results.push({ platform: t.platform, target, checked: 0, notCompared, error: (e as Error).message });
        continue;
      }
      results.push({ platform: t.platform, target, checked: expected.length, drift, notCompared });
    }
    const markdown = renderHostDriftMarkdown(results);
    stdout += markdown;
    if (opts.out) writeFileSync(opts.out, markdown);
    const differ = results.reduce((n, r) => n + (r.drift?.length ?? 0), 0);
    const failed = results.filter((r) => r.error).map((r) => r.platform);
    stderr += `drift:hosts: ${differ} difference(s); hosts not checked: ${failed.length ? failed.join(", ") : "none"}\n`;
    return { code: differ ? 4 : failed.length ? 5 : 0, stdout, stderr };
  } catch (e) {
    if (e instanceof ConfigError) return { code: 2, stdout, stderr: stderr + e.message + "\n" };
    throw e;
  }
}

if (require.main === module) runAsMain("drift:hosts", runHostDriftCli);
