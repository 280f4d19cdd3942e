// What every platform of a stack shares: the stack's own VPC and DigitalOcean project. Staging and prod never share one.
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";

export interface StackEnvironmentArgs {
  stack: string;
  region: string;
  vpcIpRange: string;
  projectName: string;
  projectEnvironment: string;
}

export class StackEnvironment extends pulumi.ComponentResource {
  readonly vpc: digitalocean.Vpc;
  readonly project: digitalocean.Project;
  /** Tags every resource of the stack carries, so the console and billing can filter by stack. */
  readonly tags: string[];

  constructor(name: string, args: StackEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("lazarus:stack:Environment", name, {}, opts);
    this.tags = ["lazarus", `stack-${args.stack}`];
    this.vpc = new digitalocean.Vpc(
      `lazarus-${args.stack}-vpc`,
      { name: `lazarus-${args.stack}-vpc`, region: args.region, ipRange: args.vpcIpRange, description: `Lazarus ${args.stack} stack` },
      { parent: this },
    );
    this.project = new digitalocean.Project(
      `lazarus-${args.stack}-project`,
      {
        name: args.projectName,
        environment: args.projectEnvironment,
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
