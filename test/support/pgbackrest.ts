// A real PostgreSQL 15 whose WAL is archived by real pgBackRest into a posix repository in a temp dir, configured
// by renderers/pgbackrest.ts. pgBackRest and the pitr-* scripts run as the server's OS user (runuser when the tests
// run as root). The encryption passphrase is only ever in the environment (this worker's process.env, which the
// server inherits for archive_command), never in a file.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { renderPgBackRestConf, renderPostgresArchiveConf, type PgBackRestInput } from "../../renderers/pgbackrest";
import { expect } from "vitest";
import { freePort } from "./ports";
import { PG_BIN, startPostgres, type PostgresServer } from "./postgres";
import { scriptRun, type ScriptRun } from "./scriptRun";
import { AckedWriter } from "../../lib/dr/writer";

export const SCRIPTS_DIR = resolve(__dirname, "../../scripts/backup");
const isRoot = process.getuid?.() === 0;


export interface PitrCluster {
  pg: PostgresServer;
  /** Temp root owned by the server's OS user: repo/, log/, lock/, spool/, pgbackrest.conf, restores. */
  root: string;
  confFile: string;
  confText: string;
  stanza: string;
  repoPath: string;
  /** Run a scripts/backup/*.sh script as the server's OS user with the cluster's pgBackRest config. */
  script(name: string, args: string[], env?: NodeJS.ProcessEnv): ScriptRun;
  /** A new directory under root owned by the server's OS user (for restores). */
  mkdir(name: string): string;
  /** Stop every cluster started under root (restores) and the main one, remove everything. */
  destroy(): void;
}

export interface PitrOptions {
  stanza?: string;
  /** Required unless `rendered` brings its own archive_timeout. */
  archiveTimeoutSeconds?: number;
  /** Repository encryption passphrase; set in process.env for the server and the scripts. */
  cipherPass?: string;
  archiveAsync?: boolean;
  processMax?: number;
  /** Repository compression (default zst level 3). */
  compress?: PgBackRestInput["compress"];
  /** More postgresql.conf lines (after the harness's own, so they override them, e.g. "fsync = on"). */
  extraConf?: string[];
  /**
   * A platform's rendered files (its pgbackrest.conf and postgresql.conf archive lines) to run instead of the harness's
   * own; adaptRenderedPgBackRest moves them into this cluster. archiveTimeoutSeconds is then the rendered one.
   */
  rendered?: { pgbackrestConf: string; archiveConf: string };
  /** A rendered secrets include file (renderPgBackRestSecretsConf): written 0600 into the drill's include dir. */
  secretsConf?: string;
}

/** Where a drill's cluster lives: the only things adaptRenderedPgBackRest changes in a platform's rendered files. */
export interface DrillLocation {
  confFile: string;
  repoPath: string;
  dataPath: string;
  port: number;
  socketPath: string;
  user: string;
  spoolPath: string;
  logPath: string;
  lockPath: string;
}

/**
 * The one place a drill changes a platform's rendered pgBackRest files: where things are (paths, port, the database
 * user, the repository's location), never how pgBackRest archives, backs up, retains, compresses or encrypts.
 * An S3 repository becomes a posix one in the temp dir: pgBackRest's S3 driver talks HTTPS only (there is no
 * plain-HTTP option; repo1-storage-verify-tls=n only skips the certificate check) and test/support/s3Stub.ts is a
 * plain HTTP server without multipart uploads. Every key it moves must be in the file, so a renderer change that
 * drops one fails here instead of silently running the drill on the harness's defaults.
 */
export function adaptRenderedPgBackRest(pgbackrestConf: string, at: DrillLocation): string {
  const moved: Record<string, string> = {
    "repo1-path": at.repoPath,
    "pg1-path": at.dataPath,
    "pg1-port": String(at.port),
    "pg1-socket-path": at.socketPath,
    "pg1-user": at.user,
    "spool-path": at.spoolPath,
    "log-path": at.logPath,
  };
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const line of pgbackrestConf.split("\n")) {
    const key = /^([a-z0-9-]+)=/.exec(line)?.[1];
    if (key === "repo1-type" || key?.startsWith("repo1-s3-") || key?.startsWith("repo1-storage-")) continue;
    if (key !== undefined && key in moved) {
      seen.add(key);
      if (key === "repo1-path") lines.push("repo1-type=posix");
      lines.push(`${key}=${moved[key]}`);
      // pgBackRest's default lock path (/tmp/pgbackrest) is shared by every cluster on the machine
      if (key === "log-path") lines.push(`lock-path=${at.lockPath}`);
      continue;
    }
    lines.push(line);
  }
  const missing = Object.keys(moved).filter((k) => !seen.has(k));
  if (missing.length) throw new Error(`adaptRenderedPgBackRest: the rendered pgbackrest.conf has no ${missing.join(", ")}`);
  return lines.join("\n");
}

/** The rendered postgresql.conf archive lines with the drill's config file and include dir: the only changes made. */
export function adaptRenderedArchiveConf(archiveConf: string, confFile: string, includeDir: string): string {
  if (!/--config=\S+/.test(archiveConf)) throw new Error("adaptRenderedArchiveConf: the rendered archive_command names no --config");
  return archiveConf.replace(/--config=\S+/, `--config=${confFile}`).replace(/--config-include-path=\S+/, `--config-include-path=${includeDir}`);
}

export function chownToServerUser(path: string): void {
  if (!isRoot) return;
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  chownSync(path, uid, gid);
}

/**
 * A pgbackrest.conf whose repo1 is a bucket of the S3 stand-in over HTTPS (its certificate trusted through
 * repo1-storage-ca-file, path-style addressing since "<bucket>.localhost" resolves nowhere), signing with the given
 * key pair; written 0600 into DIR for the server's OS user. Returns the file.
 */
export function s3StubRepoConf(dir: string, s3: { host: string; port: number; caFile: string }, o: { bucket: string; accessKey: string; secretKey: string; name: string }): string {
  const file = join(dir, `pgbackrest-${o.name}.conf`);
  writeFileSync(
    file,
    [
      "[global]",
      "repo1-type=s3",
      `repo1-s3-bucket=${o.bucket}`,
      `repo1-s3-endpoint=${s3.host}`,
      "repo1-s3-region=fra1",
      "repo1-s3-uri-style=path",
      `repo1-storage-port=${s3.port}`,
      `repo1-storage-ca-file=${s3.caFile}`,
      "repo1-path=/pgbackrest",
      `repo1-s3-key=${o.accessKey}`,
      `repo1-s3-key-secret=${o.secretKey}`,
      `log-path=${dir}`,
      `lock-path=${dir}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  chownToServerUser(file);
  return file;
}

export function runAsServerUser(file: string, args: string[], env: NodeJS.ProcessEnv = {}): ScriptRun {
  const [cmd, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args];
  const r = spawnSync(cmd, argv, { env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return scriptRun(r);
}

export async function startPitrCluster(options: PitrOptions): Promise<PitrCluster> {
  const stanza = options.stanza ?? "main";
  if (options.cipherPass) process.env.PGBACKREST_REPO1_CIPHER_PASS = options.cipherPass;
  const root = mkdtempSync(join(tmpdir(), "lazarus-pitr-"));
  chmodSync(root, 0o755);
  chownToServerUser(root);
  for (const d of ["repo", "log", "lock", "spool", "conf.d"]) {
    const p = join(root, d);
    spawnSync("mkdir", ["-p", p]);
    chownToServerUser(p);
  }
  const confFile = join(root, "pgbackrest.conf");
  const includeDir = join(root, "conf.d");
  if (options.secretsConf !== undefined) {
    const secrets = join(includeDir, "secrets.conf");
    writeFileSync(secrets, options.secretsConf, { mode: 0o600 });
    chownToServerUser(secrets);
  }
  const repoPath = join(root, "repo");
  const archive = options.rendered
    ? adaptRenderedArchiveConf(options.rendered.archiveConf, confFile, includeDir)
    : renderPostgresArchiveConf({ stanza, configPath: confFile, archiveTimeoutSeconds: options.archiveTimeoutSeconds as number });
  let pg: PostgresServer;
  try {
    pg = await startPostgres({ extraConf: [...archive.trim().split("\n"), ...(options.extraConf ?? [])] });
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
  const at: DrillLocation = {
    confFile,
    repoPath,
    dataPath: pg.dataDir,
    port: pg.port,
    socketPath: pg.baseDir,
    user: pg.user,
    spoolPath: join(root, "spool"),
    logPath: join(root, "log"),
    lockPath: join(root, "lock"),
  };
  const adapted = options.rendered ? adaptRenderedPgBackRest(options.rendered.pgbackrestConf, at) : undefined;
  const input: PgBackRestInput = {
    stanza,
    pg: { dataPath: pg.dataDir, port: pg.port, socketPath: pg.baseDir, user: pg.user },
    repository: { type: "posix", path: repoPath },
    retention: { full: 2, diff: 4 },
    compress: options.compress ?? { type: "zst", level: 3 },
    processMax: options.processMax ?? 2,
    ...(options.archiveAsync ? { archiveAsync: { spoolPath: join(root, "spool"), processMax: 2 } } : {}),
    ...(options.cipherPass ? { encryption: { cipherType: "aes-256-cbc" as const } } : {}),
    logPath: join(root, "log"),
    lockPath: join(root, "lock"),
    logLevelFile: "detail",
  };
  const confText = adapted ?? renderPgBackRestConf(input);
  writeFileSync(confFile, confText, { mode: 0o640 });
  chownToServerUser(confFile);

  const started: string[] = [];
  const cluster: PitrCluster = {
    pg,
    root,
    confFile,
    confText,
    stanza,
    repoPath,
    script(name, args, env = {}) {
      // pgBackRest reads an include dir beside an explicit --config only when told (its own PGBACKREST_* option variable)
      const include = options.secretsConf !== undefined ? { PGBACKREST_CONFIG_INCLUDE_PATH: includeDir } : {};
      const r = runAsServerUser("bash", [join(SCRIPTS_DIR, name), ...args], { PGBACKREST_CONFIG: confFile, ...include, PG_BIN, ...env });
      const dir = r.result.target_dir;
      if (typeof dir === "string" && r.result.started === true) started.push(dir);
      return r;
    },
    mkdir(name) {
      const p = join(root, name);
      spawnSync("mkdir", ["-p", p]);
      chownToServerUser(p);
      return p;
    },
    destroy() {
      // every data dir the scripts restored and started, then the main cluster
      const dirs = spawnSync("bash", ["-c", `ls -d ${root}/*/*/postmaster.pid ${root}/*/postmaster.pid 2>/dev/null || true`], {
        encoding: "utf8",
      }).stdout.split("\n");
      for (const pid of [...dirs.filter(Boolean).map((p) => p.replace(/\/postmaster\.pid$/, "")), ...started]) {
        if (existsSync(join(pid, "postmaster.pid"))) {
          try {
            runAsServerUser(join(PG_BIN, "pg_ctl"), ["-D", pid, "-m", "immediate", "-w", "stop"]);
          } catch {
            // already gone
          }
        }
      }
      pg.destroy();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return cluster;
}

export interface DrillWriter {
  /** The last row the server acknowledged (its INSERT ... RETURNING id, ts came back), with the server's ts. */
  last(): { id: number; ts: string } | undefined;
  committed(): number;
  /** Stop sending; the session is ended (it dies with the server in a drill anyway). */
  stop(): void;
}

/**
 * A steady writer for PITR drills: lib/dr/writer.ts's AckedWriter (one psql session, a row counts only once the server
 * acknowledged it) trickling a row every `everyMs` into `table (id, ts)` of the postgres database, keeping the
 * server's `ts` of each row for the RPO and the named-time restore.
 */
export function startDrillWriter(pg: PostgresServer, table: string, everyMs = 100): DrillWriter {
  const w = new AckedWriter({ host: pg.host, port: pg.port, user: pg.user, database: "postgres", ...(pg.env.PGPASSFILE ? { passfile: pg.env.PGPASSFILE } : {}) }, 1, (id) => `insert into ${table} (id) values (${id}) returning id, ts;`, { everyMs });
  return {
    last() {
      const a = w.acked.at(-1);
      return a && { id: a.id, ts: a.returned! };
    },
    committed: () => w.acked.length,
    stop: () => void w.stop(),
  };
}

/** psql against a restored cluster on the loopback (the restore's socket dir differs from the harness's). */
export function restoredSql(port: number, sql: string): string {
  const p = spawnSync("psql", ["-X", "-A", "-t", "-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", sql], { encoding: "utf8" });
  if (p.status !== 0) throw new Error(p.stderr);
  return p.stdout.trim();
}

/**
 * The drill's measured step after the loss: pitr-restore.sh to the latest point into a new directory, then what came
 * back against what the writer saw committed. Asserts what every drill holds: the restore succeeded and ended recovery,
 * the restored rows are a gapless prefix of the committed ones, and the loss is within `archiveTimeoutS` (times 3: the
 * async push and the segment in flight at the kill). Logs the RPO line and returns the numbers.
 */
export async function restoreToLatestAndMeasure(
  c: PitrCluster,
  o: { platform: string; stanza: string; archiveTimeoutS: number; last: { id: number; ts: string }; committed: number },
): Promise<{ port: number; rows: number; maxId: number; rpoSeconds: number; restoreSeconds: number }> {
  const port = await freePort();
  const t0 = Date.now();
  const r = c.script("pitr-restore.sh", ["--stanza", o.stanza, "--target-dir", join(c.mkdir("latest"), "data"), "--port", String(port)]);
  const restoreSeconds = (Date.now() - t0) / 1000;
  expect(r.code, r.stderr + r.stdout).toBe(0);
  expect(r.result).toMatchObject({ status: "ok", recovery_type: "latest", in_recovery: false });
  const [rows, maxId] = restoredSql(port, "select count(*), max(id) from drill").split("|").map(Number) as [number, number];
  const rpoSeconds = Number(restoredSql(port, `select extract(epoch from ('${o.last.ts}'::timestamptz - max(ts))) from drill`));
  console.log(
    `${o.platform} PITR drill (rendered config, archive_timeout ${o.archiveTimeoutS}s): writer committed ${o.committed} rows (last id ${o.last.id}); ` +
      `restored ${rows} rows (last id ${maxId}); RPO = ${rpoSeconds.toFixed(1)} s (${o.last.id - maxId} rows lost); restore took ${restoreSeconds.toFixed(1)} s`,
  );
  expect(rows).toBe(maxId); // no gaps, nothing invented
  expect(maxId).toBeLessThanOrEqual(o.last.id);
  expect(rpoSeconds).toBeGreaterThanOrEqual(0);
  expect(rpoSeconds).toBeLessThan(o.archiveTimeoutS * 3);
  return { port, rows, maxId, rpoSeconds, restoreSeconds };
}

/**
 * The drill's second measured step: pitr-restore.sh to a named time (`named`: a row the writer saw acknowledged
 * halfway through, its server ts the target) into another new directory. Rows commit a moment after their ts, so no row
 * written after the target is there, every row written a second before it is (checked against the latest-point restore
 * on `latestPort`), and the rows are a gapless prefix ending at or before the named one.
 */
export function restoreToNamedTimeAndCheck(c: PitrCluster, o: { platform: string; stanza: string; named: { id: number; ts: string }; latestPort: number; port: number }): { rows: number; maxId: number; seconds: number } {
  const target = o.named.ts;
  const t1 = Date.now();
  const p = c.script("pitr-restore.sh", ["--stanza", o.stanza, "--target-dir", join(c.mkdir("named"), "data"), "--port", String(o.port), "--target-time", target]);
  const seconds = (Date.now() - t1) / 1000;
  expect(p.code, p.stderr + p.stdout).toBe(0);
  expect(p.result).toMatchObject({ status: "ok", in_recovery: false });
  expect(Number(restoredSql(o.port, `select count(*) from drill where ts > '${target}'`))).toBe(0);
  const [rows, maxId] = restoredSql(o.port, "select count(*), max(id) from drill").split("|").map(Number) as [number, number];
  const surelyIn = Number(restoredSql(o.latestPort, `select coalesce(max(id), 0) from drill where ts <= '${target}'::timestamptz - interval '1 second'`));
  console.log(`${o.platform} PITR drill: restored to ${target}: ${rows} rows (last id ${maxId}), took ${seconds.toFixed(1)} s`);
  expect(rows).toBe(maxId);
  expect(maxId).toBeGreaterThanOrEqual(surelyIn);
  expect(maxId).toBeLessThanOrEqual(o.named.id);
  return { rows, maxId, seconds };
}
