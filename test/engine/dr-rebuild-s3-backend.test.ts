// `lazarus dr rebuild --backend-url s3://...` on the real engine, the stack's state in a bucket (issue 13): the engine test
// stack (test/engine/goodgoStack.ts: GoodGo on an existing server, the loopback sshd of test/support/planOverSsh.ts,
// fake-docker) is brought up with its state in a bucket of the S3 stand-in (test/support/s3StubProcess.ts, in its own
// process, over HTTPS with its own CA, as Spaces is reached), through Pulumi's DIY backend (gocloud.dev s3blob, AWS SDK
// v2) with nothing but PULUMI_BACKEND_URL (no `pulumi login`), then the host is lost and the CLI rebuilds it against
// that bucket: the state it reads and the updates it writes (refresh, up) are the bucket's objects, listed with the real
// s3cmd; no file backend is used; the key pair reaches the engine from the CLI's environment (the stand-in verifies every
// request's SigV4 signature with it) and no credential is in the output or the report.
// Not run here: the recovery chain past its first steps (the host's database, backups and off-site copy are not set up,
// test/engine/dr-rebuild.test.ts runs the whole chain on a file backend), so the up stops at a chain step (exit 5);
// what matters here is that refresh, preview and the up ran against the bucket.
// What the stand-in cannot check against Spaces: see the header of test/support/s3Stub.ts (no buckets to create, no
// ACLs, no eventual listing); the backend URL's endpoint/region/path-style parameters are what Spaces takes too.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenEngineOptions } from "../../cli/dr/engine";
import { openRealEngine } from "../../cli/dr/engine";
import { runDrCli } from "../../cli/dr/main";
import type { DrReport } from "../../lib/dr/report";
import { startPlanHost, type PlanHost } from "../support/planOverSsh";
import { startS3StubProcess, type S3StubProcess } from "../support/s3StubProcess";
import { engineGate } from "./engineGate";
import { ENGINE_STACK, GOODGO_SANDBOXED, goodgoOnHostConfig, goodgoSecrets, openGoodgoStack, type GoodgoEngineStack } from "./goodgoStack";

const gate = engineGate({ command: true });
const PASSPHRASE = "lazarus-engine-test";
const BUCKET = "lazarus-state";
const ACCESS_KEY = "AKIASENTINELSTATE0001";
const SECRET_KEY = "SENTINEL-state-secret-9c4d2e";

if (gate.mustFail) {
  describe("engine: lazarus dr rebuild on an S3 state backend", () => {
    it("has the engine installed (CI builds it with tools/build-engine.sh)", () => {
      throw new Error(gate.reason);
    });
  });
} else {
  describe.skipIf(!gate.run)(`engine: lazarus dr rebuild with the stack's state in an S3 bucket${gate.reason ? ` (${gate.reason})` : ""}`, () => {
    let s3: S3StubProcess;
    let host: PlanHost;
    let goodgo: GoodgoEngineStack;
    let side: string;
    let backendUrl: string;
    /** The engine's environment for the bucket: the key pair, the stand-in's CA, no ~/.aws, no instance metadata. */
    let awsEnv: Record<string, string>;
    let s3cfg: string;

    const s3cmd = (...args: string[]) => {
      const r = spawnSync("s3cmd", ["-c", s3cfg, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
      if (r.status !== 0) throw new Error(`s3cmd ${args.join(" ")}: ${r.error?.message ?? ""} ${r.stderr}`);
      return r.stdout;
    };
    /** The bucket's keys, as the real s3cmd lists them. */
    const bucketKeys = () =>
      s3cmd("ls", "-r", `s3://${BUCKET}/`)
        .split("\n")
        .filter(Boolean)
        .map((l) => l.slice(l.indexOf(`s3://${BUCKET}/`) + `s3://${BUCKET}/`.length));
    const stateInBucket = () => JSON.parse(s3cmd("get", "--no-progress", `s3://${BUCKET}/.pulumi/stacks/lazarus/${ENGINE_STACK}.json`, "-")) as { checkpoint: { latest: { resources?: { urn: string }[] } } };
    const history = () => bucketKeys().filter((k) => k.startsWith(`.pulumi/history/lazarus/${ENGINE_STACK}/`) && k.endsWith(".history.json"));

    beforeAll(async () => {
      side = mkdtempSync(join(tmpdir(), "lazarus-engine-dr-s3-"));
      const stubKeys = { accessKey: ACCESS_KEY, secretKey: SECRET_KEY };
      s3 = await startS3StubProcess(stubKeys);
      // gocloud.dev s3blob's URL parameters (v0.46, Pulumi v3.274.1): endpoint, region, use_path_style; Pulumi adds
      // request_checksum_calculation=when_required itself when an endpoint is set; response validation likewise here.
      backendUrl = `s3://${BUCKET}?endpoint=https://${s3.host}:${s3.port}&region=us-east-1&use_path_style=true&response_checksum_validation=when_required`;
      awsEnv = {
        AWS_ACCESS_KEY_ID: ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: SECRET_KEY,
        AWS_CONFIG_FILE: join(side, "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE: join(side, "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
        // the stand-in's self-signed CA, as the AWS SDK takes one (Go's SSL_CERT_FILE is not used by its client)
        AWS_CA_BUNDLE: s3.caFile,
      };
      s3cfg = join(side, "s3cfg");
      writeFileSync(
        s3cfg,
        `[default]\naccess_key = ${ACCESS_KEY}\nsecret_key = ${SECRET_KEY}\nhost_base = ${s3.host}:${s3.port}\nhost_bucket = ${s3.host}:${s3.port}\nuse_https = True\nca_certs_file = ${s3.caFile}\ncheck_ssl_certificate = True\nsignature_v2 = False\nbucket_location = us-east-1\n`,
      );
      host = await startPlanHost({ sandboxed: GOODGO_SANDBOXED });
      const deployDir = join(host.root, "srv", "goodgo");
      goodgo = await openGoodgoStack(goodgoOnHostConfig(host.ssh, deployDir), goodgoSecrets(readFileSync(host.ssh.keyFile, "utf8")), PASSPHRASE, { url: backendUrl, env: awsEnv });
      await goodgo.stack.up();
      // The loss: the deploy directory and the containers are gone.
      rmSync(deployDir, { recursive: true, force: true });
      writeFileSync(join(host.dockerHome, "state.txt"), "");
    }, 600_000);

    afterAll(async () => {
      await host?.stop();
      goodgo?.remove();
      s3?.close();
      if (side) rmSync(side, { recursive: true, force: true });
    });

    it("the up kept the stack's state in the bucket (a DIY backend with no login): its checkpoint, history and backups are objects there", () => {
      expect(goodgo.stack.fileBackendDir).toBeUndefined();
      expect(() => goodgo.stack.backendDir).toThrow(/not a file backend/);
      const keys = bucketKeys();
      expect(keys).toEqual(expect.arrayContaining([".pulumi/meta.yaml", `.pulumi/stacks/lazarus/${ENGINE_STACK}.json`, `.pulumi/stacks/lazarus/${ENGINE_STACK}.json.bak`]));
      expect(history().length).toBeGreaterThanOrEqual(1);
      expect(stateInBucket().checkpoint.latest.resources!.map((r) => r.urn)).toContainEqual(expect.stringMatching(/::goodgo-staging-compose-up$/));
    });

    it("lazarus dr rebuild --backend-url s3://... refreshes, previews and runs the up against the bucket, with no file backend and no credential in its output or report", async () => {
      const historyBefore = history().length;
      const started = Date.now();
      const opened: OpenEngineOptions[] = [];
      const reportDir = join(side, "reports");
      let progress = "";
      const r = await runDrCli(
        ["dr", "rebuild", "--stack", ENGINE_STACK, "--platform", "goodgo", "--label", "r1", "--project-dir", goodgo.projectDir, "--backend-url", backendUrl, "--report-dir", reportDir, "--skip-health"],
        {
          // The CLI's environment: no PULUMI_BACKEND_URL (the flag names the backend), the bucket's credentials.
          env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "PULUMI_BACKEND_URL")), ...awsEnv, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
          openEngine: (o) => {
            opened.push(o);
            return openRealEngine(o);
          },
          progress: (t) => void (progress += t),
          interactive: false,
        },
      );
      const report = JSON.parse(readFileSync(join(reportDir, `rebuild-${ENGINE_STACK}-r1.json`), "utf8")) as DrReport;
      const markdown = readFileSync(join(reportDir, `rebuild-${ENGINE_STACK}-r1.md`), "utf8");

      // The engine was opened on the bucket, with the key pair passed through untouched.
      expect(opened).toHaveLength(1);
      expect(opened[0]).toMatchObject({ backendUrl, passphrase: PASSPHRASE, env: expect.objectContaining({ AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY }) });
      expect(report.notes[0]).toBe(`state backend: s3://${BUCKET} (endpoint https://${s3.host}:${s3.port}); secrets provider: passphrase`);
      // Refresh and preview ran on the state in the bucket, then the up (the chain stops where this test set nothing up).
      expect(report.steps.filter((s) => s.key.startsWith("rebuild/")).map((s) => `${s.key} ${s.status}`), progress).toEqual(["rebuild/refresh ok", "rebuild/preview ok", "rebuild/up failed"]);
      expect(r.code, progress).toBe(5);
      expect(report.steps.find((s) => s.key === "goodgo/data-services")?.status).toBe("ok");
      expect(report.steps.filter((s) => s.key.startsWith("goodgo/") && s.status === "failed").map((s) => s.key), progress).toEqual(["goodgo/restore-route"]);

      // What they wrote is in the bucket: a history entry per update (refresh, up), and the recovery's resources in
      // the checkpoint.
      expect(history().length).toBeGreaterThanOrEqual(historyBefore + 2);
      expect(stateInBucket().checkpoint.latest.resources!.map((r) => r.urn)).toContainEqual(expect.stringMatching(/::goodgo-staging-recover-host-r1-data-services$/));
      // ... and nowhere on disk: no file backend under the project copy, the engine's PULUMI_HOME or ~/.pulumi.
      for (const dir of [goodgo.projectDir, gate.engine.present ? gate.engine.pulumiHome : "", join(homedir(), ".pulumi")]) {
        const file = join(dir, ".pulumi", "stacks", "lazarus", `${ENGINE_STACK}.json`);
        const direct = join(dir, "stacks", "lazarus", `${ENGINE_STACK}.json`);
        for (const f of [file, direct]) if (existsSync(f)) expect(statSync(f).mtimeMs, f).toBeLessThan(started);
      }

      for (const text of [r.stdout, r.stderr, progress, JSON.stringify(report), markdown]) {
        expect(text).not.toContain(SECRET_KEY);
        expect(text).not.toContain(ACCESS_KEY);
      }
    }, 900_000);
  });
}
