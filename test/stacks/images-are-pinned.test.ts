// Every image of every compose file the prod and staging stacks render carries a version tag (issue 8, defect 5:
// `minio/minio:latest` ran in prod). Walks the plan's files, not the inventories, so a platform that renders compose
// some other way is covered too. A `${VAR}` tag is allowed only for IMAGE_TAG, the application tag the stack config
// pins (the .env sets it), and never with a "latest" default.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { interpolationReferences } from "../../lib/inventory";
import { planFor } from "../support/stacks";

/** Why an image reference is not pinned, or undefined when it is. */
function unpinnedReason(ref: string): string | undefined {
  if (ref.includes("@sha256:")) return undefined;
  // Interpolations may hold ":" and "/" themselves: look for the tag with them masked.
  const vars: string[] = [];
  const masked = ref.replace(/\$\{[^}]*\}/g, (m) => `\u0000${vars.push(m) - 1}\u0000`);
  const lastSlash = masked.lastIndexOf("/");
  const colon = masked.indexOf(":", lastSlash + 1);
  if (colon < 0) return "has no tag (Docker pulls latest)";
  const tag = masked.slice(colon + 1);
  const variable = /^\u0000(\d+)\u0000$/.exec(tag);
  if (variable) {
    const text = vars[Number(variable[1])]!;
    const [v] = interpolationReferences(text);
    if (v?.name !== "IMAGE_TAG") return `takes its tag from ${text}; only IMAGE_TAG (the configured application tag) may`;
    if (/:?-latest\}$/.test(text)) return `falls back to latest (${text})`;
    return undefined;
  }
  if (tag.includes("\u0000")) return "builds its tag from part of a variable";
  if (tag === "latest") return "is tagged latest";
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) return `has a malformed tag "${tag}"`;
  return undefined;
}

describe("image references", () => {
  it("the check itself refuses what is not pinned", () => {
    expect(unpinnedReason("minio/minio:latest")).toMatch(/latest/);
    expect(unpinnedReason("minio/minio")).toMatch(/no tag/);
    expect(unpinnedReason("registry.local:5000/minio")).toMatch(/no tag/);
    expect(unpinnedReason("${REGISTRY_URL:-ghcr.io/goodgo}/goodgo-api:${IMAGE_TAG:-latest}")).toMatch(/latest/);
    expect(unpinnedReason("${REGISTRY_URL:-ghcr.io/goodgo}/goodgo-api:${OTHER_TAG}")).toMatch(/only IMAGE_TAG/);
    expect(unpinnedReason("${REGISTRY_URL:-ghcr.io/goodgo}/goodgo-api")).toMatch(/no tag/);
    expect(unpinnedReason("${REGISTRY_URL:-ghcr.io/goodgo}/goodgo-api:${IMAGE_TAG:-8f3c2a1}")).toBeUndefined();
    expect(unpinnedReason("minio/minio:RELEASE.2024-12-18T13-15-44Z")).toBeUndefined();
    expect(unpinnedReason("registry.local:5000/x:1.2")).toBeUndefined();
    expect(unpinnedReason("nginx@sha256:" + "a".repeat(64))).toBeUndefined();
  });

  it.each(["prod", "staging"])("every compose file of the %s stack pins every image", async (stack) => {
    const plan = await planFor(stack);
    const composeFiles = plan.files.filter((f) => f.content !== undefined && /\.ya?ml$/.test(f.path)).map((f) => ({ f, doc: parse(f.content!) }))
      .filter(({ doc }) => doc && typeof doc === "object" && doc.services);
    expect(composeFiles.length).toBeGreaterThanOrEqual(2); // KRO's and GoodGo's
    const problems: string[] = [];
    for (const { f, doc } of composeFiles) {
      for (const [name, svc] of Object.entries<any>(doc.services)) {
        const why = unpinnedReason(String(svc.image ?? ""));
        if (why) problems.push(`${f.platform} ${f.path}: service ${name} image ${svc.image} ${why}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
