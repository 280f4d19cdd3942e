// Every malformed lazarus:waqiti config fails the offline plan with exit code 2, its own precise message (file, key
// path, what was expected, an example) and nothing declared.
import { describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import { patchedProject } from "../../support/stacks";

type Patch = (c: Record<string, any>) => void;
const waqiti = (c: Record<string, any>) => c["lazarus:waqiti"];

const cases: { name: string; stack?: string; patch: Patch; message: string }[] = [
  { name: "CPU quantity", patch: (c) => (waqiti(c).services["payment-service"].resources.cpuLimit = "1 core"), message: 'Pulumi.prod.yaml: lazarus:waqiti.services.payment-service.resources.cpuLimit: "1 core" is not a Kubernetes quantity (example: 500m for CPU, 1Gi for memory)' },
  { name: "a fifth service", patch: (c) => (waqiti(c).services["fraud-service"] = { replicas: 1 }), message: 'lazarus:waqiti.services.fraud-service: unknown key "fraud-service"' },
  { name: "unpinned PostgreSQL image", patch: (c) => (waqiti(c).postgres.image = "postgres:latest"), message: 'lazarus:waqiti.postgres.image: "postgres:latest" is not an image pinned to a version tag' },
  { name: "rollback of an unknown service", patch: (c) => (waqiti(c).recovery = { rollback: { "pay-service": { imageTag: "v1", reason: "5xx" } } }), message: 'lazarus:waqiti.recovery.rollback.pay-service: unknown key "pay-service"; known keys: api-gateway, payment-service, wallet-service, ledger-service' },
  { name: "Keycloak network not a CIDR", patch: (c) => (waqiti(c).external.keycloak.cidrs = ["auth.example.com"]), message: 'lazarus:waqiti.external.keycloak.cidrs[0]: "auth.example.com" is not an IPv4 CIDR block (example: 203.0.113.10/32)' },
  { name: "not a cron schedule", patch: (c) => (waqiti(c).backups.schedule = "hourly"), message: 'Pulumi.prod.yaml: lazarus:waqiti.backups.schedule: the backup schedule renderer refused it: "hourly" is not a 5-field cron schedule (example: "*/30 * * * *")' },
  { name: "a schedule that misses the RPO", stack: "staging", patch: (c) => (waqiti(c).backups.schedule = "0 */2 * * *"), message: "up to 145 minutes of data at risk, more than the RPO of 60" },
  { name: "a backup key that is no backup", patch: (c) => (waqiti(c).recovery = { database: { label: "r1", backup: "postgresql/dump.sql" } }), message: 'lazarus:waqiti.recovery.database.backup: "postgresql/dump.sql" is not `latest` or a backup key in the bucket' },
  {
    name: "a claim other than the out-of-service database's",
    stack: "staging",
    patch: (c) => (waqiti(c).recovery = { database: { label: "r1", cutover: true, deleteClaim: { name: "data-redis-0", confirm: "staging/waqiti/delete-claim/data-redis-0" } } }),
    message: 'Pulumi.staging.yaml: lazarus:waqiti.recovery.database.deleteClaim.name: "data-redis-0" is not the claim of the database out of service, the only one this switch may delete (after the cutover: data-postgres-0; example: data-postgres-0)',
  },
  {
    name: "a point-in-time restore without WAL archiving",
    patch: (c) => (waqiti(c).recovery = { database: { label: "r1", pointInTime: "latest" } }),
    message: "Pulumi.prod.yaml: lazarus:waqiti.recovery.database.pointInTime: needs WAL archiving: set backups.pitr (example: pitr: {bucket: waqiti-pitr-prod}), or restore a dump with backup: latest",
  },
  {
    name: "a point in time that is no UTC time",
    stack: "staging",
    patch: (c) => (waqiti(c).recovery = { database: { label: "r1", pointInTime: "yesterday 14:00" } }),
    message: 'lazarus:waqiti.recovery.database.pointInTime: "yesterday 14:00" is not `latest` or a UTC time (example: 2026-11-23T14:03:00Z)',
  },
  {
    name: "a dump and a point in time together",
    stack: "staging",
    patch: (c) => (waqiti(c).recovery = { database: { label: "r1", pointInTime: "latest", backup: "latest" } }),
    message: "lazarus:waqiti.recovery.database.backup: names a dump, but pointInTime restores from pgBackRest: keep one of them (example: pointInTime: latest)",
  },
  {
    name: "WAL archiving on a PostgreSQL image pgBackRest's image cannot be built from",
    stack: "staging",
    patch: (c) => (waqiti(c).postgres.image = "postgres:16.4"),
    message: 'Pulumi.staging.yaml: lazarus:waqiti.postgres.image: the pgbackrest image renderer refused it: base: "postgres:16.4" has no known Debian release',
  },
  {
    name: "the WAL repository in the dumps' bucket",
    stack: "staging",
    patch: (c) => (waqiti(c).backups.pitr.bucket = "waqiti-backups-staging"),
    message: "lazarus:waqiti.backups.pitr.bucket: is backups.bucket",
  },
  { name: "kubeconfig given as a relative path", patch: (c) => (c["lazarus:environment"].kubernetes.kubeconfig = "kube/config"), message: 'lazarus:environment.kubernetes.kubeconfig: "kube/config" is not an absolute path to a kubeconfig file' },
  {
    name: "Waqiti secret in plain text",
    patch: (c) => (c["lazarus:waqitiJwtSecret"] = "plain"),
    message: "lazarus:waqitiJwtSecret: is stored in plain text; it must be a secret. Remove it from the file and run: vault kv get -field=jwt-secret secret/waqiti/auth | pulumi config set --secret --stack prod waqitiJwtSecret",
  },
];

describe("a malformed lazarus:waqiti config", () => {
  it.each(cases)("fails with its own message and declares nothing: $name", async ({ stack = "prod", patch, message }) => {
    const r = await runPlanCli(["--stack", stack, "--project-dir", patchedProject(stack, patch)]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(message);
  });
});
