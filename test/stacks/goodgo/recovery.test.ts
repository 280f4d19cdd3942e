// GoodGo's recovery switches as a preview shows them: rollback to an image tag (4.4), database restore from a named
// backup (4.1), full host recovery (4.6). Each changes exactly what it should; nothing stateful is replaced.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { ConfigError } from "../../../config/errors";
import { checkPlan } from "../../../policy/rules";
import type { DeclaredResource } from "../../../lib/runtime/capture";
import { startOrder } from "../../../lib/inventory";
import { goodgoStackInventory } from "../../../stacks/goodgo/inventory";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { goodgo } from "../../../stacks/goodgo";
import { cloudInitSchema } from "../../support/validators";
import { ALL_SENTINEL_SECRETS, T, byType, one, planFor, rawStack } from "../../support/stacks";

const COMPOSE = "/root/goodgo/docker-compose.prod.yml";
const stateful = [T.reservedIp, T.spacesBucket, T.vpc, T.project, T.cluster] as string[];
const snapshot = (plan: Plan, types: string[]) =>
  Object.fromEntries(plan.resources.filter((r) => types.includes(r.type)).map((r) => [r.urn, { inputs: r.inputs, protect: r.protect }]));
const compose = (plan: Plan) => plan.files.find((f) => f.path === COMPOSE)!.content!;
const goodgoCommands = (plan: Plan) => byType(plan, T.command).filter((c) => c.name.startsWith(`goodgo-${plan.stack}-`));
/** The command resources' inputs keyed by name, for diffs between two plans. */
const commandInputs = (plan: Plan) => Object.fromEntries(goodgoCommands(plan).map((c) => [c.name, c.rawInputs]));
/** Names of resources whose inputs differ between two plans (or exist in only one). */
function changed(a: Plan, b: Plan): string[] {
  const key = (r: DeclaredResource) => `${r.type}::${r.name}`;
  const am = new Map(a.resources.map((r) => [key(r), JSON.stringify([r.rawInputs, r.protect])]));
  const bm = new Map(b.resources.map((r) => [key(r), JSON.stringify([r.rawInputs, r.protect])]));
  return [...new Set([...am.keys(), ...bm.keys()])].filter((k) => am.get(k) !== bm.get(k)).map((k) => k.split("::")[1]!).sort();
}

let base: Plan;
beforeAll(async () => {
  base = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
});

describe("rolling back to an image tag (4.4)", () => {
  let rolled: Plan;
  beforeAll(async () => {
    rolled = await planFor("prod", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => (c["lazarus:goodgo"].recovery = { rollback: { imageTag: "71b0e9c", reason: "5xx spike after 8f3c2a1" } }),
    });
  });

  it("changes the application images in the compose file to the tag, and nothing else in it", () => {
    const before = compose(base);
    const after = compose(rolled);
    expect(after).not.toBe(before);
    for (const img of ["goodgo-api", "goodgo-web", "goodgo-ai-services"]) {
      expect(after).toContain(`/${img}:\${IMAGE_TAG:-71b0e9c}`);
      expect(before).toContain(`/${img}:\${IMAGE_TAG:-8f3c2a1}`);
    }
    expect(after.replaceAll("71b0e9c", "8f3c2a1")).toBe(before);
  });

  it("sets IMAGE_TAG in the .env and re-runs compose up; only the compose file, .env, up and what follows up change", () => {
    const env = (p: Plan) => String(one(p, T.command, "goodgo-prod-software-file-root-goodgo-env").rawInputs.stdin);
    expect(env(rolled)).toMatch(/^IMAGE_TAG=71b0e9c$/m);
    expect(changed(base, rolled)).toEqual([
      "goodgo-prod-compose-up",
      "goodgo-prod-software-file-root-goodgo-docker-compose-prod-yml",
      "goodgo-prod-software-file-root-goodgo-env",
    ]);
    const up = (p: Plan) => (one(p, T.command, "goodgo-prod-compose-up").inputs.triggers as string[]).map(String);
    expect(up(base)).toContain("8f3c2a1");
    expect(up(rolled)).toContain("71b0e9c");
  });

  it("is refused when the tag is the one already deployed", async () => {
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:goodgo"].recovery = { rollback: { imageTag: "8f3c2a1" } }) }),
    ).rejects.toThrow(/lazarus:goodgo\.recovery\.rollback\.imageTag: "8f3c2a1" is the tag already deployed/);
  });
});

describe("restoring the database from a named backup (4.1)", () => {
  const restore = { label: "20261123", backup: "goodgo_20261123T020000Z.dump" };

  it("without cutover, restores into a new database beside the live one and touches no service", async () => {
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:goodgo"].recovery = { database: restore }) });
    const steps = goodgoCommands(plan).filter((c) => c.name.startsWith("goodgo-prod-restore-db-20261123-")).map((c) => c.name);
    expect(steps).toEqual(["goodgo-prod-restore-db-20261123-archive-check", "goodgo-prod-restore-db-20261123-restore-database"]);
    const cmd = String(one(plan, T.command, steps[1]!).inputs.create);
    expect(cmd).toContain("exec -T pg-backup bash /opt/lazarus/scripts/backup/pg-restore.sh --dbname goodgo /backups/goodgo_20261123T020000Z.dump");
    expect(cmd).not.toContain("--cutover");
    expect(snapshot(plan, stateful)).toEqual(snapshot(base, stateful));
  });

  it("with the confirmed cutover: stops the apps and PgBouncer, restores and swaps, migrates, flushes Redis, then compose up", async () => {
    const plan = await planFor("prod", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => (c["lazarus:goodgo"].recovery = { database: { ...restore, cutover: true, confirm: "prod/goodgo/database-cutover" } }),
    });
    const prefix = "goodgo-prod-restore-db-20261123-";
    const steps = goodgoCommands(plan).filter((c) => c.name.startsWith(prefix));
    const order = ["archive-check", "stop-apps", "restore-database", "migrate", "flush-redis"];
    expect(steps.map((s) => s.name.slice(prefix.length)).sort()).toEqual([...order].sort());
    // Each step depends on the one before; compose up depends on the last.
    const byKey = Object.fromEntries(steps.map((s) => [s.name.slice(prefix.length), s]));
    for (let i = 1; i < order.length; i++) expect(byKey[order[i]!]!.dependencies).toContain(byKey[order[i - 1]!]!.urn);
    expect(one(plan, T.command, "goodgo-prod-compose-up").dependencies).toContain(byKey["flush-redis"]!.urn);
    // The stopped services come back: compose up runs again because the restore is among its triggers.
    expect((one(plan, T.command, "goodgo-prod-compose-up").inputs.triggers as string[]).map(String)).toContain("restore-db-20261123-cutover");
    expect((one(base, T.command, "goodgo-prod-compose-up").inputs.triggers as string[]).map(String)).not.toContain("restore-db-20261123-cutover");
    const stop = String(byKey["stop-apps"]!.inputs.create);
    expect(stop).toMatch(/ stop( [a-z-]+)+$/);
    const stopped = stop.split(" stop ")[1]!.split(" ");
    expect(stopped.sort()).toEqual(["ai-services", "api", "nginx", "pgbouncer", "web"]);
    expect(String(byKey["restore-database"]!.inputs.create)).toContain("pg-restore.sh --dbname goodgo --cutover /backups/goodgo_20261123T020000Z.dump");
    expect(String(byKey["migrate"]!.inputs.create)).toContain("run --rm --no-deps api npx prisma migrate deploy");
    expect(String(byKey["flush-redis"]!.inputs.create)).toContain("redis-cli FLUSHALL");
    expect(snapshot(plan, stateful)).toEqual(snapshot(base, stateful));
    expect(one(plan, T.droplet, "goodgo-prod-host").inputs).toEqual(one(base, T.droplet, "goodgo-prod-host").inputs);
    // Exactly: the four new steps, and compose up (its triggers name the restore); no file, no host, no bucket.
    expect(changed(base, plan)).toEqual(["goodgo-prod-compose-up", ...order.map((k) => `${prefix}${k}`)].sort());
  });

  it("a restore beside the live database, then its cutover: the restore step's triggers change, so the cutover runs (a text change alone is a one-shot step's no-op update)", async () => {
    const beside = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:goodgo"].recovery = { database: restore }) });
    const cutover = await planFor("prod", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => (c["lazarus:goodgo"].recovery = { database: { ...restore, cutover: true, confirm: "prod/goodgo/database-cutover" } }),
    });
    const step = (p: Plan) => one(p, T.command, "goodgo-prod-restore-db-20261123-restore-database");
    // Same resource (a one-shot step with a no-op update): only a trigger change (a replacement) runs its new text.
    expect(step(beside).rawInputs.update).toBe(step(cutover).rawInputs.update);
    expect(String(step(cutover).rawInputs.create)).toContain("--cutover");
    expect(step(cutover).rawInputs.triggers).not.toEqual(step(beside).rawInputs.triggers);
    expect((step(cutover).rawInputs.triggers as unknown[]).map(String)).toContain("restore-db-20261123-cutover");
  });

  it("fetches the backup from the off-site bucket first when asked", async () => {
    const plan = await planFor("staging", { patch: (c) => (c["lazarus:goodgo"].recovery = { database: { ...restore, fromOffsite: true } }) });
    const fetch = String(one(plan, T.command, "goodgo-staging-restore-db-20261123-fetch-backup").inputs.create);
    expect(fetch).toContain("name=goodgo_20261123T020000Z.dump");
    expect(String(one(plan, T.command, "goodgo-staging-restore-db-20261123-restore-database").inputs.create)).toMatch(/pg-restore\.sh --dbname goodgo \/backups\/offsite$/);
  });

  it("refuses the cutover on prod without confirmation, naming the value", async () => {
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:goodgo"].recovery = { database: { ...restore, cutover: true } }) }),
    ).rejects.toThrow(/lazarus:goodgo\.recovery\.database\.confirm: is missing: cutting over swaps the restored database in for the live one on stack prod; to proceed set it to "prod\/goodgo\/database-cutover"/);
  });
});

describe("swapping in the restored copy the operator verified (4.1, recovery.database.swapIn)", () => {
  const copy = "goodgo_restore_20261123031500";
  const beside = { label: "20261123", backup: "goodgo_20261123T020000Z.dump" };
  const swap = { label: "20261123", swapIn: copy, confirm: "prod/goodgo/database-cutover" };
  const prefix = "goodgo-prod-restore-db-20261123-";
  const planWith = (database: Record<string, unknown>) => planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:goodgo"].recovery = { database }) });

  it("stops the apps and PgBouncer, swaps that copy in with pg-restore.sh --swap-in (no second restore), migrates, flushes Redis, then compose up", async () => {
    const plan = await planWith(swap);
    const steps = goodgoCommands(plan).filter((c) => c.name.startsWith(prefix));
    const order = ["archive-check", "stop-apps", "swap-in", "migrate", "flush-redis"];
    expect(steps.map((x) => x.name.slice(prefix.length)).sort()).toEqual([...order].sort());
    const byKey = Object.fromEntries(steps.map((x) => [x.name.slice(prefix.length), x]));
    for (let i = 1; i < order.length; i++) expect(byKey[order[i]!]!.dependencies).toContain(byKey[order[i - 1]!]!.urn);
    expect(String(byKey["swap-in"]!.inputs.create)).toBe(
      `cd /root/goodgo && docker compose -p goodgo -f docker-compose.prod.yml exec -T pg-backup bash /opt/lazarus/scripts/backup/pg-restore.sh --dbname goodgo --swap-in ${copy}`,
    );
    expect(String(byKey["stop-apps"]!.inputs.create).split(" stop ")[1]!.split(" ").sort()).toEqual(["ai-services", "api", "nginx", "pgbouncer", "web"]);
    // The apps come back: compose up runs after the last step, its triggers naming this swap.
    const up = one(plan, T.command, "goodgo-prod-compose-up");
    expect(up.dependencies).toContain(byKey["flush-redis"]!.urn);
    expect((up.inputs.triggers as string[]).map(String)).toContain(`restore-db-20261123-swap-in-${copy}`);
    expect(snapshot(plan, stateful)).toEqual(snapshot(base, stateful));
  });

  it("after the restore beside: the restore's step leaves the plan and the swap's steps are new; left in place, nothing changes on a later up; another copy runs them again", async () => {
    const first = await planWith(beside);
    const second = await planWith(swap);
    const again = await planWith(swap);
    const other = await planWith({ ...swap, swapIn: "goodgo_restore_20261123041500" });
    expect(changed(first, second)).toEqual(["goodgo-prod-compose-up", ...["archive-check", "restore-database", "stop-apps", "swap-in", "migrate", "flush-redis"].map((k) => `${prefix}${k}`)].sort());
    expect(changed(second, again)).toEqual([]);
    // Steps trigger on their chain's run (components/composeDeployment.ts): a new copy is a new run, so a replacement.
    const triggers = (p: Plan) => (one(p, T.command, `${prefix}swap-in`).rawInputs.triggers as unknown[]).map(String);
    expect(triggers(second)).toContain(`restore-db-20261123-swap-in-${copy}`);
    expect(triggers(other)).not.toEqual(triggers(second));
  });

  it("passes the policy pack confirmed; unconfirmed, the policy pack names the swap", async () => {
    const plan = await planWith(swap);
    const stackWith = (database: Record<string, unknown>) => rawStack("prod", { patch: (c) => (c["lazarus:goodgo"].recovery = { database }) });
    expect(checkPlan(plan, stackWith(swap)).map((v) => v.message)).toEqual([]);
    const { confirm: _unconfirmed, ...bare } = swap;
    expect(checkPlan(plan, stackWith(bare)).map((v) => v.message.split(":")[0])).toContain(`${prefix}swap-in`);
  });

  it("without migrations when migrate: false", async () => {
    const plan = await planWith({ ...swap, migrate: false });
    expect(goodgoCommands(plan).filter((c) => c.name.startsWith(prefix)).map((c) => c.name.slice(prefix.length)).sort()).toEqual(["archive-check", "flush-redis", "stop-apps", "swap-in"]);
  });
});

describe("restoring the database to a point in time (4.1, physical route)", () => {
  const restore = { label: "r7", pointInTime: "2026-11-23T02:00:00Z" };
  const prefix = "goodgo-prod-restore-db-r7-";

  it("without cutover: recovers the repository to that time in a scratch cluster, dumps it, and restores the dump beside the live database", async () => {
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:goodgo"].recovery = { database: restore }) });
    const steps = goodgoCommands(plan).filter((c) => c.name.startsWith(prefix));
    expect(steps.map((s) => s.name.slice(prefix.length))).toEqual(["archive-check", "pitr-restore", "restore-database"]);
    const [, pitr, beside] = steps.map((s) => String(s.inputs.create));
    expect(pitr).toContain("exec -T pg-backup sh -c 'set -eu; install -d -o postgres -g postgres /backups/pitr/db-r7; exec runuser -u postgres -- bash /opt/lazarus/scripts/backup/pitr-restore.sh");
    expect(pitr).toContain("--stanza goodgo --target-dir /backups/pitr/db-r7/data --port 5433 --target-time 2026-11-23T02:00:00Z --dump-database goodgo --dump-dir /backups/pitr/db-r7");
    expect(beside).toContain("pg-restore.sh --dbname goodgo /backups/pitr/db-r7");
    expect(beside).not.toContain("--cutover");
    expect(steps[1]!.dependencies).toContain(steps[0]!.urn);
    expect(steps[2]!.dependencies).toContain(steps[1]!.urn);
    // one-shot: a later change of the command text updates it without running it again
    for (const st of steps) expect(st.inputs.update, st.name).toBeDefined();
    expect(snapshot(plan, stateful)).toEqual(snapshot(base, stateful));
    // compose up's triggers name every recovery run; nothing else changes: no file, no host, no bucket
    expect(changed(base, plan)).toEqual(["goodgo-prod-compose-up", ...steps.map((s) => s.name)].sort());
  });

  it("first checks, before anything is restored or stopped, that the live server is the stanza's database system (a replaced, empty server cannot archive to it), naming recovery.host as the switch for that", async () => {
    const plan = await planFor("staging", { patch: (c) => (c["lazarus:goodgo"].recovery = { database: { label: "r7", pointInTime: "latest", cutover: true } }) });
    const check = one(plan, T.command, "goodgo-staging-restore-db-r7-archive-check");
    expect(String(check.inputs.create)).toMatch(/exec -T pg-backup bash \/opt\/lazarus\/scripts\/backup\/pitr-archive-check\.sh --stanza goodgo --hint '.*recovery\.host \{label: <new label>, backup: latest\}.*own stanza goodgo-<label>/);
    expect(one(plan, T.command, "goodgo-staging-restore-db-r7-pitr-restore").dependencies).toContain(check.urn);
  });

  it("latest recovers to the end of the archived WAL (no target time)", async () => {
    const plan = await planFor("staging", { patch: (c) => (c["lazarus:goodgo"].recovery = { database: { label: "r7", pointInTime: "latest" } }) });
    const pitr = String(one(plan, T.command, "goodgo-staging-restore-db-r7-pitr-restore").inputs.create);
    expect(pitr).toContain("--port 5433 --dump-database goodgo");
    expect(pitr).not.toContain("--target-time");
  });

  it("with the confirmed cutover: the restore runs while the apps still serve, then stop, swap, migrate, flush", async () => {
    const plan = await planFor("prod", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => (c["lazarus:goodgo"].recovery = { database: { ...restore, cutover: true, confirm: "prod/goodgo/database-cutover" } }),
    });
    const order = ["archive-check", "pitr-restore", "stop-apps", "restore-database", "migrate", "flush-redis"];
    const byKey = Object.fromEntries(goodgoCommands(plan).filter((c) => c.name.startsWith(prefix)).map((s) => [s.name.slice(prefix.length), s]));
    expect(Object.keys(byKey).sort()).toEqual([...order].sort());
    for (let i = 1; i < order.length; i++) expect(byKey[order[i]!]!.dependencies).toContain(byKey[order[i - 1]!]!.urn);
    // its own scratch directory: the run without cutover left its dump in /backups/pitr/db-r7
    expect(String(byKey["pitr-restore"]!.inputs.create)).toContain("--dump-dir /backups/pitr/db-r7-cutover");
    expect(String(byKey["restore-database"]!.inputs.create)).toContain("pg-restore.sh --dbname goodgo --cutover /backups/pitr/db-r7-cutover");
  });

  it("refuses the cutover on prod without confirmation, and bad or conflicting choices, naming the key", async () => {
    const refused = (database: object) => planFor("prod", { patch: (c) => (c["lazarus:goodgo"].recovery = { database }) });
    await expect(refused({ ...restore, cutover: true })).rejects.toThrow(/recovery\.database\.confirm: is missing: cutting over swaps the restored database in for the live one on stack prod; to proceed set it to "prod\/goodgo\/database-cutover"/);
    await expect(refused({ label: "r7", pointInTime: "2026-11-23 02:00" })).rejects.toThrow(/recovery\.database\.pointInTime: "2026-11-23 02:00" is not a point in time \(example: latest, or a UTC time such as "2026-11-23T02:00:00Z"\)/);
    await expect(refused({ ...restore, backup: "latest" })).rejects.toThrow(/recovery\.database\.pointInTime: cannot be combined with backup "latest"/);
    await expect(refused({ label: "r7" })).rejects.toThrow(/recovery\.database: needs backup \(a pg_dump backup\), pointInTime \(the pgBackRest repository\) or swapIn/);
    await expect(refused({ label: "r7", pointInTime: "2999-01-01T00:00:00Z" })).rejects.toThrow(/recovery\.database\.pointInTime: "2999-01-01T00:00:00Z" is in the future/);
    await expect(refused({ ...restore, fromOffsite: true })).rejects.toThrow(/recovery\.database\.fromOffsite: applies to pg_dump backups/);
  });
});

describe("full host recovery (4.6) as one switch", () => {
  let recovered: Plan;
  const prefix = "goodgo-prod-recover-host-20261123-";
  beforeAll(async () => {
    recovered = await planFor("prod", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => (c["lazarus:goodgo"].recovery = { host: { label: "20261123", fromSnapshot: "187654321", confirm: "prod/goodgo/recover-host" } }),
    });
  });
  const step = (key: string) => one(recovered, T.command, `${prefix}${key}`);

  it("builds the new host from the snapshot it names, lets it replace the droplet, and keeps the reserved IP", () => {
    expect(one(recovered, T.droplet, "goodgo-prod-host").inputs.image).toBe("187654321");
    expect(one(recovered, T.droplet, "goodgo-prod-host").protect).toBe(false);
    expect(one(recovered, T.reservedIp, "goodgo-prod-host-ip").protect).toBe(true);
    expect(one(recovered, T.reservedIpAssignment, "goodgo-prod-host-ip-assignment").replaceOnChanges).toContain("dropletId");
  });

  it("builds a new droplet from the base image when no snapshot is named (its user-data changes, which DigitalOcean replaces)", async () => {
    const plan = await planFor("staging", { patch: (c) => (c["lazarus:goodgo"].recovery = { host: { label: "dr1" } }) });
    const before = await planFor("staging");
    expect(one(plan, T.droplet, "goodgo-staging-host").inputs.image).toBe("ubuntu-24-04-x64");
    const userData = String(one(plan, T.droplet, "goodgo-staging-host").inputs.userData);
    expect(userData).not.toBe(String(one(before, T.droplet, "goodgo-staging-host").inputs.userData));
    expect(userData).toContain("/etc/lazarus/goodgo-host-recovery");
    const schema = cloudInitSchema(userData);
    expect(schema.ok, schema.output).toBe(true);
    expect(one(plan, T.droplet, "goodgo-staging-host").ignoreChanges).not.toContain("userData");
    expect(byType(plan, T.command).some((c) => c.name === "goodgo-staging-recover-host-dr1-restore-database")).toBe(true);
  });

  it("runs data services, the route, fetch or point-in-time restore, restore with cutover, migrations, reindex, Redis flush, the new stanza's first full backup, then the application services, in that order", () => {
    const order = ["data-services", "restore-route", "fetch-backup", "pitr-restore", "restore-database", "migrate", "reindex-typesense", "flush-redis", "pitr-first-full"];
    const steps = goodgoCommands(recovered).filter((c) => c.name.startsWith(prefix)).map((c) => c.name.slice(prefix.length));
    expect(steps.sort()).toEqual([...order].sort());
    for (let i = 1; i < order.length; i++) expect(step(order[i]!).dependencies, order[i]).toContain(step(order[i - 1]!).urn);
    expect(step("data-services").dependencies).toContain(one(recovered, T.command, "goodgo-prod-prepare").urn);
    const up = one(recovered, T.command, "goodgo-prod-compose-up");
    expect(up.dependencies).toContain(step("pitr-first-full").urn);
  });

  it("starts exactly the data services (and the backup container), in dependency order, waiting for health", () => {
    const cmd = String(step("data-services").inputs.create);
    expect(cmd).toMatch(/docker compose -p goodgo -f docker-compose\.prod\.yml up -d --wait /);
    const started = cmd.split(" up -d --wait ")[1]!.split(" ");
    expect([...started].sort()).toEqual(["minio", "pg-backup", "pgbouncer", "postgres", "redis", "typesense"]);
    const cfg = platformConfig(loadStackConfig(rawStack("prod"), { allowMissingSecrets: true }), goodgo)!;
    const layer = new Map(startOrder(goodgoStackInventory(cfg, "prod")).flatMap((l, i) => l.map((s) => [s, i] as const)));
    for (let i = 1; i < started.length; i++) expect(layer.get(started[i]!)!).toBeGreaterThanOrEqual(layer.get(started[i - 1]!)!);
  });

  it("restores the latest off-site backup into a new database and cuts over (never in place), with secrets only in the container", () => {
    const fetch = String(step("fetch-backup").inputs.create);
    expect(fetch).toContain("exec -T pg-backup sh -c");
    expect(fetch).toMatch(/sort \| tail -n 1/);
    // the route is decided on the host: physical when the repository has a backup of the lost cluster's stanza
    const route = String(step("restore-route").inputs.create);
    expect(route).toContain("runuser -u postgres -- bash /opt/lazarus/scripts/backup/pitr-route.sh --stanza goodgo --out /backups/pitr/host-20261123/route");
    expect(fetch).toContain(`route=$(cat /backups/pitr/host-20261123/route); if [ "$route" != logical ]; then echo "skipped`);
    const pitr = String(step("pitr-restore").inputs.create);
    expect(pitr).toContain(`route=$(cat /backups/pitr/host-20261123/route); if [ "$route" != physical ]; then echo "skipped`);
    expect(pitr).toContain("pitr-restore.sh --stanza goodgo --target-dir /backups/pitr/host-20261123/data --port 5433 --dump-database goodgo --dump-dir /backups/pitr/host-20261123");
    expect(pitr).not.toContain("--target-time");
    const restore = String(step("restore-database").inputs.create);
    expect(restore).toContain("then src=/backups/pitr/host-20261123; else src=/backups/offsite; fi");
    expect(restore).toMatch(/pg-restore\.sh --dbname goodgo --cutover "\$src"'$/);
    // the recovered cluster is a new database system: its own stanza, started by a full backup
    expect(String(step("pitr-first-full").inputs.create)).toContain("exec -T pg-backup bash /opt/lazarus/scripts/backup/backup-job.sh pitr-full");
    expect(String(step("migrate").inputs.create)).toContain("prisma migrate deploy");
    expect(String(step("reindex-typesense").inputs.create)).toContain("run --rm --no-deps api npx ts-node scripts/typesense-reindex.ts");
    for (const k of ["fetch-backup", "restore-database", "flush-redis"]) expect(String(step(k).inputs.create)).not.toMatch(/SENTINEL|PASSWORD=|SECRET/);
  });

  it("replaces nothing stateful besides the droplet: bucket, reserved IP, VPC and project are unchanged and protected", () => {
    expect(snapshot(recovered, stateful)).toEqual(snapshot(base, stateful));
    expect(one(recovered, T.spacesBucket, "goodgo-prod-offsite-backups").protect).toBe(true);
  });

  // The chain's steps are keyed on the droplet's id: they run again only if the droplet is replaced. Once the recovery
  // is done the droplet is protected (Pulumi refuses to replace a resource protected in program and state) and nothing
  // in its inputs comes from a snapshot lookup, so no later snapshot can replace it or re-run the restore with cutover.
  it("once done: the droplet is protected again, and the chain is exactly the one that ran, keyed on nothing a snapshot changes", async () => {
    const done = await planFor("prod", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => (c["lazarus:goodgo"].recovery = { host: { label: "20261123", fromSnapshot: "187654321", done: true } }),
    });
    const droplet = one(done, T.droplet, "goodgo-prod-host");
    expect(droplet.protect).toBe(true);
    expect(droplet.rawInputs).toEqual(one(recovered, T.droplet, "goodgo-prod-host").rawInputs);
    expect(done.invokes.filter((i) => i.token === "digitalocean:index/getDropletSnapshot:getDropletSnapshot")).toEqual([]);
    expect(changed(recovered, done)).toEqual(["goodgo-prod-host"]);
    const chain = goodgoCommands(done).filter((c) => c.name.startsWith(prefix));
    expect(chain.length).toBeGreaterThan(0);
    // Each step's triggers are the machine (the same value the host's first-boot wait is keyed on) and the chain's run,
    // which is its label: nothing `done` or a snapshot changes.
    const machine = one(done, T.command, "goodgo-prod-software-first-boot").rawInputs.triggers as unknown[];
    for (const s of chain) expect(s.rawInputs.triggers, s.name).toEqual([...machine, "recover-host-20261123"]);
  });

  it("refuses latest on prod, naming how to find the id", async () => {
    await expect(
      planFor("prod", { patch: (c) => (c["lazarus:goodgo"].recovery = { host: { label: "x1", fromSnapshot: "latest", confirm: "prod/goodgo/recover-host" } }) }),
    ).rejects.toThrow('lazarus:goodgo.recovery.host.fromSnapshot: "latest" is looked up again by every pulumi up, so any later snapshot would replace the rebuilt droplet on stack prod; write the id of the snapshot to rebuild from, as listed by doctl compute snapshot list --resource droplet --format ID,Name,CreatedAt (example: fromSnapshot: "187654321")');
  });

  it("is refused on prod without confirmation, and together with a database restore", async () => {
    await expect(planFor("prod", { patch: (c) => (c["lazarus:goodgo"].recovery = { host: { label: "x1" } }) })).rejects.toThrow(
      /lazarus:goodgo\.recovery\.host\.confirm: is missing: full host recovery replaces the live droplet .* to proceed set it to "prod\/goodgo\/recover-host"/,
    );
    await expect(
      planFor("staging", { patch: (c) => (c["lazarus:goodgo"].recovery = { host: { label: "x1" }, database: { label: "x1", backup: "latest" } }) }),
    ).rejects.toThrow(ConfigError);
  });
});

it("a base plan declares no recovery command", () => {
  expect(Object.keys(commandInputs(base)).filter((n) => /-(recover-host|restore-db)-/.test(n))).toEqual([]);
});
