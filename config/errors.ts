// Turning bad stack config into messages an operator can act on at 3 a.m.:
// `Pulumi.prod.yaml: lazarus:kro.droplet.size: "s-2vcpu-4g" is not a droplet size slug (example: s-2vcpu-4gb)`.
import { z } from "zod";

/** Thrown before any resource is declared when the stack config is wrong. Carries every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(
    readonly stackFile: string,
    readonly problems: string[],
  ) {
    super(
      problems.length === 1
        ? problems[0]
        : `${stackFile}: ${problems.length} problems in the stack config:\n` + problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

export function renderValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? text.slice(0, 77) + "..." : text;
}

/** Classic edit distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

export function closest(key: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(key.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function typeName(expected: string): string {
  switch (expected) {
    case "object":
      return "a mapping of keys to values";
    case "array":
      return "a list";
    case "boolean":
      return "true or false";
    case "number":
    case "int":
      return "a number";
    default:
      return `a ${expected}`;
  }
}

/** Schemas attach `example` metadata so type errors can show a fix; this finds it for a path. */
export type ExampleLookup = (path: PropertyKey[]) => string | undefined;

/**
 * Marks a union member's first check as "this value has the other shape": when every other member says so, the union's
 * error is the issues of the one member left, so the operator reads what is wrong with the shape they wrote.
 */
export const OTHER_UNION_SHAPE = "lazarusOtherUnionShape";

function isOtherShape(issue: z.core.$ZodIssue): boolean {
  return issue.code === "custom" && issue.params?.[OTHER_UNION_SHAPE] === true;
}

/** Replaces a union's issue by the issues of its one applicable member (see OTHER_UNION_SHAPE), paths made absolute. */
function applicableIssues(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== "invalid_union") return [issue];
  const applicable = issue.errors.filter((member) => !member.some(isOtherShape));
  if (applicable.length !== 1) return [issue];
  return applicable[0].flatMap((inner) => applicableIssues({ ...inner, path: [...issue.path, ...inner.path] }));
}

/** The schemas a value at this node is checked by, through optional/default/prefault wrappers, pipes and unions. */
function alternatives(node: z.ZodType): z.ZodType[] {
  if (node instanceof z.ZodOptional || node instanceof z.ZodNullable || node instanceof z.ZodDefault || node instanceof z.ZodPrefault) {
    return alternatives(node.unwrap() as z.ZodType);
  }
  if (node instanceof z.ZodPipe) return [...alternatives(node.in as z.ZodType), ...alternatives(node.out as z.ZodType)];
  if (node instanceof z.ZodUnion) return (node.options as z.ZodType[]).flatMap(alternatives);
  return [node];
}

function knownKeysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  let nodes = [schema];
  for (const seg of path) {
    nodes = nodes.flatMap(alternatives).flatMap((node): z.ZodType[] => {
      if (node instanceof z.ZodObject) return [(node.shape as Record<string, z.ZodType>)[String(seg)]].filter(Boolean);
      if (node instanceof z.ZodArray) return [node.element as z.ZodType];
      if (node instanceof z.ZodRecord) return [node.valueType as z.ZodType];
      return [];
    });
  }
  return [...new Set(nodes.flatMap(alternatives).flatMap((n) => (n instanceof z.ZodObject ? Object.keys(n.shape) : [])))];
}

/** zod's built-in messages start like this; ours are sentences written to follow the offending value. */
const DEFAULT_MESSAGE = /^(Invalid|Too (big|small)|Unrecognized|Expected)/;

function describeIssue(issue: z.core.$ZodIssue, schema: z.ZodType): string {
  let input = (issue as { input?: unknown }).input;
  // A discriminated union reports the whole object; show the discriminator's value instead.
  const last = issue.path[issue.path.length - 1];
  if (input !== null && typeof input === "object" && !Array.isArray(input) && typeof last === "string" && last in input) {
    input = (input as Record<string, unknown>)[last];
  }
  if (!DEFAULT_MESSAGE.test(issue.message) && issue.code !== "unrecognized_keys") {
    return input === undefined ? issue.message : `${renderValue(input)} ${issue.message}`;
  }
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return `is required but missing (expected ${typeName(issue.expected)})`;
      return `${renderValue(input)} is not ${typeName(issue.expected)}`;
    case "unrecognized_keys": {
      const known = knownKeysAt(schema, issue.path);
      return issue.keys
        .map((k) => {
          const guess = closest(k, known);
          return `unknown key "${k}"${guess ? ` (did you mean "${guess}"?)` : ""}; known keys: ${known.join(", ")}`;
        })
        .join("; ");
    }
    case "invalid_value":
      return `${renderValue(input)} is not one of ${issue.values.map((v) => renderValue(v)).join(", ")}`;
    default:
      // Our own refinements carry complete sentences ("is not a droplet size slug (example: s-2vcpu-4gb)").
      return input === undefined ? issue.message : `${renderValue(input)} ${issue.message}`;
  }
}

function keyPath(root: string, path: PropertyKey[]): string {
  let out = root;
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : `.${String(seg)}`;
  return out;
}

/** Formats every zod issue as `<file>: <config key path>: <what is wrong>`. */
export function formatIssues(stackFile: string, rootKey: string, schema: z.ZodType, error: z.ZodError): string[] {
  return error.issues.flatMap(applicableIssues).map((issue) => {
    // An unknown key is reported at the key itself, not at its parent mapping.
    const path =
      issue.code === "unrecognized_keys" && issue.keys.length === 1 ? [...issue.path, issue.keys[0]] : issue.path;
    const what = describeIssue(issue, schema);
    return `${stackFile}: ${keyPath(rootKey, path)}: ${what}`;
  });
}
