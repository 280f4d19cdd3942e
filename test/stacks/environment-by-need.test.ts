// Shared resources by need: the stack's DigitalOcean VPC and project, and the settings they take (region, project,
// vpc, sshKeys, adminCidrs), exist only when an enabled platform declares DigitalOcean resources. A stack of existing
// servers needs none of them and declares no DigitalOcean resource; a platform that does need them names each missing key.
import { describe, expect, it } from "vitest";
import { runPlanCli } from "../../cli/plan";
import { keepOnlyPlatforms, patchedProject } from "../support/stacks";

const DIGITALOCEAN_KEYS = ["region", "project", "vpc", "sshKeys", "adminCidrs"];

/** prod with GoodGo alone, on an existing server, backing up to a bucket another stack keeps; no DigitalOcean settings. */
const onPremOnly = (c: Record<string, any>) => {
  keepOnlyPlatforms(c, ["goodgo"]);
  c["lazarus:goodgo"].host = { existing: { address: "192.0.2.10", user: "root", port: 22 } };
  c["lazarus:goodgo"].backups.offsite.existing = true;
  for (const k of DIGITALOCEAN_KEYS) delete c["lazarus:environment"][k];
};

describe("the DigitalOcean environment by need", () => {
  it("a stack of existing servers plans without DigitalOcean settings and declares no DigitalOcean resource", async () => {
    const r = await runPlanCli(["--stack", "prod", "--json", "--project-dir", patchedProject("prod", onPremOnly)]);
    expect(r.code, r.stderr).toBe(0);
    const types: string[] = JSON.parse(r.stdout).steps.map((s: { newState: { type: string } }) => s.newState.type);
    expect(types).toContain("command:remote:Command");
    expect(types.filter((t) => t.startsWith("digitalocean:"))).toEqual([]);
  });

  it("the same stack with a droplet asks for every missing DigitalOcean setting, naming the key and an example", async () => {
    const r = await runPlanCli([
      "--stack", "prod", "--project-dir",
      patchedProject("prod", (c) => {
        onPremOnly(c);
        c["lazarus:goodgo"].host = { size: "s-4vcpu-8gb" };
      }),
    ]);
    expect(r.code).toBe(2);
    for (const k of DIGITALOCEAN_KEYS) {
      expect(r.stderr).toMatch(new RegExp(`Pulumi\\.prod\\.yaml: lazarus:environment\\.${k}: is missing: goodgo declares DigitalOcean resources in this stack \\(example: ${k}: `));
    }
    expect(r.stdout).toBe("");
  });

  it("the off-site bucket alone needs DigitalOcean: with it declared, the VPC and project come back", async () => {
    const r = await runPlanCli([
      "--stack", "prod", "--json", "--project-dir",
      patchedProject("prod", (c) => {
        keepOnlyPlatforms(c, ["goodgo"]);
        c["lazarus:goodgo"].host = { existing: { address: "192.0.2.10" } };
      }),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const types: string[] = JSON.parse(r.stdout).steps.map((s: { newState: { type: string } }) => s.newState.type);
    expect(types.filter((t) => t.startsWith("digitalocean:")).sort()).toEqual([
      "digitalocean:index/project:Project",
      "digitalocean:index/projectResources:ProjectResources",
      "digitalocean:index/spacesBucket:SpacesBucket",
      "digitalocean:index/vpc:Vpc",
    ]);
  });
});
