// The registry is the one list of platforms: names and secrets cannot collide, every platform's secrets carry its
// name, and the README's runbook table has rows for every registered platform.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENVIRONMENT_SECRETS } from "../../config/secrets";
import { secretSpecs } from "../../config/load";
import { PLATFORMS } from "../../stacks/registry";
import { ALL_SENTINEL_SECRETS, PROJECT_DIR, planFor } from "../support/stacks";

describe("the platform registry", () => {
  it("has unique platform names, each a lowercase stack-file key", () => {
    const names = PLATFORMS.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z][a-z0-9]*$/);
  });

  it("gives every secret one owner: the environment's are shared, each platform's start with its name", () => {
    const all = [...Object.keys(ENVIRONMENT_SECRETS), ...PLATFORMS.flatMap((p) => Object.keys(p.secrets))];
    expect(new Set(all).size).toBe(all.length);
    for (const p of PLATFORMS) for (const key of Object.keys(p.secrets)) expect(key.startsWith(p.name), `${p.name}: ${key}`).toBe(true);
    expect(Object.keys(secretSpecs()).sort()).toEqual([...all].sort());
  });

  it("has a row in the README's runbook table for every registered platform", () => {
    const readme = readFileSync(join(PROJECT_DIR, "README.md"), "utf8");
    const rows = readme.split("\n").filter((l) => /^\| \d{3} /.test(l));
    for (const p of PLATFORMS) {
      const mine = rows.filter((r) => r.startsWith(`| ${p.runbook} |`));
      expect(mine.length, `README rows for ${p.runbook}`).toBeGreaterThan(0);
      for (const r of mine) expect(r, "a registered platform is declared").not.toMatch(/not declared yet/);
    }
  });

  it("the test sentinels cover every registered secret: with them set, a plan of both stacks has no placeholder left", async () => {
    expect(Object.keys(ALL_SENTINEL_SECRETS).sort()).toEqual(Object.keys(secretSpecs()).map((k) => `lazarus:${k}`).sort());
    for (const stack of ["prod", "staging"]) {
      const plan = await planFor(stack, { secrets: ALL_SENTINEL_SECRETS });
      expect(JSON.stringify(plan.resources.map((r) => r.rawInputs)), stack).not.toContain("<unset secret");
    }
  });
});
