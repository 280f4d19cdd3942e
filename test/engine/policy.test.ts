// The policy pack (policy/, @pulumi/policy 1.21) run by the real engine: `pulumi preview --policy-pack policy` through
// the Automation API driver on test/fixtures/engine/policy (issue 9, step 6). What runs: the pack's own analyzer,
// started by the Node language host from policy/index.ts, over a stack named prod. Its resource is a component
// standing in for a reserved IP (no provider plugin: see the fixture), so the rule exercised is prod-stateful-protected
// (type and protect flag). The rules that read inputs of DigitalOcean or command resources need those providers'
// plugins under the engine, which cannot be built here; they run over the offline plan (test/policy/).
import { join } from "node:path";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineStack, type EngineEvent } from "../../lib/engine/driver";
import { REPO_ROOT } from "../../lib/engine/install";
import { engineGate, scratchProject } from "./engineGate";

const gate = engineGate();
const PACK = join(REPO_ROOT, "policy");

if (gate.mustFail) {
  describe("engine: policy pack", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)("engine: policy pack under pulumi preview (real engine)", () => {
    let project: { dir: string; remove: () => void };
    let stack: EngineStack;

    beforeAll(async () => {
      project = scratchProject("policy");
      stack = await EngineStack.open({ workDir: project.dir, stackName: "prod", passphrase: "lazarus-engine-test" });
    });

    afterAll(() => {
      project?.remove();
      if (stack) rmSync(stack.backendDir, { recursive: true, force: true });
    });

    it("passes on a compliant stack: the pack loads and reports no violation", async () => {
      await stack.setConfig("protect", "true");
      const events: EngineEvent[] = [];
      const r = await stack.preview({ policyPacks: [PACK], onEvent: (e) => events.push(e) });
      expect(r.stdout).toMatch(/Policy Packs run:\n\s+Name\s+Version\n\s+lazarus-invariants\|local\|\S+\/policy\s+0\.1\.0/);
      expect(events.filter((e) => e.policyEvent)).toEqual([]);
      expect(r.steps.map((s) => [s.op, s.type])).toContainEqual(["create", "digitalocean:index/reservedIp:ReservedIp"]);
    });

    it("refuses a violating change: an unprotected reserved IP on prod", async () => {
      await stack.setConfig("protect", "false");
      const events: EngineEvent[] = [];
      const err = await stack.preview({ policyPacks: [PACK], onEvent: (e) => events.push(e) }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err, "the preview must fail").toBeInstanceOf(Error);
      expect(err!.message).toContain("lazarus-invariants@v0.1.0 [mandatory]  prod-stateful-protected");
      const violations = events.flatMap((e) => (e.policyEvent ? [e.policyEvent] : []));
      expect(violations.map((v) => [v.policyName, v.enforcementLevel, v.resourceUrn?.split("::").pop()])).toEqual([
        ["prod-stateful-protected", "mandatory", "kro-prod-host-ip"],
      ]);
      expect(violations[0].message).toContain(
        "kro-prod-host-ip: a reserved IP (the address DNS points at) on stack prod is not protected, so a later `pulumi up` may delete or replace it; declare it with protect: true",
      );
    });
  });
}
