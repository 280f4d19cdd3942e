// Pencom's own plan for its existing server, run for real: the offline plan's host steps (from Pulumi.prod.yaml, with
// sentinel secrets) over a real SSH login on loopback in the order their dependencies give, as the command provider
// runs them (test/support/planOverSsh.ts: /opt/lazarus and /etc/pencom live in a private mount namespace). The scripts
// are shipped, the preflight passes, the ecosystem, fleet file, runbook and the eight 0600 .env files are written,
// handed to the service user, and `pm2-fleet.sh deploy` starts the eight stand-in apps under a real PM2 (7.0.4) as that
// user; the `status` operation then reports every service ready and ext-integrations degraded (Oracle is down here).
//
// Stand-ins and what is not run:
//   - pencom-prod-host-setup (pm2-host-setup.sh: useradd, `npm install -g pm2`, pm2-logrotate, `pm2 startup systemd`)
//     is skipped: it would add a user to this machine and install globally, and there is no systemd; its stand-in
//     does what the fleet needs from it: the project directory owned by the service user. The service user is the
//     existing `nobody` (app.user), PM2 the repository's pinned one (PM2_BIN), its home a temp dir (PM2_HOME).
//   - The applications are stand-ins at the seed's entry paths (test/stacks/pencom/fleet.ts); the stores are TCP
//     listeners (Oracle: none, so it is "down").
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { PENCOM_SERVICES } from "../../../stacks/pencom/inventory";
import { hostSteps, runHostSteps, startPlanHost, unexpectedFailures, type PlanHost, type StepRun } from "../../support/planOverSsh";
import { freePort } from "../../support/ports";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, keepOnlyPlatforms, planFor } from "../../support/stacks";
import { REPO } from "../../support/testHost";
import { STAND_IN_APP } from "./fleet";

const PREFIX = "pencom-prod";
const NOBODY = 65534;
const SKIPPED = { [`${PREFIX}-host-setup`]: "useradd, npm install -g, pm2 startup systemd: not on this machine (see the header)" };

let host: PlanHost;
let plan: Plan;
let projectDir: string;
let pm2Home: string;
let runs: StepRun[] = [];
const listeners: Server[] = [];
const ran = (name: string) => runs.find((r) => r.name === name)!;
const listen = async () => {
  const port = await freePort();
  const server = createServer((s) => s.end());
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  listeners.push(server);
  return port;
};

beforeAll(async () => {
  host = await startPlanHost({ sandboxed: ["/opt/lazarus", "/etc/pencom"] });
  pm2Home = join(host.root, "pm2-home");
  mkdirSync(pm2Home);
  chownSync(pm2Home, NOBODY, NOBODY);
  Object.assign(host.env, { PM2_BIN: join(REPO, "node_modules/.bin/pm2"), PM2_HOME: pm2Home, FLEET_POLL_SECONDS: "0.1" });
  projectDir = join(host.root, "srv", "pencom-project");
  for (const s of PENCOM_SERVICES) {
    mkdirSync(dirname(join(projectDir, s.script)), { recursive: true });
    writeFileSync(join(projectDir, s.script), STAND_IN_APP);
  }
  const [pgPort, mongoPort, redisPort, oraclePort] = [await listen(), await listen(), await listen(), await freePort()];
  const ports = await Promise.all(PENCOM_SERVICES.map(() => freePort()));
  plan = await planFor("prod", {
    secrets: ALL_SENTINEL_SECRETS,
    patch: (c) => {
      keepOnlyPlatforms(c, ["pencom"]);
      const p = c["lazarus:pencom"];
      p.host = { existing: { address: host.ssh.host, user: host.ssh.user, port: host.ssh.port } };
      p.app = { ...p.app, dir: projectDir, user: "nobody", readyTimeoutSeconds: 20 };
      p.services = Object.fromEntries(PENCOM_SERVICES.map((s, i) => [s.name, { port: ports[i] }]));
      p.postgres = { ...p.postgres, host: "127.0.0.1", port: pgPort };
      // The PostgreSQL server's own steps (postgres.pitr: pgBackRest, a restart of its cluster) are not this machine's:
      // test/stacks/pencom/pitr.test.ts runs their files and command lines against a real PostgreSQL.
      delete p.postgres.pitr;
      p.mongodb = { ...p.mongodb, host: "127.0.0.1", port: mongoPort };
      p.redis = { ...p.redis, host: "127.0.0.1", port: redisPort };
      p.oracle = { ...p.oracle, host: "127.0.0.1", port: oraclePort };
      p.operations = [{ id: "2026-12-01-status", action: "status" }];
    },
  });
  runs = await runHostSteps(host, hostSteps(plan, PREFIX), {
    skipped: SKIPPED,
    // What pm2-host-setup.sh's `install -d -o USER` leaves: the project directory the service user owns.
    standIns: { [`${PREFIX}-host-setup`]: () => chownRecursive(join(host.root, "srv"), NOBODY) },
    expectedFailure: {},
  });
}, 300_000);

function chownRecursive(path: string, uid: number) {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const e of require("node:fs").readdirSync(path) as string[]) chownRecursive(join(path, e), uid);
}

afterAll(async () => {
  await host?.run(`runuser -u nobody -- env PM2_HOME=${pm2Home} ${join(REPO, "node_modules/.bin/pm2")} kill`).catch(() => undefined);
  for (const l of listeners) l.close();
  await host?.stop();
});

describe("Pencom's plan for its existing server, run over SSH", () => {
  it("runs every step but the skipped setup, in the order copy, preflight, files, setup, hand-over, deploy, operations", () => {
    expect(unexpectedFailures(runs)).toEqual([]);
    const order = runs.map((r) => r.name.replace(`${PREFIX}-`, "").replace(/^software-file-.*/, "software-file"));
    expect([...new Set(order)]).toEqual(["software-scripts", "software-scripts-mode", "software-preflight", "software-file", "host-setup", "hand-over", "deploy", "op-2026-12-01-status"]);
  });

  it("writes the .env files 0600 for the service user, with the secrets, and no secret anywhere else", () => {
    for (const s of PENCOM_SERVICES) {
      const at = host.seen(`/etc/pencom/env/${s.name}.env`);
      const st = statSync(at);
      expect((st.mode & 0o777).toString(8), s.name).toBe("600");
      expect(st.uid, s.name).toBe(NOBODY);
    }
    const core = readFileSync(host.seen("/etc/pencom/env/core.env"), "utf8");
    expect(core).toContain("SENTINEL-pencom-appenv-5b7e");
    expect(core).toMatch(/^DATABASE_URL=.*\/pencom_core_db2\?sslmode=require/m);
    expect(readFileSync(host.seen("/etc/pencom/env/api-gateway.env"), "utf8")).not.toContain("DATABASE_URL");
    for (const f of ["/etc/pencom/ecosystem.config.js", "/etc/pencom/fleet.json", "/etc/pencom/RUNBOOK.md"]) {
      const text = readFileSync(host.seen(f), "utf8");
      for (const m of ALL_SENTINEL_MARKERS) expect(text, `${f}: ${m}`).not.toContain(m);
    }
    const commands = plan.resources.filter((r) => r.type === T.command).map((r) => String(r.rawInputs.create));
    for (const m of ALL_SENTINEL_MARKERS) expect(commands.filter((c) => c.includes(m))).toEqual([]);
  });

  it("starts the eight under PM2 as the service user, tier by tier, and the status operation sees them ready, ext-integrations degraded", () => {
    const deploy = JSON.parse(ran(`${PREFIX}-deploy`).result!.stdout.trim().split("\n").at(-1)!) as { services: Record<string, { status: string; ready: boolean; did: string }> };
    expect(Object.keys(deploy.services).sort()).toEqual(PENCOM_SERVICES.map((s) => s.name).sort());
    expect(Object.values(deploy.services).every((s) => s.status === "online" && s.ready && s.did === "started")).toBe(true);
    const status = JSON.parse(ran(`${PREFIX}-op-2026-12-01-status`).result!.stdout.trim().split("\n").at(-1)!) as { status: string; down: string[]; degraded: string[] };
    expect(status).toMatchObject({ status: "ok", down: [], degraded: ["ext-integrations"] });
    const dump = JSON.parse(readFileSync(join(pm2Home, "dump.pm2"), "utf8")) as { name: string; pm_exec_path: string; username?: string }[];
    expect(dump.map((d) => d.name).sort()).toEqual(PENCOM_SERVICES.map((s) => s.name).sort());
    expect(statSync(join(pm2Home, "dump.pm2")).uid).toBe(NOBODY);
  });
});
