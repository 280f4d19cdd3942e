// KRO's production compose host (runbook 000, "KRO Platform"): backend, frontend, admin-frontend behind an nginx
// container that terminates TLS with the host's certbot certificates. Pure data; the KRO stack passes its config.
//
// The one source of KRO's services: stacks/kro.ts maps the stack config onto these options; the renderer tests use
// the defaults.
// The runbook names the services and the files the backend reads (production.json and the managed database's CA
// certificate, both in the deploy directory, both secret and shipped separately with mode 0600) but not images,
// ports or health endpoints; those are options with defaults a stack file can override.

import { HealthCheck, ServiceSpec, ServiceInventory, defineInventory } from "../inventory";
import type { NginxConfInput } from "../../renderers/nginx";

export interface KroAppOptions {
  image: string;
  /** Port the process listens on inside the container. */
  port: number;
  /** HTTP path answering 200 when the service is up. */
  healthPath: string;
  /** Override the default health check (node fetch against healthPath). */
  healthcheck?: HealthCheck;
  limits?: { cpus: number; memoryMb: number };
}

export interface KroInventoryOptions {
  backend?: Partial<KroAppOptions>;
  frontend?: Partial<KroAppOptions>;
  adminFrontend?: Partial<KroAppOptions>;
  nginxImage?: string;
  /** Where the backend reads production.json inside its container. */
  backendConfigTarget?: string;
  /** Where the backend reads the database CA certificate inside its container. */
  backendCaTarget?: string;
  /** Host directory certbot keeps certificates in (mounted read-only into nginx). */
  letsencryptDir?: string;
  /** Host directory certbot --webroot writes HTTP-01 challenges to (mounted read-only into nginx). */
  acmeWebroot?: string;
  /** Name of the database CA file in the deploy directory (the runbook's name on prod; per stack elsewhere). */
  caFile?: string;
  /** Host directory holding the certificate links nginx reads (mounted read-only into nginx beside letsencryptDir). */
  tlsDir?: string;
}

export const KRO_CONFIG_FILE = "production.json";
export const KRO_DB_CA_FILE = "kro-prod-db-cluster-ca-certificate.crt";
export const KRO_NGINX_CONF = "nginx.conf";

const DEFAULTS: Record<"backend" | "frontend" | "admin-frontend", KroAppOptions> = {
  backend: { image: "${REGISTRY_URL:-registry.digitalocean.com/kro}/kro-backend:${IMAGE_TAG:-latest}", port: 3000, healthPath: "/health" },
  frontend: { image: "${REGISTRY_URL:-registry.digitalocean.com/kro}/kro-frontend:${IMAGE_TAG:-latest}", port: 3000, healthPath: "/" },
  "admin-frontend": {
    image: "${REGISTRY_URL:-registry.digitalocean.com/kro}/kro-admin-frontend:${IMAGE_TAG:-latest}",
    port: 3000,
    healthPath: "/",
  },
};

const nodeHealth = (port: number, path: string): HealthCheck => ({
  test: { exec: ["node", "-e", `fetch('http://127.0.0.1:${port}${path}').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))`] },
  interval: "15s",
  timeout: "5s",
  retries: 5,
  startPeriod: "30s",
});

function app(name: keyof typeof DEFAULTS, o: Partial<KroAppOptions> | undefined): KroAppOptions {
  return { ...DEFAULTS[name], ...(o ?? {}) };
}

export function kroServices(o: KroInventoryOptions = {}): ServiceSpec[] {
  const backend = app("backend", o.backend);
  const frontend = app("frontend", o.frontend);
  const admin = app("admin-frontend", o.adminFrontend);
  const webApp = (name: "frontend" | "admin-frontend", a: KroAppOptions): ServiceSpec => ({
    name,
    role: "app",
    image: a.image,
    ports: [{ container: a.port }],
    environment: { NODE_ENV: "production" },
    healthcheck: a.healthcheck ?? nodeHealth(a.port, a.healthPath),
    limits: a.limits ?? { cpus: 0.5, memoryMb: 512 },
    // The web apps call the API: they start after it and stop before it (runbook 000's entry points first).
    dependsOn: [{ service: "backend", condition: "healthy" }],
  });
  return [
    {
      name: "backend",
      role: "app",
      image: backend.image,
      ports: [{ container: backend.port }],
      environment: { NODE_ENV: "production" },
      volumes: [
        { kind: "bind", source: `./${KRO_CONFIG_FILE}`, target: o.backendConfigTarget ?? "/app/config/production.json", readOnly: true },
        { kind: "bind", source: `./${o.caFile ?? KRO_DB_CA_FILE}`, target: o.backendCaTarget ?? `/app/config/${o.caFile ?? KRO_DB_CA_FILE}`, readOnly: true },
      ],
      healthcheck: backend.healthcheck ?? nodeHealth(backend.port, backend.healthPath),
      limits: backend.limits ?? { cpus: 1, memoryMb: 1024 },
      stopGracePeriod: "30s",
    },
    webApp("frontend", frontend),
    webApp("admin-frontend", admin),
    {
      name: "nginx",
      role: "edge",
      image: o.nginxImage ?? "nginx:1.27-alpine",
      ports: [
        { container: 80, published: 80 },
        { container: 443, published: 443 },
      ],
      volumes: [
        { kind: "bind", source: `./${KRO_NGINX_CONF}`, target: "/etc/nginx/nginx.conf", readOnly: true },
        ...(o.tlsDir ? [{ kind: "bind" as const, source: o.tlsDir, target: o.tlsDir, readOnly: true }] : []),
        // A certificate link in tlsDir points into certbot's live directory: the container needs it at the same path.
        { kind: "bind", source: o.letsencryptDir ?? "/etc/letsencrypt", target: o.letsencryptDir ?? "/etc/letsencrypt", readOnly: true },
        { kind: "bind", source: o.acmeWebroot ?? "/var/www/certbot", target: "/var/www/certbot", readOnly: true },
      ],
      // /healthz is answered by the rendered nginx.conf's default server on port 80 (renderers/nginx.ts).
      healthcheck: { test: { exec: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1/healthz"] }, interval: "15s", timeout: "5s", retries: 3 },
      limits: { cpus: 0.5, memoryMb: 256 },
      dependsOn: [
        { service: "backend", condition: "healthy" },
        { service: "frontend", condition: "healthy" },
        { service: "admin-frontend", condition: "healthy" },
      ],
    },
  ];
}

export function kroInventory(o: KroInventoryOptions = {}): ServiceInventory {
  return defineInventory(kroServices(o));
}

/** A KRO site routed by the stack config: path prefixes to application services. */
export interface KroSite {
  serverNames: string[];
  routes: { path: string; service: "backend" | "frontend" | "admin-frontend"; websocket?: boolean }[];
}

export interface KroSiteOptions {
  /** Sites with their routes; replaces the default pair built from serverNames and adminServerNames. */
  sites?: KroSite[];
  /** Certificate and key nginx serves; default certbot's live directory for certName. */
  tls?: { certPath: string; keyPath: string };
  /** Plain-HTTP path for the container health check (see renderers/nginx.ts). */
  healthPath?: string;
  /** Public host names of the main site (frontend at /, backend under /api/). */
  serverNames: string[];
  /** Host names of the admin site (admin-frontend at /, backend under /api/). */
  adminServerNames: string[];
  /** Live certificate directory name under /etc/letsencrypt/live/ (certbot's --cert-name). */
  certName: string;
  backendPort?: number;
  frontendPort?: number;
  adminFrontendPort?: number;
}

/** The KRO nginx container's configuration input: both sites, upstreams from the inventory's service names. */
export function kroNginxInput(o: KroSiteOptions): NginxConfInput {
  const tls = o.tls ?? { certPath: `/etc/letsencrypt/live/${o.certName}/fullchain.pem`, keyPath: `/etc/letsencrypt/live/${o.certName}/privkey.pem` };
  const upstreamOf = (service: string) => service.replace(/-/g, "_");
  const base: NginxConfInput = {
    upstreams: [
      { name: "backend", host: "backend", port: o.backendPort ?? 3000 },
      { name: "frontend", host: "frontend", port: o.frontendPort ?? 3000 },
      { name: "admin_frontend", host: "admin-frontend", port: o.adminFrontendPort ?? 3000 },
    ],
    acmeWebroot: "/var/www/certbot",
    sites: [
      {
        serverNames: o.serverNames,
        tls,
        httpToHttps: true,
        routes: [
          { path: "/api/", upstream: "backend", websocket: true },
          { path: "/", upstream: "frontend" },
        ],
      },
      {
        serverNames: o.adminServerNames,
        tls,
        httpToHttps: true,
        routes: [
          { path: "/api/", upstream: "backend", websocket: true },
          { path: "/", upstream: "admin_frontend" },
        ],
      },
    ],
  };
  const withHealth = o.healthPath ? { ...base, healthPath: o.healthPath } : base;
  if (!o.sites) return withHealth;
  return {
    ...withHealth,
    sites: o.sites.map((site) => ({
      serverNames: site.serverNames,
      tls,
      httpToHttps: true,
      routes: site.routes.map((r) => ({ path: r.path, upstream: upstreamOf(r.service), ...(r.websocket ? { websocket: true } : {}) })),
    })),
  };
}
