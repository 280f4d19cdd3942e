// `npm run drift`: reads the engine events of `pulumi refresh --preview-only` per stack (lib/drift.ts) and writes the
// drift issue's Markdown. The scheduled workflow (.github/workflows/drift.yml) runs it; so can an operator.
//   npm run drift -- --events-dir drift/ [--out issue.md] [--summary summary.json] [--run-url URL]
// --events-dir holds `<stack>.jsonl` (the events; see lib/drift.ts for the command) and, for a stack whose refresh
// could not start, `<stack>.err`. Exit codes: 0 no drift and every refresh complete; 4 drift found; 5 no drift found
// but some refresh failed or did not run (the report is not a verdict); 2 the input is unreadable; 1 anything unexpected.
import { Command } from "commander";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectDrift, DriftInputError, hasDrift, parseEngineEvents, renderDriftMarkdown, type DriftReport } from "../lib/drift";
import { parseCommandLine, runAsMain, type CliResult } from "./runMain";

export const DRIFT_EXIT = 4;
export const REFRESH_FAILED_EXIT = 5;


export async function runDriftCli(argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const program = new Command()
    .name("npm run drift --")
    .description("Drift report from the engine events of `pulumi refresh --preview-only` per stack.")
    .requiredOption("--events-dir <dir>", "directory of <stack>.jsonl engine events (and <stack>.err for a refresh that could not start)")
    .option("--out <file>", "write the issue's Markdown here (also printed)")
    .option("--summary <file>", 'write {"drifted": [stacks], "failed": [stacks]} here, for a workflow')
    .option("--run-url <url>", "link to the run, shown in the issue");
  const exit = parseCommandLine(program, argv, { out: (s) => (stdout += s), err: (s) => (stderr += s) });
  if (exit !== undefined) return { code: exit, stdout, stderr };
  const opts = program.opts<{ eventsDir: string; out?: string; summary?: string; runUrl?: string }>();
  try {
    if (!existsSync(opts.eventsDir)) throw new DriftInputError(`${opts.eventsDir}: no such directory; it should hold <stack>.jsonl engine events`);
    const stacks = [...new Set(readdirSync(opts.eventsDir).filter((f) => /\.(jsonl|err)$/.test(f)).map((f) => f.replace(/\.(jsonl|err)$/, "")))].sort();
    if (!stacks.length) throw new DriftInputError(`${opts.eventsDir}: no <stack>.jsonl files`);
    const results = stacks.map((stack): { stack: string; report?: DriftReport; problem?: string } => {
      const events = join(opts.eventsDir, `${stack}.jsonl`);
      const err = join(opts.eventsDir, `${stack}.err`);
      if (!existsSync(events) || !readFileSync(events, "utf8").trim()) {
        const why = existsSync(err) ? readFileSync(err, "utf8").split("\n").find((l) => l.trim()) : undefined;
        return { stack, problem: `refresh did not run${why ? `: ${why.trim().slice(0, 200)}` : ""}` };
      }
      return { stack, report: detectDrift(parseEngineEvents(readFileSync(events, "utf8"), events)) };
    });
    const drifted = results.filter((r) => r.report && hasDrift(r.report)).map((r) => r.stack);
    const failed = results.filter((r) => !r.report || r.report.errors.length).map((r) => r.stack);
    const markdown = renderDriftMarkdown(results, opts.runUrl);
    stdout += markdown;
    if (opts.out) writeFileSync(opts.out, markdown);
    if (opts.summary) writeFileSync(opts.summary, JSON.stringify({ drifted, failed }) + "\n");
    const count = results.reduce((n, r) => n + (r.report ? r.report.drifted.length + r.report.secretOnly : 0), 0);
    stderr += `drift: ${count} resource(s) in ${drifted.length} stack(s)${drifted.length ? ` (${drifted.join(", ")})` : ""}; refresh failed or not run: ${failed.length ? failed.join(", ") : "none"}\n`;
    return { code: drifted.length ? DRIFT_EXIT : failed.length ? REFRESH_FAILED_EXIT : 0, stdout, stderr };
  } catch (e) {
    if (e instanceof DriftInputError) return { code: 2, stdout, stderr: stderr + `error: ${e.message}\n` };
    throw e;
  }
}

if (require.main === module) runAsMain("drift", runDriftCli);
