// Pencom's fleet under a real PM2 (the pinned devDependency pm2 7.0.4), driven over a real SSH login on loopback by
// scripts/ops/pm2-fleet.sh exactly as the plan's commands run it, with the ecosystem, fleet and .env files rendered by
// the plan's own functions from Pulumi.prod.yaml (paths moved into a temp directory, ports made free ones).
// Proves: `pm2 jlist` shows the seed's eight names with the seed's entry scripts (api-gateway's without src/); the start
// order is the derived tiers, each tier starting only after the previous one answered its readiness URL (core takes
// 1.2 s); `pm2 save` writes the eight into PM2's dump; a second deploy changes nothing, a rewritten .env restarts only
// its service, a changed definition recreates only its service; a store a service needs that refuses connections stops
// the start with its name; the read-only Oracle's outage makes ext-integrations "degraded", not down; graceful shutdown
// stops in reverse tiers with `pm2 stop` (each app logs PM2's SIGINT); one service stops, starts and restarts alone.
// Stand-in limits (test/stacks/pencom/fleet.ts): the apps are stand-ins at the seed's paths, the stores TCP listeners;
// PM2 runs as the test's user with its own PM2_HOME (`--user`), without `pm2 startup` (no systemd here).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pencom } from "../../../stacks/pencom";
import { PENCOM_SERVICES, pencomStartTiers, pencomStopTiers } from "../../../stacks/pencom/inventory";
import { startSshd, type SshServer } from "../../support/sshd";
import { REPO, parseResult } from "../../support/testHost";
import { stackPlatformConfig } from "../../support/stacks";
import { makeFleet, type Fleet } from "./fleet";

const PM2_BIN = join(REPO, "node_modules/.bin/pm2");
const cfg = stackPlatformConfig("prod", pencom);
let ssh: SshServer;
let fleet: Fleet;
let env: Record<string, string>;

const q = (w: string) => `'${w.replace(/'/g, "'\\''")}'`;
const fleetRun = async (...args: string[]) => {
  const r = await ssh.sshExec(["bash", join(REPO, "scripts/ops/pm2-fleet.sh"), "--fleet", fleet.fleetFile, "--user", ssh.user, ...args].map(q).join(" "), { env, timeoutMs: 120_000 });
  return { ...r, json: parseResult(r.stdout) as { status: string; services: Record<string, { status: string; ready: boolean; state: string; did?: string; unreachable: string[] }>; down?: string[]; degraded?: string[]; error?: string } };
};
interface Proc { name: string; pid: number; pm2_env: { status: string; pm_exec_path: string; restart_time: number } }
const jlist = async () => JSON.parse((await ssh.sshExec(`${q(PM2_BIN)} jlist`, { env })).stdout) as Proc[];
const byName = async () => Object.fromEntries((await jlist()).map((p) => [p.name, p]));

beforeAll(async () => {
  fleet = await makeFleet(cfg);
  for (const s of ["coreDb", "integrationsDb", "notificationsDb", "redis"] as const) await fleet.store(s, true);
  env = { PM2_HOME: join(fleet.root, "pm2"), PM2_BIN, PATH: `${join(REPO, "node_modules/.bin")}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, FLEET_POLL_SECONDS: "0.1" };
  ssh = await startSshd();
}, 60_000);

afterAll(async () => {
  if (ssh) await ssh.sshExec(`${q(PM2_BIN)} kill`, { env }).catch(() => undefined);
  await ssh?.stop();
  await fleet?.stop();
});

describe("the Pencom fleet under a real PM2, over SSH", () => {
  it("deploys the eight services tier by tier: each tier starts after the previous one answered its readiness URL", async () => {
    const r = await fleetRun("deploy");
    expect(r.code, r.stderr).toBe(0);
    expect(Object.values(r.json.services).every((s) => s.status === "online" && s.ready && s.did === "started")).toBe(true);
    const procs = await byName();
    expect(Object.keys(procs).sort()).toEqual(["api-gateway", "audit", "compliance", "core", "ext-gateway", "ext-integrations", "notifications", "payments"]);
    for (const s of PENCOM_SERVICES) expect(procs[s.name]!.pm2_env.pm_exec_path).toBe(join(fleet.projectDir, s.script));
    expect(procs["api-gateway"]!.pm2_env.pm_exec_path).toBe(join(fleet.projectDir, "dist/apps/api-gateway/main.js"));
    expect(procs["ext-integrations"]!.pm2_env.pm_exec_path).toBe(join(fleet.projectDir, "dist/apps/external-integrations/src/main.js"));

    const events = fleet.events();
    const at = (what: string, name: string) => events.find((e) => e.what === what && e.name === name)!.at;
    const tiers = pencomStartTiers();
    expect(tiers).toEqual([["core"], ["audit", "compliance", "ext-integrations", "notifications", "payments"], ["api-gateway", "ext-gateway"]]);
    for (let t = 1; t < tiers.length; t++) {
      const lastReady = Math.max(...tiers[t - 1]!.map((n) => at("ready", n)));
      const firstStart = Math.min(...tiers[t]!.map((n) => at("start", n)));
      expect(firstStart, `tier ${t} started before tier ${t - 1} was ready`).toBeGreaterThanOrEqual(lastReady);
    }
  }, 120_000);

  it("saves the list PM2 resurrects at boot: the dump holds the eight with their entry scripts", () => {
    const dump = JSON.parse(readFileSync(join(fleet.root, "pm2/dump.pm2"), "utf8")) as { name: string; pm_exec_path: string }[];
    expect(dump.map((d) => d.name).sort()).toEqual(PENCOM_SERVICES.map((s) => s.name).sort());
    for (const s of PENCOM_SERVICES) expect(dump.find((d) => d.name === s.name)!.pm_exec_path).toBe(join(fleet.projectDir, s.script));
  });

  it("a second deploy changes nothing; a rewritten .env restarts only its service; a changed definition (kill timeout) recreates the services it changed", async () => {
    const before = await byName();
    const again = await fleetRun("deploy");
    expect(again.code, again.stderr).toBe(0);
    expect(Object.values(again.json.services).map((s) => s.did)).toEqual(Array(8).fill("unchanged"));
    expect(Object.fromEntries(Object.entries(await byName()).map(([n, p]) => [n, p.pid]))).toEqual(Object.fromEntries(Object.entries(before).map(([n, p]) => [n, p.pid])));

    fleet.writeEnv("core", "GENERATION=2\n");
    const envChanged = await fleetRun("deploy");
    expect(envChanged.code, envChanged.stderr).toBe(0);
    expect(envChanged.json.services.core!.did).toBe("restarted (env file changed)");
    expect(Object.entries(envChanged.json.services).filter(([n]) => n !== "core").every(([, s]) => s.did === "unchanged")).toBe(true);
    const coreHealth = await fetch(`http://127.0.0.1:${fleet.cfg.services.core!.port}/health`).then((r) => r.json());
    expect(coreHealth).toMatchObject({ name: "core", generation: "2", database: "pencom_core_db2" });

    fleet.cfg = { ...fleet.cfg, app: { ...fleet.cfg.app, killTimeoutMs: 4000 } };
    fleet.render();
    const redefined = await fleetRun("deploy");
    expect(redefined.code, redefined.stderr).toBe(0);
    expect(Object.values(redefined.json.services).map((s) => s.did)).toEqual(Array(8).fill("recreated"));
  }, 120_000);

  it("reports the read-only Oracle's outage as ext-integrations degraded, not down; with Oracle back, all ok", async () => {
    const degraded = await fleetRun("status");
    expect(degraded.code, degraded.stderr).toBe(0);
    expect(degraded.json.degraded).toEqual(["ext-integrations"]);
    expect(degraded.json.down).toEqual([]);
    expect(degraded.json.services["ext-integrations"]).toMatchObject({ status: "online", ready: true, state: "degraded", unreachable: ["oracle"] });
    await fleet.store("oracle", true);
    const ok = await fleetRun("status");
    expect(ok.json.degraded).toEqual([]);
    expect(Object.values(ok.json.services).every((s) => s.state === "ok")).toBe(true);
  }, 60_000);

  it("stops, starts and restarts one service alone; a stopped service counts as down in status and stays stopped on deploy", async () => {
    const before = await byName();
    const stop = await fleetRun("stop", "payments");
    expect(stop.code, stop.stderr).toBe(0);
    expect((await byName()).payments!.pm2_env.status).toBe("stopped");
    const status = await fleetRun("status");
    expect(status.code).toBe(69);
    expect(status.json.down).toEqual(["payments"]);
    const deploy = await fleetRun("deploy");
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.json.services.payments!.did).toBe("left stopped");
    const start = await fleetRun("start", "payments");
    expect(start.code, start.stderr).toBe(0);
    expect(start.json.services.payments).toMatchObject({ status: "online", ready: true });
    const restart = await fleetRun("restart", "audit");
    expect(restart.code, restart.stderr).toBe(0);
    const after = await byName();
    expect(after.audit!.pid).not.toBe(before.audit!.pid);
    expect(after.core!.pid).toBe(before.core!.pid);
    const unknown = await fleetRun("restart", "gateway");
    expect(unknown.code).toBe(64);
    expect(unknown.json.error).toContain("unknown service 'gateway' (known: core, audit");
  }, 120_000);

  it("refuses to start a service whose store refuses connections, naming the store", async () => {
    expect((await fleetRun("stop", "notifications")).code).toBe(0);
    await fleet.store("notificationsDb", false);
    const r = await fleetRun("start-all");
    expect(r.code).toBe(69);
    expect(r.json.error).toMatch(/^notifications needs MongoDB \(notifications\) at 127\.0\.0\.1:\d+, which does not accept connections/);
    await fleet.store("notificationsDb", true);
    const again = await fleetRun("start-all");
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.services.notifications).toMatchObject({ status: "online", ready: true, did: "started" });
  }, 120_000);

  it("shuts down gracefully in reverse tiers with pm2 stop: gateways first, core last, each tier after the previous one exited", async () => {
    const mark = Date.now();
    const r = await fleetRun("stop-all");
    expect(r.code, r.stderr).toBe(0);
    expect(Object.values(await byName()).every((p) => p.pm2_env.status === "stopped")).toBe(true);
    const signals = fleet.events().filter((e) => e.what === "signal" && e.at >= mark);
    const at = (name: string) => signals.find((e) => e.name === name)!.at;
    expect(signals.map((e) => e.name).sort()).toEqual(PENCOM_SERVICES.map((s) => s.name).sort());
    const tiers = pencomStopTiers();
    expect(tiers[0]).toEqual(["api-gateway", "ext-gateway"]);
    expect(tiers.at(-1)).toEqual(["core"]);
    for (let t = 1; t < tiers.length; t++) {
      // The stand-ins exit 150 ms after the signal; the next tier's signal comes only after that exit.
      expect(Math.min(...tiers[t]!.map(at))).toBeGreaterThanOrEqual(Math.max(...tiers[t - 1]!.map(at)) + 150);
    }
    const dump = JSON.parse(readFileSync(join(fleet.root, "pm2/dump.pm2"), "utf8")) as { name: string; status: string }[];
    expect(dump.every((d) => d.status === "stopped")).toBe(true);
    const back = await fleetRun("start-all");
    expect(back.code, back.stderr).toBe(0);
    expect(Object.values(back.json.services).every((s) => s.status === "online" && s.ready)).toBe(true);
  }, 120_000);

  it("faults: a kill -9 of core is undone by PM2; a service that crashes on start stops start-all at its tier, naming it, and the gateways stay stopped", async () => {
    const core = (await byName()).core!;
    process.kill(core.pid, "SIGKILL");
    await expect.poll(async () => { const p = (await byName()).core!; return p.pid !== core.pid && p.pm2_env.status === "online"; }, { timeout: 20_000 }).toBe(true);
    // Online is not ready: core answers its readiness URL about a second after PM2 restarts it.
    let healed = await fleetRun("status");
    for (const until = Date.now() + 20_000; healed.code !== 0 && Date.now() < until; healed = await fleetRun("status")) await new Promise((r) => setTimeout(r, 500));
    expect(healed.code, healed.stderr).toBe(0);

    expect((await fleetRun("stop-all")).code).toBe(0);
    const compliance = join(fleet.projectDir, "dist/apps/compliance/src/main.js");
    const original = readFileSync(compliance, "utf8");
    writeFileSync(compliance, "console.error('cannot reach a dependency'); process.exit(1);\n");
    try {
      const r = await fleetRun("start-all");
      expect(r.code).toBe(69);
      expect(r.json.error).toMatch(/^compliance (is (errored|stopped) in PM2|did not answer http:\/\/127\.0\.0\.1:\d+\/health within 20s)/);
      const procs = await byName();
      expect(procs["api-gateway"]!.pm2_env.status).toBe("stopped");
      expect(procs["ext-gateway"]!.pm2_env.status).toBe("stopped");
      expect(procs.core!.pm2_env.status).toBe("online");
    } finally {
      writeFileSync(compliance, original);
    }
    const fixed = await fleetRun("start-all");
    expect(fixed.code, fixed.stderr).toBe(0);
  }, 180_000);
});
