// A thin, typed driver over Pulumi's Automation API (LocalWorkspace) running the real engine built by
// tools/build-engine.sh: the real program in a project directory, a state backend (a file backend in a temp dir unless
// told otherwise, or any backend URL the CLI takes: s3://, gs://, azblob://, https://api.pulumi.com), the stack's secrets
// provider (a passphrase when given), no update check, no plugin downloads, PULUMI_HOME in the engine cache, and every
// engine event streamed back to the caller.
// It is the code path a DR CLI will use; the engine tests use it rather than shelling out to `pulumi`.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  LocalWorkspace,
  PulumiCommand,
  type Deployment,
  type EngineEvent,
  type OpMap,
  type OpType,
  type PropertyDiff,
  type Stack,
} from "@pulumi/pulumi/automation";
import { findEngine, REPO_ROOT } from "./install";

export type { EngineEvent, Deployment };

export interface OpenStackOptions {
  /** The Pulumi project directory (holds Pulumi.yaml); the real program, not an inline one. */
  workDir: string;
  stackName: string;
  /** Directory of the file state backend (`file://<dir>`); a new temp dir when neither this nor backendUrl is given. */
  backendDir?: string;
  /** The state backend as the CLI's PULUMI_BACKEND_URL takes it (file://, s3://, gs://, azblob://, https://); not with backendDir. */
  backendUrl?: string;
  /**
   * Passphrase of the passphrase secrets provider (PULUMI_CONFIG_PASSPHRASE). Omitted for a stack whose secrets
   * provider is a cloud KMS or Pulumi Cloud, or when `env` names PULUMI_CONFIG_PASSPHRASE_FILE.
   */
  passphrase?: string;
  /** Extra environment for the engine and the program (e.g. test-only settings, the backend's cloud credentials). */
  env?: Record<string, string>;
}

/** One resource step the engine planned or performed (from its resourcePreEvent). */
export interface EngineStep {
  op: OpType;
  urn: string;
  type: string;
  /** Top-level input keys that differ. */
  diffs: string[];
  detailedDiff?: Record<string, PropertyDiff>;
  /** The resource's `protect` flag in state before the step and in the program's goal. */
  protect: { old?: boolean; new?: boolean };
}

export interface OperationResult {
  /** The engine's own counts per operation (create, update, replace, delete, same, ...). */
  summary: OpMap;
  steps: EngineStep[];
  events: EngineEvent[];
  stdout: string;
  stderr: string;
}

/** Operations that change something (everything but `same`, reads and refreshes). */
const CHANGING: OpType[] = [
  "create",
  "update",
  "delete",
  "replace",
  "create-replacement",
  "delete-replaced",
  "import",
  "import-replacement",
  "discard",
  "discard-replaced",
  "remove-pending-replace",
];

/** The engine's error diagnostics among events (what a refused `up` or `preview` said, one entry per message). */
export function engineErrors(events: EngineEvent[]): string[] {
  return events.flatMap((e) => (e.diagnosticEvent?.severity === "error" ? [e.diagnosticEvent.message.trim()] : []));
}

/** The number of changing operations in an engine summary. */
export function changeCount(summary: OpMap): number {
  return CHANGING.reduce((n, op) => n + (summary[op] ?? 0), 0);
}

function collect(onEvent?: (e: EngineEvent) => void) {
  const events: EngineEvent[] = [];
  const steps: EngineStep[] = [];
  let summary: OpMap = {};
  const handler = (e: EngineEvent): void => {
    events.push(e);
    const pre = e.resourcePreEvent?.metadata;
    if (pre) {
      steps.push({
        op: pre.op,
        urn: pre.urn,
        type: pre.type,
        diffs: pre.diffs ?? [],
        detailedDiff: pre.detailedDiff,
        // The event leaves `protect` out when false; absent only when there is no old (a create) or new (a delete) state.
        protect: { old: pre.old ? (pre.old.protect ?? false) : undefined, new: pre.new ? (pre.new.protect ?? false) : undefined },
      });
    }
    if (e.summaryEvent) summary = e.summaryEvent.resourceChanges;
    onEvent?.(e);
  };
  return { events, steps, handler, summary: () => summary };
}

/** The directory of a plain file:///abs/dir URL (no query, no ~); undefined for any other URL. */
function fileUrlDir(url: string): string | undefined {
  const m = /^file:\/\/(\/[^?]*)$/.exec(url);
  return m ? m[1] : undefined;
}

export class EngineStack {
  private constructor(
    readonly stack: Stack,
    /** The state backend's URL (PULUMI_BACKEND_URL of every engine run). */
    readonly backendUrl: string,
    /** Directory of a file state backend; undefined for any other backend. */
    readonly fileBackendDir: string | undefined,
    private readonly pulumiBin: string,
    private readonly workDir: string,
    /** The environment the engine runs with (backend, passphrase, PULUMI_HOME, PATH), for running its CLI or scripts. */
    readonly envVars: Record<string, string>,
  ) {}

  static async open(options: OpenStackOptions): Promise<EngineStack> {
    const engine = findEngine();
    if (!engine.present) throw new Error(engine.reason);
    if (options.backendDir !== undefined && options.backendUrl !== undefined) throw new Error("EngineStack.open: give backendDir or backendUrl, not both");
    const backendDir = options.backendUrl === undefined ? (options.backendDir ?? mkdtempSync(join(tmpdir(), "lazarus-state-"))) : fileUrlDir(options.backendUrl);
    const backendUrl = options.backendUrl ?? `file://${backendDir}`;
    const pulumiCommand = await PulumiCommand.get({ root: engine.dir, skipVersionCheck: false });
    const envVars: Record<string, string> = {
      PULUMI_BACKEND_URL: backendUrl,
      ...(options.passphrase !== undefined ? { PULUMI_CONFIG_PASSPHRASE: options.passphrase } : {}),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_HOME: engine.pulumiHome,
      // The engine's binaries first (PulumiCommand prepends bin/ too), then the Node SDK's dynamic-provider plugin
      // script (pulumi-resource-pulumi-nodejs ships in @pulumi/pulumi), then the caller's PATH.
      PATH: [engine.bin, join(REPO_ROOT, "node_modules/@pulumi/pulumi"), process.env.PATH ?? ""].join(":"),
      ...options.env,
    };
    const stack = await LocalWorkspace.createOrSelectStack(
      { workDir: options.workDir, stackName: options.stackName },
      { pulumiCommand, pulumiHome: engine.pulumiHome, envVars },
    );
    return new EngineStack(stack, backendUrl, backendDir, join(engine.bin, "pulumi"), options.workDir, envVars);
  }

  /** Directory of the file state backend; throws for any other backend (callers that remove or search it need one). */
  get backendDir(): string {
    if (this.fileBackendDir === undefined) throw new Error(`the stack's state backend is ${this.backendUrl.split(/[?:]/)[0]}://..., not a file backend: it has no directory`);
    return this.fileBackendDir;
  }

  /** The environment the driver runs the `pulumi` CLI with, and its path: to run it directly (a benchmark, a shell). */
  cliEnvironment(): { pulumi: string; cwd: string; env: NodeJS.ProcessEnv } {
    return { pulumi: this.pulumiBin, cwd: this.workDir, env: { ...process.env, ...this.envVars } };
  }

  async setConfig(key: string, value: string, options: { secret?: boolean } = {}): Promise<void> {
    await this.stack.setConfig(key, { value, secret: options.secret ?? false });
  }

  /** Sets many keys in one CLI call (`pulumi config set-all`): a stack's secrets, say. */
  async setAllConfig(values: Record<string, { value: string; secret?: boolean }>): Promise<void> {
    await this.stack.setAllConfig(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v.value, secret: v.secret ?? false }])));
  }

  async up(options: { onEvent?: (e: EngineEvent) => void } = {}): Promise<OperationResult> {
    const c = collect(options.onEvent);
    const r = await this.stack.up({ onEvent: c.handler, color: "never" });
    return { summary: r.summary.resourceChanges ?? c.summary(), steps: c.steps, events: c.events, stdout: r.stdout, stderr: r.stderr };
  }

  /**
   * `pulumi preview` as structured data: the engine's planned steps (op, URN, type, diffs) and its summary. With
   * `policyPacks` (directories of local packs), a mandatory violation makes it throw; the violations are the events'
   * `policyEvent`s.
   */
  async preview(options: { onEvent?: (e: EngineEvent) => void; policyPacks?: string[] } = {}): Promise<OperationResult> {
    const c = collect(options.onEvent);
    const r = await this.stack.preview({ onEvent: c.handler, color: "never", diff: true, policyPacks: options.policyPacks });
    return { summary: r.changeSummary ?? c.summary(), steps: c.steps, events: c.events, stdout: r.stdout, stderr: r.stderr };
  }

  async destroy(options: { onEvent?: (e: EngineEvent) => void } = {}): Promise<OperationResult> {
    const c = collect(options.onEvent);
    const r = await this.stack.destroy({ onEvent: c.handler, color: "never" });
    return { summary: r.summary.resourceChanges ?? c.summary(), steps: c.steps, events: c.events, stdout: r.stdout, stderr: r.stderr };
  }

  /**
   * `pulumi stack export`: the stack's state with its secrets still encrypted. (The Automation API's own
   * `exportStack()` runs `pulumi stack export --show-secrets`, so its result holds every secret in plain text; this
   * driver does not use it.)
   */
  async exportState(): Promise<Deployment> {
    const args = ["stack", "export", "--stack", this.stack.name, "--non-interactive"];
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        this.pulumiBin,
        args,
        { cwd: this.workDir, env: { ...process.env, ...this.envVars }, maxBuffer: 256 * 1024 * 1024 },
        (err, out, errOut) => (err ? reject(new Error(`pulumi ${args.join(" ")}: ${err.message}\n${errOut}`)) : resolve(out)),
      );
    });
    return JSON.parse(stdout) as Deployment;
  }

  /**
   * Runs the engine's own `pulumi` CLI on this stack with the stack's environment, as a workflow step would (e.g.
   * `refresh --preview-only --json`, whose output lib/drift.ts reads). Resolves with the exit code; never throws on one.
   */
  async cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const all = [...args, "--stack", this.stack.name, "--non-interactive"];
    return new Promise((resolve) => {
      execFile(
        this.pulumiBin,
        all,
        { cwd: this.workDir, env: { ...process.env, ...this.envVars, ...env }, maxBuffer: 256 * 1024 * 1024 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
      );
    });
  }

  /** Every file the file backend wrote (state, backups, history), for searching the raw bytes; file backends only. */
  backendFiles(): { path: string; text: string }[] {
    const out: { path: string; text: string }[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else out.push({ path: p, text: readFileSync(p, "latin1") });
      }
    };
    walk(this.backendDir);
    return out;
  }
}
