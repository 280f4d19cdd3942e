// One-shot steps stay one-shot while their switch stays in the stack file. Under pulumi-command 1.2.1 a change of any
// input other than `triggers` is an update, and Update runs `create` again unless the resource has an `update` of its
// own (remote/commandController.go; test/components/file-change-triggers.test.ts cites the lines). So an operation or
// a recovery step (a restore with cutover) whose command text changes for an unrelated reason (here: the scripts'
// compose project name, as a platform refactor could change it) must carry a harmless `update`, and the steps that
// must follow a change (compose up, prepare) must not. The mock runtime cannot run an update; this checks the inputs the
// real provider acts on.
import { describe, expect, it } from "vitest";
import { ONCE_UPDATE } from "../../components/hostSoftware";
import { byType, planFor, T } from "../support/stacks";

const withOpsAndRecovery = (c: Record<string, any>) => {
  c["lazarus:kro"].operations = [{ id: "2026-12-01-shutdown", action: "graceful-shutdown", confirm: "prod/kro/graceful-shutdown" }];
  c["lazarus:goodgo"].operations = [{ id: "2026-12-01-api", action: "restart-service", service: "api" }];
  c["lazarus:goodgo"].recovery = { database: { label: "r1", backup: "goodgo_20261123T020000Z.dump", cutover: true, confirm: "prod/goodgo/database-cutover" } };
};

describe("one-shot steps", () => {
  it("operations and recovery steps carry a no-op update, so a changed command text does not run them again", async () => {
    const plan = await planFor("prod", { patch: withOpsAndRecovery });
    const commands = byType(plan, T.command);
    const oneShot = commands.filter((c) => /-op-|-restore-db-r1-/.test(c.name));
    expect(oneShot.map((c) => c.name)).toEqual(
      expect.arrayContaining(["kro-prod-op-2026-12-01-shutdown", "goodgo-prod-op-2026-12-01-api", "goodgo-prod-restore-db-r1-restore-database"]),
    );
    for (const c of oneShot) expect(c.inputs.update, c.name).toBe(ONCE_UPDATE);
    expect(ONCE_UPDATE).not.toMatch(/compose|pg_|restore|\.sh/);
  });

  it("steps that must follow a change (compose up, prepare, file writers) keep running `create` on an update", async () => {
    const plan = await planFor("prod", { patch: withOpsAndRecovery });
    for (const name of ["kro-prod-compose-up", "goodgo-prod-compose-up", "goodgo-prod-prepare"]) {
      const c = byType(plan, T.command).find((r) => r.name === name)!;
      expect(c.inputs.update, name).toBeUndefined();
    }
  });
});
