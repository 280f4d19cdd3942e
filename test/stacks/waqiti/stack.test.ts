// Waqiti declared from the real Pulumi.prod.yaml / Pulumi.staging.yaml under mocks: every Kubernetes object validated
// against the Kubernetes OpenAPI schemas (kubernetes-models 5.1.0, offline), and the seed's facts (namespace and label,
// secret and key names, ConfigMap keys, replicas, ports, health paths, claim names, wait timeouts, bucket, key path) held
// to what is declared. Provider outputs are the mock's inventions and are never asserted.
import { beforeAll, describe, expect, it } from "vitest";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { Plan } from "../../../cli/planner";
import { ConfigError } from "../../../config/errors";
import type { DeclaredResource } from "../../../lib/runtime/capture";
import { checkPlan } from "../../../policy/rules";
import { longestCronGapMinutes } from "../../../stacks/waqiti/plan";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, keepOnlyPlatforms, planFor, rawStack } from "../../support/stacks";

type Model = new (data: never) => { validate(): void };
const MODELS: Record<string, Model> = {
  Namespace: Namespace as unknown as Model,
  NetworkPolicy: NetworkPolicy as unknown as Model,
  ServiceAccount: ServiceAccount as unknown as Model,
  Role: Role as unknown as Model,
  RoleBinding: RoleBinding as unknown as Model,
  Secret: Secret as unknown as Model,
  ConfigMap: ConfigMap as unknown as Model,
  Service: Service as unknown as Model,
  StatefulSet: StatefulSet as unknown as Model,
  Deployment: Deployment as unknown as Model,
  PodDisruptionBudget: PodDisruptionBudget as unknown as Model,
  Ingress: Ingress as unknown as Model,
  CronJob: CronJob as unknown as Model,
  Job: Job as unknown as Model,
};

const k8sObjects = (plan: Plan, stack: string) => plan.resources.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith(`waqiti-${stack}-`));
const obj = (r: DeclaredResource) => r.rawInputs as Record<string, any>;
const find = (plan: Plan, stack: string, kind: string, name: string) => {
  const found = k8sObjects(plan, stack).filter((r) => obj(r).kind === kind && obj(r).metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0];
};

/** Every object against its OpenAPI schema; the messages of those that fail. */
function schemaProblems(plan: Plan, stack: string): string[] {
  const problems: string[] = [];
  for (const r of k8sObjects(plan, stack)) {
    const o = obj(r);
    const model = MODELS[o.kind];
    if (!model) {
      problems.push(`${r.name}: no schema model for kind ${o.kind}`);
      continue;
    }
    try {
      new model(o as never).validate();
    } catch (e) {
      problems.push(`${r.name}: ${(e as Error).message}`);
    }
  }
  return problems;
}

let prod: Plan;
let staging: Plan;
beforeAll(async () => {
  prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
  staging = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
});

describe("every Waqiti manifest", () => {
  it.each(["prod", "staging"])("is valid against the Kubernetes OpenAPI schemas on %s", (stack) => {
    const plan = stack === "prod" ? prod : staging;
    expect(k8sObjects(plan, stack).length).toBeGreaterThan(30);
    expect(schemaProblems(plan, stack)).toEqual([]);
  });

  it("the schema check has teeth: a port given as text or an unknown policy type is refused", () => {
    const d = structuredClone(obj(find(prod, "prod", "Deployment", "payment-service")));
    d.spec.template.spec.containers[0].ports[0].containerPort = "8080";
    expect(() => new MODELS.Deployment(d as never).validate()).toThrow(/containerPort must be integer/);
    const n = structuredClone(obj(find(prod, "prod", "NetworkPolicy", "default-deny-all")));
    n.spec.policyTypes = ["Ingress", "Outbound"];
    expect(() => new MODELS.NetworkPolicy(n as never).validate()).toThrow(/allowed values/);
  });

  it.each(["prod", "staging"])("pins every container image to a version on %s", (stack) => {
    const plan = stack === "prod" ? prod : staging;
    const images = JSON.stringify(k8sObjects(plan, stack).map(obj)).match(/"image":"[^"]+"/g) ?? [];
    expect(images.length).toBeGreaterThan(5);
    for (const i of images) expect(i).toMatch(/"image":"[^"]+:(?!latest")[A-Za-z0-9_.-]+"/);
  });

  it("is declared with the stack's Kubernetes provider and no DigitalOcean resource of Waqiti's", () => {
    const provider = prod.resources.find((r) => r.type === "pulumi:providers:kubernetes");
    expect(provider?.inputs.context).toBe("waqiti-prod");
    expect(prod.resources.filter((r) => r.type.startsWith("digitalocean:") && r.name.startsWith("waqiti-"))).toEqual([]);
  });
});

describe("the seed's facts", () => {
  it("namespace waqiti labelled environment=production (staging: environment=staging), protected on prod only", () => {
    const ns = find(prod, "prod", "Namespace", "waqiti");
    expect(obj(ns).metadata.labels.environment).toBe("production");
    expect(ns.protect).toBe(true);
    const stagingNs = find(staging, "staging", "Namespace", "waqiti");
    expect(obj(stagingNs).metadata.labels.environment).toBe("staging");
    expect(stagingNs.protect).toBe(false);
  });

  it("the four Deployments with the seed's replicas (3, 5, 4, 3), port 8080, probes on /actuator/health, requests and limits, a PDB each; staging one each", () => {
    const replicas = { "api-gateway": 3, "payment-service": 5, "wallet-service": 4, "ledger-service": 3 };
    for (const [s, n] of Object.entries(replicas)) {
      const d = obj(find(prod, "prod", "Deployment", s));
      expect(d.spec.replicas, s).toBe(n);
      expect(d.spec.selector.matchLabels).toEqual({ app: "waqiti", component: s });
      const c = d.spec.template.spec.containers[0];
      expect(c.ports).toEqual([{ name: "http", containerPort: 8080 }]);
      expect(c.readinessProbe.httpGet.path).toBe("/actuator/health");
      expect(c.livenessProbe.httpGet.path).toMatch(/^\/actuator\/health/);
      expect(Object.keys(c.resources.requests)).toEqual(["cpu", "memory"]);
      expect(Object.keys(c.resources.limits)).toEqual(["cpu", "memory"]);
      expect(d.metadata.annotations["pulumi.com/timeoutSeconds"]).toBe("600");
      expect(obj(find(prod, "prod", "PodDisruptionBudget", s)).spec.selector.matchLabels).toEqual({ app: "waqiti", component: s });
      expect(obj(find(prod, "prod", "Service", s)).spec.ports[0].port).toBe(8080);
      expect(obj(find(staging, "staging", "Deployment", s)).spec.replicas).toBe(1);
    }
  });

  it("PostgreSQL as StatefulSet postgres (pod postgres-0, claim data-postgres-0) behind Service postgres:5432, waited for 600 s; Redis as redis, 300 s", () => {
    const pg = obj(find(prod, "prod", "StatefulSet", "postgres"));
    expect(pg.spec.volumeClaimTemplates[0].metadata.name).toBe("data");
    expect(pg.metadata.annotations["pulumi.com/timeoutSeconds"]).toBe("600");
    expect(pg.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    expect(obj(find(prod, "prod", "Service", "postgres")).spec.ports[0].port).toBe(5432);
    const redis = obj(find(prod, "prod", "StatefulSet", "redis"));
    expect(redis.metadata.annotations["pulumi.com/timeoutSeconds"]).toBe("300");
    expect(redis.spec.template.spec.initContainers).toBeUndefined();
    expect(find(prod, "prod", "StatefulSet", "postgres").protect).toBe(true);
  });

  it("the seed's Secrets and keys, filled from Pulumi secrets and shown as [secret]", () => {
    const keys = (name: string) => Object.keys(obj(find(prod, "prod", "Secret", name)).stringData).sort();
    expect(keys("waqiti-database-secrets")).toEqual(["postgres-password", "postgres-username"]);
    expect(keys("waqiti-jwt-secrets")).toEqual(["jwt-secret"]);
    expect(keys("waqiti-api-keys")).toEqual(["paystack-api-key", "stripe-api-key"]);
    const db = find(prod, "prod", "Secret", "waqiti-database-secrets");
    expect(obj(db).stringData["postgres-username"]).toBe("waqiti_user");
    expect(obj(db).stringData["postgres-password"]).toBe(ALL_SENTINEL_SECRETS["lazarus:waqitiPostgresPassword"]);
    expect(db.inputs.stringData).toBe("[secret]");
  });

  it("the ConfigMap waqiti-config with the seed's three keys", () => {
    expect(obj(find(prod, "prod", "ConfigMap", "waqiti-config")).data).toMatchObject({
      "database.url": "jdbc:postgresql://postgres:5432/waqiti",
      "keycloak.auth-server-url": "https://auth.example.com",
      "kafka.bootstrap-servers": "kafka:9092",
    });
    // The seed's short name resolves through an ExternalName Service to the external Kafka.
    expect(obj(find(prod, "prod", "Service", "kafka")).spec).toEqual({ type: "ExternalName", externalName: "kafka.prod.example.com" });
  });

  it("no secret value outside the Secrets' stringData, and the payment keys mounted into payment-service alone", () => {
    const leaks = k8sObjects(prod, "prod").filter((r) => obj(r).kind !== "Secret").flatMap((r) => ALL_SENTINEL_MARKERS.filter((m) => JSON.stringify(r.rawInputs).includes(m)).map((m) => `${r.name}: ${m}`));
    expect(leaks).toEqual([]);
    expect(JSON.stringify(prod.resources.map((r) => r.inputs))).not.toMatch(/SENTINEL-waqiti/);
    for (const s of ["api-gateway", "payment-service", "wallet-service", "ledger-service"]) {
      const vols = JSON.stringify(obj(find(prod, "prod", "Deployment", s)).spec.template.spec.volumes);
      expect(vols.includes("waqiti-api-keys"), s).toBe(s === "payment-service");
      expect(JSON.stringify(obj(find(prod, "prod", "Deployment", s)).spec.template.spec.containers[0].env)).not.toMatch(/secretKeyRef/);
    }
  });

  it("the backup CronJob: every 30 minutes, 25 minutes at most, to s3://waqiti-backups-prod/ with the seed's key path, no service-account token", () => {
    const cj = obj(find(prod, "prod", "CronJob", "waqiti-backup"));
    expect(cj.spec.schedule).toBe("*/30 * * * *");
    expect(cj.spec.concurrencyPolicy).toBe("Forbid");
    const job = cj.spec.jobTemplate.spec;
    expect(job.activeDeadlineSeconds).toBe(25 * 60);
    expect(job.template.spec.automountServiceAccountToken).toBe(false);
    const c = job.template.spec.containers[0];
    expect(c.env).toContainEqual({ name: "S3_URL", value: "s3://waqiti-backups-prod/" });
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ mountPath: "/etc/waqiti/backup-encryption.key" }));
    expect(obj(find(prod, "prod", "ConfigMap", "waqiti-backup-scripts")).data["waqiti-backup.sh"]).toContain("openssl enc -aes-256-cbc -salt -md sha256");
  });

  it("RBAC: the backup and app accounts have no role; operators read everything but Secrets and delete nothing", () => {
    const bindings = k8sObjects(prod, "prod").filter((r) => obj(r).kind === "RoleBinding").map(obj);
    const subjects = bindings.flatMap((b) => b.subjects.map((s: { name: string }) => s.name));
    expect(subjects).not.toContain("waqiti-backup");
    expect(subjects).not.toContain("waqiti-app");
    const operator = obj(find(prod, "prod", "Role", "waqiti-operator"));
    const rules = operator.rules as { resources: string[]; verbs: string[] }[];
    expect(rules.some((r) => r.resources.includes("secrets"))).toBe(false);
    expect(rules.some((r) => r.verbs.includes("delete") || r.verbs.includes("*"))).toBe(false);
  });
});

describe("the backup schedule against the RPO", () => {
  it("measures the longest gap between runs of a cron schedule", () => {
    expect(longestCronGapMinutes("*/30 * * * *")).toBe(30);
    expect(longestCronGapMinutes("0 * * * *")).toBe(60);
    expect(longestCronGapMinutes("0 2 * * *")).toBe(1440);
    expect(longestCronGapMinutes("5,50 * * * *")).toBe(45);
    expect(longestCronGapMinutes("not a schedule")).toBeUndefined();
  });

  it("refuses an hourly schedule: 60 minutes apart plus a 25-minute run is more than the 1 h RPO, naming the key", async () => {
    await expect(planFor("prod", { patch: (c) => (c["lazarus:waqiti"].backups.schedule = "0 * * * *") })).rejects.toThrow(
      /Pulumi\.prod\.yaml: lazarus:waqiti\.backups\.schedule: .*up to 85 minutes of data at risk, more than the RPO of 60/,
    );
  });
});

describe("the Kubernetes setting", () => {
  it("is required only when a platform needs Kubernetes, with the key and an example", async () => {
    const noCluster = (c: Record<string, any>) => delete c["lazarus:environment"].kubernetes;
    await expect(planFor("prod", { patch: noCluster })).rejects.toThrow(/lazarus:environment\.kubernetes: is missing: waqiti declares Kubernetes resources .*example: kubernetes: \{context: waqiti-prod/);
    const withoutWaqiti = await planFor("staging", { patch: (c) => (noCluster(c), keepOnlyPlatforms(c, ["kro"])) });
    expect(withoutWaqiti.resources.some((r) => r.type === "pulumi:providers:kubernetes")).toBe(false);
    expect(() => rawStack("prod", { patch: noCluster })).not.toThrow(ConfigError);
  });
});

describe("the policy pack", () => {
  it("passes on Waqiti's prod and staging plans", () => {
    for (const [stack, plan] of [["prod", prod], ["staging", staging]] as const) {
      expect(checkPlan(plan, rawStack(stack)).filter((v) => v.urn.includes("waqiti"))).toEqual([]);
    }
  });
});
