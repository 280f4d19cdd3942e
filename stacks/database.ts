// A platform's managed PostgreSQL cluster from its plan: what the shared environment gives every cluster (region, VPC,
// tags, protection) and how it admits the platform's host (by droplet, or by address over the public endpoint for a
// server outside the VPC). One mapping for every platform with a managed database.
import type * as pulumi from "@pulumi/pulumi";
import { ManagedPostgres, type ManagedPostgresArgs } from "../components/managedPostgres";
import type { DatabaseRestoreConfig, ManagedPostgresConfig } from "../config/shared";
import type { PlatformHost } from "./host";
import type { DeclareContext } from "./platform";

export interface ManagedDatabasePlan {
  /** Cluster name, e.g. kro-prod-db. */
  name: string;
  platform: string;
  config: ManagedPostgresConfig;
  /** The recovery switch's restore, if set. */
  restore?: ManagedPostgresArgs["restore"];
  replica?: ManagedPostgresArgs["replica"];
}

/** The restore switch as the cluster component takes it: the application runs on the restored cluster only after `cutover: true`. */
export function managedRestore(r: DatabaseRestoreConfig | undefined): ManagedPostgresArgs["restore"] {
  if (!r) return undefined;
  return { label: r.label, sourceCluster: r.sourceCluster, pointInTime: r.pointInTime, cutover: r.cutover === true, discard: r.discard };
}

export function declareManagedDatabase(plan: ManagedDatabasePlan, host: PlatformHost, ctx: DeclareContext, parent: pulumi.Resource): ManagedPostgres {
  const digitalocean = ctx.digitalocean;
  if (!digitalocean) throw new Error(`${plan.name}: a managed database needs the stack's DigitalOcean environment; the platform's needs() must say so`);
  const access = host.databaseAccess;
  return new ManagedPostgres(
    plan.name,
    {
      name: plan.name,
      region: digitalocean.settings.region,
      vpcUuid: digitalocean.vpc.id,
      projectTags: [...digitalocean.tags, `platform-${plan.platform}`],
      ...plan.config,
      allow: [access],
      // A server outside the stack's VPC reaches the cluster over its public endpoint (TLS, firewall by address).
      publicEndpoint: access.type === "ip_addr",
      protect: ctx.environment.protect,
      ...(plan.restore ? { restore: plan.restore } : {}),
      ...(plan.replica ? { replica: plan.replica } : {}),
    },
    { parent },
  );
}
