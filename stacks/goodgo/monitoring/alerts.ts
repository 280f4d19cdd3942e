// The Appendix's alert rules (runbook 001), as data for renderers/monitoring/prometheus.ts, and the postgres_exporter
// query one of them reads. Facts the tests hold this file to:
// - alert names, severities and durations exactly as the Appendix tables; evaluation every 15 s;
// - the Appendix lists 23 alerts (6 + 4 + 4 + 3 + 4 + 2) although its commit message says "24 alerts across 7 groups";
//   no 24th name appears anywhere in the runbook, so none is invented here. The 7 groups follow the commit message's
//   list ("database connections, Redis memory/connections, container resources, disk usage, service health, and
//   backup integrity" + the API group): the Appendix table "Disk & Infrastructure" is split into `disk` and
//   `service-health`.
import type { AlertGroup, AlertRule } from "../../../renderers/monitoring/prometheus";
import { toYaml } from "../../../renderers/monitoring/common";
import { PG_WAL_ARCHIVE_SQL } from "../../../lib/postgresPitr";
import { GOODGO_BACKUP_METRICS } from "./backupMetrics";
import { GOODGO_CONTAINER_PREFIX, HEADER } from "./facts";
import { API_SEL, apiQuantile } from "./queries";

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
      // WalArchivingFailing (beyond the Appendix: the physical route's archiving, lib/postgresPitr.ts)
      pg_wal_archive: {
        query: PG_WAL_ARCHIVE_SQL,
        metrics: [
          { failing: { usage: "GAUGE", description: "1 while the newest WAL archive attempt failed" } },
          { failed_count: { usage: "COUNTER", description: "WAL segments whose archiving failed since the statistics were reset" } },
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
    // Beyond the Appendix: the physical route that lowers 4.1's RPO ("consider WAL archiving for lower RPO").
    rule({ alert: "PitrBackupTooOld", expr: `(time() - max(${B.pitrLastSuccess}) > ${B.pitrMaxAgeSeconds}) or absent(${B.pitrLastSuccess})`, for: "5m", severity: "warning", service: "pg-backup", labels: backupLabels,
      summary: "Last successful pgBackRest backup is older than 25 hours", description: "The newest pgBackRest full or differential backup ended > 25 hours ago (or none recorded) for 5 minutes: point-in-time restores replay ever more WAL (runbook 4.1).", runbookUrl: link("41-database-restore-from-backup") }),
    rule({ alert: "WalArchivingFailing", expr: `max(${B.walArchiveFailing}) == 1`, for: "5m", severity: "critical", service: "postgres", labels: backupLabels,
      summary: "PostgreSQL cannot archive WAL to the pgBackRest repository", description: "archive_command has been failing for 5 minutes: nothing newer is recoverable to a point in time, and pg_wal grows until the disk is full (runbook 3.6, 4.1).", runbookUrl: link("41-database-restore-from-backup") }),
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
