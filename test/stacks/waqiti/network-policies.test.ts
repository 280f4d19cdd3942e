// Waqiti's NetworkPolicies, as the real Pulumi.prod.yaml / Pulumi.staging.yaml declare them under the mock runtime,
// evaluated against the dependency graph (stacks/waqiti/services.ts) with a NetworkPolicy evaluator
// (test/support/networkPolicyEval.ts, whose header lists what a real CNI does that it does not): every edge of the graph
// is allowed, and every other connection between the graph's nodes, on every port any edge uses (and a few more), is
// denied, strangers in and outside the namespace included.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { waqiti } from "../../../stacks/waqiti";
import { waqitiManifests } from "../../../stacks/waqiti/manifests";
import type { GraphNode, WaqitiGraph } from "../../../stacks/waqiti/services";
import { allows, inCidr, type Endpoint, type NetworkPolicyObject } from "../../support/networkPolicyEval";
import { ALL_SENTINEL_SECRETS, byType, planFor, stackPlatformConfig } from "../../support/stacks";

const NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const PUBLIC_SAMPLE = "198.51.100.77";

function declaredPolicies(plan: Plan, stack: string): NetworkPolicyObject[] {
  return byType(plan, NP)
    .filter((r) => r.name.startsWith(`waqiti-${stack}-`))
    .map((r) => r.rawInputs as unknown as NetworkPolicyObject);
}

/** One endpoint standing for a node: a pod with the node's labels, or an address inside the node's networks. */
function endpointOf(node: GraphNode, namespace: string): Endpoint {
  if (node.kind === "pods") return { pod: { namespace, labels: node.labels } };
  if (node.kind === "namespace") return { pod: { namespace: node.namespace!, labels: node.podLabels ?? { "app.kubernetes.io/name": node.name } } };
  const c = node.cidrs![0].cidr;
  return { ip: c === "0.0.0.0/0" ? PUBLIC_SAMPLE : c.split("/")[0] };
}

function contains(node: GraphNode, ep: Endpoint, namespace: string): boolean {
  if ("ip" in ep) return node.kind === "network" && node.cidrs!.some((c) => inCidr(ep.ip, c.cidr) && !c.except.some((x) => inCidr(ep.ip, x)));
  if (node.kind === "pods") return ep.pod.namespace === namespace && Object.entries(node.labels).every(([k, v]) => ep.pod.labels[k] === v);
  if (node.kind === "namespace") return ep.pod.namespace === node.namespace && Object.entries(node.podLabels ?? {}).every(([k, v]) => ep.pod.labels[k] === v);
  return false;
}

interface Probe {
  name: string;
  ep: Endpoint;
}

function probes(graph: WaqitiGraph, namespace: string): Probe[] {
  return [
    ...graph.nodes.map((n) => ({ name: n.name, ep: endpointOf(n, namespace) })),
    { name: "stranger-in-namespace", ep: { pod: { namespace, labels: { app: "intruder" } } } },
    { name: "stranger-in-default", ep: { pod: { namespace: "default", labels: { app: "waqiti", component: "api-gateway" } } } },
    { name: "private-address", ep: { ip: "10.0.0.5" } },
    { name: "public-address", ep: { ip: PUBLIC_SAMPLE } },
    { name: "other-public-address", ep: { ip: "192.0.2.200" } },
  ];
}

function evaluate(graph: WaqitiGraph, policies: NetworkPolicyObject[], namespace: string) {
  const ports = [...new Set([...graph.edges.map((e) => `${e.port}/${e.protocol}`), "22/TCP", "80/TCP", "9090/TCP", "8081/TCP", "53/UDP"])].map((p) => {
    const [port, protocol] = p.split("/");
    return { port: Number(port), protocol };
  });
  const all = probes(graph, namespace);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const wrong: string[] = [];
  let allowed = 0;
  for (const from of all) {
    for (const to of all) {
      if (from === to) continue;
      for (const { port, protocol } of ports) {
        // Only pods open connections; an address is never a source here. Connections between two ends outside the
        // namespace are not the namespace's policies' business.
        if ("ip" in from.ep) continue;
        const inside = (ep: Endpoint) => "pod" in ep && ep.pod.namespace === namespace;
        if (!inside(from.ep) && !inside(to.ep)) continue;
        const expected = graph.edges.some((e) => e.port === port && e.protocol === protocol && byName.has(e.from) && contains(byName.get(e.from)!, from.ep, namespace) && contains(byName.get(e.to)!, to.ep, namespace));
        const actual = allows(policies, [namespace], from.ep, to.ep, port, protocol);
        if (actual) allowed++;
        if (actual !== expected) wrong.push(`${from.name} -> ${to.name}:${port}/${protocol}: ${actual ? "allowed" : "denied"}, the graph says ${expected ? "allowed" : "denied"}`);
      }
    }
  }
  return { wrong, allowed };
}

describe.each(["prod", "staging"])("Waqiti's NetworkPolicies on %s", (stack) => {
  let plan: Plan;
  let graph: WaqitiGraph;
  let namespace: string;
  beforeAll(async () => {
    plan = await planFor(stack, { secrets: ALL_SENTINEL_SECRETS });
    const cfg = stackPlatformConfig(stack, waqiti);
    graph = waqitiManifests({ config: cfg, stack }).graph;
    namespace = cfg.namespace.name;
  });

  it("deny everything by default and allow exactly the dependency graph's edges", () => {
    const policies = declaredPolicies(plan, stack);
    expect(policies.find((p) => p.metadata.name === "default-deny-all")?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    const { wrong, allowed } = evaluate(graph, policies, namespace);
    expect(wrong).toEqual([]);
    expect(allowed).toBeGreaterThanOrEqual(graph.edges.length);
  });

  it("include the seed's edges: api-gateway to the three services, payment-service to Stripe, Paystack and Kafka, api-gateway to Keycloak, every pod to DNS", () => {
    const has = (from: string, to: string, port: number) => graph.edges.some((e) => e.from === from && e.to === to && e.port === port);
    for (const s of ["payment-service", "wallet-service", "ledger-service"]) expect(has("api-gateway", s, 8080), s).toBe(true);
    expect(has("payment-service", "payment-provider-stripe", 443)).toBe(true);
    expect(has("payment-service", "payment-provider-paystack", 443)).toBe(true);
    expect(has("payment-service", "kafka", 9092)).toBe(true);
    expect(has("api-gateway", "keycloak", 443)).toBe(true);
    expect(has("ingress-controller", "api-gateway", 8080)).toBe(true);
    expect(has("backup", "postgres", 5432) && has("backup", "redis", 6379) && has("backup", "storage", 443)).toBe(true);
    expect(has("api-gateway", "postgres", 5432)).toBe(false);
  });

  it("the evaluation has teeth: without the backup job's policy its connections to PostgreSQL are denied", () => {
    const policies = declaredPolicies(plan, stack).filter((p) => p.metadata.name !== "allow-backup");
    const { wrong } = evaluate(graph, policies, namespace);
    expect(wrong).toContain("backup -> postgres:5432/TCP: denied, the graph says allowed");
  });
});

describe("Redis's egress to the bucket", () => {
  it("exists only while a Redis restore is declared (its init container downloads the backup)", async () => {
    const base = stackPlatformConfig("staging", waqiti);
    expect(waqitiManifests({ config: base, stack: "staging" }).graph.edges.some((e) => e.from === "redis" && e.to === "storage")).toBe(false);
    const restoring = stackPlatformConfig("staging", waqiti, { patch: (c) => (c["lazarus:waqiti"].recovery = { redis: { label: "r1" } }) });
    expect(waqitiManifests({ config: restoring, stack: "staging" }).graph.edges.some((e) => e.from === "redis" && e.to === "storage" && e.port === 443)).toBe(true);
  });
});
