// What a run of one of scripts/ gives a test: its exit code, its output, and the JSON result line it ends with.
import type { SpawnSyncReturns } from "node:child_process";

export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The last line of stdout parsed as JSON; {} when it is missing or not JSON. */
  result: Record<string, unknown>;
}

export function scriptRun(r: SpawnSyncReturns<string>): ScriptRun {
  const lines = (r.stdout ?? "").trim().split("\n").filter(Boolean);
  let result: Record<string, unknown> = {};
  try {
    result = JSON.parse(lines[lines.length - 1] ?? "{}");
  } catch {
    result = {};
  }
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "", result };
}
