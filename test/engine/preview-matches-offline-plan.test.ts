// The offline plan held to the engine (issue 9, step 5): for the engine test stack (the real program, GoodGo on an
// existing server: test/engine/goodgoStack.ts), `pulumi preview` through lib/engine/driver.ts with the real command
// provider, from empty state, and the offline plan (cli/planner.ts planStack, what `npm run plan -- --json` prints) of
// the same stack file and secrets list the same resources (URN, type, parent, protect) with the same known inputs.
// A preview connects to no host (the provider only checks and diffs), so the server's address is a documentation one.
//
// Normalised on both sides, and nothing else: a secret is "[secret]" (the engine sends a secret envelope, the plan its
// mark), a value unknown until deploy is "<unknown>", and an archive is its path (the engine adds its content hash).
// The engine's default provider resource (pulumi:providers:command) is not a resource the program declares: the
// offline plan has none, and the test says so.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planStack, type Plan } from "../../cli/planner";
import { readStackFile } from "../../config/stackFile";
import type { OperationResult } from "../../lib/engine/driver";
import { REPO_ROOT } from "../../lib/engine/install";
import { UNKNOWN_MARK } from "../../lib/runtime/capture";
import { engineGate } from "./engineGate";
import { ENGINE_STACK, goodgoOnHostConfig, goodgoSecrets, openGoodgoStack, type GoodgoEngineStack } from "./goodgoStack";

const gate = engineGate({ command: true });

// Pulumi's wire-format signatures (sdk/nodejs/runtime/rpc.ts), as the engine's events carry them.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

interface Comparable {
  urn: string;
  type: string;
  parent: string;
  protect: boolean;
  inputs: unknown;
}

function normalise(value: unknown): unknown {
  if (value === UNKNOWN || value === UNKNOWN_MARK) return "<unknown>";
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o[SIG_KEY] === SECRET_SIG) return "[secret]";
    if (o[SIG_KEY] === ARCHIVE_SIG) return { archive: { path: o.path } };
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

/** Where one side knows a value the other does not, both show "<unknown>": only known inputs are compared. */
function knownOnly(a: unknown, b: unknown): [unknown, unknown] {
  if (a === "<unknown>" || b === "<unknown>") return ["<unknown>", "<unknown>"];
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    const pairs = a.map((x, i) => knownOnly(x, b[i]));
    return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const outA: Record<string, unknown> = {};
    const outB: Record<string, unknown> = {};
    for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
      if (!(k in ao) || !(k in bo)) {
        if (k in ao) outA[k] = ao[k];
        if (k in bo) outB[k] = bo[k];
        continue;
      }
      [outA[k], outB[k]] = knownOnly(ao[k], bo[k]);
    }
    return [outA, outB];
  }
  return [a, b];
}

function fromEngine(preview: OperationResult): Comparable[] {
  return preview.events
    .flatMap((e) => (e.resourcePreEvent?.metadata.new ? [e.resourcePreEvent.metadata.new] : []))
    .filter((r) => !r.type.startsWith("pulumi:providers:"))
    .map((r) => ({ urn: r.urn, type: r.type, parent: r.parent ?? "", protect: r.protect ?? false, inputs: normalise(r.inputs ?? {}) }));
}

function fromPlan(plan: Plan): Comparable[] {
  return plan.resources.map((r) => ({ urn: r.urn, type: r.type, parent: r.parent ?? "", protect: r.protect, inputs: normalise(r.inputs) }));
}

if (gate.mustFail) {
  describe("engine: preview vs offline plan", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)(`engine: pulumi preview and the offline plan of the engine test stack${gate.reason ? ` (${gate.reason})` : ""}`, () => {
    let goodgo: GoodgoEngineStack | undefined;
    let engine: Comparable[] = [];
    let offline: Comparable[] = [];
    let providers: string[] = [];

    beforeAll(async () => {
      const secrets = goodgoSecrets("-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key: a preview never logs in\n-----END OPENSSH PRIVATE KEY-----\n");
      goodgo = await openGoodgoStack(
        goodgoOnHostConfig({ host: "192.0.2.10", user: "root", port: 22 }, "/srv/goodgo", (g) => {
          g.operations = [{ id: "restart-api", action: "restart-service", service: "api" }];
          g.recovery = { database: { label: "r1", backup: "goodgo_20261123T020000Z.dump", cutover: true } };
        }),
        secrets,
      );
      const preview = await goodgo.stack.preview();
      engine = fromEngine(preview);
      providers = preview.steps.filter((s) => s.type.startsWith("pulumi:providers:")).map((s) => s.type);
      // The same stack file the engine read (its secrets encrypted: readStackFile leaves them out), and the same secrets.
      const raw = readStackFile(join(goodgo.projectDir, `Pulumi.${ENGINE_STACK}.yaml`), ENGINE_STACK);
      for (const [k, v] of Object.entries(secrets)) {
        raw.values[k] = v;
        if (!raw.secretKeys.includes(k)) raw.secretKeys.push(k);
      }
      offline = fromPlan(await planStack(raw));
    }, 600_000);

    afterAll(() => {
      if (goodgo) goodgo.remove();
    });

    it("lists the same resources: URN, type, parent and protect", () => {
      const key = (r: Comparable) => JSON.stringify([r.urn, r.type, r.parent, r.protect]);
      expect(engine.length).toBeGreaterThan(50);
      expect(offline.map(key).sort()).toEqual(engine.map(key).sort());
      // Beside them the engine plans only its default provider, which the program does not declare.
      expect(providers).toEqual(["pulumi:providers:command"]);
    });

    it("with the same known inputs, resource by resource", () => {
      const byUrn = new Map(offline.map((r) => [r.urn, r]));
      const differing: string[] = [];
      for (const r of engine) {
        const o = byUrn.get(r.urn);
        if (!o) continue; // the test above reports it
        const [a, b] = knownOnly(r.inputs, o.inputs);
        try {
          expect(b).toEqual(a);
        } catch {
          differing.push(`${r.urn}\n  engine: ${JSON.stringify(a).slice(0, 600)}\n  plan:   ${JSON.stringify(b).slice(0, 600)}`);
        }
      }
      expect(differing).toEqual([]);
      // Known inputs are most of them: the comparison is not vacuous.
      const commands = engine.filter((r) => r.type === "command:remote:Command");
      expect(commands.filter((r) => typeof (r.inputs as { create?: unknown }).create === "string").length).toBe(commands.length);
    });

    // A pass only: every change the rules would refuse on this stack (an unpinned image, a published data port, an
    // unconfirmed destructive step on prod) is refused by the stack file's checks first. A refusal under the engine is
    // shown by test/engine/policy.test.ts; each rule's refusals over the offline plan by test/policy/rules.test.ts.
    it("passes the policy pack under `pulumi preview --policy-pack policy`, over the command resources' engine inputs", async () => {
      const r = await goodgo!.stack.preview({ policyPacks: [join(REPO_ROOT, "policy")] });
      expect(r.stdout).toMatch(/Policy Packs run:\n\s+Name\s+Version\n\s+lazarus-invariants\|local/);
      expect(r.events.filter((e) => e.policyEvent)).toEqual([]);
      expect(r.steps.filter((s) => s.type === "command:remote:Command").length).toBeGreaterThan(40);
    });
  });
}
