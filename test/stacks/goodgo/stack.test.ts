// GoodGo declared from the real Pulumi.prod.yaml / Pulumi.staging.yaml under mocks: host, firewall, bucket, files,
// protection, staging isolation and secrets.
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Plan } from "../../../cli/planner";
import { dropletMemoryGb } from "../../../stacks/goodgo/config";
import { GOODGO_SECRET_FILES } from "../../../stacks/goodgo/monitoring";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, GOODGO_SENTINEL_MARKERS, T, byType, one, planFor } from "../../support/stacks";

let prod: Plan;
let staging: Plan;

beforeAll(async () => {
  prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
  staging = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
});

const writer = (plan: Plan, path: string) => {
  const name = `goodgo-${plan.stack}-software-file${path.replace(/[^A-Za-z0-9]+/g, "-")}`;
  return one(plan, T.command, name);
};
const file = (plan: Plan, path: string) => plan.files.find((f) => f.path === path);

describe("the GoodGo host", () => {
  it("is a droplet of at least 8 GB (section 4.6) in the stack's region and VPC, with monitoring and the platform tag", () => {
    const d = one(prod, T.droplet, "goodgo-prod-host").inputs;
    expect(d).toMatchObject({ name: "goodgo-prod-host", size: "s-8vcpu-16gb", region: "fra1", vpcUuid: "lazarus-prod-vpc-id", monitoring: true, backups: true });
    expect(d.tags).toEqual(expect.arrayContaining(["lazarus", "stack-prod", "platform-goodgo"]));
    for (const plan of [prod, staging]) {
      const size = String(one(plan, T.droplet, `goodgo-${plan.stack}-host`).inputs.size);
      expect(dropletMemoryGb(size), size).toBeGreaterThanOrEqual(8);
    }
  });

  it("installs Docker with compose v2 through cloud-init and prepares the deploy directory", () => {
    const userData = String(one(prod, T.droplet, "goodgo-prod-host").inputs.userData);
    expect(userData.startsWith("#cloud-config")).toBe(true);
    expect(userData).toMatch(/docker-compose-v2|docker-compose-plugin/);
    expect(userData).toContain("/root/goodgo");
  });

  it("keeps its address on a protected reserved IP assigned to the droplet", () => {
    const ip = one(prod, T.reservedIp, "goodgo-prod-host-ip");
    expect(ip.protect).toBe(true);
    expect(one(prod, T.reservedIpAssignment, "goodgo-prod-host-ip-assignment").inputs.ipAddress).toBe("<goodgo-prod-host-ip.ipAddress>");
  });

  it("alerts on CPU, memory and disk and checks the public health URL", () => {
    const alerts = byType(prod, T.monitorAlert).filter((a) => a.name.startsWith("goodgo-prod-host"));
    expect(alerts).toHaveLength(3);
    expect(one(prod, T.uptimeCheck, "goodgo-prod-host-uptime").inputs.target).toBe("https://api.goodgo.example.org/health");
  });
});

describe("the firewall", () => {
  type Rule = { protocol: string; portRange?: string; sourceAddresses: string[] };
  const rules = (plan: Plan) => one(plan, T.firewall, `goodgo-${plan.stack}-host-firewall`).inputs.inboundRules as Rule[];
  const byPort = (plan: Plan) => Object.fromEntries(rules(plan).filter((r) => r.portRange).map((r) => [r.portRange, r.sourceAddresses]));
  const admins = ["203.0.113.10/32", "198.51.100.24/32"];

  it("opens 80/443 (nginx) to everyone, SSH and Grafana 3002 to the admin CIDRs only, and nothing else", () => {
    const ports = byPort(prod);
    expect(Object.keys(ports).sort()).toEqual(["22", "3002", "443", "80"]);
    expect(ports["80"]).toEqual(["0.0.0.0/0", "::/0"]);
    expect(ports["443"]).toEqual(["0.0.0.0/0", "::/0"]);
    expect(ports["22"]).toEqual(admins);
    expect(ports["3002"]).toEqual(admins);
    expect(rules(prod).filter((r) => r.protocol !== "tcp").map((r) => r.protocol)).toEqual(["icmp"]);
  });

  it("opens web 3000 and API 3001 instead of 80/443 when exposure is direct", async () => {
    const direct = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:goodgo"].app.exposure = "direct") });
    const ports = byPort(direct);
    expect(Object.keys(ports).sort()).toEqual(["22", "3000", "3001", "3002"]);
    expect(ports["3000"]).toEqual(["0.0.0.0/0", "::/0"]);
    expect(ports["3002"]).toEqual(admins);
    // and there is no nginx, no certificate
    expect(direct.files.some((f) => f.platform === "goodgo" && f.path.endsWith("nginx/nginx.conf"))).toBe(false);
    expect(byType(direct, T.command).some((c) => c.name.startsWith("goodgo-") && c.name.endsWith("-certificate"))).toBe(false);
    const compose = direct.files.find((f) => f.path === "/root/goodgo/docker-compose.prod.yml")!.content!;
    expect(compose).toContain("- 3000:3000/tcp");
    expect(compose).toContain("- 3001:3001/tcp");
    expect(compose).not.toContain("127.0.0.1:3001:3001");
  });
});

describe("the off-site backup bucket", () => {
  it("is a private, versioned Spaces bucket whose lifecycle rule expires old backups", () => {
    const b = one(prod, T.spacesBucket, "goodgo-prod-offsite-backups");
    expect(b.inputs).toMatchObject({ name: "lazarus-goodgo-prod-backups", region: "fra1", acl: "private", versioning: { enabled: true } });
    expect(b.inputs.lifecycleRules).toEqual([
      expect.objectContaining({ enabled: true, prefix: "postgres/", expiration: { days: 30 } }),
    ]);
    expect(one(staging, T.spacesBucket, "goodgo-staging-offsite-backups").inputs).toMatchObject({ name: "lazarus-goodgo-staging-backups", region: "ams3" });
  });
});

describe("protection", () => {
  it("protects prod's droplet, reserved IP and bucket", () => {
    expect(one(prod, T.droplet, "goodgo-prod-host").protect).toBe(true);
    expect(one(prod, T.reservedIp, "goodgo-prod-host-ip").protect).toBe(true);
    expect(one(prod, T.spacesBucket, "goodgo-prod-offsite-backups").protect).toBe(true);
  });

  it("leaves staging unprotected", () => {
    expect(one(staging, T.droplet, "goodgo-staging-host").protect).toBe(false);
    expect(one(staging, T.spacesBucket, "goodgo-staging-offsite-backups").protect).toBe(false);
  });
});

describe("staging", () => {
  it("is smaller, keeps 15 days of Prometheus data, and shares no resource name with prod", () => {
    expect(one(staging, T.droplet, "goodgo-staging-host").inputs.size).toBe("s-4vcpu-8gb");
    const compose = (p: Plan) => file(p, "/root/goodgo/docker-compose.prod.yml")!.content!;
    expect(compose(staging)).toContain("--storage.tsdb.retention.time=15d");
    expect(compose(prod)).toContain("--storage.tsdb.retention.time=30d");
    const names = (p: Plan) =>
      new Set(p.resources.filter((r) => r.custom && r.name.startsWith("goodgo-")).flatMap((r) => [r.name, ...(typeof r.inputs.name === "string" ? [r.inputs.name] : [])]));
    expect([...names(prod)].filter((n) => names(staging).has(n))).toEqual([]);
  });
});

describe("software on the host", () => {
  it("ships the compose file, every monitoring file, nginx.conf and the runbook as plain files", () => {
    const paths = prod.files.filter((f) => f.platform === "goodgo" && !f.secret).map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining([
      "/root/goodgo/docker-compose.prod.yml",
      "/root/goodgo/monitoring/prometheus/prometheus.yml",
      "/root/goodgo/monitoring/alertmanager/alertmanager.yml",
      "/root/goodgo/monitoring/grafana/provisioning/datasources/datasources.yml",
      "/root/goodgo/monitoring/loki/loki.yml",
      "/root/goodgo/monitoring/promtail/promtail.yml",
      "/root/goodgo/nginx/nginx.conf",
      "/root/goodgo/RUNBOOK.md",
    ]));
    expect(paths.filter((p) => p.startsWith("/root/goodgo/monitoring/grafana/dashboards/"))).toHaveLength(7);
    expect(paths.filter((p) => p.startsWith("/root/goodgo/monitoring/prometheus/rules/"))).toHaveLength(7);
  });

  it("writes the .env, the Slack webhook file and Redis's ACL file with mode 0600, as secrets, with logging off", () => {
    for (const path of ["/root/goodgo/.env", "/root/goodgo/redis/users.acl", `/root/goodgo/monitoring/alertmanager${GOODGO_SECRET_FILES.slackWebhook.slice("/etc/alertmanager".length)}`]) {
      const w = writer(prod, path);
      expect(String(w.inputs.create)).toContain("chmod 0600");
      expect(w.inputs.stdin).toBe("[secret]");
      expect(w.inputs.logging).toBe("none");
      expect(file(prod, path)).toMatchObject({ secret: true, mode: "0600" });
      expect(file(prod, path)!.content).toBeUndefined();
    }
  });

  it("fills the .env from config and secrets: section 8's variables, passwords URL-encoded inside the URLs", () => {
    const env = String(writer(prod, "/root/goodgo/.env").rawInputs.stdin);
    expect(env).toMatch(/^DB_NAME=goodgo$/m);
    expect(env).toMatch(/^DB_USER=goodgo$/m);
    expect(env).toMatch(/^DB_PASSWORD=SENTINEL-gg-dbpass-3c4d\/\+=$/m);
    expect(env).toContain(`DATABASE_URL=postgresql://goodgo:${encodeURIComponent("SENTINEL-gg-dbpass-3c4d/+=")}@pgbouncer:6432/goodgo`);
    expect(env).toContain("DATABASE_URL_DIRECT=postgresql://goodgo:");
    expect(env).toMatch(/^JWT_SECRET='SENTINEL-gg-jwt-5e6f #\$x'$/m);
    expect(env).toMatch(/^IMAGE_TAG=8f3c2a1$/m);
    expect(env).toMatch(/^REGISTRY_URL=ghcr.io\/goodgo$/m);
    expect(env).toMatch(/^PGBOUNCER_POOL_SIZE=20$/m);
    expect(env).toMatch(/^PGBOUNCER_MAX_CLIENT_CONN=200$/m);
    expect(env).toMatch(/^BACKUP_RETENTION_DAYS=7$/m);
    for (const v of ["REDIS_URL", "TYPESENSE_API_KEY", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "VNPAY_HASH_SECRET", "AI_API_KEY", "GRAFANA_ADMIN_USER", "JWT_REFRESH_SECRET"]) {
      expect(env, v).toMatch(new RegExp(`^${v}=`, "m"));
    }
  });

  // That a changed file re-runs compose up (and nothing else) is test/components/file-change-triggers.test.ts.
  it("runs docker compose up --wait after every file is written, and again when the image tag changes", () => {
    const up = one(prod, T.command, "goodgo-prod-compose-up");
    expect(String(up.inputs.create)).toMatch(/compose-up\.sh --dir \/root\/goodgo --project-name goodgo/);
    // Services restarted when the files they mount change (compose alone recreates only on a configuration change).
    for (const w of ["pgbouncer=pgbouncer/userlist.txt,secrets/pgbouncer/pgpass", "redis=secrets/redis/redis_password,redis/redis.conf,redis/users.acl", "nginx=nginx/nginx.conf", "prometheus=monitoring/prometheus", "alertmanager=monitoring/alertmanager"]) {
      expect(String(up.inputs.create)).toContain(`--watch ${w}`);
    }
    // what is read afresh on every use, or changes at runtime, restarts nothing: PostgreSQL keeps running
    expect(String(up.inputs.create)).toContain("--watch postgres=secrets/postgres/db_password ");
    expect(String(up.inputs.create)).toContain("--watch pg-backup=backup/backup.crontab,secrets/pg-backup/pgpass,secrets/pg-backup/s3cfg ");
    for (const p of ["postgres/run", "pgbackrest/pgbackrest.conf", "secrets/postgres/pgbackrest-secrets.conf"]) expect(String(up.inputs.create)).not.toContain(p);
    const writers = byType(prod, T.command).filter((c) => c.name.startsWith("goodgo-prod-software-file"));
    expect(writers.length).toBe(prod.files.filter((f) => f.platform === "goodgo").length);
    expect(up.inputs.triggers).toContain("8f3c2a1");
    expect(up.dependencies).toEqual(expect.arrayContaining(writers.map((w) => w.urn)));
  });

  it("links compose.yaml to the runbook's docker-compose.prod.yml and hands the webhook file to Alertmanager's user", () => {
    const prep = String(one(prod, T.command, "goodgo-prod-prepare").inputs.create);
    expect(prep).toContain("ln -sfn docker-compose.prod.yml compose.yaml");
    expect(prep).toContain("chown 65534:65534 /root/goodgo/monitoring/alertmanager/secrets/slack_webhook_url");
    expect(prep).toContain("chown 999:1000 /root/goodgo/redis/users.acl");
    const acl = String(one(prod, T.command, "goodgo-prod-software-file-root-goodgo-redis-users-acl").rawInputs.stdin);
    expect(acl).toMatch(/^user default on #[0-9a-f]{64} /);
    expect(acl).not.toContain("SENTINEL");
  });

  it("gives PgBouncer's admin console a user: a 0600 userlist for uid 70 mounted read-only, its password in a PGPASSFILE", () => {
    const path = "/root/goodgo/pgbouncer/userlist.txt";
    expect(file(prod, path)).toMatchObject({ secret: true, mode: "0600" });
    expect(writer(prod, path).inputs.stdin).toBe("[secret]");
    // The application user with its password (PgBouncer logs on to PostgreSQL with it) and the runbook's pgbouncer_admin.
    expect(String(writer(prod, path).rawInputs.stdin)).toBe('"goodgo" "SENTINEL-gg-dbpass-3c4d/+="\n"pgbouncer_admin" "SENTINEL-gg-pgbadmin-9e0f"\n');
    const prep = one(prod, T.command, "goodgo-prod-prepare");
    expect(String(prep.inputs.create)).toContain(`chown 70:70 ${path}`);
    const compose = file(prod, "/root/goodgo/docker-compose.prod.yml")!.content!;
    const pgbouncer = (parse(compose) as { services: Record<string, { environment: Record<string, string>; volumes: string[] }> }).services.pgbouncer;
    expect(pgbouncer.volumes).toContain("./pgbouncer/userlist.txt:/etc/pgbouncer/userlist.txt:ro");
    expect(pgbouncer.environment.PGPASSWORD).toBeUndefined();
    expect(pgbouncer.environment.PGPASSFILE).toBe("/run/secrets/pgpass");
    expect(pgbouncer.environment.ADMIN_USERS).toBe("pgbouncer_admin");
    expect(pgbouncer.environment.AUTH_FILE).toBe("/etc/pgbouncer/userlist.txt");
    expect(String(writer(prod, "/root/goodgo/secrets/pgbouncer/pgpass").rawInputs.stdin)).toBe("*:*:*:pgbouncer_admin:SENTINEL-gg-pgbadmin-9e0f\n");
  });

  it("passes the backups' codec and level to pg-backup (zstd at its own default unless the stack says otherwise)", async () => {
    const env = (plan: Plan) =>
      (parse(file(plan, "/root/goodgo/docker-compose.prod.yml")!.content!) as { services: Record<string, { environment: Record<string, string> }> }).services["pg-backup"].environment;
    expect(env(prod).BACKUP_CODEC).toBe("zstd");
    expect(env(prod).BACKUP_COMPRESS).toBeUndefined();
    const fast = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:goodgo"].backups.compressLevel = 0) });
    expect(env(fast).BACKUP_COMPRESS).toBe("0");
    const gzip = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => Object.assign(c["lazarus:goodgo"].backups, { codec: "gzip", compressLevel: 6 }) });
    expect(env(gzip)).toMatchObject({ BACKUP_CODEC: "gzip", BACKUP_COMPRESS: "6" });
  });

  it("issues the certificate for both domains and activates it behind nginx", () => {
    expect(String(one(prod, T.command, "goodgo-prod-certificate").inputs.create)).toMatch(/cert-issue\.sh --domain goodgo\.example\.org --domain api\.goodgo\.example\.org/);
    expect(String(one(staging, T.command, "goodgo-staging-certificate").inputs.create)).toContain("--server https://acme-staging-v02.api.letsencrypt.org/directory");
  });
});

describe("secrets", () => {
  it("appear nowhere in what a plan shows: inputs, outputs, rendered files", () => {
    const shown = JSON.stringify([prod.resources.map((r) => r.inputs), prod.outputs, prod.files, staging.resources.map((r) => r.inputs), staging.files]);
    for (const m of ALL_SENTINEL_MARKERS) expect(shown, m).not.toContain(m);
  });

  it("reach the host only through secret inputs of the file writers and the SSH connection", () => {
    for (const r of prod.resources) {
      for (const [k, v] of Object.entries(r.rawInputs)) {
        const text = JSON.stringify(v);
        if (GOODGO_SENTINEL_MARKERS.some((m) => text.includes(m))) expect(r.secretInputs, `${r.name}.${k}`).toContain(k);
      }
    }
  });
});
