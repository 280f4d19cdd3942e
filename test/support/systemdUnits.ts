// systemd units rendered by a plan, checked by their consumer: `systemd-analyze verify` (it refuses an unknown key or a
// bad OnCalendar) and `systemd-analyze calendar` (when a timer really fires). Used by the PITR schedule tests of every
// platform that runs pgBackRest from timers on a host (Bunty, Pencom). What verify cannot check here: that the unit's
// ExecStart binary exists on the real host and that the named User exists there (it runs without that host's /etc).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

const UNIT_DIR = "/etc/systemd/system/";

/** The unit files among a plan's rendered files (by absolute path), by unit name. */
export function systemdUnits(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).filter(([p]) => p.startsWith(UNIT_DIR)).map(([p, text]) => [basename(p), text]));
}

/** `systemd-analyze verify` of the units (written to a temp dir under their own names): its exit status and output. */
export function verifyUnits(units: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "lazarus-units-"));
  try {
    const paths = Object.entries(units).map(([name, text]) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    });
    const r = spawnSync("systemd-analyze", ["verify", ...paths], { encoding: "utf8" });
    return { status: r.status, output: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The weekdays on which a timer's OnCalendar fires at `time` UTC over its next 7 elapses (systemd-analyze calendar). */
export function timerWeekdays(timerText: string, time = "01:00:00"): Set<string> {
  const spec = /^OnCalendar=(.+)$/m.exec(timerText)?.[1];
  if (!spec) throw new Error(`no OnCalendar= line in the timer:\n${timerText}`);
  const out = spawnSync("systemd-analyze", ["calendar", "--iterations=7", spec], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } }).stdout;
  return new Set([...out.matchAll(new RegExp(`(?:Next elapse|Iter\\. #\\d+): (\\w{3}) \\S+ ${time} UTC`, "g"))].map((m) => m[1]!));
}
