// The host a platform runs on, from its plan: a droplet Lazarus declares, with what the shared environment gives every
// droplet (region, VPC, SSH keys, admin CIDRs, alert targets, protection). One mapping for every platform.
import { DropletHost } from "../components/dropletHost";
import type { Host } from "../components/host";
import type * as pulumi from "@pulumi/pulumi";
import type { HostConfig } from "../config/shared";
import type { DeclareContext } from "./platform";

/** Everything about a platform's host that the plan decides. */
export interface HostPlan {
  /** Droplet name, also the prefix of its child resources (contains platform and stack). */
  name: string;
  platform: string;
  /** The stack file's host block. */
  placement: HostConfig;
  userData: string;
  /** A rebuild (recovery) switch: present means the droplet may be replaced; fromSnapshot picks the image. */
  rebuild?: { fromSnapshot?: string; snapshotNameRegex?: string };
  publicPorts: number[];
  /** Ports open only to the admin CIDRs (e.g. Grafana). */
  adminPorts?: number[];
  /** Public https URL for the uptime check. */
  healthUrl?: string;
  /** The secret holding the SSH key command resources log in with. */
  sshKeySecret: string;
}

/** A declared platform host, with what other resources of the platform need to know about it. */
export interface PlatformHost {
  host: Host;
  /** Cloud resources to put in the stack's DigitalOcean project (none for an existing server). */
  projectUrns: pulumi.Input<string>[];
  /** How a managed database's firewall admits this host. */
  databaseAccess: { type: "droplet" | "ip_addr"; value: pulumi.Input<string> };
  /** The droplet, for outputs and tests that look at it; absent for an existing server. */
  droplet?: DropletHost;
}

export function declareHost(plan: HostPlan, ctx: DeclareContext, parent: pulumi.Resource): PlatformHost {
  const env = ctx.environment;
  if (!ctx.digitalocean) throw new Error(`${plan.name}: a droplet needs the stack's DigitalOcean environment; the platform's needs() must say so`);
  const o = plan.placement;
  const host = new DropletHost(
    plan.name,
    {
      name: plan.name,
      region: env.region,
      vpcUuid: ctx.digitalocean.vpc.id,
      size: o.size,
      baseImage: o.image,
      fromSnapshot: plan.rebuild?.fromSnapshot
        ? { choice: plan.rebuild.fromSnapshot, nameRegex: plan.rebuild.snapshotNameRegex ?? `^${plan.name}` }
        : undefined,
      sshKeys: env.sshKeys,
      tags: [...ctx.digitalocean.tags, `platform-${plan.platform}`],
      monitoring: o.monitoring,
      backups: o.backups,
      userData: plan.userData,
      adminCidrs: env.adminCidrs,
      publicPorts: plan.publicPorts,
      adminPorts: plan.adminPorts,
      alerts: {
        ...o.alerts,
        targets: {
          emails: env.alerts.emails,
          slack: env.alerts.slackChannel ? { channel: env.alerts.slackChannel, url: ctx.secrets("alertSlackWebhook") } : undefined,
        },
      },
      healthUrl: plan.healthUrl,
      protect: env.protect,
      // A rebuild (confirmed on prod) must be allowed to replace the droplet; the reserved IP stays protected.
      rebuilding: plan.rebuild !== undefined,
      ssh: { user: env.sshUser, privateKey: ctx.secrets(plan.sshKeySecret) },
    },
    { parent },
  );
  return {
    host,
    projectUrns: [host.droplet.dropletUrn, host.reservedIp.reservedIpUrn],
    databaseAccess: { type: "droplet", value: host.droplet.id },
    droplet: host,
  };
}
