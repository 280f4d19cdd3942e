// What every component that runs software on a machine needs from it, whether Lazarus created the machine (a droplet)
// or an operator already has it (an on-prem server, a DR target): an SSH connection, what must exist before the first
// command, and an identity that changes when the machine is replaced, so that every host step re-runs on a new machine.
import type * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";

export interface Host {
  /** Connection for `command.remote.*` resources. */
  readonly connection: command.types.input.remote.ConnectionArgs;
  /** Resources a command on this host must wait for (e.g. the droplet and the reserved IP pointing at it). */
  readonly ready: pulumi.Resource[];
  /** Changes when the machine is replaced (a droplet id; an existing server's user@address:port). */
  readonly machineId: pulumi.Output<string>;
  /**
   * How the machine's first boot is awaited before software is shipped: a droplet Lazarus created runs cloud-init;
   * an existing server gets a preflight check of what cloud-init would have installed.
   */
  readonly firstBoot: "cloud-init" | "preflight";
  /** The address clients and DNS use. */
  readonly publicIp: pulumi.Output<string>;
  /** The address inside the VPC, where there is one. */
  readonly privateIp?: pulumi.Output<string>;
}
