// Every App Platform API call GIV's command resources make (rollback with its validation, commit and revert of a pinned
// rollback, forced redeploy), run as bash would run them, with the bearer header on stdin, against the loopback stand-in
// of the DigitalOcean API (test/support/digitaloceanApiStub.ts), which checks method, path, JSON body, content type and
// token, and refuses like the API: 401 for a wrong token, 404 for an unknown app or deployment, 400 for a body that is
// not JSON, 422 for another body. The calls are the ones the plan makes from the real stack files (planGiv), each turned
// into its command line by the same function declare uses (givApiCommand), with only the API base pointed at the stand-in.
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { bearerHeader } from "../../../lib/digitaloceanApi";
import { giv } from "../../../stacks/giv";
import { givApiCommand } from "../../../stacks/giv/declare";
import { planGiv, type GivApiCall } from "../../../stacks/giv/plan";
import { startDigitaloceanApiStub, type DigitaloceanApiStub, type ExpectedCall } from "../../support/digitaloceanApiStub";
import { loadStackConfig } from "../../../config/load";
import { rawStack, stackPlatformConfig } from "../../support/stacks";
import { runCommandText as run } from "../../support/commandText";

const APP = "fb06ad00-351f-45c8-b5eb-13523c438661";
const GOOD = "3aa4d20e-5527-4c00-b496-601fbd22520a";
const UNKNOWN = "0bad0bad-0000-4000-8000-000000000000";
const TOKEN = "dop_v1_test-only-giv-0123456789abcdef";

let stub: DigitaloceanApiStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});


/** The planned API calls of the real staging stack file with the given switches and operations set. */
function plannedCalls(patch: (giv: Record<string, any>) => void, stack = "staging"): GivApiCall[] {
  const raw = rawStack(stack, { patch: (c) => patch(c["lazarus:giv"]) });
  const loaded = loadStackConfig(raw, { allowMissingSecrets: true });
  const cfg = stackPlatformConfig(stack, giv, { patch: (c) => patch(c["lazarus:giv"]) });
  return planGiv(cfg, { stack, stackFile: `Pulumi.${stack}.yaml`, environment: loaded.environment }).apiCalls;
}

/** The API's rollback refusal for a deployment the app does not have (the API documents 404 for rollback). */
const knownDeployment = (body: unknown) =>
  (body as { deployment_id?: string }).deployment_id === GOOD ? undefined : { status: 404, id: "not_found", message: "deployment not found" };

const validate = (response = '{"valid": true, "warnings": [{"code": "image_source_missing_digest", "components": ["api"], "message": "one or more components are missing an image digest"}]}'): ExpectedCall => ({
  method: "POST", path: `/v2/apps/${APP}/rollback/validate`, json: { deployment_id: GOOD }, token: TOKEN, status: 200, response, refuse: knownDeployment,
});
const rollback = (skipPin: boolean): ExpectedCall => ({
  method: "POST", path: `/v2/apps/${APP}/rollback`, json: { deployment_id: GOOD, skip_pin: skipPin }, token: TOKEN, status: 200, response: '{"deployment": {"id": "new"}}', refuse: knownDeployment,
});

describe("recovery.rollback", () => {
  const withRollback = (deploymentId: string, pin?: boolean) => (g: Record<string, any>) => (g.recovery = { rollback: { deploymentId, reason: "5xx after v3.3.0-rc.1", ...(pin === undefined ? {} : { pin }) } });

  it("validates, then rolls back pinned: two POSTs with the JSON bodies the API documents and the bearer token", async () => {
    const [call] = plannedCalls(withRollback(GOOD));
    stub = await startDigitaloceanApiStub([validate(), rollback(false)]);
    const text = givApiCommand(call.call, APP, stub.url);
    expect(text).not.toContain(TOKEN);
    const r = await run(text, bearerHeader(TOKEN));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`rolled back to deployment ${GOOD} (pinned until committed or reverted)`);
    // The warning the preview shows, and the API's own warning about tags, reach the log.
    expect(r.stderr).toContain("rolling back replaces the live deployment");
    expect(r.stderr).toContain("image_source_missing_digest");
    expect(stub.calls.map((c) => [c.method, c.path, JSON.parse(c.body), c.authorization, c.answered])).toEqual([
      ["POST", `/v2/apps/${APP}/rollback/validate`, { deployment_id: GOOD }, `Bearer ${TOKEN}`, 200],
      ["POST", `/v2/apps/${APP}/rollback`, { deployment_id: GOOD, skip_pin: false }, `Bearer ${TOKEN}`, 200],
    ]);
  });

  it("pin: false sends skip_pin true", async () => {
    const [call] = plannedCalls(withRollback(GOOD, false));
    stub = await startDigitaloceanApiStub([validate(), rollback(true)]);
    const r = await run(givApiCommand(call.call, APP, stub.url), bearerHeader(TOKEN));
    expect(r.status, r.stderr).toBe(0);
    expect(stub.calls.map((c) => c.answered)).toEqual([200, 200]);
  });

  it("stops before rolling back when the API says the rollback is not valid", async () => {
    const [call] = plannedCalls(withRollback(GOOD));
    stub = await startDigitaloceanApiStub([validate('{"valid": false, "error": {"code": "incompatible_result", "message": "deployment result \\"failed\\" is unsuitable for rollback"}}'), rollback(false)]);
    const r = await run(givApiCommand(call.call, APP, stub.url), bearerHeader(TOKEN));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`the API refuses the rollback to ${GOOD}`);
    expect(r.stderr).toContain("incompatible_result");
    expect(stub.calls.map((c) => c.path)).toEqual([`/v2/apps/${APP}/rollback/validate`]);
  });

  it("fails on a deployment the app does not have (404), a wrong token (401) and another app (404), calling nothing further", async () => {
    const [unknown] = plannedCalls(withRollback(UNKNOWN));
    stub = await startDigitaloceanApiStub([validate(), rollback(false)]);
    const r1 = await run(givApiCommand(unknown.call, APP, stub.url), bearerHeader(TOKEN));
    expect(r1.status).not.toBe(0);
    expect(r1.stderr).toContain("rollback validation failed: HTTP 404");
    const [good] = plannedCalls(withRollback(GOOD));
    const r2 = await run(givApiCommand(good.call, APP, stub.url), bearerHeader("dop_v1_wrong"));
    expect(r2.stderr).toContain("rollback validation failed: HTTP 401");
    const r3 = await run(givApiCommand(good.call, "6a0e1f2e-0000-4000-8000-000000000000", stub.url), bearerHeader(TOKEN));
    expect(r3.stderr).toContain("rollback validation failed: HTTP 404");
    expect(stub.calls.map((c) => c.answered)).toEqual([404, 401, 404]);
  });

  it("fails, saying so, when the API cannot be reached", async () => {
    stub = await startDigitaloceanApiStub([]);
    const closed = stub.url;
    await stub.close();
    stub = undefined;
    const r = await run(givApiCommand({ kind: "rollback", deploymentId: GOOD, pin: true, warning: "w" }, APP, closed), bearerHeader(TOKEN));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/curl: \(7\)/);
    expect(r.stdout).not.toContain("rolled back");
  });

  it("the stand-in refuses what the API refuses: a body that is not JSON, or JSON not sent as application/json", async () => {
    stub = await startDigitaloceanApiStub([validate()]);
    const url = `${stub.url}/v2/apps/${APP}/rollback/validate`;
    const notJson = await run(`curl -sS -o /dev/null -w '%{http_code}' -X POST -H @- -H 'Content-Type: application/json' --data-binary '{deployment_id:' ${url}`, bearerHeader(TOKEN));
    const form = await run(`curl -sS -o /dev/null -w '%{http_code}' -X POST -H @- --data-binary '{"deployment_id": "${GOOD}"}' ${url}`, bearerHeader(TOKEN));
    expect([notJson.stdout, form.stdout]).toEqual(["400", "400"]);
  });

  it("refuses a deployment id that is not a UUID before anything runs", () => {
    expect(() => givApiCommand({ kind: "rollback", deploymentId: "../../account", pin: true, warning: "w" }, APP)).toThrow(/deploymentId/);
    expect(() => givApiCommand({ kind: "redeploy", forceBuild: true }, "app/../x")).toThrow(/appId/);
  });
});

describe("operations", () => {
  it("commit-rollback and revert-rollback POST to their paths with no body", async () => {
    const calls = plannedCalls((g) => {
      g.recovery = { rollback: { deploymentId: GOOD, reason: "bad release" } };
      g.operations = [{ id: "2026-12-01-commit", action: "commit-rollback" }, { id: "2026-12-01-revert", action: "revert-rollback" }];
    });
    expect(calls.map((c) => c.id)).toEqual([`rollback-${GOOD.slice(0, 8)}`, "op-2026-12-01-commit", "op-2026-12-01-revert"]);
    stub = await startDigitaloceanApiStub([
      { method: "POST", path: `/v2/apps/${APP}/rollback/commit`, body: "", token: TOKEN, status: 200 },
      { method: "POST", path: `/v2/apps/${APP}/rollback/revert`, body: "", token: TOKEN, status: 200 },
    ]);
    const commit = await run(givApiCommand(calls[1].call, APP, stub.url), bearerHeader(TOKEN));
    const revert = await run(givApiCommand(calls[2].call, APP, stub.url), bearerHeader(TOKEN));
    expect([commit.status, revert.status], commit.stderr + revert.stderr).toEqual([0, 0]);
    expect(commit.stdout).toContain("rollback committed");
    expect(revert.stdout).toContain("rollback reverted");
    expect(stub.calls.map((c) => [c.path, c.body, c.answered])).toEqual([
      [`/v2/apps/${APP}/rollback/commit`, "", 200],
      [`/v2/apps/${APP}/rollback/revert`, "", 200],
    ]);
  });

  it("redeploy creates a deployment with force_build as the seed's curl does, and fails on any status but 200", async () => {
    const [forced, cached] = plannedCalls((g) => (g.operations = [{ id: "2026-12-01-rebuild", action: "redeploy" }, { id: "2026-12-01-cached", action: "redeploy", forceBuild: false }]));
    stub = await startDigitaloceanApiStub([{ method: "POST", path: `/v2/apps/${APP}/deployments`, json: { force_build: true }, token: TOKEN, status: 200, response: '{"deployment": {"id": "b6bdf840-2854-4f87-a36c-5f231c617c84", "spec": {"envs": [{"key": "JWT_SECRET", "type": "SECRET", "value": "EV[1:abc:def]"}]}}}' }]);
    const ok = await run(givApiCommand(forced.call, APP, stub.url), bearerHeader(TOKEN));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe("deployment created (forced rebuild): b6bdf840-2854-4f87-a36c-5f231c617c84");
    expect(ok.stdout + ok.stderr).not.toContain("EV[");
    // force_build false is another body: the stand-in (expecting true) refuses it as the API would refuse a wrong one.
    const other = await run(givApiCommand(cached.call, APP, stub.url), bearerHeader(TOKEN));
    expect(other.stderr).toContain("deployment failed: HTTP 422");
    expect(stub.calls.map((c) => [c.method, JSON.parse(c.body), c.authorization, c.answered])).toEqual([
      ["POST", { force_build: true }, `Bearer ${TOKEN}`, 200],
      ["POST", { force_build: false }, `Bearer ${TOKEN}`, 422],
    ]);
  });

  it("check-status GETs the app and prints its deployments, never its variables; fails when nothing is active", async () => {
    const [call] = plannedCalls((g) => (g.operations = [{ id: "2026-12-01-status", action: "check-status" }]));
    const app = (extra: Record<string, unknown>) =>
      JSON.stringify({
        app: {
          id: APP,
          live_url: "https://giving.kro.example.org",
          spec: { name: "krogiving-staging", maintenance: { enabled: true }, envs: [{ key: "JWT_SECRET", type: "SECRET", value: "EV[1:secret-blob]" }] },
          in_progress_deployment: { id: "b6bdf840-2854-4f87-a36c-5f231c617c84", phase: "BUILDING", cause: "manual", updated_at: "2026-12-01T07:00:00Z" },
          ...extra,
        },
      });
    stub = await startDigitaloceanApiStub([
      { method: "GET", path: `/v2/apps/${APP}`, body: "", token: TOKEN, status: 200, response: app({ active_deployment: { id: GOOD, phase: "ACTIVE", cause: "commit 1a2b3c", updated_at: "2026-11-30T10:00:00Z" } }) },
      { method: "GET", path: "/v2/apps/6a0e1f2e-0000-4000-8000-000000000000", body: "", token: TOKEN, status: 200, response: app({}) },
    ]);
    const r = await run(givApiCommand(call.call, APP, stub.url), bearerHeader(TOKEN));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "app krogiving-staging: https://giving.kro.example.org; maintenance ON",
      `active deployment: ${GOOD} ACTIVE (commit 1a2b3c, 2026-11-30T10:00:00Z)`,
      "in progress: b6bdf840-2854-4f87-a36c-5f231c617c84 BUILDING (manual, 2026-12-01T07:00:00Z)",
      "pinned (rollback): none",
    ]);
    expect(r.stdout + r.stderr).not.toContain("EV[");
    const none = await run(givApiCommand(call.call, "6a0e1f2e-0000-4000-8000-000000000000", stub.url), bearerHeader(TOKEN));
    expect(none.status).not.toBe(0);
    expect(none.stdout).toContain("active deployment: none");
    expect(stub.calls.map((c) => [c.method, c.body, c.authorization, c.answered])).toEqual([
      ["GET", "", `Bearer ${TOKEN}`, 200],
      ["GET", "", `Bearer ${TOKEN}`, 200],
    ]);
  });

  it("the token never appears in a command line: each call reads it from stdin once", () => {
    const text = givApiCommand({ kind: "rollback", deploymentId: GOOD, pin: true, warning: "w" }, APP);
    expect(text.match(/\$\(cat\)/g)).toHaveLength(1);
    expect(text).toMatch(/printf '%s\\n' "\$auth" \| curl /);
  });

  it("every command line passes shellcheck", () => {
    const texts = [
      givApiCommand({ kind: "rollback", deploymentId: GOOD, pin: true, warning: "it's irreversible" }, APP),
      givApiCommand({ kind: "rollback-end", end: "commit" }, APP),
      givApiCommand({ kind: "rollback-end", end: "revert" }, APP),
      givApiCommand({ kind: "redeploy", forceBuild: true }, APP),
      givApiCommand({ kind: "status" }, APP),
    ];
    for (const t of texts) {
      const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: t, encoding: "utf8" });
      expect(r.status, `${t}\n${r.stdout}`).toBe(0);
    }
  });
});
