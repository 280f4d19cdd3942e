// scripts/ops/pg-host-setup.sh against a real PostgreSQL 15 (postgres.where: host): the role, its database and
// pg_stat_statements, so that the runbook's slow-query procedure works as the app's user, and CREATEDB for the weekly
// backup verification; a second run with a new password rotates it.
// Stand-in limits: PSQL_AS=env (the harness's superuser connection) instead of `runuser -u postgres` on the host's
// socket, and --service none (no systemd here: the preload is set in the test server's config from the start).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PG_BIN, startPostgres, type PostgresServer } from "../../support/postgres";
import { managedExtensionCommand } from "../../../stacks/bunty/plan";
import { REPO, parseResult } from "../../support/testHost";

let pg: PostgresServer;
beforeAll(async () => {
  pg = await startPostgres({ password: "superuser-secret", extraConf: ["shared_preload_libraries = 'pg_stat_statements'"] });
}, 60_000);
afterAll(() => pg?.destroy());

const setup = (password: string) => {
  const r = spawnSync("bash", [join(REPO, "scripts/ops/pg-host-setup.sh"), "--database", "bunty_staging", "--user", "bunty", "--extension", "pg_stat_statements", "--createdb", "--service", "none"], {
    env: { ...process.env, ...pg.env, PSQL_AS: "env", PATH: `${PG_BIN}:${process.env.PATH}` },
    input: password,
    encoding: "utf8",
  });
  return { code: r.status, stderr: r.stderr, json: parseResult(r.stdout) };
};
const asApp = (password: string, sql: string) =>
  spawnSync(join(PG_BIN, "psql"), ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    env: { ...process.env, PGHOST: "127.0.0.1", PGPORT: String(pg.port), PGUSER: "bunty", PGPASSWORD: password, PGDATABASE: "bunty_staging", PGPASSFILE: "/dev/null" },
    encoding: "utf8",
  });

describe("the managed cluster's pg_stat_statements step (stacks/bunty/plan.ts managedExtensionCommand)", () => {
  it("creates the extension as the admin user with the password on stdin only (no newline, as the provider sends it), and again changes nothing; an empty stdin is refused", () => {
    // A DigitalOcean cluster requires TLS (sslmode=require, the plan's value); this server has none, so disable here.
    pg.sql("CREATE DATABASE bunty_prod");
    const cmd = managedExtensionCommand({ host: "127.0.0.1", port: pg.port, adminUser: pg.user, database: "bunty_prod", sslmode: "disable" });
    expect(cmd).not.toContain("superuser-secret");
    for (let i = 0; i < 2; i++) {
      // Exactly as the command provider sends a secret stdin: the value, no trailing newline.
      const r = spawnSync("bash", ["-c", cmd], { env: { PATH: `${PG_BIN}:/usr/bin:/bin`, PGPASSFILE: "/dev/null" }, input: "superuser-secret", encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
    }
    const empty = spawnSync("bash", ["-c", cmd], { env: { PATH: `${PG_BIN}:/usr/bin:/bin`, PGPASSFILE: "/dev/null" }, input: "", encoding: "utf8" });
    expect(empty.status).toBe(64);
    expect(empty.stderr).toContain("none arrived");
    expect(pg.sql("SELECT extname FROM pg_extension WHERE extname = 'pg_stat_statements'", "bunty_prod")).toBe("pg_stat_statements");
  });
});

describe("pg-host-setup.sh against a real PostgreSQL", () => {
  it("creates the role, its database and pg_stat_statements; the runbook's slow-query query works as the app", () => {
    const r = setup("first pass'word");
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ status: "ok", database: "bunty_staging", user: "bunty", createdb: true, extensions: ["pg_stat_statements"] });
    expect(pg.sql("SELECT rolcreatedb FROM pg_roles WHERE rolname = 'bunty'")).toBe("t");
    expect(pg.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'bunty_staging'")).toBe("bunty");
    const slow = asApp("first pass'word", "SELECT query, mean_exec_time, calls FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 10;");
    expect(slow.status, slow.stderr).toBe(0);
    expect(slow.stdout).toMatch(/\|/);
  });

  it("a second run with a new password rotates it and changes nothing else", () => {
    const r = setup("second");
    expect(r.code, r.stderr).toBe(0);
    expect(asApp("second", "SELECT 1").status).toBe(0);
    expect(asApp("first pass'word", "SELECT 1").status).not.toBe(0);
    expect(pg.sql("SELECT count(*) FROM pg_database WHERE datname = 'bunty_staging'")).toBe("1");
  });
});
