// Waqiti's services and the ONE dependency graph: who talks to whom, on which port. The Deployments, Services and
// probes come from the inventory; the NetworkPolicies (./networkPolicies.ts) are derived from the graph, and a test
// evaluates them against it (each edge allowed, every other connection denied). Pure: no Pulumi.
//
// The seed names the four services, their replicas, their port (`http://payment-service:8080/actuator/health`) and a
// few edges (api-gateway calls the three others; api-gateway → Keycloak; payment-service → Stripe, Paystack and Kafka).
// The rest is this file's choice, explained in stacks/waqiti/README.md: every service reads `database.url` from the
// shared ConfigMap, but only payment, wallet and ledger keep data in PostgreSQL; api-gateway, payment and wallet use
// Redis (sessions, rate limits, idempotency keys); every service validates Keycloak tokens; the three back-end
// services publish to Kafka.

export const WAQITI_SERVICE_NAMES = ["api-gateway", "payment-service", "wallet-service", "ledger-service"] as const;
export type WaqitiServiceName = (typeof WAQITI_SERVICE_NAMES)[number];

/** The seed's service port, health endpoint and labels (`-l app=waqiti`, `-l component=<service>`). */
export const WAQITI_HTTP_PORT = 8080;
export const WAQITI_HEALTH_PATH = "/actuator/health";
export const WAQITI_APP_LABEL = "waqiti";
export const POSTGRES_PORT = 5432;
export const REDIS_PORT = 6379;
export const DNS_PORT = 53;

/** What a service needs, by node name of the graph. */
export const WAQITI_SERVICE_NEEDS: Record<WaqitiServiceName, readonly string[]> = {
  "api-gateway": ["payment-service", "wallet-service", "ledger-service", "redis", "keycloak"],
  "payment-service": ["postgres", "redis", "kafka", "keycloak", "payment-providers"],
  "wallet-service": ["postgres", "redis", "kafka", "keycloak"],
  "ledger-service": ["postgres", "kafka", "keycloak"],
};

/** A group of pods in the namespace, by the labels its NetworkPolicies select on. */
export interface PodGroup {
  kind: "pods";
  name: string;
  labels: Record<string, string>;
  /** Ports the group listens on (what its callers reach). */
  ports: number[];
}

/** Something outside the namespace: pods of another namespace, or networks outside the cluster. */
export interface ExternalNode {
  kind: "namespace" | "network";
  name: string;
  /** kind namespace: the namespace's name (matched by kubernetes.io/metadata.name). */
  namespace?: string;
  /** kind namespace: the pods' labels in it (all pods when absent). */
  podLabels?: Record<string, string>;
  /** kind network: CIDRs and the exceptions inside them. */
  cidrs?: { cidr: string; except: string[] }[];
  ports: { port: number; protocol: "TCP" | "UDP" }[];
}

export type GraphNode = PodGroup | ExternalNode;

/** A connection the platform needs: from a pod group to a node, on a port. */
export interface Edge {
  from: string;
  to: string;
  port: number;
  protocol: "TCP" | "UDP";
}

export interface WaqitiGraph {
  nodes: GraphNode[];
  edges: Edge[];
}

/** Pod labels of each group: the services by the seed's labels; jobs under their own `app`, so `-l app=waqiti` waits only for what serves. */
export const POD_LABELS = {
  service: (name: WaqitiServiceName) => ({ app: WAQITI_APP_LABEL, component: name }),
  postgres: { app: WAQITI_APP_LABEL, component: "postgres" },
  redis: { app: WAQITI_APP_LABEL, component: "redis" },
  backup: { app: "waqiti-backup", component: "backup" },
  restore: { app: "waqiti-recovery", component: "restore" },
  operator: { app: "waqiti-operations", component: "operator" },
  /** backups.pitr: the full/differential backup jobs (kubectl exec into the database pod). */
  pitrBackup: { app: "waqiti-pitr", component: "pitr-backup" },
} as const;

export interface GraphInput {
  ingressControllerNamespace: string;
  keycloak: { cidrs: string[]; except: string[]; port: number };
  kafka: { cidrs: string[]; except: string[]; port: number };
  paymentProviders: Record<string, { cidrs: string[]; except: string[]; port: number }>;
  storage: { cidrs: string[]; except: string[]; port: number };
  apiServer: { cidrs: string[]; except: string[]; port: number };
  /** Redis's restore init container downloads the backup: Redis reaches the bucket only while a restore is declared. */
  redisRestores: boolean;
  /** backups.pitr: PostgreSQL pushes WAL and backups to the bucket; the backup jobs exec into it through the API server. */
  postgresArchives?: boolean;
}

const network = (name: string, e: { cidrs: string[]; except: string[]; port: number }): ExternalNode => ({
  kind: "network",
  name,
  // An exception must lie inside its CIDR (the API server refuses it otherwise): give each CIDR the exceptions it holds.
  cidrs: e.cidrs.map((c) => ({ cidr: c, except: e.except.filter((x) => cidrContains(c, x)) })),
  ports: [{ port: e.port, protocol: "TCP" }],
});

/** The graph for a stack's config. */
export function waqitiGraph(input: GraphInput): WaqitiGraph {
  const nodes: GraphNode[] = [
    ...WAQITI_SERVICE_NAMES.map((n): PodGroup => ({ kind: "pods", name: n, labels: POD_LABELS.service(n), ports: [WAQITI_HTTP_PORT] })),
    { kind: "pods", name: "postgres", labels: POD_LABELS.postgres, ports: [POSTGRES_PORT] },
    { kind: "pods", name: "redis", labels: POD_LABELS.redis, ports: [REDIS_PORT] },
    { kind: "pods", name: "backup", labels: POD_LABELS.backup, ports: [] },
    { kind: "pods", name: "restore", labels: POD_LABELS.restore, ports: [] },
    { kind: "pods", name: "operator", labels: POD_LABELS.operator, ports: [] },
    ...(input.postgresArchives ? [{ kind: "pods", name: "pitr-backup", labels: POD_LABELS.pitrBackup, ports: [] } satisfies PodGroup] : []),
    { kind: "namespace", name: "ingress-controller", namespace: input.ingressControllerNamespace, ports: [] },
    {
      kind: "namespace",
      name: "dns",
      namespace: "kube-system",
      podLabels: { "k8s-app": "kube-dns" },
      ports: [
        { port: DNS_PORT, protocol: "UDP" },
        { port: DNS_PORT, protocol: "TCP" },
      ],
    },
    network("keycloak", input.keycloak),
    network("kafka", input.kafka),
    ...Object.entries(input.paymentProviders).map(([n, e]) => network(`payment-provider-${n}`, e)),
    network("storage", input.storage),
    network("api-server", input.apiServer),
  ];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const edges: Edge[] = [];
  const to = (from: string, target: string) => {
    const node = byName.get(target);
    if (!node) throw new Error(`graph: ${from} needs unknown node ${target}`);
    if (node.kind === "pods") for (const port of node.ports) edges.push({ from, to: target, port, protocol: "TCP" });
    else for (const p of node.ports) edges.push({ from, to: target, ...p });
  };
  const providers = Object.keys(input.paymentProviders).map((n) => `payment-provider-${n}`);
  for (const s of WAQITI_SERVICE_NAMES) {
    for (const need of WAQITI_SERVICE_NEEDS[s]) (need === "payment-providers" ? providers : [need]).forEach((n) => to(s, n));
  }
  edges.push({ from: "ingress-controller", to: "api-gateway", port: WAQITI_HTTP_PORT, protocol: "TCP" });
  ["postgres", "redis", "storage"].forEach((n) => to("backup", n));
  ["postgres", "storage"].forEach((n) => to("restore", n));
  to("operator", "api-server");
  if (input.redisRestores) to("redis", "storage");
  if (input.postgresArchives) {
    to("postgres", "storage");
    to("pitr-backup", "api-server");
  }
  // Every pod group that calls anything resolves names through the cluster DNS.
  const callers = new Set(edges.map((e) => e.from).filter((f) => byName.get(f)?.kind === "pods"));
  for (const c of callers) to(c, "dns");
  return { nodes, edges };
}

/** Whether IPv4 CIDR `outer` contains `inner`. */
export function cidrContains(outer: string, inner: string): boolean {
  const [oa, ob] = outer.split("/");
  const [ia, ib] = inner.split("/");
  const bits = Number(ob);
  if (Number(ib) < bits) return false;
  const num = (a: string) => a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((num(oa) & mask) >>> 0) === ((num(ia) & mask) >>> 0);
}
