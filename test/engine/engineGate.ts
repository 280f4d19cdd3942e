// Whether the engine tests can run, and a scratch copy of a fixture project for them.
//
// Policy: the engine is built by tools/build-engine.sh, which tools/install-deps.sh runs, so CI always has it.
// - Engine absent (no engine.json or binaries under the cache): with CI=true the engine tests FAIL (a missing install
//   step must not pass as green); locally they are skipped with one line saying how to build it.
// - A component the build reported BLOCKED (its Go module is not served; engine.json says which and why): the tests
//   that need it are skipped everywhere, with that reason; the build printed the same line.
import { cpSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { findEngine, REPO_ROOT, type EngineInstall } from "../../lib/engine/install";

export interface EngineGate {
  run: boolean;
  /** Set when the tests cannot run: why. */
  reason?: string;
  /** The engine is absent in CI: the tests must fail, not skip. */
  mustFail: boolean;
  engine: EngineInstall;
}

export function engineGate(needs: { command?: boolean } = {}): EngineGate {
  const engine = findEngine();
  const ci = process.env.CI === "true";
  if (!engine.present) {
    if (!ci) console.warn(`engine tests skipped: ${engine.reason}`);
    return { run: false, reason: engine.reason, mustFail: ci, engine };
  }
  if (needs.command && engine.manifest.command.status !== "built") {
    const reason = `command provider ${engine.manifest.command.version} blocked: ${engine.manifest.command.reason}`;
    console.warn(`engine tests skipped: ${reason}`);
    return { run: false, reason, mustFail: false, engine };
  }
  return { run: true, mustFail: false, engine };
}

/**
 * Copies a fixture project under the repository's .scratch/ (ignored by git), so the program resolves the repository's
 * node_modules and the stack's Pulumi.<stack>.yaml never lands in test/fixtures. Returns the copy and its cleanup.
 */
export function scratchProject(fixture: string): { dir: string; remove: () => void } {
  const root = join(REPO_ROOT, ".scratch");
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, "engine-"));
  cpSync(join(REPO_ROOT, "test/fixtures/engine", fixture), dir, { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
