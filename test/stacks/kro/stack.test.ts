// KRO declared from the real Pulumi.prod.yaml / Pulumi.staging.yaml under mocks: what is declared, with which inputs.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { SENTINEL_MARKERS, SENTINEL_SECRETS, T, byType, one, planFor } from "../../support/stacks";

let prod: Plan;
let staging: Plan;

beforeAll(async () => {
  prod = await planFor("prod", { secrets: SENTINEL_SECRETS });
  staging = await planFor("staging", { secrets: SENTINEL_SECRETS });
});

describe("the KRO host", () => {
  it("is a droplet with the configured image, size, region, VPC, SSH keys, tags, monitoring and backups", () => {
    const d = one(prod, T.droplet, "kro-prod-host").inputs;
    expect(d).toMatchObject({
      name: "kro-prod-host",
      image: "ubuntu-24-04-x64",
      size: "s-2vcpu-4gb",
      region: "fra1",
      vpcUuid: "lazarus-prod-vpc-id",
      sshKeys: ["3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"],
      monitoring: true,
      backups: true,
    });
    expect(d.tags).toEqual(expect.arrayContaining(["lazarus", "stack-prod", "platform-kro"]));
  });

  it("installs Docker with the compose plugin and prepares the deploy directory through cloud-init", () => {
    const userData = String(one(prod, T.droplet, "kro-prod-host").inputs.userData);
    expect(userData.startsWith("#cloud-config")).toBe(true);
    expect(userData).toMatch(/docker-compose-v2|docker-compose-plugin/);
    expect(userData).toContain("/root/Kro/kro-devops/production");
  });

  it("keeps its public address on a reserved IP assigned to the droplet", () => {
    const droplet = one(prod, T.droplet, "kro-prod-host");
    const assignment = one(prod, T.reservedIpAssignment, "kro-prod-host-ip-assignment");
    expect(assignment.inputs.ipAddress).toBe("<kro-prod-host-ip.ipAddress>");
    expect(String(assignment.inputs.dropletId)).toMatch(/^\d+$/);
    expect(assignment.dependencies).toContain(droplet.urn);
  });

  it("opens 22 only to the admin CIDRs and 80/443 to everyone", () => {
    const rules = one(prod, T.firewall, "kro-prod-host-firewall").inputs.inboundRules as { portRange?: string; sourceAddresses: string[] }[];
    const byPort = Object.fromEntries(rules.filter((r) => r.portRange).map((r) => [r.portRange, r.sourceAddresses]));
    expect(byPort["22"]).toEqual(["203.0.113.10/32", "198.51.100.24/32"]);
    expect(byPort["80"]).toEqual(["0.0.0.0/0", "::/0"]);
    expect(byPort["443"]).toEqual(["0.0.0.0/0", "::/0"]);
    expect(Object.keys(byPort).sort()).toEqual(["22", "443", "80"]);
  });

  it("alerts on CPU, memory and disk, and checks the public health URL", () => {
    const alerts = byType(prod, T.monitorAlert).filter((a) => a.name.startsWith("kro-prod-host"));
    expect(alerts.map((a) => a.inputs.type).sort()).toEqual([
      "v1/insights/droplet/cpu",
      "v1/insights/droplet/disk_utilization_percent",
      "v1/insights/droplet/memory_utilization_percent",
    ]);
    for (const a of alerts) expect(a.inputs.alerts).toMatchObject({ emails: ["oncall@example.org"] });
    expect(one(prod, T.uptimeCheck, "kro-prod-host-uptime").inputs.target).toBe("https://kro.example.org/api/health");
    const uptime = byType(prod, T.uptimeAlert).filter((a) => a.name.startsWith("kro-prod-host"));
    expect(uptime.map((a) => a.inputs.type).sort()).toEqual(["down", "ssl_expiry"]);
  });
});

describe("the KRO database", () => {
  it("is a managed PostgreSQL cluster with the configured version, size, nodes and maintenance window, in the VPC", () => {
    expect(one(prod, T.cluster, "kro-prod-db").inputs).toMatchObject({
      engine: "pg",
      version: "16",
      size: "db-s-2vcpu-4gb",
      nodeCount: 2,
      region: "fra1",
      privateNetworkUuid: "lazarus-prod-vpc-id",
      maintenanceWindows: [{ day: "sunday", hour: "02:00" }],
    });
  });

  it("admits only the KRO host through its firewall", () => {
    const droplet = one(prod, T.droplet, "kro-prod-host");
    const hostId = prod.resources.length && (one(prod, T.reservedIpAssignment, "kro-prod-host-ip-assignment").inputs.dropletId as string);
    const rules = one(prod, T.dbFirewall, "kro-prod-db-firewall").inputs.rules;
    expect(rules).toEqual([{ type: "droplet", value: String(hostId) }]);
    expect(one(prod, T.dbFirewall, "kro-prod-db-firewall").dependencies).toContain(droplet.urn);
  });

  it("has the application database and user", () => {
    expect(one(prod, T.db, "kro-prod-db-db-kro").inputs).toMatchObject({ clusterId: "kro-prod-db-id", name: "kro" });
    expect(one(prod, T.dbUser, "kro-prod-db-user-kro").inputs).toMatchObject({ clusterId: "kro-prod-db-id", name: "kro" });
  });
});

describe("protection", () => {
  it("protects prod's cluster, database, user, reserved IP and host", () => {
    for (const [type, name] of [
      [T.cluster, "kro-prod-db"],
      [T.db, "kro-prod-db-db-kro"],
      [T.dbUser, "kro-prod-db-user-kro"],
      [T.reservedIp, "kro-prod-host-ip"],
      [T.droplet, "kro-prod-host"],
    ] as const) {
      expect(one(prod, type, name).protect, `${name} protected`).toBe(true);
    }
  });

  it("leaves staging unprotected so it can be torn down", () => {
    expect(byType(staging, T.cluster).every((r) => !r.protect)).toBe(true);
    expect(byType(staging, T.droplet).every((r) => !r.protect)).toBe(true);
  });
});

describe("staging", () => {
  it("is smaller, in its own VPC and project, and shares no resource name with prod", () => {
    expect(one(staging, T.droplet, "kro-staging-host").inputs.size).toBe("s-1vcpu-2gb");
    expect(one(staging, T.cluster, "kro-staging-db").inputs.nodeCount).toBe(1);
    expect(one(staging, T.vpc, "lazarus-staging-vpc").inputs.ipRange).not.toBe(one(prod, T.vpc, "lazarus-prod-vpc").inputs.ipRange);
    // Logical names, and the cloud-side names of account-wide resources (a database or user name is scoped to its cluster).
    const scoped: string[] = [T.db, T.dbUser];
    const names = (p: Plan) =>
      new Set(
        p.resources
          .filter((r) => r.custom)
          .flatMap((r) => [r.name, ...(typeof r.inputs.name === "string" && !scoped.includes(r.type) ? [r.inputs.name] : [])]),
      );
    const shared = [...names(prod)].filter((n) => names(staging).has(n));
    expect(shared).toEqual([]);
  });
});

describe("software on the host", () => {
  const writer = (plan: Plan, suffix: string) =>
    byType(plan, T.command).find((r) => r.name.startsWith("kro-prod-software-file") && r.name.endsWith(suffix))!;

  it("writes production.json and the CA certificate with mode 0600, as secrets, with logging off", () => {
    for (const suffix of ["production-json", "kro-prod-db-cluster-ca-certificate-crt"]) {
      const w = writer(prod, suffix);
      expect(w, suffix).toBeDefined();
      expect(String(w.inputs.create)).toContain("chmod 0600");
      expect(w.inputs.stdin).toBe("[secret]");
      expect(w.inputs.logging).toBe("none");
    }
  });

  it("puts the managed database connection into production.json, keeping the secret document's own keys", () => {
    const doc = JSON.parse(String(writer(prod, "production-json").rawInputs.stdin));
    expect(doc.jwtSecret).toBe("SENTINEL-jwt-5d1f0c");
    expect(doc.database).toMatchObject({
      host: "<kro-prod-db.privateHost>",
      port: 25060,
      database: "kro",
      username: "kro",
      ssl: { caFile: "/app/config/kro-prod-db-cluster-ca-certificate.crt" },
    });
  });

  // That a changed file re-runs compose up (and nothing else) is test/components/file-change-triggers.test.ts.
  it("runs docker compose up --wait after every file is written, restarting the services whose files changed", () => {
    const up = one(prod, T.command, "kro-prod-compose-up");
    expect(String(up.inputs.create)).toContain("compose-up.sh");
    // A database cutover rewrites production.json: the backend, which mounts it, is restarted by compose-up.sh.
    expect(String(up.inputs.create)).toContain("--watch backend=production.json,kro-prod-db-cluster-ca-certificate.crt --watch nginx=nginx.conf");
    const writers = byType(prod, T.command).filter((r) => r.name.startsWith("kro-prod-software-file"));
    expect(writers).toHaveLength(4);
    for (const w of writers) expect(up.dependencies).toContain(w.urn);
  });

  it("issues the TLS certificate for every site after compose is up", () => {
    const cert = one(prod, T.command, "kro-prod-certificate");
    expect(String(cert.inputs.create)).toContain("cert-issue.sh");
    expect(String(cert.inputs.create)).toContain("kro.example.org");
    expect(String(cert.inputs.create)).toContain("admin.kro.example.org");
    expect(cert.dependencies).toContain(one(prod, T.command, "kro-prod-compose-up").urn);
  });
});

describe("secrets", () => {
  it("never appear in plain text in any resource input or stack output", () => {
    const printable = JSON.stringify({ inputs: prod.resources.map((r) => r.inputs), outputs: prod.outputs, files: prod.files });
    for (const marker of SENTINEL_MARKERS) expect(printable, marker).not.toContain(marker);
  });

  it("are really fed to the program (so the check above can fail)", () => {
    const raw = JSON.stringify(prod.resources.map((r) => r.rawInputs));
    for (const marker of SENTINEL_MARKERS) expect(raw, marker).toContain(marker);
  });

  it("export the database password only as a secret", () => {
    expect((prod.outputs.kro as { database: { password: string } }).database.password).toBe("[secret]");
  });
});
