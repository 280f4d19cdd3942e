// GoodGo's plan: everything the platform will declare, computed from the stack config alone and validated before any
// resource exists: every rendered file, the prepare step, the recovery chains, compose, TLS and operations.
// `declare.ts` only turns it into resources.
import { renderedFrom } from "../../config/planInput";
import { HOST_LAYOUT, tlsPaths } from "../../lib/hostLayout";
import { secretFileOwner } from "../../lib/imageFacts";
import { getService, type ServiceInventory } from "../../lib/inventory";
import { shq } from "../../lib/shell";
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
  GOODGO_PGBOUNCER_USERLIST_FILE,
  GOODGO_REDIS_FILES,
  goodgoEffectiveImageTag,
  goodgoStackInventory,
} from "./inventory";
import { GOODGO_MONITORING_MOUNTS, GOODGO_SECRET_FILES, goodgoMonitoringFiles } from "./monitoring";
import { GOODGO_PITR_FILES, GOODGO_POSTGRES_IMAGE, goodgoPgbackrestConf } from "./pitr";
import { goodgoRunbookMarkdown } from "./runbook";
import { goodgoRedisSettings } from "./serviceSettings";
import { GOODGO_SECRET_MOUNTS, type GoodgoSecretMount } from "./services";

/**
 * The 0600 secret files mounted into containers are handed to the user each service's image runs as (lib/imageFacts.ts),
 * so only that process reads them (root, where an image has no USER, reads them as written: root:root 0600).
 */
function handSecretFilesToContainers(inventory: ServiceInventory, files: [service: string, path: string][]): string[] {
  return files.map(([service, path]) => `chown ${secretFileOwner(getService(inventory, service))} ${shq(path)}`);
}

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
    renderBackupCrontab({
      backupAt: cfg.backups.backupAt,
      verifyAt: cfg.backups.verifyAt,
      scriptsDir: `${HOST_LAYOUT.scriptsRoot}/backup`,
      pitr: { at: cfg.backups.pitr.backupAt, fullWeekday: cfg.backups.pitr.fullBackupWeekday },
    }),
  );
  files[`${dir}/${GOODGO_REDIS_FILES.conf}`] = renderedFrom("redis", () => renderRedisConf(goodgoRedisSettings({ maxmemoryMb: cfg.redis.maxMemoryMb })));
  files[`${dir}/${GOODGO_PITR_FILES.pgbackrestConf}`] = renderedFrom("backups.pitr", () => goodgoPgbackrestConf(cfg));
  files[`${dir}/${GOODGO_PITR_FILES.dockerfile}`] = GOODGO_POSTGRES_IMAGE.dockerfile;
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
  prepare: { command: string; rerunWhenWritten: string[] };
  recoveryChains: { label: string; run: string; steps: ChainStep[] }[];
  compose: { upCommand: string; imageTag: string };
  tls?: ComposeTls;
  operations: { id: string; command: string }[];
  outputs: { urls: string[] | undefined; healthUrl: string };
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
  // Every secret file a container reads, with the service that reads it: each is handed to that image's user.
  const chownedSecretFiles: [service: string, path: string][] = [
    ["alertmanager", secretFiles.slackWebhook],
    ["redis", secretFiles.redisAcl],
    ["pgbouncer", secretFiles.pgbouncerUserlist],
    ...(Object.entries(GOODGO_SECRET_MOUNTS) as [GoodgoSecretMount, { service: string }][]).map(([key, m]): [string, string] => [m.service, secretFiles.containers[key]]),
  ];

  const recoveryChains: GoodgoPlan["recoveryChains"] = [];
  const recover = cfg.recovery.host;
  if (recover) {
    const label = `recover-host-${recover.label}`;
    recoveryChains.push({ label, run: label, steps: hostRecoverySteps(cfg, inventory) });
  }
  if (cfg.recovery.database) {
    const r = cfg.recovery.database;
    const label = `restore-db-${r.label}`;
    // The run names what the chain does: a restore beside, a cutover, or the swap of one named copy.
    const run = `${label}${r.cutover ? "-cutover" : ""}${r.swapIn !== undefined ? `-swap-in-${r.swapIn}` : ""}`;
    recoveryChains.push({ label, run, steps: databaseRestoreSteps(cfg, inventory) });
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
    prepare: {
      // The server's socket directory, bind-mounted into postgres and pg-backup (the image's entrypoint chowns it).
      command: [composeFileLinkCommand(dir), `mkdir -p ${shq(`${dir}/${GOODGO_PITR_FILES.socketDir}`)}`, ...handSecretFilesToContainers(inventory, chownedSecretFiles)].join("; "),
      // A rewritten secret file comes back root:root: prepare hands it over again.
      rerunWhenWritten: chownedSecretFiles.map(([, path]) => path),
    },
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
