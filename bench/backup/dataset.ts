// The benchmark dataset: the same generator the tests use (test/support/dataset.ts), at a scale chosen for size.
// Realistic entropy: random-corpus text that compresses like prose (~3x), numerics, timestamps, jsonb, PostGIS
// points and polygons with GiST indexes, B-tree indexes, enums; not pgbench filler. Shared by the logical and the
// physical benchmarks so both measure the same database.
//   BENCH_SCALE   rows in the largest table (2x that in all); the default 1_050_000 makes about 1 GB on disk.
import { performance } from "node:perf_hooks";
import { createDataset, tableChecksums, type TableChecksum } from "../../test/support/dataset";
import type { PostgresServer } from "../../test/support/postgres";

export { createDataset, tableChecksums, type TableChecksum };

export const DEFAULT_BENCH_SCALE = 1_050_000;

/** Same tables with the same row counts and checksums (key order is the query's row order, which plans may change). */
export function sameTables(a: Record<string, TableChecksum>, b: Record<string, TableChecksum>): boolean {
  const canonical = (x: Record<string, TableChecksum>) => JSON.stringify(Object.keys(x).sort().map((k) => [k, x[k].rows, x[k].md5]));
  return canonical(a) === canonical(b);
}

export function benchScale(): number {
  const s = Number(process.env.BENCH_SCALE ?? DEFAULT_BENCH_SCALE);
  if (!Number.isFinite(s) || s < 1000) throw new Error(`BENCH_SCALE must be a number >= 1000, got ${process.env.BENCH_SCALE}`);
  return Math.floor(s);
}

export interface BenchDataset {
  scale: number;
  /** pg_database_size after generation. */
  bytes: number;
  seconds: number;
}

/** Creates database `db` holding the generated dataset at `scale` and reports its size. */
export function createBenchDataset(server: PostgresServer, db: string, scale = benchScale()): BenchDataset {
  const t0 = performance.now();
  createDataset(server, db, { scale });
  const seconds = (performance.now() - t0) / 1000;
  const bytes = Number(server.sql(`SELECT pg_database_size('${db.replace(/'/g, "''")}')`));
  return { scale, bytes, seconds };
}
