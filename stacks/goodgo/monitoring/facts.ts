// GoodGo's monitoring facts from the service inventory (runbook 001, section 1): the services, container names and
// container ports the monitoring stack talks to (from ../services.ts, one source of truth), the exporters
// the Appendix's alerts need, where each rendered directory is mounted, and the secret files shipped beside them.
//
// What the alerts need beyond the 14 services of section 1: the runbook's alerts read metrics that none of the 14
// services exposes by itself, so four exporters are declared in GOODGO_EXPORTERS (postgres_exporter, redis_exporter,
// cAdvisor, node_exporter), which stacks/goodgo/inventory.ts adds to the compose file. Without them the database,
// Redis, container and disk alerts cannot fire, and PrometheusTargetDown reports the missing targets.
import { goodgoServices } from "../services";
import { refuseField } from "../../../renderers/renderInputError";

/** The renderer name GoodGo's own monitoring input checks refuse under. */
export const RENDERER = "goodgo monitoring";
export const HEADER = "Rendered by Lazarus from stacks/goodgo/monitoring/ (runbook 001). Do not edit on the host.";

// Section 1's services, ports and container names come from the service inventory (one source of truth).
const INVENTORY = goodgoServices();

/** The 14 services of section 1, in inventory order. */
export const GOODGO_SERVICES: readonly string[] = INVENTORY.map((s) => s.name);

/** Container names of the 14 services (`goodgo-<service>`), as Promtail labels their log streams. */
export const GOODGO_CONTAINERS: readonly string[] = INVENTORY.map((s) => s.containerName ?? s.name);

export const GOODGO_CONTAINER_PREFIX = "goodgo-";

function containerPort(service: string): number {
  const port = INVENTORY.find((s) => s.name === service)?.ports?.[0]?.container;
  if (port === undefined) refuseField(RENDERER, `goodgo inventory.${service}.ports`, "the monitoring stack needs this service's container port");
  return port;
}

/**
 * Ports the monitoring stack talks to, inside the compose network: section 1's (via the inventory), plus Promtail's
 * HTTP port, which only the Promtail config rendered here and its scrape target use.
 */
export const GOODGO_PORTS = {
  api: containerPort("api"),
  prometheus: containerPort("prometheus"),
  alertmanager: containerPort("alertmanager"),
  loki: containerPort("loki"),
  grafana: containerPort("grafana"),
  promtail: 9080,
} as const;

/**
 * Exporters the Appendix's alerts need (not among the 14 services of section 1; the compose file must add them).
 * `service` is the target label Alertmanager groups and inhibits on.
 */
export const GOODGO_EXPORTERS = [
  {
    name: "postgres-exporter", image: { repository: "quay.io/prometheuscommunity/postgres-exporter", tag: "v0.15.0" }, port: 9187, job: "postgres", service: "postgres",
    needs: "DATA_SOURCE_URI, DATA_SOURCE_USER and DATA_SOURCE_PASS_FILE (the password in a mounted secret file); PG_EXPORTER_EXTEND_QUERY_PATH=/etc/postgres-exporter/queries.yml (postgres-exporter/queries.yml mounted read-only) for pg_lock_waiting_count",
  },
  {
    name: "redis-exporter", image: { repository: "oliver006/redis_exporter", tag: "v1.58.0" }, port: 9121, job: "redis", service: "redis",
    needs: "REDIS_ADDR=redis://redis:6379 and REDIS_PASSWORD_FILE (a JSON map of that address to the password, in a mounted secret file)",
  },
  {
    name: "cadvisor", image: { repository: "gcr.io/cadvisor/cadvisor", tag: "v0.49.1" }, port: 8080, job: "cadvisor", service: "cadvisor",
    needs: "read-only mounts /:/rootfs, /var/run:/var/run, /sys:/sys, /var/lib/docker:/var/lib/docker; privileged or /dev/kmsg",
  },
  {
    name: "node-exporter", image: { repository: "prom/node-exporter", tag: "v1.7.0" }, port: 9100, job: "node", service: "host",
    needs: "--path.rootfs=/host with /:/host:ro,rslave; --collector.textfile.directory=/backups/metrics with the pg_backups volume at /backups:ro",
  },
] as const;

/** Where the lead mounts each rendered directory (host path relative to the monitoring dir -> container path). */
export const GOODGO_MONITORING_MOUNTS = {
  prometheus: { from: "prometheus", to: "/etc/prometheus" },
  alertmanager: { from: "alertmanager", to: "/etc/alertmanager" },
  grafanaProvisioning: { from: "grafana/provisioning", to: "/etc/grafana/provisioning" },
  grafanaDashboards: { from: "grafana/dashboards", to: "/etc/grafana/dashboards" },
  loki: { from: "loki", to: "/etc/loki" },
  promtail: { from: "promtail", to: "/etc/promtail" },
  postgresExporter: { from: "postgres-exporter", to: "/etc/postgres-exporter" },
} as const;

/** In-container paths of the secret files the lead ships separately (mode 0600, from Pulumi secrets). */
export const GOODGO_SECRET_FILES = {
  slackWebhook: "/etc/alertmanager/secrets/slack_webhook_url",
  grafanaAdminPassword: "/run/secrets/grafana_admin_password",
} as const;
