// Benchmark: `pulumi preview` of the engine test stack (the real program, GoodGo on an existing server; see
// test/engine/goodgoStack.ts) against the offline plan of the same stack file (`npm run plan -- --json`), each a whole
// process timed by /usr/bin/time, interleaved A B A B ... after one warm-up each, in one run; ratios pair by pair.
// Needs the engine and the command provider plugin (test/engine/engineGate.ts says which it found). Not a test.
//   npx tsx bench/engine-preview.ts            (BENCH_RUNS=5 by default)
// Peak memory is the largest single process of each command (/usr/bin/time's maximum RSS over the command and its
// reaped children): for the preview that is the largest of the CLI, the Node.js language host and the provider.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { engineGate } from "../test/engine/engineGate";
import { ENGINE_STACK, goodgoOnHostConfig, goodgoSecrets, openGoodgoStack } from "../test/engine/goodgoStack";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const REPO = resolve(__dirname, "..");

interface Run {
  wallS: number;
  peakMb: number;
  resources: number;
}

function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, countResources: (stdout: string) => number): Run {
  const dir = mkdtempSync(join(tmpdir(), "lazarus-bench-"));
  const out = join(dir, "time");
  try {
    const r = spawnSync("/usr/bin/time", ["-f", "%e %M", "-o", out, cmd, ...args], { cwd, env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stderr.slice(-3000)}`);
    const [wall, kb] = readFileSync(out, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
    return { wallS: wall, peakMb: kb / 1024, resources: countResources(r.stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const gate = engineGate({ command: true });
  if (!gate.run) throw new Error(`cannot run: ${gate.reason}`);
  const secrets = goodgoSecrets("-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key: a preview never logs in\n-----END OPENSSH PRIVATE KEY-----\n");
  const goodgo = await openGoodgoStack(goodgoOnHostConfig({ host: "192.0.2.10", user: "root", port: 22 }, "/srv/goodgo"), secrets);
  try {
    const cli = goodgo.stack.cliEnvironment();
    const preview = () =>
      timed(cli.pulumi, ["preview", "--json", "--stack", ENGINE_STACK, "--non-interactive"], cli.cwd, cli.env, (s) => (JSON.parse(s) as { steps: unknown[] }).steps.length);
    // The offline plan as a reviewer runs it: the same stack file (its secrets encrypted, so placeholders), no engine.
    const plan = () =>
      timed(join(REPO, "node_modules/.bin/tsx"), [join(REPO, "cli/plan.ts"), "--stack", ENGINE_STACK, "--json", "--project-dir", goodgo.projectDir], REPO, process.env, (s) => (JSON.parse(s) as { steps: unknown[] }).steps.length);
    preview();
    plan();
    const a: Run[] = [];
    const b: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(preview());
      b.push(plan());
    }
    const row = (name: string, xs: Run[]) =>
      `${name.padEnd(34)} ${String(xs[0].resources).padStart(9)} ${median(xs.map((x) => x.wallS)).toFixed(2).padStart(8)} ${median(xs.map((x) => x.peakMb)).toFixed(0).padStart(12)}`;
    const wallRatios = a.map((x, i) => x.wallS / b[i].wallS);
    const memRatios = a.map((x, i) => x.peakMb / b[i].peakMb);
    const range = (xs: number[]) => `median ${median(xs).toFixed(2)}x (rounds ${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
    console.log(`engine preview vs offline plan: ${RUNS} interleaved rounds after a warm-up, node ${process.version}`);
    console.log(`${"command".padEnd(34)} ${"resources".padStart(9)} ${"wall s".padStart(8)} ${"peak RSS MB".padStart(12)}`);
    console.log(row("pulumi preview --json (engine)", a));
    console.log(row("npm run plan -- --json (offline)", b));
    console.log(`wall time, preview / plan: ${range(wallRatios)}`);
    console.log(`peak memory, preview / plan: ${range(memRatios)}`);
    console.log("(resources: the steps each prints, the stack included; the engine's default provider is not a step)");
  } finally {
    goodgo.remove();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
