// Declares KRO's plan: the host, the managed PostgreSQL cluster (with its recovery switch) and the compose deployment.
// No decisions here: every file, command and name comes from the plan (plan.ts).
import * as pulumi from "@pulumi/pulumi";
import { ComposeDeployment } from "../../components/composeDeployment";
import { declareManagedDatabase } from "../database";
import { declareHost } from "../host";
import type { DeclareContext } from "../platform";
import { productionJsonWithDatabase, type KroPlan } from "./plan";

export function declareKro(plan: KroPlan, ctx: DeclareContext) {
  const { names } = plan;
  const platform = new pulumi.ComponentResource("lazarus:platform:Kro", names.prefix, {});
  const platformHost = declareHost(plan.host, ctx, platform);
  const { host, projectUrns, sshCommand } = platformHost;

  const db = declareManagedDatabase(
    { name: names.database, platform: "kro", config: plan.database, restore: plan.databaseRecovery },
    platformHost,
    ctx,
    platform,
  );

  const conn = db.active;
  const productionJson = pulumi
    .all([ctx.secrets("kroProductionJson"), conn.host, conn.port, conn.password])
    .apply(([json, dbHost, dbPort, password]) =>
      productionJsonWithDatabase(json, plan.productionJsonFields, { host: dbHost, port: dbPort, name: conn.database, user: conn.user, password, caFile: plan.backendCaPath }),
    );

  new ComposeDeployment(
    `${names.prefix}-deployment`,
    {
      platform: "kro",
      prefix: names.prefix,
      host,
      hostNeeds: plan.host.needs,
      files: [
        ...Object.entries(plan.files).map(([path, content]) => ({ path, content, mode: "0644" as const, secret: false })),
        { path: plan.secretFiles.productionJson, content: productionJson, mode: "0600", secret: true },
        { path: plan.secretFiles.databaseCa, content: conn.caCertificate, mode: "0600", secret: true },
      ],
      up: { command: plan.compose.upCommand },
      tls: plan.tls,
      operations: plan.operations,
    },
    { parent: platform },
  );

  ctx.digitalocean!.attach(
    `${names.prefix}-project-resources`,
    [...projectUrns, db.cluster.clusterUrn, ...(db.restored ? [db.restored.clusterUrn] : [])],
    platform,
  );

  return {
    publicIp: host.publicIp,
    privateIp: host.privateIp,
    urls: plan.outputs.urls,
    healthUrl: plan.outputs.healthUrl,
    ssh: sshCommand,
    database: {
      liveCluster: db.cluster.name,
      activeCluster: conn.clusterName,
      host: conn.host,
      port: conn.port,
      name: conn.database,
      user: conn.user,
      password: conn.password,
      restoredCluster: db.restored?.name,
    },
  };
}
