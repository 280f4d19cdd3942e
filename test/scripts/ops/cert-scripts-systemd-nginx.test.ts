// The certificate scripts with a host nginx under systemd (Bunty's): the renewal hook cert-issue.sh installs restarts
// the unit with systemctl and checks it is active; a missing unit or a mix with compose options is refused before
// anything is touched. systemctl is test/support/fake-systemctl (no systemd here; see its header for what it cannot show).
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { scriptRun } from "../../support/scriptRun";
import { REPO } from "../../support/testHost";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lazarus-systemctl-"));
  cpSync(join(REPO, "test/support/fake-systemctl"), join(dir, "systemctl"));
  writeFileSync(join(dir, "units"), "nginx\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const hook = (args: string[]) =>
  scriptRun(
    spawnSync("bash", [join(REPO, "scripts/ops/cert-deploy-hook.sh"), ...args], {
      encoding: "utf8",
      env: { PATH: `${dir}:/usr/bin:/bin`, FAKE_SYSTEMCTL_DIR: dir, LAZARUS_HOOK_WAIT_TIMEOUT: "2" },
    }),
  );
const calls = () => readFileSync(join(dir, "calls"), "utf8").trim().split("\n");

describe("cert-deploy-hook.sh --systemd-unit", () => {
  it("restarts the unit after a renewal and reports it active", () => {
    const r = hook(["--cert-name", "bunty-prod", "--systemd-unit", "nginx"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", action: "restarted", service: "nginx", nginx: { service: "nginx", state: "active" } });
    expect(calls()).toEqual(["cat nginx", "restart nginx", "is-active nginx"]);
  });

  it("fails with 69 when the unit does not come back active", () => {
    writeFileSync(join(dir, "failing"), "nginx\n");
    const r = hook(["--cert-name", "bunty-prod", "--systemd-unit", "nginx"]);
    expect(r.code).toBe(69);
    expect(r.result.error).toMatch(/restart of nginx failed/);
  });

  it("refuses an unknown unit (65) and a unit mixed with compose options (64), touching nothing", () => {
    const unknown = hook(["--cert-name", "bunty-prod", "--systemd-unit", "apache2"]);
    expect(unknown.code).toBe(65);
    expect(unknown.result.error).toBe("no systemd unit named apache2");
    const mixed = hook(["--cert-name", "bunty-prod", "--systemd-unit", "nginx", "--nginx-service", "nginx"]);
    expect(mixed.code).toBe(64);
    expect(calls()).toEqual(["cat apache2"]);
  });
});
