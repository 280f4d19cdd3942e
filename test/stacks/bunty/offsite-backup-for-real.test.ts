// Bunty's off-site copy for real: the daily backup unit the staging plan renders (bunty-backup.service: its ExecStart
// and its Environment= lines, read back from the unit file) run with the real scripts (app-data.sh -> pg-backup.sh ->
// s3cmd) against a real PostgreSQL 15 and the S3 stand-in, with s3cmd's config file rendered as the plan's declare
// step renders it (renderS3cmdConfig) from a Spaces key.
// Adapted, and only this: script and file paths into a temp dir, the endpoint (S3_ENDPOINT/S3_HOST_BUCKET to the
// stand-in, S3_NO_SSL=1: the stand-in is plain HTTP on loopback and path-style; Spaces is HTTPS with the bucket's virtual
// host, which the unit names). Stand-in limits (test/support/s3Stub.ts): it verifies each request's SigV4 signature
// with the Spaces key pair rendered into the s3cfg, but not the region, and it refuses only the bucket named "denied".
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderS3cmdConfig } from "../../../renderers/postgresClientFiles";
import { bunty } from "../../../stacks/bunty";
import { BUNTY_PATHS, buntyDatabaseUrl, buntyEnvFile, planBunty } from "../../../stacks/bunty/plan";
import { PG_BIN, startPostgres, type PostgresServer } from "../../support/postgres";
import { startS3Stub, type S3Stub } from "../../support/s3Stub";
import { stackPlatformConfig } from "../../support/stacks";
import { REPO, parseResult } from "../../support/testHost";

const cfg = stackPlatformConfig("staging", bunty);
const plan = planBunty(cfg, { stack: "staging", stackFile: "Pulumi.staging.yaml", environment: {} as never });
const unit = plan.files[`${BUNTY_PATHS.systemdDir}/bunty-backup.service`]!;
const ACCESS_KEY = "DO00BUNTYTESTKEY";
const SECRET_KEY = "bunty-spaces-secret";

let pg: PostgresServer;
let s3: S3Stub;
let root: string;

/** The unit's ExecStart as argv and its Environment= as a map (systemd's quoting: "word" "word" ...). */
function fromUnit(text: string): { argv: string[]; env: Record<string, string> } {
  const exec = /^ExecStart=(.+)$/m.exec(text)![1]!;
  const argv = [...exec.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, "$1"));
  const env = Object.fromEntries([...text.matchAll(/^Environment=([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.replace(/%%/g, "%")]));
  return { argv, env };
}

function runBackup(overrides: Record<string, string> = {}) {
  const { argv, env } = fromUnit(unit);
  const adapted = argv.map((w) =>
    w.replace("/opt/lazarus/scripts", join(REPO, "scripts")).replace(`${cfg.app.dir}/.env`, join(root, ".env")).replace(BUNTY_PATHS.backupDir, join(root, "backups")),
  );
  // async: the S3 stand-in answers from this process's event loop
  const child = spawn(adapted[0]!, adapted.slice(1), {
    env: {
      PATH: `${PG_BIN}:/usr/local/bin:/usr/bin:/bin`,
      HOME: root,
      TMPDIR: root,
      ...env,
      S3CMD_CONFIG: join(root, "s3cfg"),
      S3_ENDPOINT: s3.endpoint,
      S3_HOST_BUCKET: s3.endpoint,
      S3_NO_SSL: "1",
      ...overrides,
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise<{ code: number | null; stderr: string; json: Record<string, any> }>((resolve) =>
    child.on("close", (code) => resolve({ code, stderr, json: parseResult(stdout) as Record<string, any> })),
  );
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "lazarus-bunty-offsite-"));
  chmodSync(root, 0o755);
  pg = await startPostgres({ password: "superuser-secret" });
  pg.sql("CREATE ROLE bunty LOGIN PASSWORD 'bunty-pass' CREATEDB");
  pg.sql("CREATE DATABASE bunty_staging OWNER bunty");
  pg.sql("SET ROLE bunty; CREATE TABLE payments (id int primary key, cents int); INSERT INTO payments SELECT g, g * 100 FROM generate_series(1, 500) g", "bunty_staging");
  const databaseUrl = buntyDatabaseUrl({ host: "127.0.0.1", port: pg.port, name: "bunty_staging", user: "bunty", password: "bunty-pass", tls: false });
  writeFileSync(join(root, ".env"), buntyEnvFile(plan.plainEnv, { databaseUrl, redisPassword: "r", jwtSecret: "j", plaidClientId: "p", plaidSecret: "p", stripeSecretKey: "s", stripeWebhookSecret: "w", silaPrivateKey: "k" }), { mode: 0o600 });
  writeFileSync(join(root, "s3cfg"), renderS3cmdConfig({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY }), { mode: 0o600 });
  s3 = await startS3Stub({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
}, 120_000);

afterAll(async () => {
  await s3?.close();
  pg?.destroy();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("Bunty's daily backup, copied off-site", () => {
  it("the unit names the bucket, prefix and Spaces endpoint of backups.offsite and s3cmd's 0600 config file, no key", () => {
    const { env } = fromUnit(unit);
    expect(env).toEqual({
      S3_URL: "s3://bunty-staging-backups/postgres",
      S3_ENDPOINT: "fra1.digitaloceanspaces.com",
      S3_HOST_BUCKET: "bunty-staging-backups.fra1.digitaloceanspaces.com",
      S3_REGION: "fra1",
      S3CMD_CONFIG: "/etc/bunty/s3cfg",
    });
    expect(plan.secretFiles.s3cfg).toBe("/etc/bunty/s3cfg");
    expect(unit).not.toMatch(/DO00|secret_key|access_key/);
  });

  it("uploads the archive and its checksum, byte for byte, signed with the Spaces key; the local backup and plain copy stay", async () => {
    const r = await runBackup();
    expect(r.code, r.stderr).toBe(0);
    const backup = r.json.backup;
    expect(backup.uploaded).toBe(true);
    const name = basename(backup.file);
    const archive = s3.objects.get(`/bunty-staging-backups/postgres/${name}`);
    expect(archive).toBeDefined();
    expect(archive!.equals(readFileSync(backup.file))).toBe(true);
    expect(s3.objects.get(`/bunty-staging-backups/postgres/${name}.sha256`)!.toString()).toBe(readFileSync(`${backup.file}.sha256`, "utf8"));
    const puts = s3.requests.filter((q) => q.method === "PUT");
    expect(puts.length).toBeGreaterThanOrEqual(2);
    for (const q of puts) expect(q.authorization).toContain(ACCESS_KEY);
    expect(existsSync(join(root, "backups", BUNTY_PATHS.plainBackup))).toBe(true);
  });

  it("a bucket that refuses the upload fails the run with 75 (the timer's failure shows in the journal); the local backup is complete", async () => {
    const r = await runBackup({ S3_URL: "s3://denied/postgres" });
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/upload to s3:\/\/denied\/postgres failed; local backup complete/);
    const uploadsBefore = [...s3.objects.keys()].filter((k) => k.startsWith("/denied/"));
    expect(uploadsBefore).toEqual([]);
    expect(existsSync(join(root, "backups", "latest"))).toBe(true);
  });
});
