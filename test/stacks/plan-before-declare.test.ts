// Every platform's whole plan exists before the first resource is constructed: a value that only a renderer refuses
// (here nginx: a route path with a space, a host name served by two sites) fails with the stack file and the key, and
// nothing at all is registered with the engine. The positive control shows the same recorder does see a good stack's
// resources, so an empty record means "nothing declared", not "recorder broken".
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../config/errors";
import { runPlanCli } from "../../cli/plan";
import { declareLazarus } from "../../stacks";
import { patchedProject, rawStack } from "../support/stacks";

const badRoute = (c: Record<string, any>) => (c["lazarus:kro"].app.sites[0].routes[0].path = "/api v2/");
const servedTwice = (c: Record<string, any>) => (c["lazarus:kro"].app.sites[1].serverName = c["lazarus:kro"].app.sites[0].serverName);

/** Runs the program the way the engine does and records every resource registration the mock monitor receives. */
async function registrationsOf(patch: (c: Record<string, any>) => void): Promise<{ error?: unknown; registered: string[] }> {
  const registered: string[] = [];
  await pulumi.runtime.setMocks(
    { newResource: (args) => (registered.push(`${args.type}::${args.name}`), { id: `${args.name}-id`, state: args.inputs }), call: () => ({}) },
    "lazarus",
    "prod",
    true,
  );
  const raw = rawStack("prod", { patch });
  pulumi.runtime.setAllConfig(raw.values, raw.secretKeys);
  let error: unknown;
  try {
    declareLazarus({ allowMissingSecrets: true });
  } catch (e) {
    error = e;
  }
  // Registrations are asynchronous: give any constructed resource time to reach the monitor.
  await new Promise((r) => setTimeout(r, 200));
  return { error, registered };
}

afterEach(async () => {
  await pulumi.runtime.disconnect();
});

describe("plan before declare", () => {
  it("positive control: a good prod stack registers its resources with the recorder", async () => {
    const r = await registrationsOf(() => {});
    expect(r.error).toBeUndefined();
    expect(r.registered.length).toBeGreaterThan(50);
  });

  it("a route path only nginx refuses fails with file and key, and nothing is registered", async () => {
    const r = await registrationsOf(badRoute);
    expect(r.error).toBeInstanceOf(ConfigError);
    expect((r.error as ConfigError).problems).toEqual([
      expect.stringMatching(/^Pulumi\.prod\.yaml: lazarus:kro\.app\.sites: the nginx renderer refused it: sites\[0\]\.routes\[0\]\.path: "\/api v2\/" must start with \//),
    ]);
    expect(r.registered).toEqual([]);
  });

  it("the offline plan exits 2 on it, naming the key, and prints no resource", async () => {
    for (const patch of [badRoute, servedTwice]) {
      const r = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", patch)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/Pulumi\.prod\.yaml: lazarus:kro\.app\.sites: the nginx renderer refused it/);
      expect(r.stdout).toBe("");
    }
  });
});
