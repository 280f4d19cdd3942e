// Reads a Pulumi.<stack>.yaml the way the Pulumi engine hands config to a program, for the offline plan and the tests.
// Encrypted values (`secure: v1:...`) cannot be decrypted without the stack's key, so they are marked as set secrets
// carrying a placeholder; the program only ever sees them as Pulumi secrets anyway. `--path --secret` writes them inside
// a map: there the placeholder takes the member's place, and the key is a secret, as the engine would hand it over.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parseDocument } from "yaml";
import { ConfigError } from "./errors";
import type { RawStackConfig } from "./load";

export const ENCRYPTED_PLACEHOLDER = "[encrypted in stack file]";

/** A secret value the offline plan could not read (unset, or encrypted in the stack file): the program plans around it. */
export function isSecretPlaceholder(value: string): boolean {
  return value === ENCRYPTED_PLACEHOLDER || value.startsWith("<unset secret");
}

export function stackFilePath(projectDir: string, stack: string): string {
  return join(projectDir, `Pulumi.${stack}.yaml`);
}

export function listStacks(projectDir: string): string[] {
  return readdirSync(projectDir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** Parses a stack file into the engine's flat config shape. Throws ConfigError for a missing file or broken YAML. */
export function readStackFile(path: string, stack: string): RawStackConfig {
  const file = basename(path);
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) {
    throw new ConfigError(file, [`--stack ${JSON.stringify(stack)}: is not a stack name (letters, digits, "-", "_", "."; example: prod)`]);
  }
  if (!existsSync(path)) {
    const known = listStacks(dirname(path));
    throw new ConfigError(file, [
      `unknown stack "${stack}": ${file} does not exist in ${dirname(path)} (stacks here: ${known.join(", ") || "none"}; example: --stack prod)`,
    ]);
  }
  const doc = parseDocument(readFileSync(path, "utf8"), { prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(file, doc.errors.map((e) => `${file}: is not valid YAML: ${e.message.split("\n")[0]}`));
  }
  const top = doc.toJS() as unknown;
  if (top === null || typeof top !== "object" || Array.isArray(top)) {
    throw new ConfigError(file, [`${file}: is not a stack file (expected a mapping with a "config:" key; example: config: {lazarus:kro: {...}})`]);
  }
  const config = (top as Record<string, unknown>).config ?? {};
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new ConfigError(file, [`${file}: config: is not a mapping of "namespace:key" to values (example: config: {lazarus:kro: {...}})`]);
  }
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  const encryptedPaths: string[] = [];
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (!key.includes(":")) {
      throw new ConfigError(file, [`${file}: config.${key}: is not a namespaced key (example: lazarus:${key})`]);
    }
    const encrypted: string[] = [];
    const readable = withPlaceholders(value, key, encrypted);
    values[key] = typeof readable === "string" ? readable : JSON.stringify(readable);
    if (encrypted.length) secretKeys.push(key);
    encryptedPaths.push(...encrypted);
  }
  return { stack, values, secretKeys, encryptedPaths };
}

/** The value with every `{secure: ...}` replaced by the placeholder; the paths replaced are pushed to `encrypted`. */
function withPlaceholders(value: unknown, path: string, encrypted: string[]): unknown {
  if (isSecure(value)) {
    encrypted.push(path);
    return ENCRYPTED_PLACEHOLDER;
  }
  if (Array.isArray(value)) return value.map((v, i) => withPlaceholders(v, `${path}[${i}]`, encrypted));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withPlaceholders(v, `${path}.${k}`, encrypted)]));
  }
  return value;
}

function isSecure(value: unknown): boolean {
  return (
    value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value
  );
}
