// The drill's application stand-in: one psql session inserting one row per round trip into a table of its own, and
// remembering which inserts the server acknowledged and when. What the server acknowledged is the only honest
// reference for RPO: a row counts as written once its INSERT ... RETURNING came back, never before.
// (DBIS's failover drill, test/support/replicaDrill.ts, uses it too, with its own INSERT into payments.)
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";

/** How the writer and the drill's checks reach PostgreSQL (libpq settings; no password: trust, or a PGPASSFILE). */
export interface PgConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  /** A libpq password file (mode 0600), when the server asks for a password. */
  passfile?: string;
}

/** The table the writer owns in the platform's database (created when absent; the application's tables are untouched). */
export const DRILL_TABLE = "lazarus_drill_writes";

export function pgEnv(c: PgConnection, database = c.database): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PGHOST: c.host,
    PGPORT: String(c.port),
    PGUSER: c.user,
    PGDATABASE: database,
    PGCONNECT_TIMEOUT: "3",
    ...(c.passfile ? { PGPASSFILE: c.passfile } : {}),
  };
}

/** psql -At one statement; resolves stdout, or an error carrying psql's own message. */
export function psql(c: PgConnection, sql: string, database = c.database): { ok: true; out: string } | { ok: false; error: string } {
  const r = spawnSync("psql", ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], { env: pgEnv(c, database), encoding: "utf8", timeout: 30_000 });
  if (r.status === 0) return { ok: true, out: r.stdout.trim() };
  return { ok: false, error: (r.stderr || r.stdout || `psql exited ${r.status ?? r.signal}`).trim() };
}

export function createDrillTable(c: PgConnection): void {
  const r = psql(c, `CREATE TABLE IF NOT EXISTS ${DRILL_TABLE} (id bigint PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
  if (!r.ok) throw new Error(`could not create ${DRILL_TABLE} in ${c.database} on ${c.host}:${c.port}: ${r.error}`);
}

/** Ids the drill's health check writes with (above every writer's range, so the two never collide). */
export const HEALTH_ID_FLOOR = 1_000_000_000;

/** The next free id below `below` (a drill run again on the same database continues after the last one). */
export function nextDrillId(c: PgConnection, below = HEALTH_ID_FLOOR): number {
  const r = psql(c, `SELECT coalesce(max(id), 0) + 1 FROM ${DRILL_TABLE} WHERE id < ${below}`);
  if (!r.ok) throw new Error(`could not read ${DRILL_TABLE} from ${c.database} on ${c.host}:${c.port}: ${r.error}`);
  return Number(r.out);
}

/** The ids of the drill table present on the server (after a recovery: what came back). */
export function idsPresent(c: PgConnection): number[] {
  const r = psql(c, `SELECT id FROM ${DRILL_TABLE} ORDER BY id`);
  if (!r.ok) throw new Error(`could not read ${DRILL_TABLE} from ${c.database} on ${c.host}:${c.port}: ${r.error}`);
  return r.out.split("\n").filter(Boolean).map(Number);
}

/**
 * One acknowledged insert: its id, the wall-clock millisecond the acknowledgement arrived, and what the statement
 * returned after the id (`RETURNING id, ts` gives the server's own commit-side timestamp), if anything.
 */
export interface Ack {
  id: number;
  at: number;
  returned?: string;
}

export class AckedWriter {
  readonly acked: Ack[] = [];
  /** Why the session ended, when it ended by itself (the server went away): psql's last words. */
  endedWith = "";
  private readonly child: ChildProcessWithoutNullStreams;
  private next = 1;
  private stopped = false;
  private paused = false;
  private pending?: (ok: boolean) => void;
  private buffer = "";
  readonly done: Promise<void>;

  /**
   * `insert` is the statement for one id, ending in `RETURNING id;` or `RETURNING id, <more>;` (default: a row of the
   * drill table). `everyMs`: a pause after each acknowledgement (a steady trickle, as the PITR drills want, instead of
   * as fast as round trips go).
   */
  constructor(
    conn: PgConnection,
    startAt = 1,
    private readonly insert: (id: number) => string = (id) => `INSERT INTO ${DRILL_TABLE} (id) VALUES (${id}) RETURNING id;`,
    o: { everyMs?: number } = {},
  ) {
    this.next = startAt;
    const child = spawn("psql", ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"], { env: pgEnv(conn) });
    this.child = child;
    child.stdout.on("data", (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        const m = /^(\d+)(?:\|(.*))?$/.exec(line);
        if (m) {
          this.acked.push({ id: Number(m[1]), at: Date.now(), ...(m[2] !== undefined ? { returned: m[2] } : {}) });
          this.pending?.(true);
        }
      }
    });
    child.stderr.on("data", (d: Buffer) => (this.endedWith = (this.endedWith + d.toString()).slice(-500)));
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    child.once("exit", () => this.pending?.(false));
    child.stdin.on("error", () => undefined); // the server went away mid-write: the exit says so
    this.done = (async () => {
      while (!this.stopped) {
        if (this.paused) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const ok = await new Promise<boolean>((res) => {
          this.pending = res;
          if (child.exitCode !== null) return res(false);
          child.stdin.write(`${this.insert(this.next)}\n`);
        });
        this.pending = undefined;
        if (!ok) break;
        this.next++;
        if (o.everyMs) await new Promise((r) => setTimeout(r, o.everyMs));
      }
      child.stdin.end();
      await exited;
    })();
  }

  /** Whether the session is still up (false once the server refused or dropped it). */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once `count` inserts in all were acknowledged; throws if the session ended or time ran out first. */
  async waitForAcks(count: number, timeoutMs = 60_000): Promise<void> {
    const t = Date.now();
    while (this.acked.length < count && this.alive && Date.now() - t < timeoutMs) await new Promise((r) => setTimeout(r, 5));
    if (this.acked.length < count) throw new Error(`the writer got ${this.acked.length} of ${count} acknowledgements${this.endedWith ? `: ${this.endedWith.trim()}` : ""}`);
  }

  /** Stops sending after the insert in flight (its acknowledgement, if it comes, still counts). */
  async pause(): Promise<void> {
    this.paused = true;
    const t = Date.now();
    while (this.pending && Date.now() - t < 10_000) await new Promise((r) => setTimeout(r, 2));
  }

  resume(): void {
    this.paused = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.paused = false;
    this.pending?.(false);
    if (this.alive) this.child.kill("SIGTERM");
    await this.done;
  }
}
