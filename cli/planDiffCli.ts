// `npm run plan:diff`: the pull-request comment. Compares the offline plans of every stack on the base branch with
// those of the head and prints one Markdown document (cli/planDiffMarkdown.ts).
//   npm run plan:diff -- --base plans/base --head plans/head [--base-ref SHA] [--head-ref SHA] [--out comment.md]
//     [--base-root DIR --head-root DIR]
// --base-root/--head-root: the checkouts the plans were made in. Local paths in a plan (the scripts directory that
// CopyToRemote ships) are absolute, so two checkouts at different places would differ in every such path; both are
// written as "<checkout>/..." before comparing (what the files hold is compared through their digests anyway).
// --base/--head are directories of `<stack>.json` plans (`npm run plan -- --stack <stack> --json`), or two plan files.
// A stack that failed to plan on one side (its `<stack>.err` says why, e.g. an invalid stack file on the base branch)
// is reported as not compared; a stack only on one side (added or removed by the change) is diffed against nothing. Exit codes: 0 written; 2 a plan file is unreadable or not a plan, or there is
// no plan at all; 1 anything unexpected.
import { Command } from "commander";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { diffPlans } from "./planDiff";
import { renderDiffMarkdown, type StackEntry } from "./planDiffMarkdown";
import { PlanFileError, readPlanJson, type PlanJson } from "./planJson";
import { parseCommandLine, runAsMain, type CliResult } from "./runMain";


/** Why a side has no plan for `stack`: the first lines of `<stack>.err` beside the plans, if the workflow wrote one. */
function whyMissing(dir: string, stack: string, side: string): string {
  const err = join(dir, `${stack}.err`);
  if (!existsSync(err)) return `no ${side} plan for stack ${stack}`;
  const lines = readFileSync(err, "utf8").split("\n").filter((l) => l.trim() && !l.startsWith("warning:")).slice(0, 5);
  return `the ${side} plan failed: ${lines.join(" / ") || "(no message)"}`;
}

/** The plan with every string starting with `root/` written as `<checkout>/...` (see --base-root). */
export function withCheckoutRoot(plan: PlanJson, root: string | undefined): PlanJson {
  if (!root) return plan;
  const prefix = resolve(root) + "/";
  const walk = (v: unknown): unknown =>
    typeof v === "string" ? (v.startsWith(prefix) ? `<checkout>/${v.slice(prefix.length)}` : v)
    : Array.isArray(v) ? v.map(walk)
    : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    : v;
  return { ...plan, steps: plan.steps.map((s) => ({ ...s, newState: { ...s.newState, inputs: walk(s.newState.inputs) as Record<string, unknown> } })) };
}

function stackEntries(baseDir: string, headDir: string, roots: { base?: string; head?: string } = {}): StackEntry[] {
  const stacksIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => /\.(json|err)$/.test(f)).map((f) => f.replace(/\.(json|err)$/, "")) : []);
  const stacks = [...new Set([...stacksIn(baseDir), ...stacksIn(headDir)])].sort((a, b) => (a === "prod" ? -1 : b === "prod" ? 1 : a.localeCompare(b)));
  if (!stacks.length) throw new PlanFileError(`${baseDir}, ${headDir}: no <stack>.json plans in either directory; write them with: npm run plan -- --stack <stack> --json > <dir>/<stack>.json`);
  return stacks.map((stack) => {
    const b = join(baseDir, `${stack}.json`);
    const h = join(headDir, `${stack}.json`);
    const failed = (dir: string) => existsSync(join(dir, `${stack}.err`));
    // A side that failed to plan cannot be compared; a side without the stack file (a stack added or removed by the
    // change) is an empty plan, so everything shows as added or deleted.
    if (failed(headDir)) return { stack, problem: whyMissing(headDir, stack, "head") };
    if (failed(baseDir)) {
      const head = existsSync(h) ? `; the head plans ${readPlanJson(h).steps.filter((s) => s.newState.custom).length} resources` : "";
      return { stack, problem: `${whyMissing(baseDir, stack, "base")}${head}` };
    }
    const head = existsSync(h) ? withCheckoutRoot(readPlanJson(h), roots.head) : undefined;
    const before = existsSync(b) ? withCheckoutRoot(readPlanJson(b), roots.base) : undefined;
    const empty = (other: PlanJson): PlanJson => ({ stack, project: other.project, steps: [], files: [], policyViolations: [] });
    return { stack, diff: diffPlans(before ?? empty(head!), head ?? empty(before!)) };
  });
}

export async function runPlanDiffCli(argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const program = new Command()
    .name("npm run plan:diff --")
    .description("Markdown difference between the offline plans of a base and a head (the pull-request comment).")
    .requiredOption("--base <path>", "directory of <stack>.json plans of the base branch, or one plan file")
    .requiredOption("--head <path>", "directory of <stack>.json plans of the head, or one plan file")
    .option("--base-ref <ref>", "name of the base (a commit or branch) shown in the comment")
    .option("--head-ref <ref>", "name of the head shown in the comment")
    .option("--out <file>", "also write the Markdown to this file")
    .option("--base-root <dir>", "the checkout the base plans were made in (its local paths compare as <checkout>/...)")
    .option("--head-root <dir>", "the checkout the head plans were made in")
    .option("--max-chars <n>", "fit the Markdown into this many characters (a comment's limit)", (v) => Number.parseInt(v, 10));
  const exit = parseCommandLine(program, argv, { out: (s) => (stdout += s), err: (s) => (stderr += s) });
  if (exit !== undefined) return { code: exit, stdout, stderr };
  const opts = program.opts<{ base: string; head: string; baseRef?: string; headRef?: string; out?: string; maxChars?: number; baseRoot?: string; headRoot?: string }>();
  try {
    const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
    let entries: StackEntry[];
    const roots = { base: opts.baseRoot, head: opts.headRoot };
    if (isDir(opts.base) || isDir(opts.head)) entries = stackEntries(opts.base, opts.head, roots);
    else {
      const before = withCheckoutRoot(readPlanJson(opts.base), roots.base);
      const head = withCheckoutRoot(readPlanJson(opts.head), roots.head);
      entries = [{ stack: head.stack, diff: diffPlans(before, head) }];
    }
    const markdown = renderDiffMarkdown(entries, { baseRef: opts.baseRef, headRef: opts.headRef, maxChars: opts.maxChars });
    stdout += markdown;
    if (opts.out) {
      writeFileSync(opts.out, markdown);
      stderr += `wrote ${basename(opts.out)} (${markdown.length} characters, ${entries.length} stack(s))\n`;
    }
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (e instanceof PlanFileError) return { code: 2, stdout, stderr: stderr + `error: ${e.message}\n` };
    throw e;
  }
}

if (require.main === module) runAsMain("plan:diff", runPlanDiffCli);
