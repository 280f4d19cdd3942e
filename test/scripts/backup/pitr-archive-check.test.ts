// pitr-archive-check.sh: can the live server archive to the stanza? Real pgBackRest 2.45 and real PostgreSQL 15: the
// cluster that created the stanza passes; a FRESH initdb cluster (a replaced, empty data volume: another system
// identifier) is refused against that stanza with both system ids, which is what pgBackRest's archive-push refuses too
// (ArchiveMismatchError; its real refusal on a replaced server is shown by test/engine/dr-drill-physical.test.ts). A
// repository without the stanza passes (nothing to mismatch), and an unreachable server is 69, not a pass.
// The script runs as root (as GoodGo's chain runs it in pg-backup: psql with the container's libpq environment) and
// runs pgBackRest as PITR_RUN_AS=postgres. The repository is posix here (the S3 one is read the same way by `info`).
// Found by it: system ids are 64-bit and jq 1.6 (the image's) read pgBackRest's as a double, rounding it
// (7714637105547094527 became ...094000), so the stanza's own cluster was refused; the script now compares them as text.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS_DIR, startPitrCluster, type PitrCluster } from "../../support/pgbackrest";
import { startPostgres, type PostgresServer } from "../../support/postgres";

const SCRIPT = join(SCRIPTS_DIR, "pitr-archive-check.sh");
const HINT = "Use recovery.host instead.";

function check(pg: PostgresServer, c: PitrCluster, args: string[]) {
  const r = spawnSync("bash", [SCRIPT, ...args], { env: { ...process.env, ...pg.env, PGDATABASE: "postgres", PGBACKREST_CONFIG: c.confFile, PITR_RUN_AS: "postgres" }, encoding: "utf8" });
  const last = r.stdout.trim().split("\n").pop() ?? "";
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, result: last.startsWith("{") ? (JSON.parse(last) as Record<string, unknown>) : undefined };
}

describe("pitr-archive-check.sh: a server that is not the stanza's database system is refused before a restore", () => {
  let c: PitrCluster;
  let fresh: PostgresServer;
  let systemId = "";

  beforeAll(async () => {
    c = await startPitrCluster({ stanza: "goodgo", archiveTimeoutSeconds: 10 });
    fresh = await startPostgres();
    systemId = c.pg.sql("SELECT system_identifier FROM pg_control_system()");
  }, 120_000);
  afterAll(() => {
    fresh?.destroy();
    c?.destroy();
  });

  it("is shellcheck-clean, prints usage on --help and refuses a bad argument with 64 from a copied folder", () => {
    const sc = spawnSync("shellcheck", ["-x", SCRIPT], { encoding: "utf8" });
    expect(sc.stdout + sc.stderr).toBe("");
    const copy = mkdtempSync(join(tmpdir(), "lazarus-archive-check-"));
    try {
      cpSync(join(SCRIPTS_DIR, ".."), join(copy, "scripts"), { recursive: true });
      const help = spawnSync("bash", [join(copy, "scripts/backup/pitr-archive-check.sh"), "--help"], { encoding: "utf8" });
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(/^usage: pitr-archive-check\.sh --stanza NAME/);
      const bad = spawnSync("bash", [join(copy, "scripts/backup/pitr-archive-check.sh"), "--stanza", "no/slash"], { encoding: "utf8" });
      expect(bad.status).toBe(64);
      expect(JSON.parse(bad.stdout.trim().split("\n").pop()!)).toMatchObject({ status: "error", exit_code: 64 });
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it("passes a repository that has no such stanza yet: no database system to mismatch", () => {
    const r = check(c.pg, c, ["--stanza", "goodgo"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", stanza: "goodgo", live_system_id: systemId, stanza_system_id: "" });
    expect(String(r.result!.reason)).toContain("the repository has no stanza goodgo yet (missing stanza path)");
  });

  it("passes the cluster whose stanza it is, with a backup in it", () => {
    const full = c.script("pitr-backup.sh", ["--stanza", "goodgo", "--type", "full"]);
    expect(full.code, full.stderr).toBe(0);
    const r = check(c.pg, c, ["--stanza", "goodgo"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", live_system_id: systemId, stanza_system_id: systemId, live_version: "15", stanza_version: "15" });
    expect(String(r.result!.reason)).toBe(`the live server is stanza goodgo's database system (PostgreSQL 15, system id ${systemId}): it archives there`);
  }, 120_000);

  it("refuses (65) a fresh initdb cluster against that stanza, naming both system ids, the piling WAL and what to do instead", () => {
    const freshId = fresh.sql("SELECT system_identifier FROM pg_control_system()");
    expect(freshId).not.toBe(systemId);
    const r = check(fresh, c, ["--stanza", "goodgo", "--hint", HINT]);
    expect(r.code, r.stdout + r.stderr).toBe(65);
    expect(r.result).toMatchObject({ status: "error", exit_code: 65 });
    const error = String(r.result!.error);
    expect(error).toBe(
      `the live server is another database system (PostgreSQL 15, system id ${freshId}) than stanza goodgo's (PostgreSQL 15, system id ${systemId}): a replaced, empty server (a new initdb). pgBackRest refuses its WAL for stanza goodgo (ArchiveMismatchError), so archive_command fails and WAL is piling up in pg_wal; a database restore would not fix that. ${HINT}`,
    );
    // One line on stderr says it all (what the engine shows for the failed step).
    expect(r.stderr.trim().split("\n")).toEqual([`pitr-archive-check.sh: error: ${error}`]);
  });

  it("is unavailable (69), not a pass, when the live server does not answer", () => {
    const r = check({ ...fresh, env: { ...fresh.env, PGHOST: "127.0.0.1", PGPORT: "1" } }, c, ["--stanza", "goodgo"]);
    expect(r.code, r.stdout + r.stderr).toBe(69);
    expect(String(r.result!.error)).toContain("cannot ask the live PostgreSQL server for its system identifier (127.0.0.1:1)");
  });
});
