// GoodGo's runbook operations (section 3 resolutions, 4.1-4.3): one command each, named by id; the rolling restart
// order is the one derived from the inventory and respects every dependency.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { goodgo } from "../../../stacks/goodgo";
import { rollingRestartOrder, type ServiceInventory } from "../../../lib/inventory";
import { terminateQueriesSql } from "../../../stacks/goodgo/commands";
import { goodgoStackInventory } from "../../../stacks/goodgo/inventory";
import { ALL_SENTINEL_MARKERS, T, byType, one, planFor, rawStack } from "../../support/stacks";

const OPS = [
  { id: "rolling-1", action: "rolling-restart" },
  { id: "rolling-all-1", action: "rolling-restart", roles: ["data", "app", "monitoring", "edge", "backup"], exclude: [] },
  { id: "restart-api-1", action: "restart-service", service: "api" },
  { id: "kill-queries-1", action: "terminate-long-queries", olderThanMinutes: 5 },
  { id: "pgbouncer-1", action: "restart-pgbouncer" },
  { id: "flush-1", action: "flush-redis" },
  { id: "reindex-1", action: "reindex-typesense" },
  { id: "backup-1", action: "backup-now" },
  { id: "backup-local-1", action: "backup-now", offsite: false },
  { id: "backup-pitr-1", action: "backup-now", kind: "pitr-full" },
  { id: "verify-1", action: "verify-backup" },
  { id: "verify-named-1", action: "verify-backup", backup: "goodgo_20261123T020000Z.dump" },
];

let ops: Plan;
let inventory: ServiceInventory;
beforeAll(async () => {
  ops = await planFor("staging", { patch: (c) => (c["lazarus:goodgo"].operations = OPS) });
  const cfg = platformConfig(loadStackConfig(rawStack("staging"), { allowMissingSecrets: true }), goodgo)!;
  inventory = goodgoStackInventory(cfg, "staging");
});
const op = (id: string) => String(one(ops, T.command, `goodgo-staging-op-${id}`).inputs.create);
/** The services a rolling restart's command restarts, in the order it restarts them. */
const restarted = (cmd: string) => [...cmd.matchAll(/compose-service\.sh .*?-- restart ([a-z-]+)/g)].map((m) => m[1]!);

describe("GoodGo operations", () => {
  it("become one command each, named by id, run after the stack is up", () => {
    const names = byType(ops, T.command).filter((r) => r.name.startsWith("goodgo-staging-op-")).map((r) => r.name).sort();
    expect(names).toEqual(OPS.map((o) => `goodgo-staging-op-${o.id}`).sort());
    const activate = one(ops, T.command, "goodgo-staging-tls-activate");
    for (const o of OPS) expect(one(ops, T.command, `goodgo-staging-op-${o.id}`).dependencies).toContain(activate.urn);
  });

  it("restart in the rolling order computed from the inventory: data services, then apps, postgres left running", () => {
    const order = restarted(op("rolling-1"));
    expect(order).toEqual(rollingRestartOrder(inventory, { roles: ["data", "app"], exclude: ["postgres"] }));
    expect(order).not.toContain("postgres");
    expect([...order].sort()).toEqual(["ai-services", "api", "minio", "pgbouncer", "redis", "typesense", "web"]);
    // Every restart waits for the service's health before the next one.
    expect(op("rolling-1").split("\n").filter((l) => l.includes("compose-service.sh")).every((l) => l.includes("--wait"))).toBe(true);
  });

  it("never restart a service before something it depends on, over the whole inventory", () => {
    const order = restarted(op("rolling-all-1"));
    expect(order).toHaveLength(inventory.services.length);
    const at = new Map(order.map((s, i) => [s, i]));
    for (const s of inventory.services) {
      for (const d of s.dependsOn ?? []) expect(at.get(d.service)!, `${d.service} before ${s.name}`).toBeLessThan(at.get(s.name)!);
    }
  });

  it("restart one service with --wait, and PgBouncer the same way", () => {
    expect(op("restart-api-1")).toMatch(/compose-service\.sh --dir \/root\/goodgo --project-name goodgo --wait -- restart api$/);
    expect(op("pgbouncer-1")).toMatch(/-- restart pgbouncer$/);
  });

  it("terminate non-idle queries older than N minutes in the application database, as the container's own user", () => {
    const cmd = op("kill-queries-1");
    expect(cmd).toContain("exec -T postgres sh -c");
    expect(cmd).toContain('psql -v ON_ERROR_STOP=1 -At -U "$POSTGRES_USER" -d "$POSTGRES_DB"');
    expect(cmd).toContain("5 minutes");
    expect(cmd).toContain("pg_terminate_backend(pid)");
    expect(terminateQueriesSql(0.5)).toContain("interval '0.5 minutes'");
    expect(() => terminateQueriesSql(-1)).toThrow(/positive/);
  });

  it("flush Redis and check it is empty, reindex Typesense with the API's script", () => {
    expect(op("flush-1")).toContain("exec -T redis sh -c");
    expect(op("flush-1")).toContain("redis-cli FLUSHALL");
    expect(op("reindex-1")).toMatch(/exec -T api npx ts-node scripts\/typesense-reindex\.ts$/);
  });

  it("back up on demand (off-site by default) and verify latest or a named backup through the scheduled job's wrapper", () => {
    expect(op("backup-1")).toMatch(/exec -T pg-backup bash \/opt\/lazarus\/scripts\/backup\/backup-job\.sh backup$/);
    expect(op("backup-local-1")).toContain("exec -T -e S3_URL= pg-backup");
    // kind pitr-full: the scheduled pgBackRest job itself (pg-backup's PITR_STANZA and PITR_RUN_AS say where and as whom).
    expect(op("backup-pitr-1")).toMatch(/exec -T pg-backup bash \/opt\/lazarus\/scripts\/backup\/backup-job\.sh pitr-full$/);
    expect(op("verify-1")).toMatch(/exec -T pg-backup bash \/opt\/lazarus\/scripts\/backup\/backup-job\.sh verify$/);
    expect(op("verify-named-1")).toContain("-e VERIFY_TARGET=/backups/goodgo_20261123T020000Z.dump pg-backup");
  });

  it("carry no secret in their command text", () => {
    const text = byType(ops, T.command).filter((r) => r.name.startsWith("goodgo-staging-op-")).map((r) => String(r.inputs.create)).join("\n");
    for (const m of ALL_SENTINEL_MARKERS) expect(text).not.toContain(m);
    expect(text).not.toMatch(/<unset secret/);
  });

  it("need confirmation on prod for the destructive ones (flush, terminate), naming the value", async () => {
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:goodgo"].operations = [{ id: "flush-1", action: "flush-redis" }]) }),
    ).rejects.toThrow(/lazarus:goodgo\.operations\[0\]\.confirm: is missing: FLUSHALL empties .* to proceed set it to "prod\/goodgo\/flush-redis"/);
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:goodgo"].operations = [{ id: "kill-1", action: "terminate-long-queries" }]) }),
    ).rejects.toThrow(/to proceed set it to "prod\/goodgo\/terminate-long-queries"/);
    const ok = await planFor("prod", { patch: (c) => (c["lazarus:goodgo"].operations = [{ id: "flush-1", action: "flush-redis", confirm: "prod/goodgo/flush-redis" }]) });
    expect(byType(ok, T.command).some((r) => r.name === "goodgo-prod-op-flush-1")).toBe(true);
  });
});
