// Pencom's plan (runbook 000): everything the platform declares on its on-premises server, computed from the stack
// config and the service inventory alone, validated before any resource exists. `declare.ts` turns it into resources.
// Secret values (each service's .env) are composed at declare time by `pencomEnvFile` at the end of this file.
import { createHash } from "node:crypto";
import { renderedFrom } from "../../config/planInput";
import { isSecretPlaceholder } from "../../config/stackFile";
import { HOST_LAYOUT } from "../../lib/hostLayout";
import { shellJoin } from "../../lib/shell";
import { swapInArgs } from "../../config/swapIn";
import { renderEnvFile } from "../../renderers/envFile";
import { renderPm2Ecosystem, type Pm2App } from "../../renderers/pm2Ecosystem";
import type { ExistingServerConfig } from "../../config/shared";
import type { HostNeeds } from "../../renderers/cloudInit";
import type { HostPlan } from "../host";
import type { PlanContext } from "../platform";
import type { PencomConfig, PencomOperation } from "./config";
import { PENCOM_SERVICES, PENCOM_STORES, pencomStartTiers, readinessUrl, type PencomService, type PencomStore } from "./inventory";
import { PENCOM_PITR_PATHS, pencomPitr, pencomPitrRestoreCommand, pencomServerRestoreCommand } from "./pitr";
import { pencomRunbook } from "./runbook";

/** Host paths outside the project directory (the application build there is the infrastructure team's). */
export const PENCOM_PATHS = {
  ecosystem: "/etc/pencom/ecosystem.config.js",
  fleet: "/etc/pencom/fleet.json",
  envDir: "/etc/pencom/env",
  runbook: "/etc/pencom/RUNBOOK.md",
} as const;

export const pencomEnvPath = (service: string, envDir: string = PENCOM_PATHS.envDir) => `${envDir}/${service}.env`;

/** Where the fleet's files are; the plan's are PENCOM_PATHS, a test puts them in a temp directory. */
export interface FleetPaths {
  envDir: string;
  ecosystem: string;
}

export function pencomNames(stack: string) {
  const prefix = `pencom-${stack}`;
  return { prefix, host: `${prefix}-host` };
}

/** The fleet file pm2-fleet.sh reads: tiers, readiness, env files, definition digests, stores. No secrets. */
export interface FleetFile {
  user: string;
  ecosystem: string;
  readyTimeoutSeconds: number;
  tiers: string[][];
  services: Record<string, { ready: string; envFile: string; definition: string; needs: PencomStore[]; degradesWithout: PencomStore[] }>;
  stores: Record<string, { title: string; address: string; port: number }>;
}

export interface PencomPlan {
  stack: string;
  names: ReturnType<typeof pencomNames>;
  host: HostPlan;
  user: string;
  /** Plain files, by absolute path on the host. */
  files: Record<string, string>;
  /** Per service, the path of its 0600 .env, and the database names its connection settings point at. */
  envFiles: Record<string, string>;
  config: PencomConfig;
  commands: {
    /** The service user, PM2 (pinned), pm2-logrotate, PM2 started at boot. */
    hostSetup: string;
    /** Hands the .env files to the service user (0600). */
    handOver: string;
    /** Converges the fleet on the shipped files, tier by tier, and saves PM2's list. */
    deploy: string;
  };
  operations: { id: string; command: string }[];
  /**
   * The PostgreSQL server's part (postgres.pitr, stacks/pencom/pitr.ts): reached over SSH with the same key, its files
   * (pgbackrest.conf, the archive settings in conf.d, the scratch cluster's conf, the timers) and the setup.
   */
  postgresServer?: {
    name: string;
    server: ExistingServerConfig;
    needs: HostNeeds;
    files: Record<string, string>;
    setup: string;
    /** postgres.pitr.offsite: the bucket (declared unless existing) and the 0600 secrets file composed at declare time. */
    offsite?: { bucket: string; region: string; existing: boolean; secretsFile: string };
    /**
     * recovery.postgresServer: the machine behind the login was replaced. Its label is part of the server's machine
     * id, so every step there (scripts, preflight, files, setup) runs again on the new machine, with the restore from
     * the off-site repository between the files and the setup; once per label. Marked done, the label stays in the
     * machine id (nothing there runs again) and `restore` is absent: the restore is no longer declared.
     */
    rebuild?: { label: string; restore?: string };
  };
  recovery: {
    /**
     * Restore into a new database beside pencom_core_db2; its result line names the copy core's .env points at.
     * `on: app`: pg-restore.sh of a backup file on the Pencom server, as postgres.adminUser (its password on stdin);
     * `on: postgres`: the pointInTime restore on the PostgreSQL server, as its OS user (no password).
     */
    coreDatabase?: { label: string; restore: string; cutover: boolean; on: "app" | "postgres" };
    /**
     * A later run of recovery.coreDatabase: core stopped, the verified copy an earlier restore made swapped in by name
     * (pg-restore.sh --swap-in as postgres.adminUser, its password on stdin), core started after the fleet converged.
     */
    coreSwapIn?: { label: string; swapIn: string; stop: string; swap: string; start: string };
    notificationsDatabase?: { label: string; restoredDatabase: string; restore: string; cutover: boolean; stop: string; start: string };
  };
}

function script(dir: "ops" | "backup", name: string, args: (string | number)[]): string {
  return shellJoin(["bash", `${HOST_LAYOUT.scriptsRoot}/${dir}/${name}`, ...args]);
}

/**
 * A command run with postgres.adminUser's password read from stdin into PGPASSWORD (never argv or a file). The command
 * provider sends the secret as it is, with no newline: `read` then returns 1 having read it, which `set -e` would make
 * a silent exit 1; only an empty stdin is refused.
 */
function withAdminPassword(command: string): string {
  return `set -eu; IFS= read -r PGPASSWORD || [ -n "\${PGPASSWORD:-}" ] || { echo "the admin password is read from stdin; none arrived" >&2; exit 64; }; export PGPASSWORD; ${command}`;
}

/** pm2-fleet.sh with the plan's fleet file. */
export function fleetCommand(args: string[]): string {
  return script("ops", "pm2-fleet.sh", ["--fleet", PENCOM_PATHS.fleet, ...args]);
}

/** A store's address and port from the stack config. */
export function storeAddress(cfg: PencomConfig, store: PencomStore): { address: string; port: number } {
  switch (store) {
    case "coreDb":
    case "integrationsDb":
      return { address: cfg.postgres.host, port: cfg.postgres.port };
    case "notificationsDb":
      return { address: cfg.mongodb.host, port: cfg.mongodb.port };
    case "redis":
      return { address: cfg.redis.host, port: cfg.redis.port };
    case "oracle":
      return { address: cfg.oracle.host, port: cfg.oracle.port };
  }
}

/** One ecosystem app per service, from the inventory; its definition digest lets pm2-fleet.sh see what changed. */
export function pencomPm2Apps(cfg: PencomConfig, paths: FleetPaths = PENCOM_PATHS, services: readonly PencomService[] = PENCOM_SERVICES): Pm2App[] {
  return services.map((s) => {
    const app: Pm2App = {
      name: s.name,
      script: s.script,
      cwd: cfg.app.dir,
      instances: 1,
      // The secrets stay in the 0600 file; node reads it itself (PM2's `env` is shown by `pm2 env`).
      nodeArgs: [`--env-file=${pencomEnvPath(s.name, paths.envDir)}`],
      env: { NODE_ENV: cfg.app.nodeEnv },
      killTimeoutMs: cfg.app.killTimeoutMs,
    };
    const definition = createHash("sha256").update(JSON.stringify(app)).digest("hex").slice(0, 16);
    return { ...app, env: { ...app.env, LAZARUS_DEFINITION: definition } };
  });
}

export function pencomFleetFile(cfg: PencomConfig, apps: Pm2App[], paths: FleetPaths = PENCOM_PATHS): FleetFile {
  return {
    user: cfg.app.user,
    ecosystem: paths.ecosystem,
    readyTimeoutSeconds: cfg.app.readyTimeoutSeconds,
    tiers: pencomStartTiers(),
    services: Object.fromEntries(
      PENCOM_SERVICES.map((s) => [
        s.name,
        {
          ready: readinessUrl(cfg.services[s.name]!),
          envFile: pencomEnvPath(s.name, paths.envDir),
          definition: apps.find((a) => a.name === s.name)!.env!.LAZARUS_DEFINITION!,
          needs: s.needs,
          degradesWithout: s.degradesWithout,
        },
      ]),
    ),
    stores: Object.fromEntries((Object.keys(PENCOM_STORES) as PencomStore[]).map((k) => [k, { title: PENCOM_STORES[k].title, ...storeAddress(cfg, k) }])),
  };
}

function operationCommand(op: PencomOperation, cfg: PencomConfig): string {
  switch (op.action) {
    case "start-all":
      return fleetCommand(["start-all"]);
    case "graceful-shutdown":
      return fleetCommand(["stop-all"]);
    case "restart-service":
      return fleetCommand(["restart", op.service]);
    case "start-service":
      return fleetCommand(["start", op.service]);
    case "stop-service":
      return fleetCommand(["stop", op.service]);
    case "status":
      return fleetCommand(["status"]);
    case "retry-failed-jobs":
      // Redis's password comes from core's .env on the host (root reads it), never the command line.
      return script("ops", "bullmq-retry-failed.sh", [
        "--env-file", pencomEnvPath("core"),
        "--node-modules", `${cfg.app.dir}/node_modules`,
        "--prefix", cfg.redis.queuePrefix,
        "--queue", op.queue,
      ]);
  }
}

/** The name of the MongoDB database a notifications restore creates beside the live one. */
export function restoredMongoDatabase(cfg: PencomConfig, label: string): string {
  return `${cfg.mongodb.database}_restore_${label}`.slice(0, 63);
}

export function planPencom(cfg: PencomConfig, ctx: PlanContext): PencomPlan {
  const { stack } = ctx;
  const names = pencomNames(stack);
  const user = cfg.app.user;
  const apps = renderedFrom("services", () => pencomPm2Apps(cfg));
  const fleet = pencomFleetFile(cfg, apps);
  const mongoRestore = cfg.recovery.notificationsDatabase;
  const coreRestore = cfg.recovery.coreDatabase;
  const hostNeeds = {
    deployDir: cfg.app.dir,
    runtimeCommands: ["node", "npm", "curl", "timeout", "runuser", "psql", "pg_restore", ...(mongoRestore ? ["mongorestore", "mongosh"] : [])],
  };
  const files: Record<string, string> = {
    [PENCOM_PATHS.ecosystem]: renderedFrom("services", () => renderPm2Ecosystem({ apps })),
    [PENCOM_PATHS.fleet]: `${JSON.stringify(fleet, null, 2)}\n`,
  };
  // The .env renderer refuses names and values it cannot write; the plain part is checked now, with its key.
  renderedFrom("app.nodeEnv", () => renderEnvFile({ NODE_ENV: cfg.app.nodeEnv }));
  const envFiles = Object.fromEntries(PENCOM_SERVICES.map((s) => [s.name, pencomEnvPath(s.name)]));
  const lr = cfg.pm2.logrotate;

  const plan: PencomPlan = {
    stack,
    names,
    host: {
      name: names.host,
      platform: "pencom",
      placement: cfg.host,
      needs: hostNeeds,
      // Never used: Pencom's servers already exist (no cloud-init runs on them).
      userData: "",
      publicPorts: [],
      sshKeySecret: "pencomSshPrivateKey",
    },
    user,
    files,
    envFiles,
    config: cfg,
    commands: {
      hostSetup: script("ops", "pm2-host-setup.sh", [
        "--user", user,
        "--app-dir", cfg.app.dir,
        "--pm2-version", cfg.pm2.version,
        "--logrotate-version", lr.version,
        "--logrotate-max-size", lr.maxSize,
        "--logrotate-retain", lr.retain,
        "--logrotate-compress", String(lr.compress),
      ]),
      handOver: shellJoin(["bash", "-c", 'set -eu; u=$1; shift; for f in "$@"; do chown "$u:" "$f"; chmod 0600 "$f"; done', "hand-over", user, ...Object.values(envFiles)]),
      deploy: fleetCommand(["deploy"]),
    },
    operations: cfg.operations.map((op) => ({ id: op.id, command: renderedFrom("operations", () => operationCommand(op, cfg)) })),
    recovery: {},
  };
  const pitr = renderedFrom("postgres.pitr", () => pencomPitr(cfg));
  if (pitr && cfg.postgres.pitr) {
    plan.postgresServer = {
      name: `${names.prefix}-postgres`,
      server: cfg.postgres.pitr.server,
      needs: { deployDir: cfg.postgres.pitr.scratchRoot, runtimeCommands: pitr.runtimeCommands },
      files: pitr.files,
      setup: pitr.setup,
    };
    const offsite = cfg.postgres.pitr.offsite;
    if (offsite) plan.postgresServer.offsite = { bucket: offsite.bucket, region: offsite.region, existing: offsite.existing, secretsFile: PENCOM_PITR_PATHS.secrets };
    const rebuild = cfg.recovery.postgresServer;
    if (rebuild?.done) {
      plan.postgresServer.rebuild = { label: rebuild.label };
    } else if (rebuild) {
      plan.postgresServer.rebuild = { label: rebuild.label, restore: renderedFrom("recovery.postgresServer", () => pencomServerRestoreCommand(cfg, { pointInTime: rebuild.pointInTime })) };
    }
  }
  if (coreRestore?.swapIn !== undefined) {
    const pg = cfg.postgres;
    plan.recovery.coreSwapIn = {
      label: coreRestore.label,
      swapIn: coreRestore.swapIn,
      stop: fleetCommand(["stop", "core"]),
      swap: withAdminPassword(script("backup", "pg-restore.sh", ["--host", pg.host, "--port", pg.port, "--username", pg.adminUser, ...swapInArgs(pg.core.database, coreRestore.swapIn)])),
      start: fleetCommand(["start", "core"]),
    };
  } else if (coreRestore?.pointInTime !== undefined) {
    plan.recovery.coreDatabase = {
      label: coreRestore.label,
      cutover: coreRestore.cutover,
      on: "postgres",
      restore: renderedFrom("recovery.coreDatabase.pointInTime", () => pencomPitrRestoreCommand(cfg, { label: coreRestore.label, pointInTime: coreRestore.pointInTime! })),
    };
  } else if (coreRestore?.backup !== undefined) {
    const pg = cfg.postgres;
    plan.recovery.coreDatabase = {
      label: coreRestore.label,
      cutover: coreRestore.cutover,
      on: "app",
      // Beside the live database, never into it (the seed's `psql ... < backup.sql`), as the admin role (it creates the
      // database with the live one's owner and restores ownership); the password on stdin.
      restore: withAdminPassword(script("backup", "pg-restore.sh", [
        "--host", pg.host, "--port", pg.port, "--username", pg.adminUser, "-d", pg.core.database, coreRestore.backup,
      ])),
    };
  }
  if (mongoRestore) {
    const m = cfg.mongodb;
    const restoredDatabase = restoredMongoDatabase(cfg, mongoRestore.label);
    plan.recovery.notificationsDatabase = {
      label: mongoRestore.label,
      restoredDatabase,
      cutover: mongoRestore.cutover,
      stop: fleetCommand(["stop", "notifications"]),
      start: fleetCommand(["start", "notifications"]),
      restore: script("ops", "mongo-restore-beside.sh", [
        "--host", m.host, "--port", m.port, "--username", m.user, "--auth-db", m.authSource,
        "--from-db", m.database, "--to-db", restoredDatabase, mongoRestore.archive,
      ]),
    };
  }
  plan.files[PENCOM_PATHS.runbook] = renderedFrom("operations", () => pencomRunbook(cfg, stack, plan));
  return plan;
}

// ---- secret composition (declare time) --------------------------------------------------------------------------

export interface PencomSecrets {
  coreDbPassword: string;
  integrationsDbPassword: string;
  mongoPassword: string;
  redisPassword: string;
  oraclePassword: string;
  /** KEY=value lines: the application's own secrets. */
  appEnv: string;
}

/** The `pencomAppEnv` secret as variables; refuses (naming the secret, never a value) what is not KEY=value lines. */
export function parseAppEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  // An unset secret in the offline plan is a placeholder, not lines.
  if (isSecretPlaceholder(text)) return out;
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim() || line.trimStart().startsWith("#")) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`secret pencomAppEnv: line ${i + 1} is not KEY=value (example: JWT_SECRET=...); the value is not shown`);
    out[m[1]!] = m[2]!.replace(/^"(.*)"$/, "$1");
  });
  return out;
}

const pgUrl = (user: string, password: string, host: string, port: number, db: string, sslmode: string) =>
  `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host.includes(":") ? `[${host}]` : host}:${port}/${encodeURIComponent(db)}?sslmode=${sslmode}`;

/**
 * One service's .env: NODE_ENV and PORT, the application's secrets, and the connection settings of the stores it uses
 * (a service gets only its own database's credentials). `databases` overrides the database names after a cutover.
 */
export function pencomEnvFile(
  cfg: PencomConfig,
  service: string,
  secrets: PencomSecrets,
  databases: { core?: string; notifications?: string } = {},
): string {
  const s = PENCOM_SERVICES.find((x) => x.name === service);
  if (!s) throw new Error(`unknown Pencom service ${service}`);
  const uses = new Set<PencomStore>([...s.needs, ...s.degradesWithout]);
  const pg = cfg.postgres;
  const vars: Record<string, string> = { ...parseAppEnv(secrets.appEnv), NODE_ENV: cfg.app.nodeEnv, PORT: String(cfg.services[service]!.port) };
  if (uses.has("coreDb")) {
    vars.DATABASE_URL = pgUrl(pg.core.user, secrets.coreDbPassword, pg.host, pg.port, databases.core ?? pg.core.database, pg.sslmode);
  }
  if (uses.has("integrationsDb")) {
    vars.DATABASE_URL = pgUrl(pg.integrations.user, secrets.integrationsDbPassword, pg.host, pg.port, pg.integrations.database, pg.sslmode);
  }
  if (uses.has("notificationsDb")) {
    const m = cfg.mongodb;
    vars.MONGODB_URI = `mongodb://${encodeURIComponent(m.user)}:${encodeURIComponent(secrets.mongoPassword)}@${m.host}:${m.port}/${databases.notifications ?? m.database}?authSource=${m.authSource}`;
  }
  if (uses.has("redis")) {
    Object.assign(vars, { REDIS_HOST: cfg.redis.host, REDIS_PORT: String(cfg.redis.port), REDIS_DB: String(cfg.redis.db), REDIS_PASSWORD: secrets.redisPassword, BULLMQ_PREFIX: cfg.redis.queuePrefix });
  }
  if (uses.has("oracle")) {
    const o = cfg.oracle;
    Object.assign(vars, { ORACLE_CONNECT_STRING: `${o.host}:${o.port}/${o.serviceName}`, ORACLE_USER: o.user, ORACLE_PASSWORD: secrets.oraclePassword });
  }
  return renderEnvFile(vars, { header: `Rendered by Lazarus for ${service} from the stack config and Pulumi secrets; do not edit on the host (pulumi up rewrites it).` });
}

/** The restored database a pg-restore.sh result line names (its `restored_database`). */
export function restoredDatabaseFrom(stdout: string): string | undefined {
  for (const line of stdout.trim().split("\n").reverse()) {
    try {
      const r = JSON.parse(line) as { status?: string; restored_database?: string };
      if (r.status === "ok" && typeof r.restored_database === "string" && /_restore_\d{14}$/.test(r.restored_database)) return r.restored_database;
    } catch {
      // not the result line
    }
  }
  return undefined;
}
