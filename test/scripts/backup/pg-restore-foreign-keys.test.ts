// Foreign keys through pg-restore.sh (its two-step run: schema, then data, indexes and keys with -j): every key comes
// back exactly as it was in the source (definition, actions, deferrability, and a key NOT VALID in the source stays not
// valid with the row that breaks it), a row that breaks a key the dump has as valid fails the restore and drops the
// copy, and partitioned tables' keys restore. All on a real PostgreSQL 15. (Written for a restore-speed change that
// added the keys NOT VALID and validated them beside the ANALYZE: measured on an idle machine it gained nothing, 0.98x,
// and was not kept; README "Benchmarks".)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { runScript } from "../../support/pgHarness";

// Keys in every form pg_dump writes: composite, ON DELETE/UPDATE actions, deferrable, cross-schema, quoted names with
// spaces and quotes, a self-reference, and one NOT VALID in the source (it has a row that breaks it, kept as it was).
const SCHEMA = `
CREATE SCHEMA billing;
CREATE TABLE account (id int PRIMARY KEY, region text NOT NULL, UNIQUE (id, region));
CREATE TABLE "Odd ""Table"" name" (id int PRIMARY KEY, account_id int, legacy_account_id int);
CREATE TABLE billing.invoice (
  id int PRIMARY KEY,
  account_id int NOT NULL,
  region text NOT NULL,
  parent_id int REFERENCES billing.invoice(id) ON DELETE CASCADE,
  CONSTRAINT invoice_account_region_fkey FOREIGN KEY (account_id, region) REFERENCES account(id, region) ON UPDATE CASCADE,
  CONSTRAINT "invoice ""odd"" fkey" FOREIGN KEY (account_id) REFERENCES account(id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE "Odd ""Table"" name" ADD CONSTRAINT odd_account_fkey FOREIGN KEY (account_id) REFERENCES account(id) ON DELETE SET NULL;
INSERT INTO account SELECT g, 'eu' FROM generate_series(1, 2000) g;
INSERT INTO billing.invoice SELECT g, 1 + g % 2000, 'eu', NULLIF(g - 1, 0) FROM generate_series(1, 5000) g;
INSERT INTO "Odd ""Table"" name" SELECT g, g, g FROM generate_series(1, 100) g;
INSERT INTO "Odd ""Table"" name" VALUES (1000001, 1, 999999);
ALTER TABLE "Odd ""Table"" name" ADD CONSTRAINT odd_not_valid_fkey FOREIGN KEY (legacy_account_id) REFERENCES account(id) NOT VALID;
`;

const KEYS_SQL = `SELECT string_agg(format('%s %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid), convalidated), E'\\n' ORDER BY conrelid::regclass::text, conname)
  FROM pg_constraint WHERE contype = 'f'`;

describe("pg-restore.sh: foreign keys come back as they were, and a row that breaks one fails the restore", () => {
  let pg: PostgresServer;
  let work: string;

  beforeAll(async () => {
    pg = await startPostgres();
    work = mkdtempSync(join(tmpdir(), "lazarus-fk-"));
    pg.sql("CREATE DATABASE keys");
    pg.sql(SCHEMA, "keys");
  });
  afterAll(() => {
    pg?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("brings back every key exactly as in the source: definitions, deferrability, and a NOT VALID key left not valid", () => {
    const backup = runScript(pg, "pg-backup.sh", ["-d", "keys", "-o", join(work, "keys")]);
    expect(backup.code, backup.stderr).toBe(0);
    const restore = runScript(pg, "pg-restore.sh", ["-d", "keys", "-j", "2", join(work, "keys")]);
    expect(restore.code, restore.stderr).toBe(0);
    const copy = restore.result!.restored_database as string;
    expect(pg.sql(KEYS_SQL, copy)).toBe(pg.sql(KEYS_SQL, "keys"));
    expect(pg.sql(KEYS_SQL, copy)).toContain("odd_not_valid_fkey FOREIGN KEY (legacy_account_id) REFERENCES account(id) NOT VALID f");
    // Four keys were valid in the source and were checked again when the restore added them.
    expect(pg.sql("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated", copy)).toBe("4");
  });

  it("fails the restore on a row that breaks a key the dump has as valid, drops the copy and leaves the live database alone", () => {
    pg.sql("CREATE DATABASE broken TEMPLATE keys");
    // A superuser can load a row past a key's trigger; the key stays marked valid, so the dump says it holds.
    pg.sql(`SET session_replication_role = replica; INSERT INTO billing.invoice VALUES (900001, 424242, 'eu', NULL)`, "broken");
    expect(pg.sql("SELECT convalidated FROM pg_constraint WHERE conname = 'invoice_account_region_fkey'", "broken")).toBe("t");
    const backup = runScript(pg, "pg-backup.sh", ["-d", "broken", "-o", join(work, "broken")]);
    expect(backup.code, backup.stderr).toBe(0);
    const before = pg.sql("SELECT count(*) FROM billing.invoice", "broken");
    const restore = runScript(pg, "pg-restore.sh", ["-d", "broken", "-j", "2", "--cutover", join(work, "broken")]);
    expect(restore.code, restore.stdout + restore.stderr).toBe(70);
    expect(restore.result!.status).toBe("error");
    expect(restore.result!.error).toMatch(/the archive's data is damaged or does not load/);
    expect(restore.result!.error).toMatch(/ERROR: +insert or update on table "invoice" violates foreign key constraint "invoice.*" DETAIL: +Key \(account_id(, region)?\)=\(424242(, eu)?\) is not present in table "account"/);
    expect(pg.sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'broken_restore_%' OR datname LIKE 'broken_pre_restore_%'")).toBe("0");
    expect(pg.sql("SELECT count(*) FROM billing.invoice", "broken")).toBe(before);
  });

  it("restores the keys of a database with partitioned tables", () => {
    pg.sql("CREATE DATABASE parts");
    pg.sql(
      `CREATE TABLE customer (id int PRIMARY KEY);
       CREATE TABLE event (id int, customer_id int NOT NULL REFERENCES customer(id), at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
       CREATE TABLE event_2026 PARTITION OF event FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
       CREATE TABLE note (id int PRIMARY KEY, customer_id int REFERENCES customer(id));
       INSERT INTO customer SELECT generate_series(1, 100);
       INSERT INTO event SELECT g, 1 + g % 100, '2026-06-01' FROM generate_series(1, 1000) g;
       INSERT INTO note SELECT g, g FROM generate_series(1, 100) g;`,
      "parts",
    );
    const backup = runScript(pg, "pg-backup.sh", ["-d", "parts", "-o", join(work, "parts")]);
    expect(backup.code, backup.stderr).toBe(0);
    const restore = runScript(pg, "pg-restore.sh", ["-d", "parts", "-j", "2", join(work, "parts")]);
    expect(restore.code, restore.stderr).toBe(0);
    const copy = restore.result!.restored_database as string;
    expect(pg.sql(KEYS_SQL, copy)).toBe(pg.sql(KEYS_SQL, "parts"));
    expect(pg.sql("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated", copy)).toBe("0");
  });
});
