// GoodGo's PITR drill on the files its plan writes: the pgbackrest.conf and archive lines goodgoPlainFiles renders for
// the prod stack (S3 repository, encryption, async archiving, retention, archive_timeout from backups.pitr), moved into
// temp dirs by adaptRenderedPgBackRest / adaptRenderedArchiveConf (test/support/pgbackrest.ts: paths, port, user, and a
// posix repository because pgBackRest's S3 driver needs HTTPS the S3 stub does not speak). A writer inserts a row every
// 100 ms; the full backup is taken as the schedule would; the server is killed and its data directory deleted;
// pitr-restore.sh restores the latest point beside it (RPO and restore time measured and printed), then a named time.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { goodgo } from "../../../stacks/goodgo";
import { parse } from "yaml";
import { archiveSettingsFromServerArgs } from "../../../lib/postgresPitr";
import { GOODGO_COMPOSE_FILE } from "../../../stacks/goodgo/inventory";
import { GOODGO_PITR_FILES } from "../../../stacks/goodgo/pitr";
import { goodgoContainerSecretFiles } from "../../../stacks/goodgo/env";
import { goodgoPlainFiles } from "../../../stacks/goodgo/plan";
import { goodgoPitrRestoreArgv } from "../../../stacks/goodgo/pitr";
import { spawnSync } from "node:child_process";
import { freePort } from "../../support/ports";
import { SCRIPTS_DIR, runAsServerUser, startDrillWriter, startPitrCluster, type DrillWriter, type PitrCluster, restoreToLatestAndMeasure, restoreToNamedTimeAndCheck } from "../../support/pgbackrest";
import { goodgoTestSecrets, rawStack } from "../../support/stacks";

// The stack's own key, set as an operator would: the shortest archive_timeout it accepts keeps the drill short.
const ARCHIVE_TIMEOUT_S = 10;
const WRITE_FOR_MS = 25_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function drillConfig() {
  const raw = rawStack("prod", { patch: (c) => (c["lazarus:goodgo"].backups.pitr = { archiveTimeoutSeconds: ARCHIVE_TIMEOUT_S }) });
  return platformConfig(loadStackConfig(raw, { allowMissingSecrets: true }), goodgo)!;
}

function renderedGoodgoFiles(): { pgbackrestConf: string; archiveConf: string; secretsConf: string } {
  const cfg = drillConfig();
  const files = goodgoPlainFiles(cfg, "prod");
  // The archive settings as the container really starts with them: the postgres service's `-c` arguments in the
  // rendered compose file, turned back into postgresql.conf lines.
  const compose = parse(files[`${cfg.app.deployDir}/${GOODGO_COMPOSE_FILE}`]!);
  const settings = archiveSettingsFromServerArgs(compose.services.postgres.command);
  return {
    pgbackrestConf: files[`${cfg.app.deployDir}/${GOODGO_PITR_FILES.pgbackrestConf}`]!,
    archiveConf: Object.entries(settings).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`).join("\n") + "\n",
    // the secret file the plan ships to the postgres container, with test values
    secretsConf: goodgoContainerSecretFiles(cfg, goodgoTestSecrets()).pgbackrestSecrets,
  };
}

describe("GoodGo PITR drill on the rendered pgBackRest config", () => {
  let c: PitrCluster;
  let writer: DrillWriter | undefined;
  const rendered = renderedGoodgoFiles();

  beforeAll(async () => {
    // No passphrase in any environment: pgBackRest, archive_command and the restored cluster's restore_command read it
    // from the include file, as in the container.
    delete process.env.PGBACKREST_REPO1_CIPHER_PASS;
    c = await startPitrCluster({ stanza: "goodgo", rendered, secretsConf: rendered.secretsConf });
    c.pg.sql("create table drill (id bigint primary key, ts timestamptz not null default clock_timestamp())");
  });
  afterAll(() => {
    writer?.stop();
    c?.destroy();
  });

  it("runs the rendered settings: encrypted repository, async archiving, the stack's archive_timeout", () => {
    expect(rendered.pgbackrestConf).toMatch(/^repo1-type=s3$/m);
    expect(c.confText).toMatch(/^repo1-cipher-type=aes-256-cbc$/m);
    expect(c.confText).toMatch(/^archive-async=y$/m);
    expect(c.confText).toMatch(/^repo1-retention-full=2$/m);
    expect(c.pg.sql("show archive_timeout")).toBe(`${ARCHIVE_TIMEOUT_S}s`);
    expect(c.pg.sql("show archive_command")).toContain("--stanza=goodgo archive-push");
    expect(rendered.secretsConf).toMatch(/^repo1-cipher-pass=test-only-pgbackrestCipherPass$/m);
    expect(rendered.pgbackrestConf).not.toContain("test-only-");
    expect(rendered.archiveConf).toContain("--config-include-path=/etc/pgbackrest/conf.d");
    expect(rendered.archiveConf).toMatch(/^archive_mode = 'on'$/m);
    // the repository is encrypted: without the include file pgBackRest asks for the passphrase
    const bare = runAsServerUser("pgbackrest", [`--config=${c.confFile}`, "--stanza=goodgo", "--log-level-console=error", "info"]);
    expect(bare.code).not.toBe(0);
    expect(bare.stdout + bare.stderr).toContain("requires option: repo1-cipher-pass");
  });

  it("loses the data directory under a writer, restores the latest point and a named time", async () => {
    const backup = c.script("pitr-backup.sh", ["--stanza", "goodgo", "--type", "full"]);
    expect(backup.code, backup.stderr).toBe(0);

    writer = startDrillWriter(c.pg, "drill");
    await sleep(WRITE_FOR_MS / 2);
    const named = writer.last();
    await sleep(WRITE_FOR_MS / 2);
    // Disaster: the server dies without a shutdown checkpoint and the data directory is gone.
    c.pg.stop("immediate");
    await sleep(300);
    const last = writer.last();
    const committed = writer.committed();
    writer.stop();
    expect(last, "the writer committed rows").toBeDefined();
    expect(named).toBeDefined();
    rmSync(c.pg.dataDir, { recursive: true, force: true });
    expect(existsSync(c.pg.dataDir)).toBe(false);

    const { port } = await restoreToLatestAndMeasure(c, { platform: "GoodGo", stanza: "goodgo", archiveTimeoutS: ARCHIVE_TIMEOUT_S, last: last!, committed });

    restoreToNamedTimeAndCheck(c, { platform: "GoodGo", stanza: "goodgo", named: named!, latestPort: port, port: await freePort() });
  });
});

// recovery.database.pointInTime as the plan runs it: a bad statement at a known moment, then the switch's own
// pitr-restore.sh command line (from goodgoPitrRestoreArgv: the time, the stanza, the scratch dir and the dump) on the
// rendered config, and pg-restore.sh restoring the dump beside the live database and cutting over to it. Only where
// things are is changed: the scripts' and scratch dir's paths and the scratch cluster's port.
describe("GoodGo's pointInTime restore on the rendered config: beside the live database, then cutover", () => {
  let c: PitrCluster;
  const rendered = renderedGoodgoFiles();
  beforeAll(async () => {
    delete process.env.PGBACKREST_REPO1_CIPHER_PASS;
    c = await startPitrCluster({ stanza: "goodgo", rendered, secretsConf: rendered.secretsConf });
  });
  afterAll(() => c?.destroy());

  it("undoes a DELETE of every payment: recovered to the moment before it, verified, swapped in, the damaged database kept", async () => {
    c.pg.sql("create database goodgo");
    c.pg.sql("create table payment (id int primary key, amount int not null)", "goodgo");
    c.pg.sql("insert into payment select g, g * 1000 from generate_series(1, 200) g", "goodgo");
    const full = c.script("pitr-backup.sh", ["--stanza", "goodgo", "--type", "full"]);
    expect(full.code, full.stderr).toBe(0);
    c.pg.sql("insert into payment select g, g * 1000 from generate_series(201, 300) g", "goodgo");
    await sleep(1500);
    const before = c.pg.sql(`select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    await sleep(1500);
    c.pg.sql("delete from payment", "goodgo"); // the mistake
    c.pg.sql("insert into payment values (9999, 1)", "goodgo"); // a write after it, which the restore must not bring back
    c.pg.sql("select pg_switch_wal()");
    const archived = c.script("pitr-backup.sh", ["--stanza", "goodgo", "--type", "incr"]); // its check waits for the segment
    expect(archived.code, archived.stderr).toBe(0);

    const argv = goodgoPitrRestoreArgv(drillConfig(), { label: "db-r7", pointInTime: before, stanza: "goodgo" });
    expect(argv.slice(0, 2)).toEqual(["bash", "/opt/lazarus/scripts/backup/pitr-restore.sh"]);
    const scratch = c.mkdir("pitr");
    const port = String(await freePort());
    const args = argv.slice(2).map((a) => (a === "5433" ? port : a.replace("/backups/pitr", scratch)));
    c.mkdir("pitr/db-r7");
    const t0 = Date.now();
    const r = c.script("pitr-restore.sh", args);
    const pitrSeconds = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr + r.stdout).toBe(0);
    // the ISO time of the stack file, in the form pgBackRest takes (it refuses "T" and "Z"), milliseconds kept
    const asPgbackrest = before.replace("T", " ").replace(/(\.\d{3})\d*Z$/, "$1+00");
    expect(r.result).toMatchObject({ status: "ok", recovery_type: "time", target_time: asPgbackrest, started: false });
    expect(existsSync(join(scratch, "db-r7/data"))).toBe(false);

    // pg-restore.sh: checksum and TOC verified, a new database beside the live one, then the swap
    const t1 = Date.now();
    const restore = spawnSync("bash", [join(SCRIPTS_DIR, "pg-restore.sh"), "--dbname", "goodgo", "--cutover", join(scratch, "db-r7")], { env: { ...process.env, ...c.pg.env }, encoding: "utf8" });
    const cutoverSeconds = (Date.now() - t1) / 1000;
    expect(restore.status, restore.stderr).toBe(0);
    const result = JSON.parse(restore.stdout.trim().split("\n").pop()!);
    expect(result).toMatchObject({ status: "ok", cutover: true, database: "goodgo" });
    expect(c.pg.sql("select count(*), sum(amount) from payment", "goodgo")).toBe(`300|${(300 * 301 / 2) * 1000}`);
    expect(c.pg.sql("select count(*) from payment where id = 9999", "goodgo")).toBe("0");
    // the damaged database stays as the rollback point
    expect(c.pg.sql("select count(*) from payment", result.previous_database)).toBe("1");
    console.log(`GoodGo pointInTime drill (rendered config): recovered to ${before} and dumped in ${pitrSeconds.toFixed(1)} s; restored beside the live database and cut over in ${cutoverSeconds.toFixed(1)} s; 300 of 300 payments back, the later write not`);
  });
});
