// Which command provider plugin the engine tests find (lib/engine/install.ts findCommandPlugin): the one installed in
// the engine's PULUMI_HOME decides, whoever built it; engine.json only says whether tools/build-engine.sh could.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findCommandPlugin, type EngineInstall, type EngineManifest } from "../../../lib/engine/install";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function engine(status: "built" | "blocked"): Extract<EngineInstall, { present: true }> {
  const dir = mkdtempSync(join(tmpdir(), "lazarus-engine-gate-"));
  dirs.push(dir);
  const component = (version: string) => ({ version, module: `m@${version}`, status: "built" as const });
  const manifest: EngineManifest = {
    key: "k",
    bin: join(dir, "bin"),
    pulumiHome: join(dir, "home"),
    pulumi: component("3.274.1"),
    nodejsHost: component("3.188.0"),
    command: { version: "1.2.1", module: "github.com/pulumi/pulumi-command/provider@v0", status, ...(status === "blocked" ? { reason: "not served by the Go module proxy: 403 Forbidden" } : {}) },
  };
  return { present: true, dir, bin: join(dir, "bin"), pulumiHome: join(dir, "home"), manifest };
}

function install(e: Extract<EngineInstall, { present: true }>, options: { partial?: boolean } = {}): void {
  const pluginDir = join(e.pulumiHome, "plugins", "resource-command-v1.2.1");
  mkdirSync(pluginDir, { recursive: true });
  writeFileSync(join(pluginDir, "pulumi-resource-command"), "#!/bin/sh\n", { mode: 0o755 });
  if (options.partial) writeFileSync(`${pluginDir}.partial`, "");
}

describe("the command provider plugin the engine tests use", () => {
  it("none installed while the build is blocked: not installed, with the build's reason and the command that installs one", () => {
    const e = engine("blocked");
    const found = findCommandPlugin(e);
    expect(found.installed).toBe(false);
    if (found.installed) return;
    expect(found.reason).toContain("not served by the Go module proxy: 403 Forbidden");
    expect(found.reason).toContain(`plugin install resource command 1.2.1 --file <binary>`);
    expect(found.reason).toContain(join(e.pulumiHome, "plugins", "resource-command-v1.2.1"));
  });

  it("one installed by hand while the build is blocked: found, and said to be installed by hand", () => {
    const e = engine("blocked");
    install(e);
    expect(findCommandPlugin(e)).toEqual({
      installed: true,
      version: "1.2.1",
      path: join(e.pulumiHome, "plugins", "resource-command-v1.2.1", "pulumi-resource-command"),
      origin: "installed by hand (tools/build-engine.sh could not build it)",
    });
  });

  it("one built by the build: found as such; an unfinished install (.partial) is not a plugin", () => {
    const built = engine("built");
    install(built);
    expect(findCommandPlugin(built)).toMatchObject({ installed: true, origin: "built by tools/build-engine.sh" });
    const partial = engine("blocked");
    install(partial, { partial: true });
    expect(findCommandPlugin(partial).installed).toBe(false);
  });
});
