// The README's stack-file examples are real config: each one, merged into Pulumi.prod.yaml, passes validation
// (including prod's confirmation values), so the README cannot drift from the schema unnoticed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadStackConfig } from "../../config/load";
import { PROJECT_DIR, rawStack } from "../support/stacks";

const readme = readFileSync(join(PROJECT_DIR, "README.md"), "utf8");
const examples = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

describe("the README's stack-file examples", () => {
  it("exist", () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });

  it.each(examples.map((text, i) => ({ i, text })))("example $i is valid config on prod", ({ text }) => {
    const doc = parse(text) as Record<string, Record<string, unknown>>;
    const raw = rawStack("prod", {
      patch: (c) => {
        for (const [key, value] of Object.entries(doc)) Object.assign(c[key], value);
      },
    });
    expect(() => loadStackConfig(raw, { allowMissingSecrets: true })).not.toThrow();
  });
});
