// The real Pulumi engine (built by tools/build-engine.sh) runs test/fixtures/engine/remote-file through the Automation
// API driver: files shipped over a real SSH login to the loopback sshd by a dynamic provider. It proves the engine
// path end to end (language host, state, secrets, diff/update) with no plugin but the engine's own, so CI runs it even
// where the command provider cannot be built (the command-provider tests are commands.test.ts and goodgo-*.test.ts).
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changeCount, EngineStack, type EngineEvent } from "../../lib/engine/driver";
import { engineGate, openSshFixtureStack, type SshFixtureStack } from "./engineGate";

const gate = engineGate();
const TOKEN = "tok-3c9e1f7a-never-in-plain-text";
const ROTATED = "tok-rotated-88d2b6e4-never-in-plain-text";

if (gate.mustFail) {
  describe("engine: dynamic provider over SSH", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)("engine: dynamic provider over SSH (real engine, real sshd)", () => {
    let hostDir: string;
    let stack: EngineStack;
    let fixture: SshFixtureStack | undefined;
    const events: EngineEvent[] = [];
    const onEvent = (e: EngineEvent) => events.push(e);

    beforeAll(async () => {
      fixture = await openSshFixtureStack("remote-file", "keyFile", { content: { value: "listen 8080;\n" }, token: { value: TOKEN, secret: true } });
      ({ hostDir, stack } = fixture);
    });

    afterAll(async () => {
      await fixture?.remove();
    });

    it("first up creates both files with their modes", async () => {
      const r = await stack.up({ onEvent });
      expect(r.summary.create).toBe(3); // the stack and two files
      expect(readFileSync(join(hostDir, "app.conf"), "utf8")).toBe("listen 8080;\n");
      expect(statSync(join(hostDir, "app.conf")).mode & 0o777).toBe(0o644);
      expect(readFileSync(join(hostDir, "secret.env"), "utf8")).toBe(`TOKEN=${TOKEN}\n`);
      expect(statSync(join(hostDir, "secret.env")).mode & 0o777).toBe(0o600);
    });

    it("a second up changes nothing", async () => {
      const before = statSync(join(hostDir, "app.conf")).mtimeMs;
      const r = await stack.up({ onEvent });
      expect(changeCount(r.summary)).toBe(0);
      expect(r.summary.same).toBe(3);
      expect(statSync(join(hostDir, "app.conf")).mtimeMs).toBe(before);
    });

    it("a changed file is an update of that file alone, and the file is rewritten", async () => {
      await stack.setConfig("content", "listen 9090;\n");
      const secretBefore = statSync(join(hostDir, "secret.env")).mtimeMs;
      const plan = await stack.preview({ onEvent });
      const changing = plan.steps.filter((s) => s.op !== "same");
      // Observed engine fact: the dynamic provider's default provider takes the whole project config as its inputs, so
      // any config change also shows as an update of pulumi:providers:pulumi-nodejs::default (counted in the summary).
      // The command provider's default provider takes only the `command:` namespace.
      expect(changing.map((s) => [s.op, s.type, s.urn.split("::").pop()])).toEqual([
        ["update", "pulumi:providers:pulumi-nodejs", "default"],
        ["update", "pulumi-nodejs:dynamic:Resource", "app-conf"],
      ]);
      const r = await stack.up({ onEvent });
      // The update's own summary counts the file alone (the provider's config step is not counted there).
      expect(changeCount(r.summary)).toBe(1);
      expect(r.summary.update).toBe(1);
      expect(readFileSync(join(hostDir, "app.conf"), "utf8")).toBe("listen 9090;\n");
      expect(statSync(join(hostDir, "secret.env")).mtimeMs).toBe(secretBefore);
    });

    it("a rotated secret rewrites its file 0600, and no secret is in plain text in state or events", async () => {
      await stack.setConfig("token", ROTATED, { secret: true });
      const r = await stack.up({ onEvent });
      const changed = r.steps
        .filter((s) => s.op !== "same" && !s.type.startsWith("pulumi:providers:"))
        .map((s) => [s.op, s.urn.split("::").pop()]);
      expect(changed).toEqual([["update", "secret-env"]]);
      expect(readFileSync(join(hostDir, "secret.env"), "utf8")).toBe(`TOKEN=${ROTATED}\n`);
      expect(statSync(join(hostDir, "secret.env")).mode & 0o777).toBe(0o600);

      const state = JSON.stringify(await stack.exportState());
      const files = stack.backendFiles();
      const eventText = JSON.stringify(events);
      expect(files.length).toBeGreaterThan(0);
      for (const secret of [TOKEN, ROTATED]) {
        expect(state).not.toContain(secret);
        expect(eventText).not.toContain(secret);
        for (const f of files) expect(f.text.includes(secret), `${secret} in ${f.path}`).toBe(false);
      }
      // The secret travels as ciphertext: the state carries it as a Pulumi secret.
      expect(state).toContain("4dabf18193072939515e22adb298388d");
      // Why the driver has its own export: the Automation API's exportStack() runs `stack export --show-secrets`.
      expect(JSON.stringify(await stack.stack.exportStack())).toContain(ROTATED);
    });

    it("destroy deletes both files", async () => {
      const r = await stack.destroy({ onEvent });
      expect(r.summary.delete).toBe(3);
      expect(() => statSync(join(hostDir, "app.conf"))).toThrow();
    });
  });
}
