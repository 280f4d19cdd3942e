// The offline plan: runs the real program under mocks with the real stack file and prints what it declares, as a tree
// grouped by platform or as `pulumi preview --json`-shaped JSON, without cloud credentials or the Pulumi CLI.
// The policy pack's rules (policy/rules.ts) run over what it declares; each violation is printed on stderr.
//   npm run plan -- --stack prod [--json] [--out DIR] [--diff BASE.json]
// --diff prints, instead of the plan, the Markdown difference from BASE.json (a plan written with --json, e.g. on the
// base branch) to this plan (cli/planDiff.ts); an unreadable BASE.json exits 2.
// Exit codes: 0 planned, no policy violation; 3 planned, but a (mandatory) policy is violated: the plan is still printed
// and --out still written, for review; 2 unknown stack or invalid config (nothing declared); 1 anything unexpected.
import { Command } from "commander";
import { resolve } from "node:path";
import { ConfigError } from "../config/errors";
import { NAMESPACE, loadStackConfig } from "../config/load";
import { readStackFile, stackFilePath } from "../config/stackFile";
import { checkPlan } from "../policy/rules";
import { planStack, writeRenderedFiles } from "./planner";
import { renderJson, renderTree, renderViolations } from "./planFormat";
import { diffPlans } from "./planDiff";
import { renderDiffMarkdown } from "./planDiffMarkdown";
import { parsePlanJson, PlanFileError, readPlanJson } from "./planJson";
import { parseCommandLine, runAsMain, type CliResult } from "./runMain";

/** Exit code of a plan that a mandatory policy refuses. */
export const POLICY_VIOLATION_EXIT = 3;


export async function runPlanCli(argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const program = new Command()
    .name("npm run plan --")
    .description("Offline plan of a Lazarus stack: what `pulumi up` would declare, without cloud access.")
    .requiredOption("-s, --stack <name>", "stack to plan (reads Pulumi.<name>.yaml)")
    .option("--json", "print the plan in the shape of `pulumi preview --json`")
    .option("--out <dir>", "write every rendered file (secrets excluded) under this directory")
    .option("--diff <base.json>", "print the Markdown difference from this plan (written with --json) to the current one")
    .option("--project-dir <dir>", "directory holding Pulumi.yaml and the stack files", process.cwd());
  const exit = parseCommandLine(program, argv, { out: (s) => (stdout += s), err: (s) => (stderr += s) });
  if (exit !== undefined) return { code: exit, stdout, stderr };
  const opts = program.opts<{ stack: string; json?: boolean; out?: string; diff?: string; projectDir: string }>();

  try {
    const raw = readStackFile(stackFilePath(resolve(opts.projectDir), opts.stack), opts.stack);
    // Validate before running anything: a broken config declares nothing.
    const config = loadStackConfig(raw, { allowMissingSecrets: true });
    const plan = await planStack(raw);
    const warnings: string[] = [];
    if (config.secretsMissing.length) {
      warnings.push(
        `warning: ${config.secretsMissing.length} secret(s) not set, shown as placeholders: ${config.secretsMissing.map((s) => `${NAMESPACE}:${s}`).join(", ")} (a real run lists how to set each)`,
      );
    }
    const violations = checkPlan(plan, raw);
    stderr += warnings.map((w) => w + "\n").join("") + renderViolations(violations);
    if (opts.diff) {
      const head = parsePlanJson(renderJson(plan, warnings, violations), `plan of ${opts.stack}`);
      stdout += renderDiffMarkdown([{ stack: opts.stack, diff: diffPlans(readPlanJson(opts.diff), head) }]);
    } else stdout += opts.json ? renderJson(plan, warnings, violations) : renderTree(plan, violations);
    if (opts.out) {
      const written = await writeRenderedFiles(plan, resolve(opts.out));
      stderr += `wrote ${written.written.length} rendered file(s) under ${resolve(opts.out)}` +
        (written.skippedSecrets.length ? `; ${written.skippedSecrets.length} secret file(s) not written: ${written.skippedSecrets.join(", ")}` : "") + "\n";
    }
    return { code: violations.length ? POLICY_VIOLATION_EXIT : 0, stdout, stderr };
  } catch (e) {
    if (e instanceof ConfigError) return { code: 2, stdout, stderr: stderr + e.message + "\n" };
    if (e instanceof PlanFileError) return { code: 2, stdout, stderr: stderr + `error: ${e.message}\n` };
    throw e;
  }
}

if (require.main === module) runAsMain("plan", runPlanCli);
