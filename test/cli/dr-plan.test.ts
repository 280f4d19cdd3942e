// `lazarus dr plan` on the real Pulumi.prod.yaml and Pulumi.staging.yaml: every enabled platform in registry order,
// each automated one's recovery chain in order (read from the platform's plan with the switches set, so it is the
// chain `pulumi up` would run), estimates from a drill report fixture, and its flag errors (exit 2, nothing run).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runDrCli } from "../../cli/dr/main";
import { PLATFORMS } from "../../stacks/registry";
import { gfmToHtml, headings } from "../support/markdown";

const FIXTURE = join(__dirname, "../fixtures/dr/last-drill.json");
const plan = (...args: string[]) => runDrCli(["dr", "plan", "--label", "r1", ...args]);

describe("lazarus dr plan", () => {
  it("lists every platform of prod in registry order, with its targets, switches, confirmation and steps", async () => {
    const r = await plan("--stack", "prod", "--json", "--drill-report", "/nonexistent/last-drill.json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout);
    expect(p.platforms.map((x: { platform: string }) => x.platform)).toEqual(PLATFORMS.map((m) => m.name));
    expect(p.estimatesFrom).toBe("no drill yet");
    const by = Object.fromEntries(p.platforms.map((x: { platform: string }) => [x.platform, x]));
    expect(by.goodgo.targets).toMatchObject({ rtoSeconds: 3600, rpoSeconds: 86400 });
    expect(by.waqiti.targets).toMatchObject({ rtoSeconds: 4 * 3600, rpoSeconds: 3600 });
    for (const name of ["kro", "bunty", "dbis", "giv", "pencom"]) expect(by[name].targets.source).toMatch(/none stated/);
    expect(by.goodgo.confirmToken).toBe("prod/goodgo/recover-host");
    expect(by.goodgo.switches.recovery).toEqual({ host: { label: "r1", backup: "latest" } });
    expect(by.waqiti.confirmToken).toBe("prod/waqiti/full-system-recovery");
    // KRO on prod needs a snapshot id: listed with the flag it needs, not refused as a whole plan.
    expect(by.kro.mode).toBe("needs-input");
    expect(by.kro.needs).toMatch(/^--snapshot: .*example: --snapshot 187654321/);
    expect(by.pencom.mode).toBe("manual");
    // GoodGo's recovery chain, in the order stacks/goodgo/commands.ts hostRecoverySteps runs it, then compose up, health.
    expect(by.goodgo.steps.map((s: { key: string }) => s.key)).toEqual(
      ["host", "data-services", "restore-route", "fetch-backup", "pitr-restore", "restore-database", "migrate", "reindex-typesense", "flush-redis", "pitr-first-full", "compose-up", "health"].map((k) => `goodgo/${k}`),
    );
    expect(by.waqiti.steps.map((s: { key: string }) => s.key)).toEqual(["namespace", "policies", "rbac", "secrets", "config", "data", "restore", "apps", "health"].map((k) => `waqiti/${k}`));
    expect(by.waqiti.steps.find((s: { key: string }) => s.key === "waqiti/restore").title).toContain("Job restore-postgres-r1");
  });

  it("with --snapshot, plans KRO's rebuild from that snapshot on prod", async () => {
    const r = await plan("--stack", "prod", "--platform", "kro", "--snapshot", "187654321", "--json");
    expect(r.code).toBe(0);
    const [kro] = JSON.parse(r.stdout).platforms;
    expect(kro).toMatchObject({ mode: "automated", confirmToken: "prod/kro/rebuild-host", switches: { recovery: { host: { fromSnapshot: "187654321" } }, refresh: true } });
    expect(kro.steps[0].title).toContain("from snapshot 187654321");
  });

  it("takes each step's estimate from the last drill report and says which drill", async () => {
    const r = await plan("--stack", "staging", "--platform", "goodgo", "--drill-report", FIXTURE);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("estimates: drill of staging at 2026-11-30T10:00:00.000Z");
    expect(r.stdout).toMatch(/start the data services and wait until healthy {2}\[1 min 30 s\]/);
    // Matched by the step's key inside the drill's own key (goodgo/recovery.host/restore-database).
    expect(r.stdout).toMatch(/restore the route's dump into a new database and cut over {2}\[10 min 00 s\]/);
    expect(r.stdout).toMatch(/compose up --wait: every service {2}\[3 min 20 s\]/);
    // A failed step's time is no estimate.
    expect(r.stdout).toMatch(/flush the stale cache {2}\[no drill yet\]/);
    expect(r.stdout).toContain("estimated: 14 min 50 s for 3 of 12 steps");
  });

  it("plans staging (GoodGo and Bunty on the host) with no confirmation asked", async () => {
    const r = await plan("--stack", "staging", "--json");
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout);
    expect(p.protectedStack).toBe(false);
    for (const x of p.platforms) expect(x.confirmToken).toBeUndefined();
    const bunty = p.platforms.find((x: { platform: string }) => x.platform === "bunty");
    expect(bunty.steps.map((s: { title: string }) => s.title).join("\n")).toContain("PostgreSQL on the host (an EMPTY database");
  });

  it("prints Markdown that cmark-gfm renders with one section per platform", async () => {
    const r = await plan("--stack", "prod", "--markdown");
    expect(r.code).toBe(0);
    const html = gfmToHtml(r.stdout);
    expect(headings(html)).toEqual(PLATFORMS.map((m) => `h2 ${m.name} (runbook ${m.runbook})`));
    expect((html.match(/<table>/g) ?? []).length).toBe(PLATFORMS.length - 1); // every platform but the manual one
  });

  it.each([
    [["--stack", "nope"], /unknown stack "nope": Pulumi\.nope\.yaml does not exist .*example: --stack prod/],
    [["--stack", "prod", "--platform", "acme"], /--platform "acme": is not a platform; expected one of kro, goodgo, .* \(example: --platform kro\)/],
    [["--stack", "prod", "--label", "Bad_Label"], /--label "Bad_Label": is not a recovery label .*example: --label r1/],
    [["--stack", "prod", "--snapshot", "latest"], /--snapshot "latest": is not a snapshot id \(digits; example: --snapshot 187654321\)/],
    [["--stack", "prod", "--json", "--markdown"], /option '--json' cannot be used with option '--markdown'/],
    [["--platform", "goodgo"], /required option '-s, --stack <name>' not specified/],
  ])("refuses %j with exit 2 and a message naming the flag", async (args, message) => {
    const r = await runDrCli(["dr", "plan", ...(args as string[])]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message as RegExp);
  });

  it("refuses a drill report that is not one, naming the flag and the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lazarus-dr-"));
    writeFileSync(join(dir, "bad.json"), "{\"hello\": 1}");
    const r = await plan("--stack", "prod", "--drill-report", join(dir, "bad.json"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--drill-report .*bad\.json: is not a drill report written by `lazarus dr drill` \(it has no steps\[\]/);
  });

  it("refuses --platform for a platform the stack does not enable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lazarus-dr-"));
    const { patchedProject } = await import("../support/stacks");
    const project = patchedProject("staging", (c) => void (c["lazarus:giv"].enabled = false));
    const r = await runDrCli(["dr", "plan", "--stack", "staging", "--platform", "giv", "--project-dir", project, "--drill-report", join(dir, "none.json")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--platform "giv": is not enabled in stack staging; expected one of kro, goodgo, bunty, dbis, pencom, waqiti/);
  });
});
