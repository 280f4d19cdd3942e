// Rendered user-data is checked by cloud-init's own schema validator (`cloud-init schema --config-file`), plus a
// check that every top-level key is one cloud-init knows. Broken documents are rejected (the check can fail), and
// input that looks secret never makes it into user-data.
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderCloudInit, secretFindings, CloudInitInput } from "../../renderers/cloudInit";
import { cloudInitSchema } from "../support/validators";
import { planFor } from "../support/stacks";
import type { Plan } from "../../cli/planner";
import { RenderInputError } from "../../renderers/renderInputError";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx0fakeKeyForTestsOnly0000000000000000000 operator@example.org";

const full: CloudInitInput = {
  deployDir: "/root/Kro/kro-devops/production",
  hostname: "kro-prod-host",
  packages: ["htop"],
  users: [{ name: "deploy", groups: ["docker"], sudo: true, sshAuthorizedKeys: [KEY] }],
  sshAuthorizedKeys: [KEY],
  extraFiles: [{ path: "/etc/lazarus/host.json", content: '{"platform":"kro","stack":"prod"}\n', permissions: "0640" }],
  timezone: "UTC",
  swapSizeMb: 2048,
  autoRebootTime: "03:30",
};

describe("cloud-init user-data", () => {
  it("minimal input passes cloud-init's schema check", () => {
    const r = cloudInitSchema(renderCloudInit({ deployDir: "/home/deploy/goodgo" }));
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toMatch(/Valid cloud-config/);
  });

  it("every option together passes the schema check", () => {
    const r = cloudInitSchema(renderCloudInit(full));
    expect(r.ok, r.output).toBe(true);
  });

  it("Docker's apt repository variant passes too", () => {
    const text = renderCloudInit({ ...full, dockerSource: "docker-apt" });
    const r = cloudInitSchema(text);
    expect(r.ok, r.output).toBe(true);
    const doc = parse(text);
    expect(doc.packages).toEqual(expect.arrayContaining(["docker-ce", "docker-compose-plugin"]));
    expect(doc.apt.sources.docker.keyid).toBe("9DC858229FC7DD38854AE2D88D81803C0EBFCD88");
  });

  it("installs Docker with the compose plugin, certbot and unattended security upgrades; prepares the deploy dir 0750", () => {
    const doc = parse(renderCloudInit(full));
    expect(doc.packages).toEqual(expect.arrayContaining(["docker.io", "docker-compose-v2", "certbot", "unattended-upgrades", "htop"]));
    expect(doc.package_update).toBe(true);
    expect(doc.ssh_pwauth).toBe(false);
    const auto = doc.write_files.find((f: any) => f.path === "/etc/apt/apt.conf.d/20auto-upgrades");
    expect(auto.content).toContain('APT::Periodic::Unattended-Upgrade "1";');
    const local = doc.write_files.find((f: any) => f.path === "/etc/apt/apt.conf.d/52lazarus-unattended-upgrades");
    expect(local.content).toContain("-security");
    expect(local.content).toContain('Automatic-Reboot-Time "03:30"');
    const daemon = JSON.parse(doc.write_files.find((f: any) => f.path === "/etc/docker/daemon.json").content);
    expect(daemon).toEqual({ "log-driver": "json-file", "log-opts": { "max-size": "10m", "max-file": "3" }, "live-restore": true });
    expect(doc.runcmd).toContainEqual(["install", "-d", "-m", "0750", "-o", "root", "-g", "root", "/root/Kro/kro-devops/production"]);
    expect(doc.runcmd).toContainEqual(["install", "-d", "-m", "0755", "/var/www/certbot"]);
    expect(doc.swap).toEqual({ filename: "/swapfile", size: 2048 * 1024 * 1024, maxsize: 2048 * 1024 * 1024 });
    expect(doc.users[0]).toBe("default");
    expect(doc.users[1]).toMatchObject({ name: "deploy", groups: "docker", lock_passwd: true, sudo: "ALL=(ALL) NOPASSWD:ALL" });
    // Extra files are written after packages are installed (their owners may come from packages).
    expect(doc.write_files.find((f: any) => f.path === "/etc/lazarus/host.json")).toMatchObject({ permissions: "0640", defer: true });
  });

  it("refuses anything that looks secret, naming the file but never echoing the value", () => {
    const cases: Array<[CloudInitInput["extraFiles"], RegExp]> = [
      [[{ path: "/etc/app/key.pem", content: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n" }], /a PEM private key/],
      [[{ path: "/etc/app/app.conf", content: "db_password = hunter2hunter2\n" }], /password\/secret\/token assignment/],
      [[{ path: "/etc/app/app.conf", content: "DATABASE_URL=postgresql://kro:s3cr3tpass@db:25060/kro\n" }], /URL with embedded credentials/],
      [[{ path: "/etc/app/alert.conf", content: "url: https://hooks.slack.com/services/T000/B000/XXXX\n" }], /Slack webhook/],
      [[{ path: "/root/Kro/kro-devops/production/production.json", content: "{}\n" }], /names a secret file/],
      [[{ path: "/home/deploy/goodgo/.env", content: "IMAGE_TAG=abc\n" }], /names a secret file/],
    ];
    for (const [files, message] of cases) {
      let err: unknown;
      try {
        renderCloudInit({ deployDir: "/srv/app", extraFiles: files });
      } catch (e) {
        err = e;
      }
      expect(err, files![0]!.path).toBeInstanceOf(RenderInputError);
      expect((err as RenderInputError).renderer).toBe("cloud-init");
      expect((err as Error).message).toMatch(message);
      for (const secret of ["hunter2hunter2", "s3cr3tpass", "B000/XXXX"]) expect((err as Error).message).not.toContain(secret);
    }
  });

  it("rejects malformed input with the field and an example", () => {
    expect(() => renderCloudInit({ deployDir: "relative/dir" })).toThrow(/deployDir: "relative\/dir" is not an absolute path \(example: /);
    expect(() => renderCloudInit({ deployDir: "/srv/app", sshAuthorizedKeys: ["not a key"] })).toThrow(/not an OpenSSH public key/);
    expect(() => renderCloudInit({ deployDir: "/srv/app", swapSizeMb: -1 })).toThrow(/swapSizeMb/);
    expect(() => renderCloudInit({ deployDir: "/srv/app", deployOwner: "deploy" })).toThrow(/is not user:group/);
  });

  it("secretFindings describes without echoing", () => {
    expect(secretFindings("token: abcdefgh")).toEqual(["a password/secret/token assignment"]);
    expect(secretFindings("packages: [docker.io]\nssh_pwauth: false\nlock_passwd: true")).toEqual([]);
  });
});

describe("the schema check can fail", () => {
  it("rejects a wrong type with an annotated, readable error", () => {
    const good = renderCloudInit({ deployDir: "/srv/app" });
    const broken = good.replace(/^packages:\n(  - .*\n)+/m, "packages: docker.io\n");
    expect(broken).not.toBe(good);
    const r = cloudInitSchema(broken);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/packages: docker\.io\s+# E1/);
    expect(r.output).toMatch(/E1: 'docker\.io' is not of type 'array'/);
  });

  it("rejects a document without the #cloud-config header", () => {
    const r = cloudInitSchema(renderCloudInit({ deployDir: "/srv/app" }).replace("#cloud-config\n", ""));
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/#cloud-config/);
  });

  it("rejects a misspelt top-level key that cloud-init would silently ignore", () => {
    const r = cloudInitSchema(renderCloudInit({ deployDir: "/srv/app" }).replace("package_upgrade:", "package_upgarde:"));
    expect(r.ok).toBe(false);
    expect(r.output).toContain("unknown top-level keys: package_upgarde");
  });
});

describe("as the KRO stack renders it (real Pulumi.<stack>.yaml, offline plan)", () => {
  let plans: Record<string, Plan>;
  beforeAll(async () => {
    plans = { prod: await planFor("prod"), staging: await planFor("staging") };
  });
  for (const stack of ["prod", "staging"]) {
    it(`${stack}: the droplet's user-data passes cloud-init's schema check`, () => {
      const droplet = plans[stack]!.resources.find((r) => r.type === "digitalocean:index/droplet:Droplet" && r.name === `kro-${stack}-host`);
      expect(droplet).toBeDefined();
      const userData = String(droplet!.inputs.userData);
      const r = cloudInitSchema(userData);
      expect(r.ok, r.output).toBe(true);
      expect(parse(userData).packages).toEqual(expect.arrayContaining(["docker.io", "docker-compose-v2"]));
    });
  }
});
