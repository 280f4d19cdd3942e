// The domain, certificate-name and email patterns live once in TypeScript (lib/patterns.ts); the host scripts carry
// their own copies (scripts/ops/lib-cert.sh) because bash cannot import them. Both are run here on the same values, and
// the shell's copy is sourced from the real file, so an edit to either side that changes what it accepts fails.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CERT_NAME, DOMAIN_NAME, EMAIL_ADDRESS } from "../../lib/patterns";
import { PROJECT_DIR } from "../support/stacks";

const LIB_CERT = join(PROJECT_DIR, "scripts/ops/lib-cert.sh");

/** Which of `values` bash's `[[ v =~ $VAR ]]` accepts, with VAR as lib-cert.sh defines it. */
function shellAccepts(variable: string, values: string[]): boolean[] {
  const script = `source ${JSON.stringify(LIB_CERT)}; for v in "$@"; do if [[ "$v" =~ $${variable} ]]; then echo 1; else echo 0; fi; done`;
  const r = spawnSync("bash", ["-c", script, "bash", ...values], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split("\n").map((l) => l === "1");
}

const CASES: Array<[string, RegExp, string, string[]]> = [
  [
    "domain names",
    DOMAIN_NAME,
    "CERT_DOMAIN_RE",
    ["kro.example.org", "a.b", "xn--bcher-kva.example", "a-b.c-d.example", "localhost", "Kro.example.org", "-a.example.org", "a-.example.org",
      "a..b", "a b.example", "kro.example.org.", `${"a".repeat(63)}.example`, `${"a".repeat(64)}.example`, "x.123", "kro_example.org", ""],
  ],
  ["certificate names", CERT_NAME, "CERT_NAME_RE", ["kro-prod", "kro.example.org", "A_1", "-kro", ".kro", "kro prod", "kro/prod", ""]],
  [
    "email addresses",
    EMAIL_ADDRESS,
    "CERT_EMAIL_RE",
    ["ops@example.org", "a+b@c.d", "ops@example", "@example.org", "ops@@example.org", "ops @example.org", "ops@example.org\t", "ops@exa mple.org", ""],
  ],
];

describe("patterns shared by TypeScript and the host scripts", () => {
  it.each(CASES)("%s: the shell accepts exactly what TypeScript accepts", (_what, re, variable, values) => {
    const ts = values.map((v) => re.test(v));
    expect(ts.some((a) => a) && ts.some((a) => !a), "the corpus has both accepted and refused values").toBe(true);
    expect(shellAccepts(variable, values)).toEqual(ts);
  });
});
