// Loads the real Pulumi.<stack>.yaml files for tests, optionally patched and with secrets set, and plans them under mocks.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { loadStackConfig, platformConfig, secretSpecs, type LoadOptions, type RawStackConfig } from "../../config/load";
import { readStackFile } from "../../config/stackFile";
import { planStack, type Plan } from "../../cli/planner";
import type { DeclaredResource } from "../../lib/runtime/capture";
import { GOODGO_ENV_SECRET_SOURCES, type GoodgoStackSecrets } from "../../stacks/goodgo/env";
import { PLATFORMS } from "../../stacks/registry";

export const PROJECT_DIR = join(__dirname, "..", "..");

type ConfigMap = Record<string, any>;

/** The stack file's `config:` map as plain data, for a test to change. */
export function stackConfigMap(stack: string): ConfigMap {
  return (parse(readFileSync(join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as { config: ConfigMap }).config;
}

/** Writes a patched copy of a stack file into a temp project dir (for the CLI) and returns the dir. */
export function patchedProject(stack: string, patch: (config: ConfigMap) => void, asStack = stack): string {
  const config = stackConfigMap(stack);
  patch(config);
  const dir = mkdtempSync(join(tmpdir(), "lazarus-stack-"));
  writeFileSync(join(dir, `Pulumi.${asStack}.yaml`), stringify({ config }));
  return dir;
}

/** Sentinel secret values: each must only ever appear where the program puts secrets. */
export const SENTINEL_SECRETS = {
  "lazarus:kroProductionJson": JSON.stringify({ port: 3000, jwtSecret: "SENTINEL-jwt-5d1f0c", paystackKey: "SENTINEL-paystack-8e21" }),
  "lazarus:kroSshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nSENTINEL-sshkey-77aa\n-----END OPENSSH PRIVATE KEY-----\n",
  "lazarus:alertSlackWebhook": "https://hooks.slack.com/services/T000/B000/SENTINEL-slack-91b2",
};
export const SENTINEL_MARKERS = ["SENTINEL-jwt-5d1f0c", "SENTINEL-paystack-8e21", "SENTINEL-sshkey-77aa", "SENTINEL-slack-91b2"];

/** GoodGo's secrets (section 8 and the rest), each value carrying its own marker; quoting-hostile where the .env allows. */
export const GOODGO_SENTINEL_SECRETS: Record<string, string> = {
  "lazarus:goodgoSshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nSENTINEL-gg-ssh-1a2b\n-----END OPENSSH PRIVATE KEY-----\n",
  "lazarus:goodgoDbPassword": "SENTINEL-gg-dbpass-3c4d/+=",
  "lazarus:goodgoJwtSecret": "SENTINEL-gg-jwt-5e6f #$x",
  "lazarus:goodgoJwtRefreshSecret": "SENTINEL-gg-jwtrefresh-7a8b",
  "lazarus:goodgoRedisPassword": "SENTINEL-gg-redis-9c0d",
  "lazarus:goodgoTypesenseApiKey": "SENTINEL-gg-typesense-1e2f",
  "lazarus:goodgoMinioAccessKey": "SENTINEL-gg-minioid-3a4b",
  "lazarus:goodgoMinioSecretKey": "SENTINEL-gg-miniosecret-5c6d",
  "lazarus:goodgoAiApiKey": "SENTINEL-gg-ai-7e8f",
  "lazarus:goodgoVnpayHashSecret": "SENTINEL-gg-vnpay-9a0b",
  "lazarus:goodgoGrafanaAdminPassword": "SENTINEL-gg-grafana-1c2d",
  "lazarus:goodgoSlackWebhook": "https://hooks.slack.com/services/T000/B000/SENTINEL-gg-slack-3e4f",
  "lazarus:goodgoSpacesAccessKey": "SENTINEL-gg-spacesid-5a6b",
  "lazarus:goodgoSpacesSecretKey": "SENTINEL-gg-spacessecret-7c8d",
  "lazarus:goodgoPgbackrestCipherPass": "SENTINEL-gg-pgbrcipher-3e1a",
  "lazarus:goodgoPgbouncerAdminPassword": "SENTINEL-gg-pgbadmin-9e0f",
};
export const GOODGO_SENTINEL_MARKERS = Object.values(GOODGO_SENTINEL_SECRETS).map((v) => /SENTINEL-gg-[a-z]+-[0-9a-f]{4}/.exec(v)![0]);

/** GIV's app secrets: a JSON object with the keys both stack files list in lazarus:giv.app.secretEnvKeys. */
export const GIV_SENTINEL_SECRETS: Record<string, string> = {
  "lazarus:givAppSecrets": JSON.stringify({
    PAYSTACK_SECRET_KEY: "SENTINEL-giv-paystacksecret-a1b2",
    PAYSTACK_PUBLIC_KEY: "SENTINEL-giv-paystackpublic-c3d4",
    SENDGRID_API_KEY: "SENTINEL-giv-sendgrid-e5f6",
    TERMII_API_KEY: "SENTINEL-giv-termii-a7b8",
    JWT_SECRET: "SENTINEL-giv-jwt-c9d0",
  }),
};

/**
 * A sentinel for every secret the registry knows (the environment's and each platform's): the hand-made ones above
 * where a test needs a shape (JSON, a PEM key, a URL, characters that need quoting), a generated marker otherwise, so a
 * new platform's secrets are covered by every leak test without being listed here.
 */
export const ALL_SENTINEL_SECRETS: Record<string, string> = (() => {
  const handMade: Record<string, string> = {
    ...SENTINEL_SECRETS,
    ...GOODGO_SENTINEL_SECRETS,
    ...GIV_SENTINEL_SECRETS,
    // Pencom's application secrets are KEY=value lines (stacks/pencom/plan.ts parseAppEnv refuses anything else).
    "lazarus:pencomAppEnv": "JWT_SECRET=SENTINEL-pencom-appenv-5b7e\nVENDOR_KEY=SENTINEL-pencom-vendor-9c1d\n",
  };
  const known = Object.keys(secretSpecs()).map((k) => `lazarus:${k}`);
  const stale = Object.keys(handMade).filter((k) => !known.includes(k));
  if (stale.length) throw new Error(`test sentinels for secrets no platform declares: ${stale.join(", ")}`);
  return Object.fromEntries(
    known.map((k) => [k, handMade[k] ?? `SENTINEL-${k.slice("lazarus:".length).toLowerCase()}-${createHash("sha256").update(k).digest("hex").slice(0, 4)}`]),
  );
})();
/** The marker inside each sentinel value: a secret leaked anywhere shows one of these. */
export const ALL_SENTINEL_MARKERS = [...new Set(Object.values(ALL_SENTINEL_SECRETS).flatMap((v) => v.match(/SENTINEL-[a-z]+(?:-[a-z]+)*-[0-9a-f]{4,6}/g) ?? []))];

export interface StackOptions {
  patch?: (config: ConfigMap) => void;
  /** Secret values to set (as the engine would hand them to the program); none by default, like a fresh clone. */
  secrets?: Record<string, string>;
  /** Plan as another stack name (same file contents). */
  asStack?: string;
}

/**
 * Removes every registered platform's block except `keep`'s, for tests about a stack of a few platforms: a platform
 * added to the registry and the stack files later is removed too, so those tests keep meaning what they say.
 */
export function keepOnlyPlatforms(config: Record<string, unknown>, keep: string[]): void {
  for (const p of PLATFORMS) if (!keep.includes(p.name)) delete config[`lazarus:${p.name}`];
}

export function rawStack(stack: string, options: StackOptions = {}): RawStackConfig {
  const dir = patchedProject(stack, options.patch ?? (() => {}), options.asStack ?? stack);
  const raw = readStackFile(join(dir, `Pulumi.${options.asStack ?? stack}.yaml`), options.asStack ?? stack);
  for (const [k, v] of Object.entries(options.secrets ?? {})) {
    raw.values[k] = v;
    raw.secretKeys.push(k);
  }
  return raw;
}

export async function planFor(stack: string, options: StackOptions & Pick<LoadOptions, "platforms"> = {}): Promise<Plan> {
  return planStack(rawStack(stack, options), { platforms: options.platforms });
}

export function byType(plan: Plan, type: string): DeclaredResource[] {
  return plan.resources.filter((r) => r.type === type);
}

export function one(plan: Plan, type: string, name: string): DeclaredResource {
  const found = plan.resources.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${type} named ${name}, found ${found.length}; names of that type: ${byType(plan, type).map((r) => r.name).join(", ")}`);
  }
  return found[0];
}

export { T } from "./resourceTypes";

/** A platform's validated config as a stack file gives it (secrets need not be set). */
export function stackPlatformConfig<C>(stack: string, module: { name: string; schema: import("zod").ZodType<C> }, options: StackOptions = {}): C {
  const config = platformConfig(loadStackConfig(rawStack(stack, options), { allowMissingSecrets: true }), module);
  if (config === undefined) throw new Error(`Pulumi.${stack}.yaml does not enable lazarus:${module.name}`);
  return config;
}

/** Every GoodGo secret value as goodgo's renderers take them (GoodgoStackSecrets): `test-only-<key>`, or the overrides. */
export function goodgoTestSecrets(overrides: Partial<GoodgoStackSecrets> = {}): GoodgoStackSecrets {
  const keys = Object.keys(GOODGO_ENV_SECRET_SOURCES);
  return { ...Object.fromEntries(keys.map((k) => [k, `test-only-${k}`])), ...overrides } as GoodgoStackSecrets;
}
