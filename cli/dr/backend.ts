// Where `lazarus dr rebuild` finds the stack's real state and how it reads its secrets, decided before any engine opens:
//   - the backend: --backend-url (any URL the Pulumi CLI takes: file://, s3://, gs://, azblob://, https://api.pulumi.com),
//     --backend-dir (shorthand for file://<dir>), else PULUMI_BACKEND_URL; never the CLI's silent ~/.pulumi default;
//   - the secrets: a passphrase only when the stack file's secrets provider is the passphrase one; a cloud KMS or
//     Pulumi Cloud needs none (the cloud's own credentials, from the environment, are passed through untouched).
import { accessSync, constants, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { stackFilePath } from "../../config/stackFile";
import { DrInputError } from "./rebuildPlan";

export interface Backend {
  /** What the engine gets as PULUMI_BACKEND_URL, exactly as given (a file:// directory made absolute). */
  url: string;
  kind: "file" | "s3" | "gs" | "azblob" | "cloud";
  /** scheme://host/path: no credentials, no query (for progress lines and the report). */
  display: string;
}

const SCHEMES: Record<string, Backend["kind"]> = { "file:": "file", "s3:": "s3", "gs:": "gs", "azblob:": "azblob", "https:": "cloud", "http:": "cloud" };
const EXAMPLES = "--backend-url 's3://my-state?endpoint=https://fra1.digitaloceanspaces.com&region=us-east-1', --backend-url https://api.pulumi.com, or --backend-dir ~/.pulumi-state";

/** The state backend of the rebuild (see the file header); DrInputError when there is none or it is not a URL. */
export function resolveBackend(o: { backendUrl?: string; backendDir?: string }, env: NodeJS.ProcessEnv): Backend {
  if (o.backendUrl !== undefined && o.backendDir !== undefined) {
    throw new DrInputError(`--backend-url and --backend-dir: both given; name the stack's state backend once (example: --backend-url file:///var/lib/pulumi-state, or --backend-dir /var/lib/pulumi-state)`);
  }
  if (o.backendDir !== undefined) {
    if (o.backendDir.trim() === "") throw new DrInputError(`--backend-dir: is empty; name the file state backend's directory (example: --backend-dir ~/.pulumi-state)`);
    const dir = resolve(o.backendDir);
    return { url: `file://${dir}`, kind: "file", display: `file://${dir}` };
  }
  const given = o.backendUrl ?? env.PULUMI_BACKEND_URL;
  const flag = o.backendUrl !== undefined ? "--backend-url" : "PULUMI_BACKEND_URL";
  if (given === undefined || given.trim() === "") {
    throw new DrInputError(
      `--backend-url: not given and PULUMI_BACKEND_URL is ${given === undefined ? "not set" : "empty"}; name the stack's state backend (the engine here never falls back to ~/.pulumi; examples: ${EXAMPLES}, or export PULUMI_BACKEND_URL=...)`,
    );
  }
  // file://~/dir and relative file:// paths are the CLI's own forms (not WHATWG URLs): passed on as given.
  if (given.startsWith("file://")) {
    if (given.length === "file://".length) throw new DrInputError(`${flag} "file://": names no directory (example: file:///var/lib/pulumi-state)`);
    return { url: given, kind: "file", display: given.split("?")[0] };
  }
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    throw new DrInputError(`${flag} ${JSON.stringify(redact(given))}: is not a URL (examples: ${EXAMPLES})`);
  }
  const kind = SCHEMES[u.protocol];
  if (!kind) throw new DrInputError(`${flag} ${JSON.stringify(redact(given))}: ${u.protocol}// is not a state backend the engine knows (file://, s3://, gs://, azblob://, https://; examples: ${EXAMPLES})`);
  if (u.hostname === "") throw new DrInputError(`${flag} ${JSON.stringify(redact(given))}: names no ${kind === "cloud" ? "host" : "bucket"} (example: s3://my-state?region=us-east-1)`);
  const endpoint = u.searchParams.get("endpoint");
  const shown = `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  return { url: given, kind, display: endpoint && /^https?:\/\/[^@]*$/.test(endpoint) ? `${shown} (endpoint ${endpoint})` : shown };
}

/** A URL for a message: user:password and query values hidden (a SAS token, say). */
function redact(text: string): string {
  return text.replace(/\/\/[^/@?]*@/, "//***@").replace(/([?&][^=&]+)=[^&]*/g, "$1=***");
}

export interface Secrets {
  /** The stack file's secrets provider: "passphrase", "awskms://...", "service" (Pulumi Cloud), ... */
  provider: string;
  /** Set when the passphrase comes from PULUMI_CONFIG_PASSPHRASE. */
  passphrase?: string;
  /** Set when it comes from PULUMI_CONFIG_PASSPHRASE_FILE (the CLI reads the file itself). */
  passphraseFile?: string;
}

/**
 * The stack's secrets provider, from Pulumi.<stack>.yaml: `secretsprovider: awskms://...` (etc.) needs no passphrase;
 * `encryptionsalt:` is the passphrase provider; neither is Pulumi Cloud's own on an https:// backend and the passphrase
 * provider (the CLI's default) on any other. The passphrase is required only for the passphrase provider.
 */
export function stackSecrets(projectDir: string, stack: string, backend: Backend, env: NodeJS.ProcessEnv): Secrets {
  const file = stackFilePath(projectDir, stack);
  const top = (parse(readFileSync(file, "utf8")) ?? {}) as { secretsprovider?: unknown; encryptionsalt?: unknown };
  const named = typeof top.secretsprovider === "string" ? top.secretsprovider : undefined;
  const passphraseProvider = named === "passphrase" || (named === undefined && (top.encryptionsalt !== undefined || backend.kind !== "cloud"));
  if (!passphraseProvider) {
    if (named === undefined || named === "default" || named === "service") {
      if (!env.PULUMI_ACCESS_TOKEN) {
        throw new DrInputError(`PULUMI_ACCESS_TOKEN: not set; Pulumi.${stack}.yaml's secrets are Pulumi Cloud's and the state is on ${backend.display}: the engine here runs with its own PULUMI_HOME, so a \`pulumi login\` does not carry over (example: export PULUMI_ACCESS_TOKEN=pul-...)`);
      }
      return { provider: "service" };
    }
    // The cloud KMS's credentials (AWS_*, GOOGLE_*, AZURE_*, VAULT_*) are the environment's, passed through.
    return { provider: named.split("?")[0] };
  }
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return { provider: "passphrase", passphrase: env.PULUMI_CONFIG_PASSPHRASE };
  const phraseFile = env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (phraseFile) {
    try {
      accessSync(resolve(phraseFile), constants.R_OK);
    } catch {
      throw new DrInputError(`PULUMI_CONFIG_PASSPHRASE_FILE ${JSON.stringify(phraseFile)}: cannot be read; it must name a readable file holding the passphrase of Pulumi.${stack}.yaml (example: export PULUMI_CONFIG_PASSPHRASE_FILE=$HOME/.pulumi-passphrase)`);
    }
    return { provider: "passphrase", passphraseFile: resolve(phraseFile) };
  }
  const why = named === "passphrase" ? "secretsprovider: passphrase" : top.encryptionsalt !== undefined ? "it has an encryptionsalt:" : "it names no secretsprovider:, so the engine's default, the passphrase, applies";
  throw new DrInputError(
    `PULUMI_CONFIG_PASSPHRASE: not set (nor PULUMI_CONFIG_PASSPHRASE_FILE); Pulumi.${stack}.yaml's secrets are passphrase-encrypted (${why}) and the engine needs the passphrase to read them (example: export PULUMI_CONFIG_PASSPHRASE_FILE=$HOME/.pulumi-passphrase)`,
  );
}

/**
 * Variables of the caller's environment the engine gets untouched: the backend's and the KMS's credentials (and their
 * settings: AWS_CA_BUNDLE for a store behind a private CA, AWS_PROFILE, ...).
 */
const PASS_THROUGH = /^(AWS_[A-Z0-9_]+|PULUMI_ACCESS_TOKEN|GOOGLE_[A-Z0-9_]+|CLOUDSDK_[A-Z0-9_]+|AZURE_[A-Z0-9_]+|ARM_[A-Z0-9_]+|VAULT_[A-Z0-9_]+)$/;

export function credentialEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => PASS_THROUGH.test(e[0]) && e[1] !== undefined));
}
