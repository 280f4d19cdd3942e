// NetworkPolicies derived from the dependency graph (./services.ts): one default-deny for the namespace, then for each
// pod group one policy whose ingress rules are exactly the graph's edges into it and whose egress rules are exactly
// its edges out, one rule per edge (peer and port together, so no rule admits a port the edge does not name).
// Pure: no Pulumi. test/stacks/waqiti/network-policies.test.ts evaluates them against the graph.
import type * as k8s from "@pulumi/kubernetes";
import type { Edge, GraphNode, WaqitiGraph } from "./services";

type NetworkPolicy = k8s.types.input.networking.v1.NetworkPolicy;
type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

function peers(node: GraphNode): Peer[] {
  switch (node.kind) {
    case "pods":
      return [{ podSelector: { matchLabels: node.labels } }];
    case "namespace":
      return [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": node.namespace! } },
          ...(node.podLabels ? { podSelector: { matchLabels: node.podLabels } } : {}),
        },
      ];
    case "network":
      return node.cidrs!.map((c) => ({ ipBlock: { cidr: c.cidr, ...(c.except.length ? { except: c.except } : {}) } }));
  }
}

const portOf = (e: Edge) => [{ port: e.port, protocol: e.protocol }];

export function waqitiNetworkPolicies(graph: WaqitiGraph, namespace: string): NetworkPolicy[] {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const policies: NetworkPolicy[] = [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "default-deny-all", namespace },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
  ];
  for (const node of graph.nodes) {
    if (node.kind !== "pods") continue;
    const ingress = graph.edges.filter((e) => e.to === node.name).map((e) => ({ from: peers(byName.get(e.from)!), ports: portOf(e) }));
    const egress = graph.edges.filter((e) => e.from === node.name).map((e) => ({ to: peers(byName.get(e.to)!), ports: portOf(e) }));
    if (!ingress.length && !egress.length) continue;
    policies.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: `allow-${node.name}`, namespace, annotations: { "lazarus.io/derived-from": "stacks/waqiti/services.ts dependency graph" } },
      spec: {
        podSelector: { matchLabels: node.labels },
        policyTypes: [...(ingress.length ? ["Ingress"] : []), ...(egress.length ? ["Egress"] : [])],
        ...(ingress.length ? { ingress } : {}),
        ...(egress.length ? { egress } : {}),
      },
    });
  }
  return policies;
}
