// DBIS's Daily Backups run as the staging plan renders them, against a real PostgreSQL 15 and the S3 stand-in:
//   - the pg-backup container's environment is the rendered compose file's, its crontab the rendered one, its
//     connection the rendered libpq service file and the 0600 password file the plan writes, its Spaces key the 0600
//     s3cmd config the plan writes (sentinel keys); only the container paths, the cluster's address and the Spaces
//     endpoint are swapped for the test's (adaptPaths/adaptService, in one place below);
//   - the server behaves like a DigitalOcean cluster where it matters: SCRAM passwords only and TLS only (a non-TLS
//     connection is rejected by pg_hba), so a job that connected proves the service file's sslmode and the password file;
//   - the schedule loop runs the audit line in its minute; the dump and the audit export land in their buckets with
//     their sha256 sidecars; what was exported is what the database had (the CSVs loaded into a fresh database compare
//     row for row: commas, quotes, newlines, NULL against empty text, JSON and time zones included), and the dump
//     restores with the same table checksums;
//   - "backup now" and "audit export now" are the same commands as the scheduled lines;
//   - no secret is in the container's environment, the crontab or any command.
// What the S3 stand-in cannot show: it verifies each request's SigV4 signature with the plan's Spaces key pair but not
// the region, and it serves plain HTTP (S3_NO_SSL=1 here; Spaces is HTTPS).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { DBIS_BACKUP_FILES, DBIS_BACKUP_PATHS, DBIS_BACKUP_SERVICE } from "../../../stacks/dbis/backups";
import { tableChecksums } from "../../support/dataset";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { startS3Stub, type S3Stub } from "../../support/s3Stub";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, byType, one, planFor } from "../../support/stacks";
import { HOST_LAYOUT } from "../../../lib/hostLayout";
import { resultLines, runAsync } from "../../support/commandText";

const REPO_SCRIPTS = resolve(__dirname, "../../../scripts");
const SUPERUSER_PASSWORD = `test-superuser-${process.pid}`;
const DIR = "/opt/dbis";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  result: Record<string, any> | null;
}

// Asynchronous: the S3 stub answers from this process's event loop.
async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const r = await runAsync(argv[0]!, argv.slice(1), { env });
  const lines = resultLines(r.stdout);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, result: lines.length ? lines[lines.length - 1]! : null };
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

describe("DBIS's scheduled backups and audit export, as rendered, against real PostgreSQL over TLS and the S3 stand-in", () => {
  let plan: Plan;
  let pg: PostgresServer;
  let s3: S3Stub;
  let base: string;
  let env: NodeJS.ProcessEnv;
  let crontab: string;
  let appPassword: string;
  let tlsDir: string | undefined;
  const day = yesterday();

  const planFile = (path: string) => plan.files.find((f) => f.path === path)?.content;
  const secretFile = (rel: string) => String(one(plan, T.command, `dbis-staging-software-file-${`${DIR}/${rel}`.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "")}`).rawInputs.stdin);

  // The one place container paths become the test's: the scripts, the backup volume, the mounted files.
  const adaptPaths = (text: string) =>
    text
      .split(HOST_LAYOUT.scriptsRoot)
      .join(REPO_SCRIPTS)
      .split(DBIS_BACKUP_PATHS.serviceFile)
      .join(join(base, "pg_service.conf"))
      .split(DBIS_BACKUP_PATHS.crontab)
      .join(join(base, "backup.crontab"))
      .split(DBIS_BACKUP_PATHS.pgpass)
      .join(join(base, "pgpass"))
      .split(DBIS_BACKUP_PATHS.s3cfg)
      .join(join(base, "s3cfg"))
      .replace(/(^|[\s=])\/backups/g, `$1${join(base, "backups")}`);
  // ... and the cluster's address (the mock's invention) becomes the test server's.
  const adaptService = (text: string) => text.replace(/^host=.*$/m, `host=${pg.host}`).replace(/^port=.*$/m, `port=${pg.port}`);

  beforeAll(async () => {
    plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
    base = mkdtempSync(join(tmpdir(), "lazarus-dbis-backups-"));

    // TLS: a self-signed certificate (sslmode=require encrypts without verifying, as the app's DATABASE_URL does).
    const tls = mkdtempSync(join(tmpdir(), "lazarus-dbis-tls-"));
    chmodSync(tls, 0o755);
    tlsDir = tls;
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(tls, "server.key"), "-out", join(tls, "server.crt"), "-days", "1", "-subj", "/CN=dbis-test-db"], { stdio: "ignore" });
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
      const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
      for (const f of ["server.key", "server.crt"]) chownSync(join(tls, f), uid, gid);
    }
    pg = await startPostgres({ password: SUPERUSER_PASSWORD, extraConf: ["ssl = on", `ssl_cert_file = '${join(tls, "server.crt")}'`, `ssl_key_file = '${join(tls, "server.key")}'`] });
    // Like DigitalOcean: nothing without TLS.
    const hba = join(pg.dataDir, "pg_hba.conf");
    writeFileSync(hba, `hostnossl all all 0.0.0.0/0 reject\n${readFileSync(hba, "utf8")}`);
    pg.sql("SELECT pg_reload_conf()");
    expect(spawnSync("psql", ["-X", "-d", "postgres", "-c", "SELECT 1"], { env: { ...process.env, ...pg.env, PGSSLMODE: "disable" }, encoding: "utf8" }).stderr).toMatch(/no encryption|reject/);

    // The application's user and database as the cluster has them; its password is whatever the plan's pgpass holds.
    const pgpass = secretFile(DBIS_BACKUP_FILES.pgpass);
    appPassword = /^\*:\*:\*:dbis:(.*)$/m.exec(pgpass)![1].replace(/\\([\\:])/g, "$1");
    pg.sql(`CREATE ROLE dbis LOGIN PASSWORD '${appPassword.replace(/'/g, "''")}'`);
    pg.sql("CREATE DATABASE dbis_core OWNER dbis");
    const asApp = (sql: string) => {
      const r = spawnSync("psql", ["-X", "-v", "ON_ERROR_STOP=1", "-d", "dbis_core", "-U", "dbis", "-c", sql], { env: { ...process.env, ...pg.env, PGPASSWORD: appPassword }, encoding: "utf8" });
      if (r.status !== 0) throw new Error(r.stderr);
    };
    asApp(`CREATE TABLE audit_logs (id bigserial PRIMARY KEY, "timestamp" timestamptz NOT NULL, actor text, action text NOT NULL, entity text, details jsonb);
           CREATE TABLE payments (id bigserial PRIMARY KEY, status text NOT NULL, amount numeric(18,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
           INSERT INTO payments (status, amount) SELECT (ARRAY['APPROVED','COMPLETED','FAILED'])[1 + g % 3], g * 10.25 FROM generate_series(1, 2000) g;
           -- Three days of audit rows around yesterday, and the values a CSV round trip could lose.
           INSERT INTO audit_logs ("timestamp", actor, action, entity, details)
             SELECT '${day}'::date - 1 + (g * interval '97 seconds'), 'operator-' || (g % 7), 'PAYMENT_' || (g % 5), 'payment:' || g, jsonb_build_object('n', g, 'note', 'a,b "c"')
             FROM generate_series(1, 2600) g;
           INSERT INTO audit_logs ("timestamp", actor, action, entity, details) VALUES
             ('${day} 00:00:00+00', 'first, "quoted"', 'LOGIN', NULL, NULL),
             ('${day} 23:59:59.999999+00', '', 'LOGOUT', 'line1\nline2', '{"multi": "line\\nvalue", "unicode": "€ ü 日本"}'),
             ('${day} 12:00:00+05', NULL, 'EDGE', E'tab\\tseparated', '[]');`);

    s3 = await startS3Stub({ accessKey: ALL_SENTINEL_SECRETS["lazarus:dbisSpacesAccessKey"]!, secretKey: ALL_SENTINEL_SECRETS["lazarus:dbisSpacesSecretKey"]! });
    writeFileSync(join(base, "pg_service.conf"), adaptService(planFile(`${DIR}/${DBIS_BACKUP_FILES.serviceFile}`)!));
    writeFileSync(join(base, "pgpass"), pgpass, { mode: 0o600 });
    writeFileSync(join(base, "s3cfg"), secretFile(DBIS_BACKUP_FILES.s3cfg), { mode: 0o600 });
    crontab = adaptPaths(planFile(`${DIR}/${DBIS_BACKUP_FILES.crontab}`)!);
    writeFileSync(join(base, "backup.crontab"), crontab);
    mkdirSync(join(base, "backups"));

    // The container's environment as the rendered compose file gives it, adapted; nothing of the test harness's own.
    const service = parse(planFile(`${DIR}/docker-compose.yml`)!).services[DBIS_BACKUP_SERVICE];
    const rendered = Object.fromEntries(Object.entries(service.environment as Record<string, string>).map(([k, v]) => [k, adaptPaths(String(v))]));
    env = { PATH: process.env.PATH, HOME: base, ...rendered, S3_ENDPOINT: s3.endpoint, S3_HOST_BUCKET: s3.endpoint, S3_NO_SSL: "1", TMPDIR: base };
  }, 120_000);

  afterAll(async () => {
    pg?.destroy();
    await s3?.close();
    if (base) rmSync(base, { recursive: true, force: true });
    if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
  });

  it("renders a crontab the schedule loop accepts: the dump at 02:00, yesterday's audit rows at 00:30, rotated app logs at 00:15, UTC", async () => {
    const r = await run([join(REPO_SCRIPTS, "backup/backup-schedule.sh"), "--crontab", join(base, "backup.crontab"), "--check"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result!.jobs).toEqual([
      { minute: "0", hour: "2", day_of_week: "*", command: `${REPO_SCRIPTS}/backup/pg-backup.sh -o ${base}/backups` },
      { minute: "30", hour: "0", day_of_week: "*", command: `${REPO_SCRIPTS}/backup/audit-export.sh -o ${base}/backups/audit --s3-url s3://dbis-staging-audit/audit/ --day yesterday` },
      // Shipped for real in app-logs-shipped.test.ts.
      {
        minute: "15",
        hour: "0",
        day_of_week: "*",
        command: `${REPO_SCRIPTS}/backup/app-logs-ship.sh --dir /app-logs --s3-url s3://dbis-staging-backups/logs/ --source-file /etc/lazarus/server-name --state ${base}/backups/app-logs-shipped.tsv`,
      },
    ]);
  });

  it("the schedule loop runs the audit line in its minute: yesterday's rows exported over TLS and uploaded to the audit bucket", async () => {
    const clock = join(base, "clock");
    writeFileSync(clock, `${day}T00:29\n`);
    const child = spawn(join(REPO_SCRIPTS, "backup/backup-schedule.sh"), [], { env: { ...env, SCHEDULE_CLOCK_FILE: clock, SCHEDULE_TICK_SECONDS: "0.2" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((res) => child.once("exit", (c) => res(c)));
    const key = `/dbis-staging-audit/audit/audit_logs_${day}.csv.gz`;
    try {
      await new Promise((r) => setTimeout(r, 600));
      expect(s3.objects.has(key)).toBe(false);
      writeFileSync(clock, `${day}T00:30\n`);
      for (let i = 0; i < 300 && !(s3.objects.has(key) && s3.objects.has(`${key}.sha256`) && out.includes("job ended")); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain("(exit 0)");
    } finally {
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
    const csv = s3.objects.get(key)!;
    expect(s3.objects.get(`${key}.sha256`)!.toString()).toBe(`${sha256(csv)}  audit_logs_${day}.csv.gz\n`);
    // Signed with the access key of the plan's s3cmd config.
    expect(s3.requests.filter((q) => q.method === "PUT").every((q) => q.authorization?.includes(ALL_SENTINEL_SECRETS["lazarus:dbisSpacesAccessKey"]))).toBe(true);
  }, 60_000);

  it("what was exported is what the database had: the CSVs loaded into a fresh database compare row for row", async () => {
    // The whole table too, as "audit export now" without a day (the runbook's own command) does.
    const now = (await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:dbis"].operations = [{ id: "op-audit-1", action: "audit-export-now" }]) }));
    const opCmd = String(one(now, T.command, "dbis-staging-op-op-audit-1").inputs.create);
    const argv = opCmd.split(`exec -T ${DBIS_BACKUP_SERVICE} bash `)[1].split(" ").map(adaptPaths);
    const full = await run(argv, env);
    expect(full.code, full.stderr).toBe(0);

    const dayKey = `/dbis-staging-audit/audit/audit_logs_${day}.csv.gz`;
    const fullKey = `/dbis-staging-audit/audit/${full.result!.file.split("/").pop()}`;
    pg.sql("CREATE DATABASE audit_check");
    // The table's definition from the live database, then the CSVs loaded as an auditor would.
    const ddl = execFileSync("pg_dump", ["--schema-only", "-t", "audit_logs", "dbis_core"], { env: { ...process.env, ...pg.env } }).toString();
    const created = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "audit_check"], { input: ddl, env: { ...process.env, ...pg.env }, encoding: "utf8" });
    expect(created.status, created.stderr).toBe(0);
    pg.sql("CREATE TABLE day_rows (LIKE audit_logs)", "audit_check");
    const load = (table: string, gz: Buffer) => {
      const file = join(base, `${table}.csv`);
      writeFileSync(file, gunzipSync(gz));
      pg.sql(`\\copy ${table} FROM '${file}' WITH (FORMAT csv, HEADER)`, "audit_check");
    };
    load("day_rows", s3.objects.get(dayKey)!);
    load("audit_logs", s3.objects.get(fullKey)!);

    const digest = (db: string, from: string) =>
      pg.sql(`SET TimeZone = 'UTC'; SELECT count(*) || ':' || md5(string_agg(x::text, E'\\n' ORDER BY id)) FROM ${from} x`, db).split("\n").pop();
    const liveDay = digest("dbis_core", `(SELECT * FROM audit_logs WHERE "timestamp" >= '${day}T00:00:00Z' AND "timestamp" < '${day}T00:00:00Z'::timestamptz + interval '1 day')`);
    expect(liveDay).toMatch(/^\d+:/);
    expect(Number(liveDay!.split(":")[0])).toBeGreaterThan(800);
    expect(digest("audit_check", "day_rows")).toBe(liveDay);
    expect(digest("audit_check", "audit_logs")).toBe(digest("dbis_core", "audit_logs"));
    // NULL and empty text stayed apart.
    expect(pg.sql(`SELECT count(*) FROM audit_logs WHERE actor IS NULL`, "audit_check")).toBe(pg.sql(`SELECT count(*) FROM audit_logs WHERE actor IS NULL`, "dbis_core"));
    expect(pg.sql(`SELECT count(*) FROM audit_logs WHERE actor = ''`, "audit_check")).toBe("1");
  }, 60_000);

  it("backup now runs the scheduled dump: off-site to the backups bucket's postgres/, restorable with the same table checksums", async () => {
    const now = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:dbis"].operations = [{ id: "op-backup-1", action: "backup-now" }]) });
    const opCmd = String(one(now, T.command, "dbis-staging-op-op-backup-1").inputs.create);
    expect(opCmd.startsWith("cd /opt/dbis && docker compose -f docker-compose.yml exec -T pg-backup bash ")).toBe(true);
    const argv = opCmd.split(`exec -T ${DBIS_BACKUP_SERVICE} bash `)[1].split(" ").map(adaptPaths);
    // The scheduled line's command, word for word.
    expect(argv.join(" ")).toBe(crontab.split("\n").find((l) => l.includes("pg-backup.sh"))!.split(" * * * ")[1].split("  #")[0]);
    const r = await run(argv, env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", database: "dbis_core", uploaded: true });
    const name = String(r.result!.file).split("/").pop()!;
    expect(name).toMatch(/^dbis_core_\d{8}T\d{6}Z\.dump\.zst$/);
    const dump = s3.objects.get(`/dbis-staging-backups/postgres/${name}`)!;
    expect(sha256(dump)).toBe(r.result!.sha256);

    pg.sql("CREATE DATABASE dump_check");
    const file = join(base, name);
    writeFileSync(file, dump);
    // What an operator with the object and PostgreSQL's tools runs: zstd (the extension says so), then pg_restore.
    const restore = spawnSync("bash", ["-c", 'zstd -q -d -c -- "$1" | pg_restore --no-owner -d dump_check', "_", file], { env: { ...process.env, ...pg.env }, encoding: "utf8" });
    expect(restore.status, restore.stderr).toBe(0);
    expect(tableChecksums(pg, "dump_check")).toEqual(tableChecksums(pg, "dbis_core"));
  }, 60_000);

  it("keeps every secret out of the container's environment, the crontab and the commands; the two secret files are 0600", () => {
    const shown = JSON.stringify(env) + crontab + JSON.stringify(plan.resources.map((r) => r.inputs));
    for (const m of ALL_SENTINEL_MARKERS) expect(shown).not.toContain(m);
    expect(shown).not.toContain(appPassword);
    for (const rel of [DBIS_BACKUP_FILES.pgpass, DBIS_BACKUP_FILES.s3cfg]) {
      const writer = byType(plan, T.command).find((r) => r.name === `dbis-staging-software-file-${`${DIR}/${rel}`.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "")}`)!;
      expect(String(writer.inputs.create)).toContain("chmod 0600");
      expect(writer.inputs.stdin).toBe("[secret]");
    }
    expect(existsSync(join(base, "backups", "audit"))).toBe(true);
  });
});
