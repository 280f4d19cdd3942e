// The pgpass files GoodGo ships (pg-backup's PGPASSFILE, PgBouncer's admin console) work with the real libpq: psql
// and pg_dump log on to a real PostgreSQL 15 that requires SCRAM over TCP, with the password only in the file (no
// PGPASSWORD), the file 0600 as the stack writes it. A password with ":" and "\" proves the escaping. The test server
// runs with trust auth by default (test/support/postgres.ts): this test replaces its pg_hba.conf to require passwords.
// postgres-exporter's DATA_SOURCE_PASS_FILE and redis_exporter's JSON map are checked by config only
// (secrets-not-in-container-env.test.ts): neither exporter is installed here.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { goodgo } from "../../../stacks/goodgo";
import { goodgoContainerSecretFiles } from "../../../stacks/goodgo/env";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { goodgoTestSecrets, stackPlatformConfig } from "../../support/stacks";

const PASSWORD = `test-only:pw\\with "both" ${process.pid}`;
let pg: PostgresServer;
let dir: string;
const cfg = stackPlatformConfig("prod", goodgo);

beforeAll(async () => {
  pg = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), "goodgo-pgpass-"));
  pg.sql(`CREATE ROLE ${cfg.database.user} LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
  pg.sql(`CREATE DATABASE ${cfg.database.name} OWNER ${cfg.database.user}`);
  pg.sql(`ALTER SYSTEM SET password_encryption = 'scram-sha-256'`);
  writeFileSync(join(pg.dataDir, "pg_hba.conf"), `local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n`);
  pg.sql("SELECT pg_reload_conf()");
});
afterAll(() => {
  pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function pgpassFile(content: string, mode: number): string {
  const path = join(dir, `pgpass-${Math.random().toString(16).slice(2)}`);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

function asBackupContainer(cmd: string, args: string[], pgpass: string) {
  // pg-backup's environment as the compose file sets it: PGHOST/PGUSER/PGDATABASE and PGPASSFILE, no PGPASSWORD.
  const env = { PATH: process.env.PATH, PGHOST: "127.0.0.1", PGPORT: String(pg.port), PGUSER: cfg.database.user, PGDATABASE: cfg.database.name, PGPASSFILE: pgpass, PGCONNECT_TIMEOUT: "5" };
  return spawnSync(cmd, args, { env, encoding: "utf8" });
}

const files = (password: string) => goodgoContainerSecretFiles(cfg, goodgoTestSecrets({ dbPassword: password, pgbouncerAdminPassword: password }));

describe("pg-backup's PGPASSFILE, with real psql and pg_dump", () => {
  it("the server refuses a client without the password (the check is real)", () => {
    const r = asBackupContainer("psql", ["-X", "-At", "-c", "SELECT 1"], join(dir, "missing"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/password/);
  });

  it("logs on with the shipped file alone, 0600", () => {
    const path = pgpassFile(files(PASSWORD).pgBackupPgpass, 0o600);
    const q = asBackupContainer("psql", ["-X", "-At", "-c", "SELECT current_user"], path);
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout.trim()).toBe(cfg.database.user);
    const dump = asBackupContainer("pg_dump", ["-Fc", "-f", join(dir, "x.dump")], path);
    expect(dump.status, dump.stderr).toBe(0);
  });

  it("is ignored by libpq when group or others can read it (why the stack writes it 0600)", () => {
    const path = pgpassFile(files(PASSWORD).pgBackupPgpass, 0o644);
    const r = asBackupContainer("psql", ["-X", "-At", "-c", "SELECT 1"], path);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/permissions|password/);
  });

  it("PgBouncer's admin file has the same format, for its own user", () => {
    expect(files(PASSWORD).pgbouncerAdminPgpass).toBe(`*:*:*:pgbouncer_admin:${PASSWORD.replace(/[\\:]/g, (c) => `\\${c}`)}\n`);
  });
});
