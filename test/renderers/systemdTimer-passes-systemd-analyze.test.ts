// The systemd timer renderer checked by systemd itself: every unit Bunty's prod and staging plans ship passes
// `systemd-analyze verify` with no complaint (it warns and exits 0 on a setting it ignores, so the output must be
// empty too), and every OnCalendar parses with `systemd-analyze calendar`, falling at the time the stack file says.
// Limits: verify parses the files and checks that the program exists; it does not run the job (no systemd runs here).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RenderInputError } from "../../renderers/renderInputError";
import { renderSystemdTimer } from "../../renderers/systemdTimer";
import { bunty } from "../../stacks/bunty";
import { planBunty } from "../../stacks/bunty/plan";
import { stackPlatformConfig } from "../support/stacks";

const dir = mkdtempSync(join(tmpdir(), "lazarus-systemd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function verify(files: Record<string, string>) {
  const paths = Object.entries(files).map(([name, text]) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  });
  const r = spawnSync("systemd-analyze", ["verify", "--man=no", ...paths], { encoding: "utf8" });
  return { code: r.status, output: (r.stdout + r.stderr).trim() };
}

const unitsOf = (stack: "prod" | "staging") => {
  const plan = planBunty(stackPlatformConfig(stack, bunty), { stack, stackFile: `Pulumi.${stack}.yaml`, environment: {} as never });
  return Object.fromEntries(Object.entries(plan.files).filter(([p]) => p.startsWith("/etc/systemd/system/")).map(([p, t]) => [p.split("/").pop()!, t]));
};

describe("Bunty's backup timers under systemd-analyze", () => {
  it.each(["prod", "staging"] as const)("%s: the daily backup, the weekly verification and (host PostgreSQL) the pgBackRest timers pass systemd-analyze verify", (stack) => {
    const units = unitsOf(stack);
    const backups = ["bunty-backup-verify.service", "bunty-backup-verify.timer", "bunty-backup.service", "bunty-backup.timer"];
    // Staging's PostgreSQL is on the host: its pgBackRest full and differential timers (lib/postgresPitr.ts) too.
    const pitr = ["lazarus-bunty-pitr-diff.service", "lazarus-bunty-pitr-diff.timer", "lazarus-bunty-pitr-full.service", "lazarus-bunty-pitr-full.timer"];
    expect(Object.keys(units).sort()).toEqual(stack === "staging" ? [...backups, ...pitr] : backups);
    const r = verify(units);
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
  });

  it("schedules the backup daily at 02:00 UTC and the verification on Sundays at 04:00 UTC (the runbook's weekly backup check)", () => {
    const units = unitsOf("prod");
    const calendar = (timer: string) => /^OnCalendar=(.*)$/m.exec(units[timer]!)![1]!;
    const normalized = (expr: string) => {
      const r = spawnSync("systemd-analyze", ["calendar", expr], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      return /Normalized form: (.*)/.exec(r.stdout)![1];
    };
    expect(normalized(calendar("bunty-backup.timer"))).toBe("*-*-* 02:00:00 UTC");
    expect(normalized(calendar("bunty-backup-verify.timer"))).toBe("Sun *-*-* 04:00:00 UTC");
    expect(units["bunty-backup.service"]).toContain('"--plain-copy" "bunty-latest.sql.gz" "backup"');
    expect(units["bunty-backup.service"]).toContain('"--retention-days" "7"');
  });

  it("quotes words so systemd passes them as written ($ and % doubled, quotes escaped), and systemd accepts the result", () => {
    const units = renderSystemdTimer({ name: "odd", description: "odd words", command: ["/bin/echo", 'a "b"', "$HOME", "100%", "back\\slash"], onCalendar: "daily" });
    expect(units.service).toContain('ExecStart="/bin/echo" "a \\"b\\"" "$$HOME" "100%%" "back\\\\slash"');
    expect(verify({ "odd.service": units.service, "odd.timer": units.timer }).output).toBe("");
  });

  it("refuses what would not parse, naming the field", () => {
    expect(() => renderSystemdTimer({ name: "x", description: "d", command: ["bash", "x"], onCalendar: "daily" })).toThrow(RenderInputError);
    expect(() => renderSystemdTimer({ name: "x", description: "d", command: ["/bin/true"], onCalendar: "daily\nExecStart=/bin/evil" })).toThrow(/onCalendar/);
    expect(() => renderSystemdTimer({ name: "x y", description: "d", command: ["/bin/true"], onCalendar: "daily" })).toThrow(/name/);
  });
});
