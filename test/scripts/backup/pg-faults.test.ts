// Faults during restore and cutover, injected for real against the harness's PostgreSQL: kill -9 of pg-restore.sh and
// of its pg_restore, the server stopped mid-restore, a full scratch directory (a 1 MB tmpfs mounted here as root and
// unmounted after), SIGTERM, retention over a corrupt newest backup, and a cutover without the live name. Each case
// failed on the scripts before issue 14's fixes.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataset, tableChecksums, type TableChecksum } from "../../support/dataset";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { databases, runScript, sleep, startScript, type ScriptRun } from "../../support/pgHarness";

describe("PostgreSQL restore under faults: no half copy goes live, the live database keeps accepting connections, a full disk is no bad backup", () => {
  let pg: PostgresServer;
  let work: string;
  let live: Record<string, TableChecksum>;
  let slowLive: Record<string, TableChecksum>;
  let slowDir: string; // a backup of "slow", whose restore spends seconds in one known index build
  let good: string; // a backup of "app" (the default, a .dump.zst)
  let goodGzip: string; // the same with pg_dump's own gzip (a .dump pg_restore reads in place)
  const mounts: string[] = [];

  beforeAll(async () => {
    pg = await startPostgres();
    work = mkdtempSync(join(tmpdir(), "lazarus-pgfaults-"));
    createDataset(pg, "app", { scale: 20_000 });
    live = tableChecksums(pg, "app");
    const b = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", join(work, "app")]);
    if (b.code !== 0) throw new Error(`backup failed: ${b.stderr}`);
    good = b.result!.file;
    const g = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", join(work, "app-gzip"), "--codec", "gzip"]);
    if (g.code !== 0) throw new Error(`gzip backup failed: ${g.stderr}`);
    goodGzip = g.result!.file;
    // An expression index over a slow function: the restore spends seconds in CREATE INDEX slow_idx.
    pg.sql("CREATE DATABASE slow");
    pg.sql(
      "CREATE FUNCTION slow_id(i bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT i + 0 * length(pg_sleep(0.002)::text)';" +
        "CREATE TABLE big AS SELECT g::bigint AS id, md5(g::text) AS v FROM generate_series(1, 100000) g;" +
        "CREATE TABLE slow_table AS SELECT g::bigint AS id FROM generate_series(1, 3000) g;" +
        "CREATE INDEX slow_idx ON slow_table (slow_id(id));",
      "slow",
    );
    slowLive = tableChecksums(pg, "slow");
    slowDir = join(work, "slow");
    const s = runScript(pg, "pg-backup.sh", ["-d", "slow", "-o", slowDir]);
    if (s.code !== 0) throw new Error(`backup failed: ${s.stderr}`);
  });
  afterAll(() => {
    for (const m of mounts) spawnSync("umount", ["-l", m]);
    pg?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function expectRefused(run: ScriptRun, code: number, message: RegExp): void {
    expect(run.code, run.stderr).toBe(code);
    expect(run.result?.status).toBe("error");
    expect(run.result?.error).toMatch(message);
  }
  const leftovers = (db: string) => databases(pg).filter((d) => d.startsWith(`${db}_restore_`) || d.startsWith(`${db}_pre_restore_`));
  function dropLeftovers(db: string): void {
    for (const name of leftovers(db)) expect(runScript(pg, "pg-restore.sh", ["--drop-previous", name]).code).toBe(0);
  }
  /** Waits until the slow restore builds slow_idx (the copy then has its tables but not all indexes). */
  async function untilSlowIndexBuild(): Promise<void> {
    for (let i = 0; i < 800; i++) {
      await sleep(25);
      if (pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'slow_restore_%' AND query LIKE 'CREATE INDEX slow_idx%'") === "1") return;
    }
    throw new Error("the restore never reached CREATE INDEX slow_idx");
  }
  /** Every process below pid. */
  function descendants(pid: number): number[] {
    const children = spawnSync("pgrep", ["-P", String(pid)]).stdout.toString().trim().split("\n").filter(Boolean).map(Number);
    return children.flatMap((c) => [c, ...descendants(c)]);
  }
  /** A tmpfs of 1 MB, filled to the last byte. */
  function fullDir(name: string): string {
    const d = join(work, name);
    mkdirSync(d);
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", d]);
    if (m.status !== 0) throw new Error(`this test needs root to mount a 1 MB tmpfs: ${m.stderr}`);
    mounts.push(d);
    spawnSync("dd", ["if=/dev/zero", `of=${join(d, "filler")}`, "bs=64k"]);
    return d;
  }

  it("kill -9 of pg-restore.sh mid-restore: its leftover copy is refused by --swap-in; a finished copy is accepted", async () => {
    const { child, done } = startScript(pg, "pg-restore.sh", ["-d", "slow", "-j", "2", slowDir]);
    await untilSlowIndexBuild();
    child.kill("SIGKILL"); // no trap runs: the half-built copy stays
    await done;
    const [leftover] = leftovers("slow");
    expect(leftover).toMatch(/^slow_restore_\d{14}$/);
    // The very command a successful restore prints, on the leftover.
    const swap = runScript(pg, "pg-restore.sh", ["--swap-in", leftover]);
    expectRefused(swap, 65, /no proof of a finished restore/);
    expect(tableChecksums(pg, "slow")).toEqual(slowLive);
    dropLeftovers("slow");

    // A finished restore carries the proof, with the backup and its sha256; --swap-in then cuts over.
    const kept = runScript(pg, "pg-restore.sh", ["-d", "app", "-j", "2", good]);
    expect(kept.code, kept.stderr).toBe(0);
    const ok = runScript(pg, "pg-restore.sh", ["--swap-in", kept.result!.restored_database]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.result).toMatchObject({ cutover: true, backup: good, sha256: kept.result!.sha256 });
    expect(tableChecksums(pg, "app")).toEqual(live);
    dropLeftovers("app");
  });

  it("kill -9 of the child pg_restore: exit 70, the copy dropped, the live database untouched", async () => {
    const { child, done } = startScript(pg, "pg-restore.sh", ["-d", "slow", "-j", "2", slowDir]);
    await untilSlowIndexBuild();
    const restorePids = descendants(child.pid!).filter((p) => spawnSync("ps", ["-o", "comm=", "-p", String(p)]).stdout.toString().trim() === "pg_restore");
    expect(restorePids.length).toBeGreaterThan(0);
    for (const p of restorePids) process.kill(Number(p), "SIGKILL");
    const run = await done;
    expectRefused(run, 70, /restore into slow_restore_\d+ failed/);
    expect(leftovers("slow")).toEqual([]);
    expect(tableChecksums(pg, "slow")).toEqual(slowLive);
  });

  it("the server stopped mid-restore: the leftover is refused by --swap-in once the server is back", async () => {
    const { done } = startScript(pg, "pg-restore.sh", ["-d", "slow", "-j", "2", slowDir]);
    await untilSlowIndexBuild();
    pg.stop("immediate");
    const run = await done;
    pg.start();
    expectRefused(run, 69, /server stopped or became unreachable during the restore/);
    // The server was gone, so the script could not drop its partial copy.
    const [leftover] = leftovers("slow");
    expect(leftover).toMatch(/^slow_restore_\d{14}$/);
    expectRefused(runScript(pg, "pg-restore.sh", ["--swap-in", leftover]), 65, /no proof of a finished restore/);
    expect(tableChecksums(pg, "slow")).toEqual(slowLive);
    dropLeftovers("slow");
  });

  it("kill -9 during the cutover: the live database still accepts connections and keeps its data", async () => {
    // A session that cannot end at once (its backend is stopped), so the cutover is caught while it waits.
    const stuck: ChildProcess = spawn("psql", ["-X", "-d", "app"], { env: { ...pg.env, PGAPPNAME: "stuck-session" }, stdio: ["pipe", "ignore", "ignore"] });
    let backend = "";
    for (let i = 0; i < 200 && !backend; i++) {
      await sleep(25);
      backend = pg.sql("SELECT pid FROM pg_stat_activity WHERE application_name = 'stuck-session'");
    }
    process.kill(Number(backend), "SIGSTOP");
    try {
      const { child, done } = startScript(pg, "pg-restore.sh", ["-d", "app", "--cutover", "--terminate-timeout", "30", "-j", "2", good]);
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      for (let i = 0; i < 800 && !/cutover:/.test(stderr); i++) await sleep(25);
      expect(stderr).toMatch(/cutover:/);
      await sleep(500);
      child.kill("SIGKILL");
      await done;
    } finally {
      process.kill(Number(backend), "SIGCONT");
      stuck.kill("SIGKILL");
    }
    // The orphaned psql of a one-transaction swap ends within the server's 5 s wait; a stored flag would not.
    await sleep(6000);
    expect(pg.sql("SELECT datallowconn FROM pg_database WHERE datname = 'app'")).toBe("t");
    expect(tableChecksums(pg, "app")).toEqual(live);
    dropLeftovers("app");
  }, 60_000);

  it("a full scratch directory is no wrong key and no bad backup: exit 73 with the path and the space needed", () => {
    const full = fullDir("full-scratch");
    // Unencrypted: a .dump.zst is decompressed into the scratch; a .dump's pg_restore -l into a full disk exits 0 with
    // an empty listing.
    for (const script of ["pg-restore.sh", "pg-verify.sh"]) {
      for (const file of [good, goodGzip]) {
        const run = runScript(pg, script, ["-d", "app", file], { WORK_DIR: full });
        expectRefused(run, 73, new RegExp(`no space for .* in ${full}: needs \\d+ bytes`));
      }
    }
    // Room for the file but not for what it decompresses to: zstd stops mid-stream on ENOSPC, still 73, never 65.
    const goodBytes = statSync(good).size;
    const roomy = join(work, "scratch-too-small");
    mkdirSync(roomy);
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${Math.ceil((goodBytes * 1.2) / 1024)}k`, "tmpfs", roomy]);
    if (m.status !== 0) throw new Error(`this test needs root to mount a tmpfs: ${m.stderr}`);
    mounts.push(roomy);
    for (const script of ["pg-restore.sh", "pg-verify.sh"]) {
      const run = runScript(pg, script, ["-d", "app", good], { WORK_DIR: roomy });
      expectRefused(run, 73, new RegExp(`no space for the decompressed archive .* in ${roomy}: .*No space left on device`));
      expect(readdirSync(roomy)).toEqual([]); // nothing half-written left behind
    }
    // Encrypted with openssl and with age, each with its own right key.
    const keys = join(work, "keys");
    mkdirSync(keys, { mode: 0o700 });
    const key = join(keys, "right.key");
    writeFileSync(key, "correct horse battery staple\n", { mode: 0o600 });
    const o = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", join(work, "enc"), "--key-file", key]);
    expect(o.code, o.stderr).toBe(0);
    const identity = join(keys, "right.agekey");
    spawnSync("age-keygen", ["-o", identity]);
    const recipient = spawnSync("age-keygen", ["-y", identity]).stdout.toString().trim();
    const a = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", join(work, "age"), "--recipient", recipient]);
    expect(a.code, a.stderr).toBe(0);
    for (const [file, env] of [
      [o.result!.file, { BACKUP_KEY_FILE: key }],
      [a.result!.file, { AGE_IDENTITY_FILE: identity }],
    ] as const) {
      for (const script of ["pg-restore.sh", "pg-verify.sh"]) {
        const run = runScript(pg, script, ["-d", "app", file], { ...env, WORK_DIR: full });
        expectRefused(run, 73, new RegExp(`no space for the decompressed archive \\(typically 2-3x the \\d+-byte file\\) in ${full}: needs \\d+ bytes`));
        expect(run.result!.error).not.toMatch(/wrong/);
      }
    }
    expect(leftovers("app")).toEqual([]);
    expect(tableChecksums(pg, "app")).toEqual(live);
  });

  it("SIGTERM mid-restore: one JSON result line, exit 143, the copy dropped", async () => {
    const { child, done } = startScript(pg, "pg-restore.sh", ["-d", "slow", "-j", "2", slowDir]);
    await untilSlowIndexBuild();
    const t0 = Date.now();
    child.kill("SIGTERM");
    const run = await done;
    // At once, not after pg_restore finishes: slow_idx alone takes 6 s (3000 rows x 2 ms) from here.
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(run.code).toBe(143);
    expect(run.stdout.trim().split("\n").filter((l) => l.startsWith("{"))).toHaveLength(1);
    expect(run.result).toMatchObject({ status: "error", exit_code: 143, script: "pg-restore.sh" });
    expect(leftovers("slow")).toEqual([]);
    expect(tableChecksums(pg, "slow")).toEqual(slowLive);
  }, 60_000);

  it("--cutover without the live database's name is refused before anything is restored", () => {
    const run = runScript(pg, "pg-restore.sh", ["--cutover", good]);
    expectRefused(run, 64, /--cutover needs the live database's name: add -d DB/);
    expect(leftovers("app")).toEqual([]);
  });

  it("retention deleting a corrupt newest backup that latest names repoints latest to the newest good one", () => {
    const d = join(work, "retention");
    mkdirSync(d);
    const older = join(d, "app_20240101T000000Z.dump");
    const corrupt = join(d, "app_20240102T000000Z.dump");
    copyFileSync(good, older);
    writeFileSync(`${older}.sha256`, `${spawnSync("sha256sum", [older]).stdout.toString().split(" ")[0]}  ${basename(older)}\n`);
    copyFileSync(good, corrupt);
    writeFileSync(`${corrupt}.sha256`, `${"0".repeat(64)}  ${basename(corrupt)}\n`);
    spawnSync("ln", ["-s", basename(corrupt), join(d, "latest")]);
    const day = 86400;
    const now = Date.now() / 1000;
    utimesSync(older, now - 20 * day, now - 20 * day);
    utimesSync(corrupt, now - 10 * day, now - 10 * day);
    const run = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", d, "--prune-only", "--retention-days", "7"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.result!.deleted).toEqual([basename(corrupt)]);
    expect(readlinkSync(join(d, "latest"))).toBe(basename(older));
    expect(run.result!.latest_repointed_to).toBe(basename(older));
  });
});
