// Pencom's off-site pgBackRest repository and the server-loss switch in the plan (issue 14), under mocks: the bucket
// (staging's stack file sets postgres.pitr.offsite; prod's does not), the 0600 secrets file, the setup backing up to
// both repositories, recovery.postgresServer's restore between the files and the setup on the replacement machine,
// and the stack-file mistakes refused with the key. The restore itself runs for real in server-loss-for-real.test.ts.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { ConfigError } from "../../../config/errors";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { pencom } from "../../../stacks/pencom";
import { renderPgBackRestConf, renderPgBackRestSecretsConf } from "../../../renderers/pgbackrest";
import { pencomRequiredSecrets } from "../../../stacks/pencom/config";
import { REPO, parseResult } from "../../support/testHost";
import { ALL_SENTINEL_SECRETS, T, byType, keepOnlyPlatforms, one, planFor, rawStack } from "../../support/stacks";

const pencomOnly = (c: Record<string, any>) => keepOnlyPlatforms(c, ["pencom"]);
const OFFSITE_SENTINELS = ["pencomSpacesAccessKey", "pencomSpacesSecretKey", "pencomPgbackrestCipherPass"].map((k) => ALL_SENTINEL_SECRETS[`lazarus:${k}`]!);

describe("Pencom's off-site repository in the plan", () => {
  let staging: Plan;
  let rebuilding: Plan;
  beforeAll(async () => {
    staging = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: pencomOnly });
    rebuilding = await planFor("staging", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => {
        pencomOnly(c);
        c["lazarus:pencom"].recovery = { postgresServer: { label: "rebuilt1" } };
      },
    });
  });
  const command = (plan: Plan, name: string) => one(plan, T.command, name);
  const writer = (plan: Plan, path: string) => command(plan, `pencom-staging-postgres-software-file${path.replace(/[^A-Za-z0-9]+/g, "-")}`);

  it("declares the bucket private and versioned (protected only on prod), and ships its key and passphrase only in the 0600 secrets file", () => {
    const bucket = one(staging, T.spacesBucket, "pencom-staging-postgres-pgbackrest");
    expect(bucket.inputs).toMatchObject({ name: "pencom-staging-pgbackrest", region: "fra1", acl: "private", versioning: { enabled: true } });
    expect(bucket.protect).toBe(false);
    const secrets = writer(staging, "/etc/pgbackrest/conf.d/lazarus-secrets.conf");
    expect(secrets.inputs.logging).toBe("none");
    expect(command(staging, "pencom-staging-postgres-pitr-setup").dependencies).toEqual(expect.arrayContaining([bucket.urn, secrets.urn]));
    const conf = String(writer(staging, "/etc/pgbackrest/pgbackrest.conf").inputs.stdin);
    expect(conf).toMatch(/^repo2-s3-bucket=pencom-staging-pgbackrest$/m);
    // no key or passphrase anywhere but the secrets file's writer
    for (const c of byType(staging, T.command).filter((c) => c.urn !== secrets.urn)) {
      for (const s of OFFSITE_SENTINELS) expect(JSON.stringify(c.inputs), c.name).not.toContain(s);
    }
  });

  it("hands the secrets file to postgres and takes the first full backup into both repositories, with timers for each", () => {
    const setup = String(command(staging, "pencom-staging-postgres-pitr-setup").inputs.create);
    expect(setup).toContain("chown postgres: /etc/pgbackrest/conf.d/lazarus-secrets.conf && chmod 0600 /etc/pgbackrest/conf.d/lazarus-secrets.conf");
    expect(setup).toContain("runuser -u postgres -- env PITR_STANZA=pencom METRICS_DIR=/var/backups/pencom-postgres/metrics BACKUP_DIR=/var/backups/pencom-postgres bash /opt/lazarus/scripts/backup/backup-job.sh pitr-full");
    expect(setup).toContain("runuser -u postgres -- env PITR_STANZA=pencom PITR_REPO=2 METRICS_DIR=/var/backups/pencom-postgres/metrics BACKUP_DIR=/var/backups/pencom-postgres bash /opt/lazarus/scripts/backup/backup-job.sh pitr-full");
    expect(setup).toContain("systemctl enable --now lazarus-pencom-pitr-full.timer lazarus-pencom-pitr-diff.timer lazarus-pencom-pitr-repo2-full.timer lazarus-pencom-pitr-repo2-diff.timer");
    const repo2Full = String(writer(staging, "/etc/systemd/system/lazarus-pencom-pitr-repo2-full.service").inputs.stdin);
    expect(repo2Full).toMatch(/^Environment=PITR_REPO=2$/m);
  });

  it("recovery.postgresServer: every step on the replacement runs again, the whole-cluster restore from repo2 between the files and the setup", () => {
    const restore = command(rebuilding, "pencom-staging-postgres-server-restore-rebuilt1");
    expect((restore.rawInputs.connection as { host: string }).host).toBe("10.21.0.21");
    expect(String(restore.inputs.create).split("\n")).toEqual([
      "set -eu",
      "chown postgres: /etc/pgbackrest/conf.d/lazarus-secrets.conf && chmod 0600 /etc/pgbackrest/conf.d/lazarus-secrets.conf",
      "env PGBACKREST_CONFIG_INCLUDE_PATH=/etc/pgbackrest/conf.d bash /opt/lazarus/scripts/backup/pitr-server-restore.sh --stanza pencom --repo 2 --data-dir /var/lib/postgresql/15/main --service postgresql@15-main --port 5432 --socket-dir /var/run/postgresql --config /etc/pgbackrest/pgbackrest.conf",
    ]);
    for (const path of ["/etc/pgbackrest/pgbackrest.conf", "/etc/pgbackrest/conf.d/lazarus-secrets.conf", "/etc/postgresql/15/main/conf.d/lazarus-archive.conf"]) {
      expect(restore.dependencies).toContain(writer(rebuilding, path).urn);
    }
    expect(command(rebuilding, "pencom-staging-postgres-pitr-setup").dependencies).toContain(restore.urn);
    // the label is in the server's machine id: the files and the setup are new resources' inputs, unlike the plan without it
    const trig = (plan: Plan) => JSON.stringify(writer(plan, "/etc/pgbackrest/pgbackrest.conf").inputs.triggers);
    expect(trig(rebuilding)).toContain("root@10.21.0.21:22#rebuilt1");
    expect(trig(staging)).not.toContain("#");
    // the app server's steps are not touched
    expect(JSON.stringify(command(rebuilding, "pencom-staging-deploy").inputs.triggers)).toBe(JSON.stringify(command(staging, "pencom-staging-deploy").inputs.triggers));
  });

  it("recovery.postgresServer done: true keeps the label in the server's machine id (no step there changes) and declares no restore", async () => {
    const done = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => { pencomOnly(c); c["lazarus:pencom"].recovery = { postgresServer: { label: "rebuilt1", done: true } }; } });
    expect(byType(done, T.command).filter((c) => c.name.includes("server-restore"))).toEqual([]);
    // every step on the server keeps the inputs it had while restoring, so marking the switch done runs none of them
    const inputsOf = (plan: Plan, name: string) => JSON.stringify({ create: command(plan, name).inputs.create, triggers: command(plan, name).inputs.triggers });
    const serverSteps = byType(rebuilding, T.command).filter((c) => c.name.startsWith("pencom-staging-postgres-") && !c.name.includes("server-restore")).map((c) => c.name);
    expect(serverSteps).toContain("pencom-staging-postgres-pitr-setup");
    expect(serverSteps.length).toBeGreaterThan(5);
    for (const name of serverSteps) expect(inputsOf(done, name), name).toBe(inputsOf(rebuilding, name));
    expect(JSON.stringify(writer(done, "/etc/pgbackrest/pgbackrest.conf").inputs.triggers)).toContain("root@10.21.0.21:22#rebuilt1");
    // on prod it needs no confirmation (it replaces nothing) and, restoring nothing, no off-site repository
    const prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => { pencomOnly(c); c["lazarus:pencom"].recovery = { postgresServer: { label: "r1", done: true } }; } });
    expect(byType(prod, T.command).filter((c) => c.name.includes("server-restore"))).toEqual([]);
    expect(JSON.stringify(command(prod, "pencom-prod-postgres-pitr-setup").inputs.triggers)).toContain("root@10.20.0.21:22#r1");
  });

  it("refuses done without the label it ran with, and done with a confirmation left in place", async () => {
    const refused = async (stack: string, postgresServer: Record<string, unknown>) => {
      const err = await planFor(stack, { secrets: ALL_SENTINEL_SECRETS, patch: (c) => { pencomOnly(c); c["lazarus:pencom"].recovery = { postgresServer }; } }).catch((e) => e);
      expect(err).toBeInstanceOf(ConfigError);
      return String(err.message);
    };
    expect(await refused("staging", { done: true })).toContain(
      "lazarus:pencom.recovery.postgresServer.label: is missing: it names the restore and is part of the PostgreSQL server's machine id; keep the label the restore ran with, also with done: true, or every step on that server runs again as on a new machine (example: {label: r1, done: true})",
    );
    expect(await refused("staging", { label: "rebuilt1", done: true, confirm: "prod/pencom/postgres-server-restore" })).toContain(
      "lazarus:pencom.recovery.postgresServer.confirm: is set, but done: true says the restore of label rebuilt1 has run and nothing of it runs again; remove confirm and keep label and done",
    );
    expect(await refused("staging", { label: "rebuilt1", done: "yes" })).toContain('lazarus:pencom.recovery.postgresServer.done: "yes" is not true or false (example: done: true)');
  });

  it("a named time reaches the script; prod's stack file has no bucket (the infrastructure team's decision) and adding one protects it", async () => {
    const timed = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => { pencomOnly(c); c["lazarus:pencom"].recovery = { postgresServer: { label: "r2", pointInTime: "2026-11-23T02:00:00Z" } }; } });
    expect(String(command(timed, "pencom-staging-postgres-server-restore-r2").inputs.create)).toMatch(/ --target-time 2026-11-23T02:00:00Z$/);
    const prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: pencomOnly });
    expect(byType(prod, T.spacesBucket)).toEqual([]);
    const withBucket = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => { pencomOnly(c); c["lazarus:pencom"].postgres.pitr.offsite = { bucket: "pencom-prod-pgbackrest", region: "fra1" }; } });
    expect(one(withBucket, T.spacesBucket, "pencom-prod-postgres-pgbackrest").protect).toBe(true);
    const existing = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => { pencomOnly(c); c["lazarus:pencom"].postgres.pitr.offsite = { bucket: "pencom-prod-pgbackrest", region: "fra1", existing: true }; } });
    expect(byType(existing, T.spacesBucket)).toEqual([]);
  });

  it("refuses a missing bucket, a wrong region, the switch without an off-site repository and, on prod, without its confirmation", async () => {
    const refused = async (stack: string, patch: (p: Record<string, any>) => void) => {
      const err = await planFor(stack, { secrets: ALL_SENTINEL_SECRETS, patch: (c) => { pencomOnly(c); patch(c["lazarus:pencom"]); } }).catch((e) => e);
      expect(err).toBeInstanceOf(ConfigError);
      return String(err.message);
    };
    expect(await refused("staging", (p) => { delete p.postgres.pitr.offsite.bucket; })).toContain("lazarus:pencom.postgres.pitr.offsite.bucket");
    expect(await refused("staging", (p) => { p.postgres.pitr.offsite.region = "mars1"; })).toMatch(/lazarus:pencom\.postgres\.pitr\.offsite\.region: "mars1" is not a DigitalOcean Spaces region \(example: fra1/);
    expect(await refused("prod", (p) => { p.recovery = { postgresServer: { label: "r1" } }; })).toContain(
      "lazarus:pencom.recovery.postgresServer: needs postgres.pitr.offsite (the off-site repository survives the server; the one on it does not)",
    );
    const prodOffsite = (p: Record<string, any>) => { p.postgres.pitr.offsite = { bucket: "pencom-prod-pgbackrest", region: "fra1" }; };
    expect(await refused("prod", (p) => { prodOffsite(p); p.recovery = { postgresServer: { label: "r1" } }; })).toContain(
      'lazarus:pencom.recovery.postgresServer.confirm: is missing: the restore replaces the PostgreSQL server\'s cluster with the off-site copy on stack prod; to proceed set it to "prod/pencom/postgres-server-restore"',
    );
    const confirmed = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => { pencomOnly(c); prodOffsite(c["lazarus:pencom"]); c["lazarus:pencom"].recovery = { postgresServer: { label: "r1", confirm: "prod/pencom/postgres-server-restore" } }; } });
    expect(byType(confirmed, T.command).some((c) => c.name === "pencom-prod-postgres-server-restore-r1")).toBe(true);
    expect(await refused("staging", (p) => { p.recovery = { postgresServer: { label: "r1", pointInTime: "2099-01-01T00:00:00Z" } }; })).toContain("lazarus:pencom.recovery.postgresServer.pointInTime: \"2099-01-01T00:00:00Z\" is in the future");
  });

  it("asks for the Spaces key and the passphrase only when the off-site repository is set", () => {
    const cfgOf = (stack: string) => platformConfig(loadStackConfig(rawStack(stack, { patch: pencomOnly }), { allowMissingSecrets: true }), pencom)!;
    expect(pencomRequiredSecrets(cfgOf("staging"))).toEqual(expect.arrayContaining(["pencomSpacesAccessKey", "pencomSpacesSecretKey", "pencomPgbackrestCipherPass"]));
    expect(pencomRequiredSecrets(cfgOf("prod")).filter((k) => /Spaces|Pgbackrest/.test(k))).toEqual([]);
  });
});

describe("the second repository's rendering and pitr-server-restore.sh's arguments", () => {
  const base = { stanza: "pencom", pg: { dataPath: "/var/lib/postgresql/15/main" }, repository: { type: "posix" as const, path: "/var/lib/pgbackrest" }, retention: { full: 2 } };
  it("names a mistake in repo2 by its field, and writes repo2's secrets as repo2-* options", () => {
    const bad = { type: "s3" as const, bucket: "Pencom_Bucket", endpoint: "fra1.digitaloceanspaces.com", region: "fra1", path: "/pgbackrest" };
    expect(() => renderPgBackRestConf({ ...base, repo2: { repository: bad, retention: { full: 4 } } })).toThrow(/repo2\.repository\.bucket: must be a bucket name/);
    expect(() => renderPgBackRestConf({ ...base, repo2: { repository: { ...bad, bucket: "pencom-b" }, retention: { full: 0 } } })).toThrow(/repo2\.retention\.full: must be a whole number from 1/);
    expect(() => renderPgBackRestConf({ ...base, repo2: { repository: { ...bad, bucket: "pencom-b", key: "DO00" } as never, retention: { full: 4 } } })).toThrow(/repo2\.repository\.key: is not a known option \(S3 keys are read from/);
    expect(renderPgBackRestSecretsConf({ cipherPass: "p", s3Key: "k", s3KeySecret: "s" }, 2)).toBe("[global]\nrepo2-cipher-pass=p\nrepo2-s3-key=k\nrepo2-s3-key-secret=s\n");
  });

  const script = join(REPO, "scripts", "backup", "pitr-server-restore.sh");
  it("pitr-server-restore.sh passes shellcheck and refuses bad arguments with 64 and one result line", () => {
    const sc = spawnSync("shellcheck", ["-x", "-s", "bash", script], { encoding: "utf8" });
    expect(sc.status, sc.stdout).toBe(0);
    const args = ["--stanza", "pencom", "--repo", "2", "--data-dir", "/var/lib/postgresql/15/main", "--service", "postgresql@15-main", "--port", "5432", "--socket-dir", "/var/run/postgresql"];
    for (const [change, message] of [
      [["--repo", "x"], "--repo must be a repository number 1-4"],
      [["--target-time", "2026-11-23 02:00"], "--target-time must be an ISO 8601 UTC time"],
      [["--data-dir", "relative"], "--data-dir must be an absolute path"],
    ] as const) {
      const r = spawnSync("bash", [script, ...args, ...change], { encoding: "utf8" });
      expect(r.status).toBe(64);
      expect(String(parseResult(r.stdout).error)).toContain(message);
    }
  });
});
