// Every operation script, the shared shell library and the fake docker CLI pass `shellcheck -x`.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../../support/testHost";

const files = [
  ...readdirSync(join(REPO, "scripts/ops")).filter((f) => f.endsWith(".sh")).map((f) => `scripts/ops/${f}`),
  ...readdirSync(join(REPO, "scripts/lib")).filter((f) => f.endsWith(".sh")).map((f) => `scripts/lib/${f}`),
  "test/support/fake-docker",
];

describe("shellcheck", () => {
  it("finds the operation scripts", () => {
    for (const s of ["compose-up.sh", "compose-shutdown.sh", "compose-service.sh", "compose-recover.sh", "cert-issue.sh", "cert-renew.sh"]) {
      expect(files).toContain(`scripts/ops/${s}`);
    }
  });

  it.each(files)("%s is shellcheck-clean", (file) => {
    const r = spawnSync("shellcheck", ["-x", "--severity=style", file], { cwd: REPO, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("script conventions", () => {
  it.each(files.filter((f) => f.startsWith("scripts/ops/") && !f.includes("/lib-")))("%s: strict mode, documented exit codes, usage", (file) => {
    const text = spawnSync("cat", [join(REPO, file)], { encoding: "utf8" }).stdout;
    expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    expect(text).toContain("\nset -euo pipefail\n");
    expect(text).toMatch(/^# Usage: /m);
    expect(text).toMatch(/^# Exit codes: /m);
    expect(text).toMatch(/^# Environment/m);
    const help = spawnSync("bash", [join(REPO, file), "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: /);
  });
});
