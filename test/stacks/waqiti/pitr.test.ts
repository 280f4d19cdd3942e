// Waqiti's WAL archiving (backups.pitr) and its point-in-time switch (recovery.database.pointInTime), on the plan of
// the real stack files under mocks: Pulumi.staging.yaml enables it, Pulumi.prod.yaml does not. Every object of the
// point-in-time restore validated against the Kubernetes OpenAPI schemas (kubernetes-models), the policy pack clean,
// and the secrets only in the Secret. The mock's own ids and outputs are never asserted. The drill on these rendered
// settings against real PostgreSQL and pgBackRest is test/stacks/waqiti/pitr-drill.test.ts.
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import type { Plan } from "../../../cli/planner";
import type { DeclaredResource } from "../../../lib/runtime/capture";
import { checkPlan } from "../../../policy/rules";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, planFor, rawStack } from "../../support/stacks";

type Model = new (data: never) => { validate(): void };
const MODELS: Record<string, Model> = { StatefulSet, CronJob, Job, NetworkPolicy, Role, ConfigMap, Secret } as unknown as Record<string, Model>;
const objects = (plan: Plan) => plan.resources.filter((r) => r.type.startsWith("kubernetes:") && /^waqiti-/.test(r.name));
const obj = (r: DeclaredResource) => r.rawInputs as Record<string, any>;
const find = (plan: Plan, kind: string, name: string) => {
  const found = objects(plan).filter((r) => obj(r).kind === kind && obj(r).metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0];
};
const has = (plan: Plan, kind: string, name: string) => objects(plan).some((r) => obj(r).kind === kind && obj(r).metadata.name === name);
const postgresContainer = (plan: Plan, name: string) => obj(find(plan, "StatefulSet", name)).spec.template.spec.containers[0];

const POINT_IN_TIME = "2026-11-23T14:03:00Z";
const pitrSwitch = (c: Record<string, any>) => (c["lazarus:waqiti"].recovery = { database: { label: "r1", pointInTime: POINT_IN_TIME } });

let staging: Plan;
let prod: Plan;
let restoring: Plan;
beforeAll(async () => {
  // one after the other: the mocks are global to the process
  staging = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
  prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
  restoring = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: pitrSwitch });
});

describe("WAL archiving (backups.pitr, on in Pulumi.staging.yaml, off in Pulumi.prod.yaml)", () => {
  it("runs the live PostgreSQL with pgBackRest's image (lib/postgresPitr.ts, pinned, in the stack's registry) and the archive settings from the RPO target", () => {
    const c = postgresContainer(staging, "postgres");
    expect(c.image).toBe("registry.example.com/waqiti/postgres-pgbackrest:15.10-pgbackrest2.54.2");
    expect(c.args).toEqual([
      "postgres",
      "-c",
      "wal_level=replica",
      "-c",
      "archive_mode=on",
      "-c",
      "archive_command=pgbackrest --config=/etc/pgbackrest/conf/pgbackrest.conf --config-include-path=/etc/pgbackrest/conf.d --stanza=waqiti archive-push %p",
      // rpoSeconds 60: half for the segment switch, half for the push
      "-c",
      "archive_timeout=30s",
    ]);
    expect(c.env).toEqual(expect.arrayContaining([{ name: "PGBACKREST_CONFIG", value: "/etc/pgbackrest/conf/pgbackrest.conf" }, { name: "PGBACKREST_CONFIG_INCLUDE_PATH", value: "/etc/pgbackrest/conf.d" }]));
    expect(postgresContainer(prod, "postgres").image).toBe("postgres:15.10");
    expect(postgresContainer(prod, "postgres").args).toBeUndefined();
    // the image's Dockerfile is a rendered file of the plan (`npm run plan -- --out DIR`): build and push it before the up
    const dockerfile = staging.files.find((f) => f.platform === "waqiti" && f.path === "/waqiti/images/postgres-pgbackrest/Dockerfile");
    expect(dockerfile?.content).toContain("FROM postgres:15.10");
    expect(prod.files.some((f) => f.platform === "waqiti" && f.path.endsWith("/Dockerfile"))).toBe(false);
  });

  it("asks for the repository passphrase only of a stack that archives", async () => {
    const { waqiti } = await import("../../../stacks/waqiti");
    const asked = (pitr: boolean) => waqiti.requiredSecrets({ backups: pitr ? { pitr: {} } : {} } as Parameters<typeof waqiti.requiredSecrets>[0], {} as never);
    expect(asked(true)).toContain("waqitiPgbackrestCipherPass");
    expect(asked(false)).not.toContain("waqitiPgbackrestCipherPass");
  });

  it("renders pgbackrest.conf as a ConfigMap (S3 repository in its own bucket, encrypted, retention by full backups) and the keys only in the Secret", () => {
    const conf = obj(find(staging, "ConfigMap", "waqiti-pgbackrest")).data["pgbackrest.conf"] as string;
    for (const line of ["repo1-type=s3", "repo1-s3-bucket=waqiti-pitr-staging", "repo1-s3-endpoint=s3.eu-central-1.amazonaws.com", "repo1-path=/pgbackrest", "repo1-cipher-type=aes-256-cbc", "repo1-retention-full=2", "archive-async=y", "[waqiti]", "pg1-path=/var/lib/postgresql/data/pgdata"]) {
      expect(conf.split("\n")).toContain(line);
    }
    for (const m of ALL_SENTINEL_MARKERS) expect(conf).not.toContain(m);
    const secret = find(staging, "Secret", "waqiti-pgbackrest-secrets");
    expect(secret.secretInputs).toContain("stringData");
    const include = obj(secret).stringData["secrets.conf"] as string;
    expect(include).toContain(`repo1-cipher-pass=${ALL_SENTINEL_SECRETS["lazarus:waqitiPgbackrestCipherPass"]}`);
    expect(include).toContain(`repo1-s3-key=${ALL_SENTINEL_SECRETS["lazarus:waqitiBackupAccessKey"]}`);
    expect(secret.inputs.stringData).toBe("[secret]");
    expect(has(prod, "ConfigMap", "waqiti-pgbackrest")).toBe(false);
    expect(has(prod, "Secret", "waqiti-pgbackrest-secrets")).toBe(false);
  });

  it("schedules a weekly full and daily differential backup, run in the database pod (kubectl exec, a Role naming the pods)", () => {
    const full = obj(find(staging, "CronJob", "waqiti-pitr-full"));
    const diff = obj(find(staging, "CronJob", "waqiti-pitr-diff"));
    expect(full.spec.schedule).toBe("0 1 * * 0");
    expect(diff.spec.schedule).toBe("0 1 * * 1,2,3,4,5,6");
    expect(full.spec.jobTemplate.spec.template.spec.containers[0].command).toEqual([
      "kubectl", "exec", "-n", "waqiti", "postgres-0", "-c", "postgres", "--", "gosu", "postgres", "bash", "/opt/lazarus/scripts/backup/pitr-backup.sh", "--stanza", "waqiti", "--type", "full",
    ]);
    expect(obj(find(staging, "Role", "waqiti-pitr-backup")).rules).toEqual([
      { apiGroups: [""], resources: ["pods"], resourceNames: ["postgres-0"], verbs: ["get"] },
      { apiGroups: [""], resources: ["pods/exec"], resourceNames: ["postgres-0"], verbs: ["create"] },
    ]);
    expect(obj(find(staging, "ConfigMap", "waqiti-backup-scripts")).data["pitr-backup.sh"]).toContain("pitr-backup.sh");
    // what it sources beside it (mounted as backup/lib-pitr.sh next to backup/pitr-backup.sh and lib/common.sh)
    expect(obj(find(staging, "ConfigMap", "waqiti-backup-scripts")).data["lib-pitr.sh"]).toContain("pitr_info()");
    // the first full backup (and the stanza) at once, not at the next scheduled run
    expect(obj(find(staging, "Job", "pitr-first-full")).spec.template.spec.containers[0].command).toEqual(full.spec.jobTemplate.spec.template.spec.containers[0].command);
    expect(has(prod, "CronJob", "waqiti-pitr-full")).toBe(false);
  });

  it("opens egress to the bucket for the database pods and to the API server for the backup jobs, derived from the graph", () => {
    const egressOf = (name: string) => obj(find(staging, "NetworkPolicy", name)).spec.egress as { to: any[]; ports: any[] }[];
    expect(egressOf("allow-postgres")).toContainEqual({ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] } }], ports: [{ port: 443, protocol: "TCP" }] });
    expect(egressOf("allow-pitr-backup")).toContainEqual({ to: [{ ipBlock: { cidr: "10.101.0.1/32" } }], ports: [{ port: 443, protocol: "TCP" }] });
    expect(obj(find(prod, "NetworkPolicy", "allow-postgres")).spec.egress).toBeUndefined();
  });
});

describe("recovery.database.pointInTime: restored by pgBackRest beside the live database", () => {
  it("declares postgres-r1 whose init container restores the live stanza to the named time, once, and which archives to its own stanza", () => {
    const sts = obj(find(restoring, "StatefulSet", "postgres-r1"));
    const init = sts.spec.template.spec.initContainers[0];
    expect(init.name).toBe("pitr-restore");
    expect(init.securityContext).toMatchObject({ runAsUser: 999 });
    const script = init.command[2] as string;
    expect(script).toContain('if [ -e "$marker" ]; then');
    expect(script).toContain('pgbackrest --stanza=waqiti --pg1-path="$PGDATA" --log-level-console=info restore --type=time "--target=2026-11-23 14:03:00+00" --target-action=promote');
    expect(sts.spec.template.spec.containers[0].args).toContain("archive_command=pgbackrest --config=/etc/pgbackrest/conf/pgbackrest.conf --config-include-path=/etc/pgbackrest/conf.d --stanza=waqiti-r1 archive-push %p");
    const conf = obj(find(restoring, "ConfigMap", "waqiti-pgbackrest")).data["pgbackrest.conf"] as string;
    expect(conf).toMatch(/^\[waqiti\]$/m);
    expect(conf).toMatch(/^\[waqiti-r1\]$/m);
    // the live database is untouched: same StatefulSet, the Service still on it
    expect(postgresContainer(restoring, "postgres")).toEqual(postgresContainer(staging, "postgres"));
    expect(obj(find(restoring, "Service", "postgres")).spec.selector).toMatchObject({ "waqiti.io/instance": "live" });
  });

  it("verifies it (out of recovery, the seed's three counts) in restore-postgres-r1, then takes its first full backup", () => {
    const verify = obj(find(restoring, "Job", "restore-postgres-r1")).spec.template.spec.containers[0];
    expect(verify.env).toContainEqual({ name: "PGHOST", value: "postgres-r1" });
    expect(verify.command[2]).toContain("select pg_is_in_recovery()");
    expect(verify.command[2]).toContain("for t in users transactions wallets");
    const first = obj(find(restoring, "Job", "pitr-first-full-r1")).spec.template.spec.containers[0].command;
    expect(first).toEqual(expect.arrayContaining(["postgres-r1-0", "--stanza", "waqiti-r1", "--type", "full"]));
    const stageOf = (kind: string, name: string) => find(restoring, kind, name).dependencies;
    expect(stageOf("Job", "pitr-first-full-r1")).toContain(find(restoring, "Job", "restore-postgres-r1").urn);
  });

  it("carries scripts that pass shellcheck (the init container's restore, the Job's verification)", () => {
    const scripts = [
      obj(find(restoring, "StatefulSet", "postgres-r1")).spec.template.spec.initContainers[0].command[2],
      obj(find(restoring, "Job", "restore-postgres-r1")).spec.template.spec.containers[0].command[2],
    ];
    for (const script of scripts) {
      const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
      expect(r.status, r.stdout).toBe(0);
    }
  });

  it("is valid against the Kubernetes OpenAPI schemas and passes the policy pack", () => {
    const problems: string[] = [];
    for (const r of objects(restoring)) {
      const model = MODELS[obj(r).kind];
      if (!model) continue;
      try {
        new model(obj(r) as never).validate();
      } catch (e) {
        problems.push(`${r.name}: ${(e as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checkPlan(restoring, rawStack("staging", { patch: pitrSwitch })).filter((v) => v.urn.includes("waqiti"))).toEqual([]);
  });

  it("after the cutover, backs up the restored database (its stanza) and keeps the old one until its claim is deleted", async () => {
    const patch = (c: Record<string, any>) => (c["lazarus:waqiti"].recovery = { database: { label: "r1", pointInTime: "latest", cutover: true } });
    const plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch });
    expect(obj(find(plan, "CronJob", "waqiti-pitr-diff")).spec.jobTemplate.spec.template.spec.containers[0].command).toEqual(expect.arrayContaining(["postgres-r1-0", "--stanza", "waqiti-r1", "--type", "diff"]));
    expect(obj(find(plan, "StatefulSet", "postgres")).spec.replicas).toBe(1);
    expect(obj(find(plan, "StatefulSet", "postgres-r1")).spec.template.spec.initContainers[0].command[2]).toMatch(/restore$/m);
    expect(plan.outputs.waqiti).toMatchObject({ activeDatabase: "postgres-r1" });
  });
});
