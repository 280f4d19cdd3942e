// Benchmark of the offline plan: wall time and peak memory for the prod stack (the baseline) and for a synthetic
// stack with ten times the platforms, in one process, printed with their ratios. Not part of the test suite.
//   npm run bench:plan            (BENCH_RUNS=5 by default)
import { performance } from "node:perf_hooks";
import { join } from "node:path";
import { loadStackConfig } from "../config/load";
import { readStackFile } from "../config/stackFile";
import { StackEnvironment } from "../components/environment";
import { captureProgram } from "../lib/runtime/capture";
import { takeRenderedFiles } from "../lib/renderedFiles";
import { planStack } from "../cli/planner";
import type { DeclareContext } from "../stacks/platform";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SCALE = 10;
const raw = readStackFile(join(__dirname, "..", "Pulumi.prod.yaml"), "prod");

/** The prod stack's environment and every platform of it declared SCALE times, each copy under its own name. */
async function syntheticPlan(): Promise<number> {
  const config = loadStackConfig(raw, { allowMissingSecrets: true });
  const run = await captureProgram(raw, () => {
    const environment = new StackEnvironment("lazarus-synthetic", {
      stack: "synthetic",
      settings: { ...config.digitalocean!, project: { name: "Lazarus synthetic", environment: "Development" } },
    });
    const kubernetes = config.kubernetes ? new k8s.Provider("lazarus-synthetic-kubernetes", { context: config.kubernetes.context }) : undefined;
    const outputs: Record<string, unknown> = {};
    for (let i = 0; i < SCALE; i++) {
      const ctx: DeclareContext = {
        stack: `synthetic${i}`,
        stackFile: config.stackFile,
        environment: config.environment,
        digitalocean: environment,
        kubernetes,
        secrets: (name) => pulumi.secret(`<unset secret ${name}>`),
      };
      for (const { module, config: platformConfig } of config.platforms) {
        outputs[`${module.name}${i}`] = module.declare(module.plan(platformConfig, ctx), ctx);
      }
    }
    return outputs;
  });
  takeRenderedFiles();
  return run.resources.length;
}

async function prodPlan(): Promise<number> {
  return (await planStack(raw)).resources.length;
}

const platformCount = () => Object.keys(loadStackConfig(raw, { allowMissingSecrets: true }).platforms).length;

async function measure(fn: () => Promise<number>): Promise<{ ms: number; peakMb: number; resources: number }> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  const start = performance.now();
  const resources = await fn();
  const ms = performance.now() - start;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { ms, peakMb: (peak - base) / 2 ** 20, resources };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  await measure(prodPlan); // warm-up: module loading and JIT are not the plan's cost
  await measure(syntheticPlan);
  const prod: Awaited<ReturnType<typeof measure>>[] = [];
  const synth: Awaited<ReturnType<typeof measure>>[] = [];
  for (let i = 0; i < RUNS; i++) {
    prod.push(await measure(prodPlan));
    synth.push(await measure(syntheticPlan));
  }
  const row = (name: string, xs: typeof prod) =>
    `${name.padEnd(28)} ${String(xs[0].resources).padStart(9)} ${median(xs.map((x) => x.ms)).toFixed(0).padStart(10)} ${median(xs.map((x) => x.peakMb)).toFixed(1).padStart(14)}`;
  console.log(`offline plan benchmark: median of ${RUNS} runs after a warm-up, node ${process.version}`);
  console.log(`${"stack".padEnd(28)} ${"resources".padStart(9)} ${"wall ms".padStart(10)} ${"peak RSS +MB".padStart(14)}`);
  console.log(row(`prod (${platformCount()} platforms)`, prod));
  console.log(row(`synthetic (${SCALE * platformCount()} platforms)`, synth));
  const r = (f: (x: (typeof prod)[0]) => number) => median(synth.map(f)) / median(prod.map(f));
  console.log(
    `ratios synthetic/prod: resources ${r((x) => x.resources).toFixed(2)}x, wall time ${r((x) => x.ms).toFixed(2)}x, peak memory ${r((x) => Math.max(x.peakMb, 0.1)).toFixed(2)}x`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
