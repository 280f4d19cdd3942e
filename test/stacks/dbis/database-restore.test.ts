// DBIS's Database Recovery (runbook: stop app, restore, run migrations, restart) as the restore switch: a backup
// restored into a NEW cluster beside the live one (the live one untouched), then with `cutover: true` the migrations
// against the restored cluster, DATABASE_URL moved to it and the app recreated, in that order, once; confirmed on prod.
// Under mocks with the real stack files: the cluster's hosts are the mock's names, used only to tell the clusters apart.
import { describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import { runPlanOnHosts } from "../../support/hostModel";
import { ALL_SENTINEL_SECRETS, T, byType, one, patchedProject, planFor } from "../../support/stacks";

const restore = (extra: Record<string, unknown> = {}) => (c: Record<string, any>) => (c["lazarus:dbis"].recovery = { database: { label: "20261123", ...extra } });
const envOf = (plan: Awaited<ReturnType<typeof planFor>>, stack: string) => String(one(plan, T.command, `dbis-${stack}-software-file-opt-dbis-env`).rawInputs.stdin);
const serviceFileOf = (plan: Awaited<ReturnType<typeof planFor>>) => plan.files.find((f) => f.path === "/opt/dbis/backup/pg_service.conf")!.content!;

describe("DBIS database restore beside the live cluster", () => {
  it("restores the live cluster's backup into a new protected cluster and leaves the app on the live one until cutover", async () => {
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: restore({ pointInTime: "2026-11-23T01:30:00Z" }) });
    const restored = one(plan, T.cluster, "dbis-prod-db-restore-20261123");
    expect(restored.inputs).toMatchObject({ version: "15", backupRestore: { databaseName: "dbis-prod-db", backupCreatedAt: "2026-11-23T01:30:00Z" } });
    expect(restored.protect).toBe(true);
    expect(one(plan, T.cluster, "dbis-prod-db").protect).toBe(true);
    expect(envOf(plan, "prod")).toContain("@<dbis-prod-db.privateHost>:");
    expect(byType(plan, T.command).filter((r) => r.name.includes("database-restore"))).toEqual([]);
  });

  it("cutover: migrations run against the restored cluster first (a one-off app container reading the new .env), then compose up recreates the app on it", async () => {
    const plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: restore({ cutover: true }) });
    expect(envOf(plan, "staging")).toContain("@<dbis-staging-db-restore-20261123.privateHost>:");
    // The backup jobs follow the application.
    expect(serviceFileOf(plan)).toContain("host=<dbis-staging-db-restore-20261123.privateHost>");
    const migrate = one(plan, T.command, "dbis-staging-database-restore-20261123-migrate");
    expect(String(migrate.inputs.create)).toBe("cd /opt/dbis && docker compose -f docker-compose.yml run --rm --no-deps -T app npm run migrate");
    const envWriter = one(plan, T.command, "dbis-staging-software-file-opt-dbis-env");
    expect(migrate.dependencies).toContain(envWriter.urn);
    const up = one(plan, T.command, "dbis-staging-compose-up");
    expect(up.dependencies).toContain(migrate.urn);
    expect(JSON.stringify(up.inputs.triggers)).toContain("20261123:cutover");
    // Once: a later change of its text is a no-op update, never a second migration run by this switch.
    expect(String(migrate.inputs.update)).not.toContain("migrate");
  });

  it("the cutover's one-off container finds its service and program (host model)", async () => {
    const plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: restore({ cutover: true }) });
    const run = runPlanOnHosts(plan).find((r) => r.host === "dbis-staging-software")!;
    expect(run.up.failures).toEqual({});
    expect(run.execProblems).toEqual([]);
  });

  it("is confirmed on prod: the cutover, and it cannot be combined with a replica promotion", async () => {
    const unconfirmed = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", restore({ cutover: true }))]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('lazarus:dbis.recovery.database.confirm: is missing: cutting over points the application at the restored cluster on stack prod; to proceed set it to "prod/dbis/database-cutover"');
    const confirmed = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", restore({ cutover: true, confirm: "prod/dbis/database-cutover" }))]);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    const both = await runPlanCli([
      "--stack",
      "staging",
      "--project-dir",
      patchedProject("staging", (c) => (c["lazarus:dbis"].recovery = { database: { label: "x1" }, promoteReplica: {} })),
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("lazarus:dbis.recovery.database: and recovery.promoteReplica would each move the application to another cluster");
  });
});
