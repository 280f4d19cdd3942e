// A stand-in for a CNI's NetworkPolicy enforcement (networking.k8s.io/v1 semantics, as the Kubernetes docs define
// them), to evaluate a namespace's policies against a dependency graph without a cluster:
//   - a pod selected by no policy of a type (Ingress / Egress) is open in that direction; once selected by any, only
//     what some rule of some selecting policy admits is allowed (policies add up, never subtract);
//   - a connection needs the source's egress AND the destination's ingress to admit it (each checked only where the
//     end is a pod in the evaluated namespaces);
//   - a rule with no `from`/`to` admits every peer, one with no `ports` every port; a peer with podSelector alone means
//     pods of the policy's own namespace, namespaceSelector alone every pod of matching namespaces, both together the
//     matching pods of matching namespaces; ipBlock admits addresses in `cidr` outside every `except`;
//   - label selectors with matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist).
// What it does not model, and a real CNI would: named ports (`port: "http"` in a policy never matches here, so a
// policy relying on one shows as denying), endPort ranges, SCTP, whether ipBlock also matches pod or node addresses
// (implementation-defined: here ipBlock matches only the addresses of off-cluster endpoints), host-network pods, and
// the API server's own validation of the objects (the OpenAPI schema test does that part).

export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { port?: number | string; protocol?: string }[];
}

export interface NetworkPolicyObject {
  metadata: { name: string; namespace: string };
  spec: { podSelector: Selector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
}

export type Endpoint = { pod: { namespace: string; labels: Record<string, string>; namespaceLabels?: Record<string, string> } } | { ip: string };

export function selects(sel: Selector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === "In" && !(has && e.values!.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values!.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

function ipNum(ip: string): number {
  return ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
}
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const n = Number(bits);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return ((ipNum(ip) & mask) >>> 0) === ((ipNum(base) & mask) >>> 0);
}

const nsLabels = (p: { namespace: string; namespaceLabels?: Record<string, string> }) => ({ "kubernetes.io/metadata.name": p.namespace, ...p.namespaceLabels });

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    if (!("ip" in other)) return false;
    return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((x) => inCidr(other.ip, x));
  }
  if (!("pod" in other)) return false;
  const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector, nsLabels(other.pod)) : other.pod.namespace === policyNamespace;
  return nsOk && selects(peer.podSelector, other.pod.labels);
}

function portMatches(rule: Rule, port: number, protocol: string): boolean {
  if (!rule.ports || rule.ports.length === 0) return true;
  return rule.ports.some((p) => (p.port === undefined || p.port === port) && (p.protocol ?? "TCP") === protocol);
}

function typesOf(p: NetworkPolicyObject): string[] {
  return p.spec.policyTypes ?? (p.spec.egress ? ["Ingress", "Egress"] : ["Ingress"]);
}

function admitted(policies: NetworkPolicyObject[], self: { namespace: string; labels: Record<string, string> }, direction: "Ingress" | "Egress", other: Endpoint, port: number, protocol: string): boolean {
  const selecting = policies.filter((p) => p.metadata.namespace === self.namespace && selects(p.spec.podSelector, self.labels) && typesOf(p).includes(direction));
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (direction === "Ingress" ? p.spec.ingress : p.spec.egress)?.some((rule) => {
      const peers = direction === "Ingress" ? rule.from : rule.to;
      return (!peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, p.metadata.namespace, other))) && portMatches(rule, port, protocol);
    }),
  );
}

/** Whether `from` may open a connection to `to` on port/protocol under `policies` (of the namespaces in `enforced`). */
export function allows(policies: NetworkPolicyObject[], enforced: string[], from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
  if ("pod" in from && enforced.includes(from.pod.namespace) && !admitted(policies, from.pod, "Egress", to, port, protocol)) return false;
  if ("pod" in to && enforced.includes(to.pod.namespace) && !admitted(policies, to.pod, "Ingress", from, port, protocol)) return false;
  return true;
}
