// The real Pulumi engine with the real command provider (@pulumi/command 1.2.1's plugin, built by
// tools/build-engine.sh, or built from the provider's v1.2.1 source by hand and installed into the engine's PULUMI_HOME
// while its Go module is not served: README "The real engine") runs test/fixtures/engine/commands through the
// Automation API driver against the loopback sshd. Skipped, with the reason, where no such plugin is installed.
//
// The fact issue 8's defect 3 hinges on: what the engine and provider do when a file shipped on `stdin` changes.
// Read from the provider's source at v1.2.1 (provider/pkg/provider/common/inputs.go and remote/commandController.go):
// only `triggers` is replaceOnChanges; a change to `stdin` (or any other input) is an update, and Update runs the
// `update` command, or `create` again when no `update` is given, with the new stdin: the file is rewritten in place.
// The test below asserts exactly that, from the engine itself.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { changeCount, EngineStack, type EngineEvent } from "../../lib/engine/driver";
import type { SshServer } from "../support/sshd";
import { engineGate, openSshFixtureStack, type SshFixtureStack } from "./engineGate";

const gate = engineGate({ command: true });
const TOKEN = "tok-5b1d0c2e-never-in-plain-text";

if (gate.mustFail) {
  describe("engine: command provider over SSH", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)(`engine: command provider over SSH${gate.reason ? ` (${gate.reason})` : ""}`, () => {
    let sshd: SshServer;
    let hostDir: string;
    let stack: EngineStack;
    let fixture: SshFixtureStack | undefined;
    const events: EngineEvent[] = [];
    const onEvent = (e: EngineEvent) => events.push(e);

    beforeAll(async () => {
      fixture = await openSshFixtureStack("commands", "privateKey", { content: { value: "listen 8080;\n" }, token: { value: TOKEN, secret: true } });
      ({ sshd, hostDir, stack } = fixture);
    });

    afterAll(async () => {
      await fixture?.remove();
    });

    it("first up creates the files", async () => {
      const r = await stack.up({ onEvent });
      expect(r.summary.create).toBe(4); // the stack, the directory and two files
      expect(readFileSync(join(hostDir, "app.conf"), "utf8")).toBe("listen 8080;\n");
      expect(readFileSync(join(hostDir, "secret.env"), "utf8")).toBe(`TOKEN=${TOKEN}\n`);
      expect(statSync(join(hostDir, "secret.env")).mode & 0o777).toBe(0o600);
    });

    it("a second up changes nothing", async () => {
      const r = await stack.up({ onEvent });
      expect(changeCount(r.summary)).toBe(0);
    });

    it("changed stdin: an update of that command alone, which re-runs create and rewrites the file", async () => {
      await stack.setConfig("content", "listen 9090;\n");
      const plan = await stack.preview({ onEvent });
      const changing = plan.steps.filter((s) => s.op !== "same");
      expect(changing.map((s) => [s.op, s.urn.split("::").pop(), s.diffs])).toEqual([["update", "app-conf", ["stdin"]]]);
      const r = await stack.up({ onEvent });
      expect(r.summary.update).toBe(1);
      expect(changeCount(r.summary)).toBe(1);
      expect(readFileSync(join(hostDir, "app.conf"), "utf8")).toBe("listen 9090;\n");
    });

    it("no secret (token, SSH private key) in plain text in the state or the events", async () => {
      const key = readFileSync(sshd.keyFile, "utf8");
      const keyLine = key.split("\n")[1];
      const state = JSON.stringify(await stack.exportState());
      const eventText = JSON.stringify(events);
      for (const secret of [TOKEN, keyLine]) {
        expect(state).not.toContain(secret);
        expect(eventText).not.toContain(secret);
        for (const f of stack.backendFiles()) expect(f.text.includes(secret), f.path).toBe(false);
      }
    });
  });
}
