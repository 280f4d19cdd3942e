// Adding a platform touches its folder, the registry and the stack files, nothing else. The worked example is the
// "hello" platform in test/fixtures/platforms/hello/ (README: "Adding a platform"): given to the loader and the planner
// as one more registry entry, with a stack-file block, it is validated, planned and declared by the same code as KRO
// and GoodGo; without the registry entry its stack-file key is unknown.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../config/errors";
import { loadStackConfig } from "../../config/load";
import { PLATFORMS } from "../../stacks/registry";
import { hello } from "../fixtures/platforms/hello";
import { byType, keepOnlyPlatforms, planFor, rawStack, T } from "../support/stacks";

const WITH_HELLO = [...PLATFORMS, hello];

/** prod's stack file with only a hello block, on an existing server, and no DigitalOcean settings. */
const helloOnly = (c: Record<string, any>) => {
  keepOnlyPlatforms(c, []);
  for (const k of ["region", "project", "vpc", "sshKeys", "adminCidrs"]) delete c["lazarus:environment"][k];
  c["lazarus:hello"] = { host: { existing: { address: "192.0.2.30", port: 2222 } }, image: "nginx:1.27-alpine", operations: [{ id: "2026-12-01-restart", action: "restart" }] };
};

describe("adding a platform (the hello example)", () => {
  it("is unknown to a stack until the registry lists it", () => {
    expect(() => loadStackConfig(rawStack("prod", { patch: helloOnly }), { allowMissingSecrets: true })).toThrow(ConfigError);
    try {
      loadStackConfig(rawStack("prod", { patch: helloOnly }), { allowMissingSecrets: true });
    } catch (e) {
      expect((e as ConfigError).problems.join("\n")).toMatch(/lazarus:hello: unknown key/);
    }
  });

  it("with its registry entry: validated with file and key, secrets listed, like any platform", () => {
    const bad = (c: Record<string, any>) => {
      helloOnly(c);
      c["lazarus:hello"].image = "nginx";
    };
    expect(() => loadStackConfig(rawStack("prod", { patch: bad }), { allowMissingSecrets: true, platforms: WITH_HELLO })).toThrow(/Pulumi\.prod\.yaml: lazarus:hello\.image: /);
    const config = loadStackConfig(rawStack("prod", { patch: helloOnly }), { allowMissingSecrets: true, platforms: WITH_HELLO });
    expect(config.secretsMissing).toEqual(["helloSshPrivateKey"]);
    expect(config.digitalocean).toBeUndefined();
  });

  it("is planned and declared by the shared code: compose deployment over SSH to its server, its operation, no cloud resource", async () => {
    const plan = await planFor("prod", { patch: helloOnly, platforms: WITH_HELLO });
    expect(plan.resources.filter((r) => r.type.startsWith("digitalocean:"))).toEqual([]);
    expect(plan.resources.map((r) => r.type)).toEqual(expect.arrayContaining(["lazarus:platform:Hello", "lazarus:host:ExistingHost", "lazarus:host:ComposeDeployment"]));
    const commands = byType(plan, T.command);
    const names = commands.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(["hello-prod-compose-up", "hello-prod-op-2026-12-01-restart", "hello-prod-software-preflight"]));
    for (const c of commands) expect(c.rawInputs.connection).toMatchObject({ host: "192.0.2.30", port: 2222, user: "root" });
    expect(plan.files.map((f) => f.path)).toEqual(["/srv/hello/docker-compose.yml"]);
  });
});
