// Drift detection on the real engine: the engine test stack ships two files to the loopback sshd, then a file is
// changed on the host behind Pulumi's back (over SSH, as a person would), and `pulumi refresh --preview-only` (the
// engine's CLI, with streamed JSON events, as .github/workflows/drift.yml runs it) is read by lib/drift.ts and
// `npm run drift`. The fixture's resources come from a dynamic provider that reads the files back
// (test/fixtures/engine/remote-file/index.ts says why not the command provider, whose resources cannot drift at all).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDriftCli } from "../../cli/drift";
import { detectDrift, parseEngineEvents } from "../../lib/drift";
import { REPO_ROOT } from "../../lib/engine/install";
import { gfmToHtml } from "../support/markdown";
import { engineGate, openSshFixtureStack, type SshFixtureStack } from "./engineGate";

const gate = engineGate();
const TOKEN = "tok-5b1e07c2-never-in-plain-text";
const HAND_EDITED = "tok-hand-edited-a9d44e31";
const STREAM = { PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true" };

if (gate.mustFail) {
  describe("engine: drift detection", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)("engine: drift detection (real engine, real sshd)", () => {
    let fixture: SshFixtureStack;
    const out = mkdtempSync(join(tmpdir(), "lazarus-drift-"));

    /** `pulumi refresh --preview-only --json` with streamed events, as the workflow runs it; its stdout. */
    async function refreshPreview(): Promise<string> {
      const r = await fixture.stack.cli(["refresh", "--preview-only", "--json"], STREAM);
      return r.stdout;
    }

    async function onHost(command: string): Promise<void> {
      const r = await fixture.sshd.sshExec(command);
      expect(r.code, r.stderr).toBe(0);
    }

    beforeAll(async () => {
      fixture = await openSshFixtureStack("remote-file", "keyFile", { content: { value: "listen 8080;\n" }, token: { value: TOKEN, secret: true } });
      const r = await fixture.stack.up();
      expect(r.summary.create).toBe(3);
    }, 120_000);

    afterAll(async () => {
      await fixture?.remove();
    });

    it("reports no drift right after an up, and npm run drift exits 0", async () => {
      const text = await refreshPreview();
      const report = detectDrift(parseEngineEvents(text, "prod.jsonl"));
      expect(report).toEqual({ checked: 2, drifted: [], secretOnly: 0, errors: [] });
      writeFileSync(join(out, "test.jsonl"), text);
      const cli = await runDriftCli(["--events-dir", out]);
      expect(cli.code).toBe(0);
      expect(cli.stdout).toContain("| test | 2 | 0 | ✅ complete |");
    }, 120_000);

    it("names the file changed on the host and the one whose mode changed, with state and live values, and changes nothing", async () => {
      await onHost(`printf 'listen 6666;\\n' > ${fixture.hostDir}/app.conf && chmod 0644 ${fixture.hostDir}/secret.env`);
      const text = await refreshPreview();
      const report = detectDrift(parseEngineEvents(text, "test.jsonl"));
      expect(report.errors).toEqual([]);
      expect(report.drifted.map((d) => [d.name, d.kind, d.keys])).toEqual([
        ["app-conf", "changed", ["content"]],
        ["secret-env", "changed", ["mode"]],
      ]);
      expect(report.drifted[0].values.content).toEqual({ state: "listen 8080;\n", live: "listen 6666;\n" });
      expect(report.drifted[1].values.mode).toEqual({ state: "0600", live: "0644" });
      // A preview only: the state still holds the old content, so a second look reports the same drift.
      expect(detectDrift(parseEngineEvents(await refreshPreview(), "again.jsonl")).drifted).toHaveLength(2);
      expect(readFileSync(join(fixture.hostDir, "app.conf"), "utf8")).toBe("listen 6666;\n");

      writeFileSync(join(out, "test.jsonl"), text);
      const cli = await runDriftCli(["--events-dir", out, "--summary", join(out, "summary.json")]);
      expect(cli.code).toBe(4);
      expect(JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))).toEqual({ drifted: ["test"], failed: [] });
      expect(cli.stdout).toContain("- **changed**: `secret-env` (pulumi-nodejs:dynamic:Resource): `mode`\n  - `mode`: state `\"0600\"`, live `\"0644\"`");
      expect(cli.stdout).not.toContain(TOKEN);
    }, 120_000);

    it("tools/ci/refresh-preview-stacks.sh, the drift workflow's step, writes the events npm run drift reads (engine CLI on PATH)", async () => {
      const events = mkdtempSync(join(tmpdir(), "lazarus-drift-events-"));
      const r = spawnSync("bash", [join(REPO_ROOT, "tools/ci/refresh-preview-stacks.sh"), fixture.stack.stack.workspace.workDir, events], {
        encoding: "utf8",
        env: { ...process.env, ...fixture.stack.envVars },
        timeout: 120_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^refresh-preview-stacks: test: pulumi exited 0, \d+ engine events$/m);
      const cli = await runDriftCli(["--events-dir", events, "--summary", join(events, "summary.json")]);
      expect(cli.code).toBe(4);
      expect(JSON.parse(readFileSync(join(events, "summary.json"), "utf8"))).toEqual({ drifted: ["test"], failed: [] });
    }, 120_000);

    it("counts a drift only in a secret's value without showing it (the engine compares the real values)", async () => {
      await onHost(`chmod 0600 ${fixture.hostDir}/secret.env && printf 'TOKEN=${HAND_EDITED}\\n' > ${fixture.hostDir}/secret.env`);
      const text = await refreshPreview();
      const report = detectDrift(parseEngineEvents(text, "test.jsonl"));
      expect(report.drifted.map((d) => d.name)).toEqual(["app-conf"]);
      expect(report.secretOnly).toBe(1);
      for (const secret of [TOKEN, HAND_EDITED]) expect(text).not.toContain(secret);
      writeFileSync(join(out, "test.jsonl"), text);
      const cli = await runDriftCli(["--events-dir", out]);
      expect(cli.stdout).toContain("- 1 more resource(s) differ only in secret values (not shown)");
      for (const secret of [TOKEN, HAND_EDITED]) expect(cli.stdout).not.toContain(secret);
    }, 120_000);

    it("reports a file deleted behind Pulumi's back as gone; `preview --refresh` events are read the same way", async () => {
      await onHost(`rm ${fixture.hostDir}/app.conf`);
      const report = detectDrift(parseEngineEvents(await refreshPreview(), "test.jsonl"));
      expect(report.drifted.map((d) => [d.name, d.kind])).toEqual([["app-conf", "gone"]]);
      const viaPreview = await fixture.stack.cli(["preview", "--refresh", "--json"], STREAM);
      expect(detectDrift(parseEngineEvents(viaPreview.stdout, "preview.jsonl")).drifted.map((d) => [d.name, d.kind])).toEqual([["app-conf", "gone"]]);
    }, 120_000);

    it("tools/ci/preview-summary.sh, the PR preview's step, keeps the changes and counts of a real `pulumi preview --diff`, no secret", async () => {
      await fixture.stack.setConfig("content", "listen 7070;\n");
      await fixture.stack.setConfig("token", HAND_EDITED, { secret: true });
      const preview = await fixture.stack.cli(["preview", "--diff"]);
      expect(preview.code, preview.stderr).toBe(0);
      const r = spawnSync("bash", [join(REPO_ROOT, "tools/ci/preview-summary.sh"), "test", "success"], { input: preview.stdout, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.startsWith("<details><summary><code>pulumi preview</code> of test: success</summary>\n\n```\n")).toBe(true);
      expect(r.stdout).toMatch(/~ pulumi-nodejs:dynamic:Resource: \(update\)/);
      expect(r.stdout).toMatch(/^Resources:$/m);
      expect(r.stdout).toMatch(/^\s+[~+] \d+ to (update|create)/m);
      expect(r.stdout).toContain("+ listen 7070;");
      for (const secret of [TOKEN, HAND_EDITED]) {
        expect(preview.stdout).not.toContain(secret);
        expect(r.stdout).not.toContain(secret);
      }
      expect(gfmToHtml(r.stdout)).toMatch(/<details><summary><code>pulumi preview<\/code> of test: success<\/summary>\n<pre><code>/);
    }, 120_000);

    it("a refresh that cannot reach the host is a failure, not a clean bill (exit 5)", async () => {
      await fixture.sshd.stop();
      const r = await fixture.stack.cli(["refresh", "--preview-only", "--json"], STREAM);
      expect(r.code).not.toBe(0);
      const report = detectDrift(parseEngineEvents(r.stdout, "test.jsonl"));
      expect(report.errors.join("\n")).toMatch(/ssh 127\.0\.0\.1:\d+ .* failed/);
      writeFileSync(join(out, "test.jsonl"), r.stdout);
      const cli = await runDriftCli(["--events-dir", out]);
      expect(cli.code).toBe(5);
      expect(cli.stdout).toContain("| test | ");
      expect(cli.stdout).toContain("❌ failed");
    }, 120_000);
  });
}
