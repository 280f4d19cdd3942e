// A server that already exists (an on-prem machine, or the machine an operator has for a DR rebuild), reached over SSH.
// Lazarus declares no cloud resource for it: it neither created the machine nor may delete it, and there is no cloud
// API in front of it for a reserved IP, a firewall or monitor alerts. What runs on it (files, compose, operations) is
// the same as on a droplet; only first boot differs: no cloud-init ran, so HostSoftware checks the host instead.
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Host } from "./host";

export interface ExistingHostArgs {
  /** IPv4, IPv6 or DNS name the SSH login and clients use. */
  address: string;
  user: string;
  port: number;
  /** The SSH private key command resources log in with; kept a secret whatever the caller passes. */
  privateKey: pulumi.Input<string>;
  /**
   * The machine behind the same login was replaced (a recovery switch's label): part of the machine id, so every
   * step on it runs again, as on a new machine.
   */
  replacedAs?: string;
}

export class ExistingHost extends pulumi.ComponentResource implements Host {
  readonly connection: command.types.input.remote.ConnectionArgs;
  /** Nothing to wait for: the machine is there before Lazarus runs. */
  readonly ready: pulumi.Resource[] = [];
  /** The login: pointing the platform at another machine (or another account on it) re-runs every host step. */
  readonly machineId: pulumi.Output<string>;
  readonly firstBoot = "preflight" as const;
  readonly publicIp: pulumi.Output<string>;

  constructor(name: string, args: ExistingHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lazarus:host:ExistingHost", name, {}, opts);
    this.connection = { host: args.address, port: args.port, user: args.user, privateKey: pulumi.secret(args.privateKey) };
    this.machineId = pulumi.output(`${args.user}@${args.address}:${args.port}${args.replacedAs ? `#${args.replacedAs}` : ""}`);
    this.publicIp = pulumi.output(args.address);
    this.registerOutputs({ publicIp: this.publicIp });
  }
}
