// Reading an offline plan back from its JSON (`npm run plan -- --json`, cli/planFormat.ts renderJson), e.g. the base
// branch's plan in a pull-request check. A file that is not such a plan is refused with its name, the key and a fix.
import { readFileSync } from "node:fs";
import { z } from "zod";

const resourceState = z.object({
  urn: z.string(),
  type: z.string(),
  custom: z.boolean(),
  parent: z.string(),
  protect: z.boolean(),
  inputs: z.record(z.string(), z.unknown()),
  dependencies: z.array(z.string()),
  deleteBeforeReplace: z.boolean().optional(),
  replaceOnChanges: z.array(z.string()).optional(),
  ignoreChanges: z.array(z.string()).optional(),
});

export const planJsonSchema = z.object({
  stack: z.string(),
  project: z.string(),
  steps: z.array(z.object({ op: z.string(), urn: z.string(), newState: resourceState })),
  outputs: z.record(z.string(), z.unknown()).optional(),
  files: z
    .array(z.object({ platform: z.string(), host: z.string(), path: z.string(), mode: z.string(), secret: z.boolean(), content: z.string().optional() }))
    .optional(),
  diagnostics: z.array(z.object({ severity: z.string(), message: z.string() })).optional(),
  policyViolations: z.array(z.object({ policyName: z.string(), urn: z.string(), message: z.string() })).optional(),
});

export type PlanJson = z.infer<typeof planJsonSchema>;
export type PlanResource = PlanJson["steps"][number]["newState"];

/** Thrown when a plan file is missing or not an offline plan; the message names the file and says what to do. */
export class PlanFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanFileError";
  }
}

const HOW = "write it with: npm run plan -- --stack <stack> --json > <file>";

export function parsePlanJson(text: string, file: string): PlanJson {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PlanFileError(`${file}: not JSON (${(e as Error).message}); expected the output of \`npm run plan -- --json\`; ${HOW}`);
  }
  const parsed = planJsonSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`);
    throw new PlanFileError(`${file}: not an offline plan (${problems.join("; ")}); expected keys stack, project, steps[].newState{urn,type,inputs,...}; ${HOW}`);
  }
  return parsed.data;
}

export function readPlanJson(file: string): PlanJson {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new PlanFileError(`${file}: cannot read the plan (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ${HOW}`);
  }
  return parsePlanJson(text, file);
}
