// `lazarus dr rebuild`'s refusals and failure reporting, against a FAKE engine seam (cli/dr/engine.ts DrEngine).
// The fake records every call and its `up` throws unless a test allows it, so "nothing ran" is proven by the calls
// list: with a missing or wrong prod confirmation no engine is even opened; a wrong typed confirmation stops after the
// preview. What the fake cannot show is the real engine's behaviour (its events, the program refusing a config):
// test/engine/dr-rebuild.test.ts runs the command on the real engine with the real program.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runDrCli } from "../../cli/dr/main";
import type { DrEngine, OpenEngineOptions } from "../../cli/dr/engine";
import type { EngineEvent } from "../../lib/engine/driver";
import type { DrReport } from "../../lib/dr/report";
import { PROJECT_DIR } from "../support/stacks";

interface Fake {
  calls: string[];
  /** What each openEngine call was given (backend URL, passphrase, the passed-through environment). */
  opened: OpenEngineOptions[];
  deps: Parameters<typeof runDrCli>[1];
  progress: () => string;
}

function fakeEngine(options: { typed?: string; interactive?: boolean; up?: (onEvent: (e: EngineEvent) => void) => Promise<void> } = {}): Fake {
  const calls: string[] = [];
  const opened: OpenEngineOptions[] = [];
  let progress = "";
  const engine: DrEngine = {
    async refresh() {
      calls.push("refresh");
    },
    async preview() {
      calls.push("preview");
      return { summary: { same: 10, update: 2 }, changes: 2 };
    },
    async urns() {
      calls.push("urns");
      return [];
    },
    async up(onEvent) {
      calls.push("up");
      if (!options.up) throw new Error("the fake engine's up was called");
      await options.up(onEvent);
      return { summary: { update: 2 } };
    },
  };
  return {
    calls,
    opened,
    progress: () => progress,
    deps: {
      openEngine: async (o) => {
        calls.push(`open ${o.stack}`);
        opened.push(o);
        return engine;
      },
      interactive: options.interactive ?? false,
      prompt: async (q) => {
        calls.push(`prompt ${q}`);
        return options.typed ?? "";
      },
      env: { PULUMI_CONFIG_PASSPHRASE: "test" },
      progress: (t) => void (progress += t),
      healthIntervalMs: 50,
    },
  };
}

const stackFile = (stack: string) => readFileSync(join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8");

function rebuild(fake: Fake, ...args: string[]) {
  const reportDir = mkdtempSync(join(tmpdir(), "lazarus-dr-report-"));
  const backend = mkdtempSync(join(tmpdir(), "lazarus-dr-state-"));
  return runDrCli(["dr", "rebuild", "--label", "r1", "--backend-dir", backend, "--report-dir", reportDir, "--project-dir", PROJECT_DIR, ...args], fake.deps).then((r) => {
    const files = readdirSync(reportDir);
    const json = files.find((f) => f.endsWith(".json"));
    return { ...r, reportDir, files, report: json ? (JSON.parse(readFileSync(join(reportDir, json), "utf8")) as DrReport) : undefined };
  });
}

describe("lazarus dr rebuild: the prod confirmation", () => {
  it("without --confirm and without a terminal: refused (exit 4) before any engine is opened, report outcome refused", async () => {
    const before = stackFile("prod");
    const fake = fakeEngine();
    const r = await rebuild(fake, "--stack", "prod", "--platform", "goodgo");
    expect(r.code).toBe(4);
    expect(r.stderr).toBe("refused: stack prod is protected and stdin is not a terminal to type the confirmation; pass --confirm prod/goodgo/recover-host\n");
    expect(fake.calls).toEqual([]);
    expect(r.files.sort()).toEqual(["rebuild-prod-r1.json", "rebuild-prod-r1.md"]);
    expect(r.report).toMatchObject({ kind: "rebuild", stack: "prod", outcome: "refused", platforms: ["goodgo"] });
    expect(r.report!.steps).toEqual([expect.objectContaining({ key: "rebuild/confirm", status: "failed" })]);
    expect(stackFile("prod")).toBe(before);
  });

  it("with a wrong --confirm: refused (exit 4) naming the expected token, nothing opened", async () => {
    const fake = fakeEngine();
    const r = await rebuild(fake, "--stack", "prod", "--platform", "goodgo", "--confirm", "prod/goodgo/rebuild-host");
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^refused: --confirm "prod\/goodgo\/rebuild-host": the rebuild of prod needs "prod\/goodgo\/recover-host" \(goodgo\); expected exactly: --confirm prod\/goodgo\/recover-host\n$/);
    expect(fake.calls).toEqual([]);
    expect(r.report!.outcome).toBe("refused");
  });

  it("with one platform's token but not the other's: refused", async () => {
    const fake = fakeEngine();
    const r = await rebuild(fake, "--stack", "prod", "--snapshot", "187654321", "--confirm", "prod/goodgo/recover-host");
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('needs "prod/kro/rebuild-host" (kro) and "prod/waqiti/full-system-recovery" (waqiti)');
    expect(fake.calls).toEqual([]);
  });

  it("typed wrong at the terminal: the preview ran (it changes nothing), then refused before up", async () => {
    const fake = fakeEngine({ interactive: true, typed: "yes" });
    const r = await rebuild(fake, "--stack", "prod", "--platform", "goodgo");
    expect(r.code).toBe(4);
    expect(fake.calls).toEqual(["open prod", "refresh", "preview", "prompt Type prod/goodgo/recover-host to rebuild goodgo on prod: "]);
    expect(r.stderr).toContain('refused: typed "yes", not "prod/goodgo/recover-host" (goodgo)');
    // The project copy under .lazarus/dr/ is gone again.
    expect(existsSync(join(PROJECT_DIR, ".lazarus/dr")) ? readdirSync(join(PROJECT_DIR, ".lazarus/dr")).filter((f) => f.startsWith("work-")) : []).toEqual([]);
  });
});

describe("lazarus dr rebuild: bad input (exit 2, nothing opened)", () => {
  it.each([
    [["--stack", "prod", "--platform", "goodgo", "--health-url", "goodgo:http://x"], /--health-url "goodgo:http:\/\/x": is not <platform>=<http\(s\) URL> .*example: --health-url goodgo=http/],
    [["--stack", "prod", "--platform", "kro"], /--snapshot: KRO on prod is rebuilt from a snapshot id/],
    [["--stack", "staging", "--platform", "pencom"], /--platform: nothing to rebuild: pencom: Pencom runs on existing on-premises servers/],
    [["--stack", "staging", "--platform", "goodgo", "--health-timeout", "soon"], /--health-timeout "soon": is not a whole number of seconds/],
  ])("%j", async (args, message) => {
    const fake = fakeEngine();
    const r = await rebuild(fake, ...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
    expect(fake.calls).toEqual([]);
    expect(r.files).toEqual([]);
  });

  it("without a state backend: refused naming --backend-url and PULUMI_BACKEND_URL (no silent ~/.pulumi)", async () => {
    const fake = fakeEngine();
    const r = await runDrCli(["dr", "rebuild", "--stack", "staging", "--platform", "goodgo", "--project-dir", PROJECT_DIR], fake.deps);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--backend-url: not given and PULUMI_BACKEND_URL is not set; .*never falls back to ~\/\.pulumi.*--backend-dir ~\/\.pulumi-state/);
    expect(fake.calls).toEqual([]);
  });

  it("without the passphrase: names PULUMI_CONFIG_PASSPHRASE", async () => {
    const fake = fakeEngine();
    const r = await runDrCli(["dr", "rebuild", "--stack", "staging", "--platform", "goodgo", "--project-dir", PROJECT_DIR, "--backend-dir", tmpdir()], { ...fake.deps, env: {} });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PULUMI_CONFIG_PASSPHRASE: not set/);
  });
});

describe("lazarus dr rebuild: a failed step", () => {
  it("prints one line naming the step and what to do next, exits 5, and reports the step failed with the engine's message", async () => {
    const urn = "urn:pulumi:staging::lazarus::lazarus:goodgo:Software$command:remote:Command::goodgo-staging-recover-host-r1-restore-database";
    const meta = { op: "create" as const, urn, type: "command:remote:Command", provider: "" };
    const fake = fakeEngine({
      up: async (onEvent) => {
        onEvent({ sequence: 1, timestamp: 0, resourcePreEvent: { metadata: meta } });
        onEvent({ sequence: 2, timestamp: 0, diagnosticEvent: { urn, message: "pg_restore: error: could not read input file", color: "never", severity: "error" } });
        onEvent({ sequence: 3, timestamp: 0, resOpFailedEvent: { metadata: meta, status: 1, steps: 1 } });
        throw new Error("update failed");
      },
    });
    const r = await rebuild(fake, "--stack", "staging", "--platform", "goodgo");
    expect(r.code).toBe(5);
    expect(fake.calls).toEqual(["open staging", "refresh", "preview", "up"]);
    expect(fake.progress()).toContain(
      "✖ failed at create restore-database (goodgo-staging-recover-host-r1-restore-database) (goodgo/restore-database): pg_restore: error: could not read input file. Next: fix what create restore-database",
    );
    expect(fake.progress()).toContain("run the same command again with --label r1: the steps that finished are not run again");
    expect(r.report!.outcome).toBe("failed");
    expect(r.report!.steps.find((s) => s.key === "goodgo/restore-database")).toMatchObject({ status: "failed", platform: "goodgo" });
    expect(readFileSync(join(r.reportDir, "rebuild-staging-r1.md"), "utf8")).toContain("Failed at **create restore-database");
  });
});

describe("lazarus dr rebuild: health and the report (fake engine, real HTTP server)", () => {
  const urn = (name: string) => `urn:pulumi:staging::lazarus::lazarus:goodgo:Software$command:remote:Command::${name}`;
  const restoreLine = JSON.stringify({ status: "ok", exit_code: 0, backup: "goodgo_20261201T020000Z.dump", sha256: "ab".repeat(32), database: "goodgo", restored_database: "goodgo" });
  const upWithChain = async (onEvent: (e: EngineEvent) => void) => {
    let seq = 0;
    for (const [name, stdout] of [["goodgo-staging-recover-host-r1-data-services", ""], ["goodgo-staging-recover-host-r1-restore-database", `restoring\n${restoreLine}\n`]]) {
      const meta = { op: "create" as const, urn: urn(name), type: "command:remote:Command", provider: "" };
      onEvent({ sequence: ++seq, timestamp: 0, resourcePreEvent: { metadata: meta } });
      onEvent({ sequence: ++seq, timestamp: 0, resOutputsEvent: { metadata: { ...meta, new: { type: meta.type, urn: meta.urn, id: "x", parent: "", inputs: {}, outputs: { stdout }, provider: "" } } } });
    }
  };

  async function healthServer(statuses: number[]) {
    const { createServer } = await import("node:http");
    const { freePort } = await import("../support/ports");
    const port = await freePort();
    const seen: number[] = [];
    const server = createServer((_req, res) => {
      const status = statuses.length > 1 ? statuses.shift()! : statuses[0];
      seen.push(status);
      res.writeHead(status).end();
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${port}/health`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it("waits until the health URL answers 2xx, then reports ok with the steps, the restored backup and its checksum, and what to do afterwards", async () => {
    const health = await healthServer([503, 503, 200]);
    try {
      const fake = fakeEngine({ up: upWithChain });
      const r = await rebuild(fake, "--stack", "staging", "--platform", "goodgo", "--health-url", `goodgo=${health.url}`, "--json");
      expect(r.code).toBe(0);
      expect(health.seen).toEqual([503, 503, 200]);
      expect(JSON.parse(r.stdout)).toEqual(r.report);
      expect(fake.progress()).toMatch(/✔ create data-services \(goodgo-staging-recover-host-r1-data-services\) {2}\d+\.\d s/);
      expect(r.report!.steps.map((s) => `${s.key} ${s.status}`)).toEqual([
        "rebuild/refresh ok",
        "rebuild/preview ok",
        "rebuild/up ok",
        "goodgo/data-services ok",
        "goodgo/restore-database ok",
        "goodgo/health ok",
      ]);
      expect(r.report!.restored).toEqual([{ platform: "goodgo", database: "goodgo", source: "goodgo_20261201T020000Z.dump", checksum: `sha256:${"ab".repeat(32)}`, route: "logical" }]);
      expect(r.report!.objectives[0]).toMatchObject({ platform: "goodgo", rtoTargetSeconds: 3600, rpoTargetSeconds: 86400 });
      expect(r.report!.objectives[0].rtoSeconds).toBeGreaterThan(0);
      expect(r.report!.notes.join("\n")).toContain("goodgo afterwards: add `done: true` to recovery.host");
    } finally {
      await health.close();
    }
  });

  it("a health URL that never answers 2xx fails the rebuild after --health-timeout, naming the health step (exit 5)", async () => {
    const health = await healthServer([502]);
    try {
      const fake = fakeEngine({ up: upWithChain });
      const r = await rebuild(fake, "--stack", "staging", "--platform", "goodgo", "--health-url", `goodgo=${health.url}`, "--health-timeout", "1");
      expect(r.code).toBe(5);
      expect(fake.progress()).toContain(`✖ failed at goodgo: healthy (goodgo/health): ${health.url} did not answer 2xx within 1 s (last: HTTP 502). Next: the up finished`);
      expect(r.report!.outcome).toBe("failed");
    } finally {
      await health.close();
    }
  });
});

describe("lazarus dr rebuild: the stack file", () => {
  it("is left as it is without --write-config, and gets exactly the switch with it, once the up succeeded", async () => {
    const { copyFileSync } = await import("node:fs");
    const { parse } = await import("yaml");
    const { patchedProject } = await import("../support/stacks");
    const run = async (project: string, ...extra: string[]) => {
      const fake = fakeEngine({ up: async () => {} });
      const backend = mkdtempSync(join(tmpdir(), "lazarus-dr-state-"));
      const reportDir = mkdtempSync(join(tmpdir(), "lazarus-dr-report-"));
      return runDrCli(["dr", "rebuild", "--stack", "staging", "--platform", "goodgo", "--label", "r1", "--skip-health", "--backend-dir", backend, "--report-dir", reportDir, "--project-dir", project, ...extra], fake.deps);
    };
    const project = patchedProject("staging", () => {});
    copyFileSync(join(PROJECT_DIR, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
    const file = join(project, "Pulumi.staging.yaml");
    const before = readFileSync(file, "utf8");
    expect((await run(project)).code).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(before);
    expect((await run(project, "--write-config")).code).toBe(0);
    const after = parse(readFileSync(file, "utf8")).config;
    const expected = parse(before).config;
    expected["lazarus:goodgo"].recovery = { host: { label: "r1", backup: "latest" } };
    expect(after).toEqual(expected);
  });
});

describe("lazarus dr rebuild: an existing server", () => {
  it("replaces the platform's file writers, script copy, preflight and prepare (and nothing else) so they run again", async () => {
    const { copyFileSync } = await import("node:fs");
    const { patchedProject } = await import("../support/stacks");
    const project = patchedProject("staging", (c) => {
      c["lazarus:goodgo"].host = { existing: { address: "10.0.0.5", user: "root", port: 22 } };
      c["lazarus:goodgo"].backups.offsite.existing = true;
    });
    copyFileSync(join(PROJECT_DIR, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
    const base = "urn:pulumi:staging::lazarus::lazarus:platform:GoodGo$lazarus:host:ComposeDeployment$";
    const state = [
      `${base}lazarus:host:HostSoftware$command:remote:CopyToRemote::goodgo-staging-software-scripts`,
      `${base}lazarus:host:HostSoftware$command:remote:Command::goodgo-staging-software-preflight`,
      `${base}lazarus:host:HostSoftware$command:remote:Command::goodgo-staging-software-file-srv-goodgo-env`,
      `${base}command:remote:Command::goodgo-staging-prepare`,
      `${base}command:remote:Command::goodgo-staging-compose-up`,
      `${base}command:remote:Command::goodgo-staging-op-restart-api`,
      `urn:pulumi:staging::lazarus::lazarus:platform:Bunty$command:remote:Command::bunty-staging-software-file-etc-bunty-env`,
    ];
    let replaced: string[] | undefined;
    const fake = fakeEngine({ up: async () => {} });
    const deps = { ...fake.deps! };
    const open = deps.openEngine!;
    deps.openEngine = async (o) => {
      const e = await open(o);
      return {
        ...e,
        urns: async () => state,
        up: async (onEvent, options) => {
          replaced = options?.replace;
          return e.up(onEvent, options);
        },
      };
    };
    const backend = mkdtempSync(join(tmpdir(), "lazarus-dr-state-"));
    const r = await runDrCli(["dr", "rebuild", "--stack", "staging", "--platform", "goodgo", "--label", "r1", "--skip-health", "--backend-dir", backend, "--report-dir", mkdtempSync(join(tmpdir(), "r-")), "--project-dir", project, "--json"], deps);
    expect(r.code, r.stderr).toBe(0);
    expect(replaced).toEqual(state.slice(0, 4));
    expect(JSON.parse(r.stdout).notes.join("\n")).toContain("replaced so their steps run again (goodgo: the server is the same address");
  });
});

describe("lazarus dr rebuild: the state backend and the secrets provider", () => {
  const AWS = { AWS_ACCESS_KEY_ID: "AKIASENTINELKEYID0001", AWS_SECRET_ACCESS_KEY: "SENTINEL-aws-secret-4f1e9a" };
  /** A copy of the project whose Pulumi.staging.yaml starts with `head` (secretsprovider:, encryptionsalt:, ...). */
  async function projectWith(head: string): Promise<string> {
    const { copyFileSync, writeFileSync } = await import("node:fs");
    const { patchedProject } = await import("../support/stacks");
    const project = patchedProject("staging", () => {});
    copyFileSync(join(PROJECT_DIR, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
    const file = join(project, "Pulumi.staging.yaml");
    writeFileSync(file, head + readFileSync(file, "utf8"));
    return project;
  }
  const run = (fake: Fake, env: NodeJS.ProcessEnv, project: string, ...args: string[]) => {
    const reportDir = mkdtempSync(join(tmpdir(), "lazarus-dr-report-"));
    return runDrCli(["dr", "rebuild", "--stack", "staging", "--platform", "goodgo", "--label", "r1", "--skip-health", "--report-dir", reportDir, "--project-dir", project, ...args], { ...fake.deps, env }).then((r) => {
      const written = readdirSync(reportDir).map((f) => readFileSync(join(reportDir, f), "utf8"));
      return { ...r, written };
    });
  };

  it("--backend-url and --backend-dir together: refused (exit 2) naming both with an example, nothing opened", async () => {
    const fake = fakeEngine();
    const r = await run(fake, { PULUMI_CONFIG_PASSPHRASE: "test" }, PROJECT_DIR, "--backend-url", "s3://state", "--backend-dir", tmpdir());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --backend-url and --backend-dir: both given; .*\(example: --backend-url file:\/\/\/var\/lib\/pulumi-state, or --backend-dir \/var\/lib\/pulumi-state\)\n$/);
    expect(fake.calls).toEqual([]);
  });

  it.each([
    ["not a url", /--backend-url "not a url": is not a URL \(examples: --backend-url 's3:\/\/my-state\?endpoint=/],
    ["ftp://host/state", /--backend-url "ftp:\/\/host\/state": ftp:\/\/ is not a state backend the engine knows/],
    ["s3://?region=us-east-1", /--backend-url "s3:\/\/\?region=\*\*\*": names no bucket/],
    // Credentials in a refused URL are not echoed.
    ["ftp://oncall:hunter2@host/state?sig=hunter2", /--backend-url "ftp:\/\/\*\*\*@host\/state\?sig=\*\*\*": ftp:\/\/ is not/],
  ])("--backend-url %j: refused (exit 2) before any engine opens", async (url, message) => {
    const fake = fakeEngine();
    const r = await run(fake, { PULUMI_CONFIG_PASSPHRASE: "test" }, PROJECT_DIR, "--backend-url", url);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain("hunter2");
    expect(fake.calls).toEqual([]);
  });

  it("PULUMI_BACKEND_URL=s3://... is the backend when no flag names one; the cloud credentials reach the engine untouched and appear in no output or report", async () => {
    const fake = fakeEngine({ up: async () => {} });
    const url = "s3://lazarus-state?endpoint=https://fra1.digitaloceanspaces.com&region=us-east-1";
    const r = await run(fake, { PULUMI_BACKEND_URL: url, PULUMI_CONFIG_PASSPHRASE: "test", ...AWS, PULUMI_ACCESS_TOKEN: "pul-SENTINEL-token-77", HOME: "/home/oncall" }, PROJECT_DIR, "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(fake.opened).toEqual([expect.objectContaining({ backendUrl: url, passphrase: "test", env: { ...AWS, PULUMI_ACCESS_TOKEN: "pul-SENTINEL-token-77" } })]);
    expect(JSON.parse(r.stdout).notes[0]).toBe("state backend: s3://lazarus-state (endpoint https://fra1.digitaloceanspaces.com); secrets provider: passphrase");
    for (const text of [r.stdout, r.stderr, fake.progress(), ...r.written]) {
      for (const secret of [...Object.values(AWS), "pul-SENTINEL-token-77"]) expect(text).not.toContain(secret);
    }
    expect(r.written).toHaveLength(2);
  });

  it("--backend-url wins over PULUMI_BACKEND_URL; --backend-dir is file://<absolute dir>", async () => {
    const fake = fakeEngine({ up: async () => {} });
    const env = { PULUMI_BACKEND_URL: "s3://other", PULUMI_CONFIG_PASSPHRASE: "test" };
    expect((await run(fake, env, PROJECT_DIR, "--backend-url", "gs://lazarus-state/prod")).code).toBe(0);
    expect((await run(fake, env, PROJECT_DIR, "--backend-dir", "relative/state")).code).toBe(0);
    expect(fake.opened.map((o) => o.backendUrl)).toEqual(["gs://lazarus-state/prod", `file://${join(process.cwd(), "relative/state")}`]);
  });

  it("a stack with secretsprovider: awskms://... needs no passphrase: the engine opens without one", async () => {
    const project = await projectWith("secretsprovider: awskms://alias/lazarus-prod?region=eu-central-1\nencryptedkey: AQICAHhSENTINEL\n");
    const fake = fakeEngine({ up: async () => {} });
    const r = await run(fake, { PULUMI_BACKEND_URL: "s3://lazarus-state", ...AWS }, project, "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(fake.opened[0].passphrase).toBeUndefined();
    expect(fake.opened[0].env).toEqual(AWS);
    expect(JSON.parse(r.stdout).notes[0]).toBe("state backend: s3://lazarus-state; secrets provider: awskms://alias/lazarus-prod");
  });

  it("a stack with encryptionsalt: and no passphrase: refused (exit 2) naming both variables, nothing opened", async () => {
    const project = await projectWith("encryptionsalt: v1:SENTINELsalt=:v1:abc:def\n");
    const fake = fakeEngine();
    const r = await run(fake, { PULUMI_BACKEND_URL: "s3://lazarus-state", ...AWS }, project);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/PULUMI_CONFIG_PASSPHRASE: not set \(nor PULUMI_CONFIG_PASSPHRASE_FILE\); Pulumi.staging.yaml's secrets are passphrase-encrypted \(it has an encryptionsalt:\)/);
    expect(fake.calls).toEqual([]);
  });

  it("PULUMI_CONFIG_PASSPHRASE_FILE is honoured (handed to the engine, which reads it); an unreadable one is refused", async () => {
    const { writeFileSync } = await import("node:fs");
    const project = await projectWith("encryptionsalt: v1:SENTINELsalt=:v1:abc:def\n");
    const phraseFile = join(mkdtempSync(join(tmpdir(), "lazarus-phrase-")), "phrase");
    writeFileSync(phraseFile, "SENTINEL-passphrase\n");
    const fake = fakeEngine({ up: async () => {} });
    expect((await run(fake, { PULUMI_BACKEND_URL: "s3://lazarus-state", PULUMI_CONFIG_PASSPHRASE_FILE: phraseFile }, project)).code).toBe(0);
    expect(fake.opened[0]).toMatchObject({ passphrase: undefined, env: { PULUMI_CONFIG_PASSPHRASE_FILE: phraseFile } });
    const missing = await run(fakeEngine(), { PULUMI_BACKEND_URL: "s3://lazarus-state", PULUMI_CONFIG_PASSPHRASE_FILE: `${phraseFile}.gone` }, project);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/PULUMI_CONFIG_PASSPHRASE_FILE ".*phrase\.gone": cannot be read/);
  });

  it("Pulumi Cloud's secrets (an https:// backend, no secretsprovider:) need PULUMI_ACCESS_TOKEN, not a passphrase", async () => {
    const fake = fakeEngine({ up: async () => {} });
    const without = await run(fake, {}, PROJECT_DIR, "--backend-url", "https://api.pulumi.com");
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/PULUMI_ACCESS_TOKEN: not set; .*a `pulumi login` does not carry over/);
    expect(fake.calls).toEqual([]);
    const withToken = await run(fake, { PULUMI_ACCESS_TOKEN: "pul-SENTINEL-token-77" }, PROJECT_DIR, "--backend-url", "https://api.pulumi.com");
    expect(withToken.code, withToken.stderr).toBe(0);
    expect(fake.opened[0]).toMatchObject({ backendUrl: "https://api.pulumi.com", passphrase: undefined, env: { PULUMI_ACCESS_TOKEN: "pul-SENTINEL-token-77" } });
    expect(withToken.written.join("")).not.toContain("pul-SENTINEL-token-77");
  });

  it("--help names --backend-url, its default and when a passphrase is needed", async () => {
    const r = await runDrCli(["dr", "rebuild", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--backend-url <url>\s+the stack's state backend/);
    expect(r.stdout).toMatch(/default:\s+PULUMI_BACKEND_URL; never ~\/\.pulumi/);
    expect(r.stdout).toContain("PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) is needed only when");
  });
});
