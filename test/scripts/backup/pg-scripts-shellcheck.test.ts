// The PostgreSQL backup scripts are shellcheck-clean, answer --help with a usage line, document their inputs and exit
// codes, and keep working when scripts/{lib,backup} is copied elsewhere as a whole (as into a backup container).
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BACKUP_SCRIPTS } from "../../support/pgHarness";

const scripts = ["pg-backup.sh", "pg-verify.sh", "pg-restore.sh", "audit-export.sh"];

describe("PostgreSQL backup scripts as shipped", () => {
  const copy = mkdtempSync(join(tmpdir(), "lazarus-scripts-"));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it.each([...scripts, "lib-pg.sh"])("%s passes shellcheck -x", (name) => {
    const r = spawnSync("shellcheck", ["-x", "-s", "bash", resolve(BACKUP_SCRIPTS, name)], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it.each(scripts)("%s documents usage, environment and exit codes, and prints usage on --help from a copied folder", (name) => {
    const text = readFileSync(resolve(BACKUP_SCRIPTS, name), "utf8");
    expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    expect(text).toMatch(/^set -euo pipefail$/m);
    expect(text).toMatch(/^# Usage: /m);
    expect(text).toMatch(/^# Exit codes: /m);
    expect(text).toMatch(/PGHOST/);
    cpSync(resolve(BACKUP_SCRIPTS, ".."), join(copy, "scripts"), { recursive: true });
    const r = spawnSync(join(copy, "scripts", "backup", name), ["--help"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: ${name.replace(".", "\\.")} `));
    const bad = spawnSync(join(copy, "scripts", "backup", name), ["--no-such-flag"], { encoding: "utf8" });
    expect(bad.status).toBe(64);
    expect(JSON.parse(bad.stdout.trim().split("\n").pop()!)).toMatchObject({ status: "error", exit_code: 64 });
  });
});
