// Waqiti's generated operator runbook: written by the plan (--out) and shipped as ConfigMap waqiti-runbook; every
// stack-config snippet in it is valid: merged into the real stack file, it plans (confirmations included on prod).
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Plan } from "../../../cli/planner";
import { ALL_SENTINEL_SECRETS, keepOnlyPlatforms, planFor } from "../../support/stacks";

let prod: Plan;
let runbook: string;
beforeAll(async () => {
  prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => keepOnlyPlatforms(c, ["waqiti"]) });
  runbook = prod.files.find((f) => f.platform === "waqiti" && f.path === "/waqiti/RUNBOOK.md")!.content!;
});

describe("the Waqiti runbook", () => {
  it("is the ConfigMap waqiti-runbook's content and names the seed's scenarios, the backup schedule and the network edges", () => {
    const cm = prod.resources.find((r) => r.name === "waqiti-prod-configmap-waqiti-runbook")!;
    expect((cm.rawInputs.data as Record<string, string>)["RUNBOOK.md"]).toBe(runbook);
    for (const s of ["recovery.fullSystem", "recovery.database", "recovery.redis", "recovery.rollback", "recovery.restart", "recovery.configuration", "maintenance.scaledDown", "`verify`", "`backup-now`", "`verify-backup`"]) expect(runbook).toContain(s);
    expect(runbook).toContain("schedule `*/30 * * * *` (UTC), each run killed after 25 min: at most 55 min of data at risk (RPO 60 min)");
    expect(runbook).toContain("payment-service → payment-provider-stripe 443/TCP");
    expect(runbook).toContain("confirm: prod/waqiti/database-cutover");
  });

  it("gives snippets that each plan on prod", async () => {
    const snippets = [...runbook.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => (parse(m[1]) as { config: Record<string, Record<string, unknown>> }).config["lazarus:waqiti"]);
    expect(snippets.length).toBeGreaterThanOrEqual(12);
    for (const snippet of snippets) {
      const plan = await planFor("prod", { patch: (c) => (keepOnlyPlatforms(c, ["waqiti"]), Object.assign(c["lazarus:waqiti"], snippet)) });
      expect(plan.resources.length, JSON.stringify(snippet)).toBeGreaterThan(30);
    }
  });
});
