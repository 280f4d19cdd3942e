// A scheduled job on a systemd host as a oneshot service and its timer, rendered from typed input. Pure: no Pulumi,
// no I/O. A timer rather than a crontab line: the job's runs and failures are in `systemctl list-timers` and the
// journal (`journalctl -u <name>`), a missed run (host down at that minute) is caught up at boot (Persistent=true),
// two runs never overlap (a oneshot service is not started again while it runs), and `systemd-analyze verify` and
// `systemd-analyze calendar` check the files before they are shipped (test/renderers/systemdTimer-*.test.ts).
//
// ExecStart quoting follows systemd.service(5) "Command lines": every word double-quoted, `\` and `"` escaped, and
// the specifiers systemd expands in them doubled (`%` → `%%`, `$` → `$$`), so a word reaches the program exactly.

import { refuseField } from "./renderInputError";

const RENDERER = "systemd timer";

export interface SystemdTimerJob {
  /** Unit name without suffix (example: bunty-backup): <name>.service and <name>.timer. */
  name: string;
  description: string;
  /** The program and its arguments, each word passed as is. The program must be an absolute path. */
  command: string[];
  /** A systemd calendar expression (example: "*-*-* 02:00:00 UTC", "Sun *-*-* 04:00:00 UTC"). */
  onCalendar: string;
  /** Units this job must run after (and wants), e.g. network-online.target. */
  after?: string[];
  /** The OS user the job runs as (default root). */
  user?: string;
  /** Environment of the job: plain names and values only (never a secret: unit files are world-readable). */
  environment?: Record<string, string>;
}

export interface SystemdTimerUnits {
  service: string;
  timer: string;
}

const UNIT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.@-]*$/;

function execWord(field: string, w: string): string {
  if (typeof w !== "string" || /[\n\r\0]/.test(w)) refuseField(RENDERER, field, "a command word must be a string without newlines or NUL");
  return `"${w.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`;
}

export function renderSystemdTimer(job: SystemdTimerJob): SystemdTimerUnits {
  if (!UNIT_NAME.test(job.name ?? "")) refuseField(RENDERER, "name", `is not a unit name (example: bunty-backup), got ${JSON.stringify(job.name)}`);
  if (typeof job.description !== "string" || !job.description || /[\n\r%]/.test(job.description)) {
    refuseField(RENDERER, "description", "must be one line without % (example: Bunty database backup)");
  }
  if (!Array.isArray(job.command) || job.command.length === 0 || !/^\/[^\s]*$/.test(job.command[0] ?? "")) {
    refuseField(RENDERER, "command", `must start with an absolute program path (example: ["/bin/bash", "/opt/lazarus/scripts/ops/app-data.sh", "backup"])`);
  }
  if (typeof job.onCalendar !== "string" || !/^[A-Za-z0-9*:.,\/ ~-]+$/.test(job.onCalendar)) {
    refuseField(RENDERER, "onCalendar", `is not a calendar expression (example: "*-*-* 02:00:00 UTC"), got ${JSON.stringify(job.onCalendar)}`);
  }
  for (const u of job.after ?? []) if (!UNIT_NAME.test(u)) refuseField(RENDERER, "after", `"${u}" is not a unit name (example: network-online.target)`);
  if (job.user !== undefined && !/^[a-z_][a-z0-9_-]*$/.test(job.user)) refuseField(RENDERER, "user", `is not a user name (example: postgres), got ${JSON.stringify(job.user)}`);
  for (const [k, v] of Object.entries(job.environment ?? {})) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k) || !/^[A-Za-z0-9_@%+=:,./-]*$/.test(v)) refuseField(RENDERER, `environment.${k}`, "must be an upper-case name and a plain value (letters, digits, _@%+=:,./-)");
  }
  const after = job.after?.length ? [`After=${job.after.join(" ")}`, `Wants=${job.after.join(" ")}`] : [];
  const service = [
    "# Rendered by Lazarus; pulumi up rewrites it.",
    "[Unit]",
    `Description=${job.description}`,
    ...after,
    "",
    "[Service]",
    "Type=oneshot",
    ...(job.user ? [`User=${job.user}`] : []),
    ...Object.entries(job.environment ?? {}).map(([k, v]) => `Environment=${k}=${v.replace(/%/g, "%%")}`),
    `ExecStart=${job.command.map((w, i) => execWord(`command[${i}]`, w)).join(" ")}`,
    "",
  ].join("\n");
  const timer = [
    "# Rendered by Lazarus; pulumi up rewrites it.",
    "[Unit]",
    `Description=${job.description} (schedule)`,
    "",
    "[Timer]",
    `OnCalendar=${job.onCalendar}`,
    // A run missed while the host was down happens at the next boot.
    "Persistent=true",
    `Unit=${job.name}.service`,
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
  return { service, timer };
}
