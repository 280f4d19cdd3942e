// The pull-request diff on pairs of REAL offline plans: the base is `npm run plan -- --json` of the real stack file, the
// head the same after a small edit of it (as a pull request would make). The Markdown is rendered by cmark-gfm (GitHub's
// renderer) and checked for structure, order (protected resources first) and secrets.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlanCli } from "../../cli/plan";
import { diffPlans, type PlanDiff } from "../../cli/planDiff";
import { runPlanDiffCli } from "../../cli/planDiffCli";
import { renderDiffMarkdown, COMMENT_MARKER } from "../../cli/planDiffMarkdown";
import { renderJson } from "../../cli/planFormat";
import { parsePlanJson, type PlanJson } from "../../cli/planJson";
import { REPLACE_RULES } from "../../cli/replaceRules";
import { REPO_ROOT as REPO } from "../../lib/engine/install";
import { gfmToHtml, headings } from "../support/markdown";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, keepOnlyPlatforms, patchedProject, planFor } from "../support/stacks";

type ConfigMap = Record<string, any>;

async function planJson(patch?: (c: ConfigMap) => void, stack = "prod"): Promise<{ json: PlanJson; text: string }> {
  const dir = patchedProject(stack, patch ?? (() => {}));
  const r = await runPlanCli(["--stack", stack, "--json", "--project-dir", dir]);
  if (r.code !== 0 && r.code !== 3) throw new Error(`plan failed (${r.code}): ${r.stderr}`);
  return { json: parsePlanJson(r.stdout, "prod plan"), text: r.stdout };
}

const kro = (c: ConfigMap) => c["lazarus:kro"];

let base: { json: PlanJson; text: string };
const heads: Record<string, PlanJson> = {};
const diffs: Record<string, PlanDiff> = {};
const markdown: Record<string, string> = {};

const EDITS: Record<string, (c: ConfigMap) => void> = {
  imageTag: (c) => (kro(c).app.imageTag = "v1.8.4"),
  rebuildHost: (c) => (kro(c).recovery = { host: { fromSnapshot: "187654321", confirm: "prod/kro/rebuild-host" } }),
  operation: (c) => (kro(c).operations = [{ id: "2026-12-01-restart-backend", action: "restart-service", service: "backend" }]),
  vpcRange: (c) => (c["lazarus:environment"].vpc.ipRange = "10.120.0.0/20"),
  dropDbis: (c) => delete c["lazarus:dbis"],
};
// A policy violation the config accepts (as in test/cli/plan-policy.test.ts): staging's admin ports open to the world.
const stagingKroGoodgo = (c: ConfigMap) => keepOnlyPlatforms(c, ["kro", "goodgo"]);
const worldAdmin = (c: ConfigMap) => {
  stagingKroGoodgo(c);
  c["lazarus:environment"].adminCidrs = ["0.0.0.0/0"];
};
let stagingBase: PlanJson;

beforeAll(async () => {
  base = await planJson();
  for (const [name, edit] of Object.entries(EDITS)) {
    heads[name] = (await planJson(edit)).json;
    diffs[name] = diffPlans(base.json, heads[name]);
    markdown[name] = renderDiffMarkdown([{ stack: "prod", diff: diffs[name] }], { baseRef: "main", headRef: name });
  }
  stagingBase = (await planJson(stagingKroGoodgo, "staging")).json;
  heads.worldAdmin = (await planJson(worldAdmin, "staging")).json;
  diffs.worldAdmin = diffPlans(stagingBase, heads.worldAdmin);
  markdown.worldAdmin = renderDiffMarkdown([{ stack: "staging", diff: diffs.worldAdmin }], { baseRef: "main", headRef: "worldAdmin" });
}, 300_000);

const change = (d: PlanDiff, name: string) => {
  const c = d.resources.find((r) => r.name === name);
  if (!c) throw new Error(`${name} not in the diff; changed: ${d.resources.map((r) => `${r.kind} ${r.name}`).join(", ")}`);
  return c;
};

describe("plan diff on real plan pairs", () => {
  it("the same stack file gives an empty diff (the plan is deterministic)", async () => {
    const again = await planJson();
    const d = diffPlans(base.json, again.json);
    expect(d.resources).toEqual([]);
    expect(d.files).toEqual([]);
    expect(renderDiffMarkdown([{ stack: "prod", diff: d }])).toContain("No change: the same");
  });

  it("a changed image tag: the compose file is rewritten and compose up re-runs (its file digests are its triggers)", () => {
    const d = diffs.imageTag;
    const writer = change(d, "kro-prod-software-file-root-Kro-kro-devops-production-docker-compose-yml");
    expect(writer.kind).toBe("update");
    expect(writer.changes.map((c) => c.path)).toEqual(["stdin", "triggers[0]"].filter((p) => writer.changes.some((c) => c.path === p)));
    expect(writer.runs).toBe(true);
    const up = change(d, "kro-prod-compose-up");
    expect(up.kind).toBe("replace");
    expect(up.because.join()).toMatch(/^triggers\[\d+\] \(provider rule\)/);
    expect(d.resources.filter((c) => c.kind === "delete" || c.protect.after)).toEqual([]);
    const file = d.files.find((f) => f.path.endsWith("docker-compose.yml"))!;
    expect(file.kind).toBe("update");
    expect(markdown.imageTag).toContain("-    image: registry.digitalocean.com/kro/backend:v1.8.3\n+    image: registry.digitalocean.com/kro/backend:v1.8.4");
    expect(markdown.imageTag).not.toContain("Read these first");
  });

  it("a recovery switch (KRO host from a snapshot): the droplet is replaced because of its image, unprotected for it, and what hangs on it is listed", () => {
    const d = diffs.rebuildHost;
    const droplet = change(d, "kro-prod-host");
    expect(droplet.kind).toBe("replace");
    expect(droplet.because).toEqual(["image (provider rule)"]);
    expect(droplet.changes).toContainEqual({ path: "image", before: "ubuntu-24-04-x64", after: "187654321" });
    expect(droplet.protect).toEqual({ before: true, after: false });
    // The reserved IP's assignment takes the droplet id, which replaces it (ForceNew droplet_id).
    expect(change(d, "kro-prod-host-ip-assignment")).toMatchObject({ kind: "replace", because: ["dropletId (provider rule; from kro-prod-host, replaced)"] });
    // Host steps are keyed on the machine (triggers): they run again on the new droplet.
    expect(change(d, "kro-prod-compose-up")).toMatchObject({ kind: "replace", runs: true });
    // The database is not touched.
    expect(d.resources.filter((c) => c.name.startsWith("kro-prod-db") && (c.kind === "replace" || c.kind === "delete"))).toEqual([]);
    // The cause is listed first among the replacements, then what follows from it.
    expect(markdown.rebuildHost).toContain("#### Replaced (13)\n\n- **replaced** `kro-prod-host` (Droplet) because `image` (provider rule)\n");
    expect(markdown.rebuildHost).toContain("- **replaced** `kro-prod-host-ip-assignment` (ReservedIpAssignment) because `dropletId` (provider rule; from kro-prod-host, replaced) · deleted before its replacement exists");
    expect(markdown.rebuildHost).toContain("`kro-prod-host-firewall` (dropletIds)");
    const first = markdown.rebuildHost.slice(markdown.rebuildHost.indexOf("### ⚠️ Read these first"));
    expect(first).toMatch(/^### ⚠️ Read these first\n\n- \*\*prod\*\* · 🔒 \*\*replace\*\* of `kro-prod-host` \(Droplet\) because `image` \(provider rule\): unprotected by this change/);
  });

  it("an added operation runs at the next up, listed first with its command; nothing else runs", () => {
    const d = diffs.operation;
    const op = change(d, "kro-prod-op-2026-12-01-restart-backend");
    expect(op).toMatchObject({ kind: "add", oneShot: "operation", runs: true });
    expect(d.resources.filter((c) => c.runs).map((c) => c.name)).toEqual(["kro-prod-op-2026-12-01-restart-backend"]);
    const md = markdown.operation;
    expect(md).toContain("#### Recovery steps and operations that run at the next `pulumi up` (1)");
    expect(md).toContain("- operation `kro-prod-op-2026-12-01-restart-backend`: `bash /opt/lazarus/scripts/ops/compose-service.sh --dir /root/Kro/kro-devops/production --wait -- restart backend`");
  });

  it("a replaced resource spreads: a new VPC range replaces the VPC, and through private_network_uuid/vpc_uuid the protected clusters and droplets, which the engine refuses", () => {
    const d = diffs.vpcRange;
    expect(change(d, "lazarus-prod-vpc")).toMatchObject({ kind: "replace", because: ["ipRange (provider rule)"] });
    expect(change(d, "kro-prod-db")).toMatchObject({ kind: "replace", because: ["privateNetworkUuid (provider rule; from lazarus-prod-vpc, replaced)"], protect: { before: true, after: true } });
    expect(change(d, "goodgo-prod-host")).toMatchObject({ kind: "replace", because: ["vpcUuid (provider rule; from lazarus-prod-vpc, replaced)"] });
    expect(change(d, "kro-prod-db-db-kro").because).toEqual(["clusterId (provider rule; from kro-prod-db, replaced)"]);
    expect(markdown.vpcRange).toContain(
      "- **prod** · 🔒 **replace** of `kro-prod-db` (DatabaseCluster) because `privateNetworkUuid` (provider rule; from lazarus-prod-vpc, replaced): protected in the program and in state: the engine refuses it, `pulumi up` fails",
    );
  });

  it("a protected resource deleted (DBIS removed from the stack file) is the first thing the comment says", () => {
    const d = diffs.dropDbis;
    const deleted = d.resources.filter((c) => c.kind === "delete");
    expect(deleted.map((c) => c.name)).toContain("dbis-prod-db");
    expect(deleted.every((c) => c.name.startsWith("dbis-prod") || c.name.startsWith("dbis-"))).toBe(true);
    const html = gfmToHtml(markdown.dropDbis);
    const firstItem = /<h3>⚠️ Read these first<\/h3>\s*<ul>\s*<li>(.*?)<\/li>/s.exec(html)![1];
    expect(firstItem).toMatch(/^<strong>prod<\/strong> · 🔒 <strong>delete<\/strong> of protected <code>dbis-prod-[a-z-]+<\/code> \((DatabaseCluster|SpacesBucket|Droplet|ReservedIp|LoadBalancer|DatabaseReplica|DatabaseDb|DatabaseUser)\): the engine refuses/);
    // Every protected deletion is listed before any other item.
    const items = [...html.slice(html.indexOf("Read these first")).split("<h3>prod")[0].matchAll(/<li>(.*?)<\/li>/gs)].map((m) => m[1]);
    const protectedDeletes = deleted.filter((c) => c.protect.before).length;
    expect(protectedDeletes).toBeGreaterThanOrEqual(6);
    expect(items.slice(0, protectedDeletes).every((i) => i.includes("delete</strong> of protected"))).toBe(true);
    // The secret files of the removed platform are named, never shown.
    expect(markdown.dropDbis).toContain("`dbis-prod-software:/opt/dbis/.env` (secret file: content not in the plan)");
  });

  it("policy results: new violations are listed first and counted in the summary; reverting shows them fixed", () => {
    const d = diffs.worldAdmin;
    expect(d.policy.added.map((v) => v.policyName)).toEqual(["no-public-data-ports", "no-public-data-ports", "no-public-data-ports"]);
    expect(change(d, "kro-staging-host-firewall").kind).toBe("update");
    expect(markdown.worldAdmin).toMatch(/\| staging \| 0 \| \d+ \| 0 \| 0 \| \d+ \| ❌ 3 violation\(s\), 3 new \|/);
    expect(markdown.worldAdmin).toContain("### ⚠️ Read these first\n\n- **staging** · ❌ new policy violation **no-public-data-ports**: goodgo-staging-host-firewall: inbound tcp 22 is open to 0.0.0.0/0");
    const back = diffPlans(heads.worldAdmin, stagingBase);
    expect(back.policy.resolved).toHaveLength(3);
    expect(renderDiffMarkdown([{ stack: "staging", diff: back }])).toContain("| ✅ none (3 fixed) |");
  });

  it("renders as GitHub-flavoured Markdown with the summary table, the headings in order and every code block closed", () => {
    for (const [name, md] of Object.entries(markdown)) {
      expect(md.startsWith(`${COMMENT_MARKER}\n## Lazarus: what this change does to each stack\n`), name).toBe(true);
      const html = gfmToHtml(md);
      expect(html, name).toContain("<table>");
      expect(html, name).toMatch(/<th>stack<\/th>\s*<th align="right">added<\/th>/);
      const h = headings(html);
      expect(h[0]).toBe("h2 Lazarus: what this change does to each stack");
      const prod = h.findIndex((x) => x === "h3 prod" || x === "h3 staging");
      expect(prod, name).toBeGreaterThan(0);
      // Within a stack: what runs first, then replaced, deleted, added, changed, files, policy.
      const order = ["h4 Recovery steps", "h4 Replaced", "h4 Deleted", "h4 Added", "h4 Changed in place", "h4 Rendered host files", "h4 Policy"];
      const seen = h.slice(prod + 1).map((x) => order.findIndex((o) => x.startsWith(o))).filter((i) => i >= 0);
      expect(seen, name).toEqual([...seen].sort((a, b) => a - b));
      // A fence left open would swallow the rest: the last heading must still be a heading, and <details> balanced.
      expect((html.match(/<details>/g) ?? []).length, name).toBe((html.match(/<\/details>/g) ?? []).length);
      expect(html, name).not.toMatch(/<code>[^<]*### /);
    }
  });

  it("never shows a secret: with every secret set (and rotated in the head), neither value reaches the comment", async () => {
    const rotated = Object.fromEntries(Object.entries(ALL_SENTINEL_SECRETS).map(([k, v]) => [k, v.replace(/SENTINEL-/g, "ROTATED-")]));
    const before = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
    const after = await planFor("prod", { secrets: rotated, patch: EDITS.imageTag });
    // The secrets really are in the program's inputs (so the test can catch a leak).
    expect(JSON.stringify(before.resources.map((r) => r.rawInputs))).toContain(ALL_SENTINEL_MARKERS[0]);
    const d = diffPlans(parsePlanJson(renderJson(before, [], []), "before"), parsePlanJson(renderJson(after, [], []), "after"));
    const md = renderDiffMarkdown([{ stack: "prod", diff: d }]);
    expect(md).toContain("v1.8.4");
    for (const marker of ALL_SENTINEL_MARKERS) {
      expect(md).not.toContain(marker);
      expect(md).not.toContain(marker.replace("SENTINEL-", "ROTATED-"));
    }
    expect(md).not.toMatch(/SENTINEL|ROTATED/);
  }, 120_000);

  it("knows the replace rule of every resource type the stack files declare (a new type needs its rule, with its source)", () => {
    const types = new Set([...base.json.steps, ...stagingBase.steps].filter((s) => s.newState.custom).map((s) => s.newState.type));
    expect([...types].filter((t) => !REPLACE_RULES[t])).toEqual([]);
    for (const t of types) expect(REPLACE_RULES[t].source, t).toMatch(/\.go/);
  });

  it("fits a comment: cut below the limit with a note, never inside a <details> block", () => {
    const small = renderDiffMarkdown([{ stack: "prod", diff: diffs.vpcRange }], { maxChars: 4000 });
    expect(small.length).toBeLessThanOrEqual(4000);
    expect(small).toMatch(/full diff is in the workflow's job summary/);
    const html = gfmToHtml(small);
    expect((html.match(/<details>/g) ?? []).length).toBe((html.match(/<\/details>/g) ?? []).length);
  });
});

describe("npm run plan:diff and plan --diff", () => {
  it("diffs every stack found in the base and head directories into one comment; a side that failed is reported, not compared", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lazarus-plan-diff-"));
    const [b, h] = [join(dir, "base"), join(dir, "head")];
    for (const d of [b, h]) require("node:fs").mkdirSync(d);
    writeFileSync(join(b, "prod.json"), base.text);
    writeFileSync(join(h, "prod.json"), JSON.stringify(heads.operation));
    writeFileSync(join(b, "staging.err"), "Pulumi.staging.yaml: lazarus:kro.host.sise: unknown key \"sise\" (did you mean \"size\"?)\n");
    const staging = await runPlanCli(["--stack", "staging", "--json"]);
    writeFileSync(join(h, "staging.json"), staging.stdout);
    const r = await runPlanDiffCli(["--base", b, "--head", h, "--base-ref", "abc1234", "--head-ref", "def5678", "--out", join(dir, "comment.md")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Base `abc1234` → head `def5678`.");
    expect(r.stdout).toContain("| staging | – | – | – | – | – | ⚠️ not compared |");
    expect(r.stdout).toContain('⚠️ not compared: the base plan failed: Pulumi.staging.yaml: lazarus:kro.host.sise: unknown key "sise"');
    expect(headings(gfmToHtml(r.stdout)).filter((x) => x.startsWith("h3 "))).toEqual(["h3 prod", "h3 staging"]);
    // Plans made in two checkouts differ in the scripts directory's path only; --base-root/--head-root say so.
    const elsewhere = (text: string) => text.split(REPO).join("/home/runner/work/lazarus/base");
    writeFileSync(join(b, "prod.json"), elsewhere(base.text));
    writeFileSync(join(h, "prod.json"), base.text);
    const moved = await runPlanDiffCli(["--base", b, "--head", h]);
    expect(moved.stdout).toMatch(/- `kro-prod-software-scripts` \(CopyToRemote\) · runs its command again\n  - `source\.archive\.path`: `"\/home\/runner\/work\/lazarus\/base\/scripts\/"`/);
    const rooted = await runPlanDiffCli(["--base", b, "--head", h, "--base-root", "/home/runner/work/lazarus/base", "--head-root", REPO]);
    expect(rooted.stdout).toContain("### prod\n\nNo change: the same");
    // A stack new in the head (no stack file on the base, no error) is diffed against nothing: everything is added.
    writeFileSync(join(h, "dr.json"), staging.stdout.replace(/"stack": "staging"/, '"stack": "dr"'));
    const added = await runPlanDiffCli(["--base", b, "--head", h]);
    const count = JSON.parse(staging.stdout).steps.filter((s: { newState: { custom: boolean } }) => s.newState.custom).length;
    expect(added.stdout).toMatch(new RegExp(`\\| dr \\| ${count} \\| 0 \\| 0 \\| 0 \\| \\d+ \\| ✅ none \\|`));
  }, 120_000);

  it("refuses a base that is not a plan, naming the file and how to write one (exit 2)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lazarus-plan-diff-"));
    writeFileSync(join(dir, "base.json"), JSON.stringify({ stack: "prod", steps: [{ op: "create" }] }));
    const r = await runPlanCli(["--stack", "prod", "--diff", join(dir, "base.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: ${join(dir, "base.json")}: not an offline plan (`);
    expect(r.stderr).toContain("write it with: npm run plan -- --stack <stack> --json > <file>");
    const missing = await runPlanDiffCli(["--base", join(dir, "nope.json"), "--head", join(dir, "base.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.json: cannot read the plan \(ENOENT\)/);
  }, 120_000);

  it("plan --diff prints the comment for one stack against a base plan file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lazarus-plan-diff-"));
    writeFileSync(join(dir, "base.json"), base.text);
    const project = patchedProject("prod", EDITS.operation);
    const r = await runPlanCli(["--stack", "prod", "--project-dir", project, "--diff", join(dir, "base.json")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("| prod | 1 | 0 | 0 | 0 | 1 | ✅ none |");
  }, 120_000);
});
