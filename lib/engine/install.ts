// Where tools/build-engine.sh put the real Pulumi engine on this machine, and what it could build.
// The versions come from tools/engine/versions.env (the one place they are pinned); the build writes engine.json beside
// the binaries, naming each component's module and whether it was built or is blocked (and why).
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(__dirname, "../..");
export const VERSIONS_FILE = join(REPO_ROOT, "tools/engine/versions.env");

export interface EngineComponent {
  version: string;
  /** module@version it is built from. */
  module: string;
  status: "built" | "blocked";
  /** Why a blocked component could not be built. */
  reason?: string;
}

export interface EngineManifest {
  key: string;
  bin: string;
  pulumiHome: string;
  pulumi: EngineComponent;
  nodejsHost: EngineComponent;
  command: EngineComponent;
}

export type EngineInstall =
  | { present: true; dir: string; bin: string; pulumiHome: string; manifest: EngineManifest }
  | { present: false; dir: string; reason: string };

/** Parses versions.env (KEY=value lines, # comments). */
export function engineVersions(file = VERSIONS_FILE): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** The cache directory of the pinned versions, as tools/build-engine.sh computes it. */
export function engineDir(env: NodeJS.ProcessEnv = process.env): string {
  const v = engineVersions();
  const key = `pulumi-${v.PULUMI_VERSION}_nodejs-${v.NODEJS_HOST_VERSION}_command-${v.COMMAND_VERSION}`;
  const root = env.LAZARUS_ENGINE_DIR || join(env.HOME || homedir(), ".cache/lazarus-engine");
  return join(root, key);
}

/** Finds the built engine; `present: false` says what is missing and the command that builds it. */
export function findEngine(env: NodeJS.ProcessEnv = process.env): EngineInstall {
  const dir = engineDir(env);
  const manifestFile = join(dir, "engine.json");
  const hint = "run `bash tools/build-engine.sh` (tools/install-deps.sh does)";
  if (!existsSync(manifestFile)) return { present: false, dir, reason: `no engine at ${dir}: ${hint}` };
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as EngineManifest;
  const bin = join(dir, "bin");
  for (const name of ["pulumi", "pulumi-language-nodejs"]) {
    if (!existsSync(join(bin, name))) return { present: false, dir, reason: `${join(bin, name)} is missing: ${hint}` };
  }
  return { present: true, dir, bin, pulumiHome: join(dir, "home"), manifest };
}

/** The command provider plugin the engine would load: where it is, or why there is none. */
export type CommandPlugin =
  | { installed: true; version: string; path: string; origin: string }
  | { installed: false; version: string; reason: string };

/**
 * Finds the command provider plugin (the version pinned in versions.env) in the engine's PULUMI_HOME, where
 * `pulumi plugin install resource command <version> --file <binary>` puts it: plugins/resource-command-v<version>/
 * with no `.partial` marker beside it (the CLI leaves one while an install is unfinished). The engine loads exactly
 * that, whoever built it, so this is what decides whether command resources can run; engine.json only says whether
 * tools/build-engine.sh could build it (it cannot while the provider's Go module is not served).
 */
export function findCommandPlugin(engine: Extract<EngineInstall, { present: true }>): CommandPlugin {
  const version = engine.manifest.command.version;
  const pluginDir = join(engine.pulumiHome, "plugins", `resource-command-v${version}`);
  const path = join(pluginDir, "pulumi-resource-command");
  const installed = existsSync(path) && (statSync(path).mode & 0o111) !== 0 && !existsSync(`${pluginDir}.partial`);
  if (installed) {
    const origin =
      engine.manifest.command.status === "built" ? "built by tools/build-engine.sh" : "installed by hand (tools/build-engine.sh could not build it)";
    return { installed: true, version, path, origin };
  }
  const why =
    engine.manifest.command.status === "blocked"
      ? `tools/build-engine.sh could not build it: ${engine.manifest.command.reason}`
      : "engine.json says it was built, but the plugin is not installed: rerun `bash tools/build-engine.sh`";
  return {
    installed: false,
    version,
    reason:
      `no command ${version} plugin in ${pluginDir} (${why}); ` +
      `one built from the provider's v${version} source can be installed with ` +
      `\`PULUMI_HOME=${engine.pulumiHome} ${join(engine.bin, "pulumi")} plugin install resource command ${version} --file <binary>\` (README: "The real engine")`,
  };
}
