// Protect and replace, settled with the real engine (issue 9, step 4): test/fixtures/engine/protect (the shape of
// DropletHost's rebuild, dynamic-provider resources that need no plugin) through the Automation API driver.
//
// The rule, read from the engine's source (pkg/v3@v3.274.1 resource/deploy/step_generator.go) and asserted below: a
// replace is refused when the resource is protected in the program AND in the state (`new.Protect && old.Protect`;
// "we do allow unprotecting and replacing to happen in a single update"), and the delete of a replaced resource skips
// the protect check (step.go: `!s.replacing && s.old.Protect`). What each case does under the engine:
// (a) protected in program and state, an input forces a replace: preview and up both fail with the engine's message,
//     the preview still lists the replace (marked 🔒), the provider is never called, the state is unchanged;
// (b) protect: false and the replace in the same up: one up does both (no separate unprotect step); the replacement is
//     unprotected in state;
// (c) protect: false in one up (a `same` step: protect changes alone are no step), the replace in the next: also works;
// (d) protected in the program but not in state, an input forces a replace: the engine REPLACES it. So the up that
//     protects a droplet again (`done: true`) is not itself guarded by protect; DropletHost therefore ignores image
//     changes once a rebuild is done, and (e) shows the engine then leaves it alone.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineStack, engineErrors, type EngineEvent, type EngineStep } from "../../lib/engine/driver";
import { engineGate, scratchProject } from "./engineGate";

const gate = engineGate();
const REFUSED = (urn: string) =>
  `unable to replace resource "${urn}"\nas it is currently marked for protection. To unprotect the resource, remove the \`protect\` flag from the resource in your Pulumi program and run \`pulumi up\``;

if (gate.mustFail) {
  describe("engine: protect and replace", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)("engine: protect and replace (real engine, dynamic provider)", () => {
    let project: { dir: string; remove: () => void };
    let logDir: string;
    let log: string;
    let stack: EngineStack;
    let dropletUrn: string;

    /** What the provider did since the last call (create <id> <image>, delete <id>, update <id>). */
    let seen = 0;
    const providerCalls = (): string[] => {
      const text = readFileSync(log, "utf8");
      const out = text.slice(seen).split("\n").filter(Boolean).map((l) => l.replace(/-[0-9a-f]{8}/, ""));
      seen = text.length;
      return out;
    };
    const droplet = async () => {
      const st = await stack.exportState();
      const r = (st.deployment.resources as { urn: string; id: string; protect?: boolean; inputs: { image: string } }[]).find((x) =>
        x.urn.endsWith("::droplet"),
      )!;
      return { id: r.id, image: r.inputs.image, protect: r.protect ?? false };
    };
    const set = async (c: { image: string; protect: boolean; ignoreImage?: boolean }) => {
      await stack.setConfig("image", c.image);
      await stack.setConfig("protect", String(c.protect));
      await stack.setConfig("ignoreImage", String(c.ignoreImage ?? false));
    };
    const ops = (steps: EngineStep[]) =>
      steps.filter((s) => !s.type.startsWith("pulumi:") && s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`);
    /** Runs a preview or up that the engine must refuse; returns its error text and error diagnostics. */
    const refused = async (run: (o: { onEvent: (e: EngineEvent) => void }) => Promise<unknown>) => {
      const events: EngineEvent[] = [];
      const err = await run({ onEvent: (e) => events.push(e) }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err, "the engine must refuse").toBeInstanceOf(Error);
      return { message: err!.message, errors: engineErrors(events), steps: events };
    };

    beforeAll(async () => {
      project = scratchProject("protect");
      logDir = mkdtempSync(join(tmpdir(), "lazarus-engine-protect-"));
      log = join(logDir, "provider.log");
      writeFileSync(log, "");
      stack = await EngineStack.open({ workDir: project.dir, stackName: "test", passphrase: "lazarus-engine-test" });
      await stack.setConfig("log", log);
      await set({ image: "base", protect: true });
      const r = await stack.up();
      dropletUrn = r.steps.find((s) => s.urn.endsWith("::droplet"))!.urn;
      expect(providerCalls().sort()).toEqual(["create assignment", "create droplet base", "create ip"]);
      expect((await droplet()).protect).toBe(true);
    });

    afterAll(() => {
      project?.remove();
      if (logDir) rmSync(logDir, { recursive: true, force: true });
      if (stack) rmSync(stack.backendDir, { recursive: true, force: true });
    });

    it("(a) protected in program and state: preview and up refuse the replace; nothing is created or deleted", async () => {
      const before = await droplet();
      await set({ image: "snap-1", protect: true });

      const preview = await refused((o) => stack.preview(o));
      expect(preview.errors).toContain(REFUSED(dropletUrn));
      expect(preview.message).toContain("error: preview failed");
      // The preview still shows the replace it refuses, marked protected.
      expect(preview.message).toMatch(/\+-pulumi-nodejs:dynamic:Resource: \(replace\) 🔒\n\s+\[id=droplet-/);

      const up = await refused((o) => stack.up(o));
      expect(up.errors).toContain(REFUSED(dropletUrn));
      expect(providerCalls()).toEqual([]);
      expect(await droplet()).toEqual(before);
    });

    it("(b) protect: false and the replace in the same up: one up unprotects and replaces", async () => {
      const before = await droplet();
      await set({ image: "snap-1", protect: false });
      const plan = await stack.preview();
      const drop = plan.steps.find((s) => s.urn === dropletUrn && s.op === "replace")!;
      expect(drop.protect).toEqual({ old: true, new: false });
      expect(plan.stdout).toContain("(replace) 🔓");
      expect(ops(plan.steps)).toEqual([
        "create-replacement droplet",
        "replace droplet",
        "delete-replaced assignment",
        "replace assignment",
        "create-replacement assignment",
        "delete-replaced droplet",
      ]);

      const r = await stack.up();
      expect(r.summary.replace).toBe(2);
      // Create before delete, as the real droplet; the protected original is deleted by the same up.
      expect(providerCalls()).toEqual(["create droplet snap-1", "delete assignment", "create assignment", "delete droplet"]);
      const after = await droplet();
      expect(after.id).not.toBe(before.id);
      expect(after).toMatchObject({ image: "snap-1", protect: false });
    });

    it("protect: true again with unchanged inputs is no step at all, and from then on a replace is refused", async () => {
      const rebuilt = await droplet();
      await set({ image: "snap-1", protect: true });
      const r = await stack.up();
      expect(ops(r.steps)).toEqual([]);
      expect(providerCalls()).toEqual([]);
      expect(await droplet()).toEqual({ ...rebuilt, protect: true });

      await set({ image: "snap-2", protect: true });
      expect((await refused((o) => stack.up(o))).errors).toContain(REFUSED(dropletUrn));
      expect(providerCalls()).toEqual([]);
      expect(await droplet()).toEqual({ ...rebuilt, protect: true });
    });

    it("(c) protect: false in one up, the replace in the next: the first changes only the state's flag", async () => {
      const before = await droplet();
      await set({ image: "snap-1", protect: false });
      const first = await stack.up();
      expect(ops(first.steps)).toEqual([]);
      expect(await droplet()).toEqual({ ...before, protect: false });

      await set({ image: "snap-2", protect: false });
      await stack.up();
      expect(providerCalls()).toEqual(["create droplet snap-2", "delete assignment", "create assignment", "delete droplet"]);
      expect(await droplet()).toMatchObject({ image: "snap-2", protect: false });
    });

    it("(d) protected in the program but not in state: the engine replaces it, and the replacement is protected", async () => {
      await set({ image: "snap-3", protect: true });
      const plan = await stack.preview();
      expect(plan.steps.find((s) => s.urn === dropletUrn && s.op === "replace")!.protect).toEqual({ old: false, new: true });
      expect(plan.stdout).toContain("(replace) 🔒");
      await stack.up();
      expect(providerCalls()).toEqual(["create droplet snap-3", "delete assignment", "create assignment", "delete droplet"]);
      expect(await droplet()).toMatchObject({ image: "snap-3", protect: true });
    });

    it("(e) with the image ignored (DropletHost once a rebuild is done), the up that protects again replaces nothing", async () => {
      await set({ image: "snap-3", protect: false });
      await stack.up(); // as after a rebuild: unprotected in state
      const rebuilt = await droplet();
      expect(rebuilt.protect).toBe(false);
      // `done: true` written together with another snapshot id: the image is not diffed, the droplet is protected again.
      await set({ image: "snap-4", protect: true, ignoreImage: true });
      const r = await stack.up();
      expect(ops(r.steps)).toEqual([]);
      expect(providerCalls()).toEqual([]);
      expect(await droplet()).toEqual({ ...rebuilt, protect: true });
      // Dropping the switch (ignoreChanges gone, base image): refused, the droplet is protected in program and state.
      await set({ image: "base", protect: true });
      expect((await refused((o) => stack.up(o))).errors).toContain(REFUSED(dropletUrn));
      expect(providerCalls()).toEqual([]);
    });
  });
}
