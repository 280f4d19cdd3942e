// Bunty's Data Recovery on a managed cluster, declared from the real Pulumi.prod.yaml under mocks: the restore goes
// into a new cluster beside the live one, the app's .env moves to it only with the confirmed cutover, and a stack
// whose PostgreSQL is on the host refuses the switch. What is compared is declared inputs between plans; the host names
// in DATABASE_URL are the mock's placeholders, read only to tell which cluster the .env names.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { ConfigError } from "../../../config/errors";
import { checkPlan } from "../../../policy/rules";
import { ALL_SENTINEL_SECRETS, T, byType, one, planFor, rawStack } from "../../support/stacks";

const restore = { label: "20261201", pointInTime: "2026-12-01T02:00:00Z" };
const envText = (plan: Plan) => String(byType(plan, T.command).find((r) => r.name === "bunty-prod-software-file-var-www-bunty-backend-env")!.rawInputs.stdin);
const databaseUrl = (plan: Plan) => /^DATABASE_URL=(.*)$/m.exec(envText(plan))![1]!;

let base: Plan;
let restored: Plan;
beforeAll(async () => {
  base = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
  restored = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:bunty"].recovery = { database: restore }) });
});

describe("Bunty database restore beside the live cluster", () => {
  it("declares a new protected cluster restored from the live one's backup at the point in time, admitting the host like the live one", () => {
    const cluster = one(restored, T.cluster, "bunty-prod-db-restore-20261201");
    expect(cluster.inputs).toMatchObject({ name: "bunty-prod-db-restore-20261201", engine: "pg", version: "16", backupRestore: { databaseName: "bunty-prod-db", backupCreatedAt: "2026-12-01T02:00:00Z" } });
    expect(cluster.protect).toBe(true);
    expect(one(restored, T.dbFirewall, "bunty-prod-db-restore-20261201-firewall").inputs.rules).toEqual(one(restored, T.dbFirewall, "bunty-prod-db-firewall").inputs.rules);
  });

  it("leaves the live cluster as it was and the app's .env on it until the cutover", () => {
    expect(one(restored, T.cluster, "bunty-prod-db").inputs).toEqual(one(base, T.cluster, "bunty-prod-db").inputs);
    expect(one(restored, T.cluster, "bunty-prod-db").protect).toBe(true);
    expect(databaseUrl(restored)).toBe(databaseUrl(base));
    expect(databaseUrl(base)).toContain("@<bunty-prod-db.privateHost>:");
  });

  it("cuts the app over with the confirmed second switch: the .env names the restored cluster, so PM2 reloads the app with it", async () => {
    const cut = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:bunty"].recovery = { database: { ...restore, cutover: true, confirm: "prod/bunty/database-cutover" } }) });
    expect(databaseUrl(cut)).toContain("@<bunty-prod-db-restore-20261201.privateHost>:");
    expect(databaseUrl(cut)).toMatch(/\/bunty_prod\?sslmode=require'?$/);
    // The env file's content is what the app start step triggers on (its digest), so the reload follows the cutover.
    expect(envText(cut)).not.toBe(envText(restored));
    expect(one(cut, T.cluster, "bunty-prod-db").protect).toBe(true);
    expect((cut.outputs.bunty as { database: { activeCluster: string } }).database.activeCluster).toBe("bunty-prod-db-restore-20261201");
    expect(checkPlan(cut, rawStack("prod", { patch: (c) => (c["lazarus:bunty"].recovery = { database: { ...restore, cutover: true, confirm: "prod/bunty/database-cutover" } }) }))).toEqual([]);
  });

  it("refuses the cutover on prod without its confirmation, naming the value", async () => {
    const err = await planFor("prod", { patch: (c) => (c["lazarus:bunty"].recovery = { database: { ...restore, cutover: true } }) }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err.message)).toContain('lazarus:bunty.recovery.database.confirm: is missing: cutting over points the application at the restored cluster');
    expect(String(err.message)).toContain('"prod/bunty/database-cutover"');
  });

  it("refuses the switch when PostgreSQL runs on the host", async () => {
    const err = await planFor("staging", { patch: (c) => (c["lazarus:bunty"].recovery = { database: restore }) }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(String(err.message)).toContain("Pulumi.staging.yaml: lazarus:bunty.recovery.database: restores a managed cluster from the provider's backups, but PostgreSQL runs on the host");
  });
});

describe("Bunty database restore beside the live one, PostgreSQL on the host", () => {
  const swapIn = "bunty_staging_restore_20261201021500";

  it("restores the named backup beside the live database first, once, after the host is ready", async () => {
    const plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:bunty"].recovery = { hostDatabase: { label: "r1" } }) });
    const beside = one(plan, T.command, "bunty-staging-restore-beside-r1");
    expect(beside.inputs.create).toBe("bash /opt/lazarus/scripts/ops/app-data.sh --env-file /var/www/bunty-backend/.env --backup-dir /var/backups/bunty --backup-prefix bunty restore-beside latest");
    expect(beside.dependencies).toContain(one(plan, T.command, "bunty-staging-tls-activate").urn);
    expect(byType(plan, T.command).some((r) => r.name.startsWith("bunty-staging-swap-in"))).toBe(false);
  });

  it("swaps the restored database in with swapIn, then restarts the app", async () => {
    const plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:bunty"].recovery = { hostDatabase: { label: "r1", swapIn } }) });
    const swap = one(plan, T.command, "bunty-staging-swap-in-r1");
    expect(swap.inputs.create).toContain(`app-data.sh --env-file /var/www/bunty-backend/.env --backup-dir /var/backups/bunty --backup-prefix bunty swap-in ${swapIn}; bash /opt/lazarus/scripts/ops/pm2-app.sh`);
    expect(swap.inputs.create).toMatch(/ restart$/);
    expect(swap.dependencies).toContain(one(plan, T.command, "bunty-staging-restore-beside-r1").urn);
  });

  it("on prod the swap is confirmed, and the policy pack sees it by its command text", async () => {
    const onHost = (c: Record<string, any>, confirm?: string) => {
      c["lazarus:bunty"].postgres = { where: "host", databaseName: "bunty_prod", userName: "bunty" };
      c["lazarus:bunty"].recovery = { hostDatabase: { label: "r1", swapIn: "bunty_prod_restore_20261201021500", ...(confirm ? { confirm } : {}) } };
    };
    const err = await planFor("prod", { patch: (c) => onHost(c) }).catch((e) => e);
    expect(String(err.message)).toContain('lazarus:bunty.recovery.hostDatabase.confirm: is missing: swapping bunty_prod_restore_20261201021500 in ends the app\'s database sessions');
    const patch = (c: Record<string, any>) => onHost(c, "prod/bunty/database-cutover");
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch });
    expect(checkPlan(plan, rawStack("prod", { patch }))).toEqual([]);
    expect(checkPlan(plan, rawStack("prod", { patch: (c) => onHost(c) })).map((v) => v.message.split(":")[0])).toEqual(["bunty-prod-swap-in-r1"]);
  });

  it("refuses a swapIn that is not a restored copy of this database (pg-restore.sh -d would put it under the live name)", async () => {
    const err = await planFor("staging", { patch: (c) => (c["lazarus:bunty"].recovery = { hostDatabase: { label: "r1", swapIn: "bunty_prod_restore_20261201021500" } }) }).catch((e) => e);
    expect(String(err.message)).toContain('lazarus:bunty.recovery.hostDatabase.swapIn: "bunty_prod_restore_20261201021500" is not a restored copy of bunty_staging; name the database the restore step\'s result line gave (example: bunty_staging_restore_20261201021500)');
  });

  it("refuses the host switch when PostgreSQL is a managed cluster", async () => {
    const err = await planFor("prod", { patch: (c) => (c["lazarus:bunty"].recovery = { hostDatabase: { label: "r1" } }) }).catch((e) => e);
    expect(String(err.message)).toContain("lazarus:bunty.recovery.hostDatabase: restores PostgreSQL on the host, but it runs in a managed cluster");
  });
});
