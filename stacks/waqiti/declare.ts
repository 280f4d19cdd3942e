// Declares Waqiti's plan in the stack's Kubernetes cluster: each manifest as its typed resource, stage after stage
// (namespace → policies → RBAC → secrets → config → data stores → restores → apps → operations), each stage waiting for
// the previous one, and the provider waiting for each object to be ready (`pulumi.com/timeoutSeconds`). No decisions
// here: every object comes from the plan (manifests.ts).
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../config/errors";
import { recordRenderedFile } from "../../lib/renderedFiles";
import { renderPgBackRestSecretsConf } from "../../renderers/pgbackrest";
import type { DeclareContext } from "../platform";
import { WAQITI_STAGES, type ManifestKind, type PlannedManifest, type SecretValue } from "./manifests";
import type { WaqitiPlan } from "./plan";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ctor = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;
const CONSTRUCTORS: Record<ManifestKind, Ctor> = {
  Namespace: k8s.core.v1.Namespace,
  NetworkPolicy: k8s.networking.v1.NetworkPolicy,
  ServiceAccount: k8s.core.v1.ServiceAccount,
  Role: k8s.rbac.v1.Role,
  RoleBinding: k8s.rbac.v1.RoleBinding,
  Secret: k8s.core.v1.Secret,
  ConfigMap: k8s.core.v1.ConfigMap,
  Service: k8s.core.v1.Service,
  StatefulSet: k8s.apps.v1.StatefulSet,
  Deployment: k8s.apps.v1.Deployment,
  PodDisruptionBudget: k8s.policy.v1.PodDisruptionBudget,
  Ingress: k8s.networking.v1.Ingress,
  CronJob: k8s.batch.v1.CronJob,
  Job: k8s.batch.v1.Job,
};

/** s3cmd's config file: the bucket's credentials, never in a command line or an environment. */
export function s3cmdConfig(accessKey: string, secretKey: string, endpoint: string, region: string): string {
  return ["[default]", `access_key = ${accessKey.trim()}`, `secret_key = ${secretKey.trim()}`, `host_base = ${endpoint}`, `host_bucket = ${endpoint}`, `bucket_location = ${region}`, "use_https = True", ""].join("\n");
}

type SecretSource = (name: string) => pulumi.Output<string>;

/**
 * Secrets from Vault: the seed's `vault kv get -field=...`, run where pulumi runs (VAULT_ADDR, VAULT_TOKEN from its
 * environment), its output a secret and never logged; read again only when `vault.refreshedAt` changes.
 */
function vaultSource(plan: WaqitiPlan, ctx: DeclareContext, parent: pulumi.Resource): SecretSource {
  const reads = new Map<string, pulumi.Output<string>>();
  return (name) => {
    const read = plan.vault?.reads[name];
    if (!read) return ctx.secrets(name);
    if (!reads.has(name)) {
      const cmd = new command.local.Command(
        `waqiti-${plan.stack}-vault-${name}`,
        { create: read.command, logging: "none", triggers: [plan.vault!.refreshedAt ?? "first read"] },
        { parent, additionalSecretOutputs: ["stdout"] },
      );
      reads.set(name, pulumi.secret(cmd.stdout.apply((s) => (s ?? "").replace(/\n$/, ""))));
    }
    return reads.get(name)!;
  };
}

function secretValue(v: SecretValue, secrets: SecretSource): pulumi.Input<string> {
  if ("plain" in v) return v.plain;
  if ("secret" in v) return secrets(v.secret);
  if ("pgbackrestSecrets" in v) {
    const p = v.pgbackrestSecrets;
    return pulumi.all([secrets(p.cipherPass), secrets(p.s3Key), secrets(p.s3KeySecret)]).apply(([cipherPass, s3Key, s3KeySecret]) => renderPgBackRestSecretsConf({ cipherPass: cipherPass.trim(), s3Key: s3Key.trim(), s3KeySecret: s3KeySecret.trim() }));
  }
  const c = v.s3cmdConfig;
  return pulumi.all([secrets(c.accessKey), secrets(c.secretKey)]).apply(([a, s]) => s3cmdConfig(a, s, c.endpoint, c.region));
}

/** The Pulumi name of an object: `waqiti-<stack>-<kind>-<name>`, unique in the stack and naming the platform (policy rules read it). */
export function resourceName(plan: Pick<WaqitiPlan, "stack">, m: PlannedManifest): string {
  return `waqiti-${plan.stack}-${m.kind.toLowerCase()}-${m.manifest.metadata.name}`;
}

export function declareWaqiti(plan: WaqitiPlan, ctx: DeclareContext) {
  if (!ctx.kubernetes) {
    throw new ConfigError(ctx.stackFile, [`${ctx.stackFile}: lazarus:environment.kubernetes: is missing: waqiti declares Kubernetes resources (example: kubernetes: {context: waqiti-prod})`]);
  }
  const platform = new pulumi.ComponentResource("lazarus:platform:Waqiti", `waqiti-${plan.stack}`, {});
  // `npm run plan -- --out DIR` writes it as DIR/waqiti/kubernetes/<namespace>/RUNBOOK.md.
  recordRenderedFile({ platform: "waqiti", host: "kubernetes", path: `/${plan.namespace}/RUNBOOK.md`, mode: "0644", secret: false, content: plan.runbook });
  if (plan.pitr) {
    // The PostgreSQL image with pgBackRest: built from this file and pushed as plan.pitr.image before the first up.
    recordRenderedFile({ platform: "waqiti", host: "kubernetes", path: `/${plan.namespace}/images/postgres-pgbackrest/Dockerfile`, mode: "0644", secret: false, content: plan.pitr.dockerfile });
  }
  const secrets = vaultSource(plan, ctx, platform);
  let previous: pulumi.Resource[] = [];
  for (const stage of WAQITI_STAGES) {
    const declared: pulumi.Resource[] = [];
    for (const m of plan.manifests.filter((x) => x.stage === stage)) {
      const args =
        m.kind === "Secret"
          ? { ...m.manifest, stringData: pulumi.secret(pulumi.all(Object.fromEntries(Object.entries(m.secretValues ?? {}).map(([k, v]) => [k, secretValue(v, secrets)])))) }
          : m.manifest;
      declared.push(
        new CONSTRUCTORS[m.kind](resourceName(plan, m), args, {
          parent: platform,
          provider: ctx.kubernetes,
          dependsOn: previous,
          protect: m.stateful === true && plan.protect,
          // A one-shot Job runs when first declared; a later change of its text (a new script, a new image) while its
          // switch stays in the stack file must not replace it, which would run it again.
          ...(m.once ? { ignoreChanges: ["spec"] } : {}),
        }),
      );
    }
    if (declared.length) previous = declared;
  }
  return plan.outputs;
}
