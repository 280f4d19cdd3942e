// DBIS's services (runbook 004): the Node.js/TypeScript Express app (`docker-compose logs -f app`: the service is
// "app") on port 3000 with `/health` and Prometheus `/metrics`, behind an nginx container that terminates TLS with the
// host's certbot certificates. The ONE list of DBIS's services: the compose file, orders, watched mounts and nginx
// upstream derive from it.
//
// The app reads DATABASE_URL from its environment (the runbook's `psql $DATABASE_URL`), so the 0600 `.env` Lazarus
// composes from the managed cluster's connection is loaded with env_file: the app image has no file variant for it
// (the same exception as GoodGo's application images). A changed `.env` is applied by recreating the container
// (`docker compose up` does, its resolved environment having changed), never by a restart, which keeps the old one.
import { nginxEdgeService } from "../../lib/edgeService";
import { HOST_LAYOUT, tlsPaths } from "../../lib/hostLayout";
import { defineInventory, type ServiceInventory, type ServiceSpec } from "../../lib/inventory";
import type { NginxConfInput } from "../../renderers/nginx";
import { DBIS_ALERTMANAGER_VOLUME, dbisAlertmanagerService } from "./alerting";
import { DBIS_APP_LOGS_VOLUME, DBIS_BACKUP_VOLUME, dbisBackupService } from "./backups";
import type { DbisConfig } from "./config";

export const DBIS_APP_SERVICE = "app";
export const DBIS_EDGE_SERVICE = "nginx";
export const DBIS_MONITORING_SERVICE = "prometheus";
/** Named volumes of the project. */
export const DBIS_VOLUMES = ["prometheus_data", DBIS_ALERTMANAGER_VOLUME, DBIS_BACKUP_VOLUME, DBIS_APP_LOGS_VOLUME] as const;

/** Files in the deploy directory, relative to it. */
export const DBIS_FILES = { compose: "docker-compose.yml", nginxConf: "nginx.conf", env: ".env" } as const;

/** The runbook's endpoints on the app. */
export const DBIS_ENDPOINTS = { health: "/health", metrics: "/metrics", api: "/api/v1", apiDocs: "/api-docs", terminal: "/" } as const;

export function dbisNames(stack: string) {
  const prefix = `dbis-${stack}`;
  return {
    prefix,
    host: `${prefix}-host`,
    standby: `${prefix}-standby`,
    /** The load balancer in front of the active droplet (Application Failover), and the call moving an existing server's IP. */
    appLb: `${prefix}-app-lb`,
    appFailover: `${prefix}-app-failover`,
    database: `${prefix}-db`,
    replica: `${prefix}-db-replica`,
    certName: prefix,
  };
}

export function dbisServices(cfg: DbisConfig): ServiceSpec[] {
  const { port } = cfg.app;
  return [
    {
      name: DBIS_APP_SERVICE,
      role: "app",
      image: `${cfg.app.image}:${cfg.app.imageTag}`,
      // Published on the host's loopback only: the runbook's `curl http://localhost:3000/health` and `/metrics` work
      // on the host, and the world reaches the app through nginx.
      ports: [{ container: port, published: port, bind: "127.0.0.1", description: "API, /health, /metrics (host-local)" }],
      environment: { NODE_ENV: "production", PORT: String(port) },
      envFile: [DBIS_FILES.env],
      // The runbook's `logs/application-*.log`, kept on a volume the backup container ships from.
      volumes: [{ kind: "volume", source: DBIS_APP_LOGS_VOLUME, target: cfg.app.logsDir }],
      healthcheck: {
        test: { exec: ["node", "-e", `fetch('http://127.0.0.1:${port}${DBIS_ENDPOINTS.health}').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))`] },
        interval: "15s",
        timeout: "5s",
        retries: 5,
        startPeriod: "30s",
      },
      // SIGTERM is the runbook's graceful shutdown; in-flight payments get time to finish.
      stopGracePeriod: "30s",
      limits: { cpus: cfg.app.cpus, memoryMb: cfg.app.memoryMb },
    },
    nginxEdgeService({
      name: DBIS_EDGE_SERVICE,
      image: cfg.app.nginxImage,
      confFile: DBIS_FILES.nginxConf,
      dependsOn: [{ service: DBIS_APP_SERVICE, condition: "healthy" }],
    }),
    {
      // Scrapes the app's /metrics and evaluates the runbook's alerts (stacks/dbis/monitoring.ts).
      name: DBIS_MONITORING_SERVICE,
      role: "monitoring",
      image: cfg.monitoring.prometheusImage,
      command: [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        `--storage.tsdb.retention.time=${cfg.monitoring.retention}`,
      ],
      // The host's loopback only: operators reach the UI through an SSH tunnel.
      ports: [{ container: 9090, published: 9090, bind: "127.0.0.1", description: "Prometheus (host-local)" }],
      volumes: [
        { kind: "volume", source: "prometheus_data", target: "/prometheus" },
        { kind: "bind", source: "./monitoring/prometheus", target: "/etc/prometheus", readOnly: true },
      ],
      healthcheck: { test: { exec: ["wget", "-q", "--spider", "http://127.0.0.1:9090/-/healthy"] }, interval: "15s", timeout: "5s", retries: 5 },
      limits: { cpus: 0.5, memoryMb: 512 },
    },
    dbisAlertmanagerService(cfg),
    dbisBackupService(cfg),
  ];
}

export function dbisInventory(cfg: DbisConfig): ServiceInventory {
  return defineInventory(dbisServices(cfg));
}

/** nginx in front of the app: every path to it, TLS from the host's certbot certificate. */
export function dbisNginxInput(cfg: DbisConfig, stack: string): NginxConfInput {
  return {
    upstreams: [{ name: DBIS_APP_SERVICE, host: DBIS_APP_SERVICE, port: cfg.app.port }],
    acmeWebroot: HOST_LAYOUT.acmeWebroot,
    sites: [
      {
        serverNames: [cfg.app.serverName],
        tls: tlsPaths(dbisNames(stack).certName),
        httpToHttps: true,
        routes: [{ path: "/", upstream: DBIS_APP_SERVICE }],
        // The app's metrics (payment volumes, failure counts) are for Prometheus on the compose network only.
        hiddenPaths: [DBIS_ENDPOINTS.metrics],
      },
    ],
  };
}
