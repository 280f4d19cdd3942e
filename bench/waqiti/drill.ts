// Drill: Waqiti's backup → restore path end to end on this machine, with its measured data loss and restore time
// against the seed's objectives (RPO 1 h; Database-Only Recovery 1-2 h), and against the seed's own manual restore
// route (decrypt, gunzip, psql) in the same run. Not part of the test suite.
//   npx tsx bench/waqiti/drill.ts                         (BENCH_ROWS=1000000 transactions by default)
//   BENCH_ROWS=100000 BENCH_LOSS_WINDOW=3 npx tsx bench/waqiti/drill.ts
// What happens: a database of users, wallets and transactions, a writer inserting a transaction every 100 ms; the backup
// job's script runs (scripts/backup/waqiti-backup.sh, to the S3 stub); BENCH_LOSS_WINDOW seconds later the "disaster"
// stops the writer; the restore script (waqiti-restore.sh: download, sha256, the seed's decrypt, load, count check)
// restores the latest backup into an empty server; the seed's route restores the same object by hand for comparison.
// Data lost = the last write on the source minus the last write in the restored database. With the CronJob's schedule
// (every 30 min, 25 min deadline) the worst case is 55 min; the drill measures what one backup cycle loses here.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { longestCronGapMinutes } from "../../stacks/waqiti/plan";
import { startPostgres } from "../../test/support/postgres";
import { startRedis } from "../../test/support/redis";
import { startS3Stub } from "../../test/support/s3Stub";

const SCRIPTS = resolve(__dirname, "../../scripts/backup");
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const LOSS_WINDOW = Number(process.env.BENCH_LOSS_WINDOW ?? 5);

function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", rej);
    child.on("close", (code) => res({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000 }));
  });
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), "lazarus-waqiti-drill-"));
  const key = join(work, "backup-encryption.key");
  writeFileSync(key, randomBytes(32).toString("base64"), { mode: 0o600 });
  const [src, dst, seed, redis, s3] = await Promise.all([startPostgres(), startPostgres(), startPostgres(), startRedis({ appendonly: false }), startS3Stub({ accessKey: "AKIADRILL", secretKey: "drill" })]);
  try {
    for (const pg of [src, dst, seed]) pg.sql("CREATE DATABASE waqiti");
    console.log(`generating ${ROWS} transactions ...`);
    src.sql(
      [
        "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, created_at timestamptz DEFAULT now())",
        "CREATE TABLE wallets (id bigserial PRIMARY KEY, user_id bigint REFERENCES users, balance numeric(18,2) NOT NULL, currency text NOT NULL DEFAULT 'USD')",
        "CREATE TABLE transactions (id bigserial PRIMARY KEY, wallet_id bigint REFERENCES wallets, amount numeric(18,2), reference text, at timestamptz DEFAULT now())",
        `INSERT INTO users (email) SELECT md5(g::text) || '@example.com' FROM generate_series(1, ${Math.max(1, Math.floor(ROWS / 20))}) g`,
        "INSERT INTO wallets (user_id, balance) SELECT id, random() * 10000 FROM users",
        `INSERT INTO transactions (wallet_id, amount, reference, at) SELECT 1 + (g % (SELECT count(*) FROM wallets)), random() * 500, md5(random()::text), now() - interval '1 day' FROM generate_series(1, ${ROWS}) g`,
        "CREATE INDEX ON transactions (wallet_id)",
        "ANALYZE",
      ].join("; "),
      "waqiti",
    );
    const size = src.sql("SELECT pg_size_pretty(pg_database_size('waqiti'))");
    const env = (pg: typeof src) => ({ PATH: process.env.PATH, ...pg.env, PGDATABASE: "waqiti", REDIS_HOST: redis.host, REDIS_PORT: String(redis.port), BACKUP_KEY_FILE: key, WORK_DIR: work, S3_URL: "s3://waqiti-backups-drill/", S3_ENDPOINT: s3.endpoint, S3_NO_SSL: "1", AWS_ACCESS_KEY_ID: "AKIADRILL", AWS_SECRET_ACCESS_KEY: "drill" });

    // The application keeps writing: one transaction every 100 ms.
    const writer = spawn("bash", ["-c", "while true; do psql -X -q -d waqiti -c \"INSERT INTO transactions (wallet_id, amount, reference) VALUES (1, 1, 'live')\" || exit 1; sleep 0.1; done"], { env: { ...process.env, ...src.env } });
    await new Promise((r) => setTimeout(r, 1000));
    const backup = await runAsync(join(SCRIPTS, "waqiti-backup.sh"), [], env(src));
    if (backup.code !== 0) throw new Error(`backup failed: ${backup.stderr}`);
    await new Promise((r) => setTimeout(r, LOSS_WINDOW * 1000));
    writer.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const lastWrite = Number(src.sql("SELECT extract(epoch FROM max(at)) FROM transactions", "waqiti"));

    const ours = await runAsync(join(SCRIPTS, "waqiti-restore.sh"), ["postgres", "--backup", "latest"], env(dst));
    if (ours.code !== 0) throw new Error(`restore failed: ${ours.stderr}`);
    const restoredLast = Number(dst.sql("SELECT extract(epoch FROM max(at)) FROM transactions", "waqiti"));

    // The seed's route on the same object: download (its `aws s3 cp`, here s3cmd), openssl enc -d, gunzip, psql.
    const object = [...s3.objects.entries()].find(([k]) => k.includes("/postgresql/"))!;
    const enc = join(work, "seed.sql.gz.enc");
    writeFileSync(join(work, "s3cfg"), "");
    const seedRoute = await runAsync(
      "bash",
      [
        "-c",
        `set -e; s3cmd -c ${work}/s3cfg --no-progress --host=${s3.endpoint} --host-bucket=${s3.endpoint} --no-ssl get s3:/${object[0]} ${enc} >/dev/null 2>&1; openssl enc -aes-256-cbc -d -in ${enc} -out ${work}/waqiti-restore.sql.gz -pass file:${key} 2>/dev/null; gunzip ${work}/waqiti-restore.sql.gz; psql -X -q -d waqiti < ${work}/waqiti-restore.sql > /dev/null`,
      ],
      { ...process.env, ...seed.env, AWS_ACCESS_KEY_ID: "AKIADRILL", AWS_SECRET_ACCESS_KEY: "drill" },
    );
    if (seedRoute.code !== 0) throw new Error(`seed route failed: ${seedRoute.stderr}`);

    const lossSeconds = lastWrite - restoredLast;
    const worstMinutes = (longestCronGapMinutes("*/30 * * * *") ?? 0) + 25;
    const line = (a: string, b: string, c: string) => console.log(`| ${a} | ${b} | ${c} |`);
    console.log(`\ndatabase ${size}, ${ROWS} transactions; backup object ${(object[1].length / 1048576).toFixed(1)} MB\n`);
    line("measure", "drill", "seed objective");
    line("---", "---", "---");
    line("backup (dump, encrypt, upload, manifest)", `${backup.seconds.toFixed(1)} s`, "");
    line("data lost (last source write − last restored write)", `${lossSeconds.toFixed(1)} s (writes during the backup and the ${LOSS_WINDOW} s after it)`, `RPO 1 h; schedule worst case ${worstMinutes} min`);
    line("restore, ours (download, sha256, decrypt, load in one transaction, counts)", `${ours.seconds.toFixed(1)} s`, "Database-Only Recovery 1-2 h");
    line("restore, the seed's route (download, decrypt, gunzip, psql)", `${seedRoute.seconds.toFixed(1)} s`, "");
    console.log(`\nratio ours / seed route: ${(ours.seconds / seedRoute.seconds).toFixed(2)}x (the checks' cost); restore against the 1 h lower RTO bound: ${((ours.seconds / 3600) * 100).toFixed(2)}%`);
  } finally {
    for (const s of [src, dst, seed]) s.destroy();
    redis.destroy();
    await s3.close();
    rmSync(work, { recursive: true, force: true });
  }
}

void main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
