// The Appendix of runbook 001 ("Alert Rules Reference"), copied by hand from the runbook so the tests hold the
// rendered rules to the document rather than to the code under test.
export const APPENDIX_ALERTS: { alert: string; severity: "warning" | "critical"; for: string; table: string }[] = [
  { table: "API & Error Alerts", alert: "ApiLatencyP99High", severity: "warning", for: "5m" },
  { table: "API & Error Alerts", alert: "ApiEndpointLatencyP99High", severity: "warning", for: "5m" },
  { table: "API & Error Alerts", alert: "ApiLatencyP99Critical", severity: "critical", for: "3m" },
  { table: "API & Error Alerts", alert: "ApiErrorRate5xxHigh", severity: "warning", for: "5m" },
  { table: "API & Error Alerts", alert: "ApiErrorRate5xxCritical", severity: "critical", for: "3m" },
  { table: "API & Error Alerts", alert: "ApiNoTraffic", severity: "warning", for: "10m" },
  { table: "Database Alerts", alert: "PostgresActiveConnectionsHigh", severity: "warning", for: "5m" },
  { table: "Database Alerts", alert: "PostgresConnectionPoolCritical", severity: "critical", for: "2m" },
  { table: "Database Alerts", alert: "PostgresSlowQueries", severity: "warning", for: "5m" },
  { table: "Database Alerts", alert: "PostgresDown", severity: "critical", for: "1m" },
  { table: "Redis Alerts", alert: "RedisMemoryHigh", severity: "warning", for: "5m" },
  { table: "Redis Alerts", alert: "RedisMemoryCritical", severity: "critical", for: "2m" },
  { table: "Redis Alerts", alert: "RedisConnectedClientsHigh", severity: "warning", for: "5m" },
  { table: "Redis Alerts", alert: "RedisRejectedConnections", severity: "critical", for: "1m" },
  { table: "Container Resource Alerts", alert: "ContainerRestartLoop", severity: "critical", for: "5m" },
  { table: "Container Resource Alerts", alert: "ContainerMemoryHigh", severity: "warning", for: "5m" },
  { table: "Container Resource Alerts", alert: "ContainerCPUThrottled", severity: "warning", for: "10m" },
  { table: "Disk & Infrastructure Alerts", alert: "HostDiskUsageHigh", severity: "warning", for: "10m" },
  { table: "Disk & Infrastructure Alerts", alert: "HostDiskUsageCritical", severity: "critical", for: "5m" },
  { table: "Disk & Infrastructure Alerts", alert: "ApiHealthCheckFailing", severity: "critical", for: "2m" },
  { table: "Disk & Infrastructure Alerts", alert: "PrometheusTargetDown", severity: "warning", for: "5m" },
  { table: "Backup Alerts", alert: "BackupTooOld", severity: "warning", for: "5m" },
  { table: "Backup Alerts", alert: "BackupVerificationFailed", severity: "warning", for: "1m" },
];

/** Section 7's PromQL, character for character. */
export const SECTION7_TEXT = [
  'histogram_quantile(0.99, sum(rate(goodgo_api_request_duration_seconds_bucket{job="goodgo-api"}[5m])) by (le))',
  'topk(10, histogram_quantile(0.99, sum(rate(goodgo_api_request_duration_seconds_bucket{job="goodgo-api"}[5m])) by (le, route, method)))',
  'sum(rate(http_requests_total{job="goodgo-api"}[5m])) by (status_code)',
  '(sum(rate(http_requests_total{job="goodgo-api", status_code=~"5.."}[5m])) / sum(rate(http_requests_total{job="goodgo-api"}[5m]))) * 100',
  'pg_stat_activity_count{datname="goodgo", state="active"}',
  'container_memory_usage_bytes{name=~"goodgo-.*"}',
  'rate(container_cpu_usage_seconds_total{name=~"goodgo-.*"}[5m])',
];
