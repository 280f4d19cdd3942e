// A DigitalOcean droplet that can be lost and rebuilt without anyone noticing from outside: a reserved IP keeps its
// public address, a cloud firewall keeps only the intended ports open, and monitor and uptime alerts say when it is sick.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { Host } from "./host";

export interface AlertTargets {
  emails: string[];
  slack?: { channel: string; url: pulumi.Input<string> };
}

export interface DropletHostArgs {
  /** Droplet name, also the prefix of every child resource. Contains platform and stack, so stacks never collide. */
  name: string;
  region: string;
  vpcUuid: pulumi.Input<string>;
  size: string;
  /**
   * Whether a resize also grows the disk (the provider's default: yes). A disk never shrinks, so a resize with it can
   * never be undone; without it only CPU and memory change and the droplet can be sized back down.
   */
  resizeDisk?: boolean;
  /** The base image slug. */
  baseImage: string;
  /**
   * Rebuild from a snapshot instead of the base image: an id, or "latest" (the most recent matching nameRegex, looked
   * up by every `pulumi up`, so only unprotected stacks may use it: config/shared.ts hostRebuildProblems).
   */
  fromSnapshot?: { choice: string; nameRegex: string };
  sshKeys: string[];
  tags: string[];
  monitoring: boolean;
  backups: boolean;
  userData: string;
  /** Who may reach SSH. */
  adminCidrs: string[];
  /** Ports open to the internet (TCP). */
  publicPorts: number[];
  /** Extra ports open only to adminCidrs (e.g. Grafana). */
  adminPorts?: number[];
  alerts: { cpuPercent: number; memoryPercent: number; diskPercent: number; window: string; targets: AlertTargets };
  /** Public https URL for the uptime check; checks down-ness and certificate expiry. */
  healthUrl?: string;
  /** With healthUrl: alert when the check's response time exceeds this many milliseconds. */
  latencyAlertMs?: number;
  /** Protects the reserved IP, and the droplet unless it is being rebuilt. */
  protect: boolean;
  /** A confirmed rebuild not yet done: the droplet must be replaceable even where everything else is protected. */
  rebuilding: boolean;
  /**
   * The rebuild is over (`done: true`): the droplet's image is no longer diffed. The engine refuses a replace only when
   * the resource is protected in the program AND in state (test/engine/protect.test.ts), and after the rebuild the
   * state is unprotected, so without this the very `up` that protects the droplet again would still replace it if
   * the snapshot id changed with it. From the next `up` on, protect in state refuses every replace anyway.
   */
  rebuildDone?: boolean;
  /** SSH login used by command resources on this host. */
  ssh: { user: string; privateKey: pulumi.Input<string> };
}

export class DropletHost extends pulumi.ComponentResource implements Host {
  readonly droplet: digitalocean.Droplet;
  readonly reservedIp: digitalocean.ReservedIp;
  /** The address clients and DNS use; survives rebuilds. */
  readonly publicIp: pulumi.Output<string>;
  readonly privateIp: pulumi.Output<string>;
  readonly dropletId: pulumi.Output<number>;
  /** The droplet id: a rebuilt droplet is a new machine. */
  readonly machineId: pulumi.Output<string>;
  readonly firstBoot = "cloud-init" as const;
  /** Connection for `command.remote.*` resources, through the reserved IP. */
  readonly connection: command.types.input.remote.ConnectionArgs;
  /** Resources a command on this host must wait for (the droplet and the IP pointing at it). */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: DropletHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lazarus:host:DropletHost", name, {}, opts);
    const child = { parent: this };

    const image = args.fromSnapshot
      ? args.fromSnapshot.choice === "latest"
        ? digitalocean
            .getDropletSnapshotOutput({ nameRegex: args.fromSnapshot.nameRegex, region: args.region, mostRecent: true }, child)
            .apply((s) => s.id)
        : pulumi.output(args.fromSnapshot.choice)
      : pulumi.output(args.baseImage);

    this.droplet = new digitalocean.Droplet(
      args.name,
      {
        name: args.name,
        image,
        size: args.size,
        ...(args.resizeDisk === undefined ? {} : { resizeDisk: args.resizeDisk }),
        region: args.region,
        vpcUuid: args.vpcUuid,
        sshKeys: args.sshKeys,
        tags: args.tags,
        monitoring: args.monitoring,
        backups: args.backups,
        ipv6: true,
        gracefulShutdown: true,
        userData: args.userData,
      },
      {
        ...child,
        // One `up` both unprotects and replaces (the engine allows it: test/engine/protect.test.ts).
        protect: args.protect && !args.rebuilding,
        // A snapshot already carries the first-boot state; re-running user-data changes must not replace the host.
        ignoreChanges: args.fromSnapshot ? ["userData", ...(args.rebuildDone ? ["image"] : [])] : [],
      },
    );
    this.dropletId = this.droplet.id.apply((id) => Number(id));
    this.machineId = this.droplet.id;

    this.reservedIp = new digitalocean.ReservedIp(`${args.name}-ip`, { region: args.region }, { ...child, protect: args.protect });
    const assignment = new digitalocean.ReservedIpAssignment(
      `${args.name}-ip-assignment`,
      { ipAddress: this.reservedIp.ipAddress, dropletId: this.dropletId },
      // A rebuilt droplet gets the address moved to it: replace, don't update in place.
      { ...child, replaceOnChanges: ["dropletId"], deleteBeforeReplace: true },
    );
    this.publicIp = this.reservedIp.ipAddress;
    this.privateIp = this.droplet.ipv4AddressPrivate;

    const everywhere = ["0.0.0.0/0", "::/0"];
    new digitalocean.Firewall(
      `${args.name}-firewall`,
      {
        name: `${args.name}-firewall`,
        dropletIds: [this.dropletId],
        inboundRules: [
          { protocol: "tcp", portRange: "22", sourceAddresses: args.adminCidrs },
          ...(args.adminPorts ?? []).map((p) => ({ protocol: "tcp", portRange: String(p), sourceAddresses: args.adminCidrs })),
          ...args.publicPorts.map((p) => ({ protocol: "tcp", portRange: String(p), sourceAddresses: everywhere })),
          { protocol: "icmp", sourceAddresses: everywhere },
        ],
        outboundRules: [
          { protocol: "tcp", portRange: "1-65535", destinationAddresses: everywhere },
          { protocol: "udp", portRange: "1-65535", destinationAddresses: everywhere },
          { protocol: "icmp", destinationAddresses: everywhere },
        ],
      },
      child,
    );

    const notify = {
      emails: args.alerts.targets.emails,
      slacks: args.alerts.targets.slack ? [{ channel: args.alerts.targets.slack.channel, url: args.alerts.targets.slack.url }] : [],
    };
    const metricAlerts = [
      { key: "cpu", type: "v1/insights/droplet/cpu", value: args.alerts.cpuPercent, what: "CPU" },
      { key: "memory", type: "v1/insights/droplet/memory_utilization_percent", value: args.alerts.memoryPercent, what: "memory" },
      { key: "disk", type: "v1/insights/droplet/disk_utilization_percent", value: args.alerts.diskPercent, what: "disk" },
    ];
    for (const a of metricAlerts) {
      new digitalocean.MonitorAlert(
        `${args.name}-alert-${a.key}`,
        {
          description: `${args.name}: ${a.what} above ${a.value}% for ${args.alerts.window}`,
          type: a.type,
          compare: "GreaterThan",
          value: a.value,
          window: args.alerts.window,
          entities: [this.droplet.id],
          enabled: true,
          alerts: notify,
        },
        child,
      );
    }

    if (args.healthUrl) {
      const check = new digitalocean.UptimeCheck(
        `${args.name}-uptime`,
        { name: `${args.name}-health`, target: args.healthUrl, type: "https", regions: ["us_east", "eu_west"], enabled: true },
        child,
      );
      new digitalocean.UptimeAlert(
        `${args.name}-uptime-down`,
        { checkId: check.id, name: `${args.name} health URL down`, type: "down", period: "2m", notifications: [notify] },
        child,
      );
      // certbot renews at 30 days left; 14 days left means renewal has been failing for two weeks.
      new digitalocean.UptimeAlert(
        `${args.name}-uptime-tls`,
        {
          checkId: check.id,
          name: `${args.name} TLS certificate expires within 14 days`,
          type: "ssl_expiry",
          threshold: 14,
          comparison: "less_than",
          period: "2m",
          notifications: [notify],
        },
        child,
      );
      if (args.latencyAlertMs !== undefined) {
        new digitalocean.UptimeAlert(
          `${args.name}-uptime-latency`,
          {
            checkId: check.id,
            name: `${args.name} health URL slower than ${args.latencyAlertMs} ms`,
            type: "latency",
            threshold: args.latencyAlertMs,
            comparison: "greater_than",
            period: "5m",
            notifications: [notify],
          },
          child,
        );
      }
    }

    this.connection = { host: this.publicIp, user: args.ssh.user, privateKey: args.ssh.privateKey, dialErrorLimit: 30 };
    this.ready = [this.droplet, assignment];
    this.registerOutputs({ publicIp: this.publicIp, privateIp: this.privateIp });
  }
}
