// A platform's managed PostgreSQL cluster from its plan: what the shared environment gives every cluster (region, VPC,
// tags, protection) and how it admits the platform's host (by droplet, or by address over the public endpoint for a
// server outside the VPC). One mapping for every platform with a managed database.
import type * as pulumi from "@pulumi/pulumi";
import { ManagedPostgres, type DatabaseAccess, type ManagedDocumentOrSqlEngine, type ManagedPostgresArgs } from "../components/managedPostgres";
import type { ManagedPostgresConfig } from "../config/shared";
import type { PlatformHost } from "./host";
import type { DeclareContext } from "./platform";

export interface ManagedDatabasePlan {
  /** Cluster name, e.g. kro-prod-db. */
  name: string;
  platform: string;
  /** The cluster's settings; the version is the engine's (PostgreSQL "16", MongoDB "8.0"). */
  config: Omit<ManagedPostgresConfig, "version"> & { version: string };
  /** "pg" unless given. */
  engine?: ManagedDocumentOrSqlEngine;
  /** The recovery switch's restore, if set. */
  restore?: ManagedPostgresArgs["restore"];
  replica?: ManagedPostgresArgs["replica"];
}

/**
 * The cluster, admitting a platform's host (`PlatformHost`), a given client, or (`"app"`) an App Platform app declared
 * after it, because the app's spec holds the cluster's connection: the caller then calls `admit` with the app's id. An
 * app, like a server outside the VPC, reaches the cluster over its public endpoint.
 */
export function declareManagedDatabase(
  plan: ManagedDatabasePlan,
  client: PlatformHost | PlatformHost[] | DatabaseAccess | DatabaseAccess[] | "app",
  ctx: DeclareContext,
  parent: pulumi.Resource,
): ManagedPostgres {
  const digitalocean = ctx.digitalocean;
  if (!digitalocean) throw new Error(`${plan.name}: a managed database needs the stack's DigitalOcean environment; the platform's needs() must say so`);
  // Several clients (DBIS's primary and standby, Bunty's droplets behind a load balancer): the firewall admits each.
  const access: DatabaseAccess[] | undefined =
    client === "app" ? undefined : (Array.isArray(client) ? client : [client]).map((c) => ("databaseAccess" in c ? c.databaseAccess : c));
  return new ManagedPostgres(
    plan.name,
    {
      name: plan.name,
      region: digitalocean.settings.region,
      vpcUuid: digitalocean.vpc.id,
      projectTags: [...digitalocean.tags, `platform-${plan.platform}`],
      ...plan.config,
      ...(plan.engine ? { engine: plan.engine } : {}),
      ...(access ? { allow: access } : {}),
      // A server outside the stack's VPC (or an app) reaches the cluster over its public endpoint (TLS, firewall by
      // address or app id).
      publicEndpoint: access === undefined || access.some((a) => a.type !== "droplet"),
      protect: ctx.environment.protect,
      ...(plan.restore ? { restore: plan.restore } : {}),
      ...(plan.replica ? { replica: plan.replica } : {}),
    },
    { parent },
  );
}
