// `lazarus dr plan` output: text for the terminal, JSON for machines, Markdown for a ticket or a PR comment.
import { formatDuration } from "../../lib/dr/markdown";
import type { RebuildPlan } from "./rebuildPlan";

function total(plan: RebuildPlan["platforms"][number]): string {
  if (!plan.steps.length) return "";
  const known = plan.steps.filter((s) => s.estimateSeconds !== undefined);
  if (!known.length) return "no drill yet";
  const sum = known.reduce((n, s) => n + (s.estimateSeconds ?? 0), 0);
  return `${formatDuration(sum)}${known.length < plan.steps.length ? ` for ${known.length} of ${plan.steps.length} steps` : ""}`;
}

const targetText = (p: RebuildPlan["platforms"][number]) =>
  p.targets.rtoSeconds === undefined && p.targets.rpoSeconds === undefined
    ? `targets: ${p.targets.source}`
    : `targets: RTO ${p.targets.rtoSeconds === undefined ? "none stated" : formatDuration(p.targets.rtoSeconds)}, RPO ${p.targets.rpoSeconds === undefined ? "none stated" : formatDuration(p.targets.rpoSeconds)} (${p.targets.source})`;

export function renderPlanText(plan: RebuildPlan): string {
  const out = [`Full rebuild of stack ${plan.stack} (label ${plan.label}); estimates: ${plan.estimatesFrom}`, `Order: ${plan.order}`, ""];
  plan.platforms.forEach((p, i) => {
    out.push(`${i + 1}. ${p.platform} (runbook ${p.runbook})${p.mode === "manual" ? ": NOT AUTOMATED" : ""}`);
    out.push(`   loss: ${p.loss}`);
    out.push(`   ${targetText(p)}`);
    if (p.mode === "manual") {
      out.push(`   ${p.manual}`, "");
      return;
    }
    const sw = p.switches;
    if (sw) out.push(`   switches: ${Object.keys(sw.recovery).length ? `recovery: ${JSON.stringify(sw.recovery)}` : "none (a refreshed up rebuilds it)"}${sw.refresh ? "; pulumi refresh first" : ""}`);
    else out.push(`   needs: ${p.needs}`);
    if (p.confirmToken) out.push(`   confirmation: ${p.confirmToken}`);
    p.steps.forEach((s, j) => out.push(`   ${String(j + 1).padStart(2)}. ${s.title}  [${s.estimateSeconds === undefined ? "no drill yet" : formatDuration(s.estimateSeconds)}]`));
    out.push(`   estimated: ${total(p)}`, ...(sw ? [`   afterwards: ${sw.afterwards}`] : []), "");
  });
  return out.join("\n");
}

export function renderPlanJson(plan: RebuildPlan): string {
  const { raw: _raw, ...rest } = plan;
  return JSON.stringify(rest, null, 2) + "\n";
}

export function renderPlanMarkdown(plan: RebuildPlan): string {
  const cell = (t: string) => t.replace(/\|/g, "\\|");
  const out = [`# lazarus dr plan: ${plan.stack}`, "", `Label \`${plan.label}\`; estimates: ${plan.estimatesFrom}.`, "", `Order: ${plan.order}.`, ""];
  for (const p of plan.platforms) {
    out.push(`## ${p.platform} (runbook ${p.runbook})`, "", `Loss: ${p.loss}.`, "", `${targetText(p)}.`, "");
    if (p.mode === "manual") {
      out.push(`**Not automated:** ${p.manual}.`, "");
      continue;
    }
    const sw = p.switches;
    out.push(sw ? `Switches: \`${JSON.stringify(sw.recovery)}\`${sw.refresh ? ", after `pulumi refresh`" : ""}${p.confirmToken ? `; confirmation \`${p.confirmToken}\`` : ""}.` : `**Needs:** ${p.needs}`, "");
    out.push("| # | step | estimate |", "|---|---|---|");
    p.steps.forEach((s, j) => out.push(`| ${j + 1} | ${cell(s.title)} | ${s.estimateSeconds === undefined ? "no drill yet" : formatDuration(s.estimateSeconds)} |`));
    out.push("", `Estimated: ${total(p)}.${sw ? ` Afterwards: ${sw.afterwards}.` : ""}`, "");
  }
  return out.join("\n");
}
