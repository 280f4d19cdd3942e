// Declares Bunty's plan: the host (and, scaled out, its clones behind a load balancer), PostgreSQL and Redis (managed
// clusters, or on the host), the off-site bucket, the files, then the host steps in order on EVERY host: setup (deploy
// user, PM2, pm2-logrotate, PM2 at boot) → secret files handed over → Redis on the host → the app under PM2 → nginx
// (with a placeholder certificate → certbot → the issued certificate, unless the balancer terminates TLS) → the
// per-host operations. What acts on shared data runs once, from the seed host: the database setup, the backup timers,
// the recovery steps and the data operations.
// No decisions here: every file, command and name comes from the plan (plan.ts).
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { HOST_COMMAND_INPUTS, HostSoftware, hostCommand, type HostFileSpec } from "../../components/hostSoftware";
import type { ManagedPostgres } from "../../components/managedPostgres";
import { tlsActivateCommand, tlsBootstrapCommand } from "../../lib/hostCommands";
import { HOST_LAYOUT } from "../../lib/hostLayout";
import { renderPgBackRestSecretsConf } from "../../renderers/pgbackrest";
import { renderS3cmdConfig } from "../../renderers/postgresClientFiles";
import { renderRedisAcl } from "../../renderers/redisConf";
import { declareManagedDatabase } from "../database";
import { declareHost, type PlatformHost } from "../host";
import type { DeclareContext } from "../platform";
import { BUNTY_PATHS, buntyDatabaseUrl, buntyEnvFile, managedExtensionCommand, type BuntyPlan } from "./plan";

export function declareBunty(plan: BuntyPlan, ctx: DeclareContext) {
  const { names } = plan;
  const platform = new pulumi.ComponentResource("lazarus:platform:Bunty", names.prefix, {});
  const s = ctx.secrets;

  // The off-site bucket (backups.offsite): private, versioned, old logical backups expired by its lifecycle rule (the
  // pgBackRest repository lives outside that prefix and keeps its own retention); one that already exists is used as is.
  const offsite = plan.offsite;
  const bucket =
    offsite && !offsite.existing
      ? new digitalocean.SpacesBucket(
          `${names.prefix}-backups`,
          {
            name: offsite.bucket,
            region: offsite.region,
            acl: "private",
            versioning: { enabled: true },
            lifecycleRules: [
              { id: "expire-old-backups", enabled: true, prefix: offsite.prefix, expiration: { days: offsite.lifecycleDays }, noncurrentVersionExpiration: { days: 7 }, abortIncompleteMultipartUploadDays: 1 },
            ],
          },
          { parent: platform, protect: ctx.environment.protect },
        )
      : undefined;

  // Every host, seed first: the one list the software, the steps and the per-host operations are declared for.
  const seed = declareHost(plan.host, ctx, platform);
  const hosts: { prefix: string; platformHost: PlatformHost; isSeed: boolean }[] = [
    { prefix: names.prefix, platformHost: seed, isSeed: true },
    ...plan.clones.map((c) => ({ prefix: c.name, platformHost: declareHost(c, ctx, platform), isSeed: false })),
  ];
  const access = hosts.map((h) => h.platformHost.databaseAccess);
  const outsideVpc = plan.host.placement !== undefined && "existing" in plan.host.placement;

  let databaseUrl: pulumi.Output<string>;
  let cluster: ManagedPostgres | undefined;
  if (plan.postgres.where === "managed") {
    cluster = declareManagedDatabase({ name: names.database, platform: "bunty", config: plan.postgres.cluster, restore: plan.databaseRestore }, hosts.length === 1 ? seed : access, ctx, platform);
    const conn = cluster.active;
    databaseUrl = pulumi.all([conn.host, conn.port, conn.password]).apply(([h, p, password]) =>
      buntyDatabaseUrl({ host: h, port: p, name: conn.database, user: conn.user, password, tls: true }),
    );
  } else {
    const { databaseName, userName } = plan.postgres;
    databaseUrl = s("buntyDatabasePassword").apply((password) =>
      buntyDatabaseUrl({ host: "127.0.0.1", port: 5432, name: databaseName, user: userName, password, tls: false }),
    );
  }

  // Redis: on the host (loopback, the password from the stack's secret), or a managed Valkey cluster (TLS) every
  // droplet shares, admitting exactly the app's droplets.
  // "" for Redis on the host: buntyEnvFile writes the loopback URL
  let redisUrl: pulumi.Output<string> = pulumi.output("");
  let redisPassword: pulumi.Output<string>;
  let cache: digitalocean.DatabaseCluster | undefined;
  if (plan.redis.where === "managed") {
    const c = plan.redis.cluster;
    const env = ctx.digitalocean!;
    cache = new digitalocean.DatabaseCluster(
      `${names.prefix}-cache`,
      {
        name: `${names.prefix}-cache`,
        engine: "valkey",
        version: c.version,
        size: c.size,
        nodeCount: c.nodeCount,
        region: env.settings.region,
        privateNetworkUuid: env.vpc.id,
        maintenanceWindows: [c.maintenanceWindow],
        evictionPolicy: "allkeys_lru",
        tags: [...env.tags, "platform-bunty"],
      },
      // a cache, but deleting it logs out whatever sessions the app keeps there: protected like the rest
      { parent: platform, protect: ctx.environment.protect },
    );
    new digitalocean.DatabaseFirewall(`${names.prefix}-cache-firewall`, { clusterId: cache.id, rules: access.map((a) => ({ type: a.type, value: a.value })) }, { parent: platform });
    const host = outsideVpc ? cache.host : cache.privateHost;
    redisUrl = pulumi.all([host, cache.port]).apply(([h, p]) => `rediss://${h}:${p}`);
    redisPassword = cache.password;
  } else {
    redisPassword = s("buntyRedisPassword");
  }

  const env = pulumi
    .all([databaseUrl, redisUrl, redisPassword, s("buntyJwtSecret"), s("buntyPlaidClientId"), s("buntyPlaidSecret"), s("buntyStripeSecretKey"), s("buntyStripeWebhookSecret"), s("buntySilaPrivateKey")])
    .apply(([url, redisAt, redis, jwt, plaidId, plaid, stripe, webhook, sila]) =>
      buntyEnvFile(plan.plainEnv, { databaseUrl: url, ...(redisAt ? { redisUrl: redisAt } : {}), redisPassword: redis, jwtSecret: jwt, plaidClientId: plaidId, plaidSecret: plaid, stripeSecretKey: stripe, stripeWebhookSecret: webhook, silaPrivateKey: sila }),
    );
  const spacesKey = plan.secretFiles.s3cfg ? pulumi.all([s("buntySpacesAccessKey"), s("buntySpacesSecretKey")]) : pulumi.output(["", ""] as [string, string]);
  const sf = plan.secretFiles;
  const files: HostFileSpec[] = [
    ...Object.entries(plan.files).map(([path, content]) => ({ path, content, mode: "0644" as const, secret: false })),
    { path: sf.env, content: env, mode: "0600", secret: true },
    ...(sf.redisAcl ? [{ path: sf.redisAcl, content: redisPassword.apply((p) => renderRedisAcl([{ name: "default", password: p }])), mode: "0600" as const, secret: true }] : []),
    ...(sf.s3cfg
      ? [{ path: sf.s3cfg, content: spacesKey.apply(([accessKey, secretKey]) => renderS3cmdConfig({ accessKey, secretKey }, { accessKey: "buntySpacesAccessKey", secretKey: "buntySpacesSecretKey" })), mode: "0600" as const, secret: true }]
      : []),
    ...(sf.pgbackrestSecrets
      ? [{ path: sf.pgbackrestSecrets, content: pulumi.all([s("buntyPgbackrestCipherPass"), spacesKey]).apply(([cipherPass, [s3Key, s3KeySecret]]) => renderPgBackRestSecretsConf({ cipherPass, s3Key, s3KeySecret })), mode: "0600" as const, secret: true }]
      : []),
  ];
  const handedOver = [sf.env, sf.redisAcl, sf.pgbackrestSecrets].filter((p): p is string => p !== undefined);
  const pitrFiles = [...Object.keys(plan.files), ...handedOver].filter((p) => /pgbackrest|lazarus-archive|lazarus-bunty-pitr/.test(p));
  const tlsPaths = { tlsDir: HOST_LAYOUT.tlsDir, certName: names.certName, letsencryptDir: HOST_LAYOUT.letsencryptDir };

  for (const { prefix, platformHost, isSeed } of hosts) {
    const { host } = platformHost;
    const software = new HostSoftware(`${prefix}-software`, { platform: "bunty", host, needs: plan.host.needs, files }, { parent: platform });
    const digest = (path: string) => software.fileDigests.get(path)!;
    const { connection, machineId } = host;
    const step = (key: string, create: string, triggers: pulumi.Input<unknown>[], dependsOn: pulumi.Resource[], once = false) =>
      hostCommand(`${prefix}-${key}`, { connection, create, triggers: [machineId, ...triggers], dependsOn, once }, platform);

    const setup = step("host-setup", plan.commands.hostSetup, [], software.installed);
    const handOver = step("hand-over", plan.commands.handOver, handedOver.map(digest), [setup]);
    const databaseReady: pulumi.Resource[] = [handOver];
    if (isSeed && plan.commands.postgresSetup) {
      databaseReady.push(
        new command.remote.Command(
          `${prefix}-postgres-setup`,
          { ...HOST_COMMAND_INPUTS, connection, create: plan.commands.postgresSetup, stdin: s("buntyDatabasePassword"), triggers: [machineId], logging: "none" },
          { parent: platform, dependsOn: [setup], additionalSecretOutputs: ["stdout", "stderr"] },
        ),
      );
    }
    if (isSeed && cluster && plan.postgres.where === "managed") {
      // The cluster the app uses (the restored one after a cutover) gets the extension, as its admin user, once.
      const admin = plan.databaseRestore?.cutover && cluster.restored ? cluster.restored : cluster.cluster;
      const db = plan.postgres.cluster.databaseName;
      const dbHost = outsideVpc ? admin.host : admin.privateHost;
      databaseReady.push(
        new command.remote.Command(
          `${prefix}-pg-stat-statements`,
          {
            connection,
            create: pulumi.all([dbHost, admin.port, admin.user]).apply(([h, p, u]) => managedExtensionCommand({ host: h, port: p, adminUser: u, database: db })),
            stdin: pulumi.secret(admin.password),
            triggers: [machineId, admin.id],
            logging: "none",
          },
          { parent: platform, dependsOn: [setup], additionalSecretOutputs: ["stdout", "stderr"] },
        ),
      );
    }
    // WAL archiving and the pgBackRest schedule, once the server has its role and database (stacks/bunty/pitr.ts).
    if (isSeed && plan.commands.pitrSetup) databaseReady.push(step("pitr-setup", plan.commands.pitrSetup, pitrFiles.map(digest), [...databaseReady]));
    if (plan.commands.redisRestart) databaseReady.push(step("redis", plan.commands.redisRestart, [digest(BUNTY_PATHS.redisConf), digest(sf.redisAcl!)], [handOver]));
    const app = step("pm2-start", plan.commands.pm2Start, [digest(BUNTY_PATHS.ecosystem), digest(sf.env)], databaseReady);

    // A new JWT secret reached the app with the .env above (pm2-start re-ran on its digest); this records the generation.
    if (plan.jwtRotation) step(plan.jwtRotation.key, plan.jwtRotation.command, [], [app], true);
    // Backups run once, from the seed (a clone's snapshot copies are turned off below).
    if (isSeed) step("backup-timers", plan.commands.backupTimers, Object.keys(plan.files).filter((p) => p.startsWith("/etc/systemd/system/bunty-backup")).map(digest), [app]);

    let ready: pulumi.Resource;
    if (plan.commands.behindBalancer) {
      // The balancer terminates TLS: nginx serves the site on port 80 to it, no certificate on the droplets.
      const quiet = step("behind-balancer", isSeed ? plan.commands.behindBalancer.seed : plan.commands.behindBalancer.clone, [], [app]);
      ready = step("nginx", plan.commands.nginxReload, [digest(BUNTY_PATHS.nginxConf)], [quiet]);
    } else {
      const placeholder = step("tls-bootstrap", tlsBootstrapCommand(tlsPaths, plan.outputs.urls[0].replace("https://", "")), [], software.installed);
      const nginx = step("nginx", plan.commands.nginxReload, [digest(BUNTY_PATHS.nginxConf)], [placeholder, app]);
      const certificate = step("certificate", plan.commands.certIssue, [plan.outputs.urls.join(",")], [nginx]);
      ready = step("tls-activate", tlsActivateCommand(tlsPaths, plan.commands.restartNginx), [], [certificate]);
    }
    if (isSeed) {
      // Recovery steps run once each, in order: a later change of their text never repeats a restore or a swap.
      let previous: pulumi.Resource = ready;
      for (const r of plan.hostDatabaseRecovery) previous = step(r.key, r.command, [], [previous], true);
    }
    // Operations run once per id: on every host when they act on one machine's app, else from the seed only.
    for (const op of plan.operations) if (op.everyHost || isSeed) step(`op-${op.id}`, op.command, [], [ready], true);
  }

  // The load balancer (scaleOut): TLS with a DigitalOcean-managed Let's Encrypt certificate, plain HTTP redirected,
  // every droplet behind it, the health URL's path checked on the app's own port (no Host header to route by). No
  // sticky sessions: logins are JWTs and the cache is shared.
  let balancer: digitalocean.LoadBalancer | undefined;
  const b = plan.balancer;
  if (b) {
    const dropletIds = hosts.map((h) => h.platformHost.droplet!.dropletId);
    const certificate = new digitalocean.Certificate(b.certificateName, { name: b.certificateName, type: "lets_encrypt", domains: [b.domain] }, { parent: platform });
    balancer = new digitalocean.LoadBalancer(
      b.name,
      {
        name: b.name,
        region: ctx.digitalocean!.settings.region,
        vpcUuid: ctx.digitalocean!.vpc.id,
        dropletIds,
        forwardingRules: [
          { entryProtocol: "https", entryPort: 443, targetProtocol: "http", targetPort: 80, certificateName: certificate.name },
          { entryProtocol: "http", entryPort: 80, targetProtocol: "http", targetPort: 80 },
        ],
        redirectHttpToHttps: true,
        healthcheck: { protocol: "http", port: b.appPort, path: b.healthPath, checkIntervalSeconds: 10, responseTimeoutSeconds: 5, healthyThreshold: 3, unhealthyThreshold: 3 },
        stickySessions: { type: "none" },
      },
      // Its address is the one DNS points at once scaled out: protected like the droplet's reserved IP, so scaling back
      // in is a deliberate step (DNS moved back first, then `pulumi state unprotect`; stacks/bunty/README.md).
      { parent: platform, protect: ctx.environment.protect },
    );
    // The droplets admit the balancer only: nginx on 80 and the app's health on its port (nothing else is public).
    new digitalocean.Firewall(
      `${b.name}-to-droplets`,
      {
        name: `${b.name}-to-droplets`,
        dropletIds,
        inboundRules: [80, b.appPort].map((p) => ({ protocol: "tcp", portRange: String(p), sourceLoadBalancerUids: [balancer!.id] })),
      },
      { parent: platform },
    );
  }

  if (ctx.digitalocean) {
    ctx.digitalocean.attach(
      `${names.prefix}-project-resources`,
      [
        ...hosts.flatMap((h) => h.platformHost.projectUrns),
        ...(cluster ? [cluster.cluster.clusterUrn] : []),
        ...(cluster?.restored ? [cluster.restored.clusterUrn] : []),
        ...(cache ? [cache.clusterUrn] : []),
        ...(bucket ? [bucket.bucketUrn] : []),
        ...(balancer ? [balancer.loadBalancerUrn] : []),
      ],
      platform,
    );
  }

  return {
    publicIp: seed.host.publicIp,
    urls: plan.outputs.urls,
    healthUrl: plan.outputs.healthUrl,
    ssh: seed.sshCommand,
    ...(balancer ? { balancerIp: balancer.ip, cloneSsh: hosts.slice(1).map((h) => h.platformHost.sshCommand) } : {}),
    ...(offsite ? { offsiteBucket: bucket?.name ?? offsite.bucket } : {}),
    ...(cluster ? { database: { liveCluster: cluster.cluster.name, activeCluster: cluster.active.clusterName, restoredCluster: cluster.restored?.name } } : {}),
  };
}
