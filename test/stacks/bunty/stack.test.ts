// Bunty declared from the real Pulumi.prod.yaml / Pulumi.staging.yaml under mocks: what is declared, with which inputs
// (never the mock's ids or outputs), and which stack-file mistakes are refused before anything is declared.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { ConfigError } from "../../../config/errors";
import { checkPlan } from "../../../policy/rules";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, byType, one, planFor, rawStack } from "../../support/stacks";

let prod: Plan;
let staging: Plan;

beforeAll(async () => {
  prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
  staging = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
});

const command = (plan: Plan, name: string) => String(one(plan, T.command, name).inputs.create);

describe("the Bunty host", () => {
  it("is a droplet, staging smaller than prod, with the deploy user, nginx, Node and Redis from cloud-init", () => {
    expect(one(prod, T.droplet, "bunty-prod-host").inputs.size).toBe("s-2vcpu-4gb");
    expect(one(staging, T.droplet, "bunty-staging-host").inputs.size).toBe("s-1vcpu-2gb");
    const userData = String(one(prod, T.droplet, "bunty-prod-host").inputs.userData);
    for (const p of ["nginx", "nodejs", "redis-server"]) expect(userData).toContain(`- ${p}`);
    expect(userData).toMatch(/name: deploy/);
    expect(userData).toContain("/var/www/bunty-backend");
  });

  it("alerts when the health URL is down and when it answers slower than the runbook's 2 seconds", () => {
    const alerts = byType(prod, T.uptimeAlert).filter((a) => a.name.startsWith("bunty-prod-host"));
    expect(alerts.map((a) => a.inputs.type).sort()).toEqual(["down", "latency", "ssl_expiry"]);
    expect(alerts.find((a) => a.inputs.type === "latency")!.inputs).toMatchObject({ threshold: 2000, comparison: "greater_than" });
    expect(one(prod, T.uptimeCheck, "bunty-prod-host-uptime").inputs.target).toBe("https://api.bunty.io/health");
  });
});

describe("the Bunty software", () => {
  it("sets up PM2 pinned, pm2-logrotate with the runbook's settings and PM2 at boot, as deploy", () => {
    const setup = command(prod, "bunty-prod-host-setup");
    expect(setup).toContain("pm2-host-setup.sh --user deploy --app-dir /var/www/bunty-backend --pm2-version 7.0.4");
    expect(setup).toContain("--logrotate-max-size 10M --logrotate-retain 7 --logrotate-compress true");
    expect(setup).not.toContain("--no-startup");
  });

  it("starts the app from the ecosystem file after the database, Redis and the secret files are ready", () => {
    const start = one(prod, T.command, "bunty-prod-pm2-start");
    expect(start.inputs.create).toContain("pm2-app.sh --user deploy --ecosystem /etc/bunty/ecosystem.config.js --app bunty-backend start");
    const urnOf = (n: string) => one(prod, T.command, n).urn;
    expect(start.dependencies).toEqual(expect.arrayContaining([urnOf("bunty-prod-hand-over"), urnOf("bunty-prod-redis")]));
  });

  it("issues the certificate with a deploy hook that restarts the systemd nginx, after nginx serves the webroot", () => {
    const cert = one(prod, T.command, "bunty-prod-certificate");
    expect(cert.inputs.create).toContain("cert-issue.sh --domain api.bunty.io --email ops@bunty.io --webroot /var/www/certbot --systemd-unit nginx --cert-name bunty-prod");
    expect(cert.dependencies).toContain(one(prod, T.command, "bunty-prod-nginx").urn);
    expect(command(prod, "bunty-prod-nginx")).toMatch(/^set -eu; nginx -t; /);
    expect(command(staging, "bunty-staging-certificate")).toContain("--server https://acme-staging-v02.api.letsencrypt.org/directory");
  });

  it("ships the backup timers and enables them once the app and its database are up", () => {
    const timers = one(prod, T.command, "bunty-prod-backup-timers");
    expect(timers.inputs.create).toContain('systemctl enable --now "$@"');
    expect(timers.inputs.create).toMatch(/ backup-timers \/var\/backups\/bunty bunty-backup\.timer bunty-backup-verify\.timer$/);
    expect(timers.dependencies).toContain(one(prod, T.command, "bunty-prod-pm2-start").urn);
    const unit = String(one(prod, T.command, "bunty-prod-software-file-etc-systemd-system-bunty-backup-service").inputs.stdin);
    expect(unit).toContain('"/opt/lazarus/scripts/ops/app-data.sh" "--env-file" "/var/www/bunty-backend/.env" "--backup-dir" "/var/backups/bunty"');
  });

  it("declares the off-site bucket private, versioned and protected on prod, expiring old copies under the prefix only", () => {
    const bucket = one(prod, T.spacesBucket, "bunty-prod-backups");
    expect(bucket.inputs).toMatchObject({ name: "bunty-prod-backups", region: "fra1", acl: "private", versioning: { enabled: true } });
    expect(bucket.inputs.lifecycleRules).toEqual([expect.objectContaining({ prefix: "postgres/", expiration: { days: 30 }, enabled: true })]);
    expect(bucket.protect).toBe(true);
    // the key reaches the host only as a secret file
    const s3cfg = one(prod, T.command, "bunty-prod-software-file-etc-bunty-s3cfg");
    expect(JSON.stringify(s3cfg.inputs)).not.toMatch(/SENTINEL-buntyspaces/);
    const unit = String(one(prod, T.command, "bunty-prod-software-file-etc-systemd-system-bunty-backup-service").inputs.stdin);
    expect(unit).toMatch(/^Environment=S3_URL=s3:\/\/bunty-prod-backups\/postgres$/m);
    expect(unit).toMatch(/^Environment=S3CMD_CONFIG=\/etc\/bunty\/s3cfg$/m);
    // staging (PostgreSQL on the host): pgBackRest's secrets file goes to postgres with the others
    expect(String(one(staging, T.command, "bunty-staging-hand-over").inputs.create)).toMatch(
      / hand-over deploy:deploy \/var\/www\/bunty-backend\/\.env redis:redis \/etc\/redis\/users\.acl postgres:postgres \/etc\/pgbackrest\/conf\.d\/lazarus-secrets\.conf$/,
    );
  });

  it("creates pg_stat_statements on the managed cluster as its admin, password on stdin only, before the app starts", () => {
    const ext = one(prod, T.command, "bunty-prod-pg-stat-statements");
    expect(String(ext.inputs.create)).toContain("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    expect(String(ext.inputs.create)).toMatch(/ bunty_prod require$/);
    expect(ext.inputs.logging).toBe("none");
    expect(one(prod, T.command, "bunty-prod-pm2-start").dependencies).toContain(ext.urn);
    expect(byType(staging, T.command).some((r) => r.name === "bunty-staging-pg-stat-statements")).toBe(false);
  });

  it("keeps every secret out of plain inputs: the .env and the Redis ACL travel only as secret stdin", () => {
    const text = JSON.stringify(prod.resources.map((r) => r.inputs));
    for (const m of ALL_SENTINEL_MARKERS.filter((m) => /bunty/.test(m))) expect(text).not.toContain(m);
  });

  it("puts PostgreSQL in a managed cluster on prod and on the host on staging, with pg_stat_statements there", () => {
    expect(one(prod, T.cluster, "bunty-prod-db").inputs).toMatchObject({ engine: "pg", version: "16" });
    expect(byType(staging, T.cluster).filter((c) => c.name.startsWith("bunty"))).toEqual([]);
    const pg = one(staging, T.command, "bunty-staging-postgres-setup");
    expect(pg.inputs.create).toBe("bash /opt/lazarus/scripts/ops/pg-host-setup.sh --database bunty_staging --user bunty --extension pg_stat_statements --createdb");
    expect(pg.inputs.logging).toBe("none");
  });
});

describe("Bunty stack-file mistakes", () => {
  it("names the file, key and an example for a bad value", async () => {
    const err = await planFor("prod", { patch: (c) => (c["lazarus:bunty"].pm2.logrotate.maxSize = "10 MB") }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err.message)).toContain("Pulumi.prod.yaml: lazarus:bunty.pm2.logrotate.maxSize");
    expect(String(err.message)).toContain("example: 10M");
  });

  it("refuses a health URL that is not on the API's domain", async () => {
    const err = await planFor("prod", { patch: (c) => (c["lazarus:bunty"].healthUrl = "https://bunty.io/health") }).catch((e) => e);
    expect(String(err.message)).toContain("lazarus:bunty.healthUrl");
    expect(String(err.message)).toContain("example: https://api.bunty.io/health");
  });

  it("refuses a feature flag that is not NAME_ENABLED", async () => {
    const err = await planFor("prod", { patch: (c) => (c["lazarus:bunty"].app.featureFlags = { plaid: false }) }).catch((e) => e);
    expect(String(err.message)).toContain("lazarus:bunty.app.featureFlags");
    expect(String(err.message)).toContain("PLAID_ENABLED");
  });
});

describe("Bunty operations", () => {
  const ops = [
    { id: "2026-12-01-rollback", action: "rollback", confirm: "prod/bunty/rollback" },
    { id: "2026-12-01-shutdown", action: "emergency-shutdown", confirm: "prod/bunty/emergency-shutdown" },
    { id: "2026-12-01-start", action: "start" },
  ];

  it("refuses a rollback and an emergency shutdown on prod without their confirmations, naming the value to write", async () => {
    const err = await planFor("prod", { patch: (c) => (c["lazarus:bunty"].operations = ops.map(({ confirm: _, ...o }) => o)) }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err.message)).toContain('lazarus:bunty.operations[0].confirm: is missing: a rollback puts the previous release live');
    expect(String(err.message)).toContain('to proceed set it to "prod/bunty/rollback"');
    expect(String(err.message)).toContain('lazarus:bunty.operations[1].confirm: is missing: an emergency shutdown stops the backend');
  });

  it("runs them confirmed, once each, after the certificate; the shutdown stops only the app, and the policy pack passes", async () => {
    const patch = (c: Record<string, any>) => (c["lazarus:bunty"].operations = ops);
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch });
    expect(command(plan, "bunty-prod-op-2026-12-01-rollback")).toBe(
      "bash /opt/lazarus/scripts/ops/pm2-rollback.sh --dir /var/www/bunty-backend --user deploy --ecosystem /etc/bunty/ecosystem.config.js --app bunty-backend",
    );
    const shutdown = command(plan, "bunty-prod-op-2026-12-01-shutdown");
    expect(shutdown).toBe("bash /opt/lazarus/scripts/ops/pm2-app.sh --user deploy --ecosystem /etc/bunty/ecosystem.config.js --app bunty-backend stop");
    expect(shutdown).not.toMatch(/nginx/);
    expect(one(plan, T.command, "bunty-prod-op-2026-12-01-start").dependencies).toContain(one(plan, T.command, "bunty-prod-tls-activate").urn);
    expect(checkPlan(plan, rawStack("prod", { patch }))).toEqual([]);
  });

  const dataOps = [
    { id: "2026-12-01-flush", action: "flush-cache", confirm: "prod/bunty/flush-cache" },
    { id: "2026-12-01-kill", action: "terminate-query", pid: 4242, confirm: "prod/bunty/terminate-query" },
    { id: "2026-12-01-analyze", action: "analyze" },
    { id: "2026-12-01-vacuum", action: "vacuum-analyze" },
    { id: "2026-12-01-reindex", action: "reindex", confirm: "prod/bunty/reindex" },
    { id: "2026-12-01-backup", action: "backup-now" },
    { id: "2026-12-01-migrate", action: "migrate", file: "/var/www/bunty-backend/migrations/042.sql" },
  ];

  it("refuses flush-cache, terminate-query and reindex on prod without their confirmations, saying what each invalidates", async () => {
    const err = await planFor("prod", { patch: (c) => (c["lazarus:bunty"].operations = dataOps.map(({ confirm: _, ...o }) => o)) }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const msg = String(err.message);
    expect(msg).toContain("lazarus:bunty.operations[0].confirm: is missing: FLUSHDB drops every cached value, session and rate-limit counter");
    expect(msg).toContain('to proceed set it to "prod/bunty/flush-cache"');
    expect(msg).toContain("lazarus:bunty.operations[1].confirm: is missing: pg_terminate_backend(4242) ends that session");
    expect(msg).toContain("lazarus:bunty.operations[4].confirm: is missing: REINDEX DATABASE locks each table");
    expect(msg).not.toContain("operations[2]");
    expect(msg).not.toContain("operations[5]");
  });

  it("runs the database and cache operations from the app's .env, once each; the policy pack passes them confirmed and refuses them without", async () => {
    const patch = (c: Record<string, any>) => (c["lazarus:bunty"].operations = dataOps);
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch });
    const base = "bash /opt/lazarus/scripts/ops/app-data.sh --env-file /var/www/bunty-backend/.env --backup-dir /var/backups/bunty --backup-prefix bunty";
    expect(command(plan, "bunty-prod-op-2026-12-01-flush")).toBe(`${base} flush-cache`);
    expect(command(plan, "bunty-prod-op-2026-12-01-kill")).toBe(`${base} terminate 4242`);
    expect(command(plan, "bunty-prod-op-2026-12-01-analyze")).toBe(`${base} analyze`);
    expect(command(plan, "bunty-prod-op-2026-12-01-vacuum")).toBe(`${base} vacuum-analyze`);
    expect(command(plan, "bunty-prod-op-2026-12-01-reindex")).toBe(`${base} reindex`);
    // copied off-site like the daily backup: the bucket's coordinates as plain env, the key in s3cmd's 0600 config
    expect(command(plan, "bunty-prod-op-2026-12-01-backup")).toBe(
      `env S3_URL=s3://bunty-prod-backups/postgres S3_ENDPOINT=fra1.digitaloceanspaces.com S3_HOST_BUCKET=bunty-prod-backups.fra1.digitaloceanspaces.com S3_REGION=fra1 S3CMD_CONFIG=/etc/bunty/s3cfg ${base} backup`,
    );
    expect(command(plan, "bunty-prod-op-2026-12-01-migrate")).toBe(`${base} migrate /var/www/bunty-backend/migrations/042.sql`);
    expect(checkPlan(plan, rawStack("prod", { patch }))).toEqual([]);
    // The pack sees what the command does, even if a stack file's confirmations were lost on the way.
    const unconfirmed = checkPlan(plan, rawStack("prod", { patch: (c) => (c["lazarus:bunty"].operations = dataOps.map(({ confirm: _, ...o }) => o)) }));
    expect(unconfirmed.map((v) => v.message.split(":")[0]).sort()).toEqual(["bunty-prod-op-2026-12-01-flush", "bunty-prod-op-2026-12-01-kill", "bunty-prod-op-2026-12-01-reindex"]);
  });

  it("serves the maintenance page from nginx itself: the rendered site turns 502/503/504 into the page", () => {
    const conf = String(one(prod, T.command, "bunty-prod-software-file-etc-nginx-nginx-conf").inputs.stdin);
    expect(conf).toContain("error_page 502 503 504 =503 /maintenance.html;");
    expect(conf).toContain("root /var/www/bunty-maintenance;");
  });
});
