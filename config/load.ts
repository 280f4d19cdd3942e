// Loads and validates a stack's config before any resource is declared. Every problem in every key is collected and
// reported at once, each naming the stack file, the key path, what was expected and an example fix.
import { z } from "zod";
import { environmentSchema, type EnvironmentConfig } from "./environment";
import { ConfigError, closest, formatIssues } from "./errors";
import { PLATFORMS, isProtectedStack, type PlatformConfigs, type PlatformName } from "./platforms";
import { SECRET_SPECS, setSecretLine, type SecretName } from "./secrets";

export const NAMESPACE = "lazarus";

export interface StackConfig {
  stack: string;
  stackFile: string;
  environment: EnvironmentConfig;
  platforms: PlatformConfigs;
  /** Secrets the enabled platforms need, present in the stack config (values are read separately, as secrets). */
  secretsPresent: SecretName[];
  /** Secrets that are needed but not set; only non-empty when loading with allowMissingSecrets (offline plan). */
  secretsMissing: SecretName[];
}

export interface RawStackConfig {
  stack: string;
  /** Flat config map as the Pulumi engine hands it to the program: "lazarus:kro" -> JSON text or plain string. */
  values: Record<string, string>;
  /** Keys (namespace:key) whose values are secrets. */
  secretKeys: string[];
}

export interface LoadOptions {
  /** The offline plan runs without credentials: missing secrets become placeholders instead of an error. */
  allowMissingSecrets?: boolean;
}

const KNOWN_TOP_LEVEL = ["environment", ...Object.keys(PLATFORMS), ...Object.keys(SECRET_SPECS)];

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
  for (const name of Object.keys(SECRET_SPECS) as SecretName[]) {
    if (ours.has(name) && !secretKeys.has(`${NAMESPACE}:${name}`)) {
      problems.push(
        `${stackFile}: ${NAMESPACE}:${name}: is stored in plain text; it must be a secret. Remove it from the file and run: ${setSecretLine(SECRET_SPECS[name], raw.stack)}`,
      );
    }
  }

  const parseSection = <T>(key: string, schema: z.ZodType<T>): T | undefined => {
    const result = schema.safeParse(ours.get(key), { reportInput: true });
    if (result.success) return result.data;
    problems.push(...formatIssues(stackFile, `${NAMESPACE}:${key}`, schema, result.error));
    return undefined;
  };

  const environment = parseSection("environment", environmentSchema);
  if (environment && isProtectedStack(raw.stack)) {
    if (!environment.protect) {
      problems.push(`${stackFile}: ${NAMESPACE}:environment.protect: false is not allowed on stack ${raw.stack}; stateful resources on prod are always protected (example: protect: true)`);
    }
    environment.adminCidrs.forEach((c, i) => {
      if (c.endsWith("/0")) {
        problems.push(`${stackFile}: ${NAMESPACE}:environment.adminCidrs[${i}]: "${c}" opens SSH to the whole internet on stack ${raw.stack}; list the admin networks instead (example: 203.0.113.10/32)`);
      }
    });
  }

  const platforms: PlatformConfigs = {};
  let enabledCount = 0;
  const needed = new Set<SecretName>();
  for (const name of Object.keys(PLATFORMS) as PlatformName[]) {
    if (!ours.has(name)) continue;
    const spec = PLATFORMS[name];
    const cfg = parseSection(name, spec.schema);
    if (!cfg || !cfg.enabled) continue;
    enabledCount++;
    for (const p of spec.check(cfg, raw.stack)) problems.push(`${stackFile}: ${NAMESPACE}:${name}.${p.path}: ${p.message}`);
    if (environment) spec.requiredSecrets(cfg, environment).forEach((s) => needed.add(s));
    platforms[name] = cfg;
  }
  if (environment?.alerts.slackChannel) needed.add("alertSlackWebhook");
  if (problems.length === 0 && enabledCount === 0) {
    problems.push(`${stackFile}: no platform is configured; add at least one of ${Object.keys(PLATFORMS).map((p) => `${NAMESPACE}:${p}`).join(", ")} (example: ${NAMESPACE}:kro with enabled: true)`);
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
  return { stack: raw.stack, stackFile, environment: environment!, platforms, secretsPresent: present, secretsMissing: missing };
}
