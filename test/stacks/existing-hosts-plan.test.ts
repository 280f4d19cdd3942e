// Platforms on a server that already exists (`host: {existing: {address, user, port}}`), planned under Pulumi's mock
// runtime from the real Pulumi.prod.yaml / Pulumi.staging.yaml: what is declared for the host (nothing in the cloud),
// how the command resources reach it, in what order the first host steps run, that the files are the droplet's files,
// and which recovery switches are refused. What the commands then do on a real SSH login is
// test/stacks/existing-hosts-over-ssh.test.ts.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlanCli } from "../../cli/plan";
import type { Plan } from "../../cli/planner";
import { ConfigError } from "../../config/errors";
import { SECRET_MARK, type DeclaredResource } from "../../lib/runtime/capture";
import { ALL_SENTINEL_SECRETS, T, byType, keepOnlyPlatforms, one, patchedProject, planFor } from "../support/stacks";

const SERVER = { address: "192.0.2.10", user: "root", port: 2222 };
type ConfigMap = Record<string, any>;
const onExisting = (platform: string) => (c: ConfigMap) => (c[`lazarus:${platform}`].host = { existing: { ...SERVER } });

/** Cloud resource types a droplet host brings with it. */
const HOST_CLOUD_TYPES = [T.droplet, T.reservedIp, T.reservedIpAssignment, T.firewall, T.monitorAlert, T.uptimeCheck, T.uptimeAlert] as string[];
const ofPlatform = (plan: Plan, prefix: string) => plan.resources.filter((r) => r.name.startsWith(`${prefix}-`));
const hostCloud = (plan: Plan, prefix: string) => ofPlatform(plan, prefix).filter((r) => HOST_CLOUD_TYPES.includes(r.type));
const commandsOf = (plan: Plan, prefix: string) => ofPlatform(plan, prefix).filter((r) => r.type === T.command || r.type === T.copy);
const byUrn = (plan: Plan, urn: string) => plan.resources.find((r) => r.urn === urn)!;
const depNames = (plan: Plan, r: DeclaredResource) => r.dependencies.map((u) => byUrn(plan, u).name).sort();

/** path -> what the writer sends: the command text and the content on stdin (secrets in the clear: test only). */
function writes(plan: Plan, prefix: string): Record<string, { create: unknown; stdin: unknown }> {
  return Object.fromEntries(
    byType(plan, T.command)
      .filter((c) => c.name.startsWith(`${prefix}-software-file-`))
      .map((c) => [c.name, { create: c.rawInputs.create, stdin: c.rawInputs.stdin }]),
  );
}

describe.each(["prod", "staging"])("KRO on an existing server (%s)", (stack) => {
  const prefix = `kro-${stack}`;
  let droplet: Plan;
  let existing: Plan;
  beforeAll(async () => {
    droplet = await planFor(stack, { secrets: ALL_SENTINEL_SECRETS });
    existing = await planFor(stack, { secrets: ALL_SENTINEL_SECRETS, patch: onExisting("kro") });
  });

  it("declares no droplet, reserved IP, IP assignment, cloud firewall, monitor alert or uptime check for KRO", () => {
    // The same query finds them on a droplet, so an empty answer is not a misspelt name.
    expect(new Set(hostCloud(droplet, prefix).map((r) => r.type))).toEqual(new Set(HOST_CLOUD_TYPES));
    expect(hostCloud(existing, prefix).map((r) => `${r.type} ${r.name}`)).toEqual([]);
    expect(one(existing, "lazarus:host:ExistingHost", `${prefix}-host`).custom).toBe(false);
    // Only the database goes into the DigitalOcean project.
    const attached = one(existing, T.projectResources, `${prefix}-project-resources`).rawInputs.resources as string[];
    expect(attached).toHaveLength(1);
    expect(String(attached[0])).toContain(`${prefix}-db`);
  });

  it("keeps the managed database; its firewall admits the server by address, and the app uses the public endpoint", () => {
    expect(one(existing, T.dbFirewall, `${prefix}-db-firewall`).rawInputs.rules).toEqual([{ type: "ip_addr", value: SERVER.address }]);
    expect(one(droplet, T.dbFirewall, `${prefix}-db-firewall`).rawInputs.rules).toEqual([{ type: "droplet", value: expect.any(String) }]);
    expect(byType(existing, T.cluster).filter((c) => c.name.startsWith(prefix))).toHaveLength(1);
  });

  it("connects every command resource to 192.0.2.10:2222 as root, the key kept secret", () => {
    const commands = commandsOf(existing, prefix);
    expect(commands.length).toBeGreaterThan(8);
    for (const c of commands) {
      expect(c.inputs.connection, c.name).toBe(SECRET_MARK);
      expect(c.rawInputs.connection, c.name).toMatchObject({ host: SERVER.address, port: SERVER.port, user: SERVER.user });
      expect(String((c.rawInputs.connection as { privateKey: string }).privateKey)).toContain("SENTINEL-sshkey-77aa");
    }
  });

  it("runs scripts copy, then preflight (no cloud-init wait), then the file writers", () => {
    const sw = `${prefix}-software`;
    expect(existing.resources.filter((r) => r.name === `${sw}-first-boot`)).toEqual([]);
    expect(droplet.resources.filter((r) => r.name === `${sw}-first-boot`)).toHaveLength(1);
    const copy = one(existing, T.copy, `${sw}-scripts`);
    expect(copy.rawInputs.remotePath).toBe("/opt/lazarus/scripts");
    // The trailing slash makes the provider copy the folder's contents into remotePath, not remotePath/scripts
    // (what that means on a real login: existing-hosts-over-ssh.test.ts).
    expect((copy.rawInputs.source as { archive: { path: string } }).archive.path).toMatch(/\/scripts\/$/);
    expect(depNames(existing, copy)).toEqual([]);
    expect(depNames(existing, one(existing, T.command, `${sw}-scripts-mode`))).toEqual([`${sw}-scripts`]);
    const preflight = one(existing, T.command, `${sw}-preflight`);
    expect(depNames(existing, preflight)).toEqual([`${sw}-scripts-mode`]);
    expect(preflight.rawInputs.create).toMatch(/^bash \/opt\/lazarus\/scripts\/ops\/host-preflight\.sh --command docker --command certbot --command jq --dir 0750:/);
    const writers = byType(existing, T.command).filter((c) => c.name.startsWith(`${sw}-file-`));
    expect(writers.length).toBe(Object.keys(writes(droplet, prefix)).length);
    // Among host steps, a writer waits for the preflight alone (the secret files also wait for the database's outputs).
    const hostSteps = (r: DeclaredResource) => depNames(existing, r).filter((n) => n.startsWith(`${sw}-`));
    for (const w of writers) expect(hostSteps(w), w.name).toEqual([`${sw}-preflight`]);
    // Everything after the files waits for the preflight too.
    expect(depNames(existing, one(existing, T.command, `${prefix}-compose-up`))).toContain(`${sw}-preflight`);
  });

  it("writes the droplet's files: same paths, modes and contents; production.json differs only in the database host", () => {
    const files = (p: Plan) => p.files.filter((f) => f.platform === "kro").map(({ host: _h, ...f }) => f);
    expect(files(existing)).toEqual(files(droplet));
    const a = writes(droplet, prefix);
    const b = writes(existing, prefix);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    const pj = `${prefix}-software-file-root-Kro-kro-devops-production-production-json`;
    for (const name of Object.keys(a)) if (name !== pj) expect(b[name], name).toEqual(a[name]);
    expect(b[pj].create).toBe(a[pj].create);
    const onDroplet = JSON.parse(String(a[pj].stdin));
    const onServer = JSON.parse(String(b[pj].stdin));
    // Outside the VPC the server reaches the cluster over its public endpoint; everything else is the same document.
    expect(onDroplet.database.host).toBe(`<${prefix}-db.privateHost>`);
    expect(onServer.database.host).toBe(`<${prefix}-db.host>`);
    expect({ ...onServer, database: { ...onServer.database, host: "X" } }).toEqual({ ...onDroplet, database: { ...onDroplet.database, host: "X" } });
    expect(onServer.jwtSecret).toBe("SENTINEL-jwt-5d1f0c");
  });

  it("refuses recovery.host (a droplet rebuild) with file, key and what to do", async () => {
    const err = await planFor(stack, {
      patch: (c) => {
        onExisting("kro")(c);
        c["lazarus:kro"].recovery = { host: { fromSnapshot: "latest", confirm: `${stack}/kro/rebuild-host` } };
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(
      `Pulumi.${stack}.yaml: lazarus:kro.recovery.host: rebuilds a droplet from a snapshot, but host is an existing server Lazarus did not create; remove recovery.host (example: recovery: {})`,
    );
  });
});

describe("GoodGo on an existing server, KRO removed from the stack", () => {
  const dirs: string[] = [];
  const project = (offsiteExisting: boolean, extra: (c: ConfigMap) => void = () => {}) => {
    const dir = patchedProject("prod", (c) => {
      keepOnlyPlatforms(c, ["goodgo"]);
      onExisting("goodgo")(c);
      c["lazarus:goodgo"].backups.offsite.existing = offsiteExisting;
      extra(c);
    });
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const planJson = async (dir: string) => {
    const r = await runPlanCli(["--stack", "prod", "--json", "--project-dir", dir]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { steps: { urn: string; newState: { type: string; inputs: Record<string, unknown> } }[] };
  };
  const types = (j: { steps: { newState: { type: string } }[] }) => j.steps.map((s) => s.newState.type);

  it("with the off-site bucket existing, declares nothing on DigitalOcean: no VPC, no project, no bucket", async () => {
    const j = await planJson(project(true));
    expect(types(j).filter((t) => t.startsWith("digitalocean:"))).toEqual([]);
    // And it still deploys: the host steps are there, pointed at the server.
    expect(types(j)).toContain(T.copy);
    const up = j.steps.find((s) => s.urn.endsWith("::goodgo-prod-compose-up"));
    expect(up?.newState.inputs.connection).toBe(SECRET_MARK);
  });

  it("with offsite.existing false, declares the bucket, and with it the VPC and project", async () => {
    const t = types(await planJson(project(false)));
    expect(t.filter((x) => x.startsWith("digitalocean:")).sort()).toEqual([T.project, T.projectResources, T.spacesBucket, T.vpc].sort());
  });

  it("refuses recovery.host.fromSnapshot on an existing server (exit 2, file and key)", async () => {
    const dir = project(true, (c) => (c["lazarus:goodgo"].recovery = { host: { label: "r1", fromSnapshot: "latest", confirm: "prod/goodgo/recover-host" } }));
    const r = await runPlanCli(["--stack", "prod", "--json", "--project-dir", dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      "Pulumi.prod.yaml: lazarus:goodgo.recovery.host.fromSnapshot: builds a new droplet from a snapshot, but host is an existing server Lazarus did not create",
    );
  });

  it("without fromSnapshot, plans the recovery chain on the existing server, after the preflight and before compose up", async () => {
    const plan = await planFor("prod", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => {
        keepOnlyPlatforms(c, ["goodgo"]);
        onExisting("goodgo")(c);
        c["lazarus:goodgo"].backups.offsite.existing = true;
        c["lazarus:goodgo"].recovery = { host: { label: "r1", confirm: "prod/goodgo/recover-host" } };
      },
    });
    const chain = byType(plan, T.command).filter((c) => c.name.startsWith("goodgo-prod-recover-host-r1-"));
    expect(chain.map((c) => c.name.replace("goodgo-prod-recover-host-r1-", ""))).toEqual([
      "data-services",
      "restore-route",
      "fetch-backup",
      "pitr-restore",
      "restore-database",
      "migrate",
      "reindex-typesense",
      "flush-redis",
      "pitr-first-full",
    ]);
    for (const c of chain) expect(c.rawInputs.connection, c.name).toMatchObject({ host: SERVER.address, port: SERVER.port, user: SERVER.user });
    expect(depNames(plan, chain[0])).toContain("goodgo-prod-software-preflight");
    expect(depNames(plan, one(plan, T.command, "goodgo-prod-compose-up"))).toContain("goodgo-prod-recover-host-r1-pitr-first-full");
    expect(plan.resources.filter((r) => r.type.startsWith("digitalocean:"))).toEqual([]);
  });
});

describe("bad existing-host values through the real loader", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const planWith = async (stack: string, patch: (c: ConfigMap) => void) => {
    const dir = patchedProject(stack, patch);
    dirs.push(dir);
    return runPlanCli(["--stack", stack, "--project-dir", dir]);
  };

  it("names the file and each bad key of an existing server (exit 2, nothing planned)", async () => {
    const r = await planWith("staging", (c) => (c["lazarus:kro"].host = { existing: { address: "192.0.2.10; reboot", port: 70000 } }));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^Pulumi\.staging\.yaml: /);
    expect(r.stderr).toContain("lazarus:kro.host.existing.address:");
    expect(r.stderr).toContain("lazarus:kro.host.existing.port:");
  });

  it("names a droplet key left beside existing as the mistake", async () => {
    const r = await planWith("prod", (c) => (c["lazarus:goodgo"].host = { existing: { address: "dr.example.org" }, size: "s-8vcpu-16gb" }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Pulumi.prod.yaml: lazarus:goodgo.host.size: "s-8vcpu-16gb" is a droplet setting');
    expect(r.stderr).toContain('"existing" says the server already exists');
  });
});
