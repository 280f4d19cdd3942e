// The platforms a stack can enable, each with its config schema, the secrets it needs and the checks that span keys.
import { z } from "zod";
import type { EnvironmentConfig } from "../environment";
import type { SecretName } from "../secrets";
import { KRO_SERVICES, kroSchema, type KroConfig } from "./kro";
import { goodgoProblems, goodgoRequiredSecrets, goodgoSchema, type GoodgoConfig } from "./goodgo";

/** A problem found by a cross-key check: the key path under the platform's root and a sentence that ends with the fix. */
export interface Problem {
  path: string;
  message: string;
}

export interface PlatformSpec<C> {
  schema: z.ZodType<C>;
  requiredSecrets(config: C, env: EnvironmentConfig): SecretName[];
  /** Checks that need several keys or the stack name (confirmations of destructive switches on prod). */
  check(config: C, stack: string): Problem[];
}

/** The value an operator must write into a `confirm` key to allow a destructive switch on a protected stack. */
export function confirmationToken(stack: string, platform: string, what: string): string {
  return `${stack}/${platform}/${what}`;
}

/** Stacks whose destructive switches need confirmation. */
export function isProtectedStack(stack: string): boolean {
  return stack === "prod" || stack.startsWith("prod-");
}

function requireConfirm(stack: string, platform: string, what: string, given: string | undefined, path: string, why: string): Problem[] {
  if (!isProtectedStack(stack)) return [];
  const token = confirmationToken(stack, platform, what);
  if (given === token) return [];
  return [
    {
      path,
      message: `${given === undefined ? "is missing" : `${JSON.stringify(given)} is not the confirmation`}: ${why} on stack ${stack}; to proceed set it to "${token}"`,
    },
  ];
}

const kro: PlatformSpec<KroConfig> = {
  schema: kroSchema as unknown as z.ZodType<KroConfig>,
  requiredSecrets: () => ["kroProductionJson", "kroSshPrivateKey"],
  check(cfg, stack) {
    const problems: Problem[] = [];
    if (cfg.recovery.host) {
      problems.push(
        ...requireConfirm(stack, "kro", "rebuild-host", cfg.recovery.host.confirm, "recovery.host.confirm", "rebuilding the host replaces the live droplet"),
      );
    }
    if (cfg.recovery.database?.cutover) {
      problems.push(
        ...requireConfirm(stack, "kro", "database-cutover", cfg.recovery.database.confirm, "recovery.database.confirm", "cutting over points the application at the restored cluster"),
      );
    }
    const seen = new Set<string>();
    cfg.operations.forEach((op, i) => {
      if (seen.has(op.id)) problems.push({ path: `operations[${i}].id`, message: `"${op.id}" is used twice; every operation needs its own id (example: ${op.id}-2)` });
      seen.add(op.id);
      if ("service" in op && !(KRO_SERVICES as readonly string[]).includes(op.service)) {
        problems.push({ path: `operations[${i}].service`, message: `"${op.service}" is not a KRO service (one of ${KRO_SERVICES.join(", ")})` });
      }
      if (op.action === "graceful-shutdown") {
        problems.push(...requireConfirm(stack, "kro", "graceful-shutdown", op.confirm, `operations[${i}].confirm`, "a graceful shutdown takes KRO offline"));
      }
    });
    return problems;
  },
};

const goodgo: PlatformSpec<GoodgoConfig> = {
  schema: goodgoSchema as unknown as z.ZodType<GoodgoConfig>,
  requiredSecrets: () => goodgoRequiredSecrets(),
  check: (cfg, stack) => goodgoProblems(cfg, stack, requireConfirm),
};

export interface PlatformConfigs {
  kro?: KroConfig;
  goodgo?: GoodgoConfig;
}
// Each spec is typed by its own config above; the loader handles them generically (one config shape per name).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const PLATFORMS: { readonly [K in keyof PlatformConfigs]-?: PlatformSpec<any> } = { kro, goodgo };
export type PlatformName = keyof typeof PLATFORMS;
