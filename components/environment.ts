// What the DigitalOcean platforms of a stack share: the stack's own VPC and DigitalOcean project, and the settings every
// droplet and cluster is declared with. Staging and prod never share one. Declared only when some platform needs it.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import type { DigitalOceanSettings } from "../config/environment";

export interface StackEnvironmentArgs {
  stack: string;
  settings: DigitalOceanSettings;
}

export class StackEnvironment extends pulumi.ComponentResource {
  readonly vpc: digitalocean.Vpc;
  readonly project: digitalocean.Project;
  /** Tags every resource of the stack carries, so the console and billing can filter by stack. */
  readonly tags: string[];
  /** Region, SSH keys and admin CIDRs every droplet and cluster of the stack is declared with. */
  readonly settings: DigitalOceanSettings;

  constructor(name: string, args: StackEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lazarus:stack:Environment", name, {}, opts);
    this.tags = ["lazarus", `stack-${args.stack}`];
    this.settings = args.settings;
    const { region, vpc, project } = args.settings;
    this.vpc = new digitalocean.Vpc(
      `lazarus-${args.stack}-vpc`,
      { name: `lazarus-${args.stack}-vpc`, region, ipRange: vpc.ipRange, description: `Lazarus ${args.stack} stack` },
      { parent: this },
    );
    this.project = new digitalocean.Project(
      `lazarus-${args.stack}-project`,
      {
        name: project.name,
        environment: project.environment,
        purpose: "Service or API",
        description: `Resources of the Lazarus ${args.stack} stack`,
      },
      { parent: this },
    );
    this.registerOutputs({ vpcId: this.vpc.id, projectId: this.project.id });
  }

  /** Puts resources (by URN) into the stack's project. */
  attach(name: string, resourceUrns: pulumi.Input<string>[], parent: pulumi.Resource): digitalocean.ProjectResources {
    return new digitalocean.ProjectResources(name, { project: this.project.id, resources: resourceUrns }, { parent });
  }
}
