// Section 3.2's Redis, checked by the real redis-server on loopback: it starts from the rendered redis.conf and ACL
// file, CONFIG GET reports 512 MB maxmemory, allkeys-lru, appendonly yes, appendfsync everysec and the data dir, the AOF
// is really written there, and the password (only in the ACL file, as a hash) is demanded.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/ports";
import { renderRedisAcl, renderRedisConf, type RedisSettings } from "../../renderers/redisConf";
import { goodgoRedisSettings } from "../../stacks/goodgo/serviceSettings";
import { RenderInputError } from "../../renderers/renderInputError";

const PASSWORD = `test-only redis pw ${process.pid}`;

describe("redis.conf as section 3.2 configures it, run by the real redis-server", () => {
  let dir: string;
  let port: number;
  let child: ChildProcess | undefined;
  let conf: string;
  let acl: string;
  let out = "";

  const cli = (args: string[], auth = true) =>
    spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", ...args], {
      env: { PATH: process.env.PATH, ...(auth ? { REDISCLI_AUTH: PASSWORD } : {}) },
      encoding: "utf8",
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lazarus-redisconf-"));
    mkdirSync(join(dir, "data"));
    port = await freePort();
    const settings: RedisSettings = { ...goodgoRedisSettings(), bind: ["127.0.0.1"], port, dir: join(dir, "data"), aclfile: join(dir, "users.acl") };
    conf = renderRedisConf(settings);
    acl = renderRedisAcl([{ name: "default", password: PASSWORD }]);
    writeFileSync(join(dir, "redis.conf"), conf, { mode: 0o600 });
    writeFileSync(join(dir, "users.acl"), acl, { mode: 0o600 });
    child = spawn("redis-server", [join(dir, "redis.conf")], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      if (cli(["PING"]).stdout.trim() === "PONG") return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`redis-server did not start:\n${out}`);
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = (k: string) => {
    const r = cli(["CONFIG", "GET", k]);
    expect(r.status, r.stderr).toBe(0);
    const [name, value] = r.stdout.split("\n");
    expect(name).toBe(k);
    return value;
  };

  it("CONFIG GET reports 512 MB maxmemory, allkeys-lru, appendonly yes, appendfsync everysec and the data dir", () => {
    expect(get("maxmemory")).toBe(String(512 * 1024 * 1024));
    expect(get("maxmemory-policy")).toBe("allkeys-lru");
    expect(get("appendonly")).toBe("yes");
    expect(get("appendfsync")).toBe("everysec");
    expect(get("dir")).toBe(join(dir, "data"));
    expect(get("save")).toBe("");
  });

  it("demands the password from the ACL file: without it NOAUTH, with it the commands run", () => {
    const anon = cli(["GET", "x"], false);
    expect(`${anon.stdout}${anon.stderr}`).toMatch(/NOAUTH|Authentication required/);
    expect(cli(["SET", "k", "v"]).stdout.trim()).toBe("OK");
    expect(cli(["GET", "k"]).stdout.trim()).toBe("v");
  });

  it("writes the AOF into the data dir", async () => {
    for (let i = 0; i < 20; i++) cli(["SET", `aof-${i}`, String(i)]);
    const aofDir = join(dir, "data", "appendonlydir");
    for (let i = 0; i < 50 && !(existsSync(aofDir) && readdirSync(aofDir).some((f) => f.endsWith(".incr.aof"))); i++) await new Promise((r) => setTimeout(r, 100));
    const files = readdirSync(aofDir);
    const incr = files.find((f) => f.endsWith(".incr.aof"))!;
    expect(incr).toBeDefined();
    // appendfsync everysec: the writes reach the file within about a second.
    let text = "";
    for (let i = 0; i < 30 && !text.includes("aof-19"); i++) {
      text = readFileSync(join(aofDir, incr), "utf8");
      if (!text.includes("aof-19")) await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toContain("aof-19");
  });

  it("neither file holds the password in clear; redis.conf has no requirepass", () => {
    expect(conf).not.toContain(PASSWORD);
    expect(acl).not.toContain(PASSWORD);
    expect(conf).not.toMatch(/^\s*requirepass/m);
    expect(conf).toMatch(/^aclfile \//m);
    expect(acl).toMatch(/^user default on #[0-9a-f]{64} ~\* &\* \+@all$/m);
  });

  it("bad settings fail naming the field; a password setting is refused with where it belongs", () => {
    const base = goodgoRedisSettings();
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ maxmemoryPolicy: "lru" }, /maxmemoryPolicy: must be one of/],
      [{ appendfsync: "sometimes" }, /appendfsync/],
      [{ maxmemoryMb: 0 }, /maxmemoryMb/],
      [{ dir: "data" }, /dir: must be an absolute path/],
      [{ bind: [] }, /bind/],
      [{ requirepass: "x" }, /requirepass: passwords never go into redis\.conf/],
      [{ save: ["hourly"] }, /save\[0\]/],
    ];
    for (const [patch, re] of bad) {
      expect(() => renderRedisConf({ ...base, ...patch } as RedisSettings), JSON.stringify(patch)).toThrow(RenderInputError);
      expect(() => renderRedisConf({ ...base, ...patch } as RedisSettings), JSON.stringify(patch)).toThrow(expect.objectContaining({ renderer: "redis" }));
      expect(() => renderRedisConf({ ...base, ...patch } as RedisSettings), JSON.stringify(patch)).toThrow(re);
    }
    expect(() => renderRedisAcl([{ name: "app", password: "x" }])).toThrow(/default/);
    expect(() => renderRedisAcl([{ name: "default", password: "" }])).toThrow(/users\[0\]\.password/);
  });
});
