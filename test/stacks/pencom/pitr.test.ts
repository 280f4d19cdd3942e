// Pencom's point-in-time recovery (issue 14) through the shared piece (lib/postgresPitr.ts), on its PostgreSQL server:
//   - the plan (prod stack file under mocks) reaches the PostgreSQL server over its own SSH login, ships pgbackrest.conf,
//     the archive settings in the cluster's conf.d, the scratch cluster's conf and the timers there, and runs the setup
//     after them; `recovery.coreDatabase.pointInTime` runs on that server (no admin password) and core's .env is
//     written from its result line; stack-file mistakes are refused with the key;
//   - the timers pass `systemd-analyze verify` and fire at the stack's time;
//   - the drill on the RENDERED files (moved into temp dirs by test/support/pgbackrest.ts, which changes only where
//     things are): a writer running, the data directory lost, a restore to the latest point (RPO and restore time
//     printed) and to a named time;
//   - the pointInTime switch's own two command lines (pitr-restore.sh, then pg-restore.sh beside the live database)
//     undo a DELETE on a backup that, like a Debian cluster's, has no postgresql.conf or pg_hba.conf in its data
//     directory: the scratch cluster starts on the rendered scratch conf, never the live cluster's.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { ConfigError } from "../../../config/errors";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { pencom } from "../../../stacks/pencom";
import { pencomRequiredSecrets } from "../../../stacks/pencom/config";
import { PENCOM_PITR_PATHS, pencomArchiveConfPath, pencomPitr, pencomPitrBesideArgv, pencomPitrRecoverArgv } from "../../../stacks/pencom/pitr";
import { freePort } from "../../support/ports";
import { SCRIPTS_DIR, chownToServerUser, runAsServerUser, startDrillWriter, startPitrCluster, type DrillWriter, type PitrCluster, restoreToLatestAndMeasure, restoreToNamedTimeAndCheck } from "../../support/pgbackrest";
import { ALL_SENTINEL_SECRETS, T, byType, keepOnlyPlatforms, one, planFor, rawStack } from "../../support/stacks";
import { systemdUnits, timerWeekdays, verifyUnits } from "../../support/systemdUnits";

const ARCHIVE_TIMEOUT_S = 10;
const WRITE_FOR_MS = 25_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pencomOnly = (c: Record<string, any>) => keepOnlyPlatforms(c, ["pencom"]);

/** The prod stack file as an operator would set it for the drill: the shortest archive_timeout it accepts. */
function drillConfig() {
  const raw = rawStack("prod", { patch: (c) => { pencomOnly(c); c["lazarus:pencom"].postgres.pitr.archiveTimeoutSeconds = ARCHIVE_TIMEOUT_S; } });
  return platformConfig(loadStackConfig(raw, { allowMissingSecrets: true }), pencom)!;
}

function rendered() {
  const cfg = drillConfig();
  const pitr = pencomPitr(cfg)!;
  return { cfg, pitr, pgbackrestConf: pitr.files[PENCOM_PITR_PATHS.pgbackrestConf]!, archiveConf: pitr.files[pencomArchiveConfPath(cfg)]! };
}

describe("Pencom's plan: WAL archiving on the PostgreSQL server", () => {
  let prod: Plan;
  let recovering: Plan;
  beforeAll(async () => {
    prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: pencomOnly });
    recovering = await planFor("prod", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => {
        pencomOnly(c);
        c["lazarus:pencom"].recovery = { coreDatabase: { label: "r2", pointInTime: "2026-11-23T02:00:00Z", cutover: true, confirm: "prod/pencom/core-database-cutover" } };
      },
    });
  });
  const command = (plan: Plan, name: string) => one(plan, T.command, name);

  it("ships the files to the PostgreSQL server and sets archiving up after them, over that server's own login", () => {
    const setup = command(prod, "pencom-prod-postgres-pitr-setup");
    expect((setup.rawInputs.connection as { host: string }).host).toBe("10.20.0.21");
    const text = String(setup.inputs.create);
    // never an unconditional restart: the script restarts the cluster only while archiving is off (pitr-setup-for-real)
    expect(text).not.toContain("systemctl restart");
    expect(text).toContain(
      "bash /opt/lazarus/scripts/backup/pitr-archive-apply.sh --service postgresql@15-main --port 5432 --socket-dir /var/run/postgresql --archive-command 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=pencom archive-push %p' --archive-timeout 60 --user postgres",
    );
    expect(text).toMatch(/backup-job\.sh pitr-full -- --if-no-backup$/m);
    expect(text).toContain("runuser -u postgres -- env PITR_STANZA=pencom METRICS_DIR=/var/backups/pencom-postgres/metrics BACKUP_DIR=/var/backups/pencom-postgres bash /opt/lazarus/scripts/backup/backup-job.sh pitr-full");
    expect(text).toContain("systemctl enable --now lazarus-pencom-pitr-full.timer lazarus-pencom-pitr-diff.timer");
    for (const path of ["/etc/pgbackrest/pgbackrest.conf", "/etc/postgresql/15/main/conf.d/lazarus-archive.conf", "/etc/pgbackrest/pencom-scratch.conf", "/etc/systemd/system/lazarus-pencom-pitr-full.timer"]) {
      const writer = command(prod, `pencom-prod-postgres-software-file${path.replace(/[^A-Za-z0-9]+/g, "-")}`);
      expect((writer.rawInputs.connection as { host: string }).host).toBe("10.20.0.21");
      expect(setup.dependencies).toContain(writer.urn);
    }
    // the app server gets none of it
    expect(byType(prod, T.command).filter((c) => c.name.startsWith("pencom-prod-software-file-etc-pgbackrest") || c.name.startsWith("pencom-prod-software-file-etc-systemd"))).toEqual([]);
  });

  it("runs pointInTime on the PostgreSQL server as postgres, with no admin password, and writes core's .env from its result", () => {
    const restore = command(recovering, "pencom-prod-core-db-pitr-restore-r2");
    expect((restore.rawInputs.connection as { host: string }).host).toBe("10.20.0.21");
    expect(restore.inputs.stdin).toBeUndefined();
    expect(String(restore.inputs.create).split("\n")).toEqual([
      "set -eu",
      "install -d -o postgres -g postgres -m 0750 /var/lib/pgbackrest-restore/r2",
      "runuser -u postgres -- bash /opt/lazarus/scripts/backup/pitr-restore.sh --stanza pencom --target-dir /var/lib/pgbackrest-restore/r2/data --port 5433 --target-time 2026-11-23T02:00:00Z --conf-file /etc/pgbackrest/pencom-scratch.conf --dump-database pencom_core_db2 --dump-dir /var/lib/pgbackrest-restore/r2 >&2",
      "runuser -u postgres -- env PGHOST=/var/run/postgresql PGPORT=5432 bash /opt/lazarus/scripts/backup/pg-restore.sh -d pencom_core_db2 /var/lib/pgbackrest-restore/r2",
    ]);
    expect(restore.dependencies).toContain(command(recovering, "pencom-prod-postgres-pitr-setup").urn);
    const coreEnv = command(recovering, "pencom-prod-software-file-etc-pencom-env-core-env");
    expect(coreEnv.dependencies).toContain(restore.urn);
    expect(byType(recovering, T.command).some((c) => c.name === "pencom-prod-core-db-restore-r2")).toBe(false);
    const cfg = platformConfig(loadStackConfig(rawStack("prod", { patch: (c) => { pencomOnly(c); c["lazarus:pencom"].recovery = { coreDatabase: { label: "r2", pointInTime: "latest" } }; } }), { allowMissingSecrets: true }), pencom)!;
    expect(pencomRequiredSecrets(cfg)).not.toContain("pencomPostgresAdminPassword");
  });

  it("refuses pointInTime without postgres.pitr, with backup, neither, and a scratch port that is the server's", async () => {
    const refused = async (patch: (p: Record<string, any>) => void) => {
      const err = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => { pencomOnly(c); patch(c["lazarus:pencom"]); } }).catch((e) => e);
      expect(err).toBeInstanceOf(ConfigError);
      return String(err.message);
    };
    expect(await refused((p) => { delete p.postgres.pitr; p.recovery = { coreDatabase: { label: "r1", pointInTime: "latest" } }; })).toContain(
      "lazarus:pencom.recovery.coreDatabase.pointInTime: needs postgres.pitr (WAL archiving on the PostgreSQL server)",
    );
    expect(await refused((p) => { p.recovery = { coreDatabase: { label: "r1", pointInTime: "latest", backup: "/b.dump" } }; })).toContain(
      'lazarus:pencom.recovery.coreDatabase.pointInTime: cannot be combined with backup "/b.dump"',
    );
    expect(await refused((p) => { p.recovery = { coreDatabase: { label: "r1" } }; })).toContain("lazarus:pencom.recovery.coreDatabase: needs backup (a pg_dump file on the host), pointInTime (the pgBackRest repository, with postgres.pitr) or swapIn");
    expect(await refused((p) => { p.recovery = { coreDatabase: { label: "r1", pointInTime: "2026-11-23 02:00" } }; })).toContain("is not a point in time (example: latest");
    expect(await refused((p) => { p.postgres.pitr.scratchPort = 5432; })).toContain("lazarus:pencom.postgres.pitr.scratchPort: 5432 is the live server's port");
    expect(await refused((p) => { p.postgres.pitr.archiveTimeoutSeconds = 5; })).toContain("lazarus:pencom.postgres.pitr.archiveTimeoutSeconds");
  });
});

describe("Pencom's timers, checked by systemd-analyze", () => {
  it("pass systemd-analyze verify and fire at 01:00 UTC: full on Sunday, differential on the other days", () => {
    const units = systemdUnits(rendered().pitr.files);
    expect(Object.keys(units).sort()).toEqual(["lazarus-pencom-pitr-diff.service", "lazarus-pencom-pitr-diff.timer", "lazarus-pencom-pitr-full.service", "lazarus-pencom-pitr-full.timer"]);
    const verify = verifyUnits(units);
    expect(verify.status, verify.output).toBe(0);
    expect(timerWeekdays(units["lazarus-pencom-pitr-full.timer"]!)).toEqual(new Set(["Sun"]));
    expect(timerWeekdays(units["lazarus-pencom-pitr-diff.timer"]!)).toEqual(new Set(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]));
    expect(units["lazarus-pencom-pitr-full.service"]).toMatch(/^User=postgres$/m);
  });
});

describe("Pencom PITR drill on the rendered pgBackRest config", () => {
  let c: PitrCluster;
  let writer: DrillWriter | undefined;
  const r = rendered();

  beforeAll(async () => {
    c = await startPitrCluster({ stanza: "pencom", rendered: { pgbackrestConf: r.pgbackrestConf, archiveConf: r.archiveConf } });
    c.pg.sql("create table drill (id bigint primary key, ts timestamptz not null default clock_timestamp())");
  });
  afterAll(() => {
    writer?.stop();
    c?.destroy();
  });

  it("runs the rendered settings: the stack's archive_timeout, async archiving, the rendered config in archive_command", () => {
    expect(c.pg.sql("show archive_timeout")).toBe(`${ARCHIVE_TIMEOUT_S}s`);
    expect(c.pg.sql("show archive_command")).toContain("--stanza=pencom archive-push");
    expect(r.archiveConf).toContain("archive_command = 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=pencom archive-push %p'");
    expect(c.confText).toMatch(/^archive-async=y$/m);
    expect(c.confText).toMatch(/^repo1-retention-full=2$/m);
    expect(r.pgbackrestConf).toMatch(/^pg1-path=\/var\/lib\/postgresql\/15\/main$/m);
  });

  it("loses the data directory under a writer, restores the latest point and a named time", async () => {
    const backup = c.script("pitr-backup.sh", ["--stanza", "pencom", "--type", "full"]);
    expect(backup.code, backup.stderr).toBe(0);
    writer = startDrillWriter(c.pg, "drill");
    await sleep(WRITE_FOR_MS / 2);
    const named = writer.last();
    await sleep(WRITE_FOR_MS / 2);
    c.pg.stop("immediate"); // the server dies without a shutdown checkpoint ...
    await sleep(300);
    const last = writer.last();
    const committed = writer.committed();
    writer.stop();
    expect(last, "the writer committed rows").toBeDefined();
    expect(named).toBeDefined();
    rmSync(c.pg.dataDir, { recursive: true, force: true }); // ... and its data directory is gone
    expect(existsSync(c.pg.dataDir)).toBe(false);

    const { port } = await restoreToLatestAndMeasure(c, { platform: "Pencom", stanza: "pencom", archiveTimeoutS: ARCHIVE_TIMEOUT_S, last: last!, committed });

    restoreToNamedTimeAndCheck(c, { platform: "Pencom", stanza: "pencom", named: named!, latestPort: port, port: await freePort() });
  });
});

describe("Pencom's pointInTime restore by the switch's own command lines: beside the live database", () => {
  let c: PitrCluster;
  const r = rendered();
  beforeAll(async () => {
    c = await startPitrCluster({ stanza: "pencom", rendered: { pgbackrestConf: r.pgbackrestConf, archiveConf: r.archiveConf } });
  });
  afterAll(() => c?.destroy());

  it("undoes a DELETE: recovered to the moment before it on the rendered scratch conf, restored beside the live database", async () => {
    const db = r.cfg.postgres.core.database;
    c.pg.sql(`create database ${db}`);
    c.pg.sql("create table payment (id int primary key, amount int not null)", db);
    c.pg.sql("insert into payment select g, g * 1000 from generate_series(1, 200) g", db);
    // A Debian cluster keeps postgresql.conf, pg_hba.conf and pg_ident.conf in /etc, so its backup has none; this
    // cluster keeps them in its data directory, so the backup leaves them out to be the same.
    const excludeAll = ["postgresql.conf", "pg_hba.conf", "pg_ident.conf"];
    writeFileSync(c.confFile, `${readFileSync(c.confFile, "utf8").replace(/^\[pencom\]$/m, `[pencom]\n${excludeAll.map((f) => `exclude=${f}`).join("\n")}`)}`);
    expect(readFileSync(c.confFile, "utf8")).toContain("exclude=pg_hba.conf");
    const full = c.script("pitr-backup.sh", ["--stanza", "pencom", "--type", "full"]);
    expect(full.code, full.stderr).toBe(0);
    const manifests = spawnSync("bash", ["-c", `cat ${c.repoPath}/backup/pencom/*/backup.manifest`], { encoding: "utf8" }).stdout;
    expect(manifests).toContain("pg_data/PG_VERSION");
    for (const f of excludeAll) expect(manifests).not.toContain(`pg_data/${f}`);

    c.pg.sql("insert into payment select g, g * 1000 from generate_series(201, 300) g", db);
    await sleep(1500);
    const before = c.pg.sql(`select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    await sleep(1500);
    c.pg.sql("delete from payment", db); // the mistake
    c.pg.sql("insert into payment values (9999, 1)", db); // a write after it, which the restore must not bring back
    c.pg.sql("select pg_switch_wal()");
    const archived = c.script("pitr-backup.sh", ["--stanza", "pencom", "--type", "incr"]); // its check waits for the segment
    expect(archived.code, archived.stderr).toBe(0);

    // The rendered scratch conf and hba, where the drill keeps its files; the hba names the server's OS user.
    const scratchRoot = c.mkdir("pitr-restore");
    const scratchConf = join(c.root, "pencom-scratch.conf");
    const scratchHba = join(c.root, "pencom-scratch-hba.conf");
    writeFileSync(scratchConf, r.pitr.files[PENCOM_PITR_PATHS.scratchConf]!.replace(PENCOM_PITR_PATHS.scratchHba, scratchHba));
    writeFileSync(scratchHba, r.pitr.files[PENCOM_PITR_PATHS.scratchHba]!.replace(/ postgres peer$/m, ` ${c.pg.osUser} peer`));
    for (const f of [scratchConf, scratchHba]) chownToServerUser(f);
    const port = await freePort();
    // Only where things are changes: the scripts, the scratch root, its port, the scratch conf, the live server's socket.
    const where = (a: string) =>
      a === String(r.cfg.postgres.pitr!.scratchPort) ? String(port)
        : a === PENCOM_PITR_PATHS.scratchConf ? scratchConf
          : a.replace("/opt/lazarus/scripts/backup", SCRIPTS_DIR).replace(r.cfg.postgres.pitr!.scratchRoot, scratchRoot).replace("PGHOST=/var/run/postgresql", `PGHOST=${c.pg.host}`).replace(`PGPORT=${r.cfg.postgres.port}`, `PGPORT=${c.pg.port}`);
    const label = "r7";
    c.mkdir(`pitr-restore/${label}`);
    const recover = pencomPitrRecoverArgv(r.cfg, { label, pointInTime: before }).map(where);
    expect(recover).toContain("--conf-file");
    const t0 = Date.now();
    const pitr = runAsServerUser(recover[0]!, recover.slice(1), { PGBACKREST_CONFIG: c.confFile });
    const pitrSeconds = (Date.now() - t0) / 1000;
    expect(pitr.code, pitr.stderr + pitr.stdout).toBe(0);
    expect(pitr.result).toMatchObject({ status: "ok", recovery_type: "time", started: false });
    expect(existsSync(join(scratchRoot, label, "data"))).toBe(false);
    expect(readdirSync(join(scratchRoot, label)).some((f) => f.endsWith(".dump.sha256"))).toBe(true);

    const beside = pencomPitrBesideArgv(r.cfg, label).map(where);
    const t1 = Date.now();
    const restore = runAsServerUser(beside[0]!, beside.slice(1));
    const besideSeconds = (Date.now() - t1) / 1000;
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.result).toMatchObject({ status: "ok", cutover: false, database: db });
    const restored = restore.result!.restored_database as string;
    expect(restored).toMatch(new RegExp(`^${db}_restore_\\d{14}$`));
    expect(c.pg.sql("select count(*), sum(amount) from payment", restored)).toBe(`300|${(300 * 301 / 2) * 1000}`);
    expect(c.pg.sql("select count(*) from payment where id = 9999", restored)).toBe("0");
    // the live database is untouched: the cutover is core's .env, written from restored_database by the plan
    expect(c.pg.sql("select count(*) from payment", db)).toBe("1");
    console.log(`Pencom pointInTime restore (rendered config, Debian-like backup): recovered to ${before} and dumped in ${pitrSeconds.toFixed(1)} s; restored beside the live database as ${restored} in ${besideSeconds.toFixed(1)} s; 300 of 300 payments back, the later write not`);
  });
});
