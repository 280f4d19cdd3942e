// `lazarus dr`: disaster recovery from the stack files. Commands return their output and exit code (tests call them
// in-process, cli/runMain.ts prints them); progress of long work streams to stderr as it happens.
//   lazarus dr plan    --stack S [--platform P] [--json|--markdown]      what a full rebuild would do, with estimates
//   lazarus dr rebuild --stack S [--platform P] [--confirm TOKEN] [--backend-url URL]   set the switches, preview, confirm, up, health
//   lazarus dr drill   --stack S [--platform P] [--route R]              lose the data host of a scratch copy, measure
import { createInterface } from "node:readline/promises";
import { Command, CommanderError, Option } from "commander";
import { ConfigError } from "../../config/errors";
import { readStackFile, stackFilePath } from "../../config/stackFile";
import { resolve } from "node:path";
import { runAsMain, type CliResult } from "../runMain";
import { runDrillCommand, type RunDrill } from "./drill";
import { openRealEngine } from "./engine";
import { DR_EXIT, EXIT_CODES_HELP } from "./exitCodes";
import { renderPlanJson, renderPlanMarkdown, renderPlanText } from "./planFormat";
import { runRebuild, type RebuildDeps } from "./rebuild";
import { DrInputError, planRebuild } from "./rebuildPlan";

export const DEFAULT_LAST_DRILL = ".lazarus/dr/last-drill.json";
export const DEFAULT_REPORT_DIR = ".lazarus/dr/reports";

export interface DrCliDeps extends RebuildDeps {
  runDrill?: RunDrill;
}

function defaultDeps(): DrCliDeps {
  return {
    openEngine: openRealEngine,
    interactive: process.stdin.isTTY === true,
    async prompt(question) {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    env: process.env,
    progress: (t) => void process.stderr.write(t),
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export async function runDrCli(argv: string[], overrides: Partial<DrCliDeps> = {}): Promise<CliResult> {
  const deps: DrCliDeps = { ...defaultDeps(), ...overrides };
  let stdout = "";
  let stderr = "";
  let code: number = DR_EXIT.ok;
  const program = new Command()
    .name("lazarus")
    .description("Lazarus: infrastructure as code with runbook automation.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  const dr = program
    .command("dr")
    .description("Disaster recovery: plan, run and drill the full rebuild of a stack from its runbooks' recovery switches.")
    .addHelpText("after", EXIT_CODES_HELP);
  const common = (c: Command) =>
    c
      .requiredOption("-s, --stack <name>", "the stack (reads Pulumi.<name>.yaml)")
      .option("-p, --platform <name>", "only this platform (default: every platform the stack enables)")
      .option("--project-dir <dir>", "directory holding Pulumi.yaml and the stack files", process.cwd())
      .addHelpText("after", EXIT_CODES_HELP);

  common(dr.command("plan"))
    .description("What a full rebuild would do, in order, per platform: switches, steps, estimated time per step from the last drill. Offline: no engine, no credentials.")
    .option("--label <label>", "the recovery label the switches would carry (default: r<UTC yyyymmddhhmm>)")
    .option("--snapshot <id>", "snapshot id for platforms rebuilt from a snapshot (KRO; required on prod)")
    .option("--drill-report <file>", "the drill report the estimates come from", DEFAULT_LAST_DRILL)
    .addOption(new Option("--json", "print the plan as JSON").conflicts("markdown"))
    .option("--markdown", "print the plan as Markdown")
    .action((o: { stack: string; platform?: string; projectDir: string; label?: string; snapshot?: string; drillReport: string; json?: boolean; markdown?: boolean }) => {
      const raw = readStackFile(stackFilePath(resolve(o.projectDir), o.stack), o.stack);
      const plan = planRebuild(raw, { platform: o.platform, label: o.label, snapshot: o.snapshot, confirm: "assume", drillReport: resolve(o.projectDir, o.drillReport), lenient: true });
      stdout += o.json ? renderPlanJson(plan) : o.markdown ? renderPlanMarkdown(plan) : renderPlanText(plan);
    });

  common(dr.command("rebuild"))
    .description(
      "Rebuild after a full loss: set the platforms' recovery switches in a copy of the stack config, preview, ask for the prod confirmation, run up with progress, wait for health, write the JSON and Markdown report.",
    )
    .option(
      "--backend-url <url>",
      "the stack's state backend, as PULUMI_BACKEND_URL takes it: file://, s3:// (e.g. DigitalOcean Spaces: 's3://bucket?endpoint=https://fra1.digitaloceanspaces.com&region=us-east-1'), gs://, azblob://, https://api.pulumi.com (default: PULUMI_BACKEND_URL; never ~/.pulumi). Credentials come from the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, PULUMI_ACCESS_TOKEN, ...) and are passed through untouched",
    )
    .option("--backend-dir <dir>", "shorthand for --backend-url file://<dir> (not with --backend-url)")
    .option("--label <label>", "the recovery label (a new label runs the recovery again; default: r<UTC yyyymmddhhmm>)")
    .option("--snapshot <id>", "snapshot id for platforms rebuilt from a snapshot (KRO; required on prod)")
    .option("--confirm <token>", "the protected stack's confirmation, e.g. prod/goodgo/recover-host (repeat for several platforms); without it a terminal asks", collect)
    .option("--report-dir <dir>", "where the JSON and Markdown reports go", DEFAULT_REPORT_DIR)
    .option("--drill-report <file>", "the drill report whose step times the plan shows", DEFAULT_LAST_DRILL)
    .option("--health-url <platform=url>", "probe this URL for the platform instead of its public health URL (repeatable)", collect)
    .option("--health-timeout <seconds>", "how long to wait for each health URL", "900")
    .option("--skip-health", "do not probe health URLs (the report says so)")
    .option("--write-config", "also write the switches into Pulumi.<stack>.yaml itself (default: a copy only)")
    .option("--json", "print only the report, as JSON (progress still goes to stderr)")
    .addHelpText(
      "after",
      "\nSecrets: PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) is needed only when Pulumi.<stack>.yaml's secrets\nprovider is the passphrase (it has encryptionsalt:, or names no secretsprovider: on a file or bucket backend); a stack\nwith secretsprovider: awskms://... (gcpkms, azurekeyvault, hashivault) needs that cloud's credentials instead, and\nPulumi Cloud's needs PULUMI_ACCESS_TOKEN.\n",
    )
    .action(async (o: { stack: string; platform?: string; projectDir: string; backendUrl?: string; backendDir?: string; label?: string; snapshot?: string; confirm?: string[]; reportDir: string; drillReport: string; healthUrl?: string[]; healthTimeout: string; skipHealth?: boolean; writeConfig?: boolean; json?: boolean }) => {
      const timeout = Number(o.healthTimeout);
      if (!Number.isInteger(timeout) || timeout < 1) throw new DrInputError(`--health-timeout ${JSON.stringify(o.healthTimeout)}: is not a whole number of seconds (example: --health-timeout 900)`);
      const r = await runRebuild(
        { ...o, projectDir: resolve(o.projectDir), reportDir: resolve(o.projectDir, o.reportDir), drillReport: resolve(o.projectDir, o.drillReport), healthTimeoutSeconds: timeout },
        deps,
      );
      stdout += r.stdout;
      stderr += r.stderr;
      code = r.code;
    });

  common(dr.command("drill"))
    .description("Drill a full loss on a scratch copy of a staging or local stack: lose the data host on purpose, bring it back, measure RTO (loss → healthy) and RPO; print them against the runbooks' targets.")
    .option("--work-dir <dir>", "where the drill's scratch copy lives (default: the drill's own temp dir)")
    .option(
      "--route <route>",
      "logical (a pg_dump backup restored: the writes after it are lost) or physical (a pgBackRest full backup and the WAL archived since, replayed to the latest point: seconds are lost); default: the drill file's `route`, else logical",
    )
    .option("--report-dir <dir>", "where the JSON and Markdown reports go", DEFAULT_REPORT_DIR)
    .option("--last-drill <file>", "where `dr plan` finds the last drill (the report is copied there)", DEFAULT_LAST_DRILL)
    .option("--json", "print only the report, as JSON")
    .action(async (o: { stack: string; platform?: string; projectDir: string; workDir?: string; route?: string; reportDir: string; lastDrill: string; json?: boolean }) => {
      const raw = readStackFile(stackFilePath(resolve(o.projectDir), o.stack), o.stack);
      if (o.platform) planRebuild(raw, { platform: o.platform, confirm: "assume" });
      const r = await runDrillCommand(
        { ...o, reportDir: resolve(o.projectDir, o.reportDir), lastDrill: resolve(o.projectDir, o.lastDrill) },
        deps.progress,
        deps.runDrill,
      );
      stdout += r.stdout;
      code = r.code;
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode === 0 ? 0 : DR_EXIT.badInput, stdout, stderr };
    if (e instanceof ConfigError || e instanceof DrInputError) return { code: DR_EXIT.badInput, stdout, stderr: stderr + `error: ${e.message}\n` };
    throw e;
  }
  return { code, stdout, stderr };
}

if (require.main === module) runAsMain("lazarus", (argv) => runDrCli(argv));
