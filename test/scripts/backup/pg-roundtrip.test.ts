// Backup, verify, restore and cutover against a real PostgreSQL 15 + PostGIS holding a generated dataset
// (120k+ rows, PostGIS geometries, enums, B-tree and GiST indexes): what comes back must have the same
// per-table checksums as what went in.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataset, tableChecksums, type TableChecksum } from "../../support/dataset";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { databases, runScript, sha256File, sleep, startScript } from "../../support/pgHarness";
import { startS3Stub, type S3Stub } from "../../support/s3Stub";

/** The first four bytes of every zstd frame. */
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

describe("PostgreSQL logical backup round trip", () => {
  let pg: PostgresServer;
  let work: string;
  let original: Record<string, TableChecksum>;
  let s3: S3Stub;
  /** The S3 stub's key pair: it verifies every request's signature with the secret. */
  const s3Key = { accessKey: "AKIALAZARUSTEST", secretKey: randomBytes(16).toString("hex") };

  beforeAll(async () => {
    pg = await startPostgres();
    work = mkdtempSync(join(tmpdir(), "lazarus-pgbackup-"));
    createDataset(pg, "app", { scale: 60_000 });
    // A table with storage options of its own, autovacuum among them: the restore's own switch must not clobber them.
    pg.sql("ALTER TABLE audit_logs SET (autovacuum_enabled = false, fillfactor = 90)", "app");
    original = tableChecksums(pg, "app");
    s3 = await startS3Stub(s3Key);
  });
  afterAll(async () => {
    pg?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
    await s3?.close();
  });

  it("the generated dataset has PostGIS geometries, enums, GiST and B-tree indexes and at least 100k rows", () => {
    const rows = Object.values(original).reduce((n, t) => n + t.rows, 0) - (original["public.spatial_ref_sys"]?.rows ?? 0);
    expect(rows).toBeGreaterThanOrEqual(100_000);
    expect(Number(pg.sql("SELECT count(*) FROM pg_type WHERE typtype = 'e' AND typnamespace = 'public'::regnamespace", "app"))).toBe(3);
    expect(Number(pg.sql("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE '%USING gist%'", "app"))).toBe(2);
    expect(Number(pg.sql("SELECT count(*) FROM property WHERE ST_IsValid(area) AND ST_SRID(location) = 4326", "app"))).toBe(original["public.property"].rows);
  });

  it("backs up, verifies, restores beside the live database and cuts over with identical table checksums", async () => {
    const dir = join(work, "plain");
    const backup = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir]);
    expect(backup.code, backup.stderr).toBe(0);
    const r = backup.result!;
    expect(r).toMatchObject({ status: "ok", database: "app", encrypted: false, uploaded: false });
    // The default: pg_dump's uncompressed archive in one zstd stream, whose content is a custom-format archive.
    expect(r).toMatchObject({ codec: "zstd", compress: 3 });
    expect(basename(r.file)).toMatch(/^app_\d{8}T\d{6}Z\.dump\.zst$/);
    expect(r.bytes).toBe(readFileSync(r.file).length);
    expect(r.sha256).toBe(sha256File(r.file));
    expect(readFileSync(r.file).subarray(0, 4)).toEqual(ZSTD_MAGIC);
    expect(execFileSync("zstd", ["-d", "-c", r.file], { maxBuffer: 512 * 1024 * 1024 }).subarray(0, 5).toString()).toBe("PGDMP");
    // The sidecar is what `sha256sum -c` reads, and `latest` points at the archive.
    expect(spawnSync("sha256sum", ["-c", `${basename(r.file)}.sha256`], { cwd: dir }).status).toBe(0);
    expect(readlinkSync(join(dir, "latest"))).toBe(basename(r.file));
    expect(readdirSync(dir).filter((f) => f.endsWith(".partial"))).toEqual([]);

    const verify = runScript(pg, "pg-verify.sh", ["-d", "app", "-t", "User,payment,public.property", dir]);
    expect(verify.code, verify.stderr).toBe(0);
    const v = verify.result!;
    expect(v.status).toBe("ok");
    expect(v.checks.tables).toMatchObject({ ok: true, missing: [], extra: [], live: Object.keys(original).length });
    expect(v.checks.row_counts.mismatches).toEqual([]);
    expect(v.checks.critical_checksums.tables.map((t: any) => t.match)).toEqual([true, true, true]);
    expect(v.checks.extensions.postgis).toBe(true);
    expect(v.checks.indexes.restored).toBe(Number(pg.sql("SELECT count(*) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog','information_schema')", "app")));
    expect(v.checks.enums).toMatchObject({ ok: true, restored: 3 });
    // GoodGo reads the report from verify-latest.json beside the backups; the temporary database is gone.
    expect(JSON.parse(readFileSync(join(dir, "verify-latest.json"), "utf8")).status).toBe("ok");
    expect(databases(pg).filter((d) => d.includes("_verify_"))).toEqual([]);

    const restore = runScript(pg, "pg-restore.sh", ["-d", "app", dir]);
    expect(restore.code, restore.stderr).toBe(0);
    const restored = restore.result!.restored_database as string;
    expect(restored).toMatch(/^app_restore_\d{14}$/);
    expect(tableChecksums(pg, restored)).toEqual(original);
    // Where the time went, phase by phase (no decryption; zstd beside the checksum; the two-step run on a replica-level server).
    const phases = restore.result!.phases as Record<string, number>;
    expect(Object.keys(phases).sort()).toEqual(["analyze_s", "autovacuum_off_s", "autovacuum_on_s", "checksum_s", "data_indexes_s", "decompress_s", "pre_data_s", "toc_s"]);
    for (const [k, v] of Object.entries(phases)) expect(v, k).toBeGreaterThanOrEqual(0);
    // restore_s spans the restore phases (from pre-data to the proof), which add up to no more than it
    const restorePhases = phases.pre_data_s + phases.autovacuum_off_s + phases.data_indexes_s + phases.autovacuum_on_s + phases.analyze_s;
    expect(restorePhases).toBeLessThanOrEqual(restore.result!.restore_s + 0.01);
    expect(phases.data_indexes_s).toBeGreaterThan(0);
    // The analyze covers every table the restore made (quoted names like "User" included), and only those: the system
    // catalogs are left to autovacuum (last_analyze counts a manual ANALYZE only, never autovacuum's).
    expect(pg.sql("SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NULL", restored)).toBe("0");
    // (the shared catalogs, pg_database and pg_authid among them, have one set of statistics for every database)
    expect(pg.sql("SELECT count(*) FROM pg_stat_sys_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.last_analyze IS NOT NULL AND s.schemaname = 'pg_catalog' AND NOT c.relisshared", restored)).toBe("0");
    // Autovacuum, off on the tables while they loaded, is back as the dump had it: on everywhere but audit_logs.
    const storageOptions = (db: string) =>
      pg.sql("SELECT string_agg(relname || '=' || coalesce(array_to_string(reloptions, ';'), ''), ' ' ORDER BY relname) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace", db);
    expect(storageOptions(restored)).toBe(storageOptions("app"));
    expect(storageOptions(restored)).toContain("audit_logs=autovacuum_enabled=false;fillfactor=90");
    expect(tableChecksums(pg, "app")).toEqual(original);

    // Cut over while a client holds a session on the live database: it is terminated and the names swap.
    pg.sql("CREATE TABLE marker_of_old_live (x int)", "app");
    const holder = spawn("psql", ["-X", "-d", "app", "-c", "SELECT pg_sleep(120)"], { env: { ...process.env, ...pg.env } });
    const holderExit = new Promise<number | null>((res) => holder.on("exit", (code) => res(code)));
    for (let i = 0; i < 100 && pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND query LIKE '%pg_sleep%'") !== "1"; i++) {
      await sleep(50);
    }
    expect(pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND query LIKE '%pg_sleep%'")).toBe("1");
    const cut = runScript(pg, "pg-restore.sh", ["--swap-in", restored]);
    expect(cut.code, cut.stderr).toBe(0);
    // psql reports the terminated connection with a non-zero exit.
    expect(await holderExit).not.toBe(0);
    const previous = cut.result!.previous_database as string;
    expect(previous).toMatch(/^app_pre_restore_\d{14}$/);
    expect(tableChecksums(pg, "app")).toEqual(original);
    expect(databases(pg)).not.toContain(restored);
    // The rollback point is the old live database, kept until an explicit drop.
    expect(pg.sql("SELECT to_regclass('marker_of_old_live') IS NOT NULL", previous)).toBe("t");
    expect(pg.sql("SELECT to_regclass('marker_of_old_live') IS NULL", "app")).toBe("t");

    const refuse = runScript(pg, "pg-restore.sh", ["--drop-previous", "app"]);
    expect(refuse.code).toBe(64);
    expect(refuse.result!.error).toMatch(/refusing to drop 'app'/);
    expect(databases(pg)).toContain("app");
    const drop = runScript(pg, "pg-restore.sh", ["--drop-previous", previous]);
    expect(drop.code, drop.stderr).toBe(0);
    expect(databases(pg)).not.toContain(previous);
  });

  it("pg_dump's own gzip (--codec gzip) and uncompressed archives (-Z 0) back up and restore too, as archives made before zstd do", () => {
    for (const [args, name, codec, compress] of [
      [["--codec", "gzip"], /\.dump$/, "gzip", 6],
      [["-Z", "0"], /\.dump$/, "none", 0],
      [["-Z", "9"], /\.dump\.zst$/, "zstd", 9],
    ] as const) {
      const dir = mkdtempSync(join(work, "codec-"));
      const b = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir, ...args]);
      expect(b.code, b.stderr).toBe(0);
      expect(b.result, args.join(" ")).toMatchObject({ codec, compress });
      expect(b.result!.file).toMatch(name);
      if (codec !== "zstd") {
        // pg_restore reads it as it is (what an operator with only PostgreSQL's tools has)
        expect(readFileSync(b.result!.file).subarray(0, 5).toString()).toBe("PGDMP");
        expect(spawnSync("pg_restore", ["-l", b.result!.file]).status).toBe(0);
      }
      const r = runScript(pg, "pg-restore.sh", ["-d", "app", dir]);
      expect(r.code, r.stderr).toBe(0);
      expect(Object.keys(r.result!.phases).includes("decompress_s"), args.join(" ")).toBe(codec === "zstd");
      expect(tableChecksums(pg, r.result!.restored_database)).toEqual(original);
      expect(runScript(pg, "pg-restore.sh", ["--drop-previous", r.result!.restored_database]).code).toBe(0);
    }
    // Levels outside a codec's range, and unknown codecs, are refused before anything is dumped.
    for (const [args, message] of [
      [["-Z", "20"], /zstd compression level must be 1-19, or 0 for none: 20/],
      [["--codec", "gzip", "-Z", "10"], /gzip compression level must be 1-9, or 0 for none: 10/],
      [["--codec", "lz4"], /codec must be zstd or gzip: lz4/],
    ] as const) {
      const dir = mkdtempSync(join(work, "codec-bad-"));
      const b = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir, ...args]);
      expect(b.code).toBe(64);
      expect(b.result!.error).toMatch(message);
      expect(readdirSync(dir).filter((f) => !f.startsWith("."))).toEqual([]);
    }
  });

  it("restores and cuts over in one run with --cutover, given the `latest` pointer itself", () => {
    const dir = join(work, "oneshot");
    expect(runScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir]).code).toBe(0);
    pg.sql("INSERT INTO payment (property_id, amount, fee, currency, status, reference) SELECT 1, 1, 1, 'VND', 'paid', gen_random_uuid()", "app");
    // An operator types the path of the pointer; its sidecar is beside the file it names, not beside the link.
    const run = runScript(pg, "pg-restore.sh", ["-d", "app", "--cutover", "-j", "2", join(dir, "latest")]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.result).toMatchObject({ cutover: true, restored_database: "app" });
    // The backup predates the insert, so the restored live database is back to the original.
    expect(tableChecksums(pg, "app")).toEqual(original);
    const previous = run.result!.previous_database as string;
    expect(tableChecksums(pg, previous)["public.payment"].rows).toBe(original["public.payment"].rows + 1);
    expect(runScript(pg, "pg-restore.sh", ["--drop-previous", previous]).code).toBe(0);
  });

  it("verification fails with a report of what differs when the live data no longer matches the backup", () => {
    pg.sql("CREATE DATABASE drift TEMPLATE app");
    const dir = join(work, "drift");
    expect(runScript(pg, "pg-backup.sh", ["-d", "drift", "-o", dir]).code).toBe(0);
    pg.sql("UPDATE \"User\" SET balance = balance + 1 WHERE id = 7; INSERT INTO audit_logs (\"timestamp\", actor, action, entity, details) VALUES (now(), 'x', 'y', 'z', '{}'); CREATE INDEX extra_idx ON payment (amount)", "drift");
    const verify = runScript(pg, "pg-verify.sh", ["-d", "drift", "-t", "User,payment", dir]);
    expect(verify.code).toBe(65);
    const v = verify.result!;
    expect(v.status).toBe("error");
    expect(v.checks.row_counts.mismatches).toEqual([{ table: "public.audit_logs", live: original["public.audit_logs"].rows + 1, restored: original["public.audit_logs"].rows }]);
    expect(v.checks.critical_checksums.tables.find((t: any) => t.table === "User").match).toBe(false);
    expect(v.checks.critical_checksums.tables.find((t: any) => t.table === "payment").match).toBe(true);
    expect(v.checks.indexes.ok).toBe(false);
    expect(v.error).toMatch(/row count of public.audit_logs/);
    expect(v.error).toMatch(/checksum of User/);
    expect(JSON.parse(readFileSync(join(dir, "verify-latest.json"), "utf8")).status).toBe("error");
    expect(databases(pg).filter((d) => d.includes("_verify_"))).toEqual([]);
    pg.sql("DROP DATABASE drift");
  });

  it("encrypts with age (recipient) and with openssl aes-256-cbc (key file, Waqiti's command decrypts it) and round-trips both", () => {
    const keys = mkdtempSync(join(work, "keys-"));
    chmodSync(keys, 0o700);
    const identity = join(keys, "backup.agekey");
    execFileSync("age-keygen", ["-o", identity], { stdio: "ignore" });
    const recipient = execFileSync("age-keygen", ["-y", identity]).toString().trim();
    const keyFile = join(keys, "backup-encryption.key");
    writeFileSync(keyFile, `${randomHex()}\n`, { mode: 0o600 });

    const ageDir = join(work, "age");
    const a = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", ageDir, "--recipient", recipient]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.result).toMatchObject({ encrypted: true, encryption: "age" });
    expect(a.result!.file).toMatch(/\.dump\.zst\.age$/);
    expect(readFileSync(a.result!.file).subarray(0, 21).toString()).toBe("age-encryption.org/v1");
    const av = runScript(pg, "pg-verify.sh", ["-d", "app", "-t", "payment", ageDir], { AGE_IDENTITY_FILE: identity });
    expect(av.code, av.stderr).toBe(0);
    const ar = runScript(pg, "pg-restore.sh", ["-d", "app", "--identity", identity, ageDir]);
    expect(ar.code, ar.stderr).toBe(0);
    expect(ar.result!.phases.decrypt_s).toBeGreaterThan(0);
    expect(tableChecksums(pg, ar.result!.restored_database)).toEqual(original);
    expect(runScript(pg, "pg-restore.sh", ["--drop-previous", ar.result!.restored_database]).code).toBe(0);

    const encDir = join(work, "openssl");
    const o = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", encDir], { BACKUP_KEY_FILE: keyFile });
    expect(o.code, o.stderr).toBe(0);
    expect(o.result).toMatchObject({ encrypted: true, encryption: "openssl" });
    expect(o.result!.file).toMatch(/\.dump\.zst\.enc$/);
    expect(readFileSync(o.result!.file).subarray(0, 8).toString()).toBe("Salted__");
    const plain = execFileSync("openssl", ["enc", "-d", "-aes-256-cbc", "-pbkdf2", "-in", o.result!.file, "-pass", `file:${keyFile}`], {
      maxBuffer: 512 * 1024 * 1024,
    });
    // By hand, as the runbook decrypts: openssl, then zstd (the extension says so), then a custom-format archive.
    expect(plain.subarray(0, 4)).toEqual(ZSTD_MAGIC);
    expect(execFileSync("zstd", ["-d", "-c"], { input: plain, maxBuffer: 512 * 1024 * 1024 }).subarray(0, 5).toString()).toBe("PGDMP");
    const or = runScript(pg, "pg-restore.sh", ["-d", "app", "--key-file", keyFile, encDir]);
    expect(or.code, or.stderr).toBe(0);
    expect(tableChecksums(pg, or.result!.restored_database)).toEqual(original);
    expect(runScript(pg, "pg-restore.sh", ["--drop-previous", or.result!.restored_database]).code).toBe(0);
    // No decrypted copy is left in the scratch directory.
    rmSync(keys, { recursive: true, force: true });
  });

  it("uploads the archive and its sidecar to S3-compatible storage with s3cmd, credentials from the environment only", async () => {
    // The stub answers from this process's event loop, so the scripts run asynchronously here (spawnSync would deadlock).
    const dir = join(work, "upload");
    const env = { S3_ENDPOINT: s3.endpoint, S3_NO_SSL: "1", AWS_ACCESS_KEY_ID: s3Key.accessKey, AWS_SECRET_ACCESS_KEY: s3Key.secretKey };
    const up = await startScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir, "--s3-url", "s3://goodgo-backups/postgres/"], env).done;
    expect(up.code, up.stderr).toBe(0);
    expect(up.result!.uploaded).toBe(true);
    const name = basename(up.result!.file);
    const object = s3.objects.get(`/goodgo-backups/postgres/${name}`);
    expect(object && createHashHex(object)).toBe(up.result!.sha256);
    expect(s3.objects.get(`/goodgo-backups/postgres/${name}.sha256`)?.toString()).toBe(readFileSync(`${up.result!.file}.sha256`, "utf8"));
    // Requests were signed with the access key from the environment; the secret is in no output.
    expect(s3.requests.some((q) => q.authorization?.includes("AKIALAZARUSTEST"))).toBe(true);
    expect(up.stdout + up.stderr).not.toContain(env.AWS_SECRET_ACCESS_KEY);

    const denied = await startScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir, "--s3-url", "s3://denied/postgres/"], env).done;
    expect(denied.code).toBe(75);
    expect(denied.result).toMatchObject({ status: "error", uploaded: false });
    expect(denied.result!.error).toMatch(/upload to s3:\/\/denied\/postgres\/ failed; local backup complete/);
    // The local backup is complete and is the new latest.
    expect(readlinkSync(join(dir, "latest"))).toBe(basename(denied.result!.file));
    expect(spawnSync("sha256sum", ["-c", `${basename(denied.result!.file)}.sha256`], { cwd: dir }).status).toBe(0);
  });

  it("exports DBIS's audit_logs to a dated, checksummed CSV, whole or for one day", () => {
    const dir = join(work, "audit");
    const day = runScript(pg, "audit-export.sh", ["-d", "app", "-o", dir, "--day", "2024-03-01"]);
    expect(day.code, day.stderr).toBe(0);
    expect(basename(day.result!.file)).toBe("audit_logs_2024-03-01.csv.gz");
    const expected = Number(pg.sql("SELECT count(*) FROM audit_logs WHERE \"timestamp\" >= '2024-03-01Z' AND \"timestamp\" < '2024-03-02Z'", "app"));
    expect(expected).toBeGreaterThan(0);
    expect(day.result!.rows).toBe(expected);
    const lines = gunzipSync(readFileSync(day.result!.file)).toString().trim().split("\n");
    expect(lines[0]).toBe("id,timestamp,actor,action,entity,details");
    expect(lines.length - 1).toBe(expected);
    expect(lines.slice(1).every((l) => l.includes(",2024-03-01 "))).toBe(true);
    expect(spawnSync("sha256sum", ["-c", "audit_logs_2024-03-01.csv.gz.sha256"], { cwd: dir }).status).toBe(0);

    // Connection flags win over the environment (here a wrong port).
    const all = runScript(pg, "audit-export.sh", ["--host", "127.0.0.1", "--port", String(pg.port), "--username", "postgres", "-d", "app", "-o", dir], { PGPORT: "1" });
    expect(all.code, all.stderr).toBe(0);
    expect(all.result!.rows).toBe(original["public.audit_logs"].rows);
    expect(basename(all.result!.file)).toMatch(/^audit_logs_\d{4}-\d{2}-\d{2}\.csv\.gz$/);

    const bad = runScript(pg, "audit-export.sh", ["-d", "app", "-o", dir, "--day", "2024-02-30"]);
    expect(bad.code).toBe(64);
    expect(bad.result!.error).toMatch(/not a date/);
    const noTable = runScript(pg, "audit-export.sh", ["-d", "postgres", "-o", dir]);
    expect(noTable.code).toBe(66);
    expect(noTable.result!.error).toMatch(/table public.audit_logs not found/);
    expect(readdirSync(dir).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it("retention deletes old backups but always keeps the newest good one, even when everything is old", async () => {
    const dir = join(work, "retention");
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const b = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir, "-Z", "1"]);
      expect(b.code, b.stderr).toBe(0);
      made.push(b.result!.file);
      await sleep(1100); // distinct timestamps in the names
    }
    const age = (file: string, days: number) => {
      const t = Date.now() / 1000 - days * 86400;
      utimesSync(file, t, t);
    };
    // Everything is 30 days old: only the newest survives.
    made.forEach((f, i) => age(f, 30 + (made.length - i)));
    const prune = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir, "--prune-only"]);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.result!.deleted.sort()).toEqual([basename(made[0]), basename(made[1])].sort());
    expect(existsSync(made[2])).toBe(true);
    expect(existsSync(`${made[0]}.sha256`)).toBe(false);

    // A newer backup that no longer matches its checksum is not "good": the older good one is kept instead.
    const b4 = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir, "-Z", "1", "--retention-days", "100"]);
    expect(b4.code).toBe(0);
    const corrupt = b4.result!.file as string;
    const bytes = readFileSync(corrupt);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(corrupt, bytes);
    age(corrupt, 20);
    const prune2 = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir, "--prune-only", "--retention-days", "7"]);
    expect(prune2.code).toBe(0);
    expect(prune2.result!.deleted).toEqual([basename(corrupt)]);
    expect(existsSync(made[2])).toBe(true);

    // Recent backups stay.
    const b5 = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir, "-Z", "1"]);
    expect(b5.code).toBe(0);
    expect(b5.result!.deleted).toEqual([basename(made[2])]);
    const b6 = runScript(pg, "pg-backup.sh", ["-d", "app", "-o", dir, "-Z", "1"]);
    expect(b6.result!.deleted).toEqual([]);
    expect(existsSync(b5.result!.file)).toBe(true);
  });
});

function randomHex(): string {
  return randomBytes(24).toString("hex");
}
function createHashHex(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}
