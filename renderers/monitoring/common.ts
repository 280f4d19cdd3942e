// Shared helpers of the monitoring renderers: input checks that fail before anything is rendered, and YAML output.
// Each check takes the refusing renderer's name ("prometheus", "grafana", ...) for its RenderInputError.
import { stringify } from "yaml";
import { refuseField } from "../renderInputError";

/** Prometheus-style durations ("15s", "5m", "1h30m", "30d"). */
const DURATION = /^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$/;

export function checkDuration(renderer: string, where: string, value: string): string {
  if (value === "" || !DURATION.test(value)) {
    refuseField(renderer, where, `expected a duration such as "15s", "5m" or "4h", got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Prometheus label names. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function checkLabelName(renderer: string, where: string, name: string): string {
  if (!LABEL_NAME.test(name)) {
    refuseField(renderer, where, `expected a label name matching ${LABEL_NAME}, got ${JSON.stringify(name)}`);
  }
  return name;
}

export function checkUnique(renderer: string, where: string, values: readonly string[]): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) refuseField(renderer, where, `${JSON.stringify(v)} appears more than once; names must be unique`);
    seen.add(v);
  }
}

export function checkNonEmpty(renderer: string, where: string, value: string): string {
  if (value.trim() === "") refuseField(renderer, where, "must not be empty");
  return value;
}

/** An absolute path inside a container or host (never a URL: secret-bearing URLs must be shipped as files). */
export function checkAbsolutePath(renderer: string, where: string, value: string): string {
  if (!value.startsWith("/") || /\s/.test(value) || value.includes("://")) {
    refuseField(renderer, where, `expected an absolute file path such as "/etc/alertmanager/secrets/slack_webhook_url", got ${JSON.stringify(value)}`);
  }
  return value;
}

/** YAML text with a header comment; long PromQL expressions are never folded. */
export function toYaml(value: unknown, header?: string): string {
  const body = stringify(value, { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });
  if (!header) return body;
  const comment = header
    .split("\n")
    .map((l) => (l === "" ? "#" : `# ${l}`))
    .join("\n");
  return `${comment}\n${body}`;
}

/** Drops keys whose value is undefined, so optional fields never render as `null`. */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out as T;
}
