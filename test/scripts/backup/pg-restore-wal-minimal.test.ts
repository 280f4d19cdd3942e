// On a server with wal_level = minimal, pg-restore.sh restores in one pg_restore run, so each table is created and
// loaded in the same transaction and its data skips the WAL; the copy is still identical to the source.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataset, tableChecksums } from "../../support/dataset";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { runScript } from "../../support/pgHarness";

describe("pg-restore.sh on a wal_level=minimal server", () => {
  let pg: PostgresServer;
  let work: string;

  beforeAll(async () => {
    pg = await startPostgres({ extraConf: ["wal_level = minimal", "max_wal_senders = 0", "archive_mode = off"] });
    work = mkdtempSync(join(tmpdir(), "lazarus-walmin-"));
    createDataset(pg, "app", { scale: 20_000 });
  });
  afterAll(() => {
    pg?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("loads the data without writing it to the WAL, and the copy matches the source", () => {
    expect(pg.sql("SHOW wal_level")).toBe("minimal");
    const backup = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", join(work, "b")]);
    expect(backup.code, backup.stderr).toBe(0);
    const walSince = (lsn: string) => Number(pg.sql(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${lsn}')`));
    // What any restore writes whatever the data: a new database and the PostGIS extension's catalog entries.
    let before = pg.sql("SELECT pg_current_wal_lsn()");
    pg.sql("CREATE DATABASE baseline TEMPLATE template0");
    pg.sql("CREATE EXTENSION postgis", "baseline");
    const baseline = walSince(before);
    before = pg.sql("SELECT pg_current_wal_lsn()");
    const restore = runScript(pg, "pg-restore.sh", ["-d", "app", "-j", "2", "--no-analyze", join(work, "b")]);
    expect(restore.code, restore.stderr).toBe(0);
    const restored = restore.result!.restored_database as string;
    // one run: schema, data and indexes are one phase here; --no-analyze: no analyze phase; a .dump.zst: decompressed first
    expect(Object.keys(restore.result!.phases).sort()).toEqual(["autovacuum_on_s", "checksum_s", "decompress_s", "schema_data_indexes_s", "toc_s"]);
    const walBytes = walSince(before) - baseline;
    const tableBytes = Number(pg.sql("SELECT sum(pg_table_size(oid)) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace", restored));
    // Measured: a WAL-logged load (the two-step run) writes about 0.8x the tables' size here; skipped, about 0.27x
    // (indexes, sequences, constraints) remains.
    expect(tableBytes).toBeGreaterThan(10_000_000);
    expect(walBytes).toBeLessThan(tableBytes * 0.45);
    expect(tableChecksums(pg, restored)).toEqual(tableChecksums(pg, "app"));
  });
});
