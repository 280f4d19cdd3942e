// Pencom's service inventory (runbook 000, "Pencom Platform (On-Premises)"): the ONE list of the eight Node services
// PM2 runs and of what each needs. The ecosystem file, the fleet file pm2-fleet.sh reads, the start tiers, the
// reverse-tier shutdown, the service names operations accept and the operator runbook's dependency graph all derive
// from it (lib/inventory.ts's graph functions). Pure data: no Pulumi, no I/O.
//
// Names are the seed's PM2 names (`pm2 start ... --name ext-integrations`), which operators type in `pm2 logs <name>`;
// entry scripts are exactly the seed's, including the one that differs: api-gateway's is dist/apps/api-gateway/main.js
// (no src/), as both the seed's `node` and `pm2 start` lines have it.
//
// Dependencies between services reproduce the seed's start order (core; then payments, compliance, notifications,
// audit, external-integrations; then the two gateways) as a graph, so its "sleep 5" waits become readiness checks of
// what each tier needs. The gateways are the public entry points and route to the services of the middle tier.
import { defineInventory, startOrder, stopOrder, type ServiceInventory } from "../../lib/inventory";

/** Data stores and outside systems the services use; their connection settings are in the stack file. */
export type PencomStore = "coreDb" | "integrationsDb" | "notificationsDb" | "redis" | "oracle";

export interface PencomService {
  /** PM2 app name (the seed's `--name`). */
  name: string;
  /** Entry script relative to the project directory, as the seed starts it. */
  script: string;
  /** Services that must be ready before this one starts (start tiers derive from these). */
  dependsOn: string[];
  /** Stores that must accept connections before it starts, and whose settings go into its .env. */
  needs: PencomStore[];
  /** Outside systems whose outage degrades it without stopping it (a health check reports it, nothing restarts). */
  degradesWithout: PencomStore[];
}

export const PENCOM_SERVICES: readonly PencomService[] = [
  { name: "core", script: "dist/apps/core/src/main.js", dependsOn: [], needs: ["coreDb", "redis"], degradesWithout: [] },
  { name: "payments", script: "dist/apps/payments/src/main.js", dependsOn: ["core"], needs: ["redis"], degradesWithout: [] },
  { name: "compliance", script: "dist/apps/compliance/src/main.js", dependsOn: ["core"], needs: ["redis"], degradesWithout: [] },
  { name: "notifications", script: "dist/apps/notifications/src/main.js", dependsOn: ["core"], needs: ["notificationsDb", "redis"], degradesWithout: [] },
  { name: "audit", script: "dist/apps/audit/src/main.js", dependsOn: ["core"], needs: ["redis"], degradesWithout: [] },
  { name: "ext-integrations", script: "dist/apps/external-integrations/src/main.js", dependsOn: ["core"], needs: ["integrationsDb", "redis"], degradesWithout: ["oracle"] },
  { name: "api-gateway", script: "dist/apps/api-gateway/main.js", dependsOn: ["core", "payments", "compliance", "notifications", "audit"], needs: [], degradesWithout: [] },
  { name: "ext-gateway", script: "dist/apps/external-gateway/src/main.js", dependsOn: ["core", "ext-integrations"], needs: [], degradesWithout: [] },
];
export const PENCOM_SERVICE_NAMES = PENCOM_SERVICES.map((s) => s.name);

/** The stores as graph nodes (for the runbook's dependency graph), with what they are. */
export const PENCOM_STORES: Record<PencomStore, { title: string; kind: "postgresql" | "mongodb" | "redis" | "oracle" }> = {
  coreDb: { title: "PostgreSQL (core database)", kind: "postgresql" },
  integrationsDb: { title: "PostgreSQL (external-integrations database)", kind: "postgresql" },
  notificationsDb: { title: "MongoDB (notifications)", kind: "mongodb" },
  redis: { title: "Redis (BullMQ queues, cache)", kind: "redis" },
  oracle: { title: "Oracle (read-only, PENCOM IT)", kind: "oracle" },
};

/** Where each service answers its readiness check (the stack file's `services:`). */
export type PencomReadiness = Record<string, { port: number; healthPath: string }>;

/** The readiness URL of a service: on the host's loopback, where pm2-fleet.sh polls it. */
export function readinessUrl(r: { port: number; healthPath: string }): string {
  return `http://127.0.0.1:${r.port}${r.healthPath}`;
}

/**
 * The services as a lib/inventory graph, for its graph functions (tiers, reverse tiers, dependents) and the runbook.
 * The compose inventory's `image` carries the entry script (what identifies a PM2 app's code), its health check the
 * readiness URL, and every dependency is "healthy": a service starts once what it needs answers its readiness check.
 */
export function pencomGraph(readiness?: PencomReadiness, services: readonly PencomService[] = PENCOM_SERVICES): ServiceInventory {
  return defineInventory(
    services.map((s) => {
      const r = readiness?.[s.name];
      return {
        name: s.name,
        containerName: s.name,
        image: s.script,
        role: s.name.endsWith("gateway") ? ("edge" as const) : ("app" as const),
        restart: "always" as const,
        ...(r ? { ports: [{ container: r.port }] } : {}),
        healthcheck: { test: { exec: ["curl", "-fsS", r ? readinessUrl(r) : "<readiness URL>"] } },
        dependsOn: s.dependsOn.map((d) => ({ service: d, condition: "healthy" as const })),
      };
    }),
  );
}

/** Start tiers: each starts once every service of the previous tiers is ready. */
export function pencomStartTiers(): string[][] {
  return startOrder(pencomGraph());
}

/** Shutdown tiers: the start tiers reversed (public entry points first, core last). */
export function pencomStopTiers(): string[][] {
  return stopOrder(pencomGraph());
}
