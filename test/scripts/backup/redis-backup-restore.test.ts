// redis-backup.sh and redis-restore.sh against real Redis 7 servers (AOF on, as GoodGo runs it, and AOF off):
// a backup of a dataset with every value type, TTLs and several databases is restored over changed data and the
// content digest matches; every bad backup is refused before the server is touched.
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../../support/redis";
import { scriptRun, type ScriptRun as Run } from "../../support/scriptRun";

const SCRIPTS = resolve(__dirname, "../../../scripts/backup");
const BACKUP = join(SCRIPTS, "redis-backup.sh");
const RESTORE = join(SCRIPTS, "redis-restore.sh");


function run(script: string, args: string[], env: NodeJS.ProcessEnv): Run {
  const r = spawnSync("bash", [script, ...args], { env: { ...process.env, ...env }, encoding: "utf8" });
  return scriptRun(r);
}

// A digest of the whole dataset's content (every db, every type, TTL presence), computed inside Redis.
const DIGEST_LUA = `
local out = {}
for db = 0, 3 do
  redis.call('SELECT', db)
  local keys = {}
  local cur = '0'
  repeat
    local r = redis.call('SCAN', cur, 'COUNT', 1000)
    cur = r[1]
    for _, k in ipairs(r[2]) do keys[#keys + 1] = k end
  until cur == '0'
  table.sort(keys)
  for _, k in ipairs(keys) do
    local t = redis.call('TYPE', k)['ok']
    local v
    if t == 'string' then v = redis.call('GET', k)
    elseif t == 'hash' then local h = redis.call('HGETALL', k); local p = {}
      for i = 1, #h, 2 do p[#p + 1] = h[i] .. '=' .. h[i + 1] end; table.sort(p); v = table.concat(p, ',')
    elseif t == 'list' then v = table.concat(redis.call('LRANGE', k, 0, -1), ',')
    elseif t == 'set' then local s = redis.call('SMEMBERS', k); table.sort(s); v = table.concat(s, ',')
    elseif t == 'zset' then v = table.concat(redis.call('ZRANGE', k, 0, -1, 'WITHSCORES'), ',')
    elseif t == 'stream' then v = tostring(redis.call('XLEN', k))
    else v = '?' end
    local ttl = redis.call('TTL', k)
    out[#out + 1] = db .. '|' .. k .. '|' .. t .. '|' .. v .. '|' .. (ttl > 0 and 'ttl' or 'persist')
  end
end
redis.call('SELECT', 0)
return redis.sha1hex(table.concat(out, '\\n'))
`;

function digest(r: RedisServer): string {
  return r.cli("EVAL", DIGEST_LUA, "0");
}

function populate(r: RedisServer, n: number): void {
  r.cli("EVAL", "for i=1,tonumber(ARGV[1]) do redis.call('SET','user:'..i, 'name-'..i..'-'..string.rep('x', i % 50)) end", "0", String(n));
  r.cli("EVAL", "for i=1,200 do redis.call('HSET','session:'..i, 'uid', i, 'ip', '10.0.0.'..(i%250)) end", "0");
  r.cli("EVAL", "for i=1,100 do redis.call('RPUSH','queue:jobs', 'job-'..i) end", "0");
  r.cli("EVAL", "for i=1,100 do redis.call('SADD','tags', 'tag-'..i) ; redis.call('ZADD','rank', i * 1.5, 'player-'..i) end", "0");
  r.cli("XADD", "events", "*", "kind", "login", "uid", "7");
  r.cli("SET", "otp:12345", "999111", "EX", "3600");
  r.cli("SELECT", "0");
  r.cli("-n", "1", "SET", "bull:queue:meta", "v1");
  r.cli("-n", "2", "HSET", "cache:geo", "lat", "6.45", "lon", "3.39");
}

function sha256File(p: string): string {
  return spawnSync("sha256sum", [p], { encoding: "utf8" }).stdout.split(" ")[0];
}

describe("Redis backup and restore scripts (real redis-server 7)", () => {
  let redis: RedisServer;
  let plain: RedisServer;
  let work: string;
  let out: string;
  let backupFile = "";
  let backupDigest = "";
  let backupKeys = 0;
  let latestDigest = "";
  let latestKeys = 0;

  beforeAll(async () => {
    // protected configs on, so a test can point `dir` at a vanished directory to make BGSAVE fail
    redis = await startRedis({ password: "s3cret-test-only", extraConf: ["enable-protected-configs yes"] });
    plain = await startRedis({ appendonly: false });
    work = mkdtempSync(join(tmpdir(), "lazarus-redis-bk-"));
    out = join(work, "backups");
    populate(redis, 20_000);
    backupDigest = digest(redis);
    backupKeys = redis.keyCount();
  });
  afterAll(() => {
    redis?.destroy();
    plain?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("is shellcheck-clean", () => {
    const r = spawnSync("shellcheck", ["-x", BACKUP, RESTORE], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("prints a usage line on --help and exits 64 on bad arguments", () => {
    for (const s of [BACKUP, RESTORE]) {
      const h = run(s, ["--help"], {});
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/^usage: /);
      const bad = run(s, ["--bogus"], {});
      expect(bad.code).toBe(64);
      expect(bad.result.error).toMatch(/unknown (argument|option): --bogus/);
    }
    expect(run(BACKUP, [], {}).result.error).toMatch(/--out-dir .* is required/);
    expect(run(RESTORE, ["x.rdb"], {}).result.error).toMatch(/--start-cmd is required/);
  });

  it("backs up with BGSAVE: dated file, sha256 sidecar, latest pointer, key count, no password in argv", () => {
    const r = run(BACKUP, ["--out-dir", out], redis.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result.status).toBe("ok");
    backupFile = String(r.result.file);
    expect(basename(backupFile)).toMatch(/^redis_\d{8}T\d{6}Z(-\d+)?\.rdb$/);
    expect(r.result.keys).toBe(backupKeys);
    expect(r.result.expires).toBe(1);
    expect(r.result.sha256).toBe(sha256File(backupFile));
    expect(r.result.rdb_source).toBe(join(redis.dir, "dump.rdb"));
    // the sidecar verifies with the standard tool
    const c = spawnSync("sha256sum", ["-c", `${basename(backupFile)}.sha256`], { cwd: out, encoding: "utf8" });
    expect(c.status, c.stdout + c.stderr).toBe(0);
    expect(readlinkSync(join(out, "redis_latest.rdb"))).toBe(basename(backupFile));
    // no temporary files left behind
    expect(readdirSync(out).filter((f) => f.startsWith("."))).toEqual([]);
    expect(r.stderr).not.toContain("s3cret-test-only");
  });

  it("a second backup in a row takes a fresh snapshot and moves latest; retention deletes only old files", () => {
    // Old backups from "10 days ago" and a file outside the prefix.
    for (const n of ["redis_20200101T000000Z.rdb", "redis_20200102T000000Z.rdb"]) {
      writeFileSync(join(out, n), "old");
      writeFileSync(join(out, `${n}.sha256`), "x");
      const t = new Date(Date.now() - 10 * 86400_000);
      utimesSync(join(out, n), t, t);
    }
    writeFileSync(join(out, "unrelated.txt"), "keep me");
    redis.cli("SET", "after-first-backup", "1");
    latestDigest = digest(redis);
    latestKeys = redis.keyCount();
    const r = run(BACKUP, ["--out-dir", out, "--retention-days", "7"], redis.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result.keys).toBe(backupKeys + 1);
    expect(String(r.result.file)).not.toBe(backupFile);
    expect(readlinkSync(join(out, "redis_latest.rdb"))).toBe(basename(String(r.result.file)));
    expect((r.result.deleted as string[]).sort()).toEqual(["redis_20200101T000000Z.rdb", "redis_20200102T000000Z.rdb"]);
    const left = readdirSync(out);
    expect(left).not.toContain("redis_20200101T000000Z.rdb.sha256");
    expect(left).toContain("unrelated.txt");
    expect(left).toContain(basename(backupFile)); // younger than the retention: kept
  });

  it("backup failures say what is wrong: unreachable server, wrong password, missing RDB, failing BGSAVE, unwritable output", () => {
    const filesBefore = readdirSync(out).sort();
    const down = run(BACKUP, ["--out-dir", out], { REDIS_HOST: "127.0.0.1", REDIS_PORT: "1" });
    expect(down.code).toBe(69);
    expect(down.result.error).toMatch(/cannot reach Redis at 127\.0\.0\.1:1/);

    const noauth = run(BACKUP, ["--out-dir", out], { ...redis.env, REDISCLI_AUTH: "wrong" });
    expect(noauth.code).toBe(69);
    expect(noauth.result.error).toMatch(/cannot reach Redis .*(WRONGPASS|NOAUTH|invalid)/i);

    const missing = run(BACKUP, ["--out-dir", out, "--rdb-path", join(work, "nope", "dump.rdb")], redis.env);
    expect(missing.code).toBe(66);
    expect(missing.result.error).toMatch(/RDB file not found at .*nope\/dump\.rdb/);

    const badOut = run(BACKUP, ["--out-dir", "/etc/passwd/sub"], redis.env);
    expect(badOut.code).toBe(73);
    expect(badOut.result.error).toMatch(/cannot create output directory/);

    // BGSAVE fails when Redis cannot write its dir: point dir at a directory, then remove it.
    const gone = mkdtempSync(join(work, "gone-"));
    redis.cli("CONFIG", "SET", "dir", gone);
    rmSync(gone, { recursive: true });
    try {
      // (CONFIG GET dir cannot answer while the dir is gone, so the RDB path is given)
      const failing = run(BACKUP, ["--out-dir", out, "--timeout", "30", "--rdb-path", join(redis.dir, "dump.rdb")], redis.env);
      expect(failing.code, JSON.stringify(failing.result)).toBe(75);
      expect(failing.result.error).toMatch(/BGSAVE failed \(rdb_last_bgsave_status:err\)/);
    } finally {
      redis.cli("CONFIG", "SET", "dir", redis.dir);
    }
    // nothing new (no partial file, no moved latest) after any of the failures
    expect(readdirSync(out).sort()).toEqual(filesBefore);
  });

  it("refuses bad backups before touching the server: missing, no sidecar, flipped byte, corrupt RDB, empty, truncated", () => {
    const liveDigest = digest(redis);
    const restoreArgs = ["--start-cmd", redis.startCommand];
    const expectRefused = (file: string, code: number, msg: RegExp, extra: string[] = []) => {
      const r = run(RESTORE, [...restoreArgs, ...extra, file], redis.env);
      expect(r.code, r.stderr).toBe(code);
      expect(r.result.status).toBe("error");
      expect(String(r.result.error)).toMatch(msg);
      expect(redis.isRunning()).toBe(true);
      expect(digest(redis)).toBe(liveDigest);
    };
    expectRefused(join(work, "missing.rdb"), 66, /backup file not found: .*missing\.rdb/);

    // a server that answers but refuses our password is not treated as stopped, even with --data-dir given
    const wrongAuth = run(RESTORE, [...restoreArgs, "--data-dir", redis.dir, "--aof", "yes", backupFile], { ...redis.env, REDISCLI_AUTH: "wrong" });
    expect(wrongAuth.code).toBe(69);
    expect(wrongAuth.result.error).toMatch(/answers but not to us: .*(WRONGPASS|NOAUTH).*check REDISCLI_AUTH/);
    expect(digest(redis)).toBe(liveDigest);

    const noSidecar = join(work, "nosidecar.rdb");
    copyFileSync(backupFile, noSidecar);
    expectRefused(noSidecar, 66, /checksum sidecar not found: .*nosidecar\.rdb\.sha256/);

    const flipped = join(work, "flipped.rdb");
    const bytes = readFileSync(backupFile);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(flipped, bytes);
    copyFileSync(`${backupFile}.sha256`, `${flipped}.sha256`);
    expectRefused(flipped, 65, /checksum mismatch for .*flipped\.rdb: file has sha256 [0-9a-f]{64}, sidecar says [0-9a-f]{64}/);

    // A corrupt file whose sidecar matches (corrupted before it was checksummed): redis-check-rdb catches it.
    const corrupt = join(work, "corrupt.rdb");
    writeFileSync(corrupt, bytes);
    writeFileSync(`${corrupt}.sha256`, `${sha256File(corrupt)}  corrupt.rdb\n`);
    expectRefused(corrupt, 65, /fails redis-check-rdb/);

    const empty = join(work, "empty.rdb");
    writeFileSync(empty, "");
    writeFileSync(`${empty}.sha256`, `${sha256File(empty)}  empty.rdb\n`);
    expectRefused(empty, 65, /backup file is empty/);

    const truncated = join(work, "truncated.rdb");
    writeFileSync(truncated, readFileSync(backupFile).subarray(0, Math.floor(statSync(backupFile).size * 0.6)));
    expectRefused(truncated, 65, /fails redis-check-rdb/, ["--no-checksum"]);
  });

  it("restores over changed data with AOF on: the backup is what loads, survives a restart, old data kept aside", () => {
    redis.cli("FLUSHALL");
    redis.cli("SET", "written-after-backup", "should disappear");
    expect(digest(redis)).not.toBe(latestDigest);

    const r = run(RESTORE, ["--start-cmd", redis.startCommand, join(out, "redis_latest.rdb")], redis.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result.status).toBe("ok");
    expect(r.result.expected_keys).toBe(latestKeys);
    expect(r.result.actual_keys).toBe(latestKeys);
    expect(r.result.aof).toBe("yes");
    expect(digest(redis)).toBe(latestDigest);
    expect(redis.cli("INFO", "persistence")).toMatch(/aof_enabled:1/);

    // The previous dump and AOF are kept for rollback.
    const aside = String(r.result.aside_dir);
    expect(existsSync(join(aside, "appendonlydir"))).toBe(true);
    // The new AOF's base is the backup itself.
    const manifest = readFileSync(join(redis.dir, "appendonlydir", "appendonly.aof.manifest"), "utf8");
    expect(manifest).toMatch(/^file appendonly\.aof\.1\.base\.rdb seq 1 type b$/m);

    // A write after the restore goes to the new AOF and survives a restart (AOF, not just dump.rdb, is right).
    redis.cli("SET", "after-restore", "kept");
    redis.stop();
    rmSync(join(redis.dir, "dump.rdb"));
    redis.start();
    expect(redis.cli("GET", "after-restore")).toBe("kept");
    redis.cli("DEL", "after-restore");
    expect(digest(redis)).toBe(latestDigest);
  });

  it("fails with a key count mismatch when the started server does not hold the backup's keys", () => {
    const start = `${redis.startCommand} && sleep 0.5 && redis-cli -h 127.0.0.1 -p ${redis.port} --no-auth-warning SET extra-key 1 >/dev/null`;
    const r = run(RESTORE, ["--start-cmd", start, backupFile], redis.env);
    expect(r.code).toBe(65);
    expect(r.result.error).toBe(`key count mismatch: expected ${backupKeys}, found ${backupKeys + 1}`);
    expect(r.result.aside_dir).toBeTruthy();
    redis.cli("DEL", "extra-key");
  });

  it("restores into a stopped server with AOF off given --data-dir and --aof no", () => {
    plain.cli("SET", "plain-old", "1");
    plain.stop();
    const noLayout = run(RESTORE, ["--start-cmd", plain.startCommand, backupFile], plain.env);
    expect(noLayout.code).toBe(69);
    expect(noLayout.result.error).toMatch(/is not answering; give --data-dir and --aof/);

    const r = run(RESTORE, ["--start-cmd", plain.startCommand, "--data-dir", plain.dir, "--aof", "no", backupFile], plain.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result.actual_keys).toBe(backupKeys);
    expect(digest(plain)).toBe(backupDigest);
    expect(existsSync(join(plain.dir, "appendonlydir"))).toBe(false);
  });

  it("backs up as a least-privilege ACL user (REDIS_USER), which cannot read the data", () => {
    redis.cli("ACL", "SETUSER", "backup", "on", ">backup-test-only", "+bgsave", "+info", "+config|get", "+lastsave", "+ping");
    const env = { ...redis.env, REDIS_USER: "backup", REDISCLI_AUTH: "backup-test-only" };
    const probe = spawnSync("redis-cli", ["-h", redis.host, "-p", String(redis.port), "--user", "backup", "--no-auth-warning", "GET", "otp:12345"], {
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
    expect(probe.stdout).toMatch(/NOPERM/);
    const r = run(BACKUP, ["--out-dir", join(work, "acl-backups")], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result.keys).toBe(redis.keyCount());
  });

  it("reports a start command that fails, keeping the previous data aside", () => {
    const r = run(RESTORE, ["--start-cmd", "false", "--timeout", "20", backupFile], plain.env);
    expect(r.code).toBe(69);
    expect(r.result.error).toMatch(/start command failed: false \(previous data kept in .*pre-restore-/);
    plain.start();
    expect(plain.keyCount()).toBe(backupKeys);
  });
});
