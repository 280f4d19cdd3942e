// `lazarus dr rebuild`: the full-loss switches of every selected platform set in a COPY of the stack config, the
// engine's preview shown, the prod confirmation asked for (typed, or --confirm for scripts) and refused before anything
// runs, then refresh (when a platform needs it) and `up` with one progress line per step, the health URLs waited for,
// and the JSON + Markdown report written.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput, createWritable } from "listr2";
import { readStackFile, stackFilePath } from "../../config/stackFile";
import { renderReportMarkdown } from "../../lib/dr/markdown";
import type { DrReport, DrStep } from "../../lib/dr/report";
import { credentialEnv, resolveBackend, stackSecrets } from "./backend";
import { projectCopy, switchedStackFile } from "./configCopy";
import type { DrEngine, OpenEngineOptions } from "./engine";
import { DR_EXIT } from "./exitCodes";
import { DrInputError, planRebuild, type RebuildPlan } from "./rebuildPlan";
import { EngineTimeline } from "./timeline";

export interface RebuildOptions {
  stack: string;
  platform?: string;
  projectDir: string;
  /** The stack's state backend (any URL the Pulumi CLI takes); default PULUMI_BACKEND_URL. */
  backendUrl?: string;
  /** Shorthand for --backend-url file://<dir>. */
  backendDir?: string;
  label?: string;
  snapshot?: string;
  confirm?: string[];
  reportDir: string;
  drillReport?: string;
  json?: boolean;
  writeConfig?: boolean;
  /** platform=url: probe this instead of the platform's public health URL (from inside a private network, say). */
  healthUrl?: string[];
  healthTimeoutSeconds: number;
  skipHealth?: boolean;
}

export interface RebuildDeps {
  openEngine(o: OpenEngineOptions): Promise<DrEngine>;
  /** Whether a person can be asked (stdin is a terminal). */
  interactive: boolean;
  prompt(question: string): Promise<string>;
  env: NodeJS.ProcessEnv;
  /** Where progress lines go (stderr when run as a program). */
  progress: (text: string) => void;
  /** Health probe interval, ms (tests shorten it). */
  healthIntervalMs?: number;
}

export interface RebuildResult {
  code: number;
  stdout: string;
  stderr: string;
  report?: DrReport;
  reportFiles?: { json: string; markdown: string };
}

function healthOverrides(list: string[] | undefined, plan: RebuildPlan): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list ?? []) {
    const m = /^([a-z]+)=(https?:\/\/\S+)$/.exec(item);
    if (!m || !plan.platforms.some((p) => p.platform === m[1])) {
      throw new DrInputError(`--health-url ${JSON.stringify(item)}: is not <platform>=<http(s) URL> for a platform of this rebuild (${plan.platforms.map((p) => p.platform).join(", ")}; example: --health-url goodgo=http://10.0.0.5:3001/health)`);
    }
    out.set(m[1], m[2]);
  }
  return out;
}

async function waitHealthy(url: string, timeoutSeconds: number, intervalMs: number): Promise<{ ok: boolean; last: string }> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = "not probed";
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: "manual" });
      last = `HTTP ${r.status}`;
      if (r.status >= 200 && r.status < 300) return { ok: true, last };
    } catch (e) {
      last = e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
    }
    if (Date.now() + intervalMs > deadline) return { ok: false, last };
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function runRebuild(o: RebuildOptions, deps: RebuildDeps): Promise<RebuildResult> {
  const projectDir = resolve(o.projectDir);
  const raw = readStackFile(stackFilePath(projectDir, o.stack), o.stack);
  const plan = planRebuild(raw, { platform: o.platform, label: o.label, snapshot: o.snapshot, confirm: "assume", drillReport: o.drillReport });
  const overrides = healthOverrides(o.healthUrl, plan);
  const backend = resolveBackend(o, deps.env);
  const secrets = stackSecrets(projectDir, o.stack, backend, deps.env);
  // The credentials go to the engine only: never into a progress line, the report or an error message of ours.
  const engineEnv = { ...credentialEnv(deps.env), ...(secrets.passphraseFile ? { PULUMI_CONFIG_PASSPHRASE_FILE: secrets.passphraseFile } : {}) };
  const automated = plan.platforms.filter((p) => p.mode === "automated");
  if (!automated.length) throw new DrInputError(`--platform: nothing to rebuild: ${plan.platforms.map((p) => `${p.platform}: ${p.manual}`).join("; ")}`);

  const startedAt = new Date().toISOString();
  const report: DrReport = { kind: "rebuild", stack: o.stack, platforms: automated.map((p) => p.platform), startedAt, outcome: "ok", steps: [], objectives: [], restored: [], notes: [] };
  report.notes.push(`state backend: ${backend.display}; secrets provider: ${secrets.provider}`);
  for (const p of plan.platforms.filter((x) => x.mode === "manual")) {
    report.steps.push({ key: `${p.platform}/not-automated`, platform: p.platform, title: `${p.platform}: not rebuilt by lazarus dr`, startedAt, endedAt: startedAt, status: "skipped", detail: p.manual });
  }
  const stdout: string[] = [];
  const finish = (code: number): RebuildResult => {
    report.endedAt = new Date().toISOString();
    mkdirSync(resolve(o.reportDir), { recursive: true });
    const base = join(resolve(o.reportDir), `rebuild-${o.stack}-${plan.label}`);
    const files = { json: `${base}.json`, markdown: `${base}.md` };
    writeFileSync(files.json, JSON.stringify(report, null, 2) + "\n");
    writeFileSync(files.markdown, renderReportMarkdown(report));
    const summary = `rebuild of ${o.stack} (${report.platforms.join(", ")}): ${report.outcome}; report ${files.json} and ${files.markdown}\n`;
    return { code, stdout: o.json ? JSON.stringify(report, null, 2) + "\n" : stdout.join("") + summary, stderr: "", report, reportFiles: files };
  };

  // Confirmation on a protected stack, as far as it can be decided without a person: before the engine is even opened.
  const tokens = automated.flatMap((p) => (p.confirmToken ? [{ platform: p.platform, token: p.confirmToken }] : []));
  const refuse = (detail: string): RebuildResult => {
    const now = new Date().toISOString();
    report.outcome = "refused";
    report.steps.push({ key: "rebuild/confirm", title: "prod confirmation", startedAt: now, endedAt: now, status: "failed", detail });
    report.notes.push("Refused before anything ran: no switch was set in the stack's state, no preview or up ran.");
    const r = finish(DR_EXIT.refused);
    return { ...r, stderr: `refused: ${detail}\n` };
  };
  if (tokens.length && o.confirm?.length) {
    const wrong = o.confirm.filter((c) => !tokens.some((t) => t.token === c));
    const missing = tokens.filter((t) => !o.confirm!.includes(t.token));
    if (wrong.length || missing.length) {
      return refuse(
        `--confirm ${wrong.map((w) => JSON.stringify(w)).join(", ") || "(given)"}: ${missing.length ? `the rebuild of ${o.stack} needs ${missing.map((m) => `"${m.token}" (${m.platform})`).join(" and ")}` : "is not a confirmation this rebuild asks for"}; expected exactly: ${tokens.map((t) => `--confirm ${t.token}`).join(" ")}`,
      );
    }
  } else if (tokens.length && !deps.interactive) {
    return refuse(`stack ${o.stack} is protected and stdin is not a terminal to type the confirmation; pass ${tokens.map((t) => `--confirm ${t.token}`).join(" ")}`);
  }

  const copy = projectCopy(projectDir, plan);
  const timeline = new EngineTimeline(o.stack, plan.platforms, (line) => currentOutput(line));
  let currentOutput: (line: string) => void = () => {};
  const record = (step: DrStep) => {
    report.steps.push(step);
    return step;
  };
  const phase = async (key: string, title: string, run: (step: DrStep) => Promise<void>) => {
    const step = record({ key: `rebuild/${key}`, title, startedAt: new Date().toISOString(), status: "running" });
    try {
      await run(step);
      step.status = step.status === "running" ? "ok" : step.status;
    } catch (e) {
      step.status = "failed";
      step.detail = step.detail ?? (e instanceof Error ? e.message : String(e)).split("\n").slice(0, 6).join(" ");
      throw e;
    } finally {
      step.endedAt = new Date().toISOString();
    }
  };

  const healthy = new Map<string, string>();
  const progressStream = createWritable((t: string) => deps.progress(t)) as NodeJS.WriteStream;
  let engine: DrEngine | undefined;
  const tasks = new Listr(
    [
      {
        title: `open stack ${o.stack} on ${backend.display} (switches written to a copy of Pulumi.${o.stack}.yaml${o.writeConfig ? "; to the stack file itself once the up succeeded (--write-config)" : ""})`,
        task: async () => {
          engine = await deps.openEngine({ workDir: copy.dir, stack: o.stack, backendUrl: backend.url, passphrase: secrets.passphrase, env: engineEnv });
        },
      },
      {
        title: "pulumi refresh (which lost resources are gone)",
        enabled: () => automated.some((p) => p.switches?.refresh),
        task: () => phase("refresh", "pulumi refresh", async () => engine!.refresh(() => {})),
      },
      {
        title: "pulumi preview",
        task: (_ctx, task) =>
          phase("preview", "pulumi preview", async (step) => {
            const r = await engine!.preview(() => {});
            const counts = Object.entries(r.summary).map(([op, n]) => `${op} ${n}`).join(", ");
            step.detail = counts;
            report.notes.push(`preview: ${counts}`);
            task.title = `pulumi preview: ${counts}`;
          }),
      },
      {
        title: `confirmation (${tokens.map((t) => t.token).join(", ")})`,
        enabled: () => tokens.length > 0 && !o.confirm?.length,
        task: async () => {
          for (const t of tokens) {
            const typed = (await deps.prompt(`Type ${t.token} to rebuild ${t.platform} on ${o.stack}: `)).trim();
            if (typed !== t.token) throw new RefusedError(`typed ${JSON.stringify(typed)}, not "${t.token}" (${t.platform})`);
          }
        },
      },
      {
        title: "pulumi up",
        task: (_ctx, task) =>
          phase("up", "pulumi up", async (step) => {
            currentOutput = (line) => (task.output = line);
            const prefixes = automated.flatMap((p) => p.switches?.rerun?.namePrefixes ?? []);
            // Once each: after a failed run the state also holds the old copies of what it replaced, pending deletion, under the same URNs.
            const replace = prefixes.length ? [...new Set(await engine!.urns())].filter((u) => prefixes.some((n) => u.slice(u.lastIndexOf("::") + 2).startsWith(n))) : [];
            if (replace.length) {
              const why = automated.flatMap((p) => (p.switches?.rerun ? [`${p.platform}: ${p.switches.rerun.why}`] : [])).join("; ");
              report.notes.push(`replaced so their steps run again (${why}): ${replace.length} resources`);
              task.output = `replacing ${replace.length} resources so they run again (${why})`;
            }
            const r = await engine!.up(timeline.handle, { replace }).catch((e: unknown) => {
              // The engine's whole output is in the error; the step it stopped at says it in one line.
              const f = timeline.failedStep();
              const engineSaid = (e instanceof Error ? e.message : String(e)).split("\n").filter((l) => /^\s+error: /.test(l) && !/update failed/.test(l));
              throw new Error(f ? `stopped at ${f.title}` : oneLine(engineSaid[0] ?? "the engine failed (see its output above)"));
            });
            step.detail = Object.entries(r.summary).map(([op, n]) => `${op} ${n}`).join(", ");
            // The stack file then says what the state now is (never before: a refused or failed run leaves it as it was).
            if (o.writeConfig) writeFileSync(stackFilePath(projectDir, o.stack), switchedStackFile(projectDir, plan));
          }),
      },
      ...automated.map((p) => ({
        title: `${p.platform}: wait for health`,
        task: (_ctx: unknown, task: { title: string; skip(m?: string): void }) =>
          phase(`${p.platform}-health`, `${p.platform}: healthy`, async (step) => {
            step.platform = p.platform;
            step.key = `${p.platform}/health`;
            const url = overrides.get(p.platform) ?? p.healthUrl;
            if (o.skipHealth || !url) {
              step.status = "skipped";
              step.detail = o.skipHealth ? "--skip-health" : "no health URL to probe from outside (the engine waited for readiness)";
              task.skip(step.detail);
              return;
            }
            const r = await waitHealthy(url, o.healthTimeoutSeconds, deps.healthIntervalMs ?? 5000);
            if (!r.ok) throw new Error(`${url} did not answer 2xx within ${o.healthTimeoutSeconds} s (last: ${r.last})`);
            healthy.set(p.platform, new Date().toISOString());
            task.title = `${p.platform}: ${url} answers (${r.last})`;
          }),
      })),
    ],
    {
      exitOnError: true,
      // One line per event (also in a terminal, so a pasted session reads the same), to the caller's stream: stderr
      // as a program, so with --json stdout holds only the report.
      renderer: "simple",
      rendererOptions: { timer: PRESET_TIMER, logger: new ListrLogger({ useIcons: true, processOutput: new ProcessOutput(progressStream, progressStream) }) },
    },
  );

  let code: number = DR_EXIT.ok;
  try {
    await tasks.run();
  } catch (e) {
    const failedPhase = report.steps.find((s) => s.status === "failed");
    if (e instanceof RefusedError) {
      copy.remove();
      return refuse(e.message);
    }
    report.outcome = "failed";
    code = DR_EXIT.failed;
    const failedStep = timeline.failedStep();
    const where = failedStep ?? failedPhase;
    const next =
      failedStep
        ? `fix what ${failedStep.title} reports and run the same command again with --label ${plan.label}: the steps that finished are not run again`
        : failedPhase?.key.endsWith("/health")
          ? "the up finished: look at the platform's services (its RUNBOOK.md on the host), then probe again with the same command (nothing new runs for the same label)"
          : "fix the cause and run the same command again";
    const line = `✖ failed at ${where ? `${where.title} (${where.key})` : "an unknown step"}: ${oneLine(where?.detail ?? (e instanceof Error ? e.message : String(e)))}. Next: ${next}`;
    deps.progress(line + "\n");
    report.notes.push(line);
  } finally {
    report.steps.splice(report.steps.findIndex((s) => s.key === "rebuild/up") + 1, 0, ...timeline.steps);
    report.restored.push(...timeline.restored);
    copy.remove();
  }
  for (const p of automated) {
    const at = healthy.get(p.platform);
    report.objectives.push({
      platform: p.platform,
      rtoSeconds: at ? (Date.parse(at) - Date.parse(startedAt)) / 1000 : undefined,
      rtoTargetSeconds: p.targets.rtoSeconds,
      rpoTargetSeconds: p.targets.rpoSeconds,
      targetSource: p.targets.source,
    });
    if (report.outcome === "ok") report.notes.push(`${p.platform} afterwards: ${p.switches!.afterwards}`);
  }
  report.notes.push("RTO here is the rebuild's start to healthy: the time between the loss and the start is not known to the CLI (a drill measures it). RPO is not measured by a rebuild.");
  if (o.writeConfig && report.outcome === "ok") report.notes.push(`The switches were written into Pulumi.${o.stack}.yaml (--write-config).`);
  if (!o.writeConfig) report.notes.push(`The switches were set in a copy of Pulumi.${o.stack}.yaml; the stack file itself is unchanged: make the same change there (or rerun with --write-config) so the next up keeps them.`);
  return finish(code);
}

class RefusedError extends Error {}

/** One line of at most 400 characters: for the failure line and the report's table cells. */
function oneLine(text: string): string {
  const t = text.replace(/\s+/g, " ").trim().replace(/[.:]$/, "");
  return t.length > 400 ? `${t.slice(0, 397)}...` : t;
}
