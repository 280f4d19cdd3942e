// A real PostgreSQL 15 whose WAL is archived by real pgBackRest into a posix repository in a temp dir, configured
// by renderers/pgbackrest.ts. pgBackRest and the pitr-* scripts run as the server's OS user (runuser when the tests
// run as root). The encryption passphrase is only ever in the environment (this worker's process.env, which the
// server inherits for archive_command), never in a file.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { renderPgBackRestConf, renderPostgresArchiveConf, type PgBackRestInput } from "../../renderers/pgbackrest";
import { PG_BIN, startPostgres, type PostgresServer } from "./postgres";
import { scriptRun, type ScriptRun } from "./scriptRun";

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
  archiveTimeoutSeconds: number;
  /** Repository encryption passphrase; set in process.env for the server and the scripts. */
  cipherPass?: string;
  archiveAsync?: boolean;
  processMax?: number;
  /** Repository compression (default zst level 3). */
  compress?: PgBackRestInput["compress"];
  /** More postgresql.conf lines (after the harness's own, so they override them, e.g. "fsync = on"). */
  extraConf?: string[];
}

export function chownToServerUser(path: string): void {
  if (!isRoot) return;
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  chownSync(path, uid, gid);
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
  for (const d of ["repo", "log", "lock", "spool"]) {
    const p = join(root, d);
    spawnSync("mkdir", ["-p", p]);
    chownToServerUser(p);
  }
  const confFile = join(root, "pgbackrest.conf");
  const repoPath = join(root, "repo");
  const archive = renderPostgresArchiveConf({ stanza, configPath: confFile, archiveTimeoutSeconds: options.archiveTimeoutSeconds });
  let pg: PostgresServer;
  try {
    pg = await startPostgres({ extraConf: [...archive.trim().split("\n"), ...(options.extraConf ?? [])] });
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
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
  const confText = renderPgBackRestConf(input);
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
      const r = runAsServerUser("bash", [join(SCRIPTS_DIR, name), ...args], { PGBACKREST_CONFIG: confFile, PG_BIN, ...env });
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
