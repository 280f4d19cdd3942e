// The part of a platform's host that comes from the shared environment (region, VPC, SSH keys, admin CIDRs, alert
// targets, protection): one mapping from config to DropletHost arguments for every platform.
import type { DropletHostArgs } from "../components/dropletHost";
import type { HostConfig } from "../config/shared";
import type { SecretName } from "../config/secrets";
import type { PlatformContext } from "./index";

export interface PlatformHostOptions {
  name: string;
  host: HostConfig;
  userData: string;
  /** A rebuild (recovery) switch: present means the droplet may be replaced; fromSnapshot picks the image. */
  rebuild?: { fromSnapshot?: string; snapshotNameRegex?: string };
  publicPorts: number[];
  adminPorts?: number[];
  healthUrl?: string;
  /** The secret holding the SSH key command resources log in with. */
  sshKey: SecretName;
  tags: string[];
}

export function platformHostArgs(ctx: PlatformContext, o: PlatformHostOptions): DropletHostArgs {
  const env = ctx.config.environment;
  return {
    name: o.name,
    region: env.region,
    vpcUuid: ctx.environment.vpc.id,
    size: o.host.size,
    baseImage: o.host.image,
    fromSnapshot: o.rebuild?.fromSnapshot
      ? { choice: o.rebuild.fromSnapshot, nameRegex: o.rebuild.snapshotNameRegex ?? `^${o.name}` }
      : undefined,
    sshKeys: env.sshKeys,
    tags: o.tags,
    monitoring: o.host.monitoring,
    backups: o.host.backups,
    userData: o.userData,
    adminCidrs: env.adminCidrs,
    publicPorts: o.publicPorts,
    adminPorts: o.adminPorts,
    alerts: {
      ...o.host.alerts,
      targets: {
        emails: env.alerts.emails,
        slack: env.alerts.slackChannel ? { channel: env.alerts.slackChannel, url: ctx.secrets("alertSlackWebhook") } : undefined,
      },
    },
    healthUrl: o.healthUrl,
    protect: env.protect,
    // A rebuild (confirmed on prod) must be allowed to replace the droplet; the reserved IP stays protected.
    rebuilding: o.rebuild !== undefined,
    ssh: { user: env.sshUser, privateKey: ctx.secrets(o.sshKey) },
  };
}
