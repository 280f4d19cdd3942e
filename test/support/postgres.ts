// A real PostgreSQL 15 server for tests: its own data directory in a temp dir, listening on loopback only,
// on a free port, with trust authentication, or (option `password`) with SCRAM password authentication for every
// connection: password_encryption and pg_hba scram-sha-256, the superuser's password set by initdb, and the
// harness's own clients reading it from a PGPASSFILE (mode 0600) in the temp dir. PostgreSQL refuses to run as
// root, so when the tests run as root (CI does) the server runs as the `postgres` system user that Debian's package
// creates.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync, appendFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports";

export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  dataDir: string;
  /** Root of the temp dir holding the data directory, the socket and the log. Removed by stop(). */
  baseDir: string;
  logFile: string;
  /** Environment for client tools (psql, pg_dump, ...) pointing at this server. */
  env: NodeJS.ProcessEnv;
  /** Run SQL with psql -X -A -t against a database; returns trimmed stdout, throws on error. */
  sql(query: string, database?: string): string;
  /** The OS user the server runs as ("postgres" when tests run as root). */
  osUser: string;
  /** Run a command as the server's OS user (needed for pg_ctl, pgBackRest, ...). */
  runAsServerUser(cmd: string, args: string[], opts?: { env?: NodeJS.ProcessEnv; input?: string }): string;
  start(): void;
  stop(mode?: "fast" | "immediate"): void;
  /** Stop the server and remove the temp dir. */
  destroy(): void;
}

export interface PostgresOptions {
  /** Extra lines appended to postgresql.conf before the first start. */
  extraConf?: string[];
  /** Port to listen on; a free one by default. */
  port?: number;
  /** Require SCRAM passwords (pg_hba scram-sha-256 for local and host) with this superuser password, instead of trust. */
  password?: string;
}

/** A PGPASSFILE line: `:` and `\` in any field are escaped with a backslash (libpq's passfile format). */
export function pgpassLine(host: string, port: number, database: string, user: string, password: string): string {
  const esc = (v: string) => v.replace(/[\\:]/g, (c) => `\\${c}`);
  return [host, String(port), database, user, password].map(esc).join(":");
}

const isRoot = process.getuid?.() === 0;

function chownToPostgres(path: string): void {
  if (!isRoot) return;
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  chownSync(path, uid, gid);
}

function asServerUser(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const [file, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { env: { ...process.env, ...opts.env }, input: opts.input, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

/** A file only the server's OS user reads (initdb's --pwfile); removed with the temp dir. */
function writeServerUserFile(baseDir: string, name: string, text: string): string {
  const path = join(baseDir, name);
  writeFileSync(path, text, { mode: 0o600 });
  chownToPostgres(path);
  return path;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const baseDir = mkdtempSync(join(tmpdir(), "lazarus-pg-"));
  chmodSync(baseDir, 0o755);
  chownToPostgres(baseDir);
  const dataDir = join(baseDir, "data");
  const logFile = join(baseDir, "server.log");
  const port = options.port ?? (await freePort());
  const user = "postgres";

  const auth = options.password === undefined ? ["--auth=trust"] : ["--auth=scram-sha-256", `--pwfile=${writeServerUserFile(baseDir, "pwfile", `${options.password}\n`)}`];
  asServerUser(join(PG_BIN, "initdb"), ["-D", dataDir, "-U", user, ...auth, "-E", "UTF8", "--locale=C.UTF-8"]);
  appendFileSync(
    join(dataDir, "postgresql.conf"),
    [
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `unix_socket_directories = '${baseDir}'`,
      "fsync = off",
      "synchronous_commit = off",
      "full_page_writes = on",
      "max_connections = 50",
      ...(options.password === undefined ? [] : ["password_encryption = 'scram-sha-256'"]),
      ...(options.extraConf ?? []),
      "",
    ].join("\n"),
  );

  const env: NodeJS.ProcessEnv = { PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: user, PGDATABASE: "postgres" };
  if (options.password !== undefined) {
    env.PGPASSFILE = join(baseDir, "pgpass");
    writeFileSync(env.PGPASSFILE, `${pgpassLine("127.0.0.1", port, "*", user, options.password)}\n`, { mode: 0o600 });
  }
  const server: PostgresServer = {
    host: "127.0.0.1",
    port,
    user,
    dataDir,
    baseDir,
    logFile,
    env,
    osUser: isRoot ? "postgres" : (process.env.USER ?? "unknown"),
    runAsServerUser: asServerUser,
    sql(query, database = "postgres") {
      const r = spawnSync("psql", ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", query], {
        env: { ...process.env, ...env },
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      });
      if (r.status !== 0) throw new Error(`psql failed (${r.status}): ${r.stderr}`);
      return r.stdout.trim();
    },
    start() {
      asServerUser(join(PG_BIN, "pg_ctl"), ["-D", dataDir, "-l", logFile, "-w", "-t", "60", "start"]);
    },
    stop(mode = "fast") {
      if (!existsSync(join(dataDir, "postmaster.pid"))) return;
      asServerUser(join(PG_BIN, "pg_ctl"), ["-D", dataDir, "-m", mode, "-w", "-t", "60", "stop"]);
    },
    destroy() {
      try {
        server.stop("immediate");
      } catch {
        // already stopped or data dir gone: nothing left to stop
      }
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
  writeFileSync(logFile, "");
  chownToPostgres(logFile);
  server.start();
  return server;
}
