// The README's main job: `npm run plan -- --stack prod` on a fresh clone (no secrets set), as text, JSON and files;
// and every file it renders for a host accepted by the tool that will consume it.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlanCli } from "../../cli/plan";
import type { CliResult } from "../../cli/runMain";
import { cloudInitSchema, composeConfig, nginxTest } from "../support/validators";

let tree: CliResult;
let json: CliResult;
let outDir: string;
let plan: {
  steps: { op: string; urn: string; newState: { type: string; inputs: Record<string, any>; parent: string; protect: boolean; dependencies: string[] } }[];
  files: { host: string; path: string; secret: boolean; content?: string }[];
  diagnostics: { severity: string; message: string }[];
};

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "lazarus-plan-out-"));
  tree = await runPlanCli(["--stack", "prod"]);
  json = await runPlanCli(["--stack", "prod", "--json", "--out", outDir]);
  plan = JSON.parse(json.stdout);
});

describe("the offline plan of prod", () => {
  it("prints a tree grouped by platform and succeeds without any secret set", () => {
    expect(tree.code).toBe(0);
    expect(tree.stdout).toMatch(/^Lazarus offline plan: stack prod \(project lazarus\): \d+ resources to create/);
    expect(tree.stdout).toContain("== shared environment ==");
    expect(tree.stdout).toContain("== platform kro ==");
    expect(tree.stdout).toContain("+ digitalocean:index/droplet:Droplet  kro-prod-host  [protected]");
    expect(tree.stdout).toContain("+ digitalocean:index/databaseCluster:DatabaseCluster  kro-prod-db  [protected]");
  });

  it("warns once, on one line, that unset secrets are placeholders, and shows secrets as [secret]", () => {
    const warnings = tree.stderr.split("\n").filter((l) => l.startsWith("warning:"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("lazarus:kroProductionJson");
    expect(tree.stdout).toContain('"[secret]"');
    expect(tree.stdout).not.toContain("<unset secret");
  });

  it("prints the same in the shape of pulumi preview --json", () => {
    expect(json.code).toBe(0);
    const types = plan.steps.map((s) => s.newState.type);
    expect(types).toContain("pulumi:pulumi:Stack");
    expect(plan.steps.every((s) => s.op === "create" && s.urn.startsWith("urn:pulumi:prod::lazarus::"))).toBe(true);
    const cluster = plan.steps.find((s) => s.newState.type === "digitalocean:index/databaseCluster:DatabaseCluster" && s.urn.endsWith("::kro-prod-db"))!;
    expect(cluster.newState.protect).toBe(true);
    expect(cluster.newState.inputs.version).toBe("16");
    expect(cluster.newState.parent).toMatch(/ManagedPostgres::kro-prod-db$/);
    const up = plan.steps.find((s) => s.urn.endsWith("::kro-prod-compose-up"))!;
    expect(up.newState.dependencies.length).toBeGreaterThan(0);
    expect(plan.diagnostics.map((d) => d.severity)).toEqual(["warning"]);
  });

  it("is the same plan every time (a pull-request check diffs two runs)", async () => {
    const again = await runPlanCli(["--stack", "prod", "--json"]);
    expect(again.stdout).toBe(json.stdout);
  });

  it("writes every rendered file with --out, and no secret file", () => {
    const base = join(outDir, "kro", "kro-prod-software", "root/Kro/kro-devops/production");
    expect(existsSync(join(base, "docker-compose.yml"))).toBe(true);
    expect(existsSync(join(base, "nginx.conf"))).toBe(true);
    expect(existsSync(join(base, "production.json"))).toBe(false);
    expect(existsSync(join(base, "kro-prod-db-cluster-ca-certificate.crt"))).toBe(false);
    expect(json.stderr).toMatch(/wrote \d+ rendered file\(s\) under .*; \d+ secret file\(s\) not written: .*kro-prod-software:\/root\/Kro\/kro-devops\/production\/production.json/);
  });
});

describe("files the prod plan renders, checked by their consumers", () => {
  const file = (suffix: string) => readFileSync(join(outDir, "kro", "kro-prod-software", "root/Kro/kro-devops/production", suffix), "utf8");

  it("the compose file passes docker-compose config with restart policies, health checks and log rotation", () => {
    const r = composeConfig(file("docker-compose.yml"));
    expect(r.ok, r.output).toBe(true);
    const services = r.parsed.services;
    expect(Object.keys(services).sort()).toEqual(["admin-frontend", "backend", "frontend", "nginx"]);
    for (const [name, s] of Object.entries<any>(services)) {
      expect(s.restart, name).toBe("unless-stopped");
      expect(s.healthcheck?.test, name).toBeDefined();
      expect(s.logging, name).toMatchObject({ driver: "json-file", options: { "max-size": "10m" } });
    }
    expect(services.backend.image).toBe("registry.digitalocean.com/kro/backend:v1.8.3");
    expect(services.nginx.depends_on.backend.condition).toBe("service_healthy");
  });

  it("the cloud-init user-data passes cloud-init's schema check", () => {
    const droplet = plan.steps.find((s) => s.newState.type === "digitalocean:index/droplet:Droplet")!;
    const r = cloudInitSchema(droplet.newState.inputs.userData);
    expect(r.ok, r.output).toBe(true);
  });

  it("the nginx config passes nginx -t with the certificate paths it names", () => {
    const text = file("nginx.conf");
    const r = nginxTest(text, {
      hosts: ["backend", "frontend", "admin-frontend"],
      certs: [{ certPath: "/etc/ssl/lazarus/kro-prod/fullchain.pem", keyPath: "/etc/ssl/lazarus/kro-prod/privkey.pem", names: ["kro.example.org"] }],
    });
    expect(r.ok, r.output).toBe(true);
    expect(text).toContain("server_name kro.example.org;");
    expect(text).toContain("/.well-known/acme-challenge/");
  });
});
