// The invariants a reviewer must never have to check by eye, as plain functions over a stack's resources. Two callers:
// the offline plan (cli/plan.ts, through checkPlan below) and the CrossGuard pack (policy/index.ts) under the engine.
// Each rule reads only what a resource's inputs show; what the inputs cannot show is said where the rule gives up.
import { parse } from "yaml";
import { confirmationToken, isProtectedStack } from "../config/checks";
import type { RawStackConfig } from "../config/load";
import { SECRET_MARK, UNKNOWN_MARK, type DeclaredResource } from "../lib/runtime/capture";

export const POLICY_PACK_NAME = "lazarus-invariants";

/** A resource as both callers can give it. */
export interface PolicyResource {
  urn: string;
  type: string;
  name: string;
  protect: boolean;
  /** Inputs; where the caller can tell, a secret value is SECRET_MARK (the offline plan), else its plain value (the engine). */
  inputs: Record<string, unknown>;
}

export interface PolicyContext {
  /** Every `confirm` value the stack file gives (confirmationsIn). */
  confirmations: ReadonlySet<string>;
  /** Whether secret inputs arrive as SECRET_MARK; @pulumi/policy 1.21 hands a rule secrets already unwrapped. */
  secretsMarked: boolean;
}

export interface Violation {
  policy: string;
  urn: string;
  message: string;
}

export interface LazarusPolicy {
  name: string;
  description: string;
  /** Needs PolicyContext.secretsMarked: without it the rule cannot tell a secret from a plain value. */
  needsMarkedSecrets?: boolean;
  check(resources: readonly PolicyResource[], context: PolicyContext): Omit<Violation, "policy">[];
}

const TYPE = {
  droplet: "digitalocean:index/droplet:Droplet",
  firewall: "digitalocean:index/firewall:Firewall",
  dbFirewall: "digitalocean:index/databaseFirewall:DatabaseFirewall",
  command: "command:remote:Command",
  localCommand: "command:local:Command",
  app: "digitalocean:index/app:App",
} as const;

/** The types whose deletion loses data or an address clients know. */
const STATEFUL_TYPES: Record<string, string> = {
  [TYPE.droplet]: "a droplet (its volumes, certificates and uploads live on it)",
  "digitalocean:index/databaseCluster:DatabaseCluster": "a database cluster",
  "digitalocean:index/databaseReplica:DatabaseReplica": "a database replica",
  "digitalocean:index/databaseDb:DatabaseDb": "a database",
  "digitalocean:index/databaseUser:DatabaseUser": "a database user",
  "digitalocean:index/reservedIp:ReservedIp": "a reserved IP (the address DNS points at)",
  "digitalocean:index/loadBalancer:LoadBalancer": "a load balancer (its address is the one DNS points at)",
  "digitalocean:index/spacesBucket:SpacesBucket": "a Spaces bucket (off-site backups)",
  "digitalocean:index/volume:Volume": "a block storage volume",
  [TYPE.app]: "an App Platform app (its deployments are the rollback targets, its default domain what DNS may point at)",
  // Kubernetes: deleting a namespace deletes the volume claims in it; a StatefulSet owns its pods' data volumes.
  "kubernetes:core/v1:Namespace": "a Kubernetes namespace (deleting it deletes its volume claims and their data)",
  "kubernetes:apps/v1:StatefulSet": "a StatefulSet (its pods' data volumes)",
  "kubernetes:core/v1:PersistentVolumeClaim": "a volume claim",
};

/** Ports of data stores, caches, admin and metrics endpoints, by the well-known number. */
const SENSITIVE_PORTS: Record<number, string> = {
  22: "SSH",
  3100: "Loki",
  3306: "MySQL",
  5432: "PostgreSQL",
  6379: "Redis",
  6432: "PgBouncer",
  8108: "Typesense",
  9000: "MinIO API",
  9001: "MinIO console",
  9080: "Promtail",
  9090: "Prometheus",
  9093: "Alertmanager",
  9100: "node-exporter",
  9121: "redis-exporter",
  9187: "postgres-exporter",
  9200: "Elasticsearch",
  11211: "Memcached",
  27017: "MongoDB",
};

/** Images of data stores and metrics services (repository base names), whose ports belong on loopback only. */
const DATA_OR_METRICS_IMAGE = /(^|\/)(postgres|postgis|pgbouncer|redis|typesense|minio|mysql|mariadb|mongo|memcached|elasticsearch|prometheus|alertmanager|loki|promtail|[a-z_-]*exporter|cadvisor)(:|@|$)/;
/** Admin UIs: reachable only through a cloud firewall that admits environment.adminCidrs. */
const ADMIN_IMAGE = /(^|\/)grafana(:|@|$)/;

const WORLD = new Set(["0.0.0.0/0", "::/0", "0::/0", "::0/0"]);

export function stackOf(urn: string): string {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1] ?? "";
}

/** The platform a resource belongs to, from the `<platform>-<stack>-...` naming every platform module uses. */
function platformOf(name: string, stack: string): string | undefined {
  const at = name.indexOf(`-${stack}-`);
  return at > 0 ? name.slice(0, at) : undefined;
}

const isString = (v: unknown): v is string => typeof v === "string";
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asRecord = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** A DigitalOcean port range ("5432", "9000-9100", "all", "1-65535"; none for icmp) as [from, to]. */
function portRange(range: unknown): [number, number] | undefined {
  if (range === undefined || range === "" || range === "all" || range === "0") return [1, 65535];
  const m = /^(\d+)(?:-(\d+))?$/.exec(String(range));
  return m ? [Number(m[1]), Number(m[2] ?? m[1])] : undefined;
}

/** Every container of a Kubernetes workload's inputs (pods, templates, job templates), wherever it is nested. */
function kubernetesContainers(r: PolicyResource): Record<string, unknown>[] {
  if (!r.type.startsWith("kubernetes:")) return [];
  const found: Record<string, unknown>[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") {
      for (const [k, inner] of Object.entries(v)) {
        if ((k === "containers" || k === "initContainers" || k === "ephemeralContainers") && Array.isArray(inner)) found.push(...inner.map(asRecord));
        else walk(inner);
      }
    }
  };
  walk(r.inputs);
  return found;
}

interface ComposeFile {
  writer: PolicyResource;
  path: string;
  services: Record<string, { image?: unknown; ports?: unknown }>;
}

/**
 * Compose files the stack writes: file writers (command resources) whose stdin is a compose document. A secret
 * stdin cannot be read and is skipped: compose files are never secret here (their secrets live in .env).
 */
function composeFiles(resources: readonly PolicyResource[]): ComposeFile[] {
  const files: ComposeFile[] = [];
  for (const r of resources) {
    const stdin = r.inputs.stdin;
    if (r.type !== TYPE.command || !isString(stdin) || stdin === SECRET_MARK || !/^services:/m.test(stdin)) continue;
    let doc: unknown;
    try {
      doc = parse(stdin);
    } catch {
      continue; // not YAML: some other file that happens to contain "services:"
    }
    const services = asRecord(asRecord(doc).services);
    if (!Object.keys(services).length) continue;
    const path = /mv -f \S+ (\S+)$/.exec(String(r.inputs.create ?? ""))?.[1] ?? r.name;
    files.push({ writer: r, path, services: services as ComposeFile["services"] });
  }
  return files;
}

/** A compose `ports:` entry as host address, host port and container port. */
function publishedPort(entry: unknown): { hostIp?: string; published?: string; target: string } | undefined {
  if (typeof entry === "number") return { target: String(entry) };
  if (isString(entry)) {
    const spec = entry.replace(/\/(tcp|udp)$/, "");
    const m = /^(?:(\[[^\]]+\]|[^:]+):)?(?:([^:]*):)?([^:]+)$/.exec(spec);
    if (!m) return undefined;
    // "3000" (container only), "3002:3000", "127.0.0.1:5432:5432", "[::1]:5432:5432"
    if (m[2] === undefined) return m[1] === undefined ? { target: m[3] } : { published: m[1], target: m[3] };
    return { hostIp: m[1], published: m[2], target: m[3] };
  }
  const o = asRecord(entry);
  return o.target === undefined ? undefined : { hostIp: o.host_ip as string | undefined, published: o.published as string | undefined, target: String(o.target) };
}

const ALL_ADDRESSES = new Set([undefined, "", "0.0.0.0", "::", "[::]"]);

/** The image reference with `${VAR:-default}` resolved to its default; undefined when a part has no default. */
function resolvedImage(image: string): string | undefined {
  let unresolved = false;
  const resolved = image.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?[^}]*\}/g, (_all, _name, def: string | undefined) => {
    if (def === undefined) unresolved = true;
    return def ?? "";
  });
  return unresolved ? undefined : resolved;
}

/** Why an image reference is not pinned to a version, or undefined when it is. */
export function unpinnedReason(image: string): string | undefined {
  const ref = resolvedImage(image);
  if (ref === undefined) return "takes part of its name from an environment variable without a pinned default";
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return undefined;
  const tag = /:([^/:]+)$/.exec(ref)?.[1];
  if (tag === undefined) return "has no tag (Docker pulls latest)";
  if (/^latest$/i.test(tag)) return "is tagged latest";
  return undefined;
}

// ---- the rules --------------------------------------------------------------------------------------------------

const noPublicDataPorts: LazarusPolicy = {
  name: "no-public-data-ports",
  description: "No database, cache, admin or metrics port is open to 0.0.0.0/0 or ::/0 (cloud and database firewalls, compose published ports, Kubernetes LoadBalancer and NodePort Services).",
  check(resources) {
    const found: Omit<Violation, "policy">[] = [];
    const composes = composeFiles(resources);
    // Admin UIs publish on ports the stack file chooses (GoodGo's Grafana: grafana.port): learn them from compose.
    const sensitive = new Map<number, string>(Object.entries(SENSITIVE_PORTS).map(([p, n]) => [Number(p), n]));
    for (const f of composes) {
      for (const [service, s] of Object.entries(f.services)) {
        if (!isString(s.image) || !(ADMIN_IMAGE.test(s.image) || DATA_OR_METRICS_IMAGE.test(s.image))) continue;
        for (const entry of asArray(s.ports)) {
          const published = Number(publishedPort(entry)?.published);
          // A well-known port keeps its name: another host's compose file publishing it says nothing about this one.
          if (published && !sensitive.has(published)) sensitive.set(published, `${service} (published in ${f.path})`);
        }
      }
    }
    const sensitiveIn = ([from, to]: [number, number]) => [...sensitive].filter(([p]) => p >= from && p <= to).map(([p, n]) => `${n} ${p}`);

    for (const r of resources) {
      if (r.type === TYPE.firewall) {
        for (const rule of asArray(r.inputs.inboundRules).map(asRecord)) {
          const world = asArray(rule.sourceAddresses).filter((a) => isString(a) && WORLD.has(a));
          if (!world.length || !["tcp", "udp"].includes(String(rule.protocol))) continue;
          const range = portRange(rule.portRange);
          const hits = range ? sensitiveIn(range) : [];
          if (hits.length) {
            found.push({
              urn: r.urn,
              message: `${r.name}: inbound ${rule.protocol} ${rule.portRange ?? "all"} is open to ${world.join(", ")}, exposing ${hits.join(", ")}; admit only environment.adminCidrs (or the droplets that need it), or use 127.0.0.1 and an SSH tunnel`,
            });
          }
        }
      }
      if (r.type === TYPE.dbFirewall) {
        for (const rule of asArray(r.inputs.rules).map(asRecord)) {
          if (rule.type === "ip_addr" && isString(rule.value) && WORLD.has(rule.value)) {
            found.push({ urn: r.urn, message: `${r.name}: admits ${rule.value} to the database cluster; admit the host by droplet (type: droplet) or by its address` });
          }
        }
      }
    }
    // A Kubernetes Service of type LoadBalancer or NodePort is reachable from outside the cluster: not for data ports
    // unless loadBalancerSourceRanges narrows it.
    for (const r of resources.filter((x) => x.type === "kubernetes:core/v1:Service")) {
      const spec = asRecord(r.inputs.spec);
      if (spec.type !== "LoadBalancer" && spec.type !== "NodePort") continue;
      const ranges = asArray(spec.loadBalancerSourceRanges).filter(isString);
      if (ranges.length && !ranges.some((c) => WORLD.has(c))) continue;
      const hits = asArray(spec.ports).map(asRecord).map((p) => Number(p.port)).filter((p) => sensitive.has(p));
      if (hits.length) {
        found.push({ urn: r.urn, message: `${r.name}: a ${String(spec.type)} Service exposes ${hits.map((p) => `${sensitive.get(p)} ${p}`).join(", ")} outside the cluster; use type ClusterIP (or loadBalancerSourceRanges listing the admin networks)` });
      }
    }
    for (const f of composes) {
      for (const [service, s] of Object.entries(f.services)) {
        if (!isString(s.image) || !DATA_OR_METRICS_IMAGE.test(s.image)) continue;
        for (const entry of asArray(s.ports)) {
          const p = publishedPort(entry);
          if (p?.published !== undefined && ALL_ADDRESSES.has(p.hostIp)) {
            found.push({
              urn: f.writer.urn,
              message: `${f.path}: service ${service} (${s.image}) publishes ${JSON.stringify(entry)} on every address of the host; a data or metrics port is published on loopback only (example: "127.0.0.1:${p.published}:${p.target}")`,
            });
          }
        }
      }
    }
    return found;
  },
};

/** The switches that rebuild a host: the confirmations that allow its droplet to be replaced. */
const REBUILD_CONFIRMATIONS = ["rebuild-host", "recover-host"];

const prodStatefulProtected: LazarusPolicy = {
  name: "prod-stateful-protected",
  description: "On prod, every stateful resource (droplets, database clusters, databases and users, reserved IPs, buckets, volumes) is protected, but for a droplet under its confirmed rebuild, a scale-out clone (droplet and reserved IP) under its confirmed scale-out, and a StatefulSet retired under its confirmed claim deletion.",
  check(resources, { confirmations }) {
    // The one exception: a droplet being rebuilt under its confirmed switch must be replaceable for that `up`
    // (components/dropletHost.ts); once the switch says done, it is protected again and this rule applies.
    const confirmedRebuild = (r: PolicyResource) => {
      const stack = stackOf(r.urn);
      const platform = platformOf(r.name, stack);
      return r.type === TYPE.droplet && platform !== undefined && REBUILD_CONFIRMATIONS.some((what) => confirmations.has(confirmationToken(stack, platform, what)));
    };
    // A scale-out clone (`<platform>-<stack>-clone-<n>`, Bunty) and its reserved IP hold no data and must go when the
    // count drops: exempt under a confirmed scale-out of its platform.
    const confirmedClone = (r: PolicyResource) => {
      const stack = stackOf(r.urn);
      const platform = platformOf(r.name, stack);
      const scaleOut = platform === undefined ? "" : confirmationToken(stack, platform, "scale-out-");
      const cloneResource = (r.type === TYPE.droplet && /-clone-\d+$/.test(r.name)) || (r.type === "digitalocean:index/reservedIp:ReservedIp" && /-clone-\d+-ip$/.test(r.name));
      return cloneResource && platform !== undefined && [...confirmations].some((c) => c.startsWith(scaleOut) && /^\d+$/.test(c.slice(scaleOut.length)));
    };
    // And a Kubernetes StatefulSet being discarded: retired to 0 replicas with the deletion of its claim confirmed
    // (Waqiti's recovery.database.deleteClaim of a restore not cut over); unprotected, so the switch can later go.
    const confirmedDiscard = (r: PolicyResource) => {
      if (r.type !== "kubernetes:apps/v1:StatefulSet") return false;
      const stack = stackOf(r.urn);
      const platform = platformOf(r.name, stack);
      const spec = asRecord(r.inputs.spec);
      const name = asRecord(r.inputs.metadata).name;
      const claims = asArray(spec.volumeClaimTemplates).map((t) => `${asRecord(asRecord(t).metadata).name}-${name}-0`);
      return platform !== undefined && spec.replicas === 0 && claims.length > 0 && claims.every((c) => confirmations.has(confirmationToken(stack, platform, `delete-claim/${c}`)));
    };
    return resources
      .filter((r) => STATEFUL_TYPES[r.type] && !r.protect && isProtectedStack(stackOf(r.urn)) && !confirmedRebuild(r) && !confirmedClone(r) && !confirmedDiscard(r))
      .map((r) => ({
        urn: r.urn,
        message: `${r.name}: ${STATEFUL_TYPES[r.type]} on stack ${stackOf(r.urn)} is not protected, so a later \`pulumi up\` may delete or replace it; declare it with protect: true (lazarus:environment.protect)`,
      }));
  },
};

const imagesPinned: LazarusPolicy = {
  name: "images-pinned",
  description: "Every container image in a compose file the stack writes or a Kubernetes workload it declares carries a version tag (or digest); droplet images are versioned slugs or snapshot ids.",
  check(resources) {
    const found: Omit<Violation, "policy">[] = [];
    for (const f of composeFiles(resources)) {
      for (const [service, s] of Object.entries(f.services)) {
        const why = isString(s.image) ? unpinnedReason(s.image) : "has no image";
        if (why) {
          found.push({ urn: f.writer.urn, message: `${f.path}: service ${service} image ${JSON.stringify(s.image)} ${why}; pin a version (example: nginx:1.27-alpine)` });
        }
      }
    }
    for (const r of resources) {
      for (const c of kubernetesContainers(r)) {
        const why = isString(c.image) ? (c.image === UNKNOWN_MARK ? undefined : unpinnedReason(c.image)) : "has no image";
        if (why) found.push({ urn: r.urn, message: `${r.name}: container ${String(c.name)} image ${JSON.stringify(c.image)} ${why}; pin a version (example: postgres:15.10)` });
      }
    }
    for (const r of resources.filter((x) => x.type === TYPE.droplet)) {
      if (isString(r.inputs.image) && /latest/i.test(r.inputs.image)) {
        found.push({ urn: r.urn, message: `${r.name}: droplet image ${JSON.stringify(r.inputs.image)} is not a versioned slug or a snapshot id (example: ubuntu-24-04-x64)` });
      }
    }
    return found;
  },
};

/**
 * What a destructive step does, recognised from its command text or inputs, and the confirmation (`what` of
 * config/checks confirmationToken) that allows it: an operation's own, or the recovery switch that runs it as a step.
 */
const fromSnapshot = (r: PolicyResource) =>
  r.type === TYPE.droplet && isString(r.inputs.image) && r.inputs.image !== UNKNOWN_MARK && !/^[a-z]+(-[a-z0-9]+)*-x64$|^[a-z]+-\d[a-z0-9-]*$/.test(r.inputs.image);
const isClone = (r: PolicyResource) => /-clone-\d+$/.test(r.name);

const PENCOM_DATABASE_SWITCH_STOPS = new Map([["notifications", ["notifications-database-cutover"]], ["core", ["core-database-cutover"]]]);

const DESTRUCTIVE: { what: string; detect: (r: PolicyResource) => boolean; confirmedBy: string[] | ((r: PolicyResource) => string[]) }[] = [
  { what: "takes the whole project offline", detect: (r) => /compose-shutdown\.sh/.test(createOf(r)), confirmedBy: ["graceful-shutdown"] },
  { what: "stops a service (takes it offline)", detect: (r) => /compose-service\.sh .*-- stop\b/.test(createOf(r)), confirmedBy: ["stop-service"] },
  { what: "takes every service of the PM2 fleet offline", detect: (r) => /pm2-fleet\.sh .*\bstop-all$/.test(createOf(r)), confirmedBy: ["graceful-shutdown"] },
  {
    // Pencom's database switches stop the service whose database they swap: notifications, or core.
    what: "stops a service (takes it offline)",
    detect: (r) => /pm2-fleet\.sh .*\bstop \S+$/.test(createOf(r)),
    confirmedBy: (r) => ["stop-service", ...(PENCOM_DATABASE_SWITCH_STOPS.get(/\bstop (\S+)$/.exec(createOf(r))![1]!) ?? [])],
  },
  // GoodGo's database cutover and swap-in flush the cache the old data filled (runbook 001 section 4.1).
  { what: "empties Redis (FLUSHALL)", detect: (r) => /\bFLUSHALL\b/.test(createOf(r)), confirmedBy: ["flush-redis", "recover-host", "database-cutover"] },
  { what: "terminates database sessions", detect: (r) => /pg_terminate_backend/.test(createOf(r)), confirmedBy: ["terminate-long-queries"] },
  { what: "stops the app under PM2", detect: (r) => /pm2-app\.sh\b.* stop$/.test(createOf(r)), confirmedBy: ["emergency-shutdown"] },
  { what: "swaps the live release with the previous one (rollback)", detect: (r) => /pm2-rollback\.sh\b/.test(createOf(r)), confirmedBy: ["rollback"] },
  { what: "empties the app's Redis database (FLUSHDB)", detect: (r) => /app-data\.sh\b.* flush-cache$/.test(createOf(r)), confirmedBy: ["flush-cache"] },
  { what: "terminates a database session", detect: (r) => /app-data\.sh\b.* terminate \d+$/.test(createOf(r)), confirmedBy: ["terminate-query"] },
  { what: "swaps a restored database in for the live one", detect: (r) => /app-data\.sh\b.* swap-in [a-z0-9_]+/.test(createOf(r)), confirmedBy: ["database-cutover"] },
  {
    what: "rolls out a new JWT secret (every user is logged out)",
    detect: (r) => /\bjwt-rotation \S+ \d+$/.test(createOf(r)),
    confirmedBy: (r) => [`rotate-jwt-${/\bjwt-rotation \S+ (\d+)$/.exec(createOf(r))![1]}`],
  },
  { what: "rebuilds every index, locking each table (REINDEX DATABASE)", detect: (r) => /app-data\.sh\b.* reindex$/.test(createOf(r)), confirmedBy: ["reindex"] },
  { what: "swaps a restored database in for the live one (--swap-in)", detect: (r) => /pg-restore\.sh\b.*--swap-in/.test(createOf(r)), confirmedBy: ["database-cutover", "core-database-cutover"] },
  { what: "restores a backup over the live database (--cutover)", detect: (r) => /pg-restore\.sh\b.*--cutover/.test(createOf(r)), confirmedBy: ["database-cutover", "recover-host"] },
  {
    // A droplet whose image is not a distribution slug is built from a snapshot: it replaces the live one.
    what: "builds the droplet from a snapshot (replacing the live one)",
    detect: (r) => fromSnapshot(r) && !isClone(r),
    confirmedBy: REBUILD_CONFIRMATIONS,
  },
  {
    // A scale-out clone (Bunty) is a new droplet from a snapshot behind the balancer; its confirmation names the count.
    what: "adds a droplet from a snapshot behind the load balancer (scale-out)",
    detect: (r) => fromSnapshot(r) && isClone(r),
    confirmedBy: Array.from({ length: 9 }, (_, i) => `scale-out-${i + 1}`),
  },
  // DBIS's application failover on existing droplets (lib/digitaloceanApi.ts reservedIpAssignCommand). The load balancer
  // of declared droplets is not seen here: its droplet id is a provider output that does not say which server it is;
  // the stack file's check (stacks/dbis/config.ts) refuses that switch unconfirmed before anything is declared.
  { what: "moves the application's public address to another server (reserved IP reassignment)", detect: (r) => /\/v2\/reserved_ips\/\S+\/actions\b/.test(createOf(r)), confirmedBy: ["app-failover"] },
  // App Platform: the API calls a command resource makes from where pulumi runs (lib/digitaloceanApi.ts), and the
  // app spec's maintenance mode.
  { what: "rolls an App Platform app back to an earlier deployment", detect: (r) => /\/v2\/apps\/\S+\/rollback(\/validate)?\b(?!\/(commit|revert))/.test(createOf(r)), confirmedBy: ["rollback"] },
  { what: "reverts an App Platform rollback", detect: (r) => /\/v2\/apps\/\S+\/rollback\/revert\b/.test(createOf(r)), confirmedBy: ["revert-rollback"] },
  {
    what: "takes an App Platform app offline (maintenance mode)",
    detect: (r) => r.type === TYPE.app && asRecord(asRecord(r.inputs.spec).maintenance).enabled === true,
    confirmedBy: ["maintenance"],
  },
  {
    // A Kubernetes Job that deletes a volume claim: its data goes with it. The confirmation names the claim.
    what: "deletes a volume claim and the data on it",
    detect: (r) => claimsDeleted(r).length > 0,
    confirmedBy: (r) => claimsDeleted(r).map((claim) => `delete-claim/${claim}`),
  },
  {
    what: "scales a Deployment to 0 (takes the service offline)",
    detect: (r) => r.type === "kubernetes:apps/v1:Deployment" && asRecord(r.inputs.spec).replicas === 0,
    confirmedBy: ["scale-down"],
  },
];

/** The claims a Kubernetes workload's containers delete with `kubectl delete pvc NAME`. */
function claimsDeleted(r: PolicyResource): string[] {
  return kubernetesContainers(r).flatMap((c) => {
    const argv = [...asArray(c.command), ...asArray(c.args)].filter(isString).join(" ");
    return [...argv.matchAll(/kubectl delete (?:pvc|persistentvolumeclaims?) ([a-z0-9.-]+)/g)].map((m) => m[1]);
  });
}

function createOf(r: PolicyResource): string {
  return (r.type === TYPE.command || r.type === TYPE.localCommand) && isString(r.inputs.create) ? r.inputs.create : "";
}

const destructiveConfirmed: LazarusPolicy = {
  name: "destructive-confirmed",
  description: "On prod, every destructive operation or recovery step (shutdown, stop, FLUSHALL, terminating sessions, restore with cutover, rebuild from a snapshot, deleting a volume claim, scaling a Deployment to 0) has its confirmation in the stack file.",
  check(resources, { confirmations }) {
    const found: Omit<Violation, "policy">[] = [];
    for (const r of resources) {
      const stack = stackOf(r.urn);
      if (!isProtectedStack(stack)) continue;
      const platform = platformOf(r.name, stack);
      for (const d of DESTRUCTIVE.filter((x) => x.detect(r))) {
        const whats = typeof d.confirmedBy === "function" ? d.confirmedBy(r) : d.confirmedBy;
        const tokens = platform ? whats.map((what) => confirmationToken(stack, platform, what)) : [];
        if (tokens.some((t) => confirmations.has(t))) continue;
        found.push({
          urn: r.urn,
          message: `${r.name}: ${d.what} on stack ${stack} without a confirmation in Pulumi.${stack}.yaml; its switch or operation needs ${tokens.length ? tokens.map((t) => `confirm: "${t}"`).join(" or ") : `a confirm: "${stack}/<platform>/${whats[0]}" (no platform in the name ${r.name})`}`,
        });
      }
    }
    return found;
  },
};

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const SLACK_WEBHOOK = /https:\/\/hooks\.slack\.com\/services\//;
/** Input keys that hold credentials in the resource types this program declares (connection, environment maps). */
const SECRET_KEY_NAME = /password|passphrase|privatekey|secretkey|secret_key|token|apikey|api_key/i;

const secretsNotPlain: LazarusPolicy = {
  name: "secrets-not-plain",
  description: "No secret travels as a plain input: PEM private keys, Slack webhooks, password or key fields, and the stdin of 0600 files are Pulumi secrets.",
  needsMarkedSecrets: true,
  check(resources) {
    const found: Omit<Violation, "policy">[] = [];
    for (const r of resources) {
      const report = (path: string, what: string) =>
        found.push({ urn: r.urn, message: `${r.name}: input ${path} ${what} in plain text; pass it as a Pulumi secret (pulumi.secret(...) or a config secret) so state and previews show [secret]` });
      const walk = (value: unknown, path: string, key: string) => {
        if (isString(value)) {
          if (value === SECRET_MARK || value === UNKNOWN_MARK || value === "") return;
          if (PEM_PRIVATE_KEY.test(value)) report(path, "holds a PEM private key");
          else if (SLACK_WEBHOOK.test(value)) report(path, "holds a Slack webhook URL");
          else if (SECRET_KEY_NAME.test(key)) report(path, "is a credential");
          return;
        }
        if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, key));
        else for (const [k, v] of Object.entries(asRecord(value))) walk(v, path ? `${path}.${k}` : k, k);
      };
      walk(r.inputs, "", "");
      // App Platform variables: a SECRET one must be a Pulumi secret, and a credential's name must not be GENERAL
      // (App Platform shows GENERAL values to everyone who can see the app).
      if (r.type === TYPE.app) {
        const spec = asRecord(r.inputs.spec);
        const envLists: [string, unknown][] = [["spec.envs", spec.envs], ...asArray(spec.services).map((c, i): [string, unknown] => [`spec.services[${i}].envs`, asRecord(c).envs])];
        for (const [at, list] of envLists) {
          asArray(list).map(asRecord).forEach((e, i) => {
            const value = e.value;
            const plain = isString(value) && value !== SECRET_MARK && value !== UNKNOWN_MARK && value !== "";
            if (e.type === "SECRET" && plain) report(`${at}[${i}].value`, `(${String(e.key)}, type SECRET) is`);
            else if (e.type !== "SECRET" && plain && isString(e.key) && (SECRET_KEY_NAME.test(e.key) || /secret|password|private/i.test(e.key))) {
              found.push({ urn: r.urn, message: `${r.name}: variable ${e.key} at ${at}[${i}] is a credential by its name but GENERAL, in plain text; make it a SECRET variable from a Pulumi secret (GIV: list it in app.secretEnvKeys and put its value in givAppSecrets)` });
            }
          });
        }
      }
      // A file written 0600 is a secret file: its content must be a secret too. Content unknown until deploy (built
      // from provider outputs a preview does not have) is not plain text, like every unknown value.
      const stdin = r.inputs.stdin;
      if (/chmod 0?600 /.test(createOf(r)) && isString(stdin) && stdin !== SECRET_MARK && stdin !== UNKNOWN_MARK) report("stdin", "(the content of a 0600 file) is");
    }
    return found;
  },
};

export const POLICIES: readonly LazarusPolicy[] = [noPublicDataPorts, prodStatefulProtected, imagesPinned, destructiveConfirmed, secretsNotPlain];

/** Runs every policy; a policy that needs marked secrets is skipped when the caller cannot mark them. */
export function runPolicies(resources: readonly PolicyResource[], context: PolicyContext): Violation[] {
  return POLICIES.filter((p) => context.secretsMarked || !p.needsMarkedSecrets).flatMap((p) => p.check(resources, context).map((v) => ({ policy: p.name, ...v })));
}

/** Every `confirm` value in the stack file's config (secrets are never confirmations, and are skipped). */
export function confirmationsIn(raw: RawStackConfig): Set<string> {
  const found = new Set<string>();
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (k === "confirm" && isString(v)) found.add(v);
        else walk(v);
      }
    }
  };
  for (const [key, text] of Object.entries(raw.values)) {
    if (raw.secretKeys.includes(key)) continue;
    try {
      walk(JSON.parse(text));
    } catch {
      // a plain string value: no confirmation inside
    }
  }
  return found;
}

/**
 * The offline plan's resources as the rules see them: redacted inputs, so a secret is SECRET_MARK; sorted by URN
 * because registration order varies run to run and the violations must not.
 */
export function planResources(resources: readonly DeclaredResource[]): PolicyResource[] {
  return [...resources].filter((r) => r.custom).sort((a, b) => a.urn.localeCompare(b.urn)).map((r) => ({ urn: r.urn, type: r.type, name: r.name, protect: r.protect, inputs: r.inputs }));
}

/** The policy pack over an offline plan: what `pulumi preview --policy-pack policy` would report, plus the secrets rule. */
export function checkPlan(plan: { resources: readonly DeclaredResource[] }, raw: RawStackConfig): Violation[] {
  return runPolicies(planResources(plan.resources), { confirmations: confirmationsIn(raw), secretsMarked: true });
}
