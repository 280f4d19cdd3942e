// Benchmark: the logical route (scripts/backup/pg-backup.sh: pg_dump's uncompressed custom format in one zstd stream,
// with checksum; pg-restore.sh: zstd into the scratch directory beside the checksum, then parallel pg_restore -j2 into a
// new database with bulk-load session settings), beside pg_dump's own gzip -Z6 archive (the default until
// 2026-12-02, restored straight from the archive) and an uncompressed one (-Z 0), against the seeds' route
// (`pg_dump | gzip`, then `gunzip < file | psql`), on one generated database with
// realistic entropy (bench/backup/dataset.ts). Measures backup time, restore time, file size and peak memory, and the
// verification (pg-verify.sh) against a bare restore. Prints a table and ratios; not part of the test suite.
//   npx tsx bench/backup/logical.ts                       (about 1 GB: BENCH_SCALE=1050000, the default)
//   BENCH_SCALE=100000 npx tsx bench/backup/logical.ts    (a quick run); BENCH_REPEAT=N restore rounds (default 3)
// Targets on the 2-core machine: logical restore >= 1.3x faster than the seed route; verification <= 1.2x a bare restore.
// Our restores are timed as an operator runs them (ANALYZE included); the ratio without the analyze phase is printed too.
// Peak memory: the client process tree's summed RSS (bash, pg_dump, gzip, psql, pg_restore and its workers), and the
// server's summed PSS (proportional set size, so shared buffers count once), sampled every 50 ms in runs of their own:
// reading every server process's smaps_rollup that often costs a good part of a core, which on two cores slows a
// parallel restore more than a single-stream one, so the timed restore rounds are not sampled.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { startPostgres, type PostgresServer } from "../../test/support/postgres";
import { benchScale, createBenchDataset, sameTables, tableChecksums } from "./dataset";

const SCRIPTS = resolve(__dirname, "../../scripts/backup");
const DB = "bench";

interface Measured {
  seconds: number;
  clientPeakKb: number;
  serverPeakKb: number;
  stdout: string;
}

function children(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = map.get(ppid) ?? [];
      list.push(Number(d));
      map.set(ppid, list);
    } catch {
      // process ended between readdir and read
    }
  }
  return map;
}
function tree(root: number, kids: Map<number, number[]>): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) ?? []));
  return out;
}
function rssKb(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * 4;
  } catch {
    return 0;
  }
}
function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs `bash -c script`; with `sampleMs`, samples the memory of its process tree and of the server's that often. */
function measure(pg: PostgresServer, script: string, env: NodeJS.ProcessEnv = {}, sampleMs?: number): Promise<Measured> {
  const postmaster = Number(readFileSync(join(pg.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn("bash", ["-c", `set -euo pipefail; ${script}`], { env: { ...process.env, ...pg.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let clientPeakKb = 0;
    let serverPeakKb = 0;
    const sample = () => {
      const kids = children();
      clientPeakKb = Math.max(clientPeakKb, tree(child.pid!, kids).reduce((n, p) => n + rssKb(p), 0));
      serverPeakKb = Math.max(serverPeakKb, tree(postmaster, kids).reduce((n, p) => n + pssKb(p), 0));
    };
    const timer = sampleMs ? setInterval(sample, sampleMs) : undefined;
    child.on("close", (code) => {
      if (timer) clearInterval(timer);
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) rej(new Error(`exit ${code}: ${script}\n${stderr.slice(-3000)}`));
      else res({ seconds, clientPeakKb, serverPeakKb, stdout });
    });
  });
}

/**
 * Every timed run starts from the same quiet state: a checkpoint (so no earlier run's dirty buffers are written during
 * this one) and a sync (so the kernel is not flushing gigabytes of an earlier run's WAL and data while this one runs;
 * DROP DATABASE of the previous copy also leaves a checkpoint's writes behind). Without it, which route happened to
 * run after a big one decided several seconds.
 */
function settle(pg: PostgresServer): void {
  pg.sql("CHECKPOINT");
  spawnSync("sync");
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const size = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);
const ratio = (seed: number, ours: number) => `${(seed / ours).toFixed(2)}x`;


async function main(): Promise<void> {
  const scale = benchScale();
  const work = mkdtempSync(join(tmpdir(), "lazarus-bench-logical-"));
  // Same server settings for both routes; room for a bulk load's WAL so checkpoints do not dominate.
  const pg = await startPostgres({ extraConf: ["shared_buffers = 512MB", "max_wal_size = 8GB", "checkpoint_timeout = 30min"] });
  try {
    console.log(`logical backup/restore benchmark, BENCH_SCALE=${scale}, ${readdirSync("/sys/devices/system/cpu").filter((d) => /^cpu\d+$/.test(d)).length} CPUs, load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
    const ds = createBenchDataset(pg, DB, scale);
    const rows = Number(pg.sql("SELECT sum(n_live_tup) FROM pg_stat_user_tables", DB));
    console.log(`dataset: ${size(ds.bytes)} database, ${rows} rows, generated in ${ds.seconds.toFixed(0)} s`);
    const source = tableChecksums(pg, DB);

    // Backups.
    const seedDump = join(work, "seed", "bench.sql.gz");
    mkdirSync(join(work, "seed"));
    // One run of each backup, sampled every 250 ms (a steady stream for a minute: that rate finds its peak).
    settle(pg);
    const seedBackup = await measure(pg, `pg_dump -d ${DB} | gzip > ${seedDump}`, {}, 250);
    const oursDir = join(work, "ours");
    settle(pg);
    const oursBackup = await measure(pg, `${SCRIPTS}/pg-backup.sh -d ${DB} -o ${oursDir}`, {}, 250);
    const oursFile = JSON.parse(oursBackup.stdout.trim().split("\n").pop()!).file as string;
    // pg_dump's own gzip at level 6 (--codec gzip), the default before zstd: pg_restore inflates it in its workers.
    settle(pg);
    const gzipBackup = await measure(pg, `${SCRIPTS}/pg-backup.sh -d ${DB} --codec gzip -o ${join(work, "gzip")}`, {}, 250);
    const gzipFile = JSON.parse(gzipBackup.stdout.trim().split("\n").pop()!).file as string;
    const gzipBytes = statSync(gzipFile).size;
    // The same script with compression off (pg-backup.sh -Z 0; GoodGo's backups.compressLevel: 0): nothing to inflate,
    // twice the disk: the bound for what a codec can give the restore.
    settle(pg);
    const rawBackup = await measure(pg, `${SCRIPTS}/pg-backup.sh -d ${DB} -Z 0 -o ${join(work, "raw")}`, {}, 250);
    const rawFile = JSON.parse(rawBackup.stdout.trim().split("\n").pop()!).file as string;
    const rawBytes = statSync(rawFile).size;
    const seedBytes = statSync(seedDump).size;
    const oursBytes = statSync(oursFile).size;

    // Restores, BENCH_REPEAT rounds (default 3) with the routes interleaved, each run after settle(); the table shows
    // the fastest run of each (a shared 2-core machine only ever adds time), the verdicts the median paired ratio. Seed: gunzip | psql into a new database. Ours: pg-restore.sh (a new
    // database beside the live one). Bare: pg_restore -j2 of the same archive with the same session settings and
    // nothing else, the yardstick for pg-verify.sh. Every restored copy is compared with the source by checksums.
    const rounds = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
    const best = (a: Measured | undefined, b: Measured) => (a === undefined || b.seconds < a.seconds ? b : a);
    let seedRestore: Measured | undefined;
    let oursRestore: Measured | undefined;
    let rawRestore: Measured | undefined;
    let gzipRestore: Measured | undefined;
    let gzipOk = true;
    let rawOk = true;
    let bare: Measured | undefined;
    let verify: Measured | undefined;
    let verifyBig: Measured | undefined;
    let seedOk = true;
    let oursOk = true;
    let report: { status: string } = { status: "not run" };
    const all: Record<string, number[]> = { seedRestore: [], oursRestore: [], gzipRestore: [], rawRestore: [], bare: [], verify: [], verifyBig: [] };
    // pg-restore.sh's own phase timings (its result line's `phases`), per route, every round.
    const phaseRuns: Record<"ours" | "gzip" | "raw", Record<string, number>[]> = { ours: [], gzip: [], raw: [] };
    for (let round = 0; round < rounds; round++) {
      pg.sql("CREATE DATABASE seed_restore TEMPLATE template0");
      settle(pg);
      const sr = await measure(pg, `gunzip < ${seedDump} | psql -X -q -v ON_ERROR_STOP=1 -d seed_restore > /dev/null`);
      if (round === 0) seedOk = sameTables(tableChecksums(pg, "seed_restore"), source);
      pg.sql("DROP DATABASE seed_restore");

      settle(pg);
      // The default invocation, ANALYZE of the restored tables included (the seed route has none): what an operator
      // runs. The time without it is printed beside (the run's own analyze_s phase subtracted).
      const or = await measure(pg, `${SCRIPTS}/pg-restore.sh -d ${DB} -j 2 ${oursFile}`);
      const oursResult = JSON.parse(or.stdout.trim().split("\n").pop()!);
      phaseRuns.ours.push(oursResult.phases ?? {});
      const restored = oursResult.restored_database as string;
      if (round === 0) oursOk = sameTables(tableChecksums(pg, restored), source);
      pg.sql(`DROP DATABASE ${restored}`);

      settle(pg);
      const gr = await measure(pg, `${SCRIPTS}/pg-restore.sh -d ${DB} -j 2 ${gzipFile}`);
      const gzipResult = JSON.parse(gr.stdout.trim().split("\n").pop()!);
      phaseRuns.gzip.push(gzipResult.phases ?? {});
      if (round === 0) gzipOk = sameTables(tableChecksums(pg, gzipResult.restored_database as string), source);
      pg.sql(`DROP DATABASE ${gzipResult.restored_database as string}`);

      settle(pg);
      const rr = await measure(pg, `${SCRIPTS}/pg-restore.sh -d ${DB} -j 2 ${rawFile}`);
      const rawResult = JSON.parse(rr.stdout.trim().split("\n").pop()!);
      phaseRuns.raw.push(rawResult.phases ?? {});
      const rawRestored = rawResult.restored_database as string;
      if (round === 0) rawOk = sameTables(tableChecksums(pg, rawRestored), source);
      pg.sql(`DROP DATABASE ${rawRestored}`);

      pg.sql("CREATE DATABASE bare_restore TEMPLATE template0");
      settle(pg);
      // The bare restore of the same archive: zstd into a file (pg_restore -j needs one), then pg_restore and nothing else.
      const bareArchive = join(work, "bare.dump");
      const br = await measure(pg, `zstd -q -d -f -o ${bareArchive} ${oursFile} && pg_restore -j 2 -d bare_restore ${bareArchive}; rc=$?; rm -f ${bareArchive}; exit $rc`, {
        // pg-restore.sh's session settings (scripts/backup/lib-pg.sh restore_archive), so only the script's own work differs.
        PGOPTIONS: "-c synchronous_commit=off -c maintenance_work_mem=256MB -c jit=off -c max_parallel_maintenance_workers=0",
      });
      pg.sql("DROP DATABASE bare_restore");
      // One critical table (the users table) for the target; with the largest table added, for the record: a
      // critical-table checksum reads the table twice (live and restored), so its cost grows with what is named.
      settle(pg);
      const v = await measure(pg, `${SCRIPTS}/pg-verify.sh -d ${DB} -t User -j 2 --report ${join(work, "verify.json")} ${oursFile}`);
      report = JSON.parse(v.stdout.trim().split("\n").pop()!);
      settle(pg);
      const vb = await measure(pg, `${SCRIPTS}/pg-verify.sh -d ${DB} -t User,payment -j 2 --report ${join(work, "verify2.json")} ${oursFile}`);
      seedRestore = best(seedRestore, sr);
      oursRestore = best(oursRestore, or);
      rawRestore = best(rawRestore, rr);
      gzipRestore = best(gzipRestore, gr);
      bare = best(bare, br);
      verify = best(verify, v);
      verifyBig = best(verifyBig, vb);
      all.seedRestore.push(sr.seconds);
      all.oursRestore.push(or.seconds);
      all.rawRestore.push(rr.seconds);
      all.gzipRestore.push(gr.seconds);
      all.bare.push(br.seconds);
      all.verify.push(v.seconds);
      all.verifyBig.push(vb.seconds);
      console.log(`round ${round + 1}: seed restore ${sr.seconds.toFixed(1)} s, ours ${or.seconds.toFixed(1)} s, gzip -Z6 ${gr.seconds.toFixed(1)} s, ours -Z0 ${rr.seconds.toFixed(1)} s, bare ${br.seconds.toFixed(1)} s, verify ${v.seconds.toFixed(1)} s, verify (2 critical) ${vb.seconds.toFixed(1)} s`);
      if (report.status !== "ok") break;
    }
    if (!seedRestore || !oursRestore || !gzipRestore || !rawRestore || !bare || !verify || !verifyBig) throw new Error("no round ran");

    // Peak memory of each restore route, in sampled runs of their own (see the header).
    pg.sql("CREATE DATABASE seed_restore TEMPLATE template0");
    const seedMemory = await measure(pg, `gunzip < ${seedDump} | psql -X -q -v ON_ERROR_STOP=1 -d seed_restore > /dev/null`, {}, 50);
    pg.sql("DROP DATABASE seed_restore");
    const oursMemory = await measure(pg, `${SCRIPTS}/pg-restore.sh -d ${DB} -j 2 --no-analyze ${oursFile}`, {}, 50);
    pg.sql(`DROP DATABASE ${JSON.parse(oursMemory.stdout.trim().split("\n").pop()!).restored_database as string}`);

    const rowsOut = [
      ["", "seed (pg_dump|gzip, gunzip|psql)", "ours (pg-backup.sh: -Fc -Z0 | zstd -3; pg-restore.sh -j2)", "seed/ours", "ours -Z0", "seed/ours -Z0", "ours --codec gzip (-Fc -Z6)", "seed/gzip"],
      ["backup time", `${seedBackup.seconds.toFixed(1)} s`, `${oursBackup.seconds.toFixed(1)} s`, ratio(seedBackup.seconds, oursBackup.seconds), `${rawBackup.seconds.toFixed(1)} s`, ratio(seedBackup.seconds, rawBackup.seconds), `${gzipBackup.seconds.toFixed(1)} s`, ratio(seedBackup.seconds, gzipBackup.seconds)],
      ["restore time (best round)", `${seedRestore.seconds.toFixed(1)} s`, `${oursRestore.seconds.toFixed(1)} s`, ratio(seedRestore.seconds, oursRestore.seconds), `${rawRestore.seconds.toFixed(1)} s`, ratio(seedRestore.seconds, rawRestore.seconds), `${gzipRestore.seconds.toFixed(1)} s`, ratio(seedRestore.seconds, gzipRestore.seconds)],
      ["file size", size(seedBytes), size(oursBytes), ratio(seedBytes, oursBytes), size(rawBytes), ratio(seedBytes, rawBytes), size(gzipBytes), ratio(seedBytes, gzipBytes)],
      ["peak client RSS, backup", mb(seedBackup.clientPeakKb), mb(oursBackup.clientPeakKb), ratio(seedBackup.clientPeakKb, oursBackup.clientPeakKb)],
      ["peak client RSS, restore", mb(seedMemory.clientPeakKb), mb(oursMemory.clientPeakKb), ratio(seedMemory.clientPeakKb, oursMemory.clientPeakKb)],
      ["peak server PSS, restore", mb(seedMemory.serverPeakKb), mb(oursMemory.serverPeakKb), ratio(seedMemory.serverPeakKb, oursMemory.serverPeakKb)],
      ["restored checksums = source", String(seedOk), String(oursOk), "", String(rawOk), "", String(gzipOk), ""],
    ];
    for (const r of rowsOut) while (r.length < 8) r.push("");
    const widths = rowsOut[0].map((_, i) => Math.max(...rowsOut.map((r) => r[i].length)));
    console.log("");
    for (const r of rowsOut) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  "));
    // Where pg-restore.sh's time goes (median of the rounds, seconds; the default invocation, as timed above).
    for (const [route, runs] of Object.entries(phaseRuns)) {
      const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
      const med = names.map((n) => [n, median(runs.map((r) => r[n] ?? 0))] as const);
      const total = med.reduce((a, [, v]) => a + v, 0);
      console.log(`phases, ${{ ours: "ours (zstd)", gzip: "gzip -Z6", raw: "ours -Z0" }[route]} (median of ${runs.length}): ${med.map(([n, v]) => `${n.replace(/_s$/, "")} ${v.toFixed(2)} s (${((100 * v) / total).toFixed(0)}%)`).join(", ")}`);
    }
    // The verdicts use the median of each round's paired ratio (the routes of one round ran back to back under the
    // same conditions); the best-of-rounds ratio is printed beside it.
    const paired = (num: number[], den: number[]) => num.map((x, i) => x / den[i]);
    const restoreSpeedup = median(paired(all.seedRestore, all.oursRestore));
    // The same runs without their ANALYZE phase: the restore as far as the seed route goes (it analyzes nothing).
    const withoutAnalyze = (runs: number[], phases: Record<string, number>[]) => runs.map((t, i) => t - (phases[i]?.analyze_s ?? 0));
    const oursNoAnalyze = withoutAnalyze(all.oursRestore, phaseRuns.ours);
    const rawNoAnalyze = withoutAnalyze(all.rawRestore, phaseRuns.raw);
    const restoreSpeedupNoAnalyze = median(paired(all.seedRestore, oursNoAnalyze));
    const rawSpeedupNoAnalyze = median(paired(all.seedRestore, rawNoAnalyze));
    const verifyRatio = median(paired(all.verify, all.bare));
    const rawSpeedup = median(paired(all.seedRestore, all.rawRestore));
    const gzipSpeedup = median(paired(all.seedRestore, all.gzipRestore));
    const zstdOverGzip = median(paired(all.gzipRestore, all.oursRestore));
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(", ");
    console.log("");
    console.log(`bare restore (zstd -d, then pg_restore -j2): ${bare.seconds.toFixed(1)} s`);
    console.log(`pg-verify.sh -t User (sha256, TOC, restore, row counts of all tables, 1 critical checksum, drop): ${verify.seconds.toFixed(1)} s (status ${report.status})`);
    console.log(`pg-verify.sh -t User,payment (+ the largest table, ${Math.round((100 * source["public.payment"].rows) / rows)}% of the rows): ${verifyBig.seconds.toFixed(1)} s = ${(verifyBig.seconds / bare.seconds).toFixed(2)}x bare`);
    console.log(`logical restore speed-up vs seed route, median of rounds: ${restoreSpeedup.toFixed(2)}x (rounds ${fmt(paired(all.seedRestore, all.oursRestore))}; best of each ${(seedRestore.seconds / oursRestore.seconds).toFixed(2)}x) (target >= 1.3x) ${restoreSpeedup >= 1.3 ? "MET" : "NOT MET"}`);
    console.log(`pg_dump's own gzip -Z6 archive (the default before zstd) vs seed route, median of rounds: ${gzipSpeedup.toFixed(2)}x (rounds ${fmt(paired(all.seedRestore, all.gzipRestore))}); the default (zstd) vs it: ${zstdOverGzip.toFixed(2)}x (rounds ${fmt(paired(all.gzipRestore, all.oursRestore))})`);
    console.log(`logical restore of an uncompressed archive (-Z0) vs seed route, median of rounds: ${rawSpeedup.toFixed(2)}x (rounds ${fmt(paired(all.seedRestore, all.rawRestore))}) (target >= 1.3x) ${rawSpeedup >= 1.3 ? "MET" : "NOT MET"}`);
    console.log(`without pg-restore.sh's ANALYZE phase (as far as the seed route goes): default archive ${restoreSpeedupNoAnalyze.toFixed(2)}x (rounds ${fmt(paired(all.seedRestore, oursNoAnalyze))}), -Z0 ${rawSpeedupNoAnalyze.toFixed(2)}x (rounds ${fmt(paired(all.seedRestore, rawNoAnalyze))})`);
    console.log(`load while measuring (1/5/15-min load average at the end, ${readdirSync("/sys/devices/system/cpu").filter((d) => /^cpu\d+$/.test(d)).length} CPUs): ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
    console.log(`verification / bare restore, median of rounds: ${verifyRatio.toFixed(2)}x (rounds ${fmt(paired(all.verify, all.bare))}; best of each ${(verify.seconds / bare.seconds).toFixed(2)}x) (target <= 1.2x) ${verifyRatio <= 1.2 ? "MET" : "NOT MET"}`);
    const out = resolve(__dirname, "../../.bench");
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, "backup-logical.json"),
      `${JSON.stringify({ scale, databaseBytes: ds.bytes, rows, seedBackup, oursBackup, seedRestore, oursRestore, rawBackup, rawRestore, rawBytes, rawOk, rawSpeedup, gzipBackup, gzipRestore, gzipBytes, gzipOk, gzipSpeedup, zstdOverGzip, seedMemory, oursMemory, bare, verify, verifyBig, rounds: all, phaseRuns, seedBytes, oursBytes, seedOk, oursOk, restoreSpeedup, restoreSpeedupNoAnalyze, rawSpeedupNoAnalyze, verifyRatio }, (k, v) => (k === "stdout" ? undefined : v), 2)}\n`,
    );
    if (!seedOk || !oursOk || !rawOk || !gzipOk || report.status !== "ok") process.exitCode = 1;
  } finally {
    pg.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
