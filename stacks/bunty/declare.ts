// Declares Bunty's plan: the host, PostgreSQL (a managed cluster, or on the host), the files, then the host steps in
// order: setup (deploy user, PM2, pm2-logrotate, PM2 at boot) → secret files handed over → PostgreSQL and Redis → the
// app under PM2 → nginx with a placeholder certificate → certbot → the issued certificate → runbook operations.
// No decisions here: every file, command and name comes from the plan (plan.ts).
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { HOST_COMMAND_INPUTS, HostSoftware, hostCommand } from "../../components/hostSoftware";
import type { ManagedPostgres } from "../../components/managedPostgres";
import { tlsActivateCommand, tlsBootstrapCommand } from "../../lib/hostCommands";
import { HOST_LAYOUT } from "../../lib/hostLayout";
import { renderPgBackRestSecretsConf } from "../../renderers/pgbackrest";
import { renderS3cmdConfig } from "../../renderers/postgresClientFiles";
import { renderRedisAcl } from "../../renderers/redisConf";
import { declareManagedDatabase } from "../database";
import { declareHost } from "../host";
import type { DeclareContext } from "../platform";
import { BUNTY_PATHS, buntyDatabaseUrl, buntyEnvFile, managedExtensionCommand, type BuntyPlan } from "./plan";

export function declareBunty(plan: BuntyPlan, ctx: DeclareContext) {
  const { names } = plan;
  const platform = new pulumi.ComponentResource("lazarus:platform:Bunty", names.prefix, {});
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
  const platformHost = declareHost(plan.host, ctx, platform);
  const { host, projectUrns, sshCommand } = platformHost;
  const s = ctx.secrets;

  let databaseUrl: pulumi.Output<string>;
  let cluster: ManagedPostgres | undefined;
  if (plan.postgres.where === "managed") {
    cluster = declareManagedDatabase({ name: names.database, platform: "bunty", config: plan.postgres.cluster, restore: plan.databaseRestore }, platformHost, ctx, platform);
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

  const env = pulumi
    .all([databaseUrl, s("buntyRedisPassword"), s("buntyJwtSecret"), s("buntyPlaidClientId"), s("buntyPlaidSecret"), s("buntyStripeSecretKey"), s("buntyStripeWebhookSecret"), s("buntySilaPrivateKey")])
    .apply(([url, redis, jwt, plaidId, plaid, stripe, webhook, sila]) =>
      buntyEnvFile(plan.plainEnv, { databaseUrl: url, redisPassword: redis, jwtSecret: jwt, plaidClientId: plaidId, plaidSecret: plaid, stripeSecretKey: stripe, stripeWebhookSecret: webhook, silaPrivateKey: sila }),
    );

  const spacesKey = plan.secretFiles.s3cfg ? pulumi.all([s("buntySpacesAccessKey"), s("buntySpacesSecretKey")]) : pulumi.output(["", ""] as [string, string]);
  const software = new HostSoftware(
    `${names.prefix}-software`,
    {
      platform: "bunty",
      host,
      needs: plan.host.needs,
      files: [
        ...Object.entries(plan.files).map(([path, content]) => ({ path, content, mode: "0644" as const, secret: false })),
        { path: plan.secretFiles.env, content: env, mode: "0600", secret: true },
        { path: plan.secretFiles.redisAcl, content: s("buntyRedisPassword").apply((p) => renderRedisAcl([{ name: "default", password: p }])), mode: "0600", secret: true },
        ...(plan.secretFiles.s3cfg
          ? [{ path: plan.secretFiles.s3cfg, content: spacesKey.apply(([accessKey, secretKey]) => renderS3cmdConfig({ accessKey, secretKey }, { accessKey: "buntySpacesAccessKey", secretKey: "buntySpacesSecretKey" })), mode: "0600" as const, secret: true }]
          : []),
        ...(plan.secretFiles.pgbackrestSecrets
          ? [{ path: plan.secretFiles.pgbackrestSecrets, content: pulumi.all([s("buntyPgbackrestCipherPass"), spacesKey]).apply(([cipherPass, [s3Key, s3KeySecret]]) => renderPgBackRestSecretsConf({ cipherPass, s3Key, s3KeySecret })), mode: "0600" as const, secret: true }]
          : []),
      ],
    },
    { parent: platform },
  );
  const digest = (path: string) => software.fileDigests.get(path)!;
  const { connection, machineId } = host;
  const step = (key: string, create: string, triggers: pulumi.Input<unknown>[], dependsOn: pulumi.Resource[], once = false) =>
    hostCommand(`${names.prefix}-${key}`, { connection, create, triggers: [machineId, ...triggers], dependsOn, once }, platform);

  const setup = step("host-setup", plan.commands.hostSetup, [], software.installed);
  const secretFiles = [plan.secretFiles.env, plan.secretFiles.redisAcl, plan.secretFiles.pgbackrestSecrets].filter((p): p is string => p !== undefined);
  const handOver = step("hand-over", plan.commands.handOver, secretFiles.map(digest), [setup]);
  const databaseReady: pulumi.Resource[] = [handOver];
  if (plan.commands.postgresSetup) {
    databaseReady.push(
      new command.remote.Command(
        `${names.prefix}-postgres-setup`,
        { ...HOST_COMMAND_INPUTS, connection, create: plan.commands.postgresSetup, stdin: s("buntyDatabasePassword"), triggers: [machineId], logging: "none" },
        { parent: platform, dependsOn: [setup], additionalSecretOutputs: ["stdout", "stderr"] },
      ),
    );
  }
  if (cluster && plan.postgres.where === "managed") {
    // The cluster the app uses (the restored one after a cutover) gets the extension, as its admin user.
    const admin = plan.databaseRestore?.cutover && cluster.restored ? cluster.restored : cluster.cluster;
    const db = plan.postgres.cluster.databaseName;
    const host = plan.host.placement && "existing" in plan.host.placement ? admin.host : admin.privateHost;
    databaseReady.push(
      new command.remote.Command(
        `${names.prefix}-pg-stat-statements`,
        {
          connection,
          create: pulumi.all([host, admin.port, admin.user]).apply(([h, p, u]) => managedExtensionCommand({ host: h, port: p, adminUser: u, database: db })),
          stdin: pulumi.secret(admin.password),
          triggers: [machineId, admin.id],
          logging: "none",
        },
        { parent: platform, dependsOn: [setup], additionalSecretOutputs: ["stdout", "stderr"] },
      ),
    );
  }
  // WAL archiving and the pgBackRest schedule, once the server has its role and database (stacks/bunty/pitr.ts).
  if (plan.commands.pitrSetup) databaseReady.push(step("pitr-setup", plan.commands.pitrSetup, [...Object.keys(plan.files), ...secretFiles].filter((p) => /pgbackrest|lazarus-archive|lazarus-bunty-pitr/.test(p)).map(digest), [...databaseReady]));
  const redis = step("redis", plan.commands.redisRestart, [digest("/etc/redis/redis.conf"), digest(plan.secretFiles.redisAcl)], [handOver]);
  const app = step("pm2-start", plan.commands.pm2Start, [digest(BUNTY_PATHS.ecosystem), digest(plan.secretFiles.env)], [...databaseReady, redis]);

  // A new JWT secret reached the app with the .env above (pm2-start re-ran on its digest); this records the generation.
  if (plan.jwtRotation) step(plan.jwtRotation.key, plan.jwtRotation.command, [], [app], true);

  step("backup-timers", plan.commands.backupTimers, Object.keys(plan.files).filter((p) => p.startsWith("/etc/systemd/system/bunty-backup")).map(digest), [app]);

  const tlsPaths = { tlsDir: HOST_LAYOUT.tlsDir, certName: names.certName, letsencryptDir: HOST_LAYOUT.letsencryptDir };
  const placeholder = step("tls-bootstrap", tlsBootstrapCommand(tlsPaths, plan.outputs.urls[0].replace("https://", "")), [], software.installed);
  const nginx = step("nginx", plan.commands.nginxReload, [digest("/etc/nginx/nginx.conf")], [placeholder, app]);
  const certificate = step("certificate", plan.commands.certIssue, [plan.outputs.urls.join(",")], [nginx]);
  const ready = step("tls-activate", tlsActivateCommand(tlsPaths, plan.commands.restartNginx), [], [certificate]);
  // Recovery steps run once each, in order: a later change of their text never repeats a restore or a swap.
  let previous: pulumi.Resource = ready;
  for (const r of plan.hostDatabaseRecovery) previous = step(r.key, r.command, [], [previous], true);
  // Operations run once: a later change of their command text does not repeat a rollback or a shutdown.
  for (const op of plan.operations) step(`op-${op.id}`, op.command, [], [ready], true);

  if (ctx.digitalocean) {
    ctx.digitalocean.attach(`${names.prefix}-project-resources`, [...projectUrns, ...(cluster ? [cluster.cluster.clusterUrn] : []), ...(cluster?.restored ? [cluster.restored.clusterUrn] : []), ...(bucket ? [bucket.bucketUrn] : [])], platform);
  }

  return {
    publicIp: host.publicIp,
    urls: plan.outputs.urls,
    healthUrl: plan.outputs.healthUrl,
    ssh: sshCommand,
    ...(offsite ? { offsiteBucket: bucket?.name ?? offsite.bucket } : {}),
    ...(cluster ? { database: { liveCluster: cluster.cluster.name, activeCluster: cluster.active.clusterName, restoredCluster: cluster.restored?.name } } : {}),
  };
}
