// Benchmark: physical restore with pgBackRest (pitr-restore.sh, latest point) against the seeds' route
// (`pg_dump | gzip` then `gunzip < file | psql`) on the same generated database: backup time, restore time, file /
// repository size and peak memory of the client-side processes, with ratios. Not part of the test suite.
//   npx tsx bench/backup/physical.ts                 (about 1 GB: BENCH_SCALE=1050000, the default)
//   BENCH_SCALE=100000 npx tsx bench/backup/physical.ts    (a quick run)
//   BENCH_FSYNC=off ...    (the test harness's fsync=off instead of production durability)
//   BENCH_COMPRESS=none, BENCH_RESTORE_PROCESS_MAX=N (default 4) to try the repository's knobs
// Target on the 2-core CI machine: physical restore at least 3x faster than the seed route.
// The dataset is the pg-backup helper's generator (test/support/dataset.ts: PostGIS points and polygons with GiST
// indexes, enums, numerics, timestamps, jsonb, random-corpus text); both routes restore the same database, and
// the physically restored copy is compared table by table (row counts and checksums) with the source.
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createDataset, tableChecksums } from "../../test/support/dataset";
import { sameTables } from "./dataset";
import { freePort } from "../../test/support/ports";
import { startPitrCluster, type PitrCluster } from "../../test/support/pgbackrest";
import type { PostgresServer } from "../../test/support/postgres";

const SCALE = Number(process.env.BENCH_SCALE ?? 1_050_000);
const DB = "bench";

interface Timed {
  seconds: number;
  peakRssKb: number;
}

/** Run a shell pipeline as the server's OS user (or not), each stage wrapped in GNU time; returns wall seconds and the largest max-RSS. */
function timedShell(script: string, env: NodeJS.ProcessEnv, asServerUser = false): Timed & { stdout: string } {
  const t0 = performance.now();
  const [cmd, args] = asServerUser && process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", "bash", "-c", script]] : ["bash", ["-c", script]];
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`failed (${r.status}): ${script}\n${r.stderr.slice(-4000)}`);
  const rss = [...r.stderr.matchAll(/^MAXRSS_KB=(\d+)$/gm)].map((m) => Number(m[1]));
  return { seconds, peakRssKb: Math.max(0, ...rss), stdout: r.stdout };
}
const T = "/usr/bin/time -f MAXRSS_KB=%M";

function fmtBytes(n: number): string {
  return n > 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

async function main(): Promise<void> {
  console.log(`physical restore benchmark: scale ${SCALE} (BENCH_SCALE), ${process.env.BENCH_KEEP ? "keeping" : "removing"} files afterwards`);
  // Production durability (the test harness turns fsync off; BENCH_FSYNC=off measures that way too): the seed
  // route's load then pays for its WAL and data flushes as it would on GoodGo's host.
  const durable = process.env.BENCH_FSYNC !== "off";
  const c: PitrCluster = await startPitrCluster({
    archiveTimeoutSeconds: 60,
    processMax: 2,
    compress: process.env.BENCH_COMPRESS === "none" ? { type: "none" } : { type: "lz4", level: 1 },
    extraConf: durable ? ["fsync = on", "synchronous_commit = on"] : [],
  });
  console.log(`server: fsync ${c.pg.sql("show fsync")}, synchronous_commit ${c.pg.sql("show synchronous_commit")}`);
  try {
    const t0 = performance.now();
    createDataset(c.pg, DB, { scale: SCALE });
    const genSeconds = (performance.now() - t0) / 1000;
    const dbBytes = Number(c.pg.sql(`select pg_database_size('${DB}')`));
    console.log(`dataset: ${fmtBytes(dbBytes)} database '${DB}' generated in ${genSeconds.toFixed(0)} s`);
    const source = tableChecksums(c.pg, DB);

    // --- the seeds' route: pg_dump | gzip, then gunzip < file | psql into a new database
    const work = c.mkdir("seed");
    const dump = join(work, "bench.sql.gz");
    const seedBackup = timedShell(`set -o pipefail; ${T} pg_dump -d ${DB} 2> >(cat >&2) | ${T} gzip > ${dump}`, c.pg.env);
    const dumpBytes = statSync(dump).size;
    c.pg.sql(`create database bench_seed template template0`);
    const seedRestore = timedShell(`set -o pipefail; ${T} gunzip < ${dump} | ${T} psql -X -q -v ON_ERROR_STOP=1 -d bench_seed > /dev/null`, c.pg.env);
    console.log(`seed route: backup ${seedBackup.seconds.toFixed(1)} s, restore ${seedRestore.seconds.toFixed(1)} s, file ${fmtBytes(dumpBytes)}`);
    c.pg.sql(`drop database bench_seed`);

    // --- the physical route: pitr-backup.sh full, pitr-restore.sh to the latest point into a new data directory
    const env = { PGBACKREST_CONFIG: c.confFile, PG_BIN: "/usr/lib/postgresql/15/bin" };
    const scripts = join(__dirname, "../../scripts/backup");
    const physBackup = timedShell(`${T} bash ${scripts}/pitr-backup.sh --stanza main --type full`, env, true);
    const backupResult = JSON.parse(physBackup.stdout.trim().split("\n").pop()!);
    const port = await freePort();
    const target = join(c.mkdir("physical"), "data");
    // restore parallelism (pgBackRest reads PGBACKREST_PROCESS_MAX over the config file): writing is I/O-bound, so
    // more processes than cores can help
    const restoreEnv = { ...env, PGBACKREST_PROCESS_MAX: process.env.BENCH_RESTORE_PROCESS_MAX ?? "4" };
    const physRestore = timedShell(`${T} bash ${scripts}/pitr-restore.sh --stanza main --target-dir ${target} --port ${port}`, restoreEnv, true);
    const restoreResult = JSON.parse(physRestore.stdout.trim().split("\n").pop()!);
    console.log(`physical route: backup ${physBackup.seconds.toFixed(1)} s (${backupResult.label}), restore+recovery+start ${physRestore.seconds.toFixed(1)} s`);

    // the restored copy is the same database
    const restored = {
      sql(q: string, db = "postgres") {
        const r = spawnSync("psql", ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", db, "-c", q], {
          encoding: "utf8",
          maxBuffer: 256 * 1024 * 1024,
        });
        if (r.status !== 0) throw new Error(r.stderr);
        return r.stdout.trim();
      },
    } as unknown as PostgresServer;
    const copy = tableChecksums(restored, DB);
    const same = sameTables(copy, source);
    if (!same) {
      for (const t of new Set([...Object.keys(source), ...Object.keys(copy)])) {
        if (JSON.stringify(source[t]) !== JSON.stringify(copy[t])) console.error(`differs: ${t} source ${JSON.stringify(source[t])} restored ${JSON.stringify(copy[t])}`);
      }
      throw new Error("the physically restored database differs from the source");
    }

    const rows = [
      ["", "seed (pg_dump|gzip, gunzip|psql)", "physical (pgBackRest)", "ratio seed/physical"],
      ["backup time", `${seedBackup.seconds.toFixed(1)} s`, `${physBackup.seconds.toFixed(1)} s`, (seedBackup.seconds / physBackup.seconds).toFixed(2)],
      ["restore time", `${seedRestore.seconds.toFixed(1)} s`, `${physRestore.seconds.toFixed(1)} s`, (seedRestore.seconds / physRestore.seconds).toFixed(2)],
      ["backup size", fmtBytes(dumpBytes), fmtBytes(Number(backupResult.repo_bytes)), (dumpBytes / Number(backupResult.repo_bytes)).toFixed(2)],
      ["peak RSS backup (client side)", `${(seedBackup.peakRssKb / 1024).toFixed(0)} MB`, `${(physBackup.peakRssKb / 1024).toFixed(0)} MB`, ""],
      ["peak RSS restore (client side)", `${(seedRestore.peakRssKb / 1024).toFixed(0)} MB`, `${(physRestore.peakRssKb / 1024).toFixed(0)} MB`, ""],
    ];
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    console.log("");
    for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(w[i])).join("  "));
    const ratio = seedRestore.seconds / physRestore.seconds;
    console.log(
      `\ndatabase ${fmtBytes(dbBytes)}, tables identical after the physical restore: ${same}; ` +
        `physical restore is ${ratio.toFixed(2)}x faster than the seed route (target >= 3x: ${ratio >= 3 ? "met" : "NOT met"})`,
    );
    mkdirSync(join(__dirname, "../../.bench"), { recursive: true });
    const summary = {
      scale: SCALE,
      fsync: durable,
      database_bytes: dbBytes,
      seed: { backup_s: seedBackup.seconds, restore_s: seedRestore.seconds, file_bytes: dumpBytes, backup_peak_rss_kb: seedBackup.peakRssKb, restore_peak_rss_kb: seedRestore.peakRssKb },
      physical: { backup_s: physBackup.seconds, restore_s: physRestore.seconds, repo_bytes: Number(backupResult.repo_bytes), backup_peak_rss_kb: physBackup.peakRssKb, restore_peak_rss_kb: physRestore.peakRssKb, recovered_until: restoreResult.recovered_until },
      restore_ratio: ratio,
    };
    console.log(JSON.stringify(summary));
  } finally {
    if (!process.env.BENCH_KEEP) c.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
