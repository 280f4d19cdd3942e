// The CrossGuard pack: `pulumi preview --policy-pack policy` runs the rules of ./rules.ts (the same functions the
// offline plan runs) over the stack's resources, each as a mandatory stack policy.
// What the engine hands a rule, and so what this pack can check (@pulumi/policy 1.21):
// - inputs with secrets already unwrapped: secrets-not-plain cannot tell a secret from a plain value and reports itself
//   not applicable here; `npm run plan` runs it (the offline plan knows which inputs are secrets);
// - no stack config: destructive-confirmed reads the confirmations from Pulumi.<stack>.yaml beside this folder (confirm
//   values are never secrets), the stack named by the resources' URNs;
// - values unknown until deploy: read as "[unknown until deploy]", which no rule treats as a violation.
// Importing this file starts the analyzer's gRPC server: tests and the offline plan import ./rules instead.
import { PolicyPack, UnknownValueError, type PolicyResource as EngineResource } from "@pulumi/policy";
import { join } from "node:path";
import { readStackFile, stackFilePath } from "../config/stackFile";
import { UNKNOWN_MARK } from "../lib/runtime/capture";
import { POLICIES, POLICY_PACK_NAME, confirmationsIn, stackOf, type PolicyResource } from "./rules";

/** A plain copy of the engine's proxied props, unknown values marked instead of thrown. */
function plain(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return Array.from({ length: value.length }, (_, i) => read(() => value[i]));
  return Object.fromEntries(Object.keys(value).map((k) => [k, read(() => (value as Record<string, unknown>)[k])]));
}

function read(get: () => unknown): unknown {
  try {
    return plain(get());
  } catch (e) {
    if (e instanceof UnknownValueError) return UNKNOWN_MARK;
    throw e;
  }
}

const toPolicyResource = (r: EngineResource): PolicyResource => ({
  urn: r.urn,
  type: r.type,
  name: r.name,
  protect: r.opts.protect,
  inputs: plain(r.props) as Record<string, unknown>,
});

function confirmations(resources: readonly PolicyResource[]): Set<string> {
  const stack = resources.length ? stackOf(resources[0].urn) : "";
  return stack ? confirmationsIn(readStackFile(stackFilePath(join(__dirname, ".."), stack), stack)) : new Set();
}

new PolicyPack(POLICY_PACK_NAME, {
  enforcementLevel: "mandatory",
  policies: POLICIES.map((p) => ({
    name: p.name,
    description: p.description,
    validateStack: (args, reportViolation) => {
      if (p.needsMarkedSecrets) args.notApplicable("the engine hands policies secrets unwrapped; `npm run plan` checks this rule");
      const resources = args.resources.map(toPolicyResource);
      for (const v of p.check(resources, { confirmations: confirmations(resources), secretsMarked: false })) reportViolation(v.message, v.urn);
    },
  })),
});
