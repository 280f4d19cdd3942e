// The runbook's Database Failover ("Promote replica to primary, Update DATABASE_URL, Restart application") as the
// switch recovery.promoteReplica: the DigitalOcean API's promote call from a command resource (run here against a
// loopback stand-in that checks method, path, body and bearer token), DATABASE_URL moved to the promoted cluster,
// compose up after the call (which recreates the app with the new .env), irreversibility stated and confirmed on prod.
import { afterEach, describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import { bearerHeader, promoteReplicaCommand } from "../../../lib/digitaloceanApi";
import { PROMOTION_IS_IRREVERSIBLE } from "../../../stacks/dbis/config";
import { startDigitaloceanApiStub, type DigitaloceanApiStub } from "../../support/digitaloceanApiStub";
import { ALL_SENTINEL_SECRETS, T, byType, one, patchedProject, planFor } from "../../support/stacks";
import { runCommandText as runCommand } from "../../support/commandText";

const CLUSTER = "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30";
const TOKEN = "dop_v1_test-only-0123456789abcdef";
const PROMOTE_PATH = `/v2/databases/${CLUSTER}/replicas/dbis-prod-db-replica/promote`;
const promoting = (confirm?: string) => (c: Record<string, any>) => (c["lazarus:dbis"].recovery = { promoteReplica: confirm ? { confirm } : {} });

let stub: DigitaloceanApiStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});


describe("the promote call", () => {
  it("sends PUT with no body and the bearer token to the replica's promote path, and succeeds on 204", async () => {
    stub = await startDigitaloceanApiStub([{ method: "PUT", path: PROMOTE_PATH, body: "", token: TOKEN, status: 204 }]);
    const text = promoteReplicaCommand({ clusterId: CLUSTER, replicaName: "dbis-prod-db-replica", warning: "IRREVERSIBLE", apiBase: stub.url });
    expect(text).not.toContain(TOKEN);
    const r = await runCommand(text, bearerHeader(TOKEN));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("promoted dbis-prod-db-replica");
    expect(r.stderr).toContain("IRREVERSIBLE");
    expect(stub.calls).toEqual([{ method: "PUT", path: PROMOTE_PATH, body: "", authorization: `Bearer ${TOKEN}`, answered: 204 }]);
  });

  it("fails on a wrong token (401) and on a wrong replica (404), naming the status", async () => {
    stub = await startDigitaloceanApiStub([{ method: "PUT", path: PROMOTE_PATH, body: "", token: TOKEN, status: 204 }]);
    const wrongToken = await runCommand(promoteReplicaCommand({ clusterId: CLUSTER, replicaName: "dbis-prod-db-replica", warning: "w", apiBase: stub.url }), bearerHeader("dop_v1_other"));
    expect(wrongToken.status).not.toBe(0);
    expect(wrongToken.stderr).toContain("promote failed: HTTP 401");
    const wrongReplica = await runCommand(promoteReplicaCommand({ clusterId: CLUSTER, replicaName: "dbis-prod-db-replica-2", warning: "w", apiBase: stub.url }), bearerHeader(TOKEN));
    expect(wrongReplica.stderr).toContain("promote failed: HTTP 404");
    expect(stub.calls.map((c) => c.answered)).toEqual([401, 404]);
  });

  it("refuses ids that would change the path", () => {
    expect(() => promoteReplicaCommand({ clusterId: "../../account", replicaName: "r", warning: "w" })).toThrow(/clusterId/);
    expect(() => promoteReplicaCommand({ clusterId: CLUSTER, replicaName: "r/../x", warning: "w" })).toThrow(/replicaName/);
  });
});

describe("recovery.promoteReplica in the plan", () => {
  it("declares the call with the token as secret stdin, states the irreversibility in the command the preview shows, and runs compose up after it", async () => {
    const plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: promoting() });
    const promote = one(plan, "command:local:Command", "dbis-staging-db-replica-promote");
    expect(promote.inputs.stdin).toBe("[secret]");
    expect(String(promote.inputs.create)).toContain(PROMOTION_IS_IRREVERSIBLE);
    expect(String(promote.inputs.create)).toMatch(/curl -sS -X PUT -H @- .*https:\/\/api\.digitalocean\.com\/v2\/databases\/.+\/replicas\/dbis-staging-db-replica\/promote/);
    expect(String(promote.rawInputs.stdin)).toBe(bearerHeader(ALL_SENTINEL_SECRETS["lazarus:dbisDigitaloceanApiToken"]));
    expect(one(plan, T.command, "dbis-staging-compose-up").dependencies).toContain(promote.urn);
    // A later change of its inputs (a rotated token, a new cluster id) is an update: it must not call the API again.
    expect(String(promote.inputs.update)).not.toMatch(/curl|promote\b.*PUT/);
  });

  it("moves DATABASE_URL to the promoted replica: the .env changes, and with it compose up's trigger", async () => {
    const before = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
    const after = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: promoting() });
    const env = (p: typeof before) => String(byType(p, T.command).find((r) => r.name === "dbis-staging-software-file-opt-dbis-env")!.rawInputs.stdin);
    // The promoted replica's host is a provider output, unknown under the mock runtime: only the change is visible.
    expect(env(after)).not.toBe(env(before));
  });

  it("is confirmed on prod, with the irreversibility in the message", async () => {
    const r = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", promoting())]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Pulumi.prod.yaml: lazarus:dbis.recovery.promoteReplica.confirm: is missing: ${PROMOTION_IS_IRREVERSIBLE} on stack prod; to proceed set it to "prod/dbis/promote-replica"`);
    const ok = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", promoting("prod/dbis/promote-replica"))]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("prints the state commands for after the promotion: import the promoted node as a cluster, drop the replica resource by its URN", async () => {
    const plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: promoting() });
    const replica = one(plan, "digitalocean:index/databaseReplica:DatabaseReplica", "dbis-staging-db-replica");
    const after = (plan.outputs.dbis as { afterPromotion: { importPromotedCluster: string; dropReplicaFromState: string } }).afterPromotion;
    // The replica's uuid (the promoted cluster's id) is the provider's: the mock's placeholder names where it comes from.
    expect(after.importPromotedCluster).toBe("pulumi import --stack staging --protect digitalocean:index/databaseCluster:DatabaseCluster dbis-staging-db-replica-cluster <dbis-staging-db-replica.uuid>");
    expect(after.dropReplicaFromState).toBe(`pulumi state delete --stack staging --force '${replica.urn}'`);
    const without = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
    expect((without.outputs.dbis as Record<string, unknown>).afterPromotion).toBeUndefined();
  });

  it("needs the replica", async () => {
    const r = await runPlanCli(["--stack", "staging", "--project-dir", patchedProject("staging", (c) => {
      c["lazarus:dbis"].database.replica = { enabled: false };
      promoting()(c);
    })]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("lazarus:dbis.recovery.promoteReplica: needs the read replica, but database.replica.enabled is false");
  });
});
