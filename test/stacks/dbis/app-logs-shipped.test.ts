// The runbook's "Application Logs: 30 days": the staging plan's own crontab line (app-logs-ship.sh, run by the pg-backup
// container) run for real with the plan's s3cmd config against the S3 stand-in (test/support/s3Stub.ts: it stores what
// s3cmd uploads and lists it, verifying each SigV4 signature with the plan's Spaces key pair). The app's rotated files land gzipped
// under logs/<host name>/, where the bucket's lifecycle rule expires them after backups.appLogRetentionDays; the file
// still being written is left; an unchanged file is not uploaded twice; a failed upload is retried by the next run.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync, gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { HOST_LAYOUT } from "../../../lib/hostLayout";
import { DBIS_BACKUP_FILES, DBIS_BACKUP_PATHS, DBIS_BACKUP_SERVICE } from "../../../stacks/dbis/backups";
import { resultLines, runAsync } from "../../support/commandText";
import { startS3Stub, type S3Stub } from "../../support/s3Stub";
import { ALL_SENTINEL_SECRETS, one, planFor, T } from "../../support/stacks";

const REPO_SCRIPTS = resolve(__dirname, "../../../scripts");
const DIR = "/opt/dbis";
const BUCKET = "dbis-staging-backups";
const HOST = "dbis-staging-host";

describe("app logs shipped to the backup bucket's logs/", () => {
  let plan: Plan;
  let base: string;
  let s3: S3Stub;
  let words: string[];
  let env: NodeJS.ProcessEnv;
  const logs = () => join(base, "app-logs");
  const planFile = (path: string) => plan.files.find((f) => f.path === path)?.content;
  const secretFile = (rel: string) => String(one(plan, T.command, `dbis-staging-software-file-${`${DIR}/${rel}`.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "")}`).rawInputs.stdin);
  /** A log file last written `hoursAgo` hours ago. */
  const log = (name: string, content: string | Buffer, hoursAgo: number) => {
    const f = join(logs(), name);
    writeFileSync(f, content);
    const t = new Date(Date.now() - hoursAgo * 3_600_000);
    utimesSync(f, t, t);
  };
  const ship = async (override: Partial<Record<string, string>> = {}) => {
    const w = words.map((x) => override[x] ?? x);
    const r = await runAsync("bash", w, { env });
    return { ...r, result: resultLines(r.stdout).at(-1) as Record<string, any> };
  };
  const planFileOrWriter = (path: string) => planFile(path) ?? String(one(plan, T.command, `dbis-staging-software-file-${path.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "")}`).rawInputs.stdin);
  const stored = (key: string) => s3.objects.get(`/${BUCKET}/${key}`);

  beforeAll(async () => {
    plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
    base = mkdtempSync(join(tmpdir(), "lazarus-dbis-applogs-"));
    mkdirSync(logs());
    mkdirSync(join(base, "backups"));
    // The server's name as the plan writes it.
    writeFileSync(join(base, "server-name"), planFileOrWriter(`${DIR}/${DBIS_BACKUP_FILES.serverName}`));
    writeFileSync(join(base, "s3cfg"), secretFile(DBIS_BACKUP_FILES.s3cfg), { mode: 0o600 });
    s3 = await startS3Stub({ accessKey: ALL_SENTINEL_SECRETS["lazarus:dbisSpacesAccessKey"]!, secretKey: ALL_SENTINEL_SECRETS["lazarus:dbisSpacesSecretKey"]! });
    // The crontab's line, its container paths made the test's.
    const line = planFile(`${DIR}/${DBIS_BACKUP_FILES.crontab}`)!.split("\n").find((l) => l.includes("# app logs daily at 00:15 UTC"))!;
    const paths: Record<string, string> = {
      [DBIS_BACKUP_PATHS.appLogsState]: join(base, "backups", "app-logs-shipped.tsv"),
      [DBIS_BACKUP_PATHS.appLogs]: logs(),
      [DBIS_BACKUP_PATHS.serverName]: join(base, "server-name"),
    };
    const adapt = (w: string) => paths[w] ?? w.replace(HOST_LAYOUT.scriptsRoot, REPO_SCRIPTS);
    words = line.split("  #")[0].trim().split(/\s+/).slice(5).map(adapt);
    expect(words.slice(0, 5)).toEqual([join(REPO_SCRIPTS, "backup/app-logs-ship.sh"), "--dir", logs(), "--s3-url", `s3://${BUCKET}/logs/`]);
    // The container's environment as the rendered compose file gives it, the s3cmd config adapted.
    const service = parse(planFile(`${DIR}/docker-compose.yml`)!).services[DBIS_BACKUP_SERVICE];
    const rendered = Object.fromEntries(Object.entries(service.environment as Record<string, string>).map(([k, v]) => [k, String(v).replace(DBIS_BACKUP_PATHS.s3cfg, join(base, "s3cfg"))]));
    env = { PATH: process.env.PATH, HOME: base, ...rendered, S3_ENDPOINT: s3.endpoint, S3_HOST_BUCKET: s3.endpoint, S3_NO_SSL: "1", TMPDIR: base };
    // The compose file gives the job the app's log volume read-only and the host's name.
    expect(service.volumes).toEqual(expect.arrayContaining([`app_logs:${DBIS_BACKUP_PATHS.appLogs}:ro`, `./${DBIS_BACKUP_FILES.serverName}:${DBIS_BACKUP_PATHS.serverName}:ro`]));
  }, 120_000);

  afterAll(async () => {
    await s3?.close();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it("uploads the rotated files gzipped under logs/<server>/, and leaves the one still being written", async () => {
    log("application-2026-11-22.log", "line 1 of the 22nd\nline 2\n", 26);
    log("application-2026-11-21.log.gz", gzipSync("already gzipped by the rotator\n"), 50);
    log("application-2026-11-23.log", "today, still written\n", 0.1);
    log("unrelated.txt", "not a log\n", 48);
    const r = await ship();
    expect(r.status, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", unchanged: 0, active: 1, source: HOST, s3_url: `s3://${BUCKET}/logs/${HOST}/` });
    expect(r.result.shipped.map((s: { key: string }) => s.key)).toEqual([`logs/${HOST}/application-2026-11-21.log.gz`, `logs/${HOST}/application-2026-11-22.log.gz`]);
    expect(gunzipSync(stored(`logs/${HOST}/application-2026-11-22.log.gz`)!).toString()).toBe("line 1 of the 22nd\nline 2\n");
    expect(gunzipSync(stored(`logs/${HOST}/application-2026-11-21.log.gz`)!).toString()).toBe("already gzipped by the rotator\n");
    expect([...s3.objects.keys()].filter((k) => k.startsWith(`/${BUCKET}/`)).sort()).toEqual([
      `/${BUCKET}/logs/${HOST}/application-2026-11-21.log.gz`,
      `/${BUCKET}/logs/${HOST}/application-2026-11-22.log.gz`,
    ]);
  });

  it("uploads nothing twice, but a file written again after it was shipped goes again", async () => {
    const puts = () => s3.requests.filter((q) => q.method === "PUT").length;
    const before = puts();
    const again = await ship();
    expect(again.result).toMatchObject({ status: "ok", shipped: [], unchanged: 2, active: 1 });
    expect(puts()).toBe(before);
    appendFileSync(join(logs(), "application-2026-11-22.log"), "a late line\n");
    const t = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(join(logs(), "application-2026-11-22.log"), t, t);
    const changed = await ship();
    expect(changed.result.shipped.map((s: { file: string }) => s.file)).toEqual(["application-2026-11-22.log"]);
    expect(gunzipSync(stored(`logs/${HOST}/application-2026-11-22.log.gz`)!).toString()).toBe("line 1 of the 22nd\nline 2\na late line\n");
  });

  it("exits 75 when the upload is refused, records nothing, and ships the file on the next run", async () => {
    log("application-2026-11-20.log", "the 20th\n", 80);
    const refused = await ship({ [`s3://${BUCKET}/logs/`]: "s3://denied/logs/" });
    expect(refused.status).toBe(75);
    expect(refused.result).toMatchObject({ status: "error", exit_code: 75 });
    expect(readFileSync(join(base, "backups", "app-logs-shipped.tsv"), "utf8")).not.toContain("application-2026-11-20.log");
    const next = await ship();
    expect(next.status, next.stderr).toBe(0);
    expect(next.result.shipped.map((s: { file: string }) => s.file)).toEqual(["application-2026-11-20.log"]);
  });

  it("refuses a missing log directory (66) and a URL that is not a bucket prefix (64), naming them", async () => {
    const missing = await ship({ [logs()]: join(base, "nope") });
    expect(missing.status).toBe(66);
    expect(missing.stderr).toContain(`no log directory ${join(base, "nope")}`);
    const badUrl = await ship({ [`s3://${BUCKET}/logs/`]: `s3://${BUCKET}/logs` });
    expect(badUrl.status).toBe(64);
    expect(badUrl.stderr).toContain("--s3-url must be s3://bucket/prefix/ ending in /");
  });

  it("lands where the bucket's lifecycle rule expires app logs after the runbook's 30 days", () => {
    const bucket = one(plan, "digitalocean:index/spacesBucket:SpacesBucket", "dbis-staging-backups-bucket");
    const rules = bucket.inputs.lifecycleRules as { id: string; prefix: string; expiration?: { days: number } }[];
    expect(rules.find((r) => r.id === "expire-app-logs")).toMatchObject({ prefix: "logs/", expiration: { days: 30 } });
  });
});
