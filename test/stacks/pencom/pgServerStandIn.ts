// Running Pencom's PostgreSQL-server steps for real against a test cluster (test/support/pgbackrest.ts): a systemctl
// stand-in for that one cluster, and the plan's PITR setup text with only where things are changed.
//
// The stand-in `systemctl` and what it cannot check: `start`/`stop`/`restart` of the one unit (postgresql@15-main)
// drive that cluster with pg_ctl as postgres (start of a running cluster is a no-op, as systemd's start of an active
// unit); any other unit is refused like the real one (exit 5, "Unit X.service not found."). `enable [--now] UNIT...`
// refuses a unit with no file in the test's units directory (exit 1, "Unit file X does not exist.") and starts
// nothing; `daemon-reload` does nothing. Every call is recorded (calls()). It cannot show Debian's postgresql@ unit or
// pg_ctlcluster (its stop timeout, its own checks), nor what the timers do when they fire.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { PencomConfig } from "../../../stacks/pencom/config";
import { PENCOM_PITR_PATHS, pencomPitr } from "../../../stacks/pencom/pitr";
import type { PitrCluster } from "../../support/pgbackrest";
import { PG_BIN } from "../../support/postgres";
import { REPO } from "../../support/testHost";

export const PG_UNIT = "postgresql@15-main";

export interface SystemctlStandIn {
  /** The directory to put first in PATH. */
  dir: string;
  /** Every call's arguments, in order. */
  calls(): string[];
}

/** Writes `systemctl` into `dir` for the cluster in `dataDir` (server log `log`), timers' unit files in `unitsDir`. */
export function writeSystemctlStandIn(o: { dir: string; dataDir: string; log: string; unitsDir?: string }): SystemctlStandIn {
  const file = join(o.dir, "systemctl");
  const callsFile = join(o.dir, "systemctl.calls");
  const pgCtl = (args: string) => `runuser -u postgres -- '${PG_BIN}/pg_ctl' -D '${o.dataDir}' ${args} >&2`;
  writeFileSync(
    file,
    `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$*" >>'${callsFile}'
cmd=\${1-}
running() { [[ -f '${o.dataDir}/postmaster.pid' ]] && runuser -u postgres -- '${PG_BIN}/pg_ctl' -D '${o.dataDir}' status >/dev/null 2>&1; }
case $cmd in
  daemon-reload) ;;
  enable)
    shift
    [[ \${1-} == --now ]] && shift
    for u in "$@"; do
      [[ -n '${o.unitsDir ?? ""}' && -f '${o.unitsDir ?? "/nonexistent"}'/"$u" ]] || { echo "Failed to enable unit: Unit file $u does not exist." >&2; exit 1; }
    done ;;
  start | stop | restart)
    unit=\${2-}
    unit=\${unit%.service}
    [[ $unit == '${PG_UNIT}' ]] || { echo "Failed to $cmd $unit.service: Unit $unit.service not found." >&2; exit 5; }
    case $cmd in
      stop) if running; then ${pgCtl("-m fast -w stop")}; fi ;;
      start) running || ${pgCtl(`-l '${o.log}' -w -t 120 start`)} ;;
      restart)
        if running; then ${pgCtl("-m fast -w stop")}; fi
        ${pgCtl(`-l '${o.log}' -w -t 120 start`)} ;;
    esac ;;
  *) echo "systemctl stand-in: $cmd is not modelled" >&2; exit 1 ;;
esac
`,
    { mode: 0o755 },
  );
  return { dir: o.dir, calls: () => (existsSync(callsFile) ? readFileSync(callsFile, "utf8").split("\n").filter(Boolean) : []) };
}

/**
 * The plan's setup for the PostgreSQL server with the drill's places: the scripts, the directories, pgbackrest.conf,
 * the include dir and secrets file, the cluster's socket and port. Nothing else; a path left unmapped fails here.
 */
export function mappedPencomSetup(cfg: PencomConfig, c: PitrCluster, o: { backupDir: string; scratchRoot: string; port?: number }): string {
  const pitr = cfg.postgres.pitr!;
  const includeDir = join(c.root, "conf.d");
  const text = pencomPitr(cfg)!
    .setup.replaceAll(pitr.scratchRoot, o.scratchRoot) // before repoPath, its prefix
    .replaceAll(PENCOM_PITR_PATHS.secrets, join(includeDir, "secrets.conf"))
    .replaceAll(PENCOM_PITR_PATHS.includeDir, includeDir)
    .replaceAll(PENCOM_PITR_PATHS.pgbackrestConf, c.confFile)
    .replaceAll(pitr.repoPath, c.repoPath)
    .replaceAll(PENCOM_PITR_PATHS.logDir, join(c.root, "log"))
    .replaceAll(PENCOM_PITR_PATHS.spoolDir, join(c.root, "spool"))
    .replaceAll(PENCOM_PITR_PATHS.backupDir, o.backupDir)
    .replaceAll("/opt/lazarus/scripts", join(REPO, "scripts"))
    .replaceAll("--socket-dir /var/run/postgresql", `--socket-dir ${c.pg.baseDir}`)
    .replaceAll(`--port ${cfg.postgres.port}`, `--port ${o.port ?? c.pg.port}`);
  expect(text).not.toMatch(/[\s=']\/(etc|var|opt)\//);
  return text;
}

export interface SetupRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every JSON result line the setup's scripts printed, in order. */
  results: Record<string, any>[];
}

/** Runs the setup text as root (like the command resource) with the stand-in first in PATH. */
export function runSetup(text: string, o: { systemctl: SystemctlStandIn; c: PitrCluster; includeSecrets: boolean }): SetupRun {
  const env = {
    ...process.env,
    PATH: `${o.systemctl.dir}:${process.env.PATH}`,
    // The setup names no config: on the server pgBackRest reads its default /etc/pgbackrest/pgbackrest.conf and
    // /etc/pgbackrest/conf.d; here the same two, where the drill keeps them.
    PGBACKREST_CONFIG: o.c.confFile,
    ...(o.includeSecrets ? { PGBACKREST_CONFIG_INCLUDE_PATH: join(o.c.root, "conf.d") } : {}),
  };
  const r = spawnSync("bash", ["-c", text], { encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 });
  const results = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, any>);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, results };
}

/** The postmaster's pid (postmaster.pid's first line) and pg_postmaster_start_time(): both change with a restart. */
export function postmasterIdentity(c: PitrCluster): string {
  const pid = readFileSync(join(c.pg.dataDir, "postmaster.pid"), "utf8").split("\n")[0];
  return `${pid} ${c.pg.sql("select pg_postmaster_start_time()")}`;
}
