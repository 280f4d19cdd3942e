// GoodGo (runbook 001, "GoodGo Platform — Production Runbook"): one droplet running the 14-service compose project of
// section 1 with its monitoring stack, daily backups copied off-site to a Spaces bucket, recovery switches (full host
// recovery 4.6, rollback 4.4, database restore 4.1) and runbook operations. The runbook's facts are computed by pure
// functions in stacks/goodgo/ and the renderers; this file only wires them into components.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import type { GoodgoConfig } from "../config/platforms/goodgo";
import { DropletHost } from "../components/dropletHost";
import { HostSoftware, hostCommand, type HostFileSpec } from "../components/hostSoftware";
import { tlsActivateCommand, tlsBootstrapCommand } from "../lib/hostCommands";
import { certIssueCommand } from "../lib/opsCommands";
import { renderCloudInit } from "../renderers/cloudInit";
import { renderBackupCrontab } from "../renderers/backupSchedule";
import { renderCompose } from "../renderers/compose";
import { renderNginxConf } from "../renderers/nginx";
import { renderRedisAcl, renderRedisConf } from "../renderers/redisConf";
import {
  composeFileLinkCommand,
  composeTarget,
  databaseRestoreSteps,
  hostRecoverySteps,
  operationCommand,
  restartCommand,
  upCommand,
} from "./goodgo/commands";
import { goodgoEnvText, goodgoPgbouncerUserlist, goodgoSecretValues } from "./goodgo/env";
import {
  GOODGO_ACME_WEBROOT,
  GOODGO_BACKUP_CRONTAB_FILE,
  GOODGO_COMPOSE_FILE,
  GOODGO_SCRIPTS_ROOT,
  GOODGO_LETSENCRYPT_DIR,
  GOODGO_NAMED_VOLUMES,
  GOODGO_NGINX_HEALTH_PATH,
  GOODGO_PGBOUNCER_UID,
  GOODGO_PGBOUNCER_USERLIST_FILE,
  GOODGO_REDIS_FILES,
  GOODGO_TLS_DIR,
  goodgoEffectiveImageTag,
  goodgoStackInventory,
} from "./goodgo/inventory";
import { GOODGO_MONITORING_MOUNTS, GOODGO_SECRET_FILES, goodgoMonitoringFiles } from "./goodgo/monitoring";
import { goodgoRunbookMarkdown } from "./goodgo/runbook";
import { goodgoRedisSettings } from "./goodgo/serviceSettings";
import type { PlatformContext } from "./index";
import { platformHostArgs } from "./hostArgs";

/** Alertmanager runs as nobody (65534): the webhook file is 0600 and owned by that uid, so only it reads the secret. */
const ALERTMANAGER_UID = 65534;
/** The redis image runs redis-server as uid 999; the 0600 ACL file is handed to it. */
const REDIS_UID = 999;

export function goodgoNames(stack: string) {
  const prefix = `goodgo-${stack}`;
  return { prefix, host: `${prefix}-host`, software: `${prefix}-software`, bucket: `${prefix}-offsite-backups`, certName: prefix };
}

export function goodgoNginxConfig(cfg: GoodgoConfig, stack: string): string {
  const names = goodgoNames(stack);
  const tls = { certPath: `${GOODGO_TLS_DIR}/${names.certName}/fullchain.pem`, keyPath: `${GOODGO_TLS_DIR}/${names.certName}/privkey.pem` };
  const sites = [
    { serverNames: [cfg.app.domain], routes: [{ path: "/api/", upstream: "api" }, { path: "/", upstream: "web" }], tls },
    ...(cfg.app.apiDomain ? [{ serverNames: [cfg.app.apiDomain], routes: [{ path: "/", upstream: "api" }], tls }] : []),
  ];
  return renderNginxConf({
    upstreams: [
      { name: "api", host: "api", port: 3001 },
      { name: "web", host: "web", port: 3000 },
    ],
    sites,
    acmeWebroot: GOODGO_ACME_WEBROOT,
    healthPath: GOODGO_NGINX_HEALTH_PATH,
  });
}

/**
 * The droplet's user-data. A full host recovery writes its label into it: DigitalOcean cannot change user-data in
 * place, so a recovery from the base image gets a NEW droplet (a recovery from a snapshot gets one by the image change).
 */
export function goodgoCloudInit(cfg: GoodgoConfig): string {
  const recovery = cfg.recovery.host;
  return renderCloudInit({
    deployDir: cfg.app.deployDir,
    acmeWebroot: GOODGO_ACME_WEBROOT,
    ...(recovery ? { extraFiles: [{ path: "/etc/lazarus/goodgo-host-recovery", content: `${recovery.label}\n` }] } : {}),
  });
}

/** Every non-secret file of the deploy directory, keyed by absolute path on the host. */
export function goodgoPlainFiles(cfg: GoodgoConfig, stack: string): Record<string, string> {
  const dir = cfg.app.deployDir;
  const inventory = goodgoStackInventory(cfg, stack);
  const files: Record<string, string> = {
    [`${dir}/${GOODGO_COMPOSE_FILE}`]: renderCompose({ name: cfg.app.composeProject, services: inventory, volumes: [...GOODGO_NAMED_VOLUMES] }),
  };
  const monitoring = goodgoMonitoringFiles({
    stack,
    prometheusRetention: cfg.monitoring.prometheusRetention,
    lokiRetentionDays: cfg.monitoring.lokiRetentionDays,
    slackChannels: cfg.monitoring.slackChannels,
    runbookUrl: cfg.monitoring.runbookUrl,
    dbName: cfg.database.name,
    composeProject: cfg.app.composeProject,
  });
  for (const [rel, text] of Object.entries(monitoring)) files[`${dir}/monitoring/${rel}`] = text;
  if (cfg.app.exposure === "nginx") files[`${dir}/nginx/nginx.conf`] = goodgoNginxConfig(cfg, stack);
  files[`${dir}/${GOODGO_BACKUP_CRONTAB_FILE}`] = renderBackupCrontab({ backupAt: cfg.backups.backupAt, verifyAt: cfg.backups.verifyAt, scriptsDir: `${GOODGO_SCRIPTS_ROOT}/backup` });
  files[`${dir}/${GOODGO_REDIS_FILES.conf}`] = renderRedisConf(goodgoRedisSettings({ maxmemoryMb: cfg.redis.maxMemoryMb }));
  files[`${dir}/RUNBOOK.md`] = goodgoRunbookMarkdown(cfg, stack, inventory);
  return files;
}

/** The Slack webhook file as Alertmanager reads it: the monitoring dir is mounted at /etc/alertmanager. */
export function goodgoSlackWebhookPath(cfg: GoodgoConfig): string {
  const m = GOODGO_MONITORING_MOUNTS.alertmanager;
  return `${cfg.app.deployDir}/monitoring/${m.from}${GOODGO_SECRET_FILES.slackWebhook.slice(m.to.length)}`;
}

export function declareGoodgo(cfg: GoodgoConfig, ctx: PlatformContext) {
  const { stack, environment: env } = ctx.config;
  const names = goodgoNames(stack);
  const platform = new pulumi.ComponentResource("lazarus:platform:GoodGo", names.prefix, {});
  const parent = { parent: platform };
  const tags = [...ctx.environment.tags, "platform-goodgo"];
  const recover = cfg.recovery.host;
  const nginx = cfg.app.exposure === "nginx";
  const inventory = goodgoStackInventory(cfg, stack);
  const t = composeTarget(cfg);
  const dir = cfg.app.deployDir;

  // Off-site backups (sections 4.1/4.6): a private bucket whose lifecycle rule expires old copies.
  const bucket = new digitalocean.SpacesBucket(
    names.bucket,
    {
      name: cfg.backups.offsite.bucket,
      region: cfg.backups.offsite.region,
      acl: "private",
      versioning: { enabled: true },
      lifecycleRules: [
        {
          id: "expire-old-backups",
          enabled: true,
          prefix: cfg.backups.offsite.prefix,
          expiration: { days: cfg.backups.offsite.lifecycleDays },
          noncurrentVersionExpiration: { days: 7 },
          abortIncompleteMultipartUploadDays: 1,
        },
      ],
    },
    { ...parent, protect: env.protect },
  );

  const host = new DropletHost(
    names.host,
    platformHostArgs(ctx, {
      name: names.host,
      host: cfg.host,
      userData: goodgoCloudInit(cfg),
      rebuild: recover,
      // Web and API: behind nginx on 80/443, or directly on 3000/3001. Nothing else is public.
      publicPorts: nginx ? [80, 443] : [3000, 3001],
      // Grafana (section 8: "External (admin only)").
      adminPorts: [cfg.grafana.port],
      healthUrl: cfg.app.healthUrl.startsWith("https://") ? cfg.app.healthUrl : undefined,
      sshKey: "goodgoSshPrivateKey",
      tags,
    }),
    parent,
  );

  const secretValues = goodgoSecretValues(ctx.secrets);
  const envText = secretValues.apply((s) => goodgoEnvText(cfg, s));
  const plain = goodgoPlainFiles(cfg, stack);
  const files: HostFileSpec[] = [
    ...Object.entries(plain).map(([path, content]): HostFileSpec => ({ path, content, mode: "0644", secret: false })),
    // Section 8's variables, secrets among them: 0600, shipped only as a Pulumi secret.
    { path: `${dir}/.env`, content: envText, mode: "0600", secret: true },
    { path: goodgoSlackWebhookPath(cfg), content: ctx.secrets("goodgoSlackWebhook").apply((u) => `${u}\n`), mode: "0600", secret: true },
    // The Redis password as a SHA-256 hash in the ACL file (still derived from a secret: shipped as one).
    { path: `${dir}/${GOODGO_REDIS_FILES.acl}`, content: ctx.secrets("goodgoRedisPassword").apply((p) => renderRedisAcl([{ name: "default", password: p }])), mode: "0600", secret: true },
    // PgBouncer's auth_file: the application user and pgbouncer_admin (the runbook's SHOW POOLS).
    { path: `${dir}/${GOODGO_PGBOUNCER_USERLIST_FILE}`, content: secretValues.apply((s) => goodgoPgbouncerUserlist(cfg, s)), mode: "0600", secret: true },
  ];
  const software = new HostSoftware(names.software, { platform: "goodgo", connection: host.connection, hostReady: host.ready, hostId: host.droplet.id, files }, parent);
  const writer = (path: string) => software.fileWriters[files.findIndex((f) => f.path === path)]!;

  const prepare = hostCommand(
    `${names.prefix}-prepare`,
    {
      connection: host.connection,
      create: [
        composeFileLinkCommand(dir),
        `chown ${ALERTMANAGER_UID}:${ALERTMANAGER_UID} '${goodgoSlackWebhookPath(cfg)}'`,
        `chown ${REDIS_UID} '${dir}/${GOODGO_REDIS_FILES.acl}'`,
        `chown ${GOODGO_PGBOUNCER_UID}:${GOODGO_PGBOUNCER_UID} '${dir}/${GOODGO_PGBOUNCER_USERLIST_FILE}'`,
      ].join("; "),
      triggers: [
        host.droplet.id,
        writer(goodgoSlackWebhookPath(cfg)).id,
        writer(`${dir}/${GOODGO_REDIS_FILES.acl}`).id,
        writer(`${dir}/${GOODGO_PGBOUNCER_USERLIST_FILE}`).id,
      ],
      dependsOn: software.installed,
    },
    platform,
  );

  // Recovery chains run after the files are in place and before the whole project comes up.
  let before: pulumi.Resource[] = [prepare];
  const chain = (label: string, steps: { key: string; command: string }[]) => {
    for (const step of steps) {
      const cmd = hostCommand(
        `${names.prefix}-${label}-${step.key}`,
        { connection: host.connection, create: step.command, triggers: [host.droplet.id], dependsOn: [...software.installed, ...before] },
        platform,
      );
      before = [cmd];
    }
  };
  const recoveryRuns: string[] = [];
  if (recover) {
    chain(`recover-host-${recover.label}`, hostRecoverySteps(cfg, inventory));
    recoveryRuns.push(`recover-host-${recover.label}`);
  }
  if (cfg.recovery.database) {
    const r = cfg.recovery.database;
    chain(`restore-db-${r.label}`, databaseRestoreSteps(cfg, inventory));
    recoveryRuns.push(`restore-db-${r.label}${r.cutover ? "-cutover" : ""}`);
  }

  let tlsBootstrap: pulumi.Resource[] = [];
  if (nginx) {
    tlsBootstrap = [
      hostCommand(
        `${names.prefix}-tls-bootstrap`,
        { connection: host.connection, create: tlsBootstrapCommand({ tlsDir: GOODGO_TLS_DIR, certName: names.certName }, cfg.app.domain), triggers: [host.droplet.id], dependsOn: software.installed },
        platform,
      ),
    ];
  }

  const composeUp = hostCommand(
    `${names.prefix}-compose-up`,
    {
      connection: host.connection,
      create: upCommand(t, inventory),
      // Any changed file (compose, .env, monitoring, nginx, webhook), a new host or a new image tag re-runs `up -d --wait`;
      // so does a recovery chain (a cutover stops the application services: this brings them back).
      triggers: [host.droplet.id, goodgoEffectiveImageTag(cfg), ...recoveryRuns, ...software.fileWriters.map((w) => w.id)],
      dependsOn: [...software.installed, ...before, ...tlsBootstrap],
    },
    platform,
  );

  let ready: pulumi.Resource[] = [composeUp];
  if (nginx && cfg.tls) {
    const domains = [cfg.app.domain, ...(cfg.app.apiDomain ? [cfg.app.apiDomain] : [])];
    const certificate = hostCommand(
      `${names.prefix}-certificate`,
      {
        connection: host.connection,
        create: certIssueCommand({
          domains,
          email: cfg.tls.email,
          webroot: GOODGO_ACME_WEBROOT,
          composeDir: dir,
          nginxService: "nginx",
          projectName: cfg.app.composeProject,
          certName: names.certName,
          acmeServer: cfg.tls.acmeServer,
        }),
        triggers: [host.droplet.id, domains.join(",")],
        dependsOn: [composeUp],
      },
      platform,
    );
    ready = [
      hostCommand(
        `${names.prefix}-tls-activate`,
        {
          connection: host.connection,
          create: tlsActivateCommand({ tlsDir: GOODGO_TLS_DIR, certName: names.certName, letsencryptDir: GOODGO_LETSENCRYPT_DIR }, restartCommand(t, "nginx")),
          triggers: [host.droplet.id],
          dependsOn: [certificate],
        },
        platform,
      ),
    ];
  }

  // Runbook operations: each entry runs once (its id names the resource); a new id runs it again.
  for (const op of cfg.operations) {
    hostCommand(`${names.prefix}-op-${op.id}`, { connection: host.connection, create: operationCommand(op, cfg, inventory), dependsOn: ready }, platform);
  }

  ctx.environment.attach(`${names.prefix}-project-resources`, [host.droplet.dropletUrn, host.reservedIp.reservedIpUrn, bucket.bucketUrn], platform);

  return {
    publicIp: host.publicIp,
    privateIp: host.privateIp,
    urls: nginx ? [`https://${cfg.app.domain}`, ...(cfg.app.apiDomain ? [`https://${cfg.app.apiDomain}`] : [])] : [pulumi.interpolate`http://${host.publicIp}:3000`],
    grafana: pulumi.interpolate`http://${host.publicIp}:${cfg.grafana.port}`,
    healthUrl: cfg.app.healthUrl,
    imageTag: goodgoEffectiveImageTag(cfg),
    ssh: pulumi.interpolate`ssh ${env.sshUser}@${host.publicIp}`,
    offsiteBucket: bucket.name,
    offsiteEndpoint: bucket.bucketDomainName,
  };
}
