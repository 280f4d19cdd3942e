// KRO's services (runbook 000, "KRO Platform"): backend, frontend, admin-frontend behind an nginx container that
// terminates TLS with the host's certbot certificates. The ONE list of KRO's services: the compose file, the stop and
// restart orders, the watched mounts, the nginx upstreams and the service names operations accept all derive from it.
//
// The runbook names the services and the files the backend reads (production.json and the managed database's CA
// certificate, both in the deploy directory, both secret and shipped with mode 0600) but not images, ports or health
// endpoints: those come from the stack config (stacks/kro/config.ts), which has no defaults for them.
import { nginxEdgeService } from "../../lib/edgeService";
import { defineInventory, type HealthCheck, type ServiceInventory, type ServiceSpec } from "../../lib/inventory";
import { HOST_LAYOUT } from "../../lib/hostLayout";
import type { NginxConfInput } from "../../renderers/nginx";
import type { KroConfig } from "./config";

/** The application services; nginx is the edge in front of them. */
export const KRO_APP_SERVICES = ["backend", "frontend", "admin-frontend"] as const;
export type KroAppService = (typeof KRO_APP_SERVICES)[number];
export const KRO_EDGE_SERVICE = "nginx";

/** Files in the deploy directory, relative to it (compose bind-mounts them by these names). */
export const KRO_FILES = {
  compose: "docker-compose.yml",
  nginxConf: "nginx.conf",
  productionJson: "production.json",
} as const;
/** Where the backend container reads production.json and the database CA certificate. */
export const KRO_BACKEND_CONFIG_DIR = "/app/config";

/** Names derived from the stack: resource prefixes, the CA file (the runbook's name on prod), the certificate. */
export function kroNames(stack: string) {
  const prefix = `kro-${stack}`;
  return {
    prefix,
    host: `${prefix}-host`,
    database: `${prefix}-db`,
    /** The runbook's file name for prod: kro-prod-db-cluster-ca-certificate.crt. */
    caFile: `${prefix}-db-cluster-ca-certificate.crt`,
    certName: prefix,
  };
}

const nodeHealth = (port: number, path: string): HealthCheck => ({
  test: { exec: ["node", "-e", `fetch('http://127.0.0.1:${port}${path}').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))`] },
  interval: "15s",
  timeout: "5s",
  retries: 5,
  startPeriod: "30s",
});

export function kroServices(cfg: KroConfig, stack: string): ServiceSpec[] {
  const { caFile } = kroNames(stack);
  const appService = (name: KroAppService): Pick<ServiceSpec, "name" | "role" | "image" | "ports" | "environment" | "healthcheck" | "limits"> => {
    const s = cfg.app.services[name];
    return {
      name,
      role: "app",
      image: `${s.image}:${cfg.app.imageTag}`,
      ports: [{ container: s.port }],
      environment: { NODE_ENV: "production" },
      healthcheck: nodeHealth(s.port, s.healthPath),
      limits: { cpus: s.cpus, memoryMb: s.memoryMb },
    };
  };
  return [
    {
      ...appService("backend"),
      volumes: [
        { kind: "bind", source: `./${KRO_FILES.productionJson}`, target: `${KRO_BACKEND_CONFIG_DIR}/${KRO_FILES.productionJson}`, readOnly: true },
        { kind: "bind", source: `./${caFile}`, target: `${KRO_BACKEND_CONFIG_DIR}/${caFile}`, readOnly: true },
      ],
      stopGracePeriod: "30s",
    },
    // The web apps call the API: they start after it and stop before it (runbook 000's entry points first).
    { ...appService("frontend"), dependsOn: [{ service: "backend", condition: "healthy" }] },
    { ...appService("admin-frontend"), dependsOn: [{ service: "backend", condition: "healthy" }] },
    nginxEdgeService({
      name: KRO_EDGE_SERVICE,
      image: cfg.app.nginxImage,
      confFile: KRO_FILES.nginxConf,
      dependsOn: KRO_APP_SERVICES.map((service) => ({ service, condition: "healthy" as const })),
    }),
  ];
}

export function kroInventory(cfg: KroConfig, stack: string): ServiceInventory {
  return defineInventory(kroServices(cfg, stack));
}

/** A KRO site: host names and the path prefixes routed to application services. */
export interface KroSite {
  serverNames: string[];
  routes: { path: string; service: KroAppService; websocket?: boolean }[];
}

export interface KroNginxOptions {
  sites: KroSite[];
  /** Certificate and key nginx serves for every site. */
  tls: { certPath: string; keyPath: string };
  /** Port each application service listens on inside the compose network. */
  ports: Record<KroAppService, number>;
}

/** nginx upstream names cannot contain "-": admin-frontend is upstream admin_frontend. */
const upstreamOf = (service: KroAppService) => service.replace(/-/g, "_");

/** The nginx container's configuration input: one upstream per application service, the sites' routes onto them. */
export function kroNginxInput(o: KroNginxOptions): NginxConfInput {
  return {
    upstreams: KRO_APP_SERVICES.map((service) => ({ name: upstreamOf(service), host: service, port: o.ports[service] })),
    acmeWebroot: HOST_LAYOUT.acmeWebroot,
    sites: o.sites.map((site) => ({
      serverNames: site.serverNames,
      tls: o.tls,
      httpToHttps: true,
      routes: site.routes.map((r) => ({ path: r.path, upstream: upstreamOf(r.service), ...(r.websocket ? { websocket: true } : {}) })),
    })),
  };
}
