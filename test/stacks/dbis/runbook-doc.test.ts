// DBIS's generated operator runbook (stacks/dbis/runbook.ts → renderers/runbookDoc.ts), shipped as
// /opt/dbis/RUNBOOK.md: it lists every operation action of the schema, and its snippets are real: every operation
// example merged into the real Pulumi.prod.yaml plans (exit 0, confirmations included) and each command the document
// says `pulumi up` runs is the command that plan declares; each recovery snippet plans too.
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import { DBIS_OPERATION_ACTIONS } from "../../../stacks/dbis/config";
import { T, one, patchedProject, planFor } from "../../support/stacks";

/** The `lazarus:dbis` bodies of every YAML snippet in the document. */
function snippets(md: string): Record<string, any>[] {
  return [...md.matchAll(/```yaml\n(# Pulumi\.prod\.yaml\n[\s\S]*?)```/g)].map((m) => parse(m[1]!).config["lazarus:dbis"]);
}

describe("DBIS's operator runbook", () => {
  it("is shipped with the prod plan, lists every operation, and every snippet plans with the command the document names", async () => {
    const plan = await planFor("prod");
    const doc = plan.files.find((f) => f.path === "/opt/dbis/RUNBOOK.md")!;
    expect(doc.mode).toBe("0644");
    const md = doc.content!;
    for (const action of DBIS_OPERATION_ACTIONS) expect(md).toContain(`### \`${action}\` — `);

    const bodies = snippets(md);
    const ops = [...new Map(bodies.flatMap((b) => b.operations ?? []).map((o: any) => [o.id, o])).values()];
    expect(ops.map((o) => o.action).sort()).toEqual([...DBIS_OPERATION_ACTIONS].sort());
    const withOps = await planFor("prod", { patch: (c) => (c["lazarus:dbis"].operations = ops) });
    for (const o of ops) expect(md, o.id).toContain(`\`${String(one(withOps, T.command, `dbis-prod-op-${o.id}`).inputs.create)}\``);

    const recoveries = [...new Map(bodies.filter((b) => b.recovery).map((b) => [JSON.stringify(b.recovery), b.recovery])).values()];
    // Restore, cutover, promotion, and (prod has a standby) the application failover and back.
    expect(recoveries.length).toBe(5);
    for (const recovery of recoveries) {
      const r = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", (c) => (c["lazarus:dbis"].recovery = recovery))]);
      expect(r.code, `${JSON.stringify(recovery)}: ${r.stderr}`).toBe(0);
    }
  }, 300_000);
});
