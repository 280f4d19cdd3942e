// Which input changes make the engine REPLACE a resource rather than update it, known offline.
//
// The offline plan has no provider to ask (a real `pulumi preview` calls each provider's Diff), so the rule is kept here,
// per resource type, from the providers' own sources at the versions this project pins:
// - DigitalOcean (@pulumi/digitalocean 4.80.1 bridges terraform-provider-digitalocean): the attributes marked
//   `ForceNew: true` in the Terraform provider's schema (digitalocean/<area>/resource_<name>.go), in Pulumi's camelCase.
//   Read from the upstream repository at v2.99.x (the npm package ships no schema and the Go module is not served here).
// - Command (@pulumi/command 1.2.1, provider/pkg/provider/{common/inputs.go,remote/copy.go}): only `triggers` is
//   `provider:"replaceOnChanges"`; any other change is an update (which runs `update`, or `create` again without one).
// - Kubernetes (@pulumi/kubernetes 4.x, pulumi-kubernetes provider/pkg/provider/diff.go forceNewProperties): per kind,
//   dotted paths (metadata.name and metadata.namespace for every kind; a ConfigMap's and a Secret's data, since the
//   provider's enableConfigMapMutable / enableSecretMutable are off by default); the provider resource itself is replaced
//   when it points at another cluster (provider.go DiffConfig).
// - The resource's own `replaceOnChanges` option (in the plan JSON) adds paths; `ignoreChanges` removes them.
// - Component resources (custom: false) are never replaced themselves.
// Limits: nested ForceNew attributes are matched by their top-level input; provider-computed replacements
// (CustomizeDiff, e.g. a droplet's ipv6 turned off) are listed as such but cannot always be decided; a type missing
// here is reported as "replacement unknown offline"; inputs that depend on a replaced resource are unknown until
// deploy, so what they do is `pulumi preview`'s to say (the diff lists them as dependents).

export interface ReplaceRule {
  /** Inputs whose change replaces the resource: top-level names, or dotted paths (`spec.selector`) covering what is below. */
  inputs: readonly string[];
  /** Inputs whose change replaces only in some directions (the provider decides); reported as "may replace". */
  sometimes?: readonly string[];
  /** Where the rule comes from. */
  source: string;
}

const TF = "terraform-provider-digitalocean digitalocean/";

const K8S = "pulumi-kubernetes v4 provider/pkg/provider/diff.go";
const K8S_META = ["metadata.name", "metadata.namespace"];
const k8s = (kind: string, more: string[] = []): ReplaceRule => ({ inputs: [...K8S_META, ...more], source: `${K8S} (${kind}${more.length ? "" : ": metadata only"})` });

export const REPLACE_RULES: Readonly<Record<string, ReplaceRule>> = {
  "digitalocean:index/droplet:Droplet": {
    inputs: ["image", "region", "sshKeys", "userData", "vpcUuid", "monitoring", "dropletAgent", "gpuPartitionMode", "publicNetworking"],
    sometimes: ["ipv6"],
    source: `${TF}droplet/resource_droplet.go (ForceNew; ipv6 by CustomizeDiff ForceNewIfChange, when it is turned off)`,
  },
  "digitalocean:index/reservedIp:ReservedIp": { inputs: ["region"], source: `${TF}reservedip/resource_reserved_ip.go` },
  "digitalocean:index/reservedIpAssignment:ReservedIpAssignment": { inputs: ["dropletId", "ipAddress"], source: `${TF}reservedip/resource_reserved_ip_assignment.go` },
  "digitalocean:index/loadBalancer:LoadBalancer": {
    inputs: ["region", "vpcUuid", "type", "network", "networkStack"],
    source: `${TF}loadbalancer/resource_loadbalancer.go (ForceNew; dropletIds is an update in place, the LB's Update call)`,
  },
  "digitalocean:index/firewall:Firewall": { inputs: [], source: `${TF}firewall/resource_firewall.go (no ForceNew attribute)` },
  "digitalocean:index/uptimeCheck:UptimeCheck": { inputs: [], source: `${TF}uptime/resource_uptime_check.go (only the computed id)` },
  "digitalocean:index/uptimeAlert:UptimeAlert": { inputs: [], source: `${TF}uptime/resource_uptime_alert.go` },
  "digitalocean:index/monitorAlert:MonitorAlert": { inputs: [], source: `${TF}monitoring/resource_monitor_alert.go` },
  "digitalocean:index/project:Project": { inputs: [], source: `${TF}project/resource_project.go` },
  "digitalocean:index/projectResources:ProjectResources": { inputs: ["project"], source: `${TF}project/resource_project_resources.go` },
  "digitalocean:index/app:App": { inputs: ["projectId"], source: `${TF}app/resource_app.go (the spec is updated in place: a new deployment)` },
  "digitalocean:index/vpc:Vpc": { inputs: ["region", "ipRange"], source: `${TF}vpc/resource_vpc.go` },
  "digitalocean:index/databaseCluster:DatabaseCluster": {
    inputs: ["name", "engine", "privateNetworkUuid", "projectId"],
    source: `${TF}database/resource_database_cluster.go`,
  },
  "digitalocean:index/databaseDb:DatabaseDb": { inputs: ["clusterId", "name"], source: `${TF}database/resource_database_db.go` },
  "digitalocean:index/databaseFirewall:DatabaseFirewall": { inputs: ["clusterId"], source: `${TF}database/resource_database_firewall.go` },
  "digitalocean:index/databaseUser:DatabaseUser": { inputs: ["clusterId", "name"], source: `${TF}database/resource_database_user.go` },
  "digitalocean:index/databaseReplica:DatabaseReplica": {
    inputs: ["clusterId", "name", "region", "privateNetworkUuid", "tags"],
    source: `${TF}database/resource_database_replica.go`,
  },
  "digitalocean:index/spacesBucket:SpacesBucket": { inputs: ["region"], source: `${TF}spaces/resource_spaces_bucket.go` },
  "kubernetes:apps/v1:Deployment": k8s("Deployment", ["spec.selector"]),
  "kubernetes:apps/v1:StatefulSet": k8s("StatefulSet", ["spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"]),
  "kubernetes:batch/v1:CronJob": k8s("CronJob"),
  "kubernetes:batch/v1:Job": k8s("Job", ["spec.completions", "spec.parallelism", "spec.selector", "spec.template"]),
  "kubernetes:core/v1:ConfigMap": k8s("ConfigMap", ["binaryData", "data"]),
  "kubernetes:core/v1:Namespace": k8s("Namespace"),
  "kubernetes:core/v1:PersistentVolumeClaim": k8s("PersistentVolumeClaim", ["spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"]),
  "kubernetes:core/v1:Secret": k8s("Secret", ["type", "stringData", "data"]),
  "kubernetes:core/v1:Service": k8s("Service", ["spec.clusterIP"]),
  "kubernetes:core/v1:ServiceAccount": k8s("ServiceAccount"),
  "kubernetes:networking.k8s.io/v1:Ingress": k8s("Ingress"),
  "kubernetes:networking.k8s.io/v1:NetworkPolicy": k8s("NetworkPolicy"),
  "kubernetes:policy/v1:PodDisruptionBudget": k8s("PodDisruptionBudget (only policy/v1beta1's spec replaces)"),
  "kubernetes:rbac.authorization.k8s.io/v1:Role": k8s("Role"),
  "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": k8s("RoleBinding", ["roleRef"]),
  "pulumi:providers:kubernetes": {
    inputs: ["context", "cluster", "clusterIdentifier", "renderYamlToDirectory"],
    sometimes: ["kubeconfig"],
    source: "pulumi-kubernetes v4 provider/pkg/provider/provider.go DiffConfig (a kubeconfig replaces only when it names another cluster)",
  },
  "command:remote:Command": { inputs: ["triggers"], source: "pulumi-command v1.2.1 provider/pkg/provider/common/inputs.go (triggers: replaceOnChanges)" },
  "command:remote:CopyToRemote": { inputs: ["triggers"], source: "pulumi-command v1.2.1 provider/pkg/provider/remote/copy.go (triggers: replaceOnChanges)" },
};

export type ReplaceVerdict =
  | { kind: "update" }
  | { kind: "replace"; because: string[] }
  | { kind: "maybe-replace"; because: string[]; why: string };

/** Top-level input of a changed path such as `inboundRules[1].sourceAddresses` or `triggers[0]`. */
export function topLevelInput(path: string): string {
  return /^[^.[]+/.exec(path)?.[0] ?? path;
}

/** Whether an option path (replaceOnChanges / ignoreChanges: `triggers`, `spec.image`, `*`) covers a changed path. */
function covers(optionPath: string, changed: string): boolean {
  if (optionPath === "*") return true;
  return changed === optionPath || changed.startsWith(optionPath + ".") || changed.startsWith(optionPath + "[");
}

/** Changed paths that the resource's ignoreChanges option hides from the engine's diff. */
export function ignoredPaths(changed: readonly string[], ignoreChanges: readonly string[]): string[] {
  return changed.filter((c) => ignoreChanges.some((i) => covers(i, c)));
}

/**
 * What the engine would do with a custom resource whose inputs changed at `changed` paths (ignored ones removed):
 * update in place, replace (and why), or possibly replace when the rule cannot decide offline.
 */
export function replaceVerdict(type: string, changed: readonly string[], replaceOnChanges: readonly string[]): ReplaceVerdict {
  const byOption = changed.filter((c) => replaceOnChanges.some((o) => covers(o, c)));
  const rule = REPLACE_RULES[type];
  if (!rule) {
    if (byOption.length) return { kind: "replace", because: byOption.map((c) => `${c} (replaceOnChanges option)`) };
    return { kind: "maybe-replace", because: [...changed], why: `no replace rule for ${type} in cli/replaceRules.ts: \`pulumi preview\` decides` };
  }
  const byProvider = changed.filter((c) => rule.inputs.some((i) => covers(i, c)));
  const because = [...byProvider.map((c) => `${c} (provider rule)`), ...byOption.filter((c) => !byProvider.includes(c)).map((c) => `${c} (replaceOnChanges option)`)];
  if (because.length) return { kind: "replace", because };
  const sometimes = changed.filter((c) => rule.sometimes?.includes(topLevelInput(c)));
  if (sometimes.length) return { kind: "maybe-replace", because: sometimes, why: rule.source };
  return { kind: "update" };
}
