// The compose host's `.env`, rendered from typed values. Pure: no Pulumi, no I/O. The text holds secrets, so the
// caller ships it as a Pulumi secret and writes it with mode 0600 (it is never part of a plan's output).
//
// Two readers must get every value back byte for byte:
//   - docker-compose 1.29 (Debian's; python-dotenv 0.21 `dotenv_values(interpolate=True)`), for the project's `.env`
//     and for `env_file:`;
//   - Docker Compose v2 (compose-go's dotenv parser), for the same two uses. v2 is not installed on the test machines:
//     its side rests on compose-go's dotenv/parser.go (single quotes literal, no `$` expansion; double quotes expand
//     `$NAME` and unescape `\"`; releases differ on `\'` inside single quotes, which is never written here), while
//     docker-compose 1.29's side is proven by `docker-compose config` in test/renderers/envFile-*.test.ts.
// Where they differ, the renderer stays on the common ground:
//   - plain values ([A-Za-z0-9] and _ . , : / @ + - = % ^ ~) are written unquoted: no reader changes them;
//   - anything else is single-quoted: compose-go takes single-quoted text literally (no `$` expansion), and
//     python-dotenv only decodes `\\` and `\'` inside single quotes and only interpolates `${NAME}` /
//     `${NAME:-default}`. So a single-quoted value may hold spaces, `#`, `"`, `$`, `$NAME`, `=`, but not `'`, not a
//     backslash before `\` or `'` or at the end, and not `${`;
//   - a value with `'` (and neither `$` nor `\`) is double-quoted with `"` escaped as `\"`: python-dotenv and
//     compose-go both read `\"` as `"` and have nothing else to expand;
//   - what neither quoting can carry identically (`'` together with `$` or `\` or a final `"`, `${`, a backslash
//     before `\`/`'`, newlines, NUL) is refused with an error naming the variable: pick another value (e.g. regenerate the password)
//     rather than ship a file the two Compose versions read differently.
// Variable names are POSIX names ([A-Za-z_][A-Za-z0-9_]*), which both parsers and the container's shell accept.

import { refuseField } from "./renderInputError";

const RENDERER = ".env";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLAIN = /^[A-Za-z0-9_.,:/@+\-=%^~]+$/;

/** How one value is written, or why it cannot be. Exported for platforms that check their values before rendering. */
export function envFileValue(name: string, value: string): string {
  if (typeof value !== "string") refuseField(RENDERER, name, `value must be a string, got ${typeof value}`);
  if (/[\n\r\0]/.test(value)) refuseField(RENDERER, name, "value contains a newline, carriage return or NUL, which a .env line cannot hold");
  if (value === "") return "''";
  if (PLAIN.test(value)) return value;
  if (value.includes("${")) {
    refuseField(RENDERER, name, 'value contains "${", which docker-compose 1.29 would interpolate even inside quotes; choose a value without it');
  }
  if (/\\(?=[\\']|$)/.test(value)) {
    refuseField(RENDERER, name, "value has a backslash before \\ or ' or at its end, which Compose v2 and docker-compose 1.29 unescape differently; choose a value without it");
  }
  if (!value.includes("'")) return `'${value}'`;
  if (/[$\\]/.test(value)) {
    refuseField(RENDERER, name, "value contains both ' and $ or \\, which no quoting carries identically to Compose v2 and docker-compose 1.29; choose a value without one of them");
  }
  if (value.endsWith('"')) {
    // Older compose-go trims every quote character from the end of a quoted value, escaped or not.
    refuseField(RENDERER, name, "value contains ' and ends with \", which older Compose v2 releases would cut off; choose a value without one of them");
  }
  return `"${value.replace(/"/g, '\\"')}"`;
}

export interface EnvFileOptions {
  /** Comment lines at the top (each prefixed with "# "). Never put a secret here. */
  header?: string;
}

/**
 * The `.env` text: one `NAME=value` line per variable, in the order given (object insertion order), with the quoting
 * described above. Throws RenderInputError naming the first variable that cannot be written.
 */
export function renderEnvFile(vars: Record<string, string>, opts: EnvFileOptions = {}): string {
  if (typeof vars !== "object" || vars === null || Array.isArray(vars)) refuseField(RENDERER, "(input)", "expected an object of NAME: value");
  const lines: string[] = [];
  if (opts.header) {
    for (const l of opts.header.split("\n")) lines.push(l ? `# ${l}` : "#");
  }
  for (const [name, value] of Object.entries(vars)) {
    if (!NAME.test(name)) refuseField(RENDERER, name, "is not a variable name (letters, digits and _, not starting with a digit; example: DB_PASSWORD)");
    lines.push(`${name}=${envFileValue(name, value)}`);
  }
  return `${lines.join("\n")}\n`;
}
