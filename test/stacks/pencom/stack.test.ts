// Pencom declared from the real Pulumi.prod.yaml / Pulumi.staging.yaml under mocks: what is declared, with which inputs
// and in which order of dependencies (never the mock's ids or outputs), that nothing of DigitalOcean is declared, that
// the policy pack passes, and which stack-file mistakes are refused before anything is declared.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import type { Plan } from "../../../cli/planner";
import { ConfigError } from "../../../config/errors";
import { checkPlan } from "../../../policy/rules";
import { PENCOM_SERVICES } from "../../../stacks/pencom/inventory";
import { REPO } from "../../support/testHost";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, byType, keepOnlyPlatforms, one, patchedProject, planFor, rawStack } from "../../support/stacks";

let prod: Plan;
let staging: Plan;
const pencomOnly = (c: Record<string, any>) => keepOnlyPlatforms(c, ["pencom"]);
const withRecovery = (c: Record<string, any>) => {
  pencomOnly(c);
  c["lazarus:pencom"].recovery = {
    coreDatabase: { label: "r1", backup: "/var/backups/pencom/pencom_core_db2.sql", cutover: true, confirm: "prod/pencom/core-database-cutover" },
    notificationsDatabase: { label: "r1", archive: "/var/backups/pencom/notifications.archive.gz", cutover: true, confirm: "prod/pencom/notifications-database-cutover" },
  };
  c["lazarus:pencom"].operations = [
    { id: "2026-12-01-status", action: "status" },
    { id: "2026-12-01-shutdown", action: "graceful-shutdown", confirm: "prod/pencom/graceful-shutdown" },
    { id: "2026-12-01-retry", action: "retry-failed-jobs", queue: "payments" },
  ];
};

beforeAll(async () => {
  prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: pencomOnly });
  staging = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: pencomOnly });
});

const command = (plan: Plan, name: string) => one(plan, T.command, name);
const stdin = (plan: Plan, path: string) => String(command(plan, `pencom-prod-software-file${path.replace(/[^A-Za-z0-9]+/g, "-")}`).inputs.stdin);

describe("Pencom on its existing server", () => {
  it("declares no DigitalOcean resource on prod; staging only its off-site pgBackRest bucket (with the stack's VPC and project, as any bucket)", () => {
    for (const plan of [prod, staging]) {
      const types = plan.resources.filter((r) => r.type.startsWith("digitalocean:")).map((r) => r.type);
      expect(types.filter((t) => !/index\/(project|vpc):/.test(t))).toEqual(plan === staging ? [T.spacesBucket] : []);
      if (plan === prod) expect(types).toEqual([]);
      expect(types.some((t) => /droplet/i.test(t))).toBe(false);
      expect(plan.resources.some((r) => r.type === T.command)).toBe(true);
    }
  });

  it("plans with no DigitalOcean settings in lazarus:environment at all", async () => {
    const dir = patchedProject("prod", (c) => {
      pencomOnly(c);
      for (const k of ["region", "project", "vpc", "sshKeys", "adminCidrs"]) delete c["lazarus:environment"][k];
    });
    const r = await runPlanCli(["--stack", "prod", "--json", "--project-dir", dir]);
    expect(r.code, r.stderr).toBe(0);
  });

  it("passes the policy pack, with its recovery switches and a shutdown confirmed", async () => {
    expect(checkPlan(prod, rawStack("prod", { patch: pencomOnly }))).toEqual([]);
    const recovering = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: withRecovery });
    expect(checkPlan(recovering, rawStack("prod", { patch: withRecovery }))).toEqual([]);
  });

  it("the policy pack refuses the fleet's shutdown and a service stop on prod when the stack file lacks their confirmation", async () => {
    const recovering = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: withRecovery });
    const violations = checkPlan(recovering, rawStack("prod", { patch: pencomOnly })).filter((v) => v.policy === "destructive-confirmed");
    expect(violations.map((v) => v.message)).toEqual([
      'pencom-prod-notifications-stop-r1: stops a service (takes it offline) on stack prod without a confirmation in Pulumi.prod.yaml; its switch or operation needs confirm: "prod/pencom/stop-service" or confirm: "prod/pencom/notifications-database-cutover"',
      'pencom-prod-op-2026-12-01-shutdown: takes every service of the PM2 fleet offline on stack prod without a confirmation in Pulumi.prod.yaml; its switch or operation needs confirm: "prod/pencom/graceful-shutdown"',
    ]);
  });

  it("renders one ecosystem from the inventory: the seed's names and entry scripts, each .env only by node's --env-file", () => {
    const eco = stdin(prod, "/etc/pencom/ecosystem.config.js");
    const apps = (new Function("module", `${eco}; return module.exports;`)({}) as { apps: { name: string; script: string; cwd: string; node_args: string[]; env: Record<string, string> }[] }).apps;
    expect(apps.map((a) => [a.name, a.script])).toEqual(PENCOM_SERVICES.map((s) => [s.name, s.script]));
    expect(apps.find((a) => a.name === "api-gateway")!.script).toBe("dist/apps/api-gateway/main.js");
    expect(apps.find((a) => a.name === "ext-integrations")!.script).toBe("dist/apps/external-integrations/src/main.js");
    for (const a of apps) {
      expect(a.cwd).toBe("/srv/pencom-project");
      expect(a.node_args).toEqual([`--env-file=/etc/pencom/env/${a.name}.env`]);
      expect(Object.keys(a.env).sort()).toEqual(["LAZARUS_DEFINITION", "NODE_ENV"]);
    }
  });

  it("ships each service's .env 0600 as a secret, handed to the service user before the fleet starts", () => {
    for (const s of PENCOM_SERVICES) {
      const w = command(prod, `pencom-prod-software-file-etc-pencom-env-${s.name}-env`);
      expect(w.inputs.create).toContain(`chmod 0600 /etc/pencom/env/${s.name}.env.lazarus-tmp`);
      expect(w.inputs.logging).toBe("none");
    }
    const handOver = command(prod, "pencom-prod-hand-over");
    expect(handOver.inputs.create).toContain("hand-over pencom /etc/pencom/env/core.env");
    const deploy = command(prod, "pencom-prod-deploy");
    expect(deploy.inputs.create).toBe("bash /opt/lazarus/scripts/ops/pm2-fleet.sh --fleet /etc/pencom/fleet.json deploy");
    expect(deploy.dependencies).toContain(handOver.urn);
    expect(handOver.dependencies).toContain(command(prod, "pencom-prod-host-setup").urn);
    const text = JSON.stringify(prod.resources.map((r) => r.inputs));
    for (const m of ALL_SENTINEL_MARKERS.filter((m) => /pencom/.test(m))) expect(text).not.toContain(m);
  });

  it("sets up PM2 pinned as the pencom user, started at boot, and checks the server for node, npm and the PostgreSQL tools", () => {
    expect(command(prod, "pencom-prod-host-setup").inputs.create).toBe(
      "bash /opt/lazarus/scripts/ops/pm2-host-setup.sh --user pencom --app-dir /srv/pencom-project --pm2-version 7.0.4 --logrotate-version 3.0.0 --logrotate-max-size 10M --logrotate-retain 7 --logrotate-compress true",
    );
    const preflight = String(command(prod, "pencom-prod-software-preflight").inputs.create);
    for (const c of ["node", "npm", "curl", "psql", "pg_restore", "jq"]) expect(preflight).toContain(`--command ${c} `);
    expect(preflight).not.toContain("--command docker");
  });

  it("writes the fleet file with the derived tiers, readiness URLs and the stores' addresses", () => {
    const fleet = JSON.parse(stdin(prod, "/etc/pencom/fleet.json"));
    expect(fleet.tiers).toEqual([["core"], ["audit", "compliance", "ext-integrations", "notifications", "payments"], ["api-gateway", "ext-gateway"]]);
    expect(fleet.services.core).toMatchObject({ ready: "http://127.0.0.1:3000/health", envFile: "/etc/pencom/env/core.env", needs: ["coreDb", "redis"] });
    expect(fleet.services["ext-integrations"]).toMatchObject({ needs: ["integrationsDb", "redis"], degradesWithout: ["oracle"] });
    expect(fleet.stores.oracle).toEqual({ title: "Oracle (read-only, PENCOM IT)", address: "10.30.0.5", port: 1521 });
    expect(fleet.user).toBe("pencom");
  });
});

describe("Pencom recovery switches and operations", () => {
  let recovering: Plan;
  beforeAll(async () => {
    recovering = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: withRecovery });
  });

  it("restores the core database beside the live one with the admin password on stdin; core's .env is written after it", () => {
    const restore = command(recovering, "pencom-prod-core-db-restore-r1");
    expect(restore.inputs.create).toBe(
      `set -eu; IFS= read -r PGPASSWORD || [ -n "\${PGPASSWORD:-}" ] || { echo "the admin password is read from stdin; none arrived" >&2; exit 64; }; export PGPASSWORD; bash /opt/lazarus/scripts/backup/pg-restore.sh --host 10.20.0.21 --port 5432 --username postgres -d pencom_core_db2 /var/backups/pencom/pencom_core_db2.sql`,
    );
    expect(restore.inputs.create).not.toContain("--cutover");
    expect(restore.inputs.update).toBeDefined();
    const coreEnv = command(recovering, "pencom-prod-software-file-etc-pencom-env-core-env");
    expect(coreEnv.dependencies).toContain(restore.urn);
    expect(command(recovering, "pencom-prod-hand-over").dependencies).toContain(coreEnv.urn);
  });

  it("stops notifications, points its .env at the restored MongoDB database, and starts it after the fleet converged", () => {
    const restore = command(recovering, "pencom-prod-notifications-db-restore-r1");
    expect(restore.inputs.create).toBe(
      "bash /opt/lazarus/scripts/ops/mongo-restore-beside.sh --host 10.20.0.22 --port 27017 --username pencom_notifications --auth-db admin --from-db pencom_notifications --to-db pencom_notifications_restore_r1 /var/backups/pencom/notifications.archive.gz",
    );
    const stop = command(recovering, "pencom-prod-notifications-stop-r1");
    expect(stop.inputs.create).toBe("bash /opt/lazarus/scripts/ops/pm2-fleet.sh --fleet /etc/pencom/fleet.json stop notifications");
    expect(stop.dependencies).toContain(restore.urn);
    const env = command(recovering, "pencom-prod-software-file-etc-pencom-env-notifications-env");
    expect(env.dependencies).toContain(stop.urn);
    const start = command(recovering, "pencom-prod-notifications-start-r1");
    expect(start.inputs.create).toBe("bash /opt/lazarus/scripts/ops/pm2-fleet.sh --fleet /etc/pencom/fleet.json start notifications");
    expect(start.dependencies).toContain(command(recovering, "pencom-prod-deploy").urn);
    // Operations wait for the recovery to end.
    expect(command(recovering, "pencom-prod-op-2026-12-01-status").dependencies).toContain(start.urn);
  });

  it("runs operations once, through pm2-fleet.sh (never pkill) and the BullMQ retry script", () => {
    const shutdown = command(recovering, "pencom-prod-op-2026-12-01-shutdown");
    expect(shutdown.inputs.create).toBe("bash /opt/lazarus/scripts/ops/pm2-fleet.sh --fleet /etc/pencom/fleet.json stop-all");
    expect(shutdown.inputs.update).toBeDefined();
    expect(command(recovering, "pencom-prod-op-2026-12-01-retry").inputs.create).toBe(
      "bash /opt/lazarus/scripts/ops/bullmq-retry-failed.sh --env-file /etc/pencom/env/core.env --node-modules /srv/pencom-project/node_modules --prefix bull --queue payments",
    );
    expect(byType(recovering, T.command).map((r) => String(r.inputs.create)).filter((c) => c.includes("pkill"))).toEqual([]);
  });

  it("asks for the admin password only when the core restore is set", () => {
    const r = rawStack("prod", { patch: pencomOnly });
    expect(r).toBeDefined();
    expect(Object.keys(ALL_SENTINEL_SECRETS)).toContain("lazarus:pencomPostgresAdminPassword");
  });
});

describe("Pencom recovery.coreDatabase.swapIn: the verified copy an earlier restore made takes the live name", () => {
  const copy = "pencom_core_db2_restore_20261201021500";
  const swapping = (confirm = true) => (c: Record<string, any>) => {
    pencomOnly(c);
    c["lazarus:pencom"].recovery = { coreDatabase: { label: "r2", swapIn: copy, ...(confirm ? { confirm: "prod/pencom/core-database-cutover" } : {}) } };
    c["lazarus:pencom"].operations = [{ id: "2026-12-01-status", action: "status" }];
  };
  let plan: Plan;
  beforeAll(async () => {
    plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: swapping() });
  });

  it("stops core, swaps the copy in with pg-restore.sh --swap-in (admin password on stdin, no second restore), converges the fleet, then starts core", () => {
    const stop = command(plan, "pencom-prod-core-db-stop-r2");
    expect(stop.inputs.create).toBe("bash /opt/lazarus/scripts/ops/pm2-fleet.sh --fleet /etc/pencom/fleet.json stop core");
    const swap = command(plan, "pencom-prod-core-db-swap-in-r2");
    expect(swap.inputs.create).toBe(
      `set -eu; IFS= read -r PGPASSWORD || [ -n "\${PGPASSWORD:-}" ] || { echo "the admin password is read from stdin; none arrived" >&2; exit 64; }; export PGPASSWORD; bash /opt/lazarus/scripts/backup/pg-restore.sh --host 10.20.0.21 --port 5432 --username postgres --dbname pencom_core_db2 --swap-in ${copy}`,
    );
    expect(swap.dependencies).toContain(stop.urn);
    expect(command(plan, "pencom-prod-hand-over").dependencies).toContain(swap.urn);
    const start = command(plan, "pencom-prod-core-db-start-r2");
    expect(start.inputs.create).toBe("bash /opt/lazarus/scripts/ops/pm2-fleet.sh --fleet /etc/pencom/fleet.json start core");
    expect(start.dependencies).toContain(command(plan, "pencom-prod-deploy").urn);
    expect(command(plan, "pencom-prod-op-2026-12-01-status").dependencies).toContain(start.urn);
    expect(byType(plan, T.command).filter((c) => c.name.startsWith("pencom-prod-core-db-restore"))).toEqual([]);
  });

  it("each step runs once per label and copy: a later up with the switch in place changes nothing, another copy replaces them", async () => {
    const again = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: swapping() });
    const other = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => { swapping()(c); c["lazarus:pencom"].recovery.coreDatabase.swapIn = "pencom_core_db2_restore_20261201031500"; } });
    for (const key of ["core-db-stop-r2", "core-db-swap-in-r2", "core-db-start-r2"]) {
      const triggers = (p: Plan) => (command(p, `pencom-prod-${key}`).rawInputs.triggers as unknown[]).map(String);
      expect(triggers(again)).toEqual(triggers(plan));
      expect(triggers(plan)).toContain(copy);
      expect(triggers(other)).not.toEqual(triggers(plan));
      expect(command(plan, `pencom-prod-${key}`).inputs.update).toBeDefined();
    }
  });

  it("passes the policy pack confirmed; without the confirmation the policy pack names the stop and the swap", () => {
    expect(checkPlan(plan, rawStack("prod", { patch: swapping() }))).toEqual([]);
    expect(checkPlan(plan, rawStack("prod", { patch: swapping(false) })).map((v) => v.message.split(":")[0]).sort()).toEqual(["pencom-prod-core-db-stop-r2", "pencom-prod-core-db-swap-in-r2"]);
  });

  it("refuses swapIn with a cutover or a backup, another database's copy, and unconfirmed on prod", async () => {
    const refused = async (core: Record<string, unknown>) => {
      const err = await planFor("prod", { patch: (c) => { pencomOnly(c); c["lazarus:pencom"].recovery = { coreDatabase: { label: "r2", ...core } }; } }).catch((e) => e);
      expect(err).toBeInstanceOf(ConfigError);
      return String(err.message);
    };
    const confirm = "prod/pencom/core-database-cutover";
    expect(await refused({ swapIn: copy, cutover: true, confirm })).toContain("lazarus:pencom.recovery.coreDatabase.cutover: cannot be combined with swapIn: swapIn cuts over to the copy an earlier run of this switch restored and you verified");
    expect(await refused({ swapIn: copy, backup: "/b.sql", confirm })).toContain("lazarus:pencom.recovery.coreDatabase.backup: cannot be combined with swapIn");
    expect(await refused({ swapIn: "pencom_integrations_restore_20261201021500", confirm })).toContain(
      'lazarus:pencom.recovery.coreDatabase.swapIn: "pencom_integrations_restore_20261201021500" is not a restored copy of pencom_core_db2; name the database the restore step\'s result line gave (example: pencom_core_db2_restore_20261201021500)',
    );
    expect(await refused({ swapIn: "pencom_core_db2" })).toContain('lazarus:pencom.recovery.coreDatabase.swapIn: "pencom_core_db2" is not a restored database\'s name');
    expect(await refused({ swapIn: copy })).toContain(
      `lazarus:pencom.recovery.coreDatabase.confirm: is missing: swapping ${copy} in ends core's database sessions (core is stopped first) and makes the restored data live (the old database is kept as pencom_core_db2_pre_restore_<timestamp>) on stack prod; to proceed set it to "prod/pencom/core-database-cutover"`,
    );
  });
});

describe("Pencom stack-file mistakes", () => {
  it("refuses a droplet: Pencom is on-premises", async () => {
    const err = await planFor("prod", { patch: (c) => { pencomOnly(c); c["lazarus:pencom"].host = { size: "s-2vcpu-4gb" }; } }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err.message)).toContain("Pulumi.prod.yaml: lazarus:pencom.host");
    expect(String(err.message)).toContain("lazarus:pencom.host.size: \"s-2vcpu-4gb\" is a droplet setting, but Pencom is on-premises: host must be {existing: {address, user, port}}");
  });

  it("refuses an unconfirmed shutdown, stop and cutover on prod with the exact value to set", async () => {
    const err = await planFor("prod", {
      patch: (c) => {
        pencomOnly(c);
        c["lazarus:pencom"].operations = [{ id: "2026-12-01-shutdown", action: "graceful-shutdown" }, { id: "2026-12-01-stop", action: "stop-service", service: "payments" }];
        c["lazarus:pencom"].recovery = { coreDatabase: { label: "r1", backup: "/b.sql", cutover: true } };
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const msg = String(err.message);
    expect(msg).toContain('lazarus:pencom.operations[0].confirm: is missing: a graceful shutdown stops all eight services on stack prod; to proceed set it to "prod/pencom/graceful-shutdown"');
    expect(msg).toContain('to proceed set it to "prod/pencom/stop-service"');
    expect(msg).toContain('lazarus:pencom.recovery.coreDatabase.confirm: is missing');
  });

  it("refuses an unknown service with the list and a missing service block", async () => {
    const err = await planFor("prod", {
      patch: (c) => {
        pencomOnly(c);
        c["lazarus:pencom"].operations = [{ id: "2026-12-01-restart", action: "restart-service", service: "gateway" }];
        delete c["lazarus:pencom"].services.audit;
      },
    }).catch((e) => e);
    const msg = String(err.message);
    expect(msg).toContain('lazarus:pencom.operations[0].service: "gateway" is not a Pencom service (one of core, payments');
    expect(msg).toContain("lazarus:pencom.services.audit: is required but missing");
  });

  it("refuses two services on one port, naming the second and an example", async () => {
    const err = await planFor("prod", { patch: (c) => { pencomOnly(c); c["lazarus:pencom"].services.payments.port = 3000; } }).catch((e) => e);
    expect(String(err.message)).toContain("lazarus:pencom.services.payments.port: 3000 is core's port too; each service needs its own (example: 3001)");
  });

  it("staging plans without confirmations", async () => {
    const plan = await planFor("staging", { patch: (c) => { pencomOnly(c); c["lazarus:pencom"].operations = [{ id: "2026-12-01-shutdown", action: "graceful-shutdown" }]; } });
    expect(command(plan, "pencom-staging-op-2026-12-01-shutdown").inputs.create).toContain("stop-all");
  });
});

describe("the scripts Pencom's steps run on the host", () => {
  it.each(["pm2-fleet.sh", "bullmq-retry-failed.sh", "mongo-restore-beside.sh"])("%s is shellcheck-clean", (f) => {
    const r = spawnSync("shellcheck", ["-x", "--severity=style", `scripts/ops/${f}`], { cwd: REPO, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
  });

  it("mongo-restore-beside.sh refuses before any connection: same database, missing archive, a checksum that does not match (MongoDB does not run here)", () => {
    const dir = mkdtempSync(join(tmpdir(), "lazarus-pencom-mongo-"));
    const run = (args: string[]) => spawnSync("bash", [join(REPO, "scripts/ops/mongo-restore-beside.sh"), "--host", "127.0.0.1", "--port", "27017", "--username", "u", "--auth-db", "admin", ...args], { encoding: "utf8", input: "pw\n" });
    expect(run(["--from-db", "a", "--to-db", "a", "/x"]).status).toBe(64);
    expect(run(["--from-db", "a", "--to-db", "b", join(dir, "missing.gz")]).status).toBe(66);
    const archive = join(dir, "n.archive.gz");
    writeFileSync(archive, "not what the sidecar says");
    writeFileSync(`${archive}.sha256`, `${"0".repeat(64)}  n.archive.gz\n`);
    const bad = run(["--from-db", "a", "--to-db", "b", archive]);
    expect(bad.status).toBe(65);
    expect(bad.stderr).toContain("checksum mismatch");
  });

  it("declares the MongoDB steps only in the plan; their commands are rendered and shellchecked, not run (no server here)", () => {
    expect(byType(prod, T.command).some((r) => r.name.includes("notifications-db-restore"))).toBe(false);
  });
});
