// KRO's recovery switches and runbook operations, as a preview would show them.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { ConfigError } from "../../../config/errors";
import { SENTINEL_SECRETS, T, byType, one, planFor } from "../../support/stacks";

const stateful = [T.cluster, T.db, T.dbUser, T.reservedIp, T.vpc, T.project] as string[];
const inputsOf = (plan: Plan, types: string[]) =>
  Object.fromEntries(plan.resources.filter((r) => types.includes(r.type)).map((r) => [r.urn, { inputs: r.inputs, protect: r.protect }]));
const productionJson = (plan: Plan, prefix = "kro-prod") =>
  JSON.parse(String(byType(plan, T.command).find((r) => r.name === `${prefix}-software-file-root-Kro-kro-devops-production-production-json`)!.rawInputs.stdin));

let base: Plan;
beforeAll(async () => {
  base = await planFor("prod", { secrets: SENTINEL_SECRETS });
});

const SNAPSHOT_LOOKUP = "digitalocean:index/getDropletSnapshot:getDropletSnapshot";

describe("rebuilding the host from a snapshot", () => {
  const rebuild = { fromSnapshot: "187654321", confirm: "prod/kro/rebuild-host" };
  let rebuilt: Plan;
  let done: Plan;
  beforeAll(async () => {
    rebuilt = await planFor("prod", { secrets: SENTINEL_SECRETS, patch: (c) => (c["lazarus:kro"].recovery = { host: rebuild }) });
    done = await planFor("prod", { secrets: SENTINEL_SECRETS, patch: (c) => (c["lazarus:kro"].recovery = { host: { fromSnapshot: "187654321", done: true } }) });
  });

  it("builds the droplet from the snapshot the switch names, without asking the cloud for any other", () => {
    expect(one(rebuilt, T.droplet, "kro-prod-host").inputs.image).toBe("187654321");
    expect(rebuilt.invokes.filter((i) => i.token === SNAPSHOT_LOOKUP)).toEqual([]);
  });

  it("replaces nothing stateful: clusters, database, user, reserved IP, VPC and project are unchanged and protected", () => {
    expect(inputsOf(rebuilt, stateful)).toEqual(inputsOf(base, stateful));
    expect(byType(rebuilt, T.cluster).every((r) => r.protect)).toBe(true);
  });

  it("lets the confirmed rebuild replace the droplet and moves the reserved IP to the new one", () => {
    expect(one(rebuilt, T.droplet, "kro-prod-host").protect).toBe(false);
    expect(one(base, T.droplet, "kro-prod-host").protect).toBe(true);
    const assignment = one(rebuilt, T.reservedIpAssignment, "kro-prod-host-ip-assignment");
    expect(assignment.replaceOnChanges).toContain("dropletId");
  });

  // Pulumi refuses to replace a resource protected in both the program and the state (its step generator checks
  // new.Protect && old.Protect; test/engine/protect.test.ts shows it under the engine), so with nothing in the droplet's
  // inputs that a new snapshot could change, no later up replaces it, and nothing keyed on its id (every host step)
  // runs again. The `done` up itself starts from an unprotected state, so there the image is not diffed at all.
  it("once done, protects the droplet again with exactly the inputs it was rebuilt with, and looks up no snapshot", () => {
    const droplet = one(done, T.droplet, "kro-prod-host");
    expect(droplet.protect).toBe(true);
    expect(droplet.rawInputs).toEqual(one(rebuilt, T.droplet, "kro-prod-host").rawInputs);
    expect(droplet.inputs.image).toBe("187654321");
    expect(droplet.ignoreChanges).toEqual(["userData", "image"]);
    expect(one(rebuilt, T.droplet, "kro-prod-host").ignoreChanges).toEqual(["userData"]);
    expect(done.invokes.filter((i) => i.token === SNAPSHOT_LOOKUP)).toEqual([]);
    const commands = (p: Plan) => Object.fromEntries(byType(p, T.command).map((c) => [c.name, [c.rawInputs, c.dependencies]]));
    expect(commands(done)).toEqual(commands(rebuilt));
  });

  it("refuses latest on prod: it would be looked up again by every up; the message says how to find and write the id", async () => {
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:kro"].recovery = { host: { ...rebuild, fromSnapshot: "latest" } }) }),
    ).rejects.toThrow(
      'Pulumi.prod.yaml: lazarus:kro.recovery.host.fromSnapshot: "latest" is looked up again by every pulumi up, so any later snapshot would replace the rebuilt droplet on stack prod; write the id of the snapshot to rebuild from, as listed by doctl compute snapshot list --resource droplet --format ID,Name,CreatedAt (example: fromSnapshot: "187654321")',
    );
  });

  it("refuses done with latest (anywhere) and done with a confirmation still set", async () => {
    await expect(
      planFor("staging", { patch: (c) => (c["lazarus:kro"].recovery = { host: { fromSnapshot: "latest", done: true } }) }),
    ).rejects.toThrow(/lazarus:kro\.recovery\.host\.fromSnapshot: "latest" is looked up again by every pulumi up, so any later snapshot would replace the rebuilt droplet; write the id/);
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:kro"].recovery = { host: { ...rebuild, done: true } }) }),
    ).rejects.toThrow("lazarus:kro.recovery.host.confirm: is set, but done: true says the rebuild is over and the droplet is protected again; remove confirm");
  });

  it("takes latest on an unprotected stack, looked up among the snapshots named after the host", async () => {
    const latest = await planFor("staging", { patch: (c) => (c["lazarus:kro"].recovery = { host: { fromSnapshot: "latest" } }) });
    expect(latest.invokes).toContainEqual({ token: SNAPSHOT_LOOKUP, args: { nameRegex: "^kro-staging-host", region: "ams3", mostRecent: true } });
  });

  it("is refused on prod without the confirmation value, naming the value", async () => {
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:kro"].recovery = { host: { fromSnapshot: "187654321" } }) }),
    ).rejects.toThrow(/lazarus:kro\.recovery\.host\.confirm: is missing: rebuilding the host replaces the live droplet on stack prod; to proceed set it to "prod\/kro\/rebuild-host"/);
  });
});

describe("restoring the database from a backup", () => {
  const restore = { label: "20261123", pointInTime: "2026-11-23T02:00:00Z" };
  let restored: Plan;
  beforeAll(async () => {
    restored = await planFor("prod", { secrets: SENTINEL_SECRETS, patch: (c) => (c["lazarus:kro"].recovery = { database: restore }) });
  });

  it("adds a new cluster restored from the live cluster's backup at the point in time", () => {
    const cluster = one(restored, T.cluster, "kro-prod-db-restore-20261123");
    expect(cluster.inputs).toMatchObject({
      name: "kro-prod-db-restore-20261123",
      engine: "pg",
      version: "16",
      backupRestore: { databaseName: "kro-prod-db", backupCreatedAt: "2026-11-23T02:00:00Z" },
    });
    expect(one(restored, T.dbFirewall, "kro-prod-db-restore-20261123-firewall").inputs.rules).toEqual(
      one(restored, T.dbFirewall, "kro-prod-db-firewall").inputs.rules,
    );
  });

  it("leaves the live cluster untouched, protected, and the application on it until cutover", () => {
    expect(inputsOf(restored, stateful)[one(base, T.cluster, "kro-prod-db").urn]).toEqual(inputsOf(base, stateful)[one(base, T.cluster, "kro-prod-db").urn]);
    expect(one(restored, T.cluster, "kro-prod-db").protect).toBe(true);
    expect(productionJson(restored).database.host).toBe("<kro-prod-db.privateHost>");
  });

  it("cuts the application over to the restored cluster with the second switch, keeping the live one declared", async () => {
    const cut = await planFor("prod", {
      secrets: SENTINEL_SECRETS,
      patch: (c) => (c["lazarus:kro"].recovery = { database: { ...restore, cutover: true, confirm: "prod/kro/database-cutover" } }),
    });
    expect(productionJson(cut).database.host).toBe("<kro-prod-db-restore-20261123.privateHost>");
    expect(one(cut, T.cluster, "kro-prod-db").protect).toBe(true);
    expect(one(cut, T.cluster, "kro-prod-db-restore-20261123").protect).toBe(true);
    expect((cut.outputs.kro as { database: { activeCluster: string } }).database.activeCluster).toBe("kro-prod-db-restore-20261123");
  });

  it("protects the restored cluster from the moment it is declared, before any cutover", () => {
    expect(one(restored, T.cluster, "kro-prod-db-restore-20261123").protect).toBe(true);
  });

  // A cluster the application has written to must never become deletable by flipping a switch back.
  it("reverting a cutover is a confirmed cutover back: the application returns to the live cluster, the restored one stays protected", async () => {
    const back = await planFor("prod", {
      secrets: SENTINEL_SECRETS,
      patch: (c) => (c["lazarus:kro"].recovery = { database: { ...restore, cutover: "back", confirm: "prod/kro/database-cutover-back" } }),
    });
    expect(productionJson(back).database.host).toBe("<kro-prod-db.privateHost>");
    expect(one(back, T.cluster, "kro-prod-db-restore-20261123").protect).toBe(true);
    expect(one(back, T.cluster, "kro-prod-db").protect).toBe(true);
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:kro"].recovery = { database: { ...restore, cutover: "back" } }) }),
    ).rejects.toThrow(
      /lazarus:kro\.recovery\.database\.confirm: is missing: cutting back points the application at the live cluster; what was written to the restored cluster since the cutover stays there on stack prod; to proceed set it to "prod\/kro\/database-cutover-back"/,
    );
  });

  it("refuses cutover: false left with the cutover's confirmation, naming the cutover back", async () => {
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:kro"].recovery = { database: { ...restore, cutover: false, confirm: "prod/kro/database-cutover" } }) }),
    ).rejects.toThrow(
      'lazarus:kro.recovery.database.cutover: false, with the cutover\'s confirmation still set: if the application ran on the restored cluster, moving it back is a cutover back (example: cutover: back, confirm: "prod/kro/database-cutover-back"); if it never did, remove confirm',
    );
  });

  it("unprotects the restored cluster only through its own confirmed discard switch, and never while the application runs on it", async () => {
    const discard = { ...restore, cutover: "back", discard: true, confirm: "prod/kro/discard-restored-database" };
    const plan = await planFor("prod", { secrets: SENTINEL_SECRETS, patch: (c) => (c["lazarus:kro"].recovery = { database: discard }) });
    expect(one(plan, T.cluster, "kro-prod-db-restore-20261123").protect).toBe(false);
    expect(one(plan, T.cluster, "kro-prod-db").protect).toBe(true);
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:kro"].recovery = { database: { ...discard, confirm: undefined } }) }),
    ).rejects.toThrow(/lazarus:kro\.recovery\.database\.confirm: is missing: discarding lets the next pulumi up without recovery\.database delete the restored cluster and everything written to it on stack prod; to proceed set it to "prod\/kro\/discard-restored-database"/);
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:kro"].recovery = { database: { ...discard, cutover: true } }) }),
    ).rejects.toThrow("lazarus:kro.recovery.database.discard: the application runs on the restored cluster (cutover: true); cut back first (example: cutover: back)");
  });

  it("refuses the cutover on prod without confirmation", async () => {
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:kro"].recovery = { database: { ...restore, cutover: true } }) }),
    ).rejects.toThrow(ConfigError);
  });
});

describe("runbook operations", () => {
  let ops: Plan;
  beforeAll(async () => {
    ops = await planFor("staging", {
      patch: (c) =>
        (c["lazarus:kro"].operations = [
          { id: "restart-backend-1", action: "restart-service", service: "backend" },
          { id: "stop-admin-1", action: "stop-service", service: "admin-frontend" },
          { id: "shutdown-1", action: "graceful-shutdown" },
          { id: "after-reboot-1", action: "recover-after-restart" },
          { id: "renew-cert-1", action: "renew-certificate" },
        ]),
    });
  });
  const op = (id: string) => String(one(ops, T.command, `kro-staging-op-${id}`).inputs.create);

  it("become one command each, named by id so state records that they ran", () => {
    expect(byType(ops, T.command).filter((r) => r.name.startsWith("kro-staging-op-")).map((r) => r.name).sort()).toEqual([
      "kro-staging-op-after-reboot-1",
      "kro-staging-op-renew-cert-1",
      "kro-staging-op-restart-backend-1",
      "kro-staging-op-shutdown-1",
      "kro-staging-op-stop-admin-1",
    ]);
  });

  it("restart and stop one service with the compose service script", () => {
    expect(op("restart-backend-1")).toMatch(/compose-service\.sh .*restart.*backend/);
    expect(op("stop-admin-1")).toMatch(/compose-service\.sh .*stop.*admin-frontend/);
  });

  it("shut down gracefully in the order derived from the dependencies: nginx first, backend last", () => {
    const cmd = op("shutdown-1");
    const at = (s: string) => cmd.indexOf(` ${s}`);
    expect(cmd).toContain("compose-shutdown.sh");
    expect(at("nginx")).toBeGreaterThan(0);
    expect(at("nginx")).toBeLessThan(at("frontend"));
    expect(at("frontend")).toBeLessThan(at("backend"));
    expect(at("admin-frontend")).toBeLessThan(at("backend"));
  });

  it("recover after a restart and force certificate renewal", () => {
    expect(op("after-reboot-1")).toContain("compose-recover.sh");
    expect(op("renew-cert-1")).toMatch(/cert-renew\.sh .*--force/);
  });

  it("needs confirmation to stop any service on prod: a stopped nginx takes the site offline", async () => {
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:kro"].operations = [{ id: "stop-nginx-1", action: "stop-service", service: "nginx" }]) }),
    ).rejects.toThrow(/operations\[0\]\.confirm: is missing: stopping nginx takes it offline until a start-service on stack prod; to proceed set it to "prod\/kro\/stop-service"/);
    const confirmed = await planFor("prod", {
      patch: (c) => (c["lazarus:kro"].operations = [{ id: "stop-nginx-1", action: "stop-service", service: "nginx", confirm: "prod/kro/stop-service" }]),
    });
    expect(String(one(confirmed, T.command, "kro-prod-op-stop-nginx-1").inputs.create)).toMatch(/compose-service\.sh .*stop.*nginx/);
  });

  it("needs confirmation for a graceful shutdown on prod", async () => {
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:kro"].operations = [{ id: "shutdown-1", action: "graceful-shutdown" }]) }),
    ).rejects.toThrow(/operations\[0\]\.confirm: is missing: a graceful shutdown takes KRO offline on stack prod; to proceed set it to "prod\/kro\/graceful-shutdown"/);
  });
});
