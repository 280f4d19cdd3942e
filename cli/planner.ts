// Runs the program offline and collects what a reviewer needs: the declared resources and the rendered host files.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, type LoadOptions, type RawStackConfig } from "../config/load";
import { captureProgram, type CapturedRun } from "../lib/runtime/capture";
import { takeRenderedFiles } from "../lib/renderedFiles";
import { declareLazarus, planPlatforms } from "../stacks";

export interface PlannedFile {
  platform: string;
  host: string;
  path: string;
  mode: string;
  secret: boolean;
  /** Undefined for secrets: their content is never materialised by the plan. */
  content?: string;
}

export interface Plan extends CapturedRun {
  files: PlannedFile[];
}

async function resolveInput(value: pulumi.Input<string>): Promise<string> {
  if (!pulumi.Output.isInstance(value)) return value instanceof Promise ? await value : value;
  return (await (value as unknown as { promise(): Promise<string> }).promise()) ?? "";
}

/**
 * Declares the stack under mocks. Throws ConfigError before anything is declared when the config is invalid or a
 * platform's plan refuses it (a value only a renderer checks).
 */
export async function planStack(raw: RawStackConfig, options: Pick<LoadOptions, "platforms"> = {}): Promise<Plan> {
  const load: LoadOptions = { ...options, allowMissingSecrets: true };
  planPlatforms(loadStackConfig(raw, load));
  takeRenderedFiles();
  const run = await captureProgram(raw, () => declareLazarus(load));
  const files: PlannedFile[] = [];
  for (const f of takeRenderedFiles()) {
    const { content, ...meta } = f;
    files.push(f.secret ? meta : { ...meta, content: await resolveInput(content) });
  }
  return { ...run, files };
}

/** Writes every non-secret rendered file under `outDir/<platform>/<host>/<absolute path on host>`. */
export async function writeRenderedFiles(plan: Plan, outDir: string): Promise<{ written: string[]; skippedSecrets: string[] }> {
  const written: string[] = [];
  const skippedSecrets: string[] = [];
  for (const f of plan.files) {
    if (f.secret || f.content === undefined) {
      skippedSecrets.push(`${f.host}:${f.path}`);
      continue;
    }
    const target = join(outDir, f.platform, f.host, f.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.content);
    written.push(target);
  }
  return { written, skippedSecrets };
}
