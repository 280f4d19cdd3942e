// The platform contract: every platform is a folder under stacks/ exporting one PlatformModule, and the registry
// (stacks/registry.ts) lists them. Config loading, the offline plan, the tests and the docs iterate over the registry,
// so adding a platform touches its folder, the registry and the stack files, nothing else.
//
// The life of a platform in one program run:
//   schema → check → requiredSecrets   (config/load.ts, for every platform, before anything else)
//   plan                                (pure: every rendered file, script, order, recovery step and doc, validated)
//   needs → shared environment          (a DigitalOcean VPC and project only if some platform needs one)
//   declare                             (turns the plan into resources; no decisions left)
// `plan` runs for every enabled platform before the first resource is constructed, so a bad value that only a renderer
// catches still fails with file and key and declares nothing.
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { StackEnvironment } from "../components/environment";
import type { Problem } from "../config/checks";
import type { EnvironmentConfig } from "../config/environment";
import type { SecretSpec } from "../config/secrets";
import type { DisasterRecovery } from "./disasterRecovery";

/** Shared resources a platform's config needs the stack to declare. */
export interface PlatformNeeds {
  /** The stack's DigitalOcean VPC and project (droplets, managed databases, buckets). */
  digitalocean: boolean;
  /** A Kubernetes provider for the cluster named by lazarus:environment.kubernetes (absent: false). */
  kubernetes?: boolean;
}

/** What a platform's pure plan may know about the stack besides its own config. */
export interface PlanContext {
  stack: string;
  stackFile: string;
  environment: EnvironmentConfig;
}

/**
 * A secret's plain value where the loader has it (a real `pulumi up`/`preview` decrypts the stack's config), else
 * undefined (the offline plan, an unset secret). For checks that compare a secret with a fingerprint in the stack file;
 * never put the value itself into a problem, a plan or a file.
 */
export type PlainSecrets = (name: string) => string | undefined;

/** Secret values as Pulumi secrets; an unset secret (offline plan only) becomes a visible placeholder. */
export type Secrets = (name: string) => pulumi.Output<string>;

/** What `declare` gets: the plan context, the shared resources asked for by `needs`, and the secrets. */
export interface DeclareContext extends PlanContext {
  /** Present when any enabled platform of the stack needs DigitalOcean. */
  digitalocean?: StackEnvironment;
  /** Present when any enabled platform of the stack needs Kubernetes: the provider for lazarus:environment.kubernetes. */
  kubernetes?: k8s.Provider;
  secrets: Secrets;
}

export interface PlatformModule<Config = unknown, Plan = unknown> {
  /** The stack-file key (`lazarus:<name>`), the prefix of the platform's secret names and of its resource names. */
  readonly name: string;
  /** The runbook this platform implements, as named in shared/runbooks (e.g. "000 KRO"). */
  readonly runbook: string;
  readonly schema: z.ZodType<Config>;
  /** Checks that need several keys or the stack name (confirmations of destructive switches on prod). */
  check(config: Config, stack: string, secrets?: PlainSecrets): Problem[];
  /** Every secret the platform can use, by config key; each key starts with the platform's name. */
  readonly secrets: Record<string, SecretSpec>;
  /** The secrets this config needs (a subset of `secrets`). */
  requiredSecrets(config: Config, environment: EnvironmentConfig): string[];
  needs(config: Config): PlatformNeeds;
  /** Pure: no resources, no secrets. Throws PlanInputError (via renderedFrom) for input only a renderer refuses. */
  plan(config: Config, context: PlanContext): Plan;
  /** Declares the plan's resources and returns the platform's stack outputs. */
  declare(plan: Plan, context: DeclareContext): Record<string, unknown>;
  /** What a full loss means and how `lazarus dr` rebuilds it (stacks/<platform>/disasterRecovery.ts). */
  readonly disasterRecovery?: DisasterRecovery<Config, Plan>;
}

/** Identity, for type inference: `export const kro = definePlatform({...})` checks the module against the contract. */
export function definePlatform<Config, Plan>(module: PlatformModule<Config, Plan>): PlatformModule<Config, Plan> {
  return module;
}
