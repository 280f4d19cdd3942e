// `npm run plan` reports the policy pack's violations: on stderr, in the JSON's policyViolations, exit code 3, with the
// plan still printed for review. The violating stack here is one the config accepts: staging may admit the whole
// internet to its admin ports (the loader refuses that only on prod); the policy refuses it on every stack.
import { describe, expect, it } from "vitest";
import { POLICY_VIOLATION_EXIT, runPlanCli } from "../../cli/plan";
import { keepOnlyPlatforms, patchedProject } from "../support/stacks";

// KRO and GoodGo only, so the list of violations stays the same as platforms are added to the stack files.
const worldAdmin = () =>
  patchedProject("staging", (c) => {
    keepOnlyPlatforms(c, ["kro", "goodgo"]);
    c["lazarus:environment"].adminCidrs = ["0.0.0.0/0"];
  });

describe("policy violations in the offline plan", () => {
  it("passes the real staging stack with exit code 0 and says so", async () => {
    const r = await runPlanCli(["--stack", "staging"]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("error: policy");
    expect(r.stdout).toContain("== policy lazarus-invariants ==\n  5 policies checked: no violations");
  });

  it("exits 3 and names each violation when admin ports are open to the world", async () => {
    const r = await runPlanCli(["--stack", "staging", "--project-dir", worldAdmin()]);
    expect(POLICY_VIOLATION_EXIT).toBe(3);
    expect(r.code).toBe(3);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error: policy"))).toEqual([
      "error: policy no-public-data-ports: goodgo-staging-host-firewall: inbound tcp 22 is open to 0.0.0.0/0, exposing SSH 22; admit only environment.adminCidrs (or the droplets that need it), or use 127.0.0.1 and an SSH tunnel",
      "error: policy no-public-data-ports: goodgo-staging-host-firewall: inbound tcp 3002 is open to 0.0.0.0/0, exposing grafana (published in /root/goodgo/docker-compose.prod.yml) 3002; admit only environment.adminCidrs (or the droplets that need it), or use 127.0.0.1 and an SSH tunnel",
      "error: policy no-public-data-ports: kro-staging-host-firewall: inbound tcp 22 is open to 0.0.0.0/0, exposing SSH 22; admit only environment.adminCidrs (or the droplets that need it), or use 127.0.0.1 and an SSH tunnel",
    ]);
    expect(r.stdout).toContain("5 policies checked: 3 violation(s), listed on stderr");
    expect(r.stdout).toContain("+ digitalocean:index/firewall:Firewall  kro-staging-host-firewall");
  });

  it("lists the violations in the JSON as pulumi preview's policy events do", async () => {
    const r = await runPlanCli(["--stack", "staging", "--project-dir", worldAdmin(), "--json"]);
    expect(r.code).toBe(3);
    const violations = JSON.parse(r.stdout).policyViolations as { policyName: string; urn: string; enforcementLevel: string }[];
    expect(violations.map((v) => [v.policyName, v.enforcementLevel, v.urn.split("::").pop()])).toEqual([
      ["no-public-data-ports", "mandatory", "goodgo-staging-host-firewall"],
      ["no-public-data-ports", "mandatory", "goodgo-staging-host-firewall"],
      ["no-public-data-ports", "mandatory", "kro-staging-host-firewall"],
    ]);
  });
});
