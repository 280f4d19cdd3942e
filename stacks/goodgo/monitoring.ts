// GoodGo's monitoring stack as data (runbook 001: section 1 services, section 6 dashboards, section 7 queries,
// Appendix alert rules and routing), rendered by the generic renderers in renderers/monitoring/.
// Pure: no Pulumi. `goodgoMonitoringFiles` returns every file the host needs, keyed by path relative to the
// monitoring directory (./monitoring/ beside the compose file); the lead's components copy them to the host.
// Service names, container names and container ports come from the service inventory (lib/inventories/goodgo.ts),
// whose bind mounts put the files where GOODGO_MONITORING_MOUNTS says. Two mounts the inventory does not have yet:
// ./monitoring/grafana/dashboards -> /etc/grafana/dashboards (grafana, read-only) and
// ./monitoring/postgres-exporter -> /etc/postgres-exporter (postgres-exporter, see GOODGO_EXPORTERS).
//
// Facts taken from the runbook, which the tests hold this file to:
// - alert names, severities and durations exactly as the Appendix tables; evaluation every 15 s;
// - the Appendix lists 23 alerts (6 + 4 + 4 + 3 + 4 + 2) although its commit message says "24 alerts across 7 groups";
//   no 24th name appears anywhere in the runbook, so none is invented here. The 7 groups follow the commit message's
//   list ("database connections, Redis memory/connections, container resources, disk usage, service health, and
//   backup integrity" + the API group): the Appendix table "Disk & Infrastructure" is split into `disk` and
//   `service-health`;
// - routing: warnings -> #sre-oncall every 4 h, criticals -> #sre-oncall every 1 h (priority), backup alerts ->
//   #infrastructure every 6 h; a critical alert suppresses warnings for the same service (equal: service);
// - the seven dashboards of section 6 (uids = the "Grafana Path" column) in the "GoodGo" folder, built on section 7's
//   queries; Prometheus (default), Loki, Alertmanager datasources with section 6's URLs;
// - Prometheus retention 30 d prod / 15 d otherwise (a command-line flag: goodgoPrometheusFlags); Loki 15 d.
//
// What the alerts need beyond the 14 services of section 1 (the lead adds these to the compose file):
// the runbook's alerts read metrics that none of the 14 services exposes by itself, so four exporters are declared in
// GOODGO_EXPORTERS (postgres_exporter, redis_exporter, cAdvisor, node_exporter). Without them the database, Redis,
// container and disk alerts cannot fire, and PrometheusTargetDown reports the missing targets.
//
// What pg-backup must expose so BackupTooOld and BackupVerificationFailed fire truthfully (GOODGO_BACKUP_METRICS):
// two Prometheus textfiles in /backups/metrics/ (on the pg_backups volume), each written to a temp file in the same
// directory and then `mv`-ed into place so node_exporter never reads one half-written:
//   pg_backup.prom  rewritten by pg-backup.sh ONLY after a successful backup (a failed run leaves it alone, so the
//                   timestamp keeps ageing and BackupTooOld fires 25 h after the last good backup):
//     goodgo_backup_last_success_timestamp_seconds  unix time the backup finished (the result line's finished_at)
//     goodgo_backup_last_size_bytes                 size of that backup file (the result line's bytes)
//   pg_verify.prom  rewritten by pg-verify.sh after EVERY verification run, pass or fail:
//     goodgo_backup_verify_success                  1 if verify-latest.json says ok, 0 otherwise (also 0 when the
//                                                   verification could not run at all)
//     goodgo_backup_verify_last_run_timestamp_seconds  unix time the verification finished
// renderBackupSuccessMetrics / renderVerifyMetrics below render exactly those files (the tests pass them through
// `promtool check metrics` and through a real Prometheus evaluating the backup rules). In shell, e.g.:
//   printf '%s\n' '# TYPE goodgo_backup_last_success_timestamp_seconds gauge' \
//     "goodgo_backup_last_success_timestamp_seconds $(date +%s)" ... > /backups/metrics/.pg_backup.prom.tmp &&
//   mv /backups/metrics/.pg_backup.prom.tmp /backups/metrics/pg_backup.prom
// node_exporter reads the directory with --collector.textfile.directory=/backups/metrics (pg_backups mounted at
// /backups read-only). BackupTooOld also fires when the metric is absent (no backup ever recorded, or the file is
// gone); BackupVerificationFailed fires when the last verification failed.
import type { AlertGroup, AlertRule, ScrapeJob } from "../../renderers/monitoring/prometheus";
import { renderAlertRuleFiles, renderPrometheusConfig } from "../../renderers/monitoring/prometheus";
import type { AlertmanagerInput, Matcher } from "../../renderers/monitoring/alertmanager";
import { renderAlertmanagerConfig } from "../../renderers/monitoring/alertmanager";
import type { DashboardSpec, DatasourceRef, PanelSpec } from "../../renderers/monitoring/grafana";
import {
  grafanaSecurityEnv,
  renderDashboard,
  renderDashboardProviders,
  renderDatasources,
} from "../../renderers/monitoring/grafana";
import { renderLokiConfig } from "../../renderers/monitoring/loki";
import { renderPromtailConfig } from "../../renderers/monitoring/promtail";
import { checkAbsolutePath, checkDuration, toYaml } from "../../renderers/monitoring/common";
import { refuseField } from "../../renderers/renderInputError";
import { goodgoServices } from "../../lib/inventories/goodgo";

/** The renderer name GoodGo's own input checks refuse under. */
const RENDERER = "goodgo monitoring";
const HEADER = "Rendered by Lazarus from stacks/goodgo/monitoring.ts (runbook 001). Do not edit on the host.";

// ---------------------------------------------------------------- section 1: services and ports

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
    name: "postgres-exporter", image: "quay.io/prometheuscommunity/postgres-exporter:v0.15.0", port: 9187, job: "postgres", service: "postgres",
    needs: "DATA_SOURCE_NAME from a secret (read-only monitoring role on postgres:5432); PG_EXPORTER_EXTEND_QUERY_PATH=/etc/postgres-exporter/queries.yml (postgres-exporter/queries.yml mounted read-only) for pg_lock_waiting_count",
  },
  {
    name: "redis-exporter", image: "oliver006/redis_exporter:v1.58.0", port: 9121, job: "redis", service: "redis",
    needs: "REDIS_ADDR=redis://redis:6379 and REDIS_PASSWORD_FILE (or REDIS_PASSWORD from the .env secret)",
  },
  {
    name: "cadvisor", image: "gcr.io/cadvisor/cadvisor:v0.49.1", port: 8080, job: "cadvisor", service: "cadvisor",
    needs: "read-only mounts /:/rootfs, /var/run:/var/run, /sys:/sys, /var/lib/docker:/var/lib/docker; privileged or /dev/kmsg",
  },
  {
    name: "node-exporter", image: "prom/node-exporter:v1.7.0", port: 9100, job: "node", service: "host",
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

// ---------------------------------------------------------------- section 7: queries (verbatim)

/** The PromQL of section 7, character for character; dashboards and alerts are built on these. */
export const SECTION7_QUERIES = {
  apiP99: 'histogram_quantile(0.99, sum(rate(goodgo_api_request_duration_seconds_bucket{job="goodgo-api"}[5m])) by (le))',
  apiRouteP99Top10: 'topk(10, histogram_quantile(0.99, sum(rate(goodgo_api_request_duration_seconds_bucket{job="goodgo-api"}[5m])) by (le, route, method)))',
  apiRequestRateByStatus: 'sum(rate(http_requests_total{job="goodgo-api"}[5m])) by (status_code)',
  api5xxPercent: '(sum(rate(http_requests_total{job="goodgo-api", status_code=~"5.."}[5m])) / sum(rate(http_requests_total{job="goodgo-api"}[5m]))) * 100',
  pgActiveConnections: 'pg_stat_activity_count{datname="goodgo", state="active"}',
  containerMemory: 'container_memory_usage_bytes{name=~"goodgo-.*"}',
  containerCpu: 'rate(container_cpu_usage_seconds_total{name=~"goodgo-.*"}[5m])',
} as const;

/** Metric names section 7 uses; every Prometheus panel of the dashboards reads only these. */
export const SECTION7_METRICS = [
  "goodgo_api_request_duration_seconds_bucket",
  "http_requests_total",
  "pg_stat_activity_count",
  "container_memory_usage_bytes",
  "container_cpu_usage_seconds_total",
] as const;

const API_SEL = 'job="goodgo-api"';
const apiQuantile = (q: number, by = "le") =>
  `histogram_quantile(${q}, sum(rate(goodgo_api_request_duration_seconds_bucket{${API_SEL}}[5m])) by (${by}))`;
const containerMemoryOf = (re: string) => `container_memory_usage_bytes{name=~"${re}"}`;
const containerCpuOf = (re: string) => `rate(container_cpu_usage_seconds_total{name=~"${re}"}[5m])`;

// ---------------------------------------------------------------- backup metrics contract

export const GOODGO_BACKUP_METRICS = {
  dir: "/backups/metrics",
  backupTextfile: "/backups/metrics/pg_backup.prom",
  verifyTextfile: "/backups/metrics/pg_verify.prom",
  lastSuccess: "goodgo_backup_last_success_timestamp_seconds",
  lastSize: "goodgo_backup_last_size_bytes",
  verifySuccess: "goodgo_backup_verify_success",
  verifyLastRun: "goodgo_backup_verify_last_run_timestamp_seconds",
  /** BackupTooOld threshold: 25 hours. */
  maxAgeSeconds: 25 * 3600,
} as const;

function gauge(name: string, help: string, value: number): string[] {
  if (!Number.isFinite(value) || value < 0) refuseField("backup metrics", name, `expected a non-negative number, got ${value}`);
  return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${Math.floor(value)}`];
}

/** pg_backup.prom: written by pg-backup only after a successful backup. */
export function renderBackupSuccessMetrics(m: { finishedUnix: number; sizeBytes: number }): string {
  const B = GOODGO_BACKUP_METRICS;
  return `${[
    ...gauge(B.lastSuccess, "Unix time the last successful pg-backup finished.", m.finishedUnix),
    ...gauge(B.lastSize, "Size in bytes of the last successful backup file.", m.sizeBytes),
  ].join("\n")}\n`;
}

/** pg_verify.prom: written by pg-verify after every verification run. */
export function renderVerifyMetrics(m: { passed: boolean; finishedUnix: number }): string {
  const B = GOODGO_BACKUP_METRICS;
  return `${[
    ...gauge(B.verifySuccess, "1 if the last backup verification passed, 0 if it failed.", m.passed ? 1 : 0),
    ...gauge(B.verifyLastRun, "Unix time the last backup verification finished.", m.finishedUnix),
  ].join("\n")}\n`;
}

/** postgres_exporter custom query for PostgresSlowQueries ("lock-waiting queries"): pg_lock_waiting_count{datname}. */
export const PG_LOCK_WAITING_SQL =
  "SELECT datname, count(*) AS count FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname IS NOT NULL GROUP BY datname";

export function renderPostgresExporterQueries(): string {
  return toYaml(
    {
      pg_lock_waiting: {
        query: PG_LOCK_WAITING_SQL,
        metrics: [
          { datname: { usage: "LABEL", description: "Database name" } },
          { count: { usage: "GAUGE", description: "Backends waiting on a lock" } },
        ],
      },
    },
    `${HEADER}\npostgres_exporter extra queries (PG_EXPORTER_EXTEND_QUERY_PATH).`,
  );
}

// ---------------------------------------------------------------- Appendix: alert rules

export interface GoodGoAlertOptions {
  dbName?: string;
  containerPrefix?: string;
  runbookUrl?: string;
}

/** The Appendix's alerts in 7 groups. Each description starts with the Appendix's expression text. */
export function goodgoAlertGroups(opts: GoodGoAlertOptions = {}): AlertGroup[] {
  const db = opts.dbName ?? "goodgo";
  const prefix = opts.containerPrefix ?? GOODGO_CONTAINER_PREFIX;
  const containers = `name=~"${prefix}.+"`;
  const serviceFromName = (expr: string) => `label_replace(${expr}, "service", "$1", "name", "${prefix}(.+)")`;
  const link = (anchor: string) => (opts.runbookUrl ? `${opts.runbookUrl}#${anchor}` : undefined);
  const rate5xx = `(sum(rate(http_requests_total{${API_SEL}, status_code=~"5.."}[5m])) / sum(rate(http_requests_total{${API_SEL}}[5m]))) * 100`;
  const rule = (r: AlertRule): AlertRule => r;

  const api: AlertRule[] = [
    rule({ alert: "ApiLatencyP99High", expr: `${apiQuantile(0.99)} > 1`, for: "5m", severity: "warning", service: "api",
      summary: "API p99 latency above 1s", description: "p99 > 1s for 5 minutes (runbook 3.4).", runbookUrl: link("34-high-api-latency") }),
    rule({ alert: "ApiEndpointLatencyP99High", expr: `${apiQuantile(0.99, "le, route, method")} > 2`, for: "5m", severity: "warning", service: "api",
      summary: "API route {{ $labels.method }} {{ $labels.route }} p99 latency above 2s", description: "Per-route p99 > 2s for 5 minutes (runbook 3.4).", runbookUrl: link("34-high-api-latency") }),
    rule({ alert: "ApiLatencyP99Critical", expr: `${apiQuantile(0.99)} > 3`, for: "3m", severity: "critical", service: "api",
      summary: "API p99 latency above 3s (SLO breach)", description: "p99 > 3s (SLO breach) for 3 minutes (runbook 3.4, P1).", runbookUrl: link("34-high-api-latency") }),
    rule({ alert: "ApiErrorRate5xxHigh", expr: `${rate5xx} > 1`, for: "5m", severity: "warning", service: "api",
      summary: "API 5xx rate above 1%", description: "5xx rate > 1% for 5 minutes (runbook 3.10).", runbookUrl: link("310-5xx-error-rate-spike") }),
    rule({ alert: "ApiErrorRate5xxCritical", expr: `${rate5xx} > 5`, for: "3m", severity: "critical", service: "api",
      summary: "API 5xx rate above 5%", description: "5xx rate > 5% for 3 minutes (runbook 3.10, P1).", runbookUrl: link("310-5xx-error-rate-spike") }),
    rule({ alert: "ApiNoTraffic", expr: `(sum(rate(http_requests_total{${API_SEL}}[5m])) or vector(0)) == 0`, for: "10m", severity: "warning", service: "api",
      summary: "API receives no requests", description: "Request rate = 0 for 10 minutes." }),
  ];

  const database: AlertRule[] = [
    rule({ alert: "PostgresActiveConnectionsHigh", expr: `sum(pg_stat_activity_count{datname="${db}", state="active"}) > 15`, for: "5m", severity: "warning", service: "postgres",
      summary: "More than 15 active PostgreSQL connections", description: "Active connections > 15 for 5 minutes (runbook 3.1).", runbookUrl: link("31-database-connection-pool-exhaustion") }),
    rule({ alert: "PostgresConnectionPoolCritical", expr: "sum(pg_stat_activity_count) > 180", for: "2m", severity: "critical", service: "postgres",
      summary: "More than 180 PostgreSQL connections", description: "Total connections > 180 for 2 minutes (runbook 3.1).", runbookUrl: link("31-database-connection-pool-exhaustion") }),
    rule({ alert: "PostgresSlowQueries", expr: "sum(pg_lock_waiting_count) > 5", for: "5m", severity: "warning", service: "postgres",
      summary: "More than 5 queries waiting on locks", description: "Lock-waiting queries > 5 for 5 minutes (runbook 3.4)." }),
    rule({ alert: "PostgresDown", expr: 'pg_up{job="postgres"} == 0 or up{job="postgres"} == 0', for: "1m", severity: "critical", service: "postgres",
      summary: "PostgreSQL is down or its exporter cannot be scraped", description: "API scrape target down for 1 minute: postgres_exporter reports pg_up 0 or cannot be scraped." }),
  ];

  const redis: AlertRule[] = [
    rule({ alert: "RedisMemoryHigh", expr: 'redis_memory_used_bytes{job="redis"} / (redis_memory_max_bytes{job="redis"} > 0) * 100 > 80', for: "5m", severity: "warning", service: "redis",
      summary: "Redis memory above 80% of maxmemory", description: "Memory usage > 80% for 5 minutes (runbook 3.2).", runbookUrl: link("32-redis-connection-failure") }),
    rule({ alert: "RedisMemoryCritical", expr: 'redis_memory_used_bytes{job="redis"} / (redis_memory_max_bytes{job="redis"} > 0) * 100 > 95', for: "2m", severity: "critical", service: "redis",
      summary: "Redis memory above 95% of maxmemory", description: "Memory usage > 95% for 2 minutes (runbook 3.2).", runbookUrl: link("32-redis-connection-failure") }),
    rule({ alert: "RedisConnectedClientsHigh", expr: 'redis_connected_clients{job="redis"} > 150', for: "5m", severity: "warning", service: "redis",
      summary: "More than 150 Redis clients", description: "Clients > 150 for 5 minutes (runbook 3.2)." }),
    rule({ alert: "RedisRejectedConnections", expr: 'increase(redis_rejected_connections_total{job="redis"}[5m]) > 0', for: "1m", severity: "critical", service: "redis",
      summary: "Redis rejects connections", description: "Rejected connections > 0 for 1 minute (runbook 3.2)." }),
  ];

  const containersGroup: AlertRule[] = [
    rule({ alert: "ContainerRestartLoop", expr: serviceFromName(`changes(container_start_time_seconds{${containers}}[15m]) > 3`), for: "5m", severity: "critical", serviceFromSeries: true,
      summary: "{{ $labels.name }} restarted more than 3 times in 15 minutes", description: "> 3 restarts in 15 min, for 5 minutes." }),
    rule({ alert: "ContainerMemoryHigh", expr: serviceFromName(`container_memory_usage_bytes{${containers}} / (container_spec_memory_limit_bytes{${containers}} > 0) * 100 > 85`), for: "5m", severity: "warning", serviceFromSeries: true,
      summary: "{{ $labels.name }} memory above 85% of its limit", description: "Memory > 85% of limit for 5 minutes." }),
    rule({ alert: "ContainerCPUThrottled", expr: serviceFromName(`rate(container_cpu_cfs_throttled_seconds_total{${containers}}[5m]) > 0.5`), for: "10m", severity: "warning", serviceFromSeries: true,
      summary: "{{ $labels.name }} CPU throttled", description: "CPU throttle rate > 0.5s/s for 10 minutes." }),
  ];

  const rootFs = 'job="node", mountpoint="/", fstype!~"tmpfs|overlay"';
  const diskUsed = `(1 - node_filesystem_avail_bytes{${rootFs}} / node_filesystem_size_bytes{${rootFs}}) * 100`;
  const disk: AlertRule[] = [
    rule({ alert: "HostDiskUsageHigh", expr: `${diskUsed} > 80`, for: "10m", severity: "warning", service: "host",
      summary: "Root disk above 80%", description: "Root disk > 80% for 10 minutes (runbook 3.6).", runbookUrl: link("36-disk-space-alerts") }),
    rule({ alert: "HostDiskUsageCritical", expr: `${diskUsed} > 90`, for: "5m", severity: "critical", service: "host",
      summary: "Root disk above 90%", description: "Root disk > 90% for 5 minutes (runbook 3.6).", runbookUrl: link("36-disk-space-alerts") }),
  ];

  const serviceHealth: AlertRule[] = [
    rule({ alert: "ApiHealthCheckFailing", expr: `up{${API_SEL}} == 0`, for: "2m", severity: "critical", service: "api",
      summary: "API does not answer Prometheus' probe", description: "Health probe fails for 2 minutes: the API's HTTP endpoint does not answer." }),
    rule({ alert: "PrometheusTargetDown", expr: "up == 0", for: "5m", severity: "warning", serviceFromSeries: true,
      summary: "Scrape target {{ $labels.job }} ({{ $labels.instance }}) is down", description: "Scrape target down for 5 minutes." }),
  ];

  const B = GOODGO_BACKUP_METRICS;
  const backupLabels = { category: "backup" };
  const backup: AlertRule[] = [
    rule({ alert: "BackupTooOld", expr: `(time() - max(${B.lastSuccess}) > ${B.maxAgeSeconds}) or absent(${B.lastSuccess})`, for: "5m", severity: "warning", service: "pg-backup", labels: backupLabels,
      summary: "Last successful PostgreSQL backup is older than 25 hours", description: "Last backup > 25 hours ago (or no backup recorded) for 5 minutes (runbook 4.1, 9).", runbookUrl: link("41-database-restore-from-backup") }),
    rule({ alert: "BackupVerificationFailed", expr: `min(${B.verifySuccess}) == 0`, for: "1m", severity: "warning", service: "pg-backup", labels: backupLabels,
      summary: "Latest backup verification failed", description: "Verify result = fail (see /backups/verify-latest.json) for 1 minute (runbook 9).", runbookUrl: link("9-disaster-recovery-validation") }),
  ];

  return [
    { name: "api", rules: api },
    { name: "database", rules: database },
    { name: "redis", rules: redis },
    { name: "containers", rules: containersGroup },
    { name: "disk", rules: disk },
    { name: "service-health", rules: serviceHealth },
    { name: "backup", rules: backup },
  ];
}

// ---------------------------------------------------------------- scrape targets

export function goodgoScrapeJobs(): ScrapeJob[] {
  const own: ScrapeJob[] = [
    { job: "goodgo-api", targets: [`api:${GOODGO_PORTS.api}`], metricsPath: "/metrics", labels: { service: "api" } },
    { job: "prometheus", targets: [`localhost:${GOODGO_PORTS.prometheus}`], labels: { service: "prometheus" } },
    { job: "alertmanager", targets: [`alertmanager:${GOODGO_PORTS.alertmanager}`], labels: { service: "alertmanager" } },
    { job: "loki", targets: [`loki:${GOODGO_PORTS.loki}`], labels: { service: "loki" } },
    { job: "promtail", targets: [`promtail:${GOODGO_PORTS.promtail}`], labels: { service: "promtail" } },
    { job: "grafana", targets: [`grafana:${GOODGO_PORTS.grafana}`], labels: { service: "grafana" } },
  ];
  // Not scraped: web (no metrics endpoint in the runbook), ai-services (no /metrics documented), typesense
  // (/metrics.json is not the Prometheus format), minio (needs a bearer token), pgbouncer (section 7: not scraped).
  const exporters: ScrapeJob[] = GOODGO_EXPORTERS.map((e) => ({ job: e.job, targets: [`${e.name}:${e.port}`], labels: { service: e.service } }));
  return [...own, ...exporters];
}

// ---------------------------------------------------------------- Alertmanager routing

export interface GoodGoRoutingOptions {
  oncallChannel?: string;
  infrastructureChannel?: string;
  webhookFile?: string;
}

const sev = (value: string): Matcher => ({ label: "severity", value });

export function goodgoAlertmanager(opts: GoodGoRoutingOptions = {}): AlertmanagerInput {
  const oncall = opts.oncallChannel ?? "#sre-oncall";
  const infra = opts.infrastructureChannel ?? "#infrastructure";
  const webhookFile = opts.webhookFile ?? GOODGO_SECRET_FILES.slackWebhook;
  const title = '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.service }})';
  const text = "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}{{ if .Annotations.runbook_url }}\nRunbook: {{ .Annotations.runbook_url }}{{ end }}\n{{ end }}";
  return {
    resolveTimeout: "5m",
    route: {
      receiver: "sre-oncall-warning",
      groupBy: ["alertname", "service"],
      groupWait: "30s",
      groupInterval: "5m",
      repeatInterval: "4h",
      routes: [
        // Backup alerts first: they go to #infrastructure whatever their severity.
        { receiver: "infrastructure-backup", matchers: [{ label: "category", value: "backup" }], repeatInterval: "6h" },
        { receiver: "sre-oncall-critical", matchers: [sev("critical")], groupWait: "10s", repeatInterval: "1h" },
        { receiver: "sre-oncall-warning", matchers: [sev("warning")], repeatInterval: "4h" },
      ],
    },
    receivers: [
      { kind: "slack", name: "sre-oncall-warning", channel: oncall, webhookFile, title, text, color: '{{ if eq .Status "firing" }}warning{{ else }}good{{ end }}' },
      { kind: "slack", name: "sre-oncall-critical", channel: oncall, webhookFile, title: `:rotating_light: [P1] ${title}`, text: `<!channel> ${text}`, color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}' },
      { kind: "slack", name: "infrastructure-backup", channel: infra, webhookFile, title, text, color: '{{ if eq .Status "firing" }}warning{{ else }}good{{ end }}' },
    ],
    inhibitRules: [
      // Runbook: "Warning alerts are suppressed when a critical alert for the same service is already firing."
      { sourceMatchers: [sev("critical")], targetMatchers: [sev("warning")], equal: ["service"] },
    ],
  };
}

// ---------------------------------------------------------------- Grafana: datasources and dashboards

export const GOODGO_DATASOURCES = {
  prometheus: { type: "prometheus", uid: "prometheus" } as DatasourceRef,
  loki: { type: "loki", uid: "loki" } as DatasourceRef,
  alertmanager: { type: "alertmanager", uid: "alertmanager" } as DatasourceRef,
};

/** Route patterns (regexes on the API's `route` label) the Business Metrics and Search dashboards count. */
export const GOODGO_ROUTE_PATTERNS = {
  search: ".*search.*",
  listings: ".*/listings.*",
  inquiries: ".*/inquir.*",
  payments: ".*/payments.*",
  registrations: ".*/auth/register.*",
} as const;

function routeRate(routeRe: string, extra = ""): string {
  return `sum(rate(http_requests_total{${API_SEL}, route=~"${routeRe}"${extra}}[5m]))`;
}

export function goodgoDashboards(opts: { containerPrefix?: string; dbName?: string } = {}): DashboardSpec[] {
  const P = GOODGO_DATASOURCES.prometheus;
  const prefix = opts.containerPrefix ?? GOODGO_CONTAINER_PREFIX;
  const db = opts.dbName ?? "goodgo";
  const Q = SECTION7_QUERIES;
  const tags = ["goodgo"];
  const c = (svc: string) => `${prefix}${svc}`;
  const memPanel = (title: string, re: string, w = 12): PanelSpec => ({ type: "timeseries", title, unit: "bytes", w, targets: [{ expr: containerMemoryOf(re), legendFormat: "{{name}}" }] });
  const cpuPanel = (title: string, re: string, w = 12): PanelSpec => ({ type: "timeseries", title, unit: "percentunit", w, targets: [{ expr: containerCpuOf(re), legendFormat: "{{name}}" }] });
  const pgActive = Q.pgActiveConnections.replace('datname="goodgo"', `datname="${db}"`);

  const apiOverview: DashboardSpec = {
    uid: "api-overview", title: "GoodGo API Overview", tags, datasource: P,
    description: "Request rates, status codes, active connections (runbook section 6).",
    panels: [
      { type: "stat", title: "Request rate", unit: "reqps", w: 6, h: 4, targets: [{ expr: `sum(rate(http_requests_total{${API_SEL}}[5m]))` }] },
      { type: "stat", title: "5xx error rate", unit: "percent", w: 6, h: 4, thresholds: [{ color: "orange", value: 1 }, { color: "red", value: 5 }], targets: [{ expr: Q.api5xxPercent }] },
      { type: "stat", title: "p99 latency", unit: "s", w: 6, h: 4, thresholds: [{ color: "orange", value: 1 }, { color: "red", value: 3 }], targets: [{ expr: Q.apiP99 }] },
      { type: "stat", title: "Active DB connections", unit: "short", w: 6, h: 4, thresholds: [{ color: "orange", value: 15 }], targets: [{ expr: `sum(${pgActive})` }] },
      { type: "timeseries", title: "Requests by status code", unit: "reqps", w: 12, targets: [{ expr: Q.apiRequestRateByStatus, legendFormat: "{{status_code}}" }] },
      { type: "timeseries", title: "5xx error percentage", unit: "percent", w: 12, thresholds: [{ color: "orange", value: 1 }, { color: "red", value: 5 }], targets: [{ expr: Q.api5xxPercent, legendFormat: "5xx %" }] },
      { type: "table", title: "Busiest routes", w: 12, targets: [{ expr: `topk(10, sum(rate(http_requests_total{${API_SEL}}[5m])) by (route, method))`, instant: true }] },
      { type: "timeseries", title: "Active PostgreSQL connections", unit: "short", w: 12, thresholds: [{ color: "orange", value: 15 }], targets: [{ expr: pgActive, legendFormat: "active" }] },
      memPanel("API container memory", c("api")),
      cpuPanel("API container CPU", c("api")),
    ],
  };

  const apiLatency: DashboardSpec = {
    uid: "api-latency", title: "GoodGo API Latency", tags, datasource: P,
    description: "p50/p95/p99 latency by endpoint, latency heatmap (runbook section 6).",
    panels: [
      { type: "timeseries", title: "Latency p50 / p95 / p99", unit: "s", w: 16, thresholds: [{ color: "orange", value: 1 }, { color: "red", value: 3 }],
        targets: [{ expr: apiQuantile(0.5), legendFormat: "p50" }, { expr: apiQuantile(0.95), legendFormat: "p95" }, { expr: Q.apiP99, legendFormat: "p99" }] },
      { type: "gauge", title: "Current p99", unit: "s", w: 8, min: 0, max: 5, thresholds: [{ color: "orange", value: 1 }, { color: "red", value: 3 }], targets: [{ expr: Q.apiP99 }] },
      { type: "table", title: "Top 10 slowest endpoints (p99)", unit: "s", w: 12, targets: [{ expr: Q.apiRouteP99Top10, instant: true }] },
      { type: "timeseries", title: "p99 by endpoint (top 10)", unit: "s", w: 12, thresholds: [{ color: "orange", value: 2 }], targets: [{ expr: Q.apiRouteP99Top10, legendFormat: "{{method}} {{route}}" }] },
      { type: "heatmap", title: "Latency heatmap", w: 24, targets: [{ expr: `sum(rate(goodgo_api_request_duration_seconds_bucket{${API_SEL}}[5m])) by (le)`, legendFormat: "{{le}}", format: "heatmap" }] },
    ],
  };

  const database: DashboardSpec = {
    uid: "database", title: "GoodGo Database", tags, datasource: P,
    description: "PostgreSQL connections, query performance, PgBouncer (runbook section 6). PgBouncer pools are not scraped (section 7): SHOW POOLS in its admin console.",
    panels: [
      { type: "stat", title: "Active connections", w: 8, h: 5, thresholds: [{ color: "orange", value: 15 }], targets: [{ expr: `sum(${pgActive})` }] },
      { type: "gauge", title: "Total connections", w: 8, h: 5, min: 0, max: 200, thresholds: [{ color: "orange", value: 150 }, { color: "red", value: 180 }], targets: [{ expr: "sum(pg_stat_activity_count)" }] },
      { type: "table", title: "Connections by state", w: 8, h: 5, targets: [{ expr: `sum(pg_stat_activity_count{datname="${db}"}) by (state)`, instant: true }] },
      { type: "timeseries", title: "Active connections", unit: "short", w: 12, thresholds: [{ color: "orange", value: 15 }], targets: [{ expr: pgActive, legendFormat: "active" }] },
      { type: "timeseries", title: "Connections by state", unit: "short", w: 12, targets: [{ expr: `sum(pg_stat_activity_count{datname="${db}"}) by (state)`, legendFormat: "{{state}}" }] },
      memPanel("PostgreSQL / PgBouncer memory", `${c("postgres")}|${c("pgbouncer")}`),
      cpuPanel("PostgreSQL / PgBouncer CPU", `${c("postgres")}|${c("pgbouncer")}`),
    ],
  };

  const search: DashboardSpec = {
    uid: "search", title: "GoodGo Search", tags, datasource: P,
    description: "Typesense query rates and latency as the API sees them; Typesense memory (it holds its index in RAM) (runbook section 6).",
    panels: [
      { type: "stat", title: "Search request rate", unit: "reqps", w: 8, h: 4, targets: [{ expr: routeRate(GOODGO_ROUTE_PATTERNS.search) }] },
      { type: "stat", title: "Search p99", unit: "s", w: 8, h: 4, thresholds: [{ color: "orange", value: 1 }], targets: [{ expr: `histogram_quantile(0.99, sum(rate(goodgo_api_request_duration_seconds_bucket{${API_SEL}, route=~"${GOODGO_ROUTE_PATTERNS.search}"}[5m])) by (le))` }] },
      { type: "stat", title: "Typesense memory", unit: "bytes", w: 8, h: 4, targets: [{ expr: `sum(${containerMemoryOf(c("typesense"))})` }] },
      { type: "timeseries", title: "Search requests by route", unit: "reqps", w: 12, targets: [{ expr: `sum(rate(http_requests_total{${API_SEL}, route=~"${GOODGO_ROUTE_PATTERNS.search}"}[5m])) by (route, status_code)`, legendFormat: "{{route}} {{status_code}}" }] },
      { type: "timeseries", title: "Search latency p99 by route", unit: "s", w: 12, targets: [{ expr: `histogram_quantile(0.99, sum(rate(goodgo_api_request_duration_seconds_bucket{${API_SEL}, route=~"${GOODGO_ROUTE_PATTERNS.search}"}[5m])) by (le, route))`, legendFormat: "{{route}}" }] },
      memPanel("Typesense memory (index size)", c("typesense")),
      cpuPanel("Typesense CPU", c("typesense")),
    ],
  };

  const business = (title: string, re: string): PanelSpec => ({
    type: "stat", title, unit: "short", w: 6, h: 4, targets: [{ expr: `sum(increase(http_requests_total{${API_SEL}, method="POST", route=~"${re}", status_code=~"2.."}[24h]))` }],
  });
  const businessMetrics: DashboardSpec = {
    uid: "business-metrics", title: "GoodGo Business Metrics", tags, datasource: P,
    description: "Listings, inquiries, payments, user registrations, counted from the API's successful POST requests (runbook section 6).",
    panels: [
      business("Listings created (24h)", GOODGO_ROUTE_PATTERNS.listings),
      business("Inquiries (24h)", GOODGO_ROUTE_PATTERNS.inquiries),
      business("Payments (24h)", GOODGO_ROUTE_PATTERNS.payments),
      business("Registrations (24h)", GOODGO_ROUTE_PATTERNS.registrations),
      { type: "timeseries", title: "Business events per second", unit: "reqps", w: 24,
        targets: Object.entries(GOODGO_ROUTE_PATTERNS).filter(([k]) => k !== "search").map(([k, re]) => ({ expr: routeRate(re, ', method="POST", status_code=~"2.."'), legendFormat: k })) },
      { type: "timeseries", title: "Payment callback errors (5xx)", unit: "reqps", w: 12, thresholds: [{ color: "red", value: 0.01 }], targets: [{ expr: routeRate(GOODGO_ROUTE_PATTERNS.payments, ', status_code=~"5.."'), legendFormat: "5xx" }] },
      { type: "table", title: "Payment routes by status", w: 12, targets: [{ expr: `sum(rate(http_requests_total{${API_SEL}, route=~"${GOODGO_ROUTE_PATTERNS.payments}"}[5m])) by (route, method, status_code)`, instant: true }] },
    ],
  };

  const webVitals: DashboardSpec = {
    uid: "web-vitals", title: "GoodGo Web Vitals", tags, datasource: P,
    description: "Page load from the server side: the web container and the API latency behind each page (runbook section 6). Browser LCP/FID/CLS need a real-user metric that section 7 does not define.",
    panels: [
      { type: "stat", title: "API p95 (server part of page load)", unit: "s", w: 8, h: 4, thresholds: [{ color: "orange", value: 1 }], targets: [{ expr: apiQuantile(0.95) }] },
      { type: "stat", title: "Web memory", unit: "bytes", w: 8, h: 4, targets: [{ expr: `sum(${containerMemoryOf(c("web"))})` }] },
      { type: "stat", title: "API 5xx", unit: "percent", w: 8, h: 4, thresholds: [{ color: "orange", value: 1 }, { color: "red", value: 5 }], targets: [{ expr: Q.api5xxPercent }] },
      { type: "timeseries", title: "API latency behind pages p50/p95", unit: "s", w: 24, targets: [{ expr: apiQuantile(0.5), legendFormat: "p50" }, { expr: apiQuantile(0.95), legendFormat: "p95" }] },
      memPanel("Web container memory", c("web")),
      cpuPanel("Web container CPU", c("web")),
    ],
  };

  const L = GOODGO_DATASOURCES.loki;
  const logSel = '{container_name=~"$container", level=~"$level"} |= "$correlation_id"';
  const logs: DashboardSpec = {
    uid: "logs", title: "GoodGo Logs", tags, datasource: L,
    description: "Loki log explorer with filters by service, level, correlation ID (runbook section 6).",
    variables: [
      { name: "container", label: "Service", kind: "custom", options: [...GOODGO_CONTAINERS], includeAll: true, allValue: `${prefix}.+`, multi: true },
      { name: "level", label: "Level", kind: "custom", options: ["error", "warn", "info", "debug"], includeAll: true, allValue: ".*", multi: true },
      { name: "correlation_id", label: "Correlation ID", kind: "textbox", defaultValue: "" },
    ],
    panels: [
      { type: "timeseries", title: "Log lines by service", unit: "short", w: 12, targets: [{ expr: `sum by (container_name) (count_over_time(${logSel} [5m]))`, legendFormat: "{{container_name}}" }] },
      { type: "timeseries", title: "Error lines by service", unit: "short", w: 12, targets: [{ expr: `sum by (container_name) (count_over_time({container_name=~"$container"} |~ "(?i)error" [5m]))`, legendFormat: "{{container_name}}" }] },
      { type: "logs", title: "Logs", w: 24, h: 16, targets: [{ expr: logSel }] },
    ],
  };

  return [apiOverview, apiLatency, database, search, businessMetrics, webVitals, logs];
}

// ---------------------------------------------------------------- everything as files

export interface GoodGoMonitoringOptions {
  stack: "prod" | "staging" | string;
  /** Prometheus TSDB retention; default 30d on prod, 15d elsewhere. */
  prometheusRetention?: string;
  /** Loki retention in days (default 15). */
  lokiRetentionDays?: number;
  slackChannels?: { oncall?: string; infrastructure?: string };
  /** In-container path of the Slack webhook file (default GOODGO_SECRET_FILES.slackWebhook). */
  slackWebhookFile?: string;
  runbookUrl?: string;
  dbName?: string;
  containerPrefix?: string;
  /** Compose project whose containers Promtail ships (all containers when omitted). */
  composeProject?: string;
}

export function goodgoPrometheusRetention(opts: Pick<GoodGoMonitoringOptions, "stack" | "prometheusRetention">): string {
  return checkDuration(RENDERER, "goodgo.monitoring.prometheusRetention", opts.prometheusRetention ?? (opts.stack === "prod" ? "30d" : "15d"));
}

/** Command-line flags of the Prometheus container (retention is a flag, not part of prometheus.yml). */
export function goodgoPrometheusFlags(opts: Pick<GoodGoMonitoringOptions, "stack" | "prometheusRetention">): string[] {
  return [
    `--config.file=${GOODGO_MONITORING_MOUNTS.prometheus.to}/prometheus.yml`,
    "--storage.tsdb.path=/prometheus",
    `--storage.tsdb.retention.time=${goodgoPrometheusRetention(opts)}`,
    "--web.enable-lifecycle",
  ];
}

/** Grafana container environment: admin user by name, password by file (never by value). */
export function goodgoGrafanaEnv(opts: { adminUser?: string; adminPasswordFile?: string } = {}): Record<string, string> {
  return grafanaSecurityEnv({
    adminUser: opts.adminUser ?? "admin",
    adminPasswordFile: opts.adminPasswordFile ?? GOODGO_SECRET_FILES.grafanaAdminPassword,
  });
}

/** Every rendered monitoring file, keyed by path relative to the monitoring directory on the host. */
export function goodgoMonitoringFiles(opts: GoodGoMonitoringOptions): Record<string, string> {
  if (!opts.stack || !/^[a-z0-9][a-z0-9-]*$/.test(opts.stack)) {
    refuseField(RENDERER, "goodgo.monitoring.stack", `expected a stack name such as "prod" or "staging", got ${JSON.stringify(opts.stack)}`);
  }
  goodgoPrometheusRetention(opts);
  const webhookFile = checkAbsolutePath(RENDERER, "goodgo.monitoring.slackWebhookFile", opts.slackWebhookFile ?? GOODGO_SECRET_FILES.slackWebhook);
  const groups = goodgoAlertGroups({ dbName: opts.dbName, containerPrefix: opts.containerPrefix, runbookUrl: opts.runbookUrl });
  const ruleFiles = renderAlertRuleFiles(groups, "rules", HEADER);
  const files: Record<string, string> = {};

  files["prometheus/prometheus.yml"] = renderPrometheusConfig(
    {
      scrapeInterval: "15s",
      evaluationInterval: "15s",
      externalLabels: { environment: opts.stack, platform: "goodgo" },
      ruleFiles: Object.keys(ruleFiles),
      alertmanagers: [`alertmanager:${GOODGO_PORTS.alertmanager}`],
      scrapeJobs: goodgoScrapeJobs(),
    },
    HEADER,
  );
  for (const [path, text] of Object.entries(ruleFiles)) files[`prometheus/${path}`] = text;

  files["alertmanager/alertmanager.yml"] = renderAlertmanagerConfig(
    goodgoAlertmanager({ oncallChannel: opts.slackChannels?.oncall, infrastructureChannel: opts.slackChannels?.infrastructure, webhookFile }),
    `${HEADER}\nThe Slack webhook is read from ${webhookFile} (shipped separately, mode 0600).`,
  );

  files["grafana/provisioning/datasources/datasources.yml"] = renderDatasources(
    [
      { ...GOODGO_DATASOURCES.prometheus, name: "Prometheus", url: `http://prometheus:${GOODGO_PORTS.prometheus}`, isDefault: true },
      {
        ...GOODGO_DATASOURCES.loki, name: "Loki", url: `http://loki:${GOODGO_PORTS.loki}`,
        jsonData: { maxLines: 1000 },
        // Correlation IDs in log lines link to every service's lines carrying the same id.
        derivedFields: [{ name: "CorrelationID", matcherRegex: '(?:correlationId|correlation_id|x-correlation-id)["=:\\s]+"?([\\w-]+)', url: '{container_name=~"goodgo-.+"} |= "${__value.raw}"', datasourceUid: GOODGO_DATASOURCES.loki.uid }],
      },
      { ...GOODGO_DATASOURCES.alertmanager, name: "Alertmanager", url: `http://alertmanager:${GOODGO_PORTS.alertmanager}` },
    ],
    HEADER,
  );
  files["grafana/provisioning/dashboards/goodgo.yml"] = renderDashboardProviders(
    [{ name: "goodgo", folder: "GoodGo", folderUid: "goodgo", path: GOODGO_MONITORING_MOUNTS.grafanaDashboards.to }],
    HEADER,
  );
  for (const d of goodgoDashboards({ containerPrefix: opts.containerPrefix, dbName: opts.dbName })) {
    files[`grafana/dashboards/${d.uid}.json`] = renderDashboard(d);
  }

  files["loki/loki.yml"] = renderLokiConfig({ retentionDays: opts.lokiRetentionDays ?? 15, httpPort: GOODGO_PORTS.loki }, HEADER);
  files["promtail/promtail.yml"] = renderPromtailConfig(
    {
      lokiPushUrl: `http://loki:${GOODGO_PORTS.loki}/loki/api/v1/push`,
      httpPort: GOODGO_PORTS.promtail,
      positionsFile: "/tmp/positions.yaml",
      composeProject: opts.composeProject,
      staticLabels: { environment: opts.stack },
    },
    HEADER,
  );
  files["postgres-exporter/queries.yml"] = renderPostgresExporterQueries();
  return files;
}
