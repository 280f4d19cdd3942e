// Runs the real Lazarus program in-process under Pulumi's mock runtime and records every resource it registers, with
// the same facts `pulumi preview --json` shows: type, name, URN, parent, protect, dependencies and inputs, secrets
// redacted. This is the one mechanism behind the offline plan, the unit tests and the plan benchmark.
import * as pulumi from "@pulumi/pulumi";
import type { RawStackConfig } from "../../config/load";
import { mockInvoke, mockResourceState } from "./mockProviders";

export const SECRET_MARK = "[secret]";
export const UNKNOWN_MARK = "[unknown until deploy]";

// Pulumi's wire-format signatures (sdk/nodejs/runtime/rpc.ts).
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface DeclaredResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  protect: boolean;
  dependencies: string[];
  /** Inputs as registered, secrets replaced by "[secret]". Safe to print. */
  inputs: Record<string, unknown>;
  /** Inputs with secret values in the clear: for tests only, never printed. */
  rawInputs: Record<string, unknown>;
  /** Names of top-level inputs that are (or contain) secrets. */
  secretInputs: string[];
  deleteBeforeReplace: boolean;
  replaceOnChanges: string[];
  ignoreChanges: string[];
}

export interface CapturedRun {
  project: string;
  stack: string;
  resources: DeclaredResource[];
  /** Stack outputs, secrets redacted. */
  outputs: Record<string, unknown>;
  invokes: { token: string; args: Record<string, unknown> }[];
}

type Walked = { redacted: unknown; raw: unknown; secret: boolean };

function walk(value: unknown): Walked {
  if (value === UNKNOWN) return { redacted: UNKNOWN_MARK, raw: UNKNOWN_MARK, secret: false };
  if (Array.isArray(value)) {
    const parts = value.map(walk);
    return { redacted: parts.map((p) => p.redacted), raw: parts.map((p) => p.raw), secret: parts.some((p) => p.secret) };
  }
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const sig = obj[SIG_KEY];
    if (sig === SECRET_SIG) {
      const inner = walk(obj.value);
      return { redacted: SECRET_MARK, raw: inner.raw, secret: true };
    }
    if (sig === ASSET_SIG || sig === ARCHIVE_SIG) {
      const kind = sig === ASSET_SIG ? "asset" : "archive";
      const desc = obj.path ? { [kind]: { path: obj.path } } : obj.text !== undefined ? { [kind]: { text: obj.text } } : { [kind]: { uri: obj.uri ?? "(assets)" } };
      return { redacted: desc, raw: desc, secret: false };
    }
    if (sig === RESOURCE_SIG) {
      const ref = { resource: obj.urn };
      return { redacted: ref, raw: ref, secret: false };
    }
    const redacted: Record<string, unknown> = {};
    const raw: Record<string, unknown> = {};
    let secret = false;
    for (const [k, v] of Object.entries(obj)) {
      const w = walk(v);
      redacted[k] = w.redacted;
      raw[k] = w.raw;
      secret ||= w.secret;
    }
    return { redacted, raw, secret };
  }
  return { redacted: value, raw: value, secret: false };
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean | undefined;
  getDependenciesList(): string[];
  getDeletebeforereplace(): boolean;
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}

/** Converts the flat engine config into what setAllConfig expects and runs `program` as a stack under mocks. */
export async function captureProgram<T extends Record<string, unknown>>(
  config: RawStackConfig,
  program: () => T | Promise<T>,
  options: { project?: string; preview?: boolean } = {},
): Promise<CapturedRun> {
  const project = options.project ?? "lazarus";
  const resources: DeclaredResource[] = [];
  const invokes: CapturedRun["invokes"] = [];

  await pulumi.runtime.setMocks(
    {
      newResource: (args) => mockResourceState(args),
      call: (args) => {
        invokes.push({ token: args.token, args: args.inputs });
        return mockInvoke(args);
      },
    },
    project,
    config.stack,
    options.preview ?? true,
  );
  pulumi.runtime.setAllConfig(config.values, config.secretKeys);

  // URNs as the engine makes them (sdk/nodejs/resource.ts createUrn): the type qualified by EVERY ancestor's type
  // except the root stack's. The mock monitor qualifies it by the direct parent's type only, so the offline plan's URNs
  // (what a PR diff and `pulumi state` commands name) differed from the engine's for every nested resource
  // (test/engine/preview-matches-offline-plan.test.ts).
  const mockMonitor = pulumi.runtime.getMonitor() as unknown as { newUrn(parent: string, type: string, name: string): string };
  mockMonitor.newUrn = (parent, type, name) => {
    const parentType = parent ? parent.split("::")[2] : "";
    const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
    return `urn:pulumi:${config.stack}::${project}::${qualified}::${name}`;
  };

  // Wrap the mock monitor so we see the whole registration request, not just what MockResourceArgs carries.
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: (err: unknown, resp: { getUrn(): string } | undefined) => void): Promise<void>;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) =>
    register(req, (err, resp) => {
      if (!err && resp) {
        const inputs = walk(req.getObject()?.toJavaScript() ?? {});
        const rawObj = (inputs.raw ?? {}) as Record<string, unknown>;
        resources.push({
          urn: resp.getUrn(),
          type: req.getType(),
          name: req.getName(),
          custom: req.getCustom(),
          parent: req.getParent() || undefined,
          protect: req.getProtect() ?? false,
          dependencies: req.getDependenciesList(),
          inputs: (inputs.redacted ?? {}) as Record<string, unknown>,
          rawInputs: rawObj,
          secretInputs: Object.keys(rawObj).filter((k) => walk((req.getObject()?.toJavaScript() ?? {})[k]).secret),
          deleteBeforeReplace: req.getDeletebeforereplace(),
          replaceOnChanges: req.getReplaceonchangesList(),
          ignoreChanges: req.getIgnorechangesList(),
        });
      }
      cb(err, resp);
    });

  let outputs: Record<string, unknown> = {};
  try {
    // Keep the program's own return value: the Stack resource hands back plain values with secret-ness dropped.
    let declared: T | undefined;
    await pulumi.runtime.runInPulumiStack(async () => (declared = await program()));
    outputs = await redactOutputs(declared ?? {});
  } finally {
    await pulumi.runtime.disconnect();
  }
  return { project, stack: config.stack, resources, outputs, invokes };
}

/** Resolves stack outputs, replacing every secret Output's value with "[secret]". */
async function redactOutputs(value: unknown): Promise<Record<string, unknown>> {
  return ((await redact(value)) ?? {}) as Record<string, unknown>;
}

async function redact(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    if (await pulumi.isSecret(value)) return SECRET_MARK;
    // Output.promise() is not public API but is stable across 3.x; it is how Pulumi's own test helpers read values.
    return redact(await (value as unknown as { promise(): Promise<unknown> }).promise());
  }
  if (Array.isArray(value)) return Promise.all(value.map(redact));
  if (value !== null && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await redact(v);
    return out;
  }
  return value;
}
