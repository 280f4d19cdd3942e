// Every malformed stack config fails the offline plan with exit code 2, its own precise message (file, key path, what
// was expected, an example) and nothing declared.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPlanCli } from "../../cli/plan";
import { ConfigError } from "../../config/errors";
import { loadStackConfig } from "../../config/load";
import { patchedProject, rawStack } from "../support/stacks";

type Patch = (c: Record<string, any>) => void;
const kro = (c: Record<string, any>) => c["lazarus:kro"];
const env = (c: Record<string, any>) => c["lazarus:environment"];

const cases: { name: string; stack?: string; patch: Patch; message: string | RegExp }[] = [
  { name: "droplet size typo", patch: (c) => (kro(c).host.size = "s-2vcpu-4g"), message: 'Pulumi.prod.yaml: lazarus:kro.host.size: "s-2vcpu-4g" is not a droplet size slug (example: s-2vcpu-4gb)' },
  { name: "unknown key with a suggestion", patch: (c) => ((kro(c).host.sise = "s-1vcpu-1gb")), message: 'Pulumi.prod.yaml: lazarus:kro.host.sise: unknown key "sise" (did you mean "size"?)' },
  { name: "unknown region", patch: (c) => (env(c).region = "fra9"), message: 'Pulumi.prod.yaml: lazarus:environment.region: "fra9" is not a DigitalOcean region slug (example: fra1' },
  { name: "database size", patch: (c) => (kro(c).database.size = "db-s-2vcpu"), message: 'lazarus:kro.database.size: "db-s-2vcpu" is not a managed database size slug (example: db-s-2vcpu-4gb)' },
  { name: "PostgreSQL version", patch: (c) => (kro(c).database.version = "9"), message: 'lazarus:kro.database.version: "9" is not a supported PostgreSQL major version' },
  { name: "node count", patch: (c) => (kro(c).database.nodeCount = 5), message: "lazarus:kro.database.nodeCount: 5 is not a node count between 1 and 3 (example: 2)" },
  { name: "maintenance day", patch: (c) => (kro(c).database.maintenanceWindow.day = "someday"), message: 'lazarus:kro.database.maintenanceWindow.day: "someday" is not a weekday (example: sunday)' },
  { name: "maintenance hour", patch: (c) => (kro(c).database.maintenanceWindow.hour = "25:00"), message: 'lazarus:kro.database.maintenanceWindow.hour: "25:00" is not a time of day in UTC (HH:MM)' },
  { name: "admin CIDR without mask", patch: (c) => (env(c).adminCidrs = ["203.0.113.10"]), message: 'lazarus:environment.adminCidrs[0]: "203.0.113.10" is not an IPv4 CIDR block (example: 203.0.113.10/32)' },
  { name: "SSH open to the internet on prod", patch: (c) => (env(c).adminCidrs = ["0.0.0.0/0"]), message: 'lazarus:environment.adminCidrs[0]: "0.0.0.0/0" opens SSH to the whole internet on stack prod' },
  { name: "protection off on prod", patch: (c) => (env(c).protect = false), message: "lazarus:environment.protect: false is not allowed on stack prod" },
  { name: "public VPC range", patch: (c) => (env(c).vpc.ipRange = "8.8.8.0/24"), message: 'lazarus:environment.vpc.ipRange: "8.8.8.0/24" is not a private (RFC 1918) range for a VPC (example: 10.110.0.0/20)' },
  { name: "image tag with a space", patch: (c) => (kro(c).app.imageTag = "v1 .2"), message: 'lazarus:kro.app.imageTag: "v1 .2" is not a container image tag (example: v1.4.2)' },
  { name: "port out of range", patch: (c) => (kro(c).app.services.backend.port = 70000), message: "lazarus:kro.app.services.backend.port: 70000 is not a port number between 1 and 65535 (example: 3000)" },
  { name: "no sites", patch: (c) => (kro(c).app.sites = []), message: "lazarus:kro.app.sites: [] must declare at least one site" },
  { name: "route to an unknown service", patch: (c) => (kro(c).app.sites[0].routes[0].service = "api"), message: 'lazarus:kro.app.sites[0].routes[0].service: "api" is not a KRO application service (one of backend, frontend, admin-frontend)' },
  { name: "plain-http health URL", patch: (c) => (kro(c).app.healthUrl = "http://kro.example.org/health"), message: 'lazarus:kro.app.healthUrl: "http://kro.example.org/health" is not an https URL' },
  { name: "certbot email", patch: (c) => (kro(c).tls.email = "ops-at-example.org"), message: 'lazarus:kro.tls.email: "ops-at-example.org" is not an email address (example: oncall@example.org)' },
  { name: "unknown operation", patch: (c) => (kro(c).operations = [{ id: "reboot-1", action: "reboot" }]), message: "lazarus:kro.operations[0].action: \"reboot\" is not a KRO operation (actions: graceful-shutdown" },
  { name: "operation id used twice", stack: "staging", patch: (c) => (kro(c).operations = [{ id: "restart-1", action: "recover-after-restart" }, { id: "restart-1", action: "recover-after-restart" }]), message: 'Pulumi.staging.yaml: lazarus:kro.operations[1].id: "restart-1" is used twice' },
  { name: "operation on an unknown service", stack: "staging", patch: (c) => (kro(c).operations = [{ id: "restart-db-1", action: "restart-service", service: "postgres" }]), message: 'lazarus:kro.operations[0].service: "postgres" is not a KRO service (one of backend, frontend, admin-frontend, nginx)' },
  { name: "missing section", patch: (c) => delete kro(c).database, message: "lazarus:kro.database: is required but missing (expected a mapping of keys to values)" },
  { name: "wrong type", patch: (c) => (kro(c).host.backups = "yes"), message: 'lazarus:kro.host.backups: "yes" is not true or false' },
  { name: "misspelt platform key", patch: (c) => { c["lazarus:kroo"] = c["lazarus:kro"]; delete c["lazarus:kro"]; }, message: 'Pulumi.prod.yaml: lazarus:kroo: unknown key (did you mean "lazarus:kro"?)' },
  { name: "secret in plain text", patch: (c) => (c["lazarus:kroProductionJson"] = "{}"), message: "lazarus:kroProductionJson: is stored in plain text; it must be a secret. Remove it from the file and run: pulumi config set --secret --stack prod kroProductionJson < production.json" },
  { name: "restore label", stack: "staging", patch: (c) => (kro(c).recovery = { database: { label: "Nov 23" } }), message: 'lazarus:kro.recovery.database.label: "Nov 23" is not a restore label (example: 20261123)' },
  { name: "point in time", stack: "staging", patch: (c) => (kro(c).recovery = { database: { label: "r1", pointInTime: "yesterday" } }), message: 'lazarus:kro.recovery.database.pointInTime: "yesterday" is not an ISO 8601 UTC timestamp (example: 2026-11-23T02:00:00Z)' },
  { name: "snapshot choice", stack: "staging", patch: (c) => (kro(c).recovery = { host: { fromSnapshot: "newest" } }), message: 'lazarus:kro.recovery.host.fromSnapshot: "newest" is not a snapshot choice (example: latest, or a snapshot id such as "187654321")' },
  {
    name: "no platform at all",
    patch: (c) => Object.keys(c).filter((k) => k !== "lazarus:environment").forEach((k) => delete c[k]),
    message: "Pulumi.prod.yaml: no platform is configured; add at least one of lazarus:kro",
  },
];

describe("a malformed stack config", () => {
  it.each(cases)("fails with its own message and declares nothing: $name", async ({ stack = "prod", patch, message }) => {
    const dir = patchedProject(stack, patch);
    const r = await runPlanCli(["--stack", stack, "--project-dir", dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    if (typeof message === "string") expect(r.stderr).toContain(message);
    else expect(r.stderr).toMatch(message);
  });

  it("gives every case a distinct message", () => {
    expect(new Set(cases.map((c) => c.message)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it("lists every problem at once", async () => {
    const dir = patchedProject("prod", (c) => {
      kro(c).host.size = "huge";
      env(c).region = "mars1";
    });
    const r = await runPlanCli(["--stack", "prod", "--project-dir", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("2 problems");
    expect(r.stderr).toContain("lazarus:kro.host.size");
    expect(r.stderr).toContain("lazarus:environment.region");
  });
});

describe("the plan command line", () => {
  it("rejects an unknown stack with exit code 2, naming the stacks that exist", async () => {
    const r = await runPlanCli(["--stack", "prdo"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown stack "prdo": Pulumi\.prdo\.yaml does not exist .*stacks here: prod, staging/);
  });

  it("rejects a stack file that is not YAML", async () => {
    const dir = patchedProject("prod", () => {});
    writeFileSync(join(dir, "Pulumi.prod.yaml"), "config:\n  lazarus:kro: [unclosed\n");
    const r = await runPlanCli(["--stack", "prod", "--project-dir", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Pulumi.prod.yaml: is not valid YAML");
  });

  it("rejects a missing --stack with exit code 2", async () => {
    const r = await runPlanCli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--stack");
  });
});

describe("secrets a real run needs", () => {
  it("are listed all at once, each with the command that sets it", () => {
    let error: unknown;
    try {
      loadStackConfig(rawStack("prod"));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as Error).message;
    expect(text).toMatch(/^Pulumi\.prod\.yaml: \d+ required secrets are not set:/);
    expect(text).toContain("pulumi config set --secret --stack prod kroProductionJson < production.json");
    expect(text).toContain("pulumi config set --secret --stack prod kroSshPrivateKey < ~/.ssh/lazarus_kro_ed25519");
    expect(text).toContain("pulumi config set --secret --stack prod alertSlackWebhook https://hooks.slack.com/services/T000/B000/XXXX");
  });
});
