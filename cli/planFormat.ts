// Two views of a plan: a tree grouped by platform for people, and `pulumi preview --json`'s shape for machines.
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import type { DeclaredResource } from "../lib/runtime/capture";
import { POLICIES, POLICY_PACK_NAME, type Violation } from "../policy/rules";
import type { Plan } from "./planner";

const STACK_TYPE = "pulumi:pulumi:Stack";

/** Long or multi-line strings (rendered files, scripts) shown as a summary; the JSON and --out carry them whole. */
function summarise(value: unknown): unknown {
  if (typeof value === "string") {
    const lines = value.split("\n").length;
    if (lines > 1 || value.length > 2000) {
      const digest = createHash("sha256").update(value).digest("hex").slice(0, 12);
      return `<${lines} line${lines > 1 ? "s" : ""}, ${value.length} bytes, sha256 ${digest}>`;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map(summarise);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, summarise(v)]));
  return value;
}

/** Children by parent URN, sorted by name: registration order varies run to run, a plan must not. */
function childrenOf(plan: Plan): Map<string | undefined, DeclaredResource[]> {
  const byParent = new Map<string | undefined, DeclaredResource[]>();
  for (const r of [...plan.resources].sort((a, b) => a.urn.localeCompare(b.urn))) {
    const list = byParent.get(r.parent) ?? [];
    list.push(r);
    byParent.set(r.parent, list);
  }
  return byParent;
}

/** The policy pack's verdict, one line per violation (stderr: every violation is an error of the plan). */
export function renderViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `error: policy ${v.policy}: ${v.message}\n`).join("");
}

export function renderTree(plan: Plan, violations: readonly Violation[]): string {
  const byParent = childrenOf(plan);
  const stack = plan.resources.find((r) => r.type === STACK_TYPE);
  const lines: string[] = [];
  const customCount = plan.resources.filter((r) => r.custom).length;
  lines.push(`Lazarus offline plan: stack ${plan.stack} (project ${plan.project}): ${customCount} resources to create`);
  lines.push("");

  const print = (r: DeclaredResource, depth: number) => {
    const pad = "  ".repeat(depth);
    const flags = [r.protect ? "protected" : "", r.deleteBeforeReplace ? "delete-before-replace" : ""].filter(Boolean);
    lines.push(`${pad}${r.custom ? "+ " : ""}${r.type}  ${r.name}${flags.length ? `  [${flags.join(", ")}]` : ""}`);
    if (r.custom && Object.keys(r.inputs).length) {
      const body = stringify(summarise(r.inputs), { lineWidth: 0 }).trimEnd();
      for (const l of body.split("\n")) lines.push(`${pad}    ${l}`);
    }
    for (const c of byParent.get(r.urn) ?? []) print(c, depth + 1);
  };
  // Group by platform: the stack's direct children are the shared environment and one component per platform.
  for (const top of byParent.get(stack?.urn) ?? []) {
    const label = top.type.startsWith("lazarus:platform:") ? `platform ${top.type.slice("lazarus:platform:".length).toLowerCase()}` : "shared environment";
    lines.push(`== ${label} ==`);
    print(top, 0);
    lines.push("");
  }
  if (plan.files.length) {
    lines.push("== rendered host files ==");
    for (const f of plan.files) lines.push(`  ${f.host}:${f.path}  mode ${f.mode}${f.secret ? "  [secret]" : ""}`);
    lines.push("");
  }
  lines.push(`== policy ${POLICY_PACK_NAME} ==`);
  lines.push(`  ${POLICIES.length} policies checked: ${violations.length ? `${violations.length} violation(s), listed on stderr` : "no violations"}`);
  lines.push("");
  lines.push("== stack outputs ==");
  lines.push(stringify(plan.outputs, { lineWidth: 0 }).trimEnd().replace(/^/gm, "  "));
  return lines.join("\n") + "\n";
}

export function renderJson(plan: Plan, warnings: string[], violations: readonly Violation[]): string {
  const steps = [...plan.resources].sort((a, b) => a.urn.localeCompare(b.urn)).map((r) => ({
    op: "create",
    urn: r.urn,
    newState: {
      urn: r.urn,
      type: r.type,
      custom: r.custom,
      parent: r.parent ?? "",
      protect: r.protect,
      inputs: r.inputs,
      dependencies: r.dependencies,
      deleteBeforeReplace: r.deleteBeforeReplace,
      replaceOnChanges: r.replaceOnChanges,
      ignoreChanges: r.ignoreChanges,
    },
  }));
  return (
    JSON.stringify(
      {
        stack: plan.stack,
        project: plan.project,
        steps,
        changeSummary: { create: steps.length },
        outputs: plan.outputs,
        files: plan.files.map(({ content, ...meta }) => ({ ...meta, ...(content === undefined ? {} : { content }) })),
        diagnostics: warnings.map((message) => ({ severity: "warning", message })),
        policyViolations: violations.map((v) => ({ policyPackName: POLICY_PACK_NAME, policyName: v.policy, enforcementLevel: "mandatory", urn: v.urn, message: v.message })),
      },
      null,
      2,
    ) + "\n"
  );
}
