// DBIS declared from the real Pulumi.prod.yaml / Pulumi.staging.yaml under mocks: what is declared, with which inputs.
// Provider outputs (hosts, passwords, ids) are the mock's inventions and are never asserted.
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { dbis } from "../../../stacks/dbis";
import { DBIS_FILES } from "../../../stacks/dbis/inventory";
import { databaseUrl } from "../../../stacks/dbis/plan";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, byType, one, planFor, stackPlatformConfig } from "../../support/stacks";
import { composeConfig } from "../../support/validators";

const replicaType = "digitalocean:index/databaseReplica:DatabaseReplica";
let prod: Plan;
let staging: Plan;

beforeAll(async () => {
  prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
  staging = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
});

const fileOf = (plan: Plan, path: string) => plan.files.find((f) => f.path === path);

describe("the DBIS database", () => {
  it("is PostgreSQL 15 (the runbook's 14+, dumpable by the backup tools' PostgreSQL 15 client) with database dbis_core", () => {
    expect(one(prod, T.cluster, "dbis-prod-db").inputs).toMatchObject({ engine: "pg", version: "15", size: "db-s-2vcpu-4gb", nodeCount: 2 });
    expect(one(prod, T.db, "dbis-prod-db-db-dbis_core").inputs.name).toBe("dbis_core");
  });

  it("has a protected read replica of the live cluster in the cluster's region and VPC", () => {
    const cluster = one(prod, T.cluster, "dbis-prod-db");
    const replica = one(prod, replicaType, "dbis-prod-db-replica");
    expect(replica.protect).toBe(true);
    expect(replica.dependencies).toContain(cluster.urn);
    expect(replica.inputs).toMatchObject({ name: "dbis-prod-db-replica", size: "db-s-2vcpu-4gb", region: cluster.inputs.region });
    expect(replica.inputs.privateNetworkUuid).toBe(cluster.inputs.privateNetworkUuid);
  });

  it("is smaller on staging, whose replica takes the cluster's size and is not protected", () => {
    expect(one(staging, T.cluster, "dbis-staging-db").inputs).toMatchObject({ size: "db-s-1vcpu-1gb", nodeCount: 1 });
    const replica = one(staging, replicaType, "dbis-staging-db-replica");
    expect(replica.inputs.size).toBe("db-s-1vcpu-1gb");
    expect(replica.protect).toBeFalsy();
  });

  it("declares no replica when disabled", async () => {
    const plan = await planFor("staging", { patch: (c) => (c["lazarus:dbis"].database.replica = { enabled: false }) });
    expect(byType(plan, replicaType).filter((r) => r.name.startsWith("dbis-"))).toEqual([]);
  });
});

describe("the DBIS host", () => {
  it("is a droplet with 80/443 public and the uptime check on /health", () => {
    expect(one(prod, T.droplet, "dbis-prod-host").inputs).toMatchObject({ size: "s-2vcpu-4gb" });
    expect(one(staging, T.droplet, "dbis-staging-host").inputs).toMatchObject({ size: "s-1vcpu-2gb" });
    const rules = one(prod, T.firewall, "dbis-prod-host-firewall").inputs.inboundRules as { portRange?: string }[];
    expect(rules.map((r) => r.portRange).filter(Boolean).sort()).toEqual(["22", "443", "80"]);
    expect(one(prod, T.uptimeCheck, "dbis-prod-host-uptime").inputs.target).toBe("https://dbis.example.org/health");
  });
});

describe("the DBIS compose project", () => {
  it("is accepted by docker-compose config: app on 3000, published on the host's loopback only, reading .env; nginx on 80/443", () => {
    const text = fileOf(prod, "/opt/dbis/docker-compose.yml")!.content!;
    const r = composeConfig(text);
    expect(r.ok, r.output).toBe(true);
    const app = r.parsed.services.app;
    expect(app.image).toBe("registry.digitalocean.com/dbis/dbis-core:v2.4.1");
    expect(app.ports).toEqual(["127.0.0.1:3000:3000/tcp"]);
    expect(app.healthcheck.test.join(" ")).toContain("http://127.0.0.1:3000/health");
    const raw = parse(text).services;
    expect(raw.app.env_file).toEqual([DBIS_FILES.env]);
    expect(Object.keys(raw).sort()).toEqual(["alertmanager", "app", "nginx", "pg-backup", "prometheus"]);
    expect(raw.prometheus.ports).toEqual(["127.0.0.1:9090:9090/tcp"]);
    expect(raw.nginx.ports.sort()).toEqual(["443:443/tcp", "80:80/tcp"]);
  });

  it("writes .env 0600 as a secret, with DATABASE_URL to the managed cluster over TLS, and never shows a secret in the plan", () => {
    const writer = byType(prod, T.command).find((r) => r.name === "dbis-prod-software-file-opt-dbis-env")!;
    expect(String(writer.inputs.create)).toContain("chmod 0600");
    expect(writer.inputs.stdin).toBe("[secret]");
    const env = String(writer.rawInputs.stdin);
    expect(env).toMatch(/^DATABASE_URL=.*postgresql:\/\/dbis:.+@.+\/dbis_core\?sslmode=require/m);
    expect(env).toMatch(/^PORT=3000$/m);
    const shown = JSON.stringify(prod.resources.map((r) => r.inputs));
    for (const m of ALL_SENTINEL_MARKERS) expect(shown).not.toContain(m);
  });

  it("encodes every part of DATABASE_URL, so a password with URL characters survives", () => {
    const url = databaseUrl({ host: "db.example", port: 25060, database: "dbis_core", user: "dbis", password: "p@ss/w:rd?#%" });
    const parsed = new URL(url);
    expect(decodeURIComponent(parsed.password)).toBe("p@ss/w:rd?#%");
    expect(parsed.pathname).toBe("/dbis_core");
    expect(parsed.searchParams.get("sslmode")).toBe("require");
  });

  it("runs compose up after every file, certbot for the server name, and restarts the app by id", async () => {
    expect(String(one(prod, T.command, "dbis-prod-compose-up").inputs.create)).toBe("bash /opt/lazarus/scripts/ops/compose-up.sh --dir /opt/dbis --watch alertmanager=monitoring/alertmanager,secrets/alertmanager/slack_webhook_url,secrets/alertmanager/smtp_password --watch pg-backup=backup/backup.crontab,backup/pg_service.conf,secrets/pg-backup/pgpass,secrets/pg-backup/s3cfg,backup/server-name --watch prometheus=monitoring/prometheus --watch nginx=nginx.conf");
    expect(String(one(prod, T.command, "dbis-prod-certificate").inputs.create)).toContain("--domain dbis.example.org");
    expect(String(one(staging, T.command, "dbis-staging-certificate").inputs.create)).toContain("acme-staging-v02");
    const plan = await planFor("staging", { patch: (c) => (c["lazarus:dbis"].operations = [{ id: "2026-11-23-restart", action: "restart-app" }]) });
    expect(String(one(plan, T.command, "dbis-staging-op-2026-11-23-restart").inputs.create)).toBe(
      "bash /opt/lazarus/scripts/ops/compose-service.sh --dir /opt/dbis --wait -- restart app",
    );
  });

  it("ships Prometheus its config, scraping the app's /metrics, and the runbook's alert rules", () => {
    const conf = parse(fileOf(prod, "/opt/dbis/monitoring/prometheus/prometheus.yml")!.content!);
    expect(conf.scrape_configs).toEqual([expect.objectContaining({ job_name: "dbis-app", metrics_path: "/metrics", static_configs: [expect.objectContaining({ targets: ["app:3000"] })] })]);
    for (const f of conf.rule_files) expect(fileOf(prod, `/opt/dbis/monitoring/prometheus/${f}`), f).toBeDefined();
  });

  it("routes the public name to the app through nginx with TLS", () => {
    const conf = fileOf(prod, "/opt/dbis/nginx.conf")!.content!;
    expect(conf).toContain("server_name dbis.example.org;");
    expect(conf).toContain("/etc/ssl/lazarus/dbis-prod/fullchain.pem");
  });

  it("has its defaults from the runbook: port 3000, database dbis_core", () => {
    const cfg = stackPlatformConfig("staging", dbis, { patch: (c) => { delete c["lazarus:dbis"].app.port; delete c["lazarus:dbis"].database.databaseName; } });
    expect(cfg.app.port).toBe(3000);
    expect(cfg.database.databaseName).toBe("dbis_core");
  });
});
