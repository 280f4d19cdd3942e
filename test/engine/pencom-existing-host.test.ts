// The real program under the real engine: Pencom alone on an existing server (the loopback sshd of
// test/support/planOverSsh.ts, in a private mount namespace), `pulumi up` after `pulumi up` through lib/engine/driver.ts
// with the real command provider (@pulumi/command 1.2.1's plugin). Issue 11's "Done when": start, a changed env,
// shutdown, under the engine rather than step by step (test/stacks/pencom/plan-over-ssh.test.ts).
//
// Real here: the engine, the provider's SSH sessions and SFTP copy, sshd, bash, every script as shipped (the host setup
// included: pm2-host-setup.sh builds and installs the pm2-logrotate bundle with npm, runs `pm2 startup systemd`), a
// real PM2 (the pinned devDependency, 7.0.4, as PM2_BIN) running the eight services as the service user, and a real
// PostgreSQL 15 (SCRAM) for the core database switch (restore beside the live database, then cutover).
// Stand-ins, and what they cannot show:
//   - the applications: the stand-in app of test/stacks/pencom/fleet.ts at the seed's entry paths (logs start, ready
//     and PM2's SIGINT with times); the stores: TCP listeners (Oracle: none, so ext-integrations is "degraded");
//   - root-only steps, as the GoodGo engine test keeps them: sshd runs as root in a private mount namespace where
//     /opt/lazarus, /etc/pencom, /var/cache/lazarus and /etc/systemd/system are temp dirs; the service user is the
//     existing `nobody` (no user is created on this machine), its PM2 home a temp dir (PM2_HOME in the session);
//   - systemd: none runs here. `pm2 startup systemd` really writes its unit (into the namespace's /etc/systemd/system)
//     and calls `systemctl enable`, which is test/support/fake-systemctl: it refuses a unit without a unit file, records
//     the enable and answers `is-enabled`; what the unit would do at boot is not shown.
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changeCount, type EngineEvent, type OperationResult } from "../../lib/engine/driver";
import { PENCOM_SERVICES, pencomStartTiers, pencomStopTiers } from "../../stacks/pencom/inventory";
import { PENCOM_PATHS } from "../../stacks/pencom/plan";
import { sha256File } from "../support/pgHarness";
import { startPlanHost, type PlanHost } from "../support/planOverSsh";
import { PG_BIN, startPostgres, type PostgresServer } from "../support/postgres";
import { freePort } from "../support/ports";
import { ALL_SENTINEL_SECRETS, keepOnlyPlatforms, stackConfigMap } from "../support/stacks";
import { STAND_IN_APP } from "../stacks/pencom/fleet";
import { engineGate } from "./engineGate";
import { ENGINE_STACK, openProgramStack, type ProgramStack } from "./goodgoStack";

const gate = engineGate({ command: true });
const REPO = resolve(__dirname, "../..");
const PM2_BIN = join(REPO, "node_modules/.bin/pm2");
const PREFIX = `pencom-${ENGINE_STACK}`;
const NOBODY = 65534;
const ROTATED = "rotated-oracle-password-3d8b7f1e";
const REDIS_ROTATED = "rotated-redis-password-0b5c";
const PG_ADMIN_PASSWORD = "admin-pw-7c2e";
const PG_CORE_PASSWORD = "core-pw-4a9d";
const SANDBOXED = ["/opt/lazarus", "/etc/pencom", "/var/cache/lazarus", "/etc/systemd/system"];
type Event = { what: string; name: string; at: number };

if (gate.mustFail) {
  describe("engine: Pencom on an existing host", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)(`engine: Pencom on an existing host, real program, real command provider, real PM2${gate.reason ? ` (${gate.reason})` : ""}`, () => {
    let host: PlanHost;
    let program: ProgramStack;
    let side: string;
    let projectDir: string;
    let pm2Home: string;
    let eventsLog: string;
    let systemctlDir: string;
    let pg: PostgresServer | undefined;
    const listeners: Server[] = [];
    const events: EngineEvent[] = [];
    const outputs: string[] = [];
    const onEvent = (e: EngineEvent) => events.push(e);
    const changes: ((p: Record<string, any>) => void)[] = [];
    let ports: { services: number[]; pg: number; mongo: number; redis: number; oracle: number };

    const pencomConfig = () => {
      const c = stackConfigMap(ENGINE_STACK);
      keepOnlyPlatforms(c, ["pencom"]);
      for (const k of ["region", "project", "vpc", "sshKeys", "adminCidrs"]) delete c["lazarus:environment"][k];
      const p = c["lazarus:pencom"];
      p.host = { existing: { address: host.ssh.host, user: host.ssh.user, port: host.ssh.port } };
      p.app = { ...p.app, dir: projectDir, user: "nobody", readyTimeoutSeconds: 20 };
      p.services = Object.fromEntries(PENCOM_SERVICES.map((s, i) => [s.name, { port: ports.services[i] }]));
      p.postgres = { ...p.postgres, host: "127.0.0.1", port: ports.pg };
      // The PostgreSQL server's own steps (postgres.pitr: pgBackRest, a restart of its cluster) are not this machine's:
      // test/stacks/pencom/pitr.test.ts runs their files and command lines against a real PostgreSQL.
      delete p.postgres.pitr;
      p.mongodb = { ...p.mongodb, host: "127.0.0.1", port: ports.mongo };
      p.redis = { ...p.redis, host: "127.0.0.1", port: ports.redis };
      p.oracle = { ...p.oracle, host: "127.0.0.1", port: ports.oracle };
      for (const change of changes) change(p);
      return c;
    };
    const configure = (change?: (p: Record<string, any>) => void) => {
      if (change) changes.push(change);
      program.writeConfig(pencomConfig());
    };
    const up = async (): Promise<OperationResult> => {
      const r = await program.stack.up({ onEvent });
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    const changed = (r: OperationResult) =>
      r.steps
        .filter((s) => !["same", "create-replacement", "delete-replaced"].includes(s.op))
        .map((s) => `${s.op} ${s.urn.split("::").pop()}`)
        .sort();
    const writerName = (path: string) => `${PREFIX}-software-file${path.replace(/[^A-Za-z0-9]+/g, "-")}`;
    const pm2 = async (args: string) => {
      const r = await host.run(`cd / && runuser -u nobody -- env PM2_HOME=${pm2Home} HOME=${pm2Home} ${PM2_BIN} ${args}`);
      if (r.code !== 0) throw new Error(`pm2 ${args}: ${r.stderr}`);
      return r.stdout;
    };
    interface Proc { name: string; pid: number; pm2_env: { status: string; pm_exec_path: string } }
    const jlist = async () => (JSON.parse(await pm2("jlist")) as Proc[]).filter((p) => p.name !== "pm2-logrotate");
    const pids = async () => Object.fromEntries((await jlist()).map((p) => [p.name, p.pid]));
    const appEvents = (): Event[] =>
      readFileSync(eventsLog, "utf8").trim().split("\n").filter(Boolean).map((l) => {
        const [what, name, at] = l.split(" ");
        return { what: what!, name: name!, at: Number(at) };
      });
    const envFacts = () =>
      Object.fromEntries(
        PENCOM_SERVICES.map((s) => {
          const st = lstatSync(host.seen(`${PENCOM_PATHS.envDir}/${s.name}.env`));
          return [s.name, { ino: st.ino, mtimeMs: st.mtimeMs, mode: (st.mode & 0o777).toString(8).padStart(4, "0"), owner: `${st.uid}:${st.gid}` }];
        }),
      );
    /** Every Pencom sentinel's marker (the app secrets' lines included; the SSH key is the test sshd's, checked apart). */
    const pencomMarkers = () => {
      const markers = Object.entries(ALL_SENTINEL_SECRETS)
        .filter(([k]) => k.startsWith("lazarus:pencom") && k !== "lazarus:pencomSshPrivateKey")
        .flatMap(([, v]) => v.match(/SENTINEL-[a-z]+(?:-[a-z]+)*-[0-9a-f]{4,6}/g) ?? []);
      expect(markers.length).toBeGreaterThanOrEqual(7);
      return markers;
    };
    const sshKeyBody = () => readFileSync(host.ssh.keyFile, "utf8").split("\n")[1]!;
    /** None of `secrets` in the exported state, the engine's events, the CLI's output, the backend's files or the stack file. */
    const expectNowhere = async (secrets: string[]) => {
      const state = JSON.stringify(await program.stack.exportState());
      const eventText = JSON.stringify(events);
      const logs = outputs.join("\n");
      for (const secret of secrets) {
        expect(state.includes(secret), `state: ${secret}`).toBe(false);
        expect(eventText.includes(secret), `events: ${secret}`).toBe(false);
        expect(logs.includes(secret), `output: ${secret}`).toBe(false);
        for (const f of program.stack.backendFiles()) expect(f.text.includes(secret), `${f.path}: ${secret}`).toBe(false);
        expect(readFileSync(join(program.projectDir, `Pulumi.${ENGINE_STACK}.yaml`), "utf8").includes(secret)).toBe(false);
      }
    };
    const listen = async (port: number) => {
      const server = createServer((s) => s.end());
      await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
      listeners.push(server);
    };

    beforeAll(async () => {
      side = mkdtempSync(join(tmpdir(), "lazarus-engine-pencom-"));
      chmodSync(side, 0o755);
      // The service user's PM2 home (its passwd home, /nonexistent, cannot hold one).
      pm2Home = join(side, "pm2-home");
      mkdirSync(pm2Home);
      chownSync(pm2Home, NOBODY, NOBODY);
      ports = {
        services: await Promise.all(PENCOM_SERVICES.map(() => freePort())),
        pg: await freePort(), mongo: await freePort(), redis: await freePort(), oracle: await freePort(),
      };
      for (const p of [ports.pg, ports.mongo, ports.redis]) await listen(p);
      // fake-systemctl first on the session's PATH (pm2 startup runs `systemctl enable`, the script `is-enabled`).
      const bin = join(side, "bin");
      mkdirSync(bin);
      writeFileSync(join(bin, "systemctl"), `#!/bin/sh\nexec bash ${join(REPO, "test/support/fake-systemctl")} "$@"\n`, { mode: 0o755 });
      systemctlDir = join(side, "systemctl");
      mkdirSync(systemctlDir);
      host = await startPlanHost({
        sandboxed: SANDBOXED,
        // The session's environment (sshd's SetEnv) stands for the host's: PM2 the pinned one, its home the user's.
        extraEnv: {
          PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
          FAKE_SYSTEMCTL_DIR: systemctlDir,
          FLEET_POLL_SECONDS: "0.1",
          PM2_BIN,
          PM2_HOME: pm2Home,
        },
      });
      projectDir = join(host.root, "srv", "pencom-project");
      for (const s of PENCOM_SERVICES) {
        mkdirSync(dirname(join(projectDir, s.script)), { recursive: true });
        writeFileSync(join(projectDir, s.script), STAND_IN_APP);
      }
      eventsLog = join(side, "events.log");
      writeFileSync(eventsLog, "");
      chownSync(eventsLog, NOBODY, NOBODY);
      const secrets = Object.fromEntries(Object.entries(ALL_SENTINEL_SECRETS).filter(([k]) => k.startsWith("lazarus:pencom")));
      // The application's own secrets carry where the stand-in apps log (an app setting, like any in pencomAppEnv).
      secrets["lazarus:pencomAppEnv"] = `${secrets["lazarus:pencomAppEnv"]}EVENTS_LOG=${eventsLog}\n`;
      secrets["lazarus:pencomSshPrivateKey"] = readFileSync(host.ssh.keyFile, "utf8");
      program = await openProgramStack(pencomConfig(), secrets);
    }, 300_000);

    afterAll(async () => {
      if (host) await pm2("kill").catch(() => undefined);
      for (const l of listeners) l.close();
      pg?.destroy();
      await host?.stop();
      program?.remove();
      if (side) rmSync(side, { recursive: true, force: true });
    });

    it("first up from empty state: host set up, the eight started in tiers (each after the previous tier is ready), pm2 save written", async () => {
      const r = await up();
      expect(r.summary.create).toBeGreaterThan(10);
      expect(changeCount(r.summary)).toBe(r.summary.create);
      const procs = await jlist();
      expect(procs.map((p) => p.name).sort()).toEqual(PENCOM_SERVICES.map((s) => s.name).sort());
      expect(procs.every((p) => p.pm2_env.status === "online")).toBe(true);
      for (const s of PENCOM_SERVICES) expect(procs.find((p) => p.name === s.name)!.pm2_env.pm_exec_path).toBe(join(projectDir, s.script));
      const ev = appEvents();
      const at = (what: string, name: string) => ev.find((e) => e.what === what && e.name === name)!.at;
      const tiers = pencomStartTiers();
      for (let t = 1; t < tiers.length; t++) {
        const lastReady = Math.max(...tiers[t - 1]!.map((n) => at("ready", n)));
        const firstStart = Math.min(...tiers[t]!.map((n) => at("start", n)));
        expect(firstStart, `tier ${t} started before tier ${t - 1} was ready`).toBeGreaterThanOrEqual(lastReady);
      }
      const dump = JSON.parse(readFileSync(join(pm2Home, "dump.pm2"), "utf8")) as { name: string }[];
      expect(dump.map((d) => d.name).filter((n) => n !== "pm2-logrotate").sort()).toEqual(PENCOM_SERVICES.map((s) => s.name).sort());
      for (const [name, f] of Object.entries(envFacts())) expect(f, name).toMatchObject({ mode: "0600", owner: `${NOBODY}:${NOBODY}` });
      // The host setup's boot unit: written by `pm2 startup systemd` for the service user, enabled.
      expect(readFileSync(host.seen("/etc/systemd/system/pm2-nobody.service"), "utf8")).toMatch(/^User=nobody$/m);
      expect(readFileSync(join(systemctlDir, "enabled"), "utf8").trim()).toBe("pm2-nobody");
      expect(readdirSync(host.seen("/var/cache/lazarus/pm2-modules"))).toEqual(["pm2-logrotate-3.0.0.tar.gz"]);
    });

    it("a second up changes nothing and restarts no app", async () => {
      const before = await pids();
      const files = envFacts();
      const r = await up();
      expect(changeCount(r.summary)).toBe(0);
      expect(await pids()).toEqual(before);
      expect(envFacts()).toEqual(files);
    });

    it("a rotated secret (Oracle's password): only ext-integrations' .env rewritten 0600 for the service user, only it restarted; the secret nowhere in plain text", async () => {
      const before = await pids();
      const files = envFacts();
      await program.stack.setConfig("lazarus:pencomOraclePassword", ROTATED, { secret: true });
      const r = await up();
      expect(changed(r)).toEqual(
        [`update ${writerName(`${PENCOM_PATHS.envDir}/ext-integrations.env`)}`, `replace ${PREFIX}-hand-over`, `replace ${PREFIX}-deploy`].sort(),
      );
      const after = envFacts();
      const rewritten = Object.keys(after).filter((n) => after[n]!.ino !== files[n]!.ino || after[n]!.mtimeMs !== files[n]!.mtimeMs);
      expect(rewritten).toEqual(["ext-integrations"]);
      expect(after["ext-integrations"]).toMatchObject({ mode: "0600", owner: `${NOBODY}:${NOBODY}` });
      expect(readFileSync(host.seen(`${PENCOM_PATHS.envDir}/ext-integrations.env`), "utf8")).toContain(`ORACLE_PASSWORD=${ROTATED}`);
      const now = await pids();
      const restarted = Object.keys(now).filter((n) => now[n] !== before[n]);
      expect(restarted).toEqual(["ext-integrations"]);
      await expectNowhere([ROTATED, ...pencomMarkers(), sshKeyBody()]);
    });

    it("a service setting changed (payments' port): its .env and the fleet file rewritten, only payments restarted, ready on the new port", async () => {
      const before = await pids();
      const files = envFacts();
      const newPort = await freePort();
      configure((p) => (p.services.payments = { port: newPort }));
      const r = await up();
      expect(changed(r)).toEqual(
        [
          `update ${writerName(`${PENCOM_PATHS.envDir}/payments.env`)}`,
          `update ${writerName(PENCOM_PATHS.fleet)}`,
          // The operator's runbook lists each service's readiness URL.
          `update ${writerName(PENCOM_PATHS.runbook)}`,
          `replace ${PREFIX}-hand-over`,
          `replace ${PREFIX}-deploy`,
        ].sort(),
      );
      const after = envFacts();
      expect(Object.keys(after).filter((n) => after[n]!.ino !== files[n]!.ino || after[n]!.mtimeMs !== files[n]!.mtimeMs)).toEqual(["payments"]);
      const now = await pids();
      expect(Object.keys(now).filter((n) => now[n] !== before[n])).toEqual(["payments"]);
      expect(await fetch(`http://127.0.0.1:${newPort}/health`).then((x) => x.json())).toMatchObject({ name: "payments", port: String(newPort) });
    });

    it("a fault: a service that cannot become ready fails the up naming it, the others left running; once fixed, the next up runs the deploy again", async () => {
      const compliance = join(projectDir, "dist/apps/compliance/src/main.js");
      const before = await pids();
      writeFileSync(compliance, "console.error('cannot reach a dependency'); process.exit(1);\n");
      try {
        // Redis's password rotated: every service that uses Redis (compliance among them) restarts, tier by tier.
        await program.stack.setConfig("lazarus:pencomRedisPassword", REDIS_ROTATED, { secret: true });
        const e = await program.stack.up({ onEvent }).then(() => undefined, (err: Error) => err);
        expect(e, "the up should fail").toBeInstanceOf(Error);
        outputs.push(e!.message);
        expect(e!.message).toContain(`${PREFIX}-deploy`);
        expect(e!.message).toMatch(/compliance (is (errored|stopped) in PM2|did not answer http:\/\/127\.0\.0\.1:\d+\/health within 20s)/);
      } finally {
        writeFileSync(compliance, STAND_IN_APP);
      }
      const r = await up();
      expect(changed(r)).toEqual([`replace ${PREFIX}-deploy`]);
      const procs = await jlist();
      expect(procs.every((p) => p.pm2_env.status === "online"), JSON.stringify(procs.map((p) => [p.name, p.pm2_env.status]))).toBe(true);
      const now = await pids();
      // Every service that uses Redis got the rotated password; the gateways (no Redis) were not restarted.
      expect(Object.keys(now).filter((n) => now[n] === before[n]).sort()).toEqual(["api-gateway", "ext-gateway"]);
    });

    it("the core database switch: restored beside the live one, then cut over (core's .env names the copy, core alone restarted); left in place, nothing more", async () => {
      // A real PostgreSQL 15 (SCRAM) in place of the TCP listener: the live database and its plain backup, then writes
      // after the backup, so the live database and the restored copy differ.
      pg = await startPostgres({ password: PG_ADMIN_PASSWORD });
      pg.sql(`CREATE ROLE pencom_core LOGIN PASSWORD '${PG_CORE_PASSWORD}'`);
      pg.sql("CREATE DATABASE pencom_core_db2 OWNER pencom_core");
      pg.sql("SET ROLE pencom_core; CREATE TABLE accounts (id int PRIMARY KEY); INSERT INTO accounts SELECT generate_series(1, 500);", "pencom_core_db2");
      const backup = join(side, "core.sql");
      const d = spawnSync(join(PG_BIN, "pg_dump"), ["-Fp", "-f", backup, "pencom_core_db2"], { env: { ...process.env, ...pg.env }, encoding: "utf8" });
      expect(d.status, d.stderr).toBe(0);
      writeFileSync(`${backup}.sha256`, `${sha256File(backup)}  core.sql\n`);
      pg.sql("INSERT INTO accounts SELECT generate_series(501, 600)", "pencom_core_db2");
      const databases = () => pg!.sql("SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database WHERE datname LIKE 'pencom_core%'").split(" ");
      await program.stack.setConfig("lazarus:pencomPostgresAdminPassword", PG_ADMIN_PASSWORD, { secret: true });
      await program.stack.setConfig("lazarus:pencomCoreDbPassword", PG_CORE_PASSWORD, { secret: true });
      configure((p) => {
        p.postgres = { ...p.postgres, port: pg!.port, sslmode: "disable" };
        p.recovery = { coreDatabase: { label: "r1", backup } };
      });
      const restore = await up();
      expect(changed(restore)).toContain(`create ${PREFIX}-core-db-restore-r1`);
      const beside = databases().filter((n) => n.startsWith("pencom_core_db2_restore_"));
      expect(beside).toHaveLength(1);
      expect(pg.sql("SELECT count(*) FROM accounts", beside[0])).toBe("500");
      expect(pg.sql("SELECT count(*) FROM accounts", "pencom_core_db2")).toBe("600");

      // Second switch: cut over. Only core's .env changes; only core restarts.
      const before = await pids();
      configure((p) => (p.recovery.coreDatabase.cutover = true));
      const cutover = await up();
      expect(changeCount(cutover.summary)).toBeGreaterThan(0);
      const coreEnv = readFileSync(host.seen(`${PENCOM_PATHS.envDir}/core.env`), "utf8");
      const url = /^DATABASE_URL=(.*)$/m.exec(coreEnv)![1]!.replace(/^'(.*)'$/, "$1");
      expect(url).toContain(`/${beside[0]}?sslmode=disable`);
      const q = spawnSync(join(PG_BIN, "psql"), ["-X", "-A", "-t", url, "-c", "SELECT current_user, count(*) FROM accounts"], { encoding: "utf8" });
      expect(q.stdout.trim(), q.stderr).toBe("pencom_core|500");
      const health = await fetch(`http://127.0.0.1:${ports.services[0]}/health`).then((x) => x.json());
      expect(health).toMatchObject({ name: "core", database: beside[0] });
      const now = await pids();
      expect(Object.keys(now).filter((n) => now[n] !== before[n])).toEqual(["core"]);
      expect(pg.sql("SELECT count(*) FROM accounts", "pencom_core_db2")).toBe("600");
      const again = await up();
      expect(changeCount(again.summary)).toBe(0);
      expect(await pids()).toEqual(now);
      expect(databases().filter((n) => n.startsWith("pencom_core_db2_restore_"))).toEqual(beside);
    });

    it("the graceful-shutdown operation added: the fleet stopped in reverse tiers (SIGINT times), and a later up does not run it again", async () => {
      const mark = Date.now();
      configure((p) => (p.operations = [{ id: "2026-12-01-shutdown", action: "graceful-shutdown" }]));
      const r = await up();
      expect(changed(r)).toEqual([`create ${PREFIX}-op-2026-12-01-shutdown`]);
      expect((await jlist()).every((p) => p.pm2_env.status === "stopped")).toBe(true);
      const signals = appEvents().filter((e) => e.what === "signal" && e.at >= mark);
      expect(signals.map((e) => e.name).sort()).toEqual(PENCOM_SERVICES.map((s) => s.name).sort());
      const at = (name: string) => signals.find((e) => e.name === name)!.at;
      const tiers = pencomStopTiers();
      for (let t = 1; t < tiers.length; t++) {
        // The stand-ins exit 150 ms after SIGINT; the next tier's signal comes only after that exit.
        expect(Math.min(...tiers[t]!.map(at))).toBeGreaterThanOrEqual(Math.max(...tiers[t - 1]!.map(at)) + 150);
      }
      const again = await up();
      expect(changeCount(again.summary)).toBe(0);
      expect(appEvents().filter((e) => e.at > mark && e.what === "start")).toEqual([]);
      expect((await jlist()).every((p) => p.pm2_env.status === "stopped")).toBe(true);
    });

    it("no secret set in this run (sentinels, rotated ones, the database passwords, the SSH key) in any event, output, state or backend file", async () => {
      await expectNowhere([ROTATED, REDIS_ROTATED, PG_ADMIN_PASSWORD, PG_CORE_PASSWORD, ...pencomMarkers(), sshKeyBody()]);
    });

    it("no warning from the engine or the provider in any of these operations", () => {
      const warnings = events.flatMap((e) => (e.diagnosticEvent?.severity === "warning" ? [`${e.diagnosticEvent.urn ?? ""}: ${e.diagnosticEvent.message.trim()}`] : []));
      expect([...new Set(warnings)]).toEqual([]);
    });
  });
}
