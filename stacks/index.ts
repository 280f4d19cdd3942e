// The whole program: load and validate the stack config, then declare the shared environment and every enabled
// platform. `index.ts` (under `pulumi up`) and the offline plan (under mocks) both run exactly this.
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, NAMESPACE, type LoadOptions, type StackConfig } from "../config/load";
import type { SecretName } from "../config/secrets";
import { StackEnvironment } from "../components/environment";
import { declareGoodgo } from "./goodgo";
import { declareKro } from "./kro";

/** Secret values as Pulumi secrets; an unset secret (offline plan only) becomes a visible placeholder. */
export type Secrets = (name: SecretName) => pulumi.Output<string>;

function secretsFrom(config: StackConfig): Secrets {
  const cfg = new pulumi.Config(NAMESPACE);
  return (name) =>
    config.secretsMissing.includes(name)
      ? pulumi.secret(`<unset secret ${NAMESPACE}:${name}>`)
      : cfg.requireSecret(name);
}

export interface PlatformContext {
  config: StackConfig;
  environment: StackEnvironment;
  secrets: Secrets;
}

export function declareLazarus(options: LoadOptions = {}): Record<string, unknown> {
  const values = pulumi.runtime.allConfig();
  // isConfigSecret is exported by the runtime but marked internal; it reads the engine's list of secret keys.
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret(k: string): boolean }).isConfigSecret;
  const config = loadStackConfig(
    { stack: pulumi.getStack(), values, secretKeys: Object.keys(values).filter((k) => isSecret(k)) },
    options,
  );
  const env = config.environment;
  const environment = new StackEnvironment(`lazarus-${config.stack}`, {
    stack: config.stack,
    region: env.region,
    vpcIpRange: env.vpc.ipRange,
    projectName: env.project.name,
    projectEnvironment: env.project.environment,
  });
  const ctx: PlatformContext = { config, environment, secrets: secretsFrom(config) };

  const outputs: Record<string, unknown> = { stack: config.stack, vpcId: environment.vpc.id };
  if (config.platforms.kro) outputs.kro = declareKro(config.platforms.kro, ctx);
  if (config.platforms.goodgo) outputs.goodgo = declareGoodgo(config.platforms.goodgo, ctx);
  return outputs;
}
