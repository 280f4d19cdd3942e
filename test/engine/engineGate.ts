// Whether the engine tests can run, and a scratch copy of a fixture project for them.
//
// Policy: the engine is built by tools/build-engine.sh, which tools/install-deps.sh runs, so CI always has it.
// - Engine absent (no engine.json or binaries under the cache): with CI=true the engine tests FAIL (a missing install
//   step must not pass as green); locally they are skipped with one line saying how to build it.
// - The command provider: the tests that need it run whenever a command plugin of the pinned version is installed in
//   the engine's PULUMI_HOME (built by tools/build-engine.sh, or built from the provider's source by hand and installed
//   with `pulumi plugin install`, while its Go module is not served); otherwise they are skipped everywhere with the
//   exact reason (engine.json's BLOCKED line and the command that installs one).
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineStack } from "../../lib/engine/driver";
import { findCommandPlugin, findEngine, REPO_ROOT, type EngineInstall } from "../../lib/engine/install";
import { startSshd, type SshServer } from "../support/sshd";

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
  if (needs.command) {
    // What the engine would load decides, not engine.json: a plugin installed by hand counts (README: "The real engine").
    const plugin = findCommandPlugin(engine);
    if (!plugin.installed) {
      console.warn(`engine tests skipped: ${plugin.reason}`);
      return { run: false, reason: plugin.reason, mustFail: false, engine };
    }
    console.warn(`engine tests use command provider ${plugin.version} at ${plugin.path}, ${plugin.origin}`);
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

/** An engine stack of a fixture that ships files to a host directory over the loopback sshd, and its cleanup. */
export interface SshFixtureStack {
  stack: EngineStack;
  sshd: SshServer;
  /** The directory on the "host" the fixture writes into. */
  hostDir: string;
  remove(): Promise<void>;
}

/**
 * Opens `fixture` as stack "test" with the login (host, port, user), `dir` and the given config set; `login: "keyFile"`
 * passes the sshd's key file path, `"privateKey"` the key itself as a secret (what the command provider takes).
 */
export async function openSshFixtureStack(
  fixture: string,
  login: "keyFile" | "privateKey",
  config: Record<string, { value: string; secret?: boolean }>,
): Promise<SshFixtureStack> {
  const sshd = await startSshd();
  const project = scratchProject(fixture);
  const hostDir = mkdtempSync(join(tmpdir(), "lazarus-engine-host-"));
  const stack = await EngineStack.open({ workDir: project.dir, stackName: "test", passphrase: "lazarus-engine-test" });
  await stack.setConfig("host", sshd.host);
  await stack.setConfig("port", String(sshd.port));
  await stack.setConfig("user", sshd.user);
  if (login === "keyFile") await stack.setConfig("keyFile", sshd.keyFile);
  else await stack.setConfig("privateKey", readFileSync(sshd.keyFile, "utf8"), { secret: true });
  await stack.setConfig("dir", hostDir);
  for (const [key, { value, secret }] of Object.entries(config)) await stack.setConfig(key, value, { secret: secret ?? false });
  return {
    stack,
    sshd,
    hostDir,
    async remove() {
      await sshd.stop();
      project.remove();
      rmSync(hostDir, { recursive: true, force: true });
      rmSync(stack.backendDir, { recursive: true, force: true });
    },
  };
}
