// Every malformed lazarus:dbis config fails the offline plan with exit code 2, its own precise message (file, key
// path, what was expected, an example) and nothing declared.
import { describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import { patchedProject } from "../../support/stacks";

type Patch = (c: Record<string, any>) => void;
const dbis = (c: Record<string, any>) => c["lazarus:dbis"];

const cases: { name: string; stack?: string; patch: Patch; message: string }[] = [
  {
    name: "PostgreSQL newer than the backup tools can dump",
    patch: (c) => (dbis(c).database.version = "16"),
    message: 'Pulumi.prod.yaml: lazarus:dbis.database.version: "16" is not a PostgreSQL version the backup tools (PostgreSQL 15 client) can dump; the runbook asks 14+ (example: "15"; one of 14, 15)',
  },
  { name: "replica size slug", patch: (c) => (dbis(c).database.replica.size = "db-2vcpu"), message: 'lazarus:dbis.database.replica.size: "db-2vcpu" is not a managed database size slug (example: db-s-2vcpu-4gb)' },
  { name: "unknown replica key", patch: (c) => (dbis(c).database.replica.enable = true), message: 'lazarus:dbis.database.replica.enable: unknown key "enable" (did you mean "enabled"?); known keys: enabled, size' },
  { name: "image with a tag", patch: (c) => (dbis(c).app.image = "registry.digitalocean.com/dbis/dbis-core:latest"), message: 'lazarus:dbis.app.image: "registry.digitalocean.com/dbis/dbis-core:latest" is not a container image repository without tag' },
  { name: "server name not a FQDN", stack: "staging", patch: (c) => (dbis(c).app.serverName = "dbis"), message: 'Pulumi.staging.yaml: lazarus:dbis.app.serverName: "dbis" is not a fully qualified domain name' },
  { name: "nginx image unpinned", patch: (c) => (dbis(c).app.nginxImage = "nginx:latest"), message: 'lazarus:dbis.app.nginxImage: "nginx:latest" is not an image pinned to a version tag' },
  { name: "unknown operation", patch: (c) => (dbis(c).operations = [{ id: "op-1", action: "reboot" }]), message: 'lazarus:dbis.operations[0].action: "reboot" is not a DBIS operation (actions: restart-app, check-status' },
  {
    name: "operation id used twice",
    stack: "staging",
    patch: (c) => (dbis(c).operations = [{ id: "r-1", action: "restart-app" }, { id: "r-1", action: "restart-app" }]),
    message: 'Pulumi.staging.yaml: lazarus:dbis.operations[1].id: "r-1" is used twice',
  },
  {
    name: "the two backup jobs in the same minute",
    stack: "staging",
    patch: (c) => (dbis(c).backups.schedule = { databaseAt: "00:30", auditExportAt: "00:30" }),
    message: 'Pulumi.staging.yaml: lazarus:dbis.backups.schedule: the backup schedule renderer refused it: jobs[1].at: audit export is at 00:30, the same minute as database backup; give it its own time (example: "04:00")',
  },
  { name: "backup time with seconds", patch: (c) => (dbis(c).backups.schedule = { databaseAt: "02:00:30" }), message: 'lazarus:dbis.backups.schedule: the backup schedule renderer refused it: jobs[0].at: must be a UTC time "HH:MM"' },
  { name: "backup image unpinned", patch: (c) => (dbis(c).backups.image = "postgres"), message: 'lazarus:dbis.backups.image: "postgres" is not an image pinned to a version tag' },
  { name: "audit export day", stack: "staging", patch: (c) => (dbis(c).operations = [{ id: "op-a", action: "audit-export-now", day: "last week" }]), message: 'lazarus:dbis.operations[0].day: "last week" is not a date YYYY-MM-DD or yesterday (example: 2026-11-23)' },
  {
    name: "DBIS secret in plain text",
    patch: (c) => (c["lazarus:dbisSshPrivateKey"] = "-----BEGIN OPENSSH PRIVATE KEY-----"),
    message: "lazarus:dbisSshPrivateKey: is stored in plain text; it must be a secret. Remove it from the file and run: pulumi config set --secret --stack prod dbisSshPrivateKey < ~/.ssh/lazarus_dbis_ed25519",
  },
];

describe("a malformed lazarus:dbis config", () => {
  it.each(cases)("fails with its own message and declares nothing: $name", async ({ stack = "prod", patch, message }) => {
    const r = await runPlanCli(["--stack", stack, "--project-dir", patchedProject(stack, patch)]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(message);
  });

  it("gives every case a distinct message", () => {
    expect(new Set(cases.map((c) => c.message)).size).toBe(cases.length);
  });
});
