// scripts/lib/common.sh, the conventions every host script shares: one JSON result line, and an exit code that is
// the script's own even when RESULT_FILE cannot be written.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const COMMON = join(__dirname, "..", "..", "..", "scripts", "lib", "common.sh");
const run = (body: string, env: Record<string, string> = {}) =>
  spawnSync("bash", ["-c", `set -euo pipefail; source '${COMMON}'; ${body}`], { encoding: "utf8", env: { ...process.env, ...env } });

describe("common.sh", () => {
  it("prints one JSON result line and writes it to RESULT_FILE", () => {
    const file = join(mkdtempSync(join(tmpdir(), "lazarus-common-")), "result.json");
    const r = run(`emit_result ok 0 --arg file x --argjson bytes 3`, { RESULT_FILE: file });
    expect(r.status).toBe(0);
    const line = JSON.parse(r.stdout);
    expect(line).toMatchObject({ status: "ok", exit_code: 0, file: "x", bytes: 3 });
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(line);
  });

  it("die exits with its own code and message, even when RESULT_FILE's directory does not exist", () => {
    const r = run(`die "$EX_NOINPUT" "backup file not found"`, { RESULT_FILE: "/nonexistent/lazarus/result.json" });
    expect(r.status).toBe(66);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "error", exit_code: 66, error: "backup file not found" });
    expect(r.stderr).toContain("could not write RESULT_FILE");
  });
});
