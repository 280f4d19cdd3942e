// Declares DBIS's plan: the host, the managed PostgreSQL cluster with its read replica, and the compose deployment.
// No decisions here: every file, command and name comes from the plan (plan.ts).
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { ComposeDeployment } from "../../components/composeDeployment";
import { bearerHeader, promoteReplicaCommand } from "../../lib/digitaloceanApi";
import { renderEnvFile } from "../../renderers/envFile";
import { pgpassLine, renderPgServiceFile, renderS3cmdConfig } from "../../renderers/postgresClientFiles";
import { declareManagedDatabase } from "../database";
import { declareHost } from "../host";
import type { DeclareContext } from "../platform";
import { databaseUrl, type DbisPlan } from "./plan";

/** curl reads it with `-H @file`: the token never appears in a command line. */
function reconciliationHeader(token: pulumi.Output<string>): pulumi.Output<string> {
  return pulumi.secret(token.apply((t) => `Authorization: Bearer ${t.trim()}\n`));
}

export function declareDbis(plan: DbisPlan, ctx: DeclareContext) {
  const { names } = plan;
  const env = ctx.environment;
  const platform = new pulumi.ComponentResource("lazarus:platform:Dbis", names.prefix, {});
  const platformHost = declareHost(plan.host, ctx, platform);
  const { host, projectUrns, sshCommand } = platformHost;

  const db = declareManagedDatabase({ name: names.database, platform: "dbis", config: plan.database, replica: plan.replica, restore: plan.databaseRestore }, platformHost, ctx, platform);

  // Database Failover: the API's promote call, from where pulumi runs; compose up (which recreates the app with the
  // promoted cluster's DATABASE_URL) waits for it through its trigger. The call runs once: a later change of its inputs
  // while the switch stays in the stack file (a rotated API token on stdin, a new cluster id) is an update, which the
  // command provider would run as `create` again without an `update` of its own; promoting twice must never happen.
  const promote =
    plan.promotion && db.replica
      ? new command.local.Command(
          `${names.replica}-promote`,
          {
            create: db.cluster.id.apply((clusterId) => promoteReplicaCommand({ clusterId, replicaName: plan.replica!.name, warning: plan.promotion!.warning })),
            stdin: pulumi.secret(ctx.secrets("dbisDigitaloceanApiToken").apply(bearerHeader)),
            update: "echo 'the replica was promoted when this switch was first applied; promotion runs once'",
            logging: "stdoutAndStderr",
          },
          { parent: platform, dependsOn: [db.replica] },
        )
      : undefined;

  const conn = db.active;
  const envFile = pulumi
    .all([conn.host, conn.port, conn.password])
    .apply(([dbHost, dbPort, password]) =>
      renderEnvFile({ ...plan.envFile.vars, DATABASE_URL: databaseUrl({ host: dbHost, port: dbPort, database: conn.database, user: conn.user, password }) }),
    );

  const bc = plan.backupClient;
  const backupService = pulumi
    .all([conn.host, conn.port])
    .apply(([dbHost, dbPort]) => renderPgServiceFile({ name: bc.service, host: dbHost, port: dbPort, dbname: bc.database, user: bc.user, sslmode: "require" }));

  new ComposeDeployment(
    `${names.prefix}-deployment`,
    {
      platform: "dbis",
      prefix: names.prefix,
      host,
      hostNeeds: plan.host.needs,
      files: [
        ...Object.entries(plan.files).map(([path, content]) => ({ path, content, mode: "0644" as const, secret: false })),
        { path: plan.envFile.path, content: pulumi.secret(envFile), mode: "0600", secret: true },
        { path: plan.reconciliationHeaderFile, content: reconciliationHeader(ctx.secrets("dbisReconciliationToken")), mode: "0600", secret: true },
        { path: plan.alertmanagerSecrets.slackWebhook, content: pulumi.secret(ctx.secrets("dbisSlackWebhook").apply((v) => `${v.trim()}\n`)), mode: "0600", secret: true },
        { path: plan.alertmanagerSecrets.smtpPassword, content: pulumi.secret(ctx.secrets("dbisSmtpPassword").apply((v) => `${v.replace(/\r?\n$/, "")}\n`)), mode: "0600", secret: true },
        // The backup jobs follow the active cluster (a cutover or a promotion rewrites the service file).
        { path: bc.serviceFile, content: backupService, mode: "0644", secret: false },
        { path: bc.pgpass, content: pulumi.secret(conn.password.apply((pw) => pgpassLine(bc.user, pw))), mode: "0600", secret: true },
        {
          path: bc.s3cfg,
          content: pulumi.secret(
            pulumi
              .all([ctx.secrets("dbisSpacesAccessKey"), ctx.secrets("dbisSpacesSecretKey")])
              .apply(([accessKey, secretKey]) => renderS3cmdConfig({ accessKey: accessKey.trim(), secretKey: secretKey.trim() }, { accessKey: "dbisSpacesAccessKey", secretKey: "dbisSpacesSecretKey" })),
          ),
          mode: "0600",
          secret: true,
        },
      ],
      prepare: plan.prepare,
      recoveryChains: plan.recoveryChains,
      up: { command: plan.compose.upCommand, triggers: promote ? [promote.urn] : [] },
      tls: plan.tls,
      operations: plan.operations,
    },
    { parent: platform },
  );

  // Versioned, private, never force-destroyed; the audit bucket is protected on every stack.
  const buckets = plan.buckets.map(
    (b) =>
      new digitalocean.SpacesBucket(
        `${names.prefix}-${b.key}-bucket`,
        {
          name: b.name,
          region: b.region,
          acl: "private",
          forceDestroy: false,
          versioning: { enabled: true },
          lifecycleRules: b.lifecycleRules.map((r) => ({
            id: r.id,
            enabled: true,
            prefix: r.prefix,
            ...(r.expirationDays ? { expiration: { days: r.expirationDays } } : {}),
            noncurrentVersionExpiration: { days: r.noncurrentVersionExpirationDays },
            abortIncompleteMultipartUploadDays: 1,
          })),
        },
        { parent: platform, protect: b.alwaysProtected || env.protect },
      ),
  );

  ctx.digitalocean!.attach(`${names.prefix}-project-resources`, [...projectUrns, db.cluster.clusterUrn, ...(db.restored ? [db.restored.clusterUrn] : []), ...buckets.map((b) => b.bucketUrn)], platform);

  return {
    publicIp: host.publicIp,
    url: plan.outputs.url,
    healthUrl: plan.outputs.healthUrl,
    ssh: sshCommand,
    database: { liveCluster: db.cluster.name, restoredCluster: db.restored?.name, activeCluster: conn.clusterName, host: conn.host, port: conn.port, name: conn.database, user: conn.user, replica: db.replica?.name },
  };
}
