// The real program under the real engine: GoodGo on an existing server (test/engine/goodgoStack.ts: the loopback sshd
// of test/support/planOverSsh.ts, in a private mount namespace, with fake-docker standing in for Docker), `pulumi up`
// after `pulumi up` through lib/engine/driver.ts with the real command provider (@pulumi/command 1.2.1's plugin).
// Issue 9, step 3: what the mock runtime could not show (ids, diffs, updates, what re-runs, what state records).
//
// Real here: the engine, the provider's SSH sessions and SFTP copy, sshd, bash, every script as shipped, the docker CLI
// (talking to an engine stand-in), PostgreSQL 15 and Redis for the recovery switch (`docker compose exec` goes to
// test/support/fake-docker-exec, which refuses what Docker would and runs the command against them with the container's
// environment). Not real: containers (fake-docker keeps their state in a file; restarts and `up` are recorded calls),
// so what a container does with a rewritten file is the host model's question (test/support/hostModel.ts), not this one.
// Not run: migrations (`recovery.database.migrate: false`): they need the application image's prisma.
import { spawnSync } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { changeCount, engineErrors, type EngineEvent, type OperationResult } from "../../lib/engine/driver";
import { GOODGO_SECRET_MOUNTS } from "../../stacks/goodgo/services";
import { startPlanHost, type DockerCall, type PlanHost } from "../support/planOverSsh";
import { startPostgres, type PostgresServer } from "../support/postgres";
import { startRedis, type RedisServer } from "../support/redis";
import { GOODGO_SENTINEL_SECRETS } from "../support/stacks";
import { engineGate } from "./engineGate";
import { GOODGO_PREFIX as PREFIX, GOODGO_SANDBOXED, goodgoOnHostConfig, goodgoSecrets, openGoodgoStack, writeGoodgoComposeExec, type GoodgoEngineStack } from "./goodgoStack";

const gate = engineGate({ command: true });
const REPO = resolve(__dirname, "../..");
const ROTATED = "rotated-grafana-password-6f1e9a2c";

/** One file on the host as the test sees it. */
interface FileFacts {
  ino: number;
  mtimeMs: number;
  mode: string;
  owner: string;
}

if (gate.mustFail) {
  describe("engine: GoodGo on an existing host", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)(`engine: GoodGo on an existing host, real program, real command provider${gate.reason ? ` (${gate.reason})` : ""}`, () => {
    let host: PlanHost;
    let pg: PostgresServer;
    let redis: RedisServer;
    let side: string;
    let deployDir: string;
    let backupsDir: string;
    let goodgo: GoodgoEngineStack;
    const events: EngineEvent[] = [];
    const outputs: string[] = [];
    const onEvent = (e: EngineEvent) => events.push(e);
    /** The GoodGo block's changes applied so far (each test adds to them, as an operator edits the stack file). */
    const changes: ((g: Record<string, any>) => void)[] = [];

    const configure = (change?: (g: Record<string, any>) => void) => {
      if (change) changes.push(change);
      goodgo.writeConfig(goodgoOnHostConfig(host.ssh, deployDir, (g) => changes.forEach((c) => c(g))));
    };
    const up = async (): Promise<OperationResult> => {
      const r = await goodgo.stack.up({ onEvent });
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    /** An up expected to fail: the engine's error messages. */
    const failingUp = async (): Promise<string> => {
      const before = events.length;
      const e = await goodgo.stack.up({ onEvent }).then(
        () => undefined,
        (err: Error) => err,
      );
      expect(e, "the up should fail").toBeInstanceOf(Error);
      outputs.push(e!.message);
      return [...engineErrors(events.slice(before)), e!.message].join("\n");
    };
    const writerName = (rel: string) => `${PREFIX}-software-file${join(deployDir, rel).replace(/[^A-Za-z0-9]+/g, "-")}`;
    /** The changing steps as "op name"; a replacement counts once, as "replace" (its create and delete halves dropped). */
    const changed = (r: OperationResult) =>
      r.steps
        .filter((s) => !["same", "create-replacement", "delete-replaced"].includes(s.op))
        .map((s) => `${s.op} ${s.urn.split("::").pop()}`)
        .sort();
    const files = (): Record<string, FileFacts> => {
      const out: Record<string, FileFacts> = {};
      const walk = (d: string) => {
        for (const name of readdirSync(d)) {
          const p = join(d, name);
          const rel = relative(deployDir, p);
          if (rel === ".lazarus") continue; // compose-up.sh's own records
          const s = lstatSync(p);
          if (s.isDirectory()) walk(p);
          // A link counts by its target: prepare re-makes compose.yaml's (ln -sfn) whenever it runs.
          else if (s.isSymbolicLink()) out[rel] = { ino: 0, mtimeMs: 0, mode: `-> ${readlinkSync(p)}`, owner: "" };
          else out[rel] = { ino: s.ino, mtimeMs: s.mtimeMs, mode: (s.mode & 0o777).toString(8).padStart(4, "0"), owner: `${s.uid}:${s.gid}` };
        }
      };
      walk(deployDir);
      return out;
    };
    const rewritten = (before: Record<string, FileFacts>, after: Record<string, FileFacts>) =>
      Object.keys(after).filter((k) => !before[k] || before[k].ino !== after[k].ino || before[k].mtimeMs !== after[k].mtimeMs).sort();
    let callsSeen = 0;
    /** docker calls since the last look, as "verb args" (compose's global options dropped). */
    const newDockerCalls = (): string[] => {
      const all = host.dockerCalls();
      const fresh = all.slice(callsSeen);
      callsSeen = all.length;
      return fresh
        .filter((c: DockerCall) => c.args[0] === "compose" && c.args[1] === "-p")
        .map((c: DockerCall) => c.args.slice(3).join(" "))
        .filter((c) => c !== "config --services" && !c.startsWith("ps "));
    };
    const setFlags = (service: string, flags: string) => {
      const file = join(host.dockerHome, "state.txt");
      const rows = readFileSync(file, "utf8").split("\n").filter(Boolean).map((r) => r.split("|"));
      const row = rows.find((r) => r[0] === service);
      if (!row) throw new Error(`no container ${service} in fake-docker's state`);
      row[3] = flags;
      writeFileSync(file, rows.map((r) => `${r.join("|")}\n`).join(""));
    };

    beforeAll(async () => {
      side = mkdtempSync(join(tmpdir(), "lazarus-engine-goodgo-"));
      chmodSync(side, 0o755);
      backupsDir = join(side, "backups");
      mkdirSync(backupsDir);
      pg = await startPostgres();
      redis = await startRedis({ password: GOODGO_SENTINEL_SECRETS["lazarus:goodgoRedisPassword"] });
      // `docker compose exec` as the container would run it (fake-docker-exec): pointed at the real servers, with the
      // secret files at the host paths the compose file mounts them from, /backups mapped to a temp dir.
      const composeExec = join(side, "compose-exec");
      host = await startPlanHost({ sandboxed: GOODGO_SANDBOXED, composeExec });
      deployDir = join(host.root, "srv", "goodgo");
      writeGoodgoComposeExec({ side, composeExec, host, deployDir, pg, redis, backupsDir });
      goodgo = await openGoodgoStack(goodgoOnHostConfig(host.ssh, deployDir), goodgoSecrets(readFileSync(host.ssh.keyFile, "utf8")));
      configure((g) => (g.operations = [{ id: "restart-api", action: "restart-service", service: "api" }]));
    }, 300_000);

    afterAll(async () => {
      await host?.stop();
      pg?.destroy();
      redis?.destroy();
      goodgo?.remove();
      if (side) rmSync(side, { recursive: true, force: true });
    });

    it("first up from empty state: every file with its mode and owner, compose up once, the operation run", async () => {
      const r = await up();
      expect(r.summary.create).toBeGreaterThan(40);
      expect(changeCount(r.summary)).toBe(r.summary.create);
      const f = files();
      expect(f[".env"]).toMatchObject({ mode: "0600", owner: "0:0" });
      expect(f["docker-compose.prod.yml"]).toMatchObject({ mode: "0644", owner: "0:0" });
      expect(f[GOODGO_SECRET_MOUNTS.grafanaAdminPassword.host]).toMatchObject({ mode: "0600", owner: "472:0" });
      expect(f["redis/users.acl"]).toMatchObject({ mode: "0600", owner: "999:1000" });
      expect(f["pgbouncer/userlist.txt"]).toMatchObject({ mode: "0600", owner: "70:70" });
      expect(readFileSync(join(deployDir, ".env"), "utf8")).toContain(`DB_PASSWORD=${GOODGO_SENTINEL_SECRETS["lazarus:goodgoDbPassword"]}`);
      expect(readFileSync(join(host.seen("/opt/lazarus/scripts"), "ops/compose-up.sh"), "utf8")).toBe(readFileSync(join(REPO, "scripts/ops/compose-up.sh"), "utf8"));
      const calls = newDockerCalls();
      expect(calls.filter((c) => c.startsWith("up "))).toEqual(["up -d --wait --wait-timeout 300 --remove-orphans"]);
      expect(calls.filter((c) => c.startsWith("restart"))).toEqual(["restart -t 30 api"]);
      const composeFile = readFileSync(join(deployDir, "docker-compose.prod.yml"), "utf8");
      const services = Object.keys((parse(composeFile) as { services: Record<string, unknown> }).services);
      expect(Object.keys(host.containers()).sort()).toEqual(services.sort());
    });

    it("a second up with nothing changed: no create, update, replace or delete, and nothing on the host touched", async () => {
      const before = files();
      const r = await up();
      expect(changeCount(r.summary)).toBe(0);
      expect(rewritten(before, files())).toEqual([]);
      expect(newDockerCalls()).toEqual([]);
    });

    it("one rendered file changed: exactly that file rewritten, compose up re-run, the service that mounts it restarted, nothing else", async () => {
      configure((g) => (g.redis = { ...(g.redis ?? {}), maxMemoryMb: 384 }));
      const plan = await goodgo.stack.preview({ onEvent });
      // The writer is updated in place (stdin changed: the provider runs create again); compose up, whose triggers
      // carry every file's digest, is replaced (triggers are replaceOnChanges): created again, the old one dropped
      // from state (it has no delete command, so nothing runs for that).
      expect(changed(plan)).toEqual([`replace ${PREFIX}-compose-up`, `update ${writerName("redis/redis.conf")}`].sort());
      const before = files();
      const r = await up();
      expect(changed(r)).toEqual([`replace ${PREFIX}-compose-up`, `update ${writerName("redis/redis.conf")}`].sort());
      expect(rewritten(before, files())).toEqual(["redis/redis.conf"]);
      expect(readFileSync(join(deployDir, "redis/redis.conf"), "utf8")).toMatch(/maxmemory 384mb/);
      expect(newDockerCalls()).toEqual(["up -d --wait --wait-timeout 300 --remove-orphans", "restart redis"]);
    });

    it("a secret rotated: its file rewritten 0600 for the service's user, the service restarted; the secret in no event, log or state in plain text", async () => {
      await goodgo.stack.setConfig("lazarus:goodgoGrafanaAdminPassword", ROTATED, { secret: true });
      const before = files();
      const r = await up();
      const secretFile = GOODGO_SECRET_MOUNTS.grafanaAdminPassword.host;
      expect(rewritten(before, files())).toEqual([secretFile]);
      expect(files()[secretFile]).toMatchObject({ mode: "0600", owner: "472:0" });
      expect(readFileSync(join(deployDir, secretFile), "utf8")).toContain(ROTATED);
      expect(changed(r)).toEqual(
        [`replace ${PREFIX}-compose-up`, `replace ${PREFIX}-prepare`, `update ${writerName(secretFile)}`].sort(),
      );
      expect(newDockerCalls()).toEqual(["up -d --wait --wait-timeout 300 --remove-orphans", "restart grafana"]);
      const state = JSON.stringify(await goodgo.stack.exportState());
      const eventText = JSON.stringify(events);
      const logs = outputs.join("\n");
      for (const secret of [ROTATED, GOODGO_SENTINEL_SECRETS["lazarus:goodgoDbPassword"], GOODGO_SENTINEL_SECRETS["lazarus:goodgoRedisPassword"]]) {
        expect(state.includes(secret), `state: ${secret}`).toBe(false);
        expect(eventText.includes(secret), `events: ${secret}`).toBe(false);
        expect(logs.includes(secret), `output: ${secret}`).toBe(false);
        for (const f of goodgo.stack.backendFiles()) expect(f.text.includes(secret), `${f.path}: ${secret}`).toBe(false);
        expect(readFileSync(join(goodgo.projectDir, "Pulumi.staging.yaml"), "utf8").includes(secret)).toBe(false);
      }
    });

    it("an operation added runs once; the next up does not run it again", async () => {
      configure((g) => g.operations.push({ id: "restart-web", action: "restart-service", service: "web" }));
      const r = await up();
      expect(changed(r)).toEqual([`create ${PREFIX}-op-restart-web`]);
      expect(newDockerCalls()).toEqual(["restart -t 30 web"]);
      const again = await up();
      expect(changeCount(again.summary)).toBe(0);
      expect(newDockerCalls()).toEqual([]);
    });

    it("a failing operation fails the up with the script's message, and runs again on the next up", async () => {
      setFlags("typesense", "broken");
      configure((g) => g.operations.push({ id: "restart-typesense", action: "restart-service", service: "typesense" }));
      const message = await failingUp();
      expect(message).toContain(`${PREFIX}-op-restart-typesense`);
      expect(message).toMatch(/compose-service\.sh/);
      expect(message).toMatch(/typesense/);
      expect(newDockerCalls().filter((c) => c.startsWith("restart"))).toEqual(["restart -t 30 typesense"]);
      setFlags("typesense", "");
      const r = await up();
      expect(changed(r)).toEqual([`create ${PREFIX}-op-restart-typesense`]);
      expect(newDockerCalls().filter((c) => c.startsWith("restart"))).toEqual(["restart -t 30 typesense"]);
      expect(host.containers().typesense).toEqual({ state: "running", health: "healthy" });
    });

    it("a database restore switch: restored beside the live database, then cut over in order (apps stopped, swap, cache flushed, apps up), the old database kept", async () => {
      // The live database and its backup (the real pg-backup.sh, into what the pg-backup container sees as /backups);
      // then writes after the backup, so the live database and the backup differ.
      pg.sql("CREATE DATABASE goodgo");
      pg.sql("CREATE TABLE listing (id int PRIMARY KEY, title text)", "goodgo");
      pg.sql("INSERT INTO listing SELECT g, 'listing ' || g FROM generate_series(1, 500) g", "goodgo");
      const dump = spawnSync("bash", [join(REPO, "scripts/backup/pg-backup.sh"), "-d", "goodgo", "-o", backupsDir], { encoding: "utf8", env: { ...process.env, ...pg.env } });
      expect(dump.status, dump.stderr).toBe(0);
      const backup = (JSON.parse(dump.stdout.trim().split("\n").pop()!) as { file: string }).file.split("/").pop()!;
      pg.sql("INSERT INTO listing SELECT g, 'after the backup ' || g FROM generate_series(501, 600) g", "goodgo");
      const databases = () => pg.sql("SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database WHERE datname LIKE 'goodgo%'").split(" ");

      // First switch: restore beside the live one; the live database is untouched.
      configure((g) => (g.recovery = { database: { label: "r1", backup, migrate: false } }));
      const restore = await up();
      // First the preflight archive-check (passes: this server does not archive and the repository has no stanza goodgo).
      expect(changed(restore)).toEqual([`create ${PREFIX}-restore-db-r1-archive-check`, `create ${PREFIX}-restore-db-r1-restore-database`, `replace ${PREFIX}-compose-up`].sort());
      const beside = databases().filter((d) => d.startsWith("goodgo_restore_"));
      expect(beside).toHaveLength(1);
      expect(pg.sql("SELECT count(*) FROM listing", beside[0])).toBe("500");
      expect(pg.sql("SELECT count(*) FROM listing", "goodgo")).toBe("600");
      newDockerCalls();

      // Second switch: cut over.
      redis.cli("SET", "stale:cache", "from-before-the-cutover");
      configure((g) => (g.recovery.database.cutover = true));
      const before = events.length;
      const cutover = await up();
      expect(pg.sql("SELECT count(*) FROM listing", "goodgo")).toBe("500");
      const kept = databases().filter((d) => d.startsWith("goodgo_pre_restore_"));
      expect(kept).toHaveLength(1);
      expect(pg.sql("SELECT count(*) FROM listing", kept[0])).toBe("600");
      expect(redis.keyCount()).toBe(0);
      // In order: each step finished before the next began (the engine's own record of the update).
      const finished = events
        .slice(before)
        .flatMap((e) => (e.resOutputsEvent ? [e.resOutputsEvent.metadata.urn.split("::").pop()!] : []))
        .filter((n) => n.startsWith(`${PREFIX}-restore-db-r1-`) || n === `${PREFIX}-compose-up`)
        // A replacement reports its halves too (create-replacement, replace, delete-replaced): the first is when it ran.
        .filter((n, i, all) => all.indexOf(n) === i);
      expect(finished).toEqual([`${PREFIX}-restore-db-r1-archive-check`, `${PREFIX}-restore-db-r1-stop-apps`, `${PREFIX}-restore-db-r1-restore-database`, `${PREFIX}-restore-db-r1-flush-redis`, `${PREFIX}-compose-up`]);
      expect(newDockerCalls()).toEqual(["-f docker-compose.prod.yml stop web api pgbouncer ai-services", "up -d --wait --wait-timeout 300 --remove-orphans"]);
      expect(readFileSync(join(side, "exec.log"), "utf8").trim().split("\n")).toEqual(["pg-backup", "pg-backup", "pg-backup", "pg-backup", "redis"]);
      expect(changeCount(cutover.summary)).toBeGreaterThan(0);
      // Left in the stack file, the switch does nothing more.
      const again = await up();
      expect(changeCount(again.summary)).toBe(0);
      expect(databases().filter((d) => d.startsWith("goodgo_pre_restore_"))).toEqual(kept);
    });

    it("an operation whose entry is edited (same id, new command text) is an update that runs nothing, and says why", async () => {
      const execs = () => readFileSync(join(side, "exec.log"), "utf8").trim().split("\n");
      configure((g) => g.operations.push({ id: "long-queries", action: "terminate-long-queries", olderThanMinutes: 5 }));
      const first = await up();
      expect(changed(first)).toEqual([`create ${PREFIX}-op-long-queries`]);
      expect(execs().pop()).toBe("postgres");
      const ran = execs().length;
      configure((g) => (g.operations.find((o: { id: string }) => o.id === "long-queries").olderThanMinutes = 10));
      const before = events.length;
      const edited = await up();
      expect(changed(edited)).toEqual([`update ${PREFIX}-op-long-queries`]);
      expect(edited.steps.find((x) => x.op === "update")!.diffs).toEqual(["create"]);
      expect(execs()).toHaveLength(ran);
      const log = events.slice(before).flatMap((e) => (e.diagnosticEvent && e.diagnosticEvent.urn?.endsWith("-op-long-queries") ? [e.diagnosticEvent.message] : []));
      expect(log.join("")).toContain("already ran when first declared");
    });

    it("destroy removes the stack's resources and leaves the host as it is: files, scripts, containers, databases", async () => {
      const before = files();
      const dbs = pg.sql("SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database");
      const r = await goodgo.stack.destroy({ onEvent });
      expect(r.summary.delete).toBeGreaterThan(40);
      expect(files()).toEqual(before);
      expect(readFileSync(join(host.seen("/opt/lazarus/scripts"), "ops/compose-up.sh"), "utf8")).toBe(readFileSync(join(REPO, "scripts/ops/compose-up.sh"), "utf8"));
      expect(newDockerCalls()).toEqual([]);
      expect(Object.values(host.containers()).every((c) => c.state === "running")).toBe(true);
      expect(pg.sql("SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database")).toBe(dbs);
      expect(pg.sql("SELECT count(*) FROM listing", "goodgo")).toBe("500");
    });

    it("no warning from the engine or the provider in any of these operations", () => {
      // (An update of a command sends its previous output as PULUMI_COMMAND_STDOUT/STDERR unless told not to; a host
      // whose sshd does not AcceptEnv them, such as Debian's default, answers every update with two warnings.)
      const warnings = events.flatMap((e) => (e.diagnosticEvent?.severity === "warning" ? [`${e.diagnosticEvent.urn ?? ""}: ${e.diagnosticEvent.message.trim()}`] : []));
      expect([...new Set(warnings)]).toEqual([]);
    });
  });
}
