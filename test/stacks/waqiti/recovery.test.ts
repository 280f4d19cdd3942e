// Waqiti's recovery switches and operations, as the real stack files plus each switch declare them under the mock
// runtime: what each adds or changes (previewable as manifests), that none deletes first, the confirmations prod asks
// for, one-shot Jobs that a later text change cannot re-run, and the full-system order.
import { describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import type { DeclaredResource } from "../../../lib/runtime/capture";
import { checkPlan } from "../../../policy/rules";
import { WAQITI_STAGES } from "../../../stacks/waqiti/manifests";
import { ALL_SENTINEL_SECRETS, planFor, rawStack } from "../../support/stacks";

type Patch = (waqiti: Record<string, any>) => void;
const withWaqiti = (stack: string, patch: Patch) => planFor(stack, { secrets: ALL_SENTINEL_SECRETS, patch: (c) => patch(c["lazarus:waqiti"]) });
const objects = (plan: Plan) => plan.resources.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("waqiti-"));
const obj = (r: DeclaredResource) => r.rawInputs as Record<string, any>;
function find(plan: Plan, kind: string, name: string): DeclaredResource {
  const found = objects(plan).filter((r) => obj(r).kind === kind && obj(r).metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}: ${objects(plan).filter((r) => obj(r).kind === kind).map((r) => obj(r).metadata.name).join(", ")}`);
  return found[0];
}
const has = (plan: Plan, kind: string, name: string) => objects(plan).some((r) => obj(r).kind === kind && obj(r).metadata.name === name);

describe("Database-Only Recovery (recovery.database)", () => {
  it("restores into a new StatefulSet postgres-<label> beside the live one, with a one-shot restore Job; the live database and its Service untouched", async () => {
    const plan = await withWaqiti("staging", (w) => (w.recovery = { database: { label: "r1" } }));
    const restored = obj(find(plan, "StatefulSet", "postgres-r1"));
    expect(restored.spec.selector.matchLabels["waqiti.io/instance"]).toBe("r1");
    expect(obj(find(plan, "StatefulSet", "postgres")).spec.replicas).toBe(1);
    expect(obj(find(plan, "Service", "postgres")).spec.selector["waqiti.io/instance"]).toBe("live");
    const job = find(plan, "Job", "restore-postgres-r1");
    expect(job.ignoreChanges).toEqual(["spec"]);
    const c = obj(job).spec.template.spec.containers[0];
    expect([...c.command, ...c.args]).toEqual(["bash", "/opt/lazarus/scripts/backup/waqiti-restore.sh", "postgres", "--backup", "latest"]);
    expect(c.env).toContainEqual({ name: "PGHOST", value: "postgres-r1" });
    // The Job waits for the restored database: it depends on the data stores' stage.
    expect(job.dependencies).toContain(find(plan, "StatefulSet", "postgres-r1").urn);
  });

  it("cuts the postgres Service over to the restored instance only after the restore Job, and only with the confirmation on prod", async () => {
    await expect(withWaqiti("prod", (w) => (w.recovery = { database: { label: "r1", cutover: true } }))).rejects.toThrow(/lazarus:waqiti\.recovery\.database\.confirm: is missing: .*"prod\/waqiti\/database-cutover"/);
    const plan = await withWaqiti("prod", (w) => (w.recovery = { database: { label: "r1", cutover: true, confirm: "prod/waqiti/database-cutover" } }));
    const svc = find(plan, "Service", "postgres");
    expect(obj(svc).spec.selector["waqiti.io/instance"]).toBe("r1");
    expect(svc.dependencies).toContain(find(plan, "Job", "restore-postgres-r1").urn);
    expect(find(plan, "StatefulSet", "postgres-r1").protect).toBe(true);
    expect(plan.outputs.waqiti).toMatchObject({ activeDatabase: "postgres-r1" });
    // The plan shows each object as the seed's procedure it carries out.
    const procedure = (kind: string, name: string) => obj(find(plan, kind, name)).metadata.annotations["lazarus.io/runbook-procedure"];
    expect(procedure("Job", "restore-postgres-r1")).toBe("002 2. Database-Only Recovery, step 6 (restore and verify)");
    expect(procedure("Service", "postgres")).toBe("002 2. Database-Only Recovery, step 5 (cutover to postgres-r1)");
    expect(procedure("StatefulSet", "postgres-r1")).toBe("002 2. Database-Only Recovery, step 5 (a new database beside the live one)");
  });

  it("deletes the old claim (the seed's step 4) only after the cutover and with a confirmation naming the claim, on every stack", async () => {
    const ask = (deleteClaim: Record<string, unknown>, cutover = true) => withWaqiti("staging", (w) => (w.recovery = { database: { label: "r1", cutover, deleteClaim } }));
    await expect(ask({ name: "data-postgres-0" })).rejects.toThrow(/recovery\.database\.deleteClaim\.confirm: is missing: deleting the claim data-postgres-0 .*"staging\/waqiti\/delete-claim\/data-postgres-0"/);
    await expect(ask({ name: "data-postgres-0", confirm: "staging/waqiti/delete-claim/data-postgres-0" }, false)).rejects.toThrow(/is not the claim of the database out of service.*before a cutover: data-postgres-r1-0/);
    const plan = await ask({ name: "data-postgres-0", confirm: "staging/waqiti/delete-claim/data-postgres-0" });
    expect(obj(find(plan, "StatefulSet", "postgres")).spec.replicas).toBe(0);
    const job = find(plan, "Job", "delete-claim-data-postgres-0");
    expect(obj(job).spec.template.spec.containers[0].command).toEqual(["kubectl", "delete", "pvc", "data-postgres-0", "-n", "waqiti", "--wait=true", "--timeout=600s"]);
    expect(obj(find(plan, "Role", "waqiti-claim-deleter")).rules).toEqual([{ apiGroups: [""], resources: ["persistentvolumeclaims"], resourceNames: ["data-postgres-0"], verbs: ["get", "delete"] }]);
  });

  it("discards a restore that was not cut over: its StatefulSet retired and unprotected, its claim deleted (confirmation naming it), the live database untouched", async () => {
    const patchFor = (confirm?: string) => (c: Record<string, any>) => (c["lazarus:waqiti"].recovery = { database: { label: "r1", deleteClaim: { name: "data-postgres-r1-0", ...(confirm ? { confirm } : {}) } } });
    const ask = (confirm?: string) => planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: patchFor(confirm) });
    await expect(ask()).rejects.toThrow(/recovery\.database\.deleteClaim\.confirm: is missing: deleting the claim data-postgres-r1-0 .*"prod\/waqiti\/delete-claim\/data-postgres-r1-0"/);
    const plan = await ask("prod/waqiti/delete-claim/data-postgres-r1-0");
    expect(obj(find(plan, "StatefulSet", "postgres")).spec.replicas).toBe(1);
    expect(find(plan, "StatefulSet", "postgres").protect).toBe(true);
    const restored = find(plan, "StatefulSet", "postgres-r1");
    expect(obj(restored).spec.replicas).toBe(0);
    // no longer protected: removing recovery.database afterwards is accepted by the engine
    expect(restored.protect).toBe(false);
    expect(obj(find(plan, "Service", "postgres")).spec.selector).toMatchObject({ "waqiti.io/instance": "live" });
    expect(obj(find(plan, "Job", "delete-claim-data-postgres-r1-0")).spec.template.spec.containers[0].command).toEqual(["kubectl", "delete", "pvc", "data-postgres-r1-0", "-n", "waqiti", "--wait=true", "--timeout=600s"]);
    expect(checkPlan(plan, rawStack("prod", { patch: patchFor("prod/waqiti/delete-claim/data-postgres-r1-0") })).filter((v) => v.urn.includes("waqiti"))).toEqual([]);
    // the unprotected StatefulSet passes the policy pack only with the claim's confirmation in the stack file
    const unconfirmed = checkPlan(plan, rawStack("prod")).filter((v) => v.urn.includes("statefulset-postgres-r1")).map((v) => v.policy);
    expect(unconfirmed).toContain("prod-stateful-protected");
  });

  it("is previewable without it: no restore object exists unless the switch is set", async () => {
    const plan = await withWaqiti("staging", () => {});
    expect(objects(plan).filter((r) => /^(restore-|postgres-r|delete-claim)/.test(obj(r).metadata.name))).toEqual([]);
  });
});

describe("Redis recovery (recovery.redis)", () => {
  it("restores through an init container before redis-server starts, confirmed on prod; Redis may then reach the bucket", async () => {
    await expect(withWaqiti("prod", (w) => (w.recovery = { redis: { label: "r1" } }))).rejects.toThrow(/recovery\.redis\.confirm: is missing: .*"prod\/waqiti\/redis-restore"/);
    const plan = await withWaqiti("prod", (w) => (w.recovery = { redis: { label: "r1", confirm: "prod/waqiti/redis-restore" } }));
    const spec = obj(find(plan, "StatefulSet", "redis")).spec.template.spec;
    const init = spec.initContainers[0];
    expect([...init.command, ...init.args]).toEqual(["bash", "/opt/lazarus/scripts/backup/waqiti-restore.sh", "redis", "--backup", "latest", "--data-dir", "/data", "--label", "r1"]);
    expect(spec.containers[0].args).toEqual(expect.arrayContaining(["--appendonly", "no"]));
    const egress = JSON.stringify(obj(find(plan, "NetworkPolicy", "allow-redis")).spec.egress);
    expect(egress).toContain('"port":443');
  });
});

describe("Single Service Recovery and Application Rollback", () => {
  it("rolls a service back to a pinned image tag with the reason recorded, the others unchanged", async () => {
    const plan = await withWaqiti("staging", (w) => (w.recovery = { rollback: { "payment-service": { imageTag: "v3.2.0", reason: "5xx after v3.3.0-rc.1" } } }));
    const d = obj(find(plan, "Deployment", "payment-service"));
    expect(d.spec.template.spec.containers[0].image).toBe("registry.example.com/waqiti/payment-service:v3.2.0");
    expect(d.metadata.annotations["lazarus.io/rollback-reason"]).toBe("5xx after v3.3.0-rc.1");
    expect(d.metadata.annotations["lazarus.io/runbook-procedure"]).toBe("002 Rollback Procedures: Application Rollback");
    expect(obj(find(plan, "Deployment", "wallet-service")).spec.template.spec.containers[0].image).toBe("registry.example.com/waqiti/wallet-service:v3.3.0-rc.1");
  });

  it("restarts a service with the restartedAt annotation (kubectl rollout restart's), only the named one", async () => {
    const plan = await withWaqiti("staging", (w) => (w.recovery = { restart: { services: ["payment-service"], at: "2026-11-23T02:00:00Z" } }));
    expect(obj(find(plan, "Deployment", "payment-service")).spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]).toBe("2026-11-23T02:00:00Z");
    expect(obj(find(plan, "Deployment", "api-gateway")).spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]).toBeUndefined();
  });
});

describe("Configuration Recovery (recovery.configuration)", () => {
  it("applies the ConfigMap and Secrets again and restarts all four services (the seed lists three)", async () => {
    const plan = await withWaqiti("staging", (w) => (w.recovery = { configuration: { at: "2026-11-23T03:00:00Z" } }));
    expect(obj(find(plan, "ConfigMap", "waqiti-config")).metadata.annotations["lazarus.io/reapplied-at"]).toBe("2026-11-23T03:00:00Z");
    expect(obj(find(plan, "Secret", "waqiti-jwt-secrets")).metadata.annotations["lazarus.io/reapplied-at"]).toBe("2026-11-23T03:00:00Z");
    for (const s of ["api-gateway", "payment-service", "wallet-service", "ledger-service"]) {
      const d = find(plan, "Deployment", s);
      expect(obj(d).spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"], s).toBe("2026-11-23T03:00:00Z");
      expect(d.dependencies).toEqual(expect.arrayContaining([find(plan, "StatefulSet", "redis").urn]));
    }
  });
});

describe("Complete System Recovery (recovery.fullSystem)", () => {
  it("brings the system up in the seed's order, each stage waiting for the one before: namespace, policies, RBAC, secrets, config, data stores, restores, apps", async () => {
    await expect(withWaqiti("prod", (w) => (w.recovery = { fullSystem: { label: "dr1" } }))).rejects.toThrow(/recovery\.fullSystem\.confirm: is missing: .*"prod\/waqiti\/full-system-recovery"/);
    const plan = await withWaqiti("prod", (w) => (w.recovery = { fullSystem: { label: "dr1", confirm: "prod/waqiti/full-system-recovery" } }));
    const restore = find(plan, "Job", "restore-postgres-dr1");
    expect(obj(restore).spec.template.spec.containers[0].env).toContainEqual({ name: "PGHOST", value: "postgres" });
    expect(obj(find(plan, "StatefulSet", "redis")).spec.template.spec.initContainers[0].args).toContain("dr1");
    const chain: [string, string][] = [
      ["Namespace", "waqiti"],
      ["NetworkPolicy", "default-deny-all"],
      ["Role", "waqiti-operator"],
      ["Secret", "waqiti-database-secrets"],
      ["ConfigMap", "waqiti-config"],
      ["StatefulSet", "postgres"],
      ["Job", "restore-postgres-dr1"],
      ["Deployment", "api-gateway"],
    ];
    for (let i = 1; i < chain.length; i++) {
      const [kind, name] = chain[i];
      const [pk, pn] = chain[i - 1];
      expect(find(plan, kind, name).dependencies, `${kind} ${name} waits for ${pk} ${pn}`).toContain(find(plan, pk, pn).urn);
    }
    expect(WAQITI_STAGES).toEqual(["namespace", "policies", "rbac", "secrets", "config", "data", "restore", "cutover", "apps", "operations"]);
  });

  it("stands alone: with recovery.database or recovery.redis beside it the plan is refused", async () => {
    await expect(withWaqiti("staging", (w) => (w.recovery = { fullSystem: { label: "dr1" }, redis: { label: "r1" } }))).rejects.toThrow(/recovery\.fullSystem: restores PostgreSQL and Redis itself/);
  });
});

describe("maintenance and operations", () => {
  it("scales the four services to 0 around maintenance, confirmed on prod, and back to the seed's replicas when removed", async () => {
    await expect(withWaqiti("prod", (w) => (w.maintenance = { scaledDown: true, reason: "database recovery" }))).rejects.toThrow(/maintenance\.confirm: is missing: .*"prod\/waqiti\/scale-down"/);
    const plan = await withWaqiti("prod", (w) => (w.maintenance = { scaledDown: true, reason: "database recovery", confirm: "prod/waqiti/scale-down" }));
    for (const s of ["api-gateway", "payment-service", "wallet-service", "ledger-service"]) expect(obj(find(plan, "Deployment", s)).spec.replicas).toBe(0);
  });

  it("runs verify, backup-now and verify-backup as one-shot Jobs by id", async () => {
    const plan = await withWaqiti("staging", (w) => {
      w.operations = [
        { id: "2026-11-23-verify", action: "verify" },
        { id: "2026-11-23-backup", action: "backup-now" },
        { id: "2026-11-23-verify-backup", action: "verify-backup" },
      ];
    });
    const verify = find(plan, "Job", "verify-2026-11-23-verify");
    expect(verify.ignoreChanges).toEqual(["spec"]);
    const script = obj(verify).spec.template.spec.containers[0].command[2] as string;
    expect(script).toContain("kubectl exec -n waqiti deployment/api-gateway -- curl -fsS http://payment-service:8080/actuator/health");
    expect(script).toContain('kubectl exec postgres-0 -n waqiti -- psql -U postgres -d waqiti -c "SELECT COUNT(*) FROM wallets;"');
    expect(script).toContain("kubectl exec -n waqiti deployment/payment-service -- nc -z kafka 9092");
    expect(obj(verify).spec.template.spec.serviceAccountName).toBe("waqiti-verifier");
    const backup = obj(find(plan, "Job", "backup-now-2026-11-23-backup"));
    expect(backup.spec).toEqual(obj(find(plan, "CronJob", "waqiti-backup")).spec.jobTemplate.spec);
    const vb = obj(find(plan, "Job", "verify-backup-2026-11-23-verify-backup")).spec.template.spec;
    expect(vb.initContainers[0]).toMatchObject({ name: "scratch-postgres", restartPolicy: "Always" });
    expect(vb.containers[0].env).toContainEqual({ name: "PGHOST", value: "127.0.0.1" });
    expect(has(plan, "Job", "verify-2026-11-23-verify")).toBe(true);
  });
});

describe("the policy pack on the switches", () => {
  it("passes on prod with every switch confirmed", async () => {
    const patch = (c: Record<string, any>) => {
      c["lazarus:waqiti"].recovery = {
        database: { label: "r1", cutover: true, confirm: "prod/waqiti/database-cutover", deleteClaim: { name: "data-postgres-0", confirm: "prod/waqiti/delete-claim/data-postgres-0" } },
        rollback: { "payment-service": { imageTag: "v3.2.0", reason: "5xx" } },
      };
    };
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch });
    expect(checkPlan(plan, rawStack("prod", { patch })).filter((v) => v.urn.includes("waqiti"))).toEqual([]);
  });
});

describe("Secrets from Vault (vault:), the seed's Step 2 source", () => {
  it("reads the database password, JWT secret and payment keys with the seed's own commands at up, never logged, and no longer asks them of Pulumi config", async () => {
    const plan = await planFor("prod", { patch: (c) => (c["lazarus:waqiti"].vault = { refreshedAt: "2026-11-23T02:00:00Z" }) });
    const reads = plan.resources.filter((r) => r.type === "command:local:Command" && r.name.startsWith("waqiti-prod-vault-"));
    expect(reads.map((r) => r.inputs.create).sort()).toEqual([
      "vault kv get -field=jwt-secret secret/waqiti/auth",
      "vault kv get -field=paystack-api-key secret/waqiti/payment",
      "vault kv get -field=postgres-password secret/waqiti/database",
      "vault kv get -field=stripe-api-key secret/waqiti/payment",
    ]);
    for (const r of reads) expect(r.inputs).toMatchObject({ logging: "none", triggers: ["2026-11-23T02:00:00Z"] });
    const apiKeys = find(plan, "Secret", "waqiti-api-keys");
    expect(apiKeys.dependencies).toEqual(expect.arrayContaining(reads.filter((r) => /stripe|paystack/.test(String(r.inputs.create))).map((r) => r.urn)));
    // A preview cannot know what Vault will answer: the values are unknown until the up that reads them (then secrets).
    expect(apiKeys.inputs.stringData).toBe("[unknown until deploy]");
    const { waqiti } = await import("../../../stacks/waqiti");
    const cfg = { vault: {} } as Parameters<typeof waqiti.requiredSecrets>[0];
    expect(waqiti.requiredSecrets(cfg, {} as never)).not.toContain("waqitiStripeApiKey");
    expect(waqiti.requiredSecrets(cfg, {} as never)).toContain("waqitiBackupEncryptionKey");
  });
});
