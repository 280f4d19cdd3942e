// pitr-backup.sh and pitr-restore.sh with real pgBackRest (posix repository, encrypted, config rendered by
// renderers/pgbackrest.ts) against a real PostgreSQL 15 archiving its WAL: full and incremental backups, restore
// to a target time and to the latest point into new data directories, table checksums compared; every bad
// input refused with its message and the live cluster untouched.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../support/ports";
import { SCRIPTS_DIR, startPitrCluster, type PitrCluster } from "../../support/pgbackrest";

const PASS = `test-only-${process.pid}-pitr-passphrase`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** psql against a restored cluster over TCP on loopback. */
function sqlAt(port: number, q: string): string {
  const r = spawnSync("psql", ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", q], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`psql on ${port}: ${r.stderr}`);
  return r.stdout.trim();
}

const CHECKSUM = "select count(*) || ':' || md5(coalesce(string_agg(id || ',' || amount || ',' || note || ',' || status, ';' order by id), '')) from orders";

describe("point-in-time recovery with pgBackRest (real PostgreSQL 15 + pgBackRest)", () => {
  let c: PitrCluster;
  let fullLabel = "";
  let sumAtTarget = "";
  let targetTime = "";
  let lastCommitAtTarget = "";

  /** Force a WAL switch and wait until the segment is archived, so the repository holds everything so far. */
  async function archiveNow(): Promise<void> {
    const seg = c.pg.sql("select pg_walfile_name(pg_switch_wal())");
    for (let i = 0; i < 120; i++) {
      const last = c.pg.sql("select coalesce(last_archived_wal, '') from pg_stat_archiver");
      if (last >= seg) return;
      await sleep(250);
    }
    throw new Error(`WAL segment ${seg} was not archived within 30 s`);
  }

  beforeAll(async () => {
    c = await startPitrCluster({ archiveTimeoutSeconds: 10, cipherPass: PASS });
    c.pg.sql(`create type order_status as enum ('new', 'paid', 'refunded');
      create table orders (id bigserial primary key, amount numeric(12,2) not null, note text not null,
        status order_status not null default 'new', created_at timestamptz not null default clock_timestamp());
      insert into orders (amount, note) select round((random() * 1000)::numeric, 2), md5(g::text) from generate_series(1, 50000) g;
      create index on orders (created_at);`);
  });
  afterAll(() => c?.destroy());

  it("scripts are shellcheck-clean, have a usage line, and refuse to run as root", () => {
    const scripts = ["pitr-backup.sh", "pitr-restore.sh"].map((s) => join(SCRIPTS_DIR, s));
    const sc = spawnSync("shellcheck", ["-x", ...scripts], { encoding: "utf8" });
    expect(sc.stdout + sc.stderr).toBe("");
    expect(sc.status).toBe(0);
    for (const s of scripts) {
      const h = spawnSync("bash", [s, "--help"], { encoding: "utf8" });
      expect(h.status).toBe(0);
      expect(h.stdout).toMatch(/^usage: pitr-/);
    }
    if (process.getuid?.() === 0) {
      const r = spawnSync("bash", [scripts[0], "--stanza", "main"], { encoding: "utf8" });
      expect(r.status).toBe(64);
      expect(r.stderr).toMatch(/run as the database server's OS user, not root/);
    }
  });

  it("the rendered pgbackrest.conf carries the encryption type but never the passphrase", () => {
    expect(c.confText).toContain("repo1-cipher-type=aes-256-cbc");
    expect(c.confText).not.toContain(PASS);
    expect(readFileSync(c.confFile, "utf8")).not.toContain(PASS);
  });

  it("full backup: creates the stanza, checks archiving, reports the label", () => {
    const r = c.script("pitr-backup.sh", ["--stanza", "main", "--type", "full"]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", stanza: "main", type: "full", requested_type: "full", backups: 1 });
    fullLabel = String(r.result.label);
    expect(fullLabel).toMatch(/^\d{8}-\d{6}F$/);
    expect(Number(r.result.database_bytes)).toBeGreaterThan(1_000_000);
    // the repository really is encrypted with the passphrase: pgBackRest without it cannot read it
    const info = spawnSync("runuser", ["-u", "postgres", "--", "pgbackrest", `--config=${c.confFile}`, "--stanza=main", "info"], {
      env: { ...process.env, PGBACKREST_REPO1_CIPHER_PASS: "" },
      encoding: "utf8",
    });
    expect(info.stdout + info.stderr).toMatch(/cipher|pass/i);
    expect(info.stdout).not.toContain(fullLabel);
  });

  it("incremental backup after changes references the full one", async () => {
    c.pg.sql("insert into orders (amount, note) select 1.5, 'batch-a-' || g from generate_series(1, 1000) g");
    const r = c.script("pitr-backup.sh", ["--stanza", "main", "--type", "incr"]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.result).toMatchObject({ type: "incr", prior: fullLabel, backups: 2 });
    expect(String(r.result.label)).toMatch(new RegExp(`^${fullLabel}_\\d{8}-\\d{6}I$`));
    expect(Number(r.result.repo_delta_bytes)).toBeLessThan(Number(r.result.repo_bytes));
  });

  it("restores to a target time into a new data directory: the data as it was at that moment", async () => {
    c.pg.sql("insert into orders (amount, note, status) select 2.25, 'batch-b-' || g, 'paid' from generate_series(1, 500) g");
    sumAtTarget = c.pg.sql(CHECKSUM);
    lastCommitAtTarget = c.pg.sql("select max(created_at) from orders");
    await sleep(1100);
    targetTime = c.pg.sql("select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
    await sleep(1100);
    // after the target: more rows, an update and a delete that must not be in the restored copy
    c.pg.sql("insert into orders (amount, note) select 9.99, 'batch-c-' || g from generate_series(1, 700) g");
    c.pg.sql("update orders set status = 'refunded' where id % 97 = 0");
    c.pg.sql("delete from orders where id % 101 = 0");
    await archiveNow();
    const liveSum = c.pg.sql(CHECKSUM);
    expect(liveSum).not.toBe(sumAtTarget);

    const port = await freePort();
    const target = join(c.mkdir("restore-time"), "data");
    const r = c.script("pitr-restore.sh", ["--stanza", "main", "--target-dir", target, "--port", String(port), "--target-time", targetTime]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", recovery_type: "time", target_time: targetTime, in_recovery: false, started: true });
    expect(String(r.result.backup_label)).toMatch(/I$/);
    expect(sqlAt(port, CHECKSUM)).toBe(sumAtTarget);
    expect(sqlAt(port, "select pg_is_in_recovery()")).toBe("f");
    // recovered until: the last commit before the target, not after it
    const until = Date.parse(String(r.result.recovered_until));
    expect(until).toBeLessThanOrEqual(Date.parse(targetTime.replace(" ", "T").replace(/\+00$/, "Z")));
    expect(until).toBeGreaterThanOrEqual(Date.parse(lastCommitAtTarget.replace(" ", "T").replace(/\+00$/, "Z")));
    // the restored copy did not archive into the live cluster's repository (archive_mode was off for its start)
    expect(sqlAt(port, "show archive_mode")).toBe("off");
    // the live cluster is untouched
    expect(c.pg.sql(CHECKSUM)).toBe(liveSum);
  });

  it("restores to the latest point: everything committed and archived", async () => {
    c.pg.sql("insert into orders (amount, note) values (42, 'the very last order')");
    await archiveNow();
    const liveSum = c.pg.sql(CHECKSUM);
    const port = await freePort();
    const target = join(c.mkdir("restore-latest"), "data");
    const r = c.script("pitr-restore.sh", ["--stanza", "main", "--target-dir", target, "--port", String(port)]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", recovery_type: "latest", in_recovery: false });
    expect(sqlAt(port, CHECKSUM)).toBe(liveSum);
    expect(sqlAt(port, "select note from orders order by id desc limit 1")).toBe("the very last order");
    expect(sqlAt(port, "select count(*) from pg_type where typname = 'order_status'")).toBe("1");
    expect(Number(r.result.timeline)).toBeGreaterThanOrEqual(2);
  });

  it("--target-action pause leaves the copy in recovery at the target for inspection; --no-start only lays down the files", async () => {
    const port = await freePort();
    const paused = join(c.mkdir("restore-pause"), "data");
    const r = c.script("pitr-restore.sh", ["--stanza", "main", "--target-dir", paused, "--port", String(port), "--target-time", targetTime, "--target-action", "pause"]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", in_recovery: true, started: true });
    expect(sqlAt(port, "select pg_is_in_recovery()")).toBe("t");
    expect(sqlAt(port, CHECKSUM)).toBe(sumAtTarget);

    const filesOnly = join(c.mkdir("restore-files"), "data");
    const f = c.script("pitr-restore.sh", ["--stanza", "main", "--target-dir", filesOnly, "--port", String(await freePort()), "--no-start"]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.result).toMatchObject({ status: "ok", started: false, recovery_type: "latest" });
    expect(existsSync(join(filesOnly, "PG_VERSION"))).toBe(true);
    expect(existsSync(join(filesOnly, "recovery.signal"))).toBe(true);
    expect(existsSync(join(filesOnly, "postmaster.pid"))).toBe(false);
  });

  it("refuses wrong input before touching anything, each with its message", async () => {
    const liveSum = c.pg.sql(CHECKSUM);
    const port = await freePort();
    const fresh = () => join(c.mkdir(`bad-${Math.random().toString(36).slice(2, 8)}`), "data");
    const cases: { args: string[]; code: number; msg: RegExp; script?: string; env?: NodeJS.ProcessEnv }[] = [
      { script: "pitr-backup.sh", args: ["--stanza", "wrong"], code: 66, msg: /stanza 'wrong' is not configured in .*pgbackrest\.conf \(no pg1-path for it\)/ },
      { args: ["--stanza", "wrong", "--target-dir", fresh(), "--port", String(port)], code: 66, msg: /stanza 'wrong' not found in the repository \(missing stanza path\)/ },
      { args: ["--stanza", "main", "--target-dir", c.pg.dataDir, "--port", String(port)], code: 73, msg: /refusing to restore into .*: it holds a PostgreSQL data directory/ },
      { args: ["--stanza", "main", "--target-dir", c.root, "--port", String(port)], code: 73, msg: /refusing to restore into .*: the directory is not empty/ },
      { args: ["--stanza", "main", "--target-dir", fresh(), "--port", String(c.pg.port)], code: 69, msg: new RegExp(`port ${c.pg.port} is already in use`) },
      { args: ["--stanza", "main", "--target-dir", fresh(), "--port", String(port), "--target-time", "2001-01-01 00:00:00+00"], code: 65, msg: /target time 2001-01-01 00:00:00\+00 is before the end of the oldest backup/ },
      { args: ["--stanza", "main", "--target-dir", fresh(), "--port", String(port), "--target-time", "yesterday-ish"], code: 64, msg: /--target-time is not a time: 'yesterday-ish'/ },
      { args: ["--stanza", "main", "--target-dir", fresh(), "--port", String(port), "--target-time", "2026-11-23 14:03:00"], code: 64, msg: /--target-time needs an explicit UTC offset, e\.g\. "2026-11-23 14:03:00\+00"/ },
      { args: ["--stanza", "main", "--target-dir", fresh(), "--port", String(port), "--set", "20000101-000000F"], code: 66, msg: /backup set '20000101-000000F' not found for stanza 'main' \(have: / },
      { args: ["--stanza", "main", "--target-dir", fresh(), "--port", String(port)], code: 69, msg: /repository for stanza 'main' is not usable|pgbackrest info failed/, env: { PGBACKREST_REPO1_CIPHER_PASS: "wrong-passphrase" } },
    ];
    for (const k of cases) {
      const r = c.script(k.script ?? "pitr-restore.sh", k.args, k.env);
      expect(r.code, `${k.args.join(" ")}: ${r.stderr}`).toBe(k.code);
      expect(r.result.status).toBe("error");
      expect(String(r.result.error)).toMatch(k.msg);
    }
    expect(existsSync(join(c.pg.dataDir, "recovery.signal"))).toBe(false);
    expect(c.pg.sql(CHECKSUM)).toBe(liveSum);
  });

  it("a target time past the end of the archive fails with the last recoverable commit time", async () => {
    const port = await freePort();
    const target = join(c.mkdir("restore-future"), "data");
    const future = c.pg.sql("select to_char((clock_timestamp() + interval '1 hour') at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00'");
    const r = c.script("pitr-restore.sh", ["--stanza", "main", "--target-dir", target, "--port", String(port), "--target-time", future, "--timeout", "120"]);
    expect(r.code, r.stderr + JSON.stringify(r.result)).toBe(65);
    expect(String(r.result.error)).toMatch(/the archive ends before the target time .*: the last transaction in it was committed at \d{4}-\d\d-\d\d/);
  });

  it("a broken archive_command makes the backup fail its check, saying WAL archiving is not working", () => {
    // still "contains pgbackrest" (pgbackrest check insists), but every archive attempt fails
    c.pg.sql("alter system set archive_command = 'exit 1 # pgbackrest --stanza=main archive-push %p'");
    c.pg.sql("select pg_reload_conf()");
    try {
      const r = c.script("pitr-backup.sh", ["--stanza", "main", "--type", "incr"], { PGBACKREST_ARCHIVE_TIMEOUT: "5" });
      expect(r.code).toBe(69);
      expect(String(r.result.error)).toMatch(/pgbackrest check failed, WAL archiving is not working: .*was not archived before the 5000ms timeout/);
    } finally {
      c.pg.sql("alter system reset archive_command");
      c.pg.sql("select pg_reload_conf()");
    }
    // no log file in the repository or the temp dirs holds the passphrase
    const logs = readdirSync(join(c.root, "log")).map((f) => readFileSync(join(c.root, "log", f), "utf8")).join("\n");
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(PASS);
    writeFileSync(join(c.root, "log", ".checked"), "");
  });
});
