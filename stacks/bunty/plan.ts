// Bunty's plan (runbook 003): everything the platform declares, computed from the stack config alone and validated
// before any resource exists. `declare.ts` only turns it into resources. Secret values (the .env, Redis's ACL file,
// the database password) are composed at declare time by the pure functions at the end of this file.
import { renderedFrom } from "../../config/planInput";
import { HOST_LAYOUT, tlsPaths } from "../../lib/hostLayout";
import { certIssueCommand, certRenewCommand } from "../../lib/opsCommands";
import { shellJoin } from "../../lib/shell";
import { renderCloudInit } from "../../renderers/cloudInit";
import { renderEnvFile } from "../../renderers/envFile";
import { renderNginxConf, type NginxConfInput } from "../../renderers/nginx";
import { renderPm2Ecosystem } from "../../renderers/pm2Ecosystem";
import { renderRedisConf } from "../../renderers/redisConf";
import { renderSystemdTimer } from "../../renderers/systemdTimer";
import type { ManagedPostgresArgs } from "../../components/managedPostgres";
import { restoreArgs } from "../../config/shared";
import type { HostPlan } from "../host";
import type { PlanContext } from "../platform";
import type { BuntyConfig, BuntyOperation } from "./config";
import { buntyRunbookMarkdown } from "./runbook";
import { BUNTY_PGBACKREST_SECRETS, buntyPitr } from "./pitr";
import { spacesEndpoint } from "../../config/primitives";

/** The runbook's login user: every procedure starts with `ssh deploy@<ip>` and runs pm2 as it. */
export const BUNTY_DEPLOY_USER = "deploy";
/** Host paths that are not the release directory (a rollback swaps that one; these stay). */
export const BUNTY_PATHS = {
  ecosystem: "/etc/bunty/ecosystem.config.js",
  nginxConf: "/etc/nginx/nginx.conf",
  redisConf: "/etc/redis/redis.conf",
  redisAcl: "/etc/redis/users.acl",
  /** The page nginx serves (503) while the backend is down: emergency shutdown, restarts, a crashed app. */
  maintenanceRoot: "/var/www/bunty-maintenance",
  maintenancePage: "maintenance.html",
  /** The runbook's Data Recovery reads /var/backups/bunty/bunty-latest.sql.gz. */
  backupDir: "/var/backups/bunty",
  /** The runbook's Data Recovery file: the latest backup as gzipped plain SQL. */
  plainBackup: "bunty-latest.sql.gz",
  systemdDir: "/etc/systemd/system",
  /** The JWT secret generation live on the host (rotateJwt). */
  jwtGeneration: "/etc/bunty/jwt-generation",
  /** s3cmd's config with the Spaces key (backups.offsite), 0600 root: the backup jobs read it (S3CMD_CONFIG). */
  s3cfg: "/etc/bunty/s3cfg",
  /** The generated operator runbook (stacks/bunty/runbook.ts). */
  runbook: "/etc/bunty/RUNBOOK.md",
} as const;
/** Backup file names start with it: the runbook's bunty-backup-<date> and bunty-latest. */
export const BUNTY_BACKUP_PREFIX = "bunty";
const REDIS_PORT = 6379;
const HOST_POSTGRES_VERSION = "16"; // Ubuntu 24.04's PostgreSQL

const BUNTY_MAINTENANCE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bunty: down for maintenance</title></head>
<body><h1>Bunty is down for maintenance</h1><p>We are working on it and will be back shortly.</p></body></html>
`;

export function buntyNames(stack: string) {
  const prefix = `bunty-${stack}`;
  return { prefix, host: `${prefix}-host`, database: `${prefix}-db`, certName: prefix };
}

export interface BuntyPlan {
  stack: string;
  names: ReturnType<typeof buntyNames>;
  host: HostPlan;
  app: { name: string; dir: string; port: number };
  /** Rendered files that hold no secret, by absolute path on the host. */
  files: Record<string, string>;
  /** Secret files, composed at declare time; all 0600. With backups.offsite: s3cmd's config and pgBackRest's secrets. */
  secretFiles: { env: string; redisAcl?: string; s3cfg?: string; pgbackrestSecrets?: string };
  /** Redis on the host, or a managed Valkey cluster every droplet shares. */
  redis: BuntyConfig["redis"];
  /**
   * Horizontal scale-out: the clones (droplets from the snapshot, each a host of the same software, steps and per-host
   * operations as the seed host) and the load balancer in front of all of them.
   */
  clones: HostPlan[];
  balancer?: {
    name: string;
    certificateName: string;
    domain: string;
    /** The health URL's path, checked on the app's own port of every droplet (the balancer sends no Host header). */
    healthPath: string;
    appPort: number;
  };
  /** The off-site bucket (backups.offsite): declared unless `existing`. */
  offsite?: NonNullable<BuntyConfig["backups"]["offsite"]>;
  postgres: BuntyConfig["postgres"];
  /** The managed cluster's restore switch, as the cluster component takes it. */
  databaseRestore: ManagedPostgresArgs["restore"];
  /** .env values that are not secret (feature flags, NODE_ENV, PORT, ...), in file order. */
  plainEnv: Record<string, string>;
  commands: {
    /** The deploy user, PM2 (pinned), pm2-logrotate with the runbook's settings, PM2 started at boot. */
    hostSetup: string;
    /** Hands the secret files to the users that read them. */
    handOver: string;
    /** PostgreSQL on the host: role, database and pg_stat_statements (password on stdin). */
    postgresSetup?: string;
    /** PostgreSQL on the host: WAL archiving and scheduled backups with pgBackRest (stacks/bunty/pitr.ts). */
    pitrSetup?: string;
    /** Redis on the host only. */
    redisRestart?: string;
    /** Starts (or reloads) the app from the ecosystem file and saves PM2's list for the boot unit. */
    pm2Start: string;
    /** Loads the backup timers and enables them (systemd). */
    backupTimers: string;
    /**
     * Behind the load balancer, on every droplet: certbot's renewal timer off (HTTP-01 cannot reach one droplet through
     * the balancer; the balancer's certificate is DigitalOcean's). On a clone also the seed's backup timers the
     * snapshot carried: backups run once, on the seed.
     */
    behindBalancer?: { seed: string; clone: string };
    /** nginx -t, then enable and reload nginx under systemd. */
    nginxReload: string;
    restartNginx: string;
    certIssue: string;
  };
  /** `everyHost`: acts on one machine's app (restart, rollback, shutdown), so it runs on every droplet; else once. */
  operations: { id: string; command: string; everyHost: boolean }[];
  /**
   * A JWT secret generation after the first: a once-step, after the app has restarted with the new .env, that records
   * the generation on the host (/etc/bunty/jwt-generation) and in the journal. Its name carries the generation, so the
   * preview shows the rotation as a new step, and the policy pack finds it (destructive-confirmed).
   */
  jwtRotation?: { generation: number; key: string; command: string };
  /** PostgreSQL on the host: restore beside the live database, then (with swapIn) the cutover; each step once. */
  hostDatabaseRecovery: { key: string; command: string }[];
  outputs: { urls: string[]; healthUrl: string };
}

/** Runs a command as the deploy user with its own HOME (PM2 keeps its list and logs under ~/.pm2). */
export function asDeploy(words: string[]): string {
  return shellJoin(["sudo", "-u", BUNTY_DEPLOY_USER, "-H", "--", ...words]);
}

function script(name: string, args: (string | number)[]): string {
  return shellJoin(["bash", `${HOST_LAYOUT.scriptsRoot}/ops/${name}`, ...args]);
}

function pm2App(cfg: BuntyConfig, action: "start" | "restart" | "stop"): string {
  return script("pm2-app.sh", ["--user", BUNTY_DEPLOY_USER, "--ecosystem", BUNTY_PATHS.ecosystem, "--app", cfg.app.name, action]);
}

/** The runbook's psql / redis-cli procedures, with the connections read from the app's .env (scripts/ops/app-data.sh). */
function appData(cfg: BuntyConfig, action: (string | number)[]): string {
  return script("app-data.sh", ["--env-file", `${cfg.app.dir}/.env`, "--backup-dir", BUNTY_PATHS.backupDir, "--backup-prefix", BUNTY_BACKUP_PREFIX, ...action]);
}

/**
 * Where pg-backup.sh copies each logical backup and its checksum (backups.offsite): plain values only (unit files are
 * world-readable); the key is in s3cmd's 0600 config file. Empty without an off-site bucket.
 */
export function buntyOffsiteEnv(cfg: BuntyConfig): Record<string, string> {
  const o = cfg.backups.offsite;
  if (!o) return {};
  const endpoint = spacesEndpoint(o.region);
  return {
    S3_URL: `s3://${o.bucket}/${o.prefix.replace(/\/+$/, "")}`,
    S3_ENDPOINT: endpoint,
    // the bucket's own virtual host (systemd's Environment= cannot carry s3cmd's %(bucket)s template)
    S3_HOST_BUCKET: `${o.bucket}.${endpoint}`,
    S3_REGION: o.region,
    S3CMD_CONFIG: BUNTY_PATHS.s3cfg,
  };
}

/** The daily backup and the weekly verification as systemd timers (UTC), from the app's .env like the operations. */
function backupTimerFiles(cfg: BuntyConfig): { files: Record<string, string>; units: string[] } {
  const bash = (words: (string | number)[]) => ["/bin/bash", `${HOST_LAYOUT.scriptsRoot}/ops/app-data.sh`, "--env-file", `${cfg.app.dir}/.env`, "--backup-dir", BUNTY_PATHS.backupDir, ...words.map(String)];
  const b = cfg.backups;
  const jobs = [
    renderedFrom("backups", () => ({
      name: "bunty-backup",
      units: renderSystemdTimer({
        name: "bunty-backup",
        description: "Bunty daily logical backup",
        command: bash(["--backup-prefix", BUNTY_BACKUP_PREFIX, "--retention-days", b.retentionDays, "--plain-copy", BUNTY_PATHS.plainBackup, "backup"]),
        onCalendar: `*-*-* ${b.dailyAt}:00 UTC`,
        after: ["network-online.target"],
        // a failed upload fails the run (75), the local backup kept: the journal and list-timers show it
        environment: buntyOffsiteEnv(cfg),
      }),
    })),
    renderedFrom("backups", () => ({
      name: "bunty-backup-verify",
      units: renderSystemdTimer({
        name: "bunty-backup-verify",
        description: "Bunty weekly backup verification",
        command: bash(["verify"]),
        onCalendar: `${b.verifyOn} *-*-* ${b.verifyAt}:00 UTC`,
        after: ["network-online.target"],
      }),
    })),
  ];
  const files: Record<string, string> = {};
  for (const j of jobs) {
    files[`${BUNTY_PATHS.systemdDir}/${j.name}.service`] = j.units.service;
    files[`${BUNTY_PATHS.systemdDir}/${j.name}.timer`] = j.units.timer;
  }
  return { files, units: jobs.map((j) => `${j.name}.timer`) };
}

function hostDatabaseRecovery(cfg: BuntyConfig): { key: string; command: string }[] {
  const r = cfg.recovery.hostDatabase;
  if (!r) return [];
  const steps = [{ key: `restore-beside-${r.label}`, command: appData(cfg, ["restore-beside", r.backup]) }];
  if (r.swapIn) {
    // The swap ends the app's sessions; a restart gives it fresh connections to the restored database at once.
    steps.push({ key: `swap-in-${r.label}`, command: `set -e; ${appData(cfg, ["swap-in", r.swapIn])}; ${pm2App(cfg, "restart")}` });
  }
  return steps;
}

/** The record of a JWT rotation (the .env already carries the new secret; PM2 reloaded the app with it). */
export function jwtRotationStep(generation: number): { generation: number; key: string; command: string } {
  return {
    generation,
    key: `jwt-generation-${generation}`,
    command: shellJoin([
      "bash",
      "-c",
      "set -eu; printf '%s\\n' \"$2\" > \"$1\"; logger -t lazarus \"bunty: JWT secret generation $2 is live; sessions signed with an earlier secret are invalid (users log in again)\"",
      "jwt-rotation",
      BUNTY_PATHS.jwtGeneration,
      String(generation),
    ]),
  };
}

function operationCommand(op: BuntyOperation, cfg: BuntyConfig, stack: string): string {
  switch (op.action) {
    case "restart":
    case "start":
      return pm2App(cfg, op.action);
    case "emergency-shutdown":
      // The seed stops nginx too, and then expects it to serve a maintenance page: only the app stops here; nginx
      // answers every request with the maintenance page (503) while the upstream refuses.
      return pm2App(cfg, "stop");
    case "rollback":
      return script("pm2-rollback.sh", ["--dir", cfg.app.dir, "--user", BUNTY_DEPLOY_USER, "--ecosystem", BUNTY_PATHS.ecosystem, "--app", cfg.app.name]);
    case "renew-certificate":
      return certRenewCommand({ force: op.force, systemdUnit: "nginx", certName: buntyNames(stack).certName, acmeServer: cfg.tls.acmeServer });
    case "flush-cache":
    case "analyze":
    case "vacuum-analyze":
    case "reindex":
      return appData(cfg, [op.action]);
    case "terminate-query":
      return appData(cfg, ["terminate", op.pid]);
    case "backup-now": {
      // copied off-site like the daily one
      const env = Object.entries(buntyOffsiteEnv(cfg)).map(([k, v]) => `${k}=${v}`);
      return env.length ? `${shellJoin(["env", ...env])} ${appData(cfg, ["backup"])}` : appData(cfg, ["backup"]);
    }
    case "migrate":
      return appData(cfg, ["migrate", op.file]);
  }
}

/** The host nginx: the API's site in front of the app on loopback, the maintenance page when the app cannot answer. */
export function buntyNginxInput(cfg: BuntyConfig, stack: string): NginxConfInput {
  // Behind the balancer, which terminates TLS and redirects plain HTTP, every droplet serves the site on port 80.
  const behindBalancer = cfg.scaleOut !== undefined;
  return {
    upstreams: [{ name: "bunty_backend", host: "127.0.0.1", port: cfg.app.port }],
    resolution: { mode: "static" },
    acmeWebroot: HOST_LAYOUT.acmeWebroot,
    // The API only: the frontend (bunty.io) is served elsewhere (the runbook names Vercel); its certificate is not ours.
    sites: [
      {
        serverNames: [cfg.domains.api],
        tls: behindBalancer ? "none" : tlsPaths(buntyNames(stack).certName),
        httpToHttps: !behindBalancer,
        routes: [{ path: "/", upstream: "bunty_backend" }],
        maintenance: { root: BUNTY_PATHS.maintenanceRoot, page: BUNTY_PATHS.maintenancePage },
      },
    ],
  };
}

/** Operations that act on one machine's app: with scale-out they run on every droplet. The rest act on shared data. */
const PER_HOST_ACTIONS: ReadonlySet<BuntyOperation["action"]> = new Set(["restart", "start", "rollback", "emergency-shutdown", "renew-certificate"]);

/** The clones of scale-out: droplets from the snapshot, the seed's host plan otherwise (one list, derived once). */
function clonePlans(cfg: BuntyConfig, seed: HostPlan): HostPlan[] {
  const so = cfg.scaleOut;
  if (!so) return [];
  const byId = /^\d+$/.test(so.fromSnapshot);
  return Array.from({ length: so.count }, (_, i) => ({
    ...seed,
    name: `${seed.name.replace(/-host$/, "")}-clone-${i + 1}`,
    // A clone holds no data (PostgreSQL and Redis are managed): it may be replaced or removed by a lower count, so it
    // is disposable (droplet and reserved IP unprotected), built from the snapshot like a rebuild (DropletHost), and
    // the seed's uptime check is not repeated.
    rebuild: byId
      ? { fromSnapshot: so.fromSnapshot, done: false }
      : { fromSnapshot: "latest", snapshotNameRegex: `^${so.fromSnapshot.replace(/[.]/g, "\\.")}$`, done: false },
    healthUrl: undefined,
    latencyAlertMs: undefined,
    disposable: true,
  }));
}

export function planBunty(cfg: BuntyConfig, ctx: PlanContext): BuntyPlan {
  const { stack } = ctx;
  const names = buntyNames(stack);
  const dir = cfg.app.dir;
  const onHostPostgres = cfg.postgres.where === "host";
  const hostNeeds = { deployDir: dir, deployOwner: `${BUNTY_DEPLOY_USER}:${BUNTY_DEPLOY_USER}`, acmeWebroot: HOST_LAYOUT.acmeWebroot };
  const onHostRedis = cfg.redis.where === "host";
  // redis-tools: redis-cli for flush-cache against a managed cluster
  // zstd: pg-backup.sh's archives (.dump.zst) are written and read through it.
  const packages = ["nginx", "nodejs", "npm", onHostRedis ? "redis-server" : "redis-tools", "postgresql-client", "zstd", ...(onHostPostgres ? [`postgresql-${HOST_POSTGRES_VERSION}`] : [])];

  const files: Record<string, string> = {
    [BUNTY_PATHS.ecosystem]: renderedFrom("app", () =>
      renderPm2Ecosystem({
        apps: [{ name: cfg.app.name, script: cfg.app.script, cwd: dir, instances: cfg.app.instances, maxMemoryRestart: cfg.app.maxMemory, env: { NODE_ENV: "production", PORT: String(cfg.app.port) }, killTimeoutMs: 10000 }],
      }),
    ),
    [BUNTY_PATHS.nginxConf]: renderedFrom("domains", () => renderNginxConf(buntyNginxInput(cfg, stack))),
    [`${BUNTY_PATHS.maintenanceRoot}/${BUNTY_PATHS.maintenancePage}`]: BUNTY_MAINTENANCE_PAGE,
  };
  if (onHostRedis) files[BUNTY_PATHS.redisConf] = renderedFrom("redis", () =>
      renderRedisConf(
        {
          bind: ["127.0.0.1", "::1"],
          port: REDIS_PORT,
          dir: "/var/lib/redis",
          maxmemoryMb: 256,
          maxmemoryPolicy: "allkeys-lru",
          appendonly: true,
          appendfsync: "everysec",
          aclfile: BUNTY_PATHS.redisAcl,
          logfile: "",
          daemonize: false,
          pidfile: "/run/redis/redis-server.pid",
        },
      ),
    );
  const timers = backupTimerFiles(cfg);
  Object.assign(files, timers.files);
  files[BUNTY_PATHS.runbook] = renderedFrom("operations", () => buntyRunbookMarkdown(cfg, stack));
  if (onHostPostgres) {
    // pg_stat_statements must be preloaded before CREATE EXTENSION works (the runbook's slow-query procedure).
    files[`/etc/postgresql/${HOST_POSTGRES_VERSION}/main/conf.d/lazarus.conf`] =
      "# Rendered by Lazarus: the runbook's slow-query procedure reads pg_stat_statements.\nlisten_addresses = 'localhost'\nshared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = top\n";
  }
  const pitr = renderedFrom("postgres", () => buntyPitr(cfg, HOST_POSTGRES_VERSION));
  if (pitr) Object.assign(files, pitr.files);

  const flags = Object.fromEntries(Object.entries(cfg.app.featureFlags).map(([k, v]) => [k, String(v)]));
  const plainEnv = { NODE_ENV: "production", PORT: String(cfg.app.port), ...cfg.app.env, ...flags };
  // The .env renderer refuses names and values it cannot write; check them now, with the keys that hold them.
  renderedFrom("app.env", () => renderEnvFile(plainEnv));

  const lr = cfg.pm2.logrotate;
  const tlsCommon = { systemdUnit: "nginx", certName: names.certName, acmeServer: cfg.tls.acmeServer };
  const plan: BuntyPlan = {
    stack,
    names,
    host: {
      name: names.host,
      platform: "bunty",
      placement: cfg.host,
      needs: hostNeeds,
      userData: renderedFrom("host", () =>
        renderCloudInit({ ...hostNeeds, packages, users: [{ name: BUNTY_DEPLOY_USER, shell: "/bin/bash" }] }),
      ),
      // behind the balancer nothing is public: its firewall admits the balancer to nginx and to the app's health
      publicPorts: cfg.scaleOut ? [] : [80, 443],
      healthUrl: cfg.healthUrl,
      latencyAlertMs: cfg.latencyAlertMs,
      sshKeySecret: "buntySshPrivateKey",
      // CPU and memory only: a disk never shrinks, and a grown disk would make every resize a one-way door.
      resizeDisk: false,
    },
    app: { name: cfg.app.name, dir, port: cfg.app.port },
    redis: cfg.redis,
    clones: [],
    ...(cfg.scaleOut ? { balancer: { name: `${names.prefix}-lb`, certificateName: `${names.prefix}-api`, domain: cfg.domains.api, healthPath: new URL(cfg.healthUrl).pathname, appPort: cfg.app.port } } : {}),
    files,
    secretFiles: {
      env: `${dir}/.env`,
      ...(onHostRedis ? { redisAcl: BUNTY_PATHS.redisAcl } : {}),
      ...(cfg.backups.offsite ? { s3cfg: BUNTY_PATHS.s3cfg } : {}),
      ...(cfg.backups.offsite && pitr ? { pgbackrestSecrets: BUNTY_PGBACKREST_SECRETS } : {}),
    },
    ...(cfg.backups.offsite ? { offsite: cfg.backups.offsite } : {}),
    postgres: cfg.postgres,
    databaseRestore: restoreArgs(cfg.recovery.database),
    plainEnv,
    commands: {
      hostSetup: script("pm2-host-setup.sh", [
        "--user", BUNTY_DEPLOY_USER,
        "--app-dir", dir,
        "--pm2-version", cfg.pm2.version,
        "--logrotate-version", lr.version,
        "--logrotate-max-size", lr.maxSize,
        "--logrotate-retain", lr.retain,
        "--logrotate-compress", String(lr.compress),
      ]),
      // owner and file, in pairs: the .env to deploy, the ACL to redis, pgBackRest's secrets to postgres
      handOver: shellJoin([
        "bash",
        "-c",
        'set -eu; while [ "$#" -gt 0 ]; do chown "$1" "$2"; chmod 0600 "$2"; shift 2; done',
        "hand-over",
        `${BUNTY_DEPLOY_USER}:${BUNTY_DEPLOY_USER}`,
        `${dir}/.env`,
        ...(onHostRedis ? ["redis:redis", BUNTY_PATHS.redisAcl] : []),
        ...(cfg.backups.offsite && pitr ? ["postgres:postgres", BUNTY_PGBACKREST_SECRETS] : []),
      ]),
      ...(cfg.postgres.where === "host"
        ? { postgresSetup: script("pg-host-setup.sh", ["--database", cfg.postgres.databaseName, "--user", cfg.postgres.userName, "--extension", "pg_stat_statements", "--createdb"]) }
        : {}),
      ...(pitr ? { pitrSetup: pitr.setup } : {}),
      ...(onHostRedis ? { redisRestart: "set -eu; systemctl enable redis-server; systemctl restart redis-server" } : {}),
      backupTimers: shellJoin(["bash", "-c", 'set -eu; install -d -m 0700 "$1"; shift; systemctl daemon-reload; systemctl enable --now "$@"', "backup-timers", BUNTY_PATHS.backupDir, ...timers.units]),
      pm2Start: pm2App(cfg, "start"),
      ...(cfg.scaleOut
        ? {
            behindBalancer: {
              seed: "set -eu; systemctl disable --now certbot.timer 2>/dev/null || true",
              clone: `set -eu; systemctl disable --now certbot.timer 2>/dev/null || true; systemctl disable --now ${timers.units.join(" ")} ${pitr ? pitr.units.filter((u) => u.endsWith(".timer")).join(" ") : ""} 2>/dev/null || true`.replace(/ {2,}/g, " "),
            },
          }
        : {}),
      nginxReload: "set -eu; nginx -t; systemctl enable nginx; systemctl reload-or-restart nginx",
      restartNginx: "systemctl restart nginx",
      certIssue: certIssueCommand({ domains: [cfg.domains.api], email: cfg.tls.email, webroot: HOST_LAYOUT.acmeWebroot, ...tlsCommon }),
    },
    operations: cfg.operations.map((op) => ({ id: op.id, command: renderedFrom("operations", () => operationCommand(op, cfg, stack)), everyHost: PER_HOST_ACTIONS.has(op.action) })),
    hostDatabaseRecovery: hostDatabaseRecovery(cfg),
    ...(cfg.rotateJwt.generation > 1 ? { jwtRotation: jwtRotationStep(cfg.rotateJwt.generation) } : {}),
    outputs: { urls: [`https://${cfg.domains.api}`], healthUrl: cfg.healthUrl },
  };
  plan.clones = clonePlans(cfg, plan.host);
  return plan;
}

/**
 * pg_stat_statements in the app's database on a managed cluster (the seed's slow-query procedure reads it). DigitalOcean
 * ships the extension preloaded; creating it needs the cluster's admin user, whose password arrives on stdin (never in
 * argv or the command text). Run from the app host, which the cluster's firewall admits. Idempotent.
 */
export function managedExtensionCommand(c: { host: string; port: number; adminUser: string; database: string; sslmode?: "require" | "disable" }): string {
  return shellJoin([
    "bash",
    "-c",
    // The command provider sends the secret as it is, with no newline: `read` then returns 1 having read it, which
    // `set -e` would turn into a silent exit 1 (found under the real engine for Pencom's restore); only an empty stdin is refused.
    'set -euo pipefail; IFS= read -r PGPASSWORD || [ -n "${PGPASSWORD:-}" ] || { echo "the admin password is read from stdin; none arrived" >&2; exit 64; }; export PGPASSWORD PGSSLMODE="$5"; psql -X -q -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U "$3" -d "$4" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"',
    "pg-stat-statements",
    c.host,
    String(c.port),
    c.adminUser,
    c.database,
    c.sslmode ?? "require",
  ]);
}

/** DATABASE_URL for the app: TLS required on a managed cluster, local socket-free TCP on the host. */
export function buntyDatabaseUrl(db: { host: string; port: number; name: string; user: string; password: string; tls: boolean }): string {
  const auth = `${encodeURIComponent(db.user)}:${encodeURIComponent(db.password)}`;
  return `postgresql://${auth}@${db.host}:${db.port}/${encodeURIComponent(db.name)}${db.tls ? "?sslmode=require" : ""}`;
}

/** The backend's .env: plain values from the plan, then the secrets. Rendered, never appended to (runbook's `echo >>`). */
export function buntyEnvFile(plainEnv: Record<string, string>, secrets: {
  databaseUrl: string;
  /** A managed cluster's rediss://host:port; Redis on the host (loopback) when absent. */
  redisUrl?: string;
  redisPassword: string;
  jwtSecret: string;
  plaidClientId: string;
  plaidSecret: string;
  stripeSecretKey: string;
  stripeWebhookSecret: string;
  silaPrivateKey: string;
}): string {
  return renderEnvFile(
    {
      ...plainEnv,
      DATABASE_URL: secrets.databaseUrl,
      REDIS_URL: secrets.redisUrl ?? `redis://127.0.0.1:${REDIS_PORT}`,
      REDIS_PASSWORD: secrets.redisPassword,
      JWT_SECRET: secrets.jwtSecret,
      PLAID_CLIENT_ID: secrets.plaidClientId,
      PLAID_SECRET: secrets.plaidSecret,
      STRIPE_SECRET_KEY: secrets.stripeSecretKey,
      STRIPE_WEBHOOK_SECRET: secrets.stripeWebhookSecret,
      SILA_PRIVATE_KEY: secrets.silaPrivateKey,
    },
    { header: "Rendered by Lazarus from the stack config and Pulumi secrets; do not edit on the host (pulumi up rewrites it)." },
  );
}
