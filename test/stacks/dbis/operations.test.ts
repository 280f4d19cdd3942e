// DBIS's runbook operations ("Common Operations") as command resources: the command text each runs, no secret in any
// of it, the reconciliation token only in its 0600 header file, migrate-rollback confirmed on prod, and every
// `docker compose exec` checked by the host model against the real compose file and the app image's programs.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { runPlanCli } from "../../../cli/plan";
import { runPlanOnHosts } from "../../support/hostModel";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, byType, one, patchedProject, planFor } from "../../support/stacks";

const OPERATIONS = [
  { id: "op-s1", action: "check-status" },
  { id: "op-r1", action: "reconcile-daily", date: "2024-01-01" },
  { id: "op-r2", action: "reconcile-aging", days: 1 },
  { id: "op-m1", action: "migrate" },
  { id: "op-m2", action: "migrate-rollback" },
  { id: "op-seed1", action: "seed-operators" },
  { id: "op-b1", action: "backup-now" },
  { id: "op-a1", action: "audit-export-now", day: "2026-11-22" },
  { id: "op-a2", action: "audit-export-now" },
];

let plan: Plan;
beforeAll(async () => {
  plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:dbis"].operations = OPERATIONS) });
});
const op = (id: string) => String(one(plan, T.command, `dbis-staging-op-${id}`).inputs.create);

describe("DBIS operations", () => {
  it("check-status: /health and /metrics on the host's loopback (the database through /health)", () => {
    expect(op("op-s1")).toBe(
      "set -eu; curl -fsS http://127.0.0.1:3000/health; curl -fsS http://127.0.0.1:3000/metrics | grep -E '^(payments_|tls_|db_pool_|health_check_status|reconciliation_)' || true",
    );
  });

  it("reconciliation: the runbook's API calls, the bearer token read by curl from its 0600 header file", () => {
    expect(op("op-r1")).toBe("curl -fsS -H @/opt/dbis/secrets/reconciliation.header 'http://127.0.0.1:3000/api/v1/payments/reconciliation/daily?date=2024-01-01'");
    expect(op("op-r2")).toBe("curl -fsS -H @/opt/dbis/secrets/reconciliation.header 'http://127.0.0.1:3000/api/v1/payments/reconciliation/aging?days=1'");
    const writer = byType(plan, T.command).find((r) => r.name === "dbis-staging-software-file-opt-dbis-secrets-reconciliation-header")!;
    expect(String(writer.inputs.create)).toContain("chmod 0600");
    expect(writer.inputs.stdin).toBe("[secret]");
    expect(String(writer.rawInputs.stdin)).toBe(`Authorization: Bearer ${ALL_SENTINEL_SECRETS["lazarus:dbisReconciliationToken"]}\n`);
  });

  it("migrate, migrate-rollback and seed run npm inside the running app container", () => {
    expect(op("op-m1")).toBe("cd /opt/dbis && docker compose -f docker-compose.yml exec -T app npm run migrate");
    expect(op("op-m2")).toBe("cd /opt/dbis && docker compose -f docker-compose.yml exec -T app npm run migrate:rollback");
    expect(op("op-seed1")).toBe("cd /opt/dbis && docker compose -f docker-compose.yml exec -T app npm run seed");
  });

  it("backup now and audit export now run the scheduled jobs' commands in the pg-backup container (a day, or the whole table)", () => {
    const exec = "cd /opt/dbis && docker compose -f docker-compose.yml exec -T pg-backup bash";
    expect(op("op-b1")).toBe(`${exec} /opt/lazarus/scripts/backup/pg-backup.sh -o /backups`);
    expect(op("op-a1")).toBe(`${exec} /opt/lazarus/scripts/backup/audit-export.sh -o /backups/audit --s3-url s3://dbis-staging-audit/audit/ --day 2026-11-22`);
    expect(op("op-a2")).toBe(`${exec} /opt/lazarus/scripts/backup/audit-export.sh -o /backups/audit --s3-url s3://dbis-staging-audit/audit/`);
  });

  it("shows no secret in any command or input of the plan", () => {
    const shown = JSON.stringify(plan.resources.map((r) => r.inputs));
    for (const m of ALL_SENTINEL_MARKERS) expect(shown).not.toContain(m);
  });

  it("every exec finds its service running and its program in the app image (host model)", () => {
    const run = runPlanOnHosts(plan).find((r) => r.host === "dbis-staging-software")!;
    expect(run.up.failures).toEqual({});
    expect(run.execProblems).toEqual([]);
  });

  it("refuses migrate-rollback on prod without its confirmation, and plans it with it", async () => {
    const unconfirmed = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", (c) => (c["lazarus:dbis"].operations = [{ id: "op-m2", action: "migrate-rollback" }]))]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('Pulumi.prod.yaml: lazarus:dbis.operations[0].confirm: is missing: rolling back a migration can drop columns or tables and the payment data in them on stack prod; to proceed set it to "prod/dbis/migrate-rollback"');
    const confirmed = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", (c) => (c["lazarus:dbis"].operations = [{ id: "op-m2", action: "migrate-rollback", confirm: "prod/dbis/migrate-rollback" }]))]);
    expect(confirmed.code, confirmed.stderr).toBe(0);
  });

  it("refuses a malformed reconciliation date with an example", async () => {
    const r = await runPlanCli(["--stack", "staging", "--project-dir", patchedProject("staging", (c) => (c["lazarus:dbis"].operations = [{ id: "op-r1", action: "reconcile-daily", date: "01/01/2024" }]))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Pulumi.staging.yaml: lazarus:dbis.operations[0].date: "01/01/2024" is not a date YYYY-MM-DD (example: 2026-11-23)');
  });
});
