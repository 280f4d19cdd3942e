// ManagedPostgres beyond PostgreSQL and droplets: a MongoDB cluster (same database, user and restore path, its own
// component type so PostgreSQL URNs never change), and a client declared after the cluster (an App Platform app whose
// spec holds the cluster's connection) admitted by `admit`, on the live and the restored cluster alike.
import { describe, expect, it } from "vitest";
import { ManagedPostgres, type ManagedPostgresArgs } from "../../components/managedPostgres";
import { captureProgram } from "../../lib/runtime/capture";

const base: ManagedPostgresArgs = {
  name: "shop-test-mongodb",
  engine: "mongodb",
  region: "fra1",
  vpcUuid: "vpc-1",
  projectTags: ["lazarus"],
  version: "8.0",
  size: "db-s-1vcpu-1gb",
  nodeCount: 3,
  maintenanceWindow: { day: "sunday", hour: "03:00" },
  databaseName: "shop",
  userName: "shop",
  publicEndpoint: true,
  protect: true,
  restore: { label: "r1", cutover: false, discard: false },
};

describe("ManagedPostgres with engine mongodb", () => {
  it("declares a MongoDB cluster with its database and user under its own component type, and the restored cluster beside it", async () => {
    const run = await captureProgram({ stack: "test", values: {}, secretKeys: [] }, () => {
      const db = new ManagedPostgres(base.name, base);
      db.admit([{ type: "app", value: "app-id-from-the-app" }]);
      return {};
    });
    const byName = (n: string) => run.resources.find((r) => r.name === n)!;
    expect(byName("shop-test-mongodb").type).toBe("lazarus:database:ManagedMongodb");
    const clusters = run.resources.filter((r) => r.type === "digitalocean:index/databaseCluster:DatabaseCluster");
    expect(clusters.map((c) => [c.name, c.inputs.engine, c.protect])).toEqual([
      ["shop-test-mongodb", "mongodb", true],
      ["shop-test-mongodb-restore-r1", "mongodb", true],
    ]);
    expect(clusters[1].inputs.backupRestore).toEqual({ databaseName: "shop-test-mongodb" });
    const firewalls = run.resources.filter((r) => r.type === "digitalocean:index/databaseFirewall:DatabaseFirewall");
    expect(firewalls.map((f) => [f.name, f.inputs.rules])).toEqual([
      ["shop-test-mongodb-firewall", [{ type: "app", value: "app-id-from-the-app" }]],
      ["shop-test-mongodb-restore-r1-firewall", [{ type: "app", value: "app-id-from-the-app" }]],
    ]);
  });

  it("refuses a read replica, which is a PostgreSQL feature, before it registers anything", () => {
    expect(() => new ManagedPostgres(base.name, { ...base, replica: { name: "shop-test-mongodb-replica", size: "db-s-1vcpu-1gb" } })).toThrow(/a read replica is a PostgreSQL feature/);
  });
});
