// The runbook's Application Failover ("Deploy to secondary server, Update load balancer, Verify health checks"): a
// standby server with the same compose deployment (its containers created and stopped), and recovery.appFailover,
// which starts the app there, moves the traffic once the app is healthy, then issues the standby's certificate.
// Droplets: a load balancer in front of the active droplet (an update in place). Existing droplets: their reserved IP
// moved by the DigitalOcean API call, run here against the loopback stand-in (method, path, body, token checked).
// Under mocks with the real stack files; what the provider does with a load balancer cannot run here.
import { afterEach, describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import type { Plan } from "../../../cli/planner";
import { bearerHeader, reservedIpAssignCommand } from "../../../lib/digitaloceanApi";
import { checkPlan } from "../../../policy/rules";
import { APP_FAILOVER_MOVES_TRAFFIC } from "../../../stacks/dbis/config";
import { runCommandText as runCommand } from "../../support/commandText";
import { startDigitaloceanApiStub, type DigitaloceanApiStub } from "../../support/digitaloceanApiStub";
import { ALL_SENTINEL_SECRETS, T, byType, one, patchedProject, planFor, rawStack } from "../../support/stacks";

const TOKEN = "dop_v1_test-only-0123456789abcdef";
const IP = "203.0.113.10";
const ACTIONS = `/v2/reserved_ips/${IP}/actions`;
const LB = "digitalocean:index/loadBalancer:LoadBalancer";
const LOCAL_COMMAND = "command:local:Command";
type Patch = (c: Record<string, any>) => void;

let stub: DigitaloceanApiStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

const failover = (to: "standby" | "primary", confirm?: string): Patch => (c) => (c["lazarus:dbis"].recovery = { appFailover: { to, ...(confirm ? { confirm } : {}) } });
const existingServers: Patch = (c) => {
  const d = c["lazarus:dbis"];
  d.host = { existing: { address: "198.51.100.20" } };
  d.standby = { existing: { address: "198.51.100.21" } };
  d.appAddress = { reservedIp: IP, dropletIds: { primary: 412345678, standby: 412345679 } };
};
const both = (...patches: Patch[]): Patch => (c) => patches.forEach((p) => p(c));
const create = (plan: Plan, type: string, name: string) => String(one(plan, type, name).inputs.create);

describe("the reserved IP reassignment (existing droplets)", () => {
  const assign = (dropletId: number, status: string) => ({
    method: "POST",
    path: ACTIONS,
    json: { type: "assign", droplet_id: dropletId },
    token: TOKEN,
    status: 201,
    response: JSON.stringify({ action: { id: 68212728, status, type: "assign_ip", resource_id: 3164444, resource_type: "reserved_ip" } }),
  });

  it("POSTs the assign action with the droplet id and the bearer token, waits for it to complete, and says where the IP points", async () => {
    stub = await startDigitaloceanApiStub([
      assign(412345679, "in-progress"),
      { method: "GET", path: `${ACTIONS}/68212728`, body: "", token: TOKEN, status: 200, response: JSON.stringify({ action: { id: 68212728, status: "completed" } }) },
    ]);
    const text = reservedIpAssignCommand({ reservedIp: IP, dropletId: 412345679, warning: APP_FAILOVER_MOVES_TRAFFIC, apiBase: stub.url });
    expect(text).not.toContain(TOKEN);
    const r = await runCommand(text, bearerHeader(TOKEN));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`${IP} now points at droplet 412345679`);
    expect(r.stderr).toContain(APP_FAILOVER_MOVES_TRAFFIC);
    expect(stub.calls.map((c) => [c.method, c.path, c.authorization, c.answered])).toEqual([
      ["POST", ACTIONS, `Bearer ${TOKEN}`, 201],
      ["GET", `${ACTIONS}/68212728`, `Bearer ${TOKEN}`, 200],
    ]);
    expect(JSON.parse(stub.calls[0].body)).toEqual({ type: "assign", droplet_id: 412345679 });
  });

  it("fails on a wrong token (401), on another droplet than expected (422), and on an errored action", async () => {
    stub = await startDigitaloceanApiStub([assign(412345679, "errored")]);
    const run = (dropletId: number, token: string) => runCommand(reservedIpAssignCommand({ reservedIp: IP, dropletId, warning: "w", apiBase: stub!.url }), bearerHeader(token));
    const wrongToken = await run(412345679, "dop_v1_other");
    expect(wrongToken.status).not.toBe(0);
    expect(wrongToken.stderr).toContain("failed: HTTP 401");
    const wrongDroplet = await run(412345678, TOKEN);
    expect(wrongDroplet.status).not.toBe(0);
    expect(wrongDroplet.stderr).toContain("failed: HTTP 422");
    const errored = await run(412345679, TOKEN);
    expect(errored.status).not.toBe(0);
    expect(errored.stderr).toContain("errored (action 68212728)");
    expect(stub.calls.map((c) => c.answered)).toEqual([401, 422, 201]);
  });

  it("refuses an address or a droplet id that would change the request", () => {
    expect(() => reservedIpAssignCommand({ reservedIp: "203.0.113.10/../../account", dropletId: 1, warning: "w" })).toThrow(/reservedIp/);
    expect(() => reservedIpAssignCommand({ reservedIp: IP, dropletId: -1, warning: "w" })).toThrow(/dropletId/);
  });
});

describe("the standby server in the prod plan", () => {
  it("is a second droplet with the same files, its containers pulled, created and stopped, no certificate, admitted by the database", async () => {
    const prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
    expect(one(prod, T.droplet, "dbis-prod-standby").inputs).toMatchObject({ size: "s-2vcpu-4gb" });
    const files = (prefix: string) => byType(prod, T.command).filter((r) => r.name.startsWith(`${prefix}-software-file-`)).map((r) => r.name.slice(prefix.length));
    expect(files("dbis-prod-standby").sort()).toEqual(files("dbis-prod").filter((n) => !n.startsWith("-standby")).sort());
    expect(create(prod, T.command, "dbis-prod-standby-compose-up")).toBe(
      "set -eu; cd /opt/dbis; docker compose -f docker-compose.yml pull --quiet; docker compose -f docker-compose.yml up --no-start --remove-orphans; docker compose -f docker-compose.yml stop",
    );
    expect(create(prod, T.command, "dbis-prod-compose-up")).toContain("compose-up.sh");
    expect(byType(prod, T.command).filter((r) => /^dbis-prod-standby-(certificate|tls-)/.test(r.name))).toEqual([]);
    // One uptime check of the public name.
    expect(byType(prod, T.uptimeCheck).filter((r) => r.name.startsWith("dbis-")).map((r) => r.name)).toEqual(["dbis-prod-host-uptime"]);
    const rules = one(prod, T.dbFirewall, "dbis-prod-db-firewall").inputs.rules as { type: string }[];
    expect(rules.map((r) => r.type)).toEqual(["droplet", "droplet"]);
  });

  it("sits behind a protected load balancer passing 80 and 443 through to the primary, health-checked on 443", async () => {
    const prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
    const lb = one(prod, LB, "dbis-prod-app-lb");
    expect(lb.protect).toBe(true);
    expect(lb.inputs.forwardingRules).toEqual([80, 443].map((p) => ({ entryProtocol: "tcp", entryPort: p, targetProtocol: "tcp", targetPort: p })));
    expect(lb.inputs.healthcheck).toMatchObject({ protocol: "tcp", port: 443 });
    expect(lb.dependencies).toContain(one(prod, T.droplet, "dbis-prod-host").urn);
    expect(lb.dependencies).not.toContain(one(prod, T.droplet, "dbis-prod-standby").urn);
  });

  it("leaves the primary's steps, names and operations as they were without a standby", async () => {
    const withStandby = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
    const without = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => delete c["lazarus:dbis"].standby });
    const primarySteps = (p: Plan) =>
      byType(p, T.command)
        .filter((r) => r.name.startsWith("dbis-prod-") && !r.name.startsWith("dbis-prod-standby"))
        .map((r) => [r.urn, r.inputs.create]);
    expect(primarySteps(withStandby)).toEqual(primarySteps(without));
    expect(byType(without, LB).filter((r) => r.name.startsWith("dbis-"))).toEqual([]);
  });
});

describe("recovery.appFailover", () => {
  const ops: Patch = (c) => (c["lazarus:dbis"].operations = [{ id: "2026-11-23-status", action: "check-status" }]);

  it("to the standby (droplets): the standby's app comes up, then the load balancer moves to it, then its certificate is issued; operations follow without running again", async () => {
    const before = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: ops });
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: both(ops, failover("standby", "prod/dbis/app-failover")) });
    const up = one(plan, T.command, "dbis-prod-standby-compose-up");
    expect(String(up.inputs.create)).toContain("compose-up.sh");
    const lb = one(plan, LB, "dbis-prod-app-lb");
    expect(lb.dependencies).toContain(up.urn);
    expect(lb.dependencies).toContain(one(plan, T.droplet, "dbis-prod-standby").urn);
    expect(one(plan, T.command, "dbis-prod-standby-certificate").dependencies).toContain(lb.urn);
    // The primary is left as it was: it may be down, and an unchanged step never connects to it.
    expect(create(plan, T.command, "dbis-prod-compose-up")).toBe(create(before, T.command, "dbis-prod-compose-up"));
    // The operation moves to the standby with the same URN: an update, whose text is an echo, not a second run.
    const opBefore = one(before, T.command, "dbis-prod-op-2026-11-23-status");
    const opAfter = one(plan, T.command, "dbis-prod-op-2026-11-23-status");
    expect(opAfter.urn).toBe(opBefore.urn);
    expect(opAfter.dependencies).toContain(one(plan, T.command, "dbis-prod-standby-tls-activate").urn);
    expect(String(opAfter.inputs.update)).toMatch(/^echo /);
  });

  it("on existing droplets: the reserved IP call runs after the standby's app is up, with the token as secret stdin; a switch left in place does not call again", async () => {
    const plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: both(existingServers, failover("standby")) });
    const call = one(plan, LOCAL_COMMAND, "dbis-staging-app-failover");
    expect(call.inputs.stdin).toBe("[secret]");
    expect(String(call.rawInputs.stdin)).toBe(bearerHeader(ALL_SENTINEL_SECRETS["lazarus:dbisDigitaloceanApiToken"]));
    expect(String(call.inputs.create)).toContain(`https://api.digitalocean.com/v2/reserved_ips/${IP}/actions`);
    expect(String(call.inputs.create)).toContain('{"type":"assign","droplet_id":412345679}');
    // The warning the preview shows (shell-quoted in the text: its apostrophe is escaped).
    expect(String(call.inputs.create)).toContain(APP_FAILOVER_MOVES_TRAFFIC.split("server: ")[1]);
    expect(call.dependencies).toContain(one(plan, T.command, "dbis-staging-standby-compose-up").urn);
    expect(one(plan, T.command, "dbis-staging-standby-certificate").dependencies).toContain(call.urn);
    // Runs again only when `to` changes (a trigger, so a replace); any other change is an update, which only echoes.
    expect(call.inputs.triggers).toEqual(["standby"]);
    expect(String(call.inputs.update)).not.toMatch(/curl|reserved_ips/);
    expect(byType(plan, LB).filter((r) => r.name.startsWith("dbis-"))).toEqual([]);
  });

  it("back to the primary: the IP moves first, then the standby is stopped", async () => {
    const plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: both(existingServers, failover("primary")) });
    const call = one(plan, LOCAL_COMMAND, "dbis-staging-app-failover");
    expect(String(call.inputs.create)).toContain('"droplet_id":412345678');
    const standbyUp = one(plan, T.command, "dbis-staging-standby-compose-up");
    expect(String(standbyUp.inputs.create)).toMatch(/ stop$/);
    expect(standbyUp.dependencies).toContain(call.urn);
  });

  it("is confirmed on prod, by the stack file's check and by the policy pack", async () => {
    const r = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", failover("standby"))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Pulumi.prod.yaml: lazarus:dbis.recovery.appFailover.confirm: is missing: ${APP_FAILOVER_MOVES_TRAFFIC} on stack prod; to proceed set it to "prod/dbis/app-failover"`);
    const confirmed = both(existingServers, failover("standby", "prod/dbis/app-failover"));
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: confirmed });
    const policy = (patch: Patch) => checkPlan(plan, rawStack("prod", { patch })).filter((v) => v.policy === "destructive-confirmed").map((v) => v.message);
    expect(policy(confirmed)).toEqual([]);
    expect(policy(both(existingServers, failover("standby")))).toEqual([
      'dbis-prod-app-failover: moves the application\'s public address to another server (reserved IP reassignment) on stack prod without a confirmation in Pulumi.prod.yaml; its switch or operation needs confirm: "prod/dbis/app-failover"',
    ]);
  });

  it("refuses a failover without a standby, mixed placements, and existing servers without the address to move", async () => {
    const refused = async (patch: Patch) => {
      const r = await runPlanCli(["--stack", "staging", "--project-dir", patchedProject("staging", patch)]);
      expect(r.code).toBe(2);
      return r.stderr;
    };
    expect(await refused(failover("standby"))).toContain("lazarus:dbis.recovery.appFailover: needs a standby server, but standby is not set");
    expect(await refused((c) => (c["lazarus:dbis"].standby = { existing: { address: "198.51.100.21" } }))).toContain("lazarus:dbis.standby: is placed differently from host");
    expect(await refused(both(existingServers, (c) => delete c["lazarus:dbis"].appAddress))).toContain("lazarus:dbis.appAddress: is missing: with existing servers");
    expect(await refused(both(existingServers, (c) => (c["lazarus:dbis"].appAddress.reservedIp = "198.51.100.20")))).toContain("lazarus:dbis.appAddress.reservedIp: \"198.51.100.20\" is also a server's SSH address");
  });
});
