// Loads and validates a stack's config before any resource is declared. Every problem in every key is collected and
// reported at once, each naming the stack file, the key path, what was expected and an example fix.
import { z } from "zod";
import { digitalOceanSettings, environmentSchema, type DigitalOceanSettings, type EnvironmentConfig } from "./environment";
import { ConfigError, closest, formatIssues } from "./errors";
import { isProtectedStack } from "./checks";
import { ENCRYPTED_PLACEHOLDER } from "./stackFile";
import { ENVIRONMENT_SECRETS, setSecretLine, type SecretSpec } from "./secrets";
import { PLATFORMS, type AnyPlatform } from "../stacks/registry";

export const NAMESPACE = "lazarus";

export interface StackConfig {
  stack: string;
  stackFile: string;
  environment: EnvironmentConfig;
  /** Present when some enabled platform declares DigitalOcean resources: the settings they are declared with. */
  digitalocean?: DigitalOceanSettings;
  /** Present when some enabled platform declares Kubernetes resources: the cluster they are declared in. */
  kubernetes?: NonNullable<EnvironmentConfig["kubernetes"]>;
  /** The enabled platforms, in registry order, each with its validated config. */
  platforms: { module: AnyPlatform; config: unknown }[];
  /** Secrets the enabled platforms need, present in the stack config (values are read separately, as secrets). */
  secretsPresent: string[];
  /** Secrets that are needed but not set; only non-empty when loading with allowMissingSecrets (offline plan). */
  secretsMissing: string[];
}

export interface RawStackConfig {
  stack: string;
  /** Flat config map as the Pulumi engine hands it to the program: "lazarus:kro" -> JSON text or plain string. */
  values: Record<string, string>;
  /** Keys (namespace:key) whose values are secrets. */
  secretKeys: string[];
  /**
   * Offline only: where the stack file holds a value the plan could not decrypt (`lazarus:kro.app.imageTag`), now a
   * placeholder. The engine hands a real run the decrypted value instead.
   */
  encryptedPaths?: string[];
}

export interface LoadOptions {
  /** The offline plan runs without credentials: missing secrets become placeholders instead of an error. */
  allowMissingSecrets?: boolean;
  /** The platforms to load (the registry by default; tests add an example platform). */
  platforms?: readonly AnyPlatform[];
}

/** Every secret a stack may set: the environment's and each platform's. */
export function secretSpecs(platforms: readonly AnyPlatform[] = PLATFORMS): Record<string, SecretSpec> {
  return Object.assign({}, ENVIRONMENT_SECRETS, ...platforms.map((p) => p.secrets));
}

function parseValue(text: string): unknown {
  const t = text.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

export function loadStackConfig(raw: RawStackConfig, options: LoadOptions = {}): StackConfig {
  const registry = options.platforms ?? PLATFORMS;
  const SECRET_SPECS = secretSpecs(registry);
  const KNOWN_TOP_LEVEL = ["environment", ...registry.map((p) => p.name), ...Object.keys(SECRET_SPECS)];
  const stackFile = `Pulumi.${raw.stack}.yaml`;
  const problems: string[] = [];
  const ours = new Map<string, unknown>();
  for (const [fullKey, text] of Object.entries(raw.values)) {
    const [ns, ...rest] = fullKey.split(":");
    if (ns !== NAMESPACE) continue; // provider config such as digitalocean:token is the provider's business
    const key = rest.join(":");
    if (!KNOWN_TOP_LEVEL.includes(key)) {
      const guess = closest(key, KNOWN_TOP_LEVEL);
      problems.push(
        `${stackFile}: ${fullKey}: unknown key${guess ? ` (did you mean "${NAMESPACE}:${guess}"?)` : ""}; known keys: ${KNOWN_TOP_LEVEL.map((k) => `${NAMESPACE}:${k}`).join(", ")}`,
      );
      continue;
    }
    ours.set(key, key in SECRET_SPECS ? text : parseValue(text));
  }

  // A secret written in plain text into the stack file would be in git: refuse it.
  const secretKeys = new Set(raw.secretKeys);
  for (const name of Object.keys(SECRET_SPECS)) {
    if (ours.has(name) && !secretKeys.has(`${NAMESPACE}:${name}`)) {
      problems.push(
        `${stackFile}: ${NAMESPACE}:${name}: is stored in plain text; it must be a secret. Remove it from the file and run: ${setSecretLine(SECRET_SPECS[name], raw.stack)}`,
      );
    }
  }

  // `--path --secret` inside a platform's block: a setting the offline plan cannot read, and a preview would hide.
  for (const path of raw.encryptedPaths ?? []) {
    const top = path.split(/[.[]/)[0];
    if (!top.startsWith(`${NAMESPACE}:`) || top.slice(NAMESPACE.length + 1) in SECRET_SPECS) continue;
    problems.push(
      `${stackFile}: ${path}: is encrypted (secure:), but it is a setting, not one of the secrets Lazarus reads from their own keys; the offline plan cannot decrypt it and a preview would hide it: set it in plain text (example: pulumi config set --stack ${raw.stack} --path '${path}' <value>)`,
    );
  }

  const parseSection = <T>(key: string, schema: z.ZodType<T>): T | undefined => {
    const result = schema.safeParse(ours.get(key), { reportInput: true });
    if (result.success) return result.data;
    // The placeholder of an encrypted setting is already reported above, with its fix.
    const aboutPlaceholder = (p: string) => p.includes(`: ${JSON.stringify(ENCRYPTED_PLACEHOLDER)} `);
    problems.push(...formatIssues(stackFile, `${NAMESPACE}:${key}`, schema, result.error).filter((p) => !aboutPlaceholder(p)));
    return undefined;
  };

  const environment = parseSection("environment", environmentSchema);
  if (environment && isProtectedStack(raw.stack)) {
    if (!environment.protect) {
      problems.push(`${stackFile}: ${NAMESPACE}:environment.protect: false is not allowed on stack ${raw.stack}; stateful resources on prod are always protected (example: protect: true)`);
    }
    environment.adminCidrs?.forEach((c, i) => {
      if (c.endsWith("/0")) {
        problems.push(`${stackFile}: ${NAMESPACE}:environment.adminCidrs[${i}]: "${c}" opens SSH to the whole internet on stack ${raw.stack}; list the admin networks instead (example: 203.0.113.10/32)`);
      }
    });
  }

  // A secret's decrypted value, for checks against a fingerprint in the stack file (Bunty's JWT rotation); the offline
  // plan has only the placeholder, so those checks are skipped there.
  const plainSecret = (name: string): string | undefined => {
    const v = ours.get(name);
    return name in SECRET_SPECS && secretKeys.has(`${NAMESPACE}:${name}`) && typeof v === "string" && v.length > 0 && v !== ENCRYPTED_PLACEHOLDER ? v : undefined;
  };
  const platforms: StackConfig["platforms"] = [];
  const needed = new Set<string>();
  for (const module of registry) {
    if (!ours.has(module.name)) continue;
    const cfg = parseSection(module.name, module.schema) as { enabled?: boolean } | undefined;
    if (!cfg || cfg.enabled === false) continue;
    for (const p of module.check(cfg, raw.stack, plainSecret)) problems.push(`${stackFile}: ${NAMESPACE}:${module.name}.${p.path}: ${p.message}`);
    if (environment) module.requiredSecrets(cfg, environment).forEach((s) => needed.add(s));
    platforms.push({ module, config: cfg });
  }
  // The DigitalOcean settings are asked for only when a platform declares DigitalOcean resources.
  const doPlatforms = platforms.filter((p) => p.module.needs(p.config).digitalocean).map((p) => p.module.name);
  const digitalocean = environment && doPlatforms.length ? digitalOceanSettings(environment) : undefined;
  for (const m of digitalocean?.missing ?? []) {
    problems.push(`${stackFile}: ${NAMESPACE}:environment.${m.key}: is missing: ${doPlatforms.join(", ")} declare${doPlatforms.length > 1 ? "" : "s"} DigitalOcean resources in this stack (example: ${m.example})`);
  }
  if (environment?.alerts.slackChannel && doPlatforms.length) needed.add("alertSlackWebhook");
  // The Kubernetes cluster likewise, only when a platform declares Kubernetes resources.
  const k8sPlatforms = platforms.filter((p) => p.module.needs(p.config).kubernetes).map((p) => p.module.name);
  if (environment && k8sPlatforms.length && !environment.kubernetes) {
    problems.push(`${stackFile}: ${NAMESPACE}:environment.kubernetes: is missing: ${k8sPlatforms.join(", ")} declare${k8sPlatforms.length > 1 ? "" : "s"} Kubernetes resources in this stack; name the cluster's kubeconfig context (example: kubernetes: {context: waqiti-prod, kubeconfig: /etc/lazarus/kubeconfig-waqiti-prod.yaml})`);
  }
  if (problems.length === 0 && platforms.length === 0) {
    problems.push(`${stackFile}: no platform is configured; add at least one of ${registry.map((p) => `${NAMESPACE}:${p.name}`).join(", ")} (example: ${NAMESPACE}:kro with enabled: true)`);
  }
  if (problems.length) throw new ConfigError(stackFile, problems);

  const present = [...needed].filter((s) => ours.has(s) && String(ours.get(s)).length > 0);
  const missing = [...needed].filter((s) => !present.includes(s));
  if (missing.length && !options.allowMissingSecrets) {
    throw new ConfigError(stackFile, [
      `${stackFile}: ${missing.length} required secret${missing.length > 1 ? "s are" : " is"} not set:\n` +
        missing.map((s) => `    ${NAMESPACE}:${s}: ${SECRET_SPECS[s].description}\n      ${setSecretLine(SECRET_SPECS[s], raw.stack)}`).join("\n"),
    ]);
  }
  return { stack: raw.stack, stackFile, environment: environment!, digitalocean: digitalocean?.settings, kubernetes: k8sPlatforms.length ? environment!.kubernetes : undefined, platforms, secretsPresent: present, secretsMissing: missing };
}

/** A platform's validated config in a loaded stack; undefined when the stack does not enable it. */
export function platformConfig<C>(config: StackConfig, module: { name: string; schema: z.ZodType<C> }): C | undefined {
  return config.platforms.find((p) => p.module.name === module.name)?.config as C | undefined;
}
