// The copy of the project `lazarus dr rebuild` runs the engine in: the project's Pulumi.yaml with `main` pointing back
// at the real program, and the user's Pulumi.<stack>.yaml with the rebuild's switches set (every other line, the
// encrypted secrets and the encryption salt kept as they are). The user's stack file is never edited, unless
// --write-config asks for exactly that.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseDocument } from "yaml";
import { NAMESPACE, type RawStackConfig } from "../../config/load";
import { stackFilePath } from "../../config/stackFile";
import type { RebuildPlan } from "./rebuildPlan";

/** The stack file's text with every automated platform's `recovery:` replaced by the plan's. */
export function switchedStackFile(projectDir: string, plan: RebuildPlan): string {
  const path = stackFilePath(projectDir, plan.stack);
  const doc = parseDocument(readFileSync(path, "utf8"));
  for (const p of plan.platforms) {
    if (p.mode !== "automated" || !p.switches || !Object.keys(p.switches.recovery).length) continue;
    const block = JSON.parse((plan.raw as RawStackConfig).values[`${NAMESPACE}:${p.platform}`]) as { recovery: unknown };
    doc.setIn(["config", `${NAMESPACE}:${p.platform}`, "recovery"], doc.createNode(block.recovery));
  }
  return doc.toString();
}

export interface ProjectCopy {
  dir: string;
  remove(): void;
}

/** A project copy under <project>/.lazarus/dr/ (ignored by git) whose program is the project's own. */
export function projectCopy(projectDir: string, plan: RebuildPlan): ProjectCopy {
  const root = join(projectDir, ".lazarus", "dr");
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, "work-"));
  const project = parseDocument(readFileSync(join(projectDir, "Pulumi.yaml"), "utf8"));
  const main = resolve(projectDir, String(project.get("main") ?? "."));
  project.set("main", relative(dir, main) || ".");
  writeFileSync(join(dir, "Pulumi.yaml"), project.toString());
  writeFileSync(stackFilePath(dir, plan.stack), switchedStackFile(projectDir, plan));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
