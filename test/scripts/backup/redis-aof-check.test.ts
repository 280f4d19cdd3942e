// redis-aof-check.sh against AOFs written by a real Redis 7 (multi-part: appendonlydir/ + manifest) and a
// single-file AOF as Redis < 7 writes it: check, refuse without --fix, fix after a verified copy, and prove the
// fixed AOF loads in a real server.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../../support/redis";
import { scriptRun } from "../../support/scriptRun";

const SCRIPT = resolve(__dirname, "../../../scripts/backup/redis-aof-check.sh");

function run(args: string[]) {
  const r = spawnSync("bash", [SCRIPT, ...args], { encoding: "utf8" });
  return scriptRun(r);
}

const sha = (p: string) => spawnSync("sha256sum", [p], { encoding: "utf8" }).stdout.split(" ")[0];

describe("redis-aof-check.sh (real Redis 7 AOF)", () => {
  let redis: RedisServer;
  let work: string;
  let aofDir: string;
  let incr: string;

  beforeAll(async () => {
    redis = await startRedis();
    work = mkdtempSync(join(tmpdir(), "lazarus-aof-"));
    aofDir = join(redis.dir, "appendonlydir");
    for (let i = 1; i <= 50; i++) redis.cli("SET", `order:${i}`, `paid-${i}`);
    redis.stop(); // the AOF is flushed; Redis holds it no more
    incr = join(aofDir, readdirSync(aofDir).find((f) => f.endsWith(".incr.aof"))!);
  });
  afterAll(() => {
    redis?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("is shellcheck-clean and has a usage line", () => {
    const r = spawnSync("shellcheck", ["-x", SCRIPT], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(run(["--help"]).stdout).toMatch(/^usage: redis-aof-check\.sh/);
    expect(run([]).code).toBe(64);
  });

  it("finds a valid multi-part AOF from the data dir, the AOF dir, the manifest, or GoodGo's /data/appendonly.aof path", () => {
    for (const p of [redis.dir, aofDir, join(aofDir, "appendonly.aof.manifest"), join(redis.dir, "appendonly.aof")]) {
      const r = run([p]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.result).toMatchObject({ status: "ok", valid: true, fixed: false, aof: join(aofDir, "appendonly.aof.manifest") });
    }
  });

  it("says when there is no AOF", () => {
    const r = run([join(work, "nothing-here")]);
    expect(r.code).toBe(66);
    expect(r.result.error).toMatch(/no AOF found at .*nothing-here/);
  });

  it("reports a damaged AOF without changing it, then --fix copies it first, truncates it, and Redis loads it", () => {
    const size = statSync(incr).size;
    truncateSync(incr, size - 7); // the tail of the last SET is cut, as a crash mid-write leaves it
    const damagedSum = sha(incr);

    const check = run([redis.dir]);
    expect(check.code).toBe(65);
    expect(check.result.valid).toBe(false);
    expect(check.result.error).toMatch(/AOF is damaged: .*not valid.*run again with --fix/);
    expect(sha(incr)).toBe(damagedSum);

    const backupDir = join(work, "aof-backups");
    const fix = run(["--fix", "--backup-dir", backupDir, redis.dir]);
    expect(fix.code, fix.stderr).toBe(0);
    expect(fix.result).toMatchObject({ status: "ok", valid: true, fixed: true });
    expect(fix.result.bytes_dropped).toBeGreaterThan(0);
    // the copy taken before the fix is the damaged original, byte for byte
    const copy = join(String(fix.result.backup), "appendonlydir", incr.split("/").pop()!);
    expect(existsSync(copy)).toBe(true);
    expect(sha(copy)).toBe(damagedSum);
    expect(statSync(incr).size).toBe(size - 7 - Number(fix.result.bytes_dropped));

    redis.start();
    expect(redis.cli("GET", "order:1")).toBe("paid-1");
    expect(redis.cli("GET", "order:49")).toBe("paid-49");
    expect(redis.cli("EXISTS", "order:50")).toBe("0"); // the cut command is gone, as the runbook's fix implies
    redis.stop();
  });

  it("cannot fix a damaged base file and says so, keeping the copy", () => {
    const base = join(aofDir, readdirSync(aofDir).find((f) => f.includes(".base."))!);
    const bytes = readFileSync(base);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(base, bytes);
    const r = run(["--fix", "--backup-dir", join(work, "b2"), aofDir]);
    expect(r.code).toBe(65);
    expect(r.result.error).toMatch(/AOF could not be fixed by truncation: .*restore from a backup/);
    expect(existsSync(String(r.result.backup))).toBe(true);
  });

  it("checks and fixes a single-file AOF (Redis < 7 layout)", () => {
    const file = join(work, "appendonly.aof");
    const cmd = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join("")}`;
    const good = cmd("SELECT", "0") + cmd("SET", "a", "1") + cmd("SET", "b", "2");
    writeFileSync(file, good + cmd("SET", "c", "3").slice(0, 12));
    const check = run([file]);
    expect(check.code).toBe(65);
    const fix = run(["--fix", file]);
    expect(fix.code, fix.stderr).toBe(0);
    expect(fix.result.fixed).toBe(true);
    expect(readFileSync(file, "utf8")).toBe(good);
    expect(readFileSync(join(String(fix.result.backup), "appendonly.aof"), "utf8")).toBe(good + cmd("SET", "c", "3").slice(0, 12));
  });
});
