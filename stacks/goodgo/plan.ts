// GoodGo's plan: everything the platform will declare, computed from the stack config alone and validated before any
// resource exists: every rendered file, the prepare step, the recovery chains, compose, TLS and operations.
// `declare.ts` only turns it into resources.
import { renderedFrom } from "../../config/planInput";
import { HOST_LAYOUT, tlsPaths } from "../../lib/hostLayout";
import { renderBackupCrontab } from "../../renderers/backupSchedule";
import { renderCloudInit } from "../../renderers/cloudInit";
import { renderCompose } from "../../renderers/compose";
import { renderNginxConf } from "../../renderers/nginx";
import { renderRedisConf } from "../../renderers/redisConf";
import { certbotTls, type ChainStep, type ComposeTls } from "../../components/composeDeployment";
import type { HostPlan } from "../host";
import type { PlanContext } from "../platform";
import {
  composeFileLinkCommand,
  composeTarget,
  databaseRestoreSteps,
  hostRecoverySteps,
  operationCommand,
  restartCommand,
  upCommand,
} from "./commands";
import type { GoodgoConfig } from "./config";
import {
  GOODGO_BACKUP_CRONTAB_FILE,
  GOODGO_COMPOSE_FILE,
  GOODGO_NAMED_VOLUMES,
  GOODGO_NGINX_HEALTH_PATH,
  GOODGO_PGBOUNCER_UID,
  GOODGO_PGBOUNCER_USERLIST_FILE,
  GOODGO_REDIS_FILES,
  goodgoEffectiveImageTag,
  goodgoStackInventory,
} from "./inventory";
import { GOODGO_MONITORING_MOUNTS, GOODGO_SECRET_FILES, goodgoMonitoringFiles } from "./monitoring";
import { goodgoRunbookMarkdown } from "./runbook";
import { goodgoRedisSettings } from "./serviceSettings";
import { GOODGO_SECRET_MOUNTS, type GoodgoSecretMount } from "./services";

/** Alertmanager runs as nobody (65534): the webhook file is 0600 and owned by that uid, so only it reads the secret. */
const ALERTMANAGER_UID = 65534;
/** The redis image runs redis-server as uid 999; the 0600 ACL file is handed to it. */
const REDIS_UID = 999;
/**
 * Who reads each container secret file (GOODGO_SECRET_MOUNTS): the user its container runs as, from each image's
 * Dockerfile. 0 (root, no chown: the writer leaves root:root 0600) where the image has no USER: typesense 27.1
 * (docker/deployment.Dockerfile), minio (Dockerfile.release), pg-backup's postgis (its entrypoint runs as root).
 * postgis/postgis:16-3.4 re-execs its entrypoint as postgres (999), grafana/grafana:10.4.1 runs as 472,
 * postgres-exporter v0.15.0 as nobody (65534), redis_exporter v1.58.0 as 59000, edoburu/pgbouncer as 70.
 */
const SECRET_FILE_UIDS: Record<GoodgoSecretMount, number> = {
  postgresPassword: 999,
  pgbouncerAdminPgpass: GOODGO_PGBOUNCER_UID,
  redisPassword: REDIS_UID,
  typesenseConfig: 0,
  minioRootUser: 0,
  minioRootPassword: 0,
  pgBackupPgpass: 0,
  pgBackupS3cfg: 0,
  grafanaAdminPassword: 472,
  postgresExporterPassword: 65534,
  redisExporterPasswords: 59000,
};

export function goodgoNames(stack: string) {
  const prefix = `goodgo-${stack}`;
  return { prefix, host: `${prefix}-host`, software: `${prefix}-software`, bucket: `${prefix}-offsite-backups`, certName: prefix };
}

export function goodgoNginxConfig(cfg: GoodgoConfig, stack: string): string {
  const tls = tlsPaths(goodgoNames(stack).certName);
  const sites = [
    { serverNames: [cfg.app.domain], routes: [{ path: "/api/", upstream: "api" }, { path: "/", upstream: "web" }], tls },
    ...(cfg.app.apiDomain ? [{ serverNames: [cfg.app.apiDomain], routes: [{ path: "/", upstream: "api" }], tls }] : []),
  ];
  return renderedFrom("app.domain", () =>
    renderNginxConf({
      upstreams: [
        { name: "api", host: "api", port: 3001 },
        { name: "web", host: "web", port: 3000 },
      ],
      sites,
      acmeWebroot: HOST_LAYOUT.acmeWebroot,
      healthPath: GOODGO_NGINX_HEALTH_PATH,
    }),
  );
}

/**
 * The droplet's user-data. A full host recovery writes its label into it: DigitalOcean cannot change user-data in
 * place, so a recovery from the base image gets a NEW droplet (a recovery from a snapshot gets one by the image change).
 */
export function goodgoCloudInit(cfg: GoodgoConfig): string {
  const recovery = cfg.recovery.host;
  return renderedFrom("app.deployDir", () =>
    renderCloudInit({
      deployDir: cfg.app.deployDir,
      acmeWebroot: HOST_LAYOUT.acmeWebroot,
      ...(recovery ? { extraFiles: [{ path: "/etc/lazarus/goodgo-host-recovery", content: `${recovery.label}\n` }] } : {}),
    }),
  );
}

/** Every non-secret file of the deploy directory, keyed by absolute path on the host. */
export function goodgoPlainFiles(cfg: GoodgoConfig, stack: string): Record<string, string> {
  const dir = cfg.app.deployDir;
  const inventory = goodgoStackInventory(cfg, stack);
  const files: Record<string, string> = {
    [`${dir}/${GOODGO_COMPOSE_FILE}`]: renderedFrom("app", () => renderCompose({ name: cfg.app.composeProject, services: inventory, volumes: [...GOODGO_NAMED_VOLUMES] })),
  };
  const monitoring = renderedFrom("monitoring", () =>
    goodgoMonitoringFiles({
      stack,
      prometheusRetention: cfg.monitoring.prometheusRetention,
      lokiRetentionDays: cfg.monitoring.lokiRetentionDays,
      slackChannels: cfg.monitoring.slackChannels,
      runbookUrl: cfg.monitoring.runbookUrl,
      dbName: cfg.database.name,
      composeProject: cfg.app.composeProject,
    }),
  );
  for (const [rel, text] of Object.entries(monitoring)) files[`${dir}/monitoring/${rel}`] = text;
  if (cfg.app.exposure === "nginx") files[`${dir}/nginx/nginx.conf`] = goodgoNginxConfig(cfg, stack);
  files[`${dir}/${GOODGO_BACKUP_CRONTAB_FILE}`] = renderedFrom("backups", () =>
    renderBackupCrontab({ backupAt: cfg.backups.backupAt, verifyAt: cfg.backups.verifyAt, scriptsDir: `${HOST_LAYOUT.scriptsRoot}/backup` }),
  );
  files[`${dir}/${GOODGO_REDIS_FILES.conf}`] = renderedFrom("redis", () => renderRedisConf(goodgoRedisSettings({ maxmemoryMb: cfg.redis.maxMemoryMb })));
  files[`${dir}/RUNBOOK.md`] = renderedFrom("operations", () => goodgoRunbookMarkdown(cfg, stack, inventory));
  return files;
}

/** The Slack webhook file as Alertmanager reads it: the monitoring dir is mounted at /etc/alertmanager. */
export function goodgoSlackWebhookPath(cfg: GoodgoConfig): string {
  const m = GOODGO_MONITORING_MOUNTS.alertmanager;
  return `${cfg.app.deployDir}/monitoring/${m.from}${GOODGO_SECRET_FILES.slackWebhook.slice(m.to.length)}`;
}

export interface GoodgoPlan {
  stack: string;
  names: ReturnType<typeof goodgoNames>;
  /** The config the secret files are composed from at declare time (.env, userlist). */
  config: GoodgoConfig;
  host: HostPlan;
  files: Record<string, string>;
  secretFiles: { env: string; slackWebhook: string; redisAcl: string; pgbouncerUserlist: string; containers: Record<GoodgoSecretMount, string> };
  prepare: string;
  recoveryChains: { label: string; run: string; steps: ChainStep[] }[];
  compose: { upCommand: string; imageTag: string };
  tls?: ComposeTls;
  operations: { id: string; command: string }[];
  outputs: { urls: string[] | undefined; healthUrl: string };
}

/** The container secret files handed to a non-root user, with that uid (prepare re-runs when one is rewritten). */
export function goodgoChownedSecretFiles(paths: Record<GoodgoSecretMount, string>): [string, number][] {
  return (Object.keys(paths) as GoodgoSecretMount[]).filter((k) => SECRET_FILE_UIDS[k] !== 0).map((k) => [paths[k], SECRET_FILE_UIDS[k]]);
}

export function planGoodgo(cfg: GoodgoConfig, ctx: PlanContext): GoodgoPlan {
  const { stack } = ctx;
  const names = goodgoNames(stack);
  const nginx = cfg.app.exposure === "nginx";
  const inventory = renderedFrom("app", () => goodgoStackInventory(cfg, stack));
  const t = composeTarget(cfg);
  const dir = cfg.app.deployDir;
  const secretFiles = {
    env: `${dir}/.env`,
    slackWebhook: goodgoSlackWebhookPath(cfg),
    redisAcl: `${dir}/${GOODGO_REDIS_FILES.acl}`,
    pgbouncerUserlist: `${dir}/${GOODGO_PGBOUNCER_USERLIST_FILE}`,
    containers: Object.fromEntries(Object.entries(GOODGO_SECRET_MOUNTS).map(([key, m]) => [key, `${dir}/${m.host}`])) as Record<GoodgoSecretMount, string>,
  };

  const recoveryChains: GoodgoPlan["recoveryChains"] = [];
  const recover = cfg.recovery.host;
  if (recover) {
    const label = `recover-host-${recover.label}`;
    recoveryChains.push({ label, run: label, steps: hostRecoverySteps(cfg, inventory) });
  }
  if (cfg.recovery.database) {
    const r = cfg.recovery.database;
    const label = `restore-db-${r.label}`;
    recoveryChains.push({ label, run: `${label}${r.cutover ? "-cutover" : ""}`, steps: databaseRestoreSteps(cfg, inventory) });
  }

  const domains = [cfg.app.domain, ...(cfg.app.apiDomain ? [cfg.app.apiDomain] : [])];
  const issuesCertificates = nginx && cfg.tls !== undefined;
  return {
    stack,
    names,
    config: cfg,
    host: {
      name: names.host,
      platform: "goodgo",
      placement: cfg.host,
      needs: { deployDir: dir, ...(issuesCertificates ? { acmeWebroot: HOST_LAYOUT.acmeWebroot } : {}) },
      userData: goodgoCloudInit(cfg),
      rebuild: recover,
      // Web and API: behind nginx on 80/443, or directly on 3000/3001. Nothing else is public.
      publicPorts: nginx ? [80, 443] : [3000, 3001],
      // Grafana (section 8: "External (admin only)").
      adminPorts: [cfg.grafana.port],
      healthUrl: cfg.app.healthUrl.startsWith("https://") ? cfg.app.healthUrl : undefined,
      sshKeySecret: "goodgoSshPrivateKey",
    },
    files: goodgoPlainFiles(cfg, stack),
    secretFiles,
    prepare: [
      composeFileLinkCommand(dir),
      `chown ${ALERTMANAGER_UID}:${ALERTMANAGER_UID} '${secretFiles.slackWebhook}'`,
      `chown ${REDIS_UID} '${secretFiles.redisAcl}'`,
      `chown ${GOODGO_PGBOUNCER_UID}:${GOODGO_PGBOUNCER_UID} '${secretFiles.pgbouncerUserlist}'`,
      ...goodgoChownedSecretFiles(secretFiles.containers).map(([path, uid]) => `chown ${uid}:${uid} '${path}'`),
    ].join("; "),
    recoveryChains,
    compose: { upCommand: upCommand(t, inventory), imageTag: goodgoEffectiveImageTag(cfg) },
    tls:
      issuesCertificates && cfg.tls
        ? certbotTls({
            certName: names.certName,
            domains,
            email: cfg.tls.email,
            acmeServer: cfg.tls.acmeServer,
            composeDir: dir,
            projectName: cfg.app.composeProject,
            edgeService: "nginx",
            restartEdgeCommand: restartCommand(t, "nginx"),
          })
        : undefined,
    operations: cfg.operations.map((op) => ({ id: op.id, command: renderedFrom("operations", () => operationCommand(op, cfg, inventory)) })),
    outputs: { urls: nginx ? domains.map((d) => `https://${d}`) : undefined, healthUrl: cfg.app.healthUrl },
  };
}
