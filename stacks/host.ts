// The host a platform runs on, from its plan: a droplet Lazarus declares, with what the shared environment gives every
// droplet (region, VPC, SSH keys, admin CIDRs, alert targets, protection), or a server that already exists, reached
// over SSH with nothing declared for it. One mapping for every platform.
import * as pulumi from "@pulumi/pulumi";
import { DropletHost } from "../components/dropletHost";
import { ExistingHost } from "../components/existingHost";
import type { Host } from "../components/host";
import { isExistingHost, type HostPlacementConfig } from "../config/shared";
import type { HostNeeds } from "../renderers/cloudInit";
import type { DeclareContext } from "./platform";

/** Everything about a platform's host that the plan decides. */
export interface HostPlan {
  /** Droplet name, also the prefix of its child resources (contains platform and stack). */
  name: string;
  platform: string;
  /** The stack file's host block: a droplet to declare, or `existing`. */
  placement: HostPlacementConfig;
  /** What the platform's steps need on the machine: cloud-init installs it on a droplet, a preflight checks a server. */
  needs: HostNeeds;
  /** The droplet's cloud-init user-data, rendered from `needs` (unused for an existing server). */
  userData: string;
  /**
   * A rebuild (recovery) switch: present and not done means the droplet may be replaced; fromSnapshot picks the image.
   * Done, it only records the image, and the droplet is protected again.
   */
  rebuild?: { fromSnapshot?: string; snapshotNameRegex?: string; done: boolean };
  /**
   * Holds no data (a scale-out clone, Bunty): neither the droplet nor its reserved IP is protected, so a lower count
   * removes it. The policy pack allows it only under a confirmed scale-out.
   */
  disposable?: boolean;
  /** A resize grows the disk too (irreversible); unset: the provider's default (it does). */
  resizeDisk?: boolean;
  publicPorts: number[];
  /** Ports open only to the admin CIDRs (e.g. Grafana). */
  adminPorts?: number[];
  /** Public https URL for the uptime check. */
  healthUrl?: string;
  /** Alert when the uptime check's response time exceeds this many milliseconds (needs healthUrl). */
  latencyAlertMs?: number;
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
  /** The login an operator types, for the stack outputs. */
  sshCommand: pulumi.Output<string>;
}

/** Does this host plan declare a droplet (and so need the stack's DigitalOcean environment)? */
export function needsDroplet(plan: Pick<HostPlan, "placement">): boolean {
  return !isExistingHost(plan.placement);
}

export function declareHost(plan: HostPlan, ctx: DeclareContext, parent: pulumi.Resource): PlatformHost {
  const env = ctx.environment;
  const o = plan.placement;
  if (isExistingHost(o)) {
    const server = o.existing;
    const host = new ExistingHost(plan.name, { ...server, privateKey: ctx.secrets(plan.sshKeySecret) }, { parent });
    const sshCommand = `ssh ${server.port === 22 ? "" : `-p ${server.port} `}${server.user}@${server.address}`;
    return { host, projectUrns: [], databaseAccess: { type: "ip_addr", value: server.address }, sshCommand: pulumi.output(sshCommand) };
  }
  if (!ctx.digitalocean) throw new Error(`${plan.name}: a droplet needs the stack's DigitalOcean environment; the platform's needs() must say so`);
  const host = new DropletHost(
    plan.name,
    {
      name: plan.name,
      region: ctx.digitalocean.settings.region,
      vpcUuid: ctx.digitalocean.vpc.id,
      size: o.size,
      ...(plan.resizeDisk === undefined ? {} : { resizeDisk: plan.resizeDisk }),
      baseImage: o.image,
      fromSnapshot: plan.rebuild?.fromSnapshot
        ? { choice: plan.rebuild.fromSnapshot, nameRegex: plan.rebuild.snapshotNameRegex ?? `^${plan.name}` }
        : undefined,
      sshKeys: ctx.digitalocean.settings.sshKeys,
      tags: [...ctx.digitalocean.tags, `platform-${plan.platform}`],
      monitoring: o.monitoring,
      backups: o.backups,
      userData: plan.userData,
      adminCidrs: ctx.digitalocean.settings.adminCidrs,
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
      latencyAlertMs: plan.latencyAlertMs,
      protect: env.protect && !plan.disposable,
      // A rebuild (confirmed on prod) unprotects the droplet for the one `up` that replaces it (the engine does both
      // in one up); the reserved IP stays protected. Once done, the droplet is protected again and its image is no
      // longer diffed: the `done` up itself cannot replace it (the state is still unprotected then), and every later
      // one is refused by the engine (protected in program and state), whatever the switch says.
      rebuilding: plan.rebuild !== undefined && !plan.rebuild.done,
      rebuildDone: plan.rebuild?.done === true,
      ssh: { user: env.sshUser, privateKey: ctx.secrets(plan.sshKeySecret) },
    },
    { parent },
  );
  return {
    host,
    projectUrns: [host.droplet.dropletUrn, host.reservedIp.reservedIpUrn],
    databaseAccess: { type: "droplet", value: host.droplet.id },
    droplet: host,
    sshCommand: pulumi.interpolate`ssh ${env.sshUser}@${host.publicIp}`,
  };
}
