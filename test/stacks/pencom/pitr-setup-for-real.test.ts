// Pencom's PITR setup on the PostgreSQL server, run for real (the plan's own setup text, prod's stack file) against a
// real PostgreSQL 15 archiving with real pgBackRest on the RENDERED pgbackrest.conf and archive settings
// (test/support/pgbackrest.ts changes only where things are; pgServerStandIn.ts maps the setup's paths, socket and
// port the same way). The setup runs again whenever a file of that server or its machine id changes (the
// recovery.postgresServer switch marked done or removed): run again it must not restart production or take another
// full backup.
//   - archiving already on: the setup twice restarts nothing (postmaster pid and pg_postmaster_start_time()
//     unchanged, no `systemctl restart`), takes the first full backup once, and the second run none; its stanza-create
//     waits for the stanza's archive lock, held the way a retrying archive-push holds it (flock, as pgBackRest locks);
//   - the archive settings changed in the file but reloadable (archive_timeout): a reload, no restart;
//   - archive_mode off on the running server while the file says on: the one restart, and no second full backup
//     (the repository holds one of the cluster's timeline);
//   - a cluster that does not answer on the port the setup names: refused, nothing restarted.
// Stand-ins (pgServerStandIn.ts): `systemctl` drives this one cluster with pg_ctl and records its calls; it cannot
// show Debian's postgresql@15-main unit or pg_ctlcluster, nor the timers firing. The cluster keeps its settings in
// its data directory's postgresql.conf, where a Debian cluster reads its conf.d file.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { pencom } from "../../../stacks/pencom";
import { PENCOM_PITR_PATHS, pencomArchiveConfPath, pencomPitr } from "../../../stacks/pencom/pitr";
import { chownToServerUser, runAsServerUser, startPitrCluster, type PitrCluster } from "../../support/pgbackrest";
import { keepOnlyPlatforms, rawStack } from "../../support/stacks";
import { REPO, parseResult } from "../../support/testHost";
import { mappedPencomSetup, postmasterIdentity, runSetup, writeSystemctlStandIn, type SystemctlStandIn } from "./pgServerStandIn";

const ARCHIVE_TIMEOUT_S = 10;

function prodConfig() {
  const raw = rawStack("prod", { patch: (c) => { keepOnlyPlatforms(c, ["pencom"]); c["lazarus:pencom"].postgres.pitr.archiveTimeoutSeconds = ARCHIVE_TIMEOUT_S; } });
  return platformConfig(loadStackConfig(raw, { allowMissingSecrets: true }), pencom)!;
}

describe("pitr-archive-apply.sh", () => {
  const script = join(REPO, "scripts", "backup", "pitr-archive-apply.sh");
  it("passes shellcheck and refuses bad arguments with 64 and one result line", () => {
    const sc = spawnSync("shellcheck", ["-x", "-s", "bash", script], { encoding: "utf8" });
    expect(sc.status, sc.stdout).toBe(0);
    const args = ["--service", "postgresql@15-main", "--port", "5432", "--socket-dir", "/var/run/postgresql", "--archive-command", "pgbackrest archive-push %p", "--archive-timeout", "60"];
    for (const [change, message] of [
      [["--port", "x"], "--port must be a number"],
      [["--archive-timeout", "60s"], "--archive-timeout must be a number of seconds"],
      [["--service", "a b"], "--service must be a systemd unit name"],
    ] as const) {
      const r = spawnSync("bash", [script, ...args, ...change], { encoding: "utf8" });
      expect(r.status).toBe(64);
      expect(String(parseResult(r.stdout).error)).toContain(message);
    }
  });
});

describe("Pencom's PITR setup run again on a live PostgreSQL server", () => {
  const cfg = prodConfig();
  const pitr = pencomPitr(cfg)!;
  let c: PitrCluster;
  let work: string;
  let systemctl: SystemctlStandIn;
  let setup: string;

  const backups = () => {
    const r = runAsServerUser("pgbackrest", [`--config=${c.confFile}`, "--stanza=pencom", "info", "--output=json"]);
    return (JSON.parse(r.stdout)[0]?.backup ?? []) as { label: string; type: string }[];
  };
  const run = () => {
    const r = runSetup(setup, { systemctl, c, includeSecrets: false });
    expect(r.code, r.stderr).toBe(0);
    const apply = r.results.find((x) => x.script === "pitr-archive-apply.sh");
    const backup = r.results.find((x) => x.script === "pitr-backup.sh");
    return { ...r, apply, backup };
  };
  const restarts = () => systemctl.calls().filter((l) => /^(restart|stop|start) /.test(l));
  /** Rewrites the cluster's postgresql.conf (the file the setup's files step would have shipped). */
  const editConf = (edit: (text: string) => string) => {
    const path = join(c.pg.dataDir, "postgresql.conf");
    writeFileSync(path, edit(readFileSync(path, "utf8")));
    chownToServerUser(path);
  };

  beforeAll(async () => {
    c = await startPitrCluster({ stanza: "pencom", rendered: { pgbackrestConf: pitr.files[PENCOM_PITR_PATHS.pgbackrestConf]!, archiveConf: pitr.files[pencomArchiveConfPath(cfg)]! } });
    work = mkdtempSync(join(tmpdir(), "lazarus-pencom-setup-"));
    chmodSync(work, 0o755);
    const units = join(work, "units");
    mkdirSync(units);
    for (const [path, text] of Object.entries(pitr.files)) if (path.startsWith("/etc/systemd/system/")) writeFileSync(join(units, path.slice("/etc/systemd/system/".length)), text);
    systemctl = writeSystemctlStandIn({ dir: work, dataDir: c.pg.dataDir, log: c.pg.logFile, unitsDir: units });
    setup = mappedPencomSetup(cfg, c, { backupDir: join(work, "backups"), scratchRoot: join(work, "scratch") });
  }, 120_000);
  afterAll(() => {
    c?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("with archiving on, run twice: no restart (same postmaster pid and start time), one full backup in all", () => {
    expect(c.pg.sql("show archive_mode")).toBe("on");
    const before = postmasterIdentity(c);
    // An archive-push retrying into the repository that has no stanza yet holds the stanza's archive lock for a moment.
    const holder = spawn("runuser", ["-u", "postgres", "--", "flock", join(c.root, "lock", "pencom-archive.lock"), "sleep", "4"], { stdio: "ignore" });
    spawnSync("sleep", ["1"]);

    const first = run();
    holder.kill();
    expect(first.stderr).toMatch(/stanza-create waited \d+ s for the archive lock/);
    expect(systemctl.calls()).toEqual(["daemon-reload", "enable --now lazarus-pencom-pitr-full.timer lazarus-pencom-pitr-diff.timer"]);
    expect(postmasterIdentity(c)).toBe(before);
    expect(backups().length).toBe(1);
    expect(first.apply).toMatchObject({ status: "ok", action: "none" });
    expect(first.backup).toMatchObject({ status: "ok", type: "full" });
    expect(first.backup?.skipped).toBeUndefined();

    const second = run();
    expect(restarts()).toEqual([]);
    expect(postmasterIdentity(c)).toBe(before);
    expect(backups().length).toBe(1);
    expect(second.apply).toMatchObject({ status: "ok", action: "none" });
    expect(second.backup).toMatchObject({ status: "ok", skipped: true, label: backups()[0]!.label });
    // the skipped run left the backup metrics of the first one as they were
    expect(readFileSync(join(work, "backups", "metrics", "pgbackrest_full_job.prom"), "utf8")).toMatch(/pgbackrest_backup_last_run_success\{stanza="pencom",type="full"\} 1/);
  }, 180_000);

  it("a reloadable setting changed in the file (archive_timeout): reloaded, not restarted", () => {
    // The server runs with another archive_timeout than the (newly shipped) file says.
    editConf((t) => `${t}archive_timeout = 45s\n`);
    c.pg.sql("select pg_reload_conf()");
    // pg_reload_conf() only signals the postmaster: wait until a new session sees the value
    for (let i = 0; i < 50 && c.pg.sql("show archive_timeout") !== "45s"; i++) spawnSync("sleep", ["0.1"]);
    expect(c.pg.sql("show archive_timeout")).toBe("45s");
    editConf((t) => t.replace(/archive_timeout = 45s\n$/, ""));
    const before = postmasterIdentity(c);

    const r = run();
    expect(restarts()).toEqual([]);
    expect(postmasterIdentity(c)).toBe(before);
    expect(c.pg.sql("show archive_timeout")).toBe(`${ARCHIVE_TIMEOUT_S}s`);
    expect(backups().length).toBe(1);
    expect(r.apply).toMatchObject({ status: "ok", action: "reload" });
  }, 180_000);

  it("archive_mode off on the running server: the one restart, after which archiving is on; still no second full backup", () => {
    editConf((t) => `${t}archive_mode = off\n`);
    c.pg.stop();
    c.pg.start();
    expect(c.pg.sql("show archive_mode")).toBe("off");
    editConf((t) => t.replace(/archive_mode = off\n$/, "")); // the shipped file says on
    const before = postmasterIdentity(c);

    const r = run();
    expect(restarts()).toEqual(["restart postgresql@15-main"]);
    expect(postmasterIdentity(c)).not.toBe(before);
    expect(c.pg.sql("show archive_mode")).toBe("on");
    expect(backups().length).toBe(1);
    expect(r.apply).toMatchObject({ status: "ok", action: "restart" });
    expect(r.backup).toMatchObject({ status: "ok", skipped: true });
  }, 180_000);

  it("refuses a cluster that does not answer on the setup's port, and restarts nothing", () => {
    const calls = restarts().length;
    const wrongPort = mappedPencomSetup(cfg, c, { backupDir: join(work, "backups"), scratchRoot: join(work, "scratch"), port: c.pg.port + 1 });
    const r = runSetup(wrongPort, { systemctl, c, includeSecrets: false });
    expect(r.code).toBe(69);
    expect(r.results.at(-1)).toMatchObject({ script: "pitr-archive-apply.sh", status: "error" });
    expect(String(r.results.at(-1)!.error)).toContain("does not answer");
    expect(restarts().length).toBe(calls);
  }, 60_000);
});
