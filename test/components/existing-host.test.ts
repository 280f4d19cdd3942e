// An existing server under Pulumi's mock runtime: ExistingHost declares nothing in the cloud, and HostSoftware on it
// logs in with the configured address, port, user and key (a secret), runs the preflight instead of the cloud-init wait,
// and ships the files only after the preflight passed.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { DropletHost } from "../../components/dropletHost";
import { ExistingHost } from "../../components/existingHost";
import { HostSoftware, REMOTE_SCRIPTS_ROOT } from "../../components/hostSoftware";
import { hostPreflightCommand } from "../../lib/hostCommands";
import { captureProgram, SECRET_MARK, type CapturedRun, type DeclaredResource } from "../../lib/runtime/capture";
import { hostProvisions } from "../../renderers/cloudInit";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-only\n-----END OPENSSH PRIVATE KEY-----\n";
const needs = { deployDir: "/srv/kro", acmeWebroot: "/var/www/certbot" };

let run: CapturedRun;
let outputs: Record<string, unknown>;
beforeAll(async () => {
  run = await captureProgram({ stack: "test", values: {}, secretKeys: [] }, () => {
    const host = new ExistingHost("kro-dr-host", { address: "kro-dr.example.org", user: "root", port: 2222, privateKey: KEY });
    new HostSoftware("kro-dr-software", {
      platform: "kro",
      host,
      needs,
      files: [{ path: "/srv/kro/docker-compose.yml", content: "services: {}\n", mode: "0644", secret: false }],
    });
    return { machineId: host.machineId, publicIp: host.publicIp, firstBoot: host.firstBoot };
  });
  outputs = run.outputs;
});

const named = (suffix: string): DeclaredResource => {
  const r = run.resources.find((x) => x.name === suffix);
  if (!r) throw new Error(`no resource ${suffix}; declared: ${run.resources.map((x) => x.name).join(", ")}`);
  return r;
};

describe("ExistingHost", () => {
  it("declares no cloud resource: only the component itself", () => {
    const types = run.resources.map((r) => r.type);
    expect(types.filter((t) => t.startsWith("digitalocean:"))).toEqual([]);
    const own = run.resources.filter((r) => r.parent === named("kro-dr-host").urn);
    expect(own).toEqual([]);
    expect(named("kro-dr-host")).toMatchObject({ type: "lazarus:host:ExistingHost", custom: false });
  });

  it("is identified by its login, reached at its address, and first-booted by a preflight", () => {
    expect(outputs).toEqual({ machineId: "root@kro-dr.example.org:2222", publicIp: "kro-dr.example.org", firstBoot: "preflight" });
  });

  it("gives every command resource the address, port, user, and the key as a secret", () => {
    const commands = run.resources.filter((r) => r.type.startsWith("command:remote:"));
    expect(commands.length).toBeGreaterThan(0);
    for (const c of commands) {
      // The key makes the whole connection a secret in what previews and state show.
      expect(c.inputs.connection).toBe(SECRET_MARK);
      expect(c.secretInputs).toContain("connection");
      expect(c.rawInputs.connection).toMatchObject({ host: "kro-dr.example.org", port: 2222, user: "root", privateKey: KEY });
    }
  });
});

describe("HostSoftware on an existing server", () => {
  it("runs the preflight for what cloud-init would have installed, not the cloud-init wait", () => {
    expect(run.resources.some((r) => r.name.endsWith("-first-boot"))).toBe(false);
    const preflight = named("kro-dr-software-preflight");
    expect(preflight.inputs.create).toBe(hostPreflightCommand(hostProvisions(needs), REMOTE_SCRIPTS_ROOT));
    expect(preflight.inputs.create).toContain("--command docker --command certbot --command jq --dir 0750:/srv/kro");
    expect(preflight.inputs.triggers).toEqual(["root@kro-dr.example.org:2222"]);
  });

  it("copies the scripts first (the preflight is one of them), and writes files only after the preflight", () => {
    const preflight = named("kro-dr-software-preflight");
    expect(preflight.dependencies).toContain(named("kro-dr-software-scripts-mode").urn);
    expect(named("kro-dr-software-scripts-mode").dependencies).toContain(named("kro-dr-software-scripts").urn);
    expect(named("kro-dr-software-scripts").dependencies).toEqual([]);
    expect(named("kro-dr-software-file-srv-kro-docker-compose-yml").dependencies).toEqual([preflight.urn]);
  });
});

describe("DropletHost as a Host", () => {
  it("is identified by the droplet id and first-booted by cloud-init", async () => {
    const droplet = await captureProgram({ stack: "test", values: {}, secretKeys: [] }, () => {
      const host = new DropletHost("d", {
        name: "d", region: "fra1", vpcUuid: "vpc", size: "s-1vcpu-1gb", baseImage: "ubuntu-24-04-x64", sshKeys: [], tags: [],
        monitoring: true, backups: true, userData: "#cloud-config\n", adminCidrs: [], publicPorts: [],
        alerts: { cpuPercent: 85, memoryPercent: 90, diskPercent: 85, window: "5m", targets: { emails: [] } },
        protect: false, rebuilding: false, ssh: { user: "root", privateKey: pulumi.secret(KEY) },
      });
      return { machineId: host.machineId, firstBoot: host.firstBoot };
    });
    const dropletId = droplet.resources.find((r) => r.type === "digitalocean:index/droplet:Droplet");
    expect(dropletId).toBeDefined();
    expect(droplet.outputs.firstBoot).toBe("cloud-init");
    expect(typeof droplet.outputs.machineId).toBe("string");
  });
});
