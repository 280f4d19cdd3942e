// DBIS's Database Failover drill on real PostgreSQL 15 servers on loopback: a primary and a streaming replica
// (pg_basebackup -R, asynchronous streaming as DigitalOcean's read replicas are), an application stand-in writing
// payments one row per round trip and remembering which inserts the primary acknowledged, then the primary killed
// (kill -9 of the postmaster and every backend: the node is gone), then the promotion by the very command text the
// `recovery.promoteReplica` switch runs (lib/digitaloceanApi.ts promoteReplicaCommand: curl PUT with the bearer token
// on stdin) against the DigitalOcean API stand-in, whose effect is what DigitalOcean does to the replica: it leaves
// recovery (pg_promote). The application then writes to the promoted server, as the recreated app does with the new
// DATABASE_URL.
//   RTO: from the kill to the first insert acknowledged by the promoted server (promote call + reconnect + write;
//        not included: noticing the outage and running `pulumi up`, which a person does).
//   RPO: inserts the primary acknowledged that the promoted server does not have (asynchronous replication loses
//        what was committed but not yet streamed); also reported as the seconds of writes they span.
// Used by test/stacks/dbis/failover-drill.test.ts and bench/dbis-failover.ts.
// Stand-in limits: DigitalOcean's promote may take longer than pg_promote here (it also reconfigures the node); the
// servers run with fsync off (test speed), which does not change what streaming replication sends.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bearerHeader, promoteReplicaCommand } from "../../lib/digitaloceanApi";
import { AckedWriter } from "../../lib/dr/writer";
import { startDigitaloceanApiStub } from "./digitaloceanApiStub";
import { freePort } from "./ports";
import { PG_BIN, startPostgres, type PostgresServer } from "./postgres";

const isRoot = process.getuid?.() === 0;
const asPostgres = (cmd: string, args: string[]) => {
  const [file, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
};

export interface Standby {
  port: number;
  dataDir: string;
  baseDir: string;
  sql(q: string, db?: string): string;
  destroy(): void;
}

/** A streaming replica of `primary` from pg_basebackup -R, on its own port. */
export async function startStandby(primary: PostgresServer): Promise<Standby> {
  const baseDir = mkdtempSync(join(tmpdir(), "lazarus-pg-standby-"));
  chmodSync(baseDir, 0o755);
  if (isRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    chownSync(baseDir, uid, gid);
  }
  const dataDir = join(baseDir, "data");
  const port = await freePort();
  asPostgres(join(PG_BIN, "pg_basebackup"), ["-h", "127.0.0.1", "-p", String(primary.port), "-U", primary.user, "-D", dataDir, "-R", "-X", "stream", "-c", "fast"]);
  appendFileSync(join(dataDir, "postgresql.conf"), `\nport = ${port}\nunix_socket_directories = '${baseDir}'\nhot_standby = on\n`);
  const log = join(baseDir, "server.log");
  asPostgres(join(PG_BIN, "pg_ctl"), ["-D", dataDir, "-l", log, "-w", "-t", "60", "start"]);
  const env = { ...process.env, PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: primary.user };
  return {
    port,
    dataDir,
    baseDir,
    sql(q, db = "postgres") {
      const r = spawnSync("psql", ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", q], { env, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`psql on the standby failed: ${r.stderr}`);
      return r.stdout.trim();
    },
    destroy() {
      try {
        asPostgres(join(PG_BIN, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already stopped
      }
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}

/** The application stand-in: lib/dr/writer.ts's acknowledged writer, one payment INSERT per round trip into dbis_core. */
function paymentWriter(port: number, user: string, startAt = 1): AckedWriter {
  return new AckedWriter({ host: "127.0.0.1", port, user, database: "dbis_core" }, startAt, (id) => `INSERT INTO payments (id, status, amount) VALUES (${id}, 'APPROVED', ${id}.00) RETURNING id;`);
}

/** kill -9 of the postmaster and every process it started: the primary node is gone, mid-write. Returns once they are gone. */
async function killServer(dataDir: string): Promise<void> {
  const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const children = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).stdout.split("\n").map(Number).filter((n) => n > 0);
  const all = [pid, ...children];
  for (const p of all) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
  const alive = (p: number) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  while (all.some(alive)) await new Promise((r) => setTimeout(r, 2));
}

export interface DrillResult {
  /** Milliseconds from the kill to the first insert acknowledged by the promoted server. */
  rtoMs: number;
  /** The promote call alone (command text → API stand-in → pg_promote → 204). */
  promoteMs: number;
  /** Inserts acknowledged by the primary and missing after the promotion. */
  lostRows: number;
  /** Milliseconds of writes the lost rows span (0 when none were lost). */
  rpoMs: number;
  ackedBeforeKill: number;
  /** The promoted server holds exactly the first N acknowledged rows (streaming keeps commit order: no gap). */
  promotedHoldsAPrefix: boolean;
  /** The promote command's stdout (its own last line says what it promoted). */
  promoteOutput: string;
}

const CLUSTER = "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30";
const REPLICA = "dbis-drill-db-replica";
const TOKEN = "dop_v1_drill_token";

/** One drill: primary + standby + writer, kill, promote through the switch's command, write again. */
export async function runFailoverDrill(opts: { warmupRows?: number } = {}): Promise<DrillResult> {
  const primary = await startPostgres({ extraConf: ["wal_level = replica", "max_wal_senders = 5", "synchronous_commit = on", "wal_writer_delay = 10ms"] });
  let standby: Standby | undefined;
  const api = await startDigitaloceanApiStub([
    {
      method: "PUT",
      path: `/v2/databases/${CLUSTER}/replicas/${REPLICA}/promote`,
      body: "",
      token: TOKEN,
      status: 204,
      // What DigitalOcean does with the call: the replica leaves recovery.
      effect: async () => void standby!.sql("SELECT pg_promote(true, 60)"),
    },
  ]);
  try {
    primary.sql("CREATE DATABASE dbis_core");
    primary.sql("CREATE TABLE payments (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(18,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp())", "dbis_core");
    standby = await startStandby(primary);
    const writer = paymentWriter(primary.port, primary.user);
    await writer.waitForAcks(opts.warmupRows ?? 500);
    const killedAt = Date.now();
    await killServer(primary.dataDir);
    await writer.stop();
    const ackedBeforeKill = writer.acked.length;
    const ackedIds = writer.acked.map((a) => a.id);

    // The switch's command, as the command resource runs it: bash -c, the bearer header on stdin.
    const promoteStarted = Date.now();
    const promoteOutput = await new Promise<string>((resolve, reject) => {
      const child = spawn("bash", ["-c", promoteReplicaCommand({ clusterId: CLUSTER, replicaName: REPLICA, warning: "IRREVERSIBLE (drill)", apiBase: api.url })]);
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      child.once("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`promote command exited ${code}: ${err}`))));
      child.stdin.end(bearerHeader(TOKEN));
    });
    const promoteMs = Date.now() - promoteStarted;

    // The recreated app on the promoted server: the first acknowledged write ends the outage.
    const after = paymentWriter(standby.port, primary.user, 1_000_000);
    await after.waitForAcks(1);
    const rtoMs = after.acked[0]!.at - killedAt;
    await after.stop();

    const have = new Set(standby.sql("SELECT id FROM payments WHERE id < 1000000", "dbis_core").split("\n").filter(Boolean).map(Number));
    const lostIdx = ackedIds.map((id, i) => (have.has(id) ? -1 : i)).filter((i) => i >= 0);
    const rpoMs = lostIdx.length ? writer.acked[writer.acked.length - 1]!.at - writer.acked[lostIdx[0]!]!.at : 0;
    const kept = ackedIds.filter((id) => have.has(id));
    const promotedHoldsAPrefix = kept.every((id, i) => id === ackedIds[i]) && [...have].every((id) => ackedIds.includes(id) || id >= ackedIds.length);
    return { rtoMs, promoteMs, lostRows: lostIdx.length, rpoMs, ackedBeforeKill, promotedHoldsAPrefix, promoteOutput };
  } finally {
    standby?.destroy();
    primary.destroy();
    await api.close();
  }
}

/** Baseline for the bench: the same primary crashed (kill -9) and restarted in place, until it takes a write again. */
export async function crashRestartBaseline(): Promise<number> {
  const primary = await startPostgres({ extraConf: ["synchronous_commit = on"] });
  try {
    primary.sql("CREATE DATABASE dbis_core");
    primary.sql("CREATE TABLE payments (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(18,2) NOT NULL)", "dbis_core");
    const killedAt = Date.now();
    await killServer(primary.dataDir);
    primary.start();
    const w = paymentWriter(primary.port, primary.user);
    await w.waitForAcks(1);
    const ms = w.acked[0]!.at - killedAt;
    await w.stop();
    return ms;
  } finally {
    primary.destroy();
  }
}
