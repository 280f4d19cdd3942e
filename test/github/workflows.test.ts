// The GitHub workflows (.github/workflows/) checked by actionlint (built from its Go module by
// tools/build-actionlint.sh; it runs shellcheck on every `run:` step), plus what actionlint does not check: every step
// named, every action pinned to a commit, the pull-request preview safe for forks (pull_request with a read-only token,
// no secret in the job that runs the pull request's code, credentials only for this repository's branches), the
// comment workflow never running the pull request's code. The scripts they run are run here for real.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { COMMENT_MARKER } from "../../cli/planDiffMarkdown";
import { parsePlanJson } from "../../cli/planJson";
import { REPO_ROOT } from "../../lib/engine/install";

const WORKFLOWS = join(REPO_ROOT, ".github/workflows");
const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml"));
const version = readFileSync(join(REPO_ROOT, "tools/actionlint.version"), "utf8").trim();
const actionlint = join(process.env.LAZARUS_TOOLS_DIR ?? join(homedir(), ".cache/lazarus-tools"), `actionlint-${version}`, "actionlint");
const ci = process.env.CI === "true";

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Job = { name?: string; if?: string; steps: Step[]; permissions?: unknown; environment?: unknown };
type Workflow = { name: string; on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> };
const workflow = (f: string) => parse(readFileSync(join(WORKFLOWS, f), "utf8")) as Workflow;
const text = (f: string) => readFileSync(join(WORKFLOWS, f), "utf8");

function runActionlint(args: string[]) {
  return spawnSync(actionlint, ["-color=false", ...args], { encoding: "utf8", cwd: REPO_ROOT });
}

describe("workflows under actionlint", () => {
  if (!existsSync(actionlint)) {
    // As for the engine: CI installs it (tools/install-deps.sh), so there its absence fails; locally, a skip says how.
    if (ci) it("has actionlint installed", () => expect.fail(`${actionlint} missing: run bash tools/build-actionlint.sh`));
    else it.skip(`actionlint ${version} not built: bash tools/build-actionlint.sh`, () => {});
    return;
  }

  it("passes actionlint (with shellcheck on every run: step)", () => {
    expect(files.sort()).toEqual(["drift.yml", "pr-preview-comment.yml", "pr-preview.yml"]);
    const r = runActionlint(files.map((f) => join(".github/workflows", f)));
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("would refuse a shell mistake in a run: step (shellcheck really runs) and an unknown expression", () => {
    const dir = mkdtempSync(join(tmpdir(), "lazarus-actionlint-"));
    const broken = text("drift.yml").replace('echo "code=$rc" >>"$GITHUB_OUTPUT"', 'echo "code=$rc" >>$GITHUB_OUTPUT').replace("steps.drift.outputs.code == '4'", "steps.drfit.outputs.code == '4'");
    writeFileSync(join(dir, "drift.yml"), broken);
    const r = runActionlint([join(dir, "drift.yml")]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/shellcheck reported issue in this script: SC2086/);
    expect(r.stdout).toMatch(/property "drfit" is not defined/);
  });
});

describe("what the workflows promise", () => {
  it("names every job and every step, and pins every action to a commit with its version beside it", () => {
    for (const f of files) {
      const w = workflow(f);
      for (const [id, job] of Object.entries(w.jobs)) {
        expect(job.name, `${f} job ${id}`).toBeTruthy();
        for (const s of job.steps) {
          expect(s.name, `${f} job ${id}: a step without a name (${s.uses ?? s.run?.slice(0, 40)})`).toBeTruthy();
          if (s.uses) expect(s.uses, `${f}: ${s.name}`).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        }
      }
      for (const line of text(f).split("\n").filter((l) => /uses: /.test(l))) expect(line, f).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
  });

  it("the PR preview runs on pull_request (never pull_request_target) with a read-only token, and its offline job sees no secret", () => {
    const w = workflow("pr-preview.yml");
    expect(Object.keys(w.on)).toEqual(["pull_request"]);
    expect(w.permissions).toEqual({ contents: "read" });
    for (const job of Object.values(w.jobs)) expect(job.permissions).toBeUndefined();
    expect(JSON.stringify(w.jobs["offline-plan"])).not.toMatch(/secrets\./);
    // Credentials only for branches of this repository (forks get none anyway; the job would only fail).
    const withSecrets = Object.entries(w.jobs).filter(([, j]) => JSON.stringify(j).includes("secrets."));
    expect(withSecrets.map(([id]) => id)).toEqual(["pulumi-preview"]);
    expect(w.jobs["pulumi-preview"].if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    expect(w.jobs["pulumi-preview"].steps.find((s) => s.uses?.startsWith("pulumi/actions@"))?.with).toMatchObject({ command: "preview", policyPacks: "policy", "comment-on-pr": false });
    for (const f of files) expect(Object.keys(workflow(f).on), f).not.toContain("pull_request_target");
  });

  it("the comment workflow runs after the preview, never checks out or runs the pull request's code, and keeps one comment", () => {
    const w = workflow("pr-preview-comment.yml");
    expect(w.on).toEqual({ workflow_run: { workflows: ["PR preview"], types: ["completed"] } });
    expect(workflow("pr-preview.yml").name).toBe("PR preview");
    const steps = w.jobs.comment.steps;
    expect(steps.filter((s) => s.uses?.startsWith("actions/checkout@"))).toEqual([]);
    expect(steps.map((s) => s.run ?? "").join("\n")).not.toMatch(/\bnpm\b|\bnode\b|\bbash [a-z]|\bsource\b/);
    const post = steps.find((s) => s.name === "Post or update the one comment")!;
    // The marker it looks for is the one the diff writes.
    expect(post.env!.MARKER).toBe(COMMENT_MARKER);
    expect(post.run).toContain("--method PATCH");
  });

  it("the drift workflow is scheduled, runs a refresh preview per stack and reads it with npm run drift", () => {
    const w = workflow("drift.yml");
    expect(Object.keys(w.on)).toEqual(["schedule", "workflow_dispatch"]);
    expect(w.permissions).toEqual({ contents: "read", issues: "write" });
    const runs = w.jobs.drift.steps.map((s) => s.run ?? "").join("\n");
    expect(runs).toContain("bash tools/ci/refresh-preview-stacks.sh . drift-events");
    expect(runs).toContain("npm run --silent drift -- --events-dir drift-events");
    expect(runs).toContain('bash tools/ci/check-host-files.sh drift-hosts "$RUNNER_TEMP/hosts_key" "$RUNNER_TEMP/known_hosts"');
    // The hosts' key is written 0600 before use and removed after.
    expect(runs).toMatch(/install -m 0600 \/dev\/null "\$RUNNER_TEMP\/hosts_key"\n\s*printf '%s\\n' "\$HOSTS_SSH_KEY" >"\$RUNNER_TEMP\/hosts_key"/);
    expect(runs).toContain('rm -f "$RUNNER_TEMP/hosts_key"');

    const scripts = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    expect(scripts.drift).toBe("tsx cli/drift.ts");
    expect(scripts["plan:diff"]).toBe("tsx cli/planDiffCli.ts");
    expect(scripts["drift:hosts"]).toBe("tsx cli/hostDrift.ts");
  });
});

describe("tools/ci/plan-stacks.sh (what the PR preview runs on each checkout)", () => {
  it("is shellcheck-clean, like its siblings (each run for real: here, and in test/engine/drift.test.ts)", () => {
    const r = spawnSync("shellcheck", ["tools/ci/plan-stacks.sh", "tools/ci/refresh-preview-stacks.sh", "tools/ci/preview-summary.sh", "tools/ci/check-host-files.sh", "tools/build-actionlint.sh"], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("plans every Pulumi.<stack>.yaml of a checkout; a stack that cannot be planned leaves its messages in <stack>.err and fails the script", () => {
    // A checkout: the repository's files, with the real staging stack file and a broken prod one.
    const checkout = mkdtempSync(join(tmpdir(), "lazarus-checkout-"));
    for (const entry of readdirSync(REPO_ROOT)) {
      if (entry.startsWith("Pulumi.") && entry !== "Pulumi.yaml") continue;
      if ([".git", ".scratch"].includes(entry)) continue;
      symlinkSync(join(REPO_ROOT, entry), join(checkout, entry));
    }
    cpSync(join(REPO_ROOT, "Pulumi.staging.yaml"), join(checkout, "Pulumi.staging.yaml"));
    writeFileSync(join(checkout, "Pulumi.prod.yaml"), readFileSync(join(REPO_ROOT, "Pulumi.prod.yaml"), "utf8").replace("size: s-2vcpu-4gb", "sise: s-2vcpu-4gb"));
    const out = mkdtempSync(join(tmpdir(), "lazarus-plans-"));
    const r = spawnSync("bash", [join(REPO_ROOT, "tools/ci/plan-stacks.sh"), checkout, out], { encoding: "utf8", timeout: 240_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("plan-stacks: staging planned (exit 0)");
    expect(readdirSync(out).sort()).toEqual(["prod.err", "staging.json"]);
    expect(parsePlanJson(readFileSync(join(out, "staging.json"), "utf8"), "staging.json").stack).toBe("staging");
    expect(readFileSync(join(out, "prod.err"), "utf8")).toContain('Pulumi.prod.yaml: lazarus:kro.host.sise: unknown key "sise" (did you mean "size"?)');
  }, 300_000);
});
