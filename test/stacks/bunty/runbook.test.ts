// Bunty's generated operator runbook, from the real stack files: every operation the schema accepts is documented with
// a snippet the schema parses and, on prod, the confirmation `check` demands; the seed's incidents point at them; the
// plan ships it outside the release directory; and each prod snippet, merged into the real Pulumi.prod.yaml, plans.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { bunty } from "../../../stacks/bunty";
import { buntySchema } from "../../../stacks/bunty/config";
import { BUNTY_PATHS, planBunty } from "../../../stacks/bunty/plan";
import { buntyRunbookMarkdown, buntyRunbookModel } from "../../../stacks/bunty/runbook";
import { planFor, stackPlatformConfig } from "../../support/stacks";

const prodCfg = stackPlatformConfig("prod", bunty);
const prod = buntyRunbookMarkdown(prodCfg, "prod");
const staging = buntyRunbookMarkdown(stackPlatformConfig("staging", bunty), "staging");

describe("Bunty's operator runbook", () => {
  it("documents every operation action the schema accepts", () => {
    const actions = (buntySchema.shape.operations.unwrap().element as unknown as { options: { shape: { action: { value: string } } }[] }).options.map((o) => o.shape.action.value);
    for (const a of actions) expect(prod, a).toContain(`### \`${a}\``);
  });

  it("shows prod's confirmation values exactly as the plan demands them, and none on staging", () => {
    for (const t of ["prod/bunty/rollback", "prod/bunty/emergency-shutdown", "prod/bunty/flush-cache", "prod/bunty/terminate-query", "prod/bunty/reindex", "prod/bunty/database-cutover", "prod/bunty/resize-to-s-4vcpu-8gb"]) {
      expect(prod).toContain(`confirm: ${t}`);
    }
    expect(staging).not.toMatch(/confirm: /);
    // Staging's PostgreSQL is on the host: no managed restore switch there.
    expect(prod).toContain("recovery.database");
    expect(staging).not.toContain("recovery.database`");
    expect(staging).toContain("### `recovery.hostDatabase`");
  });

  it("walks the seed's incidents and names what runs on the host", () => {
    for (const t of ["P0 Complete Service Outage", "P1 Database Connection Issues", "P1 High Memory Usage", "P1 External API Failures", "P2 Slow Response Times"]) expect(prod).toContain(`### ${t}`);
    expect(prod).toContain("| bunty-backend | PM2 as deploy");
    expect(prod).toContain("pm2-logrotate at 10M, 7 kept, compress true");
  });

  it("is shipped by the plan to /etc/bunty/RUNBOOK.md, outside the release directory a rollback swaps", () => {
    const plan = planBunty(prodCfg, { stack: "prod", stackFile: "Pulumi.prod.yaml", environment: {} as never });
    expect(plan.files[BUNTY_PATHS.runbook]).toBe(prod);
    expect(BUNTY_PATHS.runbook.startsWith(prodCfg.app.dir)).toBe(false);
  });

  it("every prod operation snippet, merged into the real Pulumi.prod.yaml, plans", async () => {
    const model = buntyRunbookModel(prodCfg, "prod");
    const ops = model.switchGroups[0]!.switches.map((s) => (parse(s.stackConfig) as { config: { "lazarus:bunty": { operations: unknown[] } } }).config["lazarus:bunty"].operations[0]);
    const plan = await planFor("prod", { patch: (c) => (c["lazarus:bunty"].operations = ops) });
    expect(plan.resources.filter((r) => r.name.startsWith("bunty-prod-op-")).length).toBe(ops.length);
  });
});
