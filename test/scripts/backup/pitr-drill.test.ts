// The PITR drill of issue 3: a writer inserts a timestamped row every 100 ms into a real PostgreSQL 15 whose WAL
// pgBackRest archives (asynchronously, archive_timeout 10 s); the cluster is killed (stop immediate) and its data
// directory deleted; pitr-restore.sh restores the latest point into a new directory; the test measures and prints
// the data lost (RPO = last row committed before the destruction minus the last row present after the restore)
// and requires it to be under 60 s.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../support/ports";
import { startPitrCluster, type PitrCluster } from "../../support/pgbackrest";

const ARCHIVE_TIMEOUT_S = 10;
const WRITE_FOR_MS = 25_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe("PITR drill: destroy the data directory under a steady writer, restore the latest point, measure RPO", () => {
  let c: PitrCluster;
  let writer: ChildProcessWithoutNullStreams | undefined;
  let timer: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    c = await startPitrCluster({ archiveTimeoutSeconds: ARCHIVE_TIMEOUT_S, archiveAsync: true });
    c.pg.sql("create table drill (id bigint primary key, ts timestamptz not null default clock_timestamp())");
  });
  afterAll(() => {
    if (timer) clearInterval(timer);
    writer?.kill("SIGKILL");
    c?.destroy();
  });

  it(`loses less than 60 s of data with archive_timeout = ${ARCHIVE_TIMEOUT_S}s`, async () => {
    expect(c.pg.sql("show archive_timeout")).toBe(`${ARCHIVE_TIMEOUT_S}s`);
    expect(c.confText).toMatch(/^archive-async=y$/m);
    const backup = c.script("pitr-backup.sh", ["--stanza", "main", "--type", "full"]);
    expect(backup.code, backup.stderr).toBe(0);

    // The writer: one psql session, autocommit, a row every 100 ms; a row counts as committed when psql prints it
    // back (RETURNING after the commit of its own statement).
    let lastCommitted: { id: number; ts: string } | undefined;
    let committed = 0;
    let buf = "";
    writer = spawn("psql", ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres"], {
      env: { ...process.env, ...c.pg.env },
    });
    writer.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const line of lines) {
        const m = /^(\d+)\|(.+)$/.exec(line.trim());
        if (m) {
          lastCommitted = { id: Number(m[1]), ts: m[2] };
          committed++;
        }
      }
    });
    writer.stderr.on("data", () => undefined); // the session dies with the server; its complaint is expected
    writer.stdin.on("error", () => undefined);
    let next = 1;
    timer = setInterval(() => {
      if (writer?.stdin.writable) writer.stdin.write(`insert into drill (id) values (${next++}) returning id, ts;\n`);
    }, 100);

    await sleep(WRITE_FOR_MS);
    // Disaster: the server dies without a shutdown checkpoint and the data directory is gone.
    const before = lastCommitted;
    c.pg.stop("immediate");
    clearInterval(timer);
    timer = undefined;
    await sleep(300);
    const lastBeforeDestruction = lastCommitted ?? before;
    expect(lastBeforeDestruction, "the writer committed rows").toBeDefined();
    rmSync(c.pg.dataDir, { recursive: true, force: true });
    expect(existsSync(c.pg.dataDir)).toBe(false);
    writer.kill("SIGKILL");

    const port = await freePort();
    const target = join(c.mkdir("drill-restore"), "data");
    const r = c.script("pitr-restore.sh", ["--stanza", "main", "--target-dir", target, "--port", String(port)]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.result).toMatchObject({ status: "ok", recovery_type: "latest", in_recovery: false });

    const q = (sql: string) => {
      const p = spawnSync("psql", ["-X", "-A", "-t", "-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-c", sql], {
        encoding: "utf8",
      });
      if (p.status !== 0) throw new Error(p.stderr);
      return p.stdout.trim();
    };
    const [restoredRows, restoredMaxId, restoredMaxTs] = q("select count(*), max(id), max(ts) from drill").split("|");
    const last = lastBeforeDestruction!;
    const rpo = Number(q(`select extract(epoch from ('${last.ts}'::timestamptz - max(ts))) from drill`));
    const rowsLost = last.id - Number(restoredMaxId);
    console.log(
      `PITR drill: writer committed ${committed} rows (last id ${last.id} at ${last.ts}); ` +
        `restored ${restoredRows} rows (last id ${restoredMaxId} at ${restoredMaxTs}); ` +
        `recovered until ${String(r.result.recovered_until)}; RPO = ${rpo.toFixed(1)} s (${rowsLost} rows lost), ` +
        `archive_timeout = ${ARCHIVE_TIMEOUT_S}s, restore took ${String(r.result.duration_seconds)} s`,
    );
    // WAL replay really happened: rows written after the backup are back, with no gaps and nothing invented.
    expect(Number(restoredRows)).toBeGreaterThan(0);
    expect(Number(restoredRows)).toBe(Number(restoredMaxId));
    expect(Number(restoredMaxId)).toBeLessThanOrEqual(last.id);
    expect(Number(restoredRows)).toBeGreaterThan(committed / 3);
    expect(rpo).toBeGreaterThanOrEqual(0);
    expect(rpo).toBeLessThan(60);
  });
});
