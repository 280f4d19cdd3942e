// Pencom's generated operator runbook (/etc/pencom/RUNBOOK.md, renderers/runbookDoc.ts): the dependency graph with the
// stores, the tiers and reverse tiers derived from it, every operation and recovery switch with a snippet that the
// stack-config schema accepts (merged into the real stack file, it plans), and prod's confirmation values.
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { pencom } from "../../../stacks/pencom";
import { PENCOM_OPERATION_ACTIONS } from "../../../stacks/pencom/config";
import { PENCOM_PATHS, planPencom } from "../../../stacks/pencom/plan";
import { keepOnlyPlatforms, planFor, stackPlatformConfig } from "../../support/stacks";

const doc = (stack: string) => planPencom(stackPlatformConfig(stack, pencom), { stack, stackFile: `Pulumi.${stack}.yaml`, environment: {} as never }).files[PENCOM_PATHS.runbook]!;

describe("the Pencom runbook", () => {
  it("shows the dependency graph with the stores, and the tiers derived from it", () => {
    const md = doc("prod");
    expect(md).toContain("```mermaid\ngraph TD");
    expect(md).toContain("  api_gateway -->|healthy| payments");
    expect(md).toContain("  core -->|healthy| postgres_core_db");
    expect(md).toContain("  notifications -->|healthy| mongodb_notifications");
    expect(md).toContain("Start order, layer by layer (a layer starts once the previous one is healthy):\n\n1. core\n2. audit, compliance, ext-integrations, notifications, payments\n3. api-gateway, ext-gateway");
    expect(md).toContain("Stop order (dependents first):\n\n1. api-gateway, ext-gateway\n2. audit, compliance, ext-integrations, notifications, payments\n3. core");
    expect(md).toContain("| api-gateway | api-gateway | `dist/apps/api-gateway/main.js` |");
    expect(md).toContain("its outage degrades ext-integrations, which keeps running");
  });

  it("has a section for every operation and recovery switch, with prod's confirmations", () => {
    const md = doc("prod");
    for (const a of PENCOM_OPERATION_ACTIONS) expect(md).toContain(`### \`${a}\` — `);
    expect(md).toContain("### `recovery.coreDatabase` — ");
    expect(md).toContain("### `recovery.coreDatabase.swapIn` — ");
    expect(md).toContain("swapIn: pencom_core_db2_restore_20261201021500");
    expect(md).toContain("### `recovery.notificationsDatabase` — ");
    expect(md).toContain("confirm: prod/pencom/graceful-shutdown");
    expect(md).toContain("confirm: prod/pencom/core-database-cutover");
    expect(doc("staging")).not.toContain("confirm: staging/");
  });

  it("gives snippets that plan when merged into the real stack file", async () => {
    const md = doc("prod");
    const snippets = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => (parse(m[1]!) as { config: { "lazarus:pencom": Record<string, any> } }).config["lazarus:pencom"]);
    const operations = snippets.flatMap((s) => s.operations ?? []);
    // The swapIn snippet is the second run of recovery.coreDatabase: it replaces the restore's snippet here.
    const recovery = Object.assign({}, ...snippets.map((s) => s.recovery ?? {}));
    expect(recovery.coreDatabase.swapIn).toBe("pencom_core_db2_restore_20261201021500");
    expect(operations.map((o: { action: string }) => o.action)).toEqual(expect.arrayContaining([...PENCOM_OPERATION_ACTIONS]));
    const unique = operations.filter((o: { id: string }, i: number) => operations.findIndex((x: { id: string }) => x.id === o.id) === i);
    const plan = await planFor("prod", {
      patch: (c) => {
        keepOnlyPlatforms(c, ["pencom"]);
        c["lazarus:pencom"].operations = unique.map((o: { id: string }) => ({ ...o, id: o.id.replace("yyyymmdd", "2026-12-01") }));
        c["lazarus:pencom"].recovery = recovery;
      },
    });
    expect(plan.resources.some((r) => r.name === "pencom-prod-op-2026-12-01-shutdown")).toBe(true);
  });
});
