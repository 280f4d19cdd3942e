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
import { freePort } from "../../support/ports";
import { restoredSql, runAsServerUser, startDrillWriter, startPitrCluster, type DrillWriter, type PitrCluster } from "../../support/pgbackrest";
import { goodgoTestSecrets, rawStack } from "../../support/stacks";

// The stack's own key, set as an operator would: the shortest archive_timeout it accepts keeps the drill short.
const ARCHIVE_TIMEOUT_S = 10;
const WRITE_FOR_MS = 25_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function renderedGoodgoFiles(): { pgbackrestConf: string; archiveConf: string; secretsConf: string } {
  const raw = rawStack("prod", { patch: (c) => (c["lazarus:goodgo"].backups.pitr = { archiveTimeoutSeconds: ARCHIVE_TIMEOUT_S }) });
  const cfg = platformConfig(loadStackConfig(raw, { allowMissingSecrets: true }), goodgo)!;
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

    const port = await freePort();
    const t0 = Date.now();
    const r = c.script("pitr-restore.sh", ["--stanza", "goodgo", "--target-dir", join(c.mkdir("latest"), "data"), "--port", String(port)]);
    const restoreSeconds = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", recovery_type: "latest", in_recovery: false });
    const [rows, maxId] = restoredSql(port, "select count(*), max(id) from drill").split("|").map(Number);
    const rpo = Number(restoredSql(port, `select extract(epoch from ('${last!.ts}'::timestamptz - max(ts))) from drill`));
    console.log(
      `GoodGo PITR drill (rendered config, archive_timeout ${ARCHIVE_TIMEOUT_S}s): writer committed ${committed} rows (last id ${last!.id}); ` +
        `restored ${rows} rows (last id ${maxId}); RPO = ${rpo.toFixed(1)} s (${last!.id - maxId!} rows lost); restore took ${restoreSeconds.toFixed(1)} s`,
    );
    expect(rows).toBe(maxId); // no gaps, nothing invented
    expect(maxId!).toBeLessThanOrEqual(last!.id);
    expect(rpo).toBeGreaterThanOrEqual(0);
    // archive_timeout bounds the loss; the margin covers the async push and the segment in flight at the kill
    expect(rpo).toBeLessThan(ARCHIVE_TIMEOUT_S * 3);

    // A named time: the moment a row was committed halfway through. Rows commit a moment after their ts, so every
    // row written a second before it is there and none written after it.
    const target = named!.ts;
    const port2 = await freePort();
    const t1 = Date.now();
    const p = c.script("pitr-restore.sh", ["--stanza", "goodgo", "--target-dir", join(c.mkdir("named"), "data"), "--port", String(port2), "--target-time", target]);
    const namedSeconds = (Date.now() - t1) / 1000;
    expect(p.code, p.stderr + p.stdout).toBe(0);
    expect(p.result).toMatchObject({ status: "ok", in_recovery: false });
    const after = Number(restoredSql(port2, `select count(*) from drill where ts > '${target}'`));
    const [namedRows, namedMax] = restoredSql(port2, "select count(*), max(id) from drill").split("|").map(Number);
    const surelyIn = Number(restoredSql(port, `select coalesce(max(id), 0) from drill where ts <= '${target}'::timestamptz - interval '1 second'`));
    console.log(`GoodGo PITR drill: restored to ${target}: ${namedRows} rows (last id ${namedMax}), took ${namedSeconds.toFixed(1)} s`);
    expect(after).toBe(0);
    expect(namedRows).toBe(namedMax);
    expect(namedMax!).toBeGreaterThanOrEqual(surelyIn);
    expect(namedMax!).toBeLessThanOrEqual(named!.id);
  });
});
