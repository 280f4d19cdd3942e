// Bunty's Horizontal Scaling declared from the real Pulumi.prod.yaml / Pulumi.staging.yaml under mocks: the clones
// from the snapshot, the load balancer (TLS with a DigitalOcean-managed Let's Encrypt certificate, the health URL's path
// on the app's port), and the host steps on EVERY droplet, the shared-data steps once; refused while PostgreSQL or Redis
// runs on the host. The DigitalOcean provider's input types (tsc) are the schema of what is declared here.
// What only the provider shows: that the certificate is issued (DigitalOcean must host the domain's DNS), the balancer's
// health checks passing, the snapshot id existing.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { ConfigError } from "../../../config/errors";
import { checkPlan } from "../../../policy/rules";
import { bunty } from "../../../stacks/bunty";
import { BUNTY_PATHS, planBunty } from "../../../stacks/bunty/plan";
import { ALL_SENTINEL_SECRETS, T, byType, one, planFor, rawStack, stackPlatformConfig } from "../../support/stacks";
import { nginxTest } from "../../support/validators";

const LB = "digitalocean:index/loadBalancer:LoadBalancer";
const CERT = "digitalocean:index/certificate:Certificate";
const DB_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall";

const scaledOut = (c: Record<string, any>) => {
  const b = c["lazarus:bunty"];
  b.redis = { where: "managed", cluster: { size: "db-s-1vcpu-2gb", nodeCount: 2, maintenanceWindow: { day: "sunday", hour: "03:00" } } };
  b.scaleOut = { count: 2, fromSnapshot: "187654321", confirm: "prod/bunty/scale-out-2" };
  b.operations = [
    { id: "2026-12-02-restart", action: "restart" },
    { id: "2026-12-02-rollback", action: "rollback", confirm: "prod/bunty/rollback" },
    { id: "2026-12-02-flush", action: "flush-cache", confirm: "prod/bunty/flush-cache" },
  ];
};
const HOSTS = ["bunty-prod", "bunty-prod-clone-1", "bunty-prod-clone-2"];
let plan: Plan;
beforeAll(async () => {
  plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: scaledOut });
});
const names = (type: string) => byType(plan, type).map((r) => r.name);
const create = (name: string) => String(one(plan, T.command, name).inputs.create);

describe("Bunty horizontal scale-out", () => {
  it("declares the clones from the snapshot, unprotected with their reserved IPs (they hold no data), the seed protected, no uptime check per clone", () => {
    for (const n of [1, 2]) {
      const clone = one(plan, T.droplet, `bunty-prod-clone-${n}`);
      expect(clone.inputs).toMatchObject({ image: "187654321", size: "s-2vcpu-4gb" });
      expect(clone.protect).toBe(false);
      // its reserved IP too: a lower count removes both (no address of a clone is published)
      expect(one(plan, "digitalocean:index/reservedIp:ReservedIp", `bunty-prod-clone-${n}-ip`).protect).toBe(false);
    }
    expect(one(plan, T.droplet, "bunty-prod-host").protect).toBe(true);
    expect(names("digitalocean:index/uptimeCheck:UptimeCheck").filter((n) => n.includes("clone"))).toEqual([]);
  });

  it("puts every droplet behind a protected load balancer (DNS points at it) with a managed Let's Encrypt certificate, HTTP redirected, the app's health checked, no stickiness", () => {
    expect(one(plan, CERT, "bunty-prod-api").inputs).toMatchObject({ type: "lets_encrypt", domains: ["api.bunty.io"] });
    const lb = one(plan, LB, "bunty-prod-lb");
    expect(lb.protect).toBe(true);
    expect(lb.inputs).toMatchObject({
      redirectHttpToHttps: true,
      healthcheck: { protocol: "http", port: 3000, path: "/health" },
      stickySessions: { type: "none" },
    });
    expect(lb.inputs.forwardingRules).toEqual([
      expect.objectContaining({ entryProtocol: "https", entryPort: 443, targetProtocol: "http", targetPort: 80 }),
      expect.objectContaining({ entryProtocol: "http", entryPort: 80, targetProtocol: "http", targetPort: 80 }),
    ]);
    expect((lb.inputs.dropletIds as unknown[]).length).toBe(3);
    // the droplets admit the balancer only, on nginx's port and the app's; their own firewalls open nothing to the world
    const fw = one(plan, T.firewall, "bunty-prod-lb-to-droplets");
    expect((fw.inputs.inboundRules as { portRange: string }[]).map((r) => r.portRange)).toEqual(["80", "3000"]);
    for (const f of byType(plan, T.firewall).filter((f) => f.name !== "bunty-prod-lb-to-droplets" && f.name.startsWith("bunty-prod"))) {
      expect(JSON.stringify(f.inputs.inboundRules)).not.toMatch(/"portRange":"(80|443)"/);
    }
  });

  it("runs the host steps on every droplet: the same files and .env, PM2, nginx on port 80 without a certificate", () => {
    for (const h of HOSTS) {
      for (const step of ["host-setup", "hand-over", "pm2-start", "behind-balancer", "nginx"]) expect(names(T.command)).toContain(`${h}-${step}`);
      const env = String(one(plan, T.command, `${h}-software-file-var-www-bunty-backend-env`).rawInputs.stdin);
      expect(env).toMatch(/^REDIS_URL='?rediss:\/\//m);
      expect(names(T.command)).not.toContain(`${h}-certificate`);
      const nginxConf = String(one(plan, T.command, `${h}-software-file-etc-nginx-nginx-conf`).inputs.stdin);
      expect(nginxConf).not.toMatch(/listen 443|ssl_certificate /);
    }
    // the clones turn off the backup timers their snapshot carried: backups run once, from the seed
    expect(create("bunty-prod-clone-1-behind-balancer")).toContain("systemctl disable --now bunty-backup.timer bunty-backup-verify.timer");
    expect(names(T.command).filter((n) => n.endsWith("-backup-timers"))).toEqual(["bunty-prod-backup-timers"]);
    expect(names(T.command).filter((n) => n.endsWith("-pg-stat-statements"))).toEqual(["bunty-prod-pg-stat-statements"]);
  });

  it("renders an nginx.conf behind the balancer that nginx -t accepts: the site on port 80, no certificate, the maintenance page", () => {
    const cfg = stackPlatformConfig("prod", bunty, { patch: scaledOut });
    const files = planBunty(cfg, { stack: "prod", stackFile: "Pulumi.prod.yaml", environment: {} as never }).files;
    const maintenance = `${BUNTY_PATHS.maintenanceRoot}/${BUNTY_PATHS.maintenancePage}`;
    const conf = files[BUNTY_PATHS.nginxConf]!;
    expect(conf).toMatch(/server_name api\.bunty\.io;/);
    expect(conf).not.toMatch(/return 301 https/);
    const r = nginxTest(conf, { files: { [maintenance]: files[maintenance]! } });
    expect(r.ok, r.output).toBe(true);
  });

  it("runs per-host operations on every droplet and flush-cache once; shares one Valkey cluster admitting exactly the droplets", () => {
    expect(names(T.command).filter((n) => n.endsWith("-op-2026-12-02-restart")).sort()).toEqual(HOSTS.map((h) => `${h}-op-2026-12-02-restart`).sort());
    expect(names(T.command).filter((n) => n.endsWith("-op-2026-12-02-rollback")).length).toBe(3);
    expect(names(T.command).filter((n) => n.endsWith("-op-2026-12-02-flush"))).toEqual(["bunty-prod-op-2026-12-02-flush"]);
    expect(one(plan, T.cluster, "bunty-prod-cache").inputs).toMatchObject({ engine: "valkey", version: "8", nodeCount: 2 });
    expect((one(plan, DB_FIREWALL, "bunty-prod-cache-firewall").inputs.rules as { type: string }[]).map((r) => r.type)).toEqual(["droplet", "droplet", "droplet"]);
    expect((one(plan, DB_FIREWALL, "bunty-prod-db-firewall").inputs.rules as unknown[]).length).toBe(3);
    expect(names(T.command)).not.toContain("bunty-prod-redis");
  });

  it("passes the policy pack confirmed (the clones exempt from protection) and fails the clones without the confirmation", () => {
    expect(checkPlan(plan, rawStack("prod", { patch: scaledOut }))).toEqual([]);
    const unconfirmed = checkPlan(plan, rawStack("prod", { patch: (c) => (scaledOut(c), delete c["lazarus:bunty"].scaleOut.confirm) }));
    expect(unconfirmed.filter((v) => v.policy === "prod-stateful-protected").map((v) => v.message.split(":")[0]).sort()).toEqual(["bunty-prod-clone-1", "bunty-prod-clone-1-ip", "bunty-prod-clone-2", "bunty-prod-clone-2-ip"]);
    expect(unconfirmed.filter((v) => v.policy === "destructive-confirmed").map((v) => v.message.split(" on stack")[0]).sort()).toEqual([
      "bunty-prod-clone-1: adds a droplet from a snapshot behind the load balancer (scale-out)",
      "bunty-prod-clone-2: adds a droplet from a snapshot behind the load balancer (scale-out)",
    ]);
  });
});

describe("Bunty scale-out refusals", () => {
  const refusal = (p: Promise<unknown>) => p.then(() => "", (e) => (expect(e).toBeInstanceOf(ConfigError), String(e.message)));

  it("refuses while PostgreSQL and Redis run on the host, each with the fix", async () => {
    const msg = await refusal(planFor("staging", { patch: (c) => (c["lazarus:bunty"].scaleOut = { count: 1, fromSnapshot: "bunty-staging-host-20261201" }) }));
    expect(msg).toContain("lazarus:bunty.scaleOut: needs PostgreSQL off the host: each clone of the snapshot would run its own database");
    expect(msg).toContain("example: postgres: {where: managed");
    expect(msg).toContain("lazarus:bunty.scaleOut: needs Redis off the host: each droplet would keep its own cache");
    expect(msg).toContain("example: redis: {where: managed");
  });

  it("refuses it on prod without the confirmation naming the count, and a certbot renewal behind the balancer", async () => {
    const msg = await refusal(
      planFor("prod", {
        patch: (c) => {
          scaledOut(c);
          c["lazarus:bunty"].scaleOut = { count: 3, fromSnapshot: "187654321", confirm: "prod/bunty/scale-out-2" };
          c["lazarus:bunty"].operations = [{ id: "2026-12-02-renew", action: "renew-certificate" }];
        },
      }),
    );
    expect(msg).toContain('lazarus:bunty.scaleOut.confirm: "prod/bunty/scale-out-2" is not the confirmation');
    expect(msg).toContain('to proceed set it to "prod/bunty/scale-out-3"');
    expect(msg).toContain("lazarus:bunty.operations[0]: renews the host's certbot certificate, but with scaleOut the load balancer terminates TLS");
  });

  it("clones from a snapshot named, not numbered: the most recent snapshot of exactly that name", async () => {
    const named = await planFor("staging", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => {
        const b = c["lazarus:bunty"];
        b.postgres = { where: "managed", cluster: { version: "16", size: "db-s-1vcpu-1gb", nodeCount: 1, maintenanceWindow: { day: "sunday", hour: "03:00" }, databaseName: "bunty_staging", userName: "bunty" } };
        b.redis = { where: "managed", cluster: { size: "db-s-1vcpu-1gb", nodeCount: 1, maintenanceWindow: { day: "sunday", hour: "03:00" } } };
        b.scaleOut = { count: 1, fromSnapshot: "bunty-staging-host-20261201" };
      },
    });
    expect(byType(named, T.droplet).map((d) => d.name)).toContain("bunty-staging-clone-1");
    // staging needs no confirmation
  });
});
