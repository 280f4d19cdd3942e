// A Pencom fleet on this machine for the real-PM2 tests: the project directory with eight stand-in apps at the seed's
// entry paths, the ecosystem file, fleet file and .env files rendered by the plan's own functions (stacks/pencom/plan.ts)
// into a temp directory, and TCP listeners standing in for the stores.
//
// What the stand-ins are: each app is the same small Node program. It appends "start <name> <ms>" to the events log
// when node starts it, "ready <name> <ms>" when it listens (core after 1.2 s, the others after 0.3 s: a slow start the
// readiness checks must wait for), and "signal <name> <ms>" when PM2's SIGINT arrives, then exits 150 ms later. /health
// answers 200 with the app's name, pid and what its .env gave it. The stores are plain TCP listeners: pm2-fleet.sh
// checks that a store accepts connections, and that is all a listener proves; the applications' real protocol use of
// PostgreSQL, MongoDB, Redis and Oracle is not modelled here (the restore and BullMQ tests use the real servers).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { PencomConfig } from "../../../stacks/pencom/config";
import { PENCOM_SERVICES, type PencomStore } from "../../../stacks/pencom/inventory";
import { pencomEnvFile, pencomFleetFile, pencomPm2Apps, type FleetPaths, type PencomSecrets } from "../../../stacks/pencom/plan";
import { renderPm2Ecosystem } from "../../../renderers/pm2Ecosystem";
import { freePort } from "../../support/ports";

export const STAND_IN_APP = `const http = require("http");
const fs = require("fs");
const name = process.env.name;
const log = (what) => process.env.EVENTS_LOG && fs.appendFileSync(process.env.EVENTS_LOG, what + " " + name + " " + Date.now() + "\\n");
log("start");
const server = http.createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ name, pid: process.pid, port: process.env.PORT, database: process.env.DATABASE_URL ? new URL(process.env.DATABASE_URL).pathname.slice(1) : null, mongo: process.env.MONGODB_URI ? new URL(process.env.MONGODB_URI).pathname.slice(1) : null, generation: process.env.GENERATION }));
});
setTimeout(() => server.listen(Number(process.env.PORT), "127.0.0.1", () => log("ready")), name === "core" ? 1200 : 300);
process.on("SIGINT", () => { log("signal"); setTimeout(() => process.exit(0), 150); });
`;

export interface Event {
  what: "start" | "ready" | "signal";
  name: string;
  at: number;
}

export interface Fleet {
  root: string;
  projectDir: string;
  paths: FleetPaths;
  fleetFile: string;
  eventsLog: string;
  cfg: PencomConfig;
  secrets: PencomSecrets;
  /** Writes one service's .env as the plan composes it (extra lines appended to the app's own secrets). */
  writeEnv(service: string, extra?: string, databases?: { core?: string; notifications?: string }): void;
  /** Renders the ecosystem and fleet files from cfg (call again after changing cfg). */
  render(): void;
  events(): Event[];
  /** Opens or closes a store's stand-in listener. */
  store(name: PencomStore, open: boolean): Promise<void>;
  stop(): Promise<void>;
}

export async function makeFleet(base: PencomConfig): Promise<Fleet> {
  const root = mkdtempSync(join(tmpdir(), "lazarus-pencom-"));
  const projectDir = join(root, "srv/pencom-project");
  for (const s of PENCOM_SERVICES) {
    mkdirSync(dirname(join(projectDir, s.script)), { recursive: true });
    writeFileSync(join(projectDir, s.script), STAND_IN_APP);
  }
  const paths: FleetPaths = { envDir: join(root, "etc/pencom/env"), ecosystem: join(root, "etc/pencom/ecosystem.config.js") };
  mkdirSync(paths.envDir, { recursive: true });
  const eventsLog = join(root, "events.log");
  writeFileSync(eventsLog, "");
  const storePorts: Record<PencomStore, number> = {
    coreDb: await freePort(), integrationsDb: await freePort(), notificationsDb: await freePort(), redis: await freePort(), oracle: await freePort(),
  };
  const services = Object.fromEntries(await Promise.all(PENCOM_SERVICES.map(async (s) => [s.name, { port: await freePort(), healthPath: "/health" }])));
  const cfg: PencomConfig = {
    ...base,
    app: { ...base.app, dir: projectDir, readyTimeoutSeconds: 20, killTimeoutMs: 3000 },
    services,
    // Both PostgreSQL databases are on one server in the stack file; here each gets its own listener port through
    // the postgres block (one host and port), so integrationsDb shares coreDb's.
    postgres: { ...base.postgres, host: "127.0.0.1", port: storePorts.coreDb },
    mongodb: { ...base.mongodb, host: "127.0.0.1", port: storePorts.notificationsDb },
    redis: { ...base.redis, host: "127.0.0.1", port: storePorts.redis },
    oracle: { ...base.oracle, host: "127.0.0.1", port: storePorts.oracle },
  };
  const secrets: PencomSecrets = {
    coreDbPassword: "core-pw", integrationsDbPassword: "int-pw", mongoPassword: "mongo-pw", redisPassword: "redis-pw", oraclePassword: "oracle-pw",
    appEnv: `EVENTS_LOG=${eventsLog}\nJWT_SECRET=test-only-jwt\n`,
  };
  const fleetFile = join(root, "etc/pencom/fleet.json");
  const listeners = new Map<number, Server>();
  const portOf = (s: PencomStore) => (s === "integrationsDb" ? storePorts.coreDb : storePorts[s]);

  const fleet: Fleet = {
    root, projectDir, paths, fleetFile, eventsLog, cfg, secrets,
    writeEnv(service, extra = "", databases = {}) {
      writeFileSync(join(paths.envDir, `${service}.env`), pencomEnvFile(fleet.cfg, service, { ...secrets, appEnv: secrets.appEnv + extra }, databases), { mode: 0o600 });
    },
    render() {
      const apps = pencomPm2Apps(fleet.cfg, paths);
      writeFileSync(paths.ecosystem, renderPm2Ecosystem({ apps }));
      writeFileSync(fleetFile, JSON.stringify(pencomFleetFile(fleet.cfg, apps, paths), null, 2));
    },
    events() {
      return readFileSync(eventsLog, "utf8").trim().split("\n").filter(Boolean).map((l) => {
        const [what, name, at] = l.split(" ");
        return { what: what as Event["what"], name: name!, at: Number(at) };
      });
    },
    async store(name, open) {
      const port = portOf(name);
      if (open && !listeners.has(port)) {
        const server = createServer((sock) => sock.end());
        await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
        listeners.set(port, server);
      } else if (!open && listeners.has(port)) {
        await new Promise<void>((resolve) => listeners.get(port)!.close(() => resolve()));
        listeners.delete(port);
      }
    },
    async stop() {
      for (const s of listeners.values()) await new Promise<void>((resolve) => s.close(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  for (const s of PENCOM_SERVICES) fleet.writeEnv(s.name);
  fleet.render();
  return fleet;
}
