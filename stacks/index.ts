// The whole program: load and validate the stack config, plan every enabled platform, then declare the shared
// environment the plans need and each platform. `index.ts` (under `pulumi up`) and the offline plan (under mocks) both
// run exactly this. Nothing is constructed until every platform's plan exists: a value only a renderer refuses still
// fails with file and key, before the first resource.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackEnvironment } from "../components/environment";
import { ConfigError } from "../config/errors";
import { loadStackConfig, NAMESPACE, type LoadOptions, type StackConfig } from "../config/load";
import { PlanInputError } from "../config/planInput";
import type { AnyPlatform } from "./registry";
import type { DeclareContext, PlanContext, Secrets } from "./platform";

export type { Secrets } from "./platform";

function secretsFrom(config: StackConfig): Secrets {
  const cfg = new pulumi.Config(NAMESPACE);
  return (name) =>
    config.secretsMissing.includes(name)
      ? pulumi.secret(`<unset secret ${NAMESPACE}:${name}>`)
      : cfg.requireSecret(name);
}

export interface PlannedPlatform {
  module: AnyPlatform;
  config: unknown;
  plan: unknown;
}

/** Plans every enabled platform; every refusal of every platform is reported at once, as config problems. */
export function planPlatforms(config: StackConfig): PlannedPlatform[] {
  const context: PlanContext = { stack: config.stack, stackFile: config.stackFile, environment: config.environment };
  const problems: string[] = [];
  const planned: PlannedPlatform[] = [];
  for (const { module, config: platformConfig } of config.platforms) {
    try {
      planned.push({ module, config: platformConfig, plan: module.plan(platformConfig, context) });
    } catch (e) {
      if (!(e instanceof PlanInputError)) throw e;
      problems.push(...e.problems.map((p) => `${config.stackFile}: ${NAMESPACE}:${module.name}.${e.path}: the ${e.renderer} renderer refused it: ${p}`));
    }
  }
  if (problems.length) throw new ConfigError(config.stackFile, problems);
  return planned;
}

/** Loads the engine's config, plans, then declares. Returns the stack outputs: per platform, what an operator needs. */
export function declareLazarus(options: LoadOptions = {}): Record<string, unknown> {
  const values = pulumi.runtime.allConfig();
  // isConfigSecret is exported by the runtime but marked internal; it reads the engine's list of secret keys.
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret(k: string): boolean }).isConfigSecret;
  const config = loadStackConfig(
    { stack: pulumi.getStack(), values, secretKeys: Object.keys(values).filter((k) => isSecret(k)) },
    options,
  );
  const planned = planPlatforms(config);

  // Shared resources only where some platform needs them (the loader then made sure their settings are there): a
  // stack of existing servers declares no cloud resource.
  const env = config.environment;
  const digitalocean = config.digitalocean ? new StackEnvironment(`lazarus-${config.stack}`, { stack: config.stack, settings: config.digitalocean }) : undefined;
  // One provider for the stack's cluster; its kubeconfig is a path, so no credential enters the program or the state.
  const kubernetes = config.kubernetes
    ? new k8s.Provider(`lazarus-${config.stack}-kubernetes`, { context: config.kubernetes.context, ...(config.kubernetes.kubeconfig ? { kubeconfig: config.kubernetes.kubeconfig } : {}) })
    : undefined;
  const context: DeclareContext = { stack: config.stack, stackFile: config.stackFile, environment: env, digitalocean, kubernetes, secrets: secretsFrom(config) };

  const outputs: Record<string, unknown> = { stack: config.stack, ...(digitalocean ? { vpcId: digitalocean.vpc.id } : {}) };
  for (const p of planned) outputs[p.module.name] = p.module.declare(p.plan, context);
  return outputs;
}
