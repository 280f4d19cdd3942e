// Declares DBIS's plan: the host, the managed PostgreSQL cluster with its read replica, and the compose deployment.
// No decisions here: every file, command and name comes from the plan (plan.ts).
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { ComposeDeployment } from "../../components/composeDeployment";
import type { HostFileSpec } from "../../components/hostSoftware";
import { bearerHeader, promoteReplicaCommand, reservedIpAssignCommand } from "../../lib/digitaloceanApi";
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
  // Every server of the one list, primary first; the database admits them all.
  const servers = plan.servers.map((server) => ({ server, platformHost: declareHost(server.host, ctx, platform) }));
  const { host, sshCommand } = servers[0].platformHost;
  const projectUrns = servers.flatMap((s) => s.platformHost.projectUrns);

  const db = declareManagedDatabase(
    { name: names.database, platform: "dbis", config: plan.database, replica: plan.replica, restore: plan.databaseRestore },
    servers.map((s) => s.platformHost),
    ctx,
    platform,
  );

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

  /** Every file of the project, the same on each server but its name (a fresh list of Outputs per deployment). */
  const deploymentFiles = (serverName: string): HostFileSpec[] => [
    // The one file that differs: the server's name, under which its app logs are shipped.
    { path: bc.serverNameFile, content: `${serverName}\n`, mode: "0644", secret: false },
    ...Object.entries(plan.files).map(([path, content]) => ({ path, content, mode: "0644" as const, secret: false })),
    { path: plan.envFile.path, content: pulumi.secret(envFile), mode: "0600", secret: true },
    { path: plan.reconciliationHeaderFile, content: reconciliationHeader(ctx.secrets("dbisReconciliationToken")), mode: "0600", secret: true },
    { path: plan.alertmanagerSecrets.slackWebhook, content: pulumi.secret(ctx.secrets("dbisSlackWebhook").apply((v) => `${v.trim()}\n`)), mode: "0600", secret: true },
    // No trailing newline: Alertmanager 0.25 sends the file's bytes as the password, newline included, and the relay
    // refuses the login (test/stacks/dbis/alert-delivery.test.ts saw the 535); later versions trim it.
    { path: plan.alertmanagerSecrets.smtpPassword, content: pulumi.secret(ctx.secrets("dbisSmtpPassword").apply((v) => v.replace(/\r?\n$/, ""))), mode: "0600", secret: true },
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
  ];

  // The runbook's "Update load balancer". Droplets: a DigitalOcean load balancer (TCP 80/443 passed through to nginx,
  // which keeps TLS and answers certbot) in front of the active droplet only; a failover changes its droplet (an update
  // in place). Not a second reserved IP: each Lazarus droplet already holds its own (SSH, and an address that survives
  // a rebuild), and DigitalOcean allows one per droplet. Existing servers (droplets Lazarus does not own): the address
  // clients use is their reserved IP, moved by the API call below.
  const droplets = { primary: servers[0].platformHost.droplet, standby: servers[1]?.platformHost.droplet };
  const loadBalancer = (dependsOn: pulumi.Resource[]) =>
    new digitalocean.LoadBalancer(
      names.appLb,
      {
        name: names.appLb,
        region: ctx.digitalocean!.settings.region,
        vpcUuid: ctx.digitalocean!.vpc.id,
        dropletIds: [droplets[plan.failover?.to ?? "primary"]!.dropletId],
        forwardingRules: [80, 443].map((port) => ({ entryProtocol: "tcp", entryPort: port, targetProtocol: "tcp", targetPort: port })),
        // The runbook's "Verify health checks": nginx accepts TLS on 443 only once the app is behind it.
        healthcheck: { protocol: "tcp", port: 443, checkIntervalSeconds: 10, unhealthyThreshold: 3, healthyThreshold: 3 },
      },
      { parent: platform, protect: env.protect, dependsOn },
    );

  /** The failover's API call for existing servers, from where pulumi runs: replaced (run again) only when `to` changes. */
  const failoverCommand = (dependsOn: pulumi.Resource[]) => {
    const f = plan.failover!;
    const a = plan.appAddress as Extract<DbisPlan["appAddress"], { kind: "existing" }>;
    return new command.local.Command(
      names.appFailover,
      {
        create: reservedIpAssignCommand({ reservedIp: a.reservedIp, dropletId: a.dropletIds[f.to], warning: f.warning }),
        stdin: pulumi.secret(ctx.secrets("dbisDigitaloceanApiToken").apply(bearerHeader)),
        triggers: [f.to],
        update: `echo 'the reserved IP was moved to the ${f.to} when this switch was applied; it moves again only when recovery.appFailover.to changes'`,
        logging: "stdoutAndStderr",
      },
      { parent: platform, dependsOn },
    );
  };
  /** Whatever moves the traffic: the load balancer (droplets) or the failover call (existing servers). */
  const moveTraffic = (dependsOn: pulumi.Resource[]): pulumi.Resource | undefined =>
    plan.appAddress?.kind === "declared" ? loadBalancer(dependsOn) : plan.appAddress?.kind === "existing" && plan.failover ? failoverCommand(dependsOn) : undefined;
  // Unless the app moves to the standby (then its app must be healthy first), the traffic's target is declared first;
  // back to the primary, the standby is stopped only after the traffic has moved (its compose step waits for it).
  let traffic = plan.failover?.to === "standby" ? undefined : moveTraffic([]);

  for (const { server, platformHost } of servers) {
    const toThisStandby = plan.failover?.to === "standby" && server.role === "standby";
    new ComposeDeployment(
      `${server.prefix}-deployment`,
      {
        platform: "dbis",
        prefix: server.prefix,
        host: platformHost.host,
        hostNeeds: server.host.needs,
        files: deploymentFiles(server.host.name),
        prepare: plan.prepare,
        // Recovery chains and operations run where the app runs.
        recoveryChains: server.active ? plan.recoveryChains : [],
        up: {
          command: server.upCommand,
          triggers: [...(promote ? [promote.urn] : []), ...(server.role === "standby" && traffic ? [traffic.urn] : [])],
        },
        tls: server.tls,
        // To the standby: its app is up and healthy first, then the IP moves, then certbot can reach it.
        ...(toThisStandby ? { beforeCertificate: (composeUp: command.remote.Command) => (traffic = moveTraffic([composeUp])) ? [traffic] : [] } : {}),
        operations: server.active ? plan.operations : [],
        operationPrefix: names.prefix,
      },
      { parent: platform },
    );
  }

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

  ctx.digitalocean!.attach(`${names.prefix}-project-resources`, [...projectUrns, ...(traffic instanceof digitalocean.LoadBalancer ? [traffic.loadBalancerUrn] : []), db.cluster.clusterUrn, ...(db.restored ? [db.restored.clusterUrn] : []), ...buckets.map((b) => b.bucketUrn)], platform);

  return {
    publicIp: host.publicIp,
    url: plan.outputs.url,
    healthUrl: plan.outputs.healthUrl,
    ssh: sshCommand,
    ...(traffic instanceof digitalocean.LoadBalancer ? { appAddress: traffic.ip } : plan.appAddress?.kind === "existing" ? { appAddress: plan.appAddress.reservedIp } : {}),
    ...(servers[1] ? { standbySsh: servers[1].platformHost.sshCommand, activeServer: plan.servers.find((s) => s.active)!.role } : {}),
    // After a promotion (stacks/dbis/README.md "After a promotion"): the exact commands that take the promoted node
    // into state as a cluster and drop the replica resource, which a `pulumi refresh` would otherwise lose and the next
    // `up` would recreate as a new replica of the OLD primary. Printed, never run: the provider's import cannot run here.
    ...(plan.promotion && db.replica
      ? {
          afterPromotion: {
            importPromotedCluster: pulumi.interpolate`pulumi import --stack ${plan.stack} --protect digitalocean:index/databaseCluster:DatabaseCluster ${names.replica}-cluster ${db.replica.uuid}`,
            dropReplicaFromState: pulumi.interpolate`pulumi state delete --stack ${plan.stack} --force '${db.replica.urn}'`,
          },
        }
      : {}),
    database: { liveCluster: db.cluster.name, restoredCluster: db.restored?.name, activeCluster: conn.clusterName, host: conn.host, port: conn.port, name: conn.database, user: conn.user, replica: db.replica?.name },
  };
}
