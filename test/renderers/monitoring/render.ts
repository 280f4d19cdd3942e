// Test helpers: render GoodGo's monitoring files into a temp dir and run the real Debian validators on them.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { goodgoMonitoringFiles, type GoodGoMonitoringOptions } from "../../../stacks/goodgo/monitoring";

export interface Rendered {
  dir: string;
  files: Record<string, string>;
  path(rel: string): string;
  remove(): void;
}

export function renderToTempDir(opts: GoodGoMonitoringOptions = { stack: "prod" }): Rendered {
  const dir = mkdtempSync(join(tmpdir(), "lazarus-monitoring-"));
  const files = goodgoMonitoringFiles(opts);
  for (const [rel, text] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return { dir, files, path: (rel) => join(dir, rel), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  out: string;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Run {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}\n${r.stderr}` };
}
