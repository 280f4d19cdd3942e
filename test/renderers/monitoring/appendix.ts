// The Appendix of runbook 001 ("Alert Rules Reference"), copied by hand from the runbook so the tests hold the
// rendered rules to the document rather than to the code under test.
/** `expression` is the Appendix's Expression column word for word: the thresholds the alert tests hold the rules to. */
export const APPENDIX_ALERTS: { alert: string; expression: string; severity: "warning" | "critical"; for: string; table: string }[] = [
  { table: "API & Error Alerts", alert: "ApiLatencyP99High", expression: "p99 > 1s", severity: "warning", for: "5m" },
  { table: "API & Error Alerts", alert: "ApiEndpointLatencyP99High", expression: "Per-route p99 > 2s", severity: "warning", for: "5m" },
  { table: "API & Error Alerts", alert: "ApiLatencyP99Critical", expression: "p99 > 3s (SLO breach)", severity: "critical", for: "3m" },
  { table: "API & Error Alerts", alert: "ApiErrorRate5xxHigh", expression: "5xx rate > 1%", severity: "warning", for: "5m" },
  { table: "API & Error Alerts", alert: "ApiErrorRate5xxCritical", expression: "5xx rate > 5%", severity: "critical", for: "3m" },
  { table: "API & Error Alerts", alert: "ApiNoTraffic", expression: "Request rate = 0", severity: "warning", for: "10m" },
  { table: "Database Alerts", alert: "PostgresActiveConnectionsHigh", expression: "Active connections > 15", severity: "warning", for: "5m" },
  { table: "Database Alerts", alert: "PostgresConnectionPoolCritical", expression: "Total connections > 180", severity: "critical", for: "2m" },
  { table: "Database Alerts", alert: "PostgresSlowQueries", expression: "Lock-waiting queries > 5", severity: "warning", for: "5m" },
  { table: "Database Alerts", alert: "PostgresDown", expression: "API scrape target down", severity: "critical", for: "1m" },
  { table: "Redis Alerts", alert: "RedisMemoryHigh", expression: "Memory usage > 80%", severity: "warning", for: "5m" },
  { table: "Redis Alerts", alert: "RedisMemoryCritical", expression: "Memory usage > 95%", severity: "critical", for: "2m" },
  { table: "Redis Alerts", alert: "RedisConnectedClientsHigh", expression: "Clients > 150", severity: "warning", for: "5m" },
  { table: "Redis Alerts", alert: "RedisRejectedConnections", expression: "Rejected connections > 0", severity: "critical", for: "1m" },
  { table: "Container Resource Alerts", alert: "ContainerRestartLoop", expression: "> 3 restarts in 15 min", severity: "critical", for: "5m" },
  { table: "Container Resource Alerts", alert: "ContainerMemoryHigh", expression: "Memory > 85% of limit", severity: "warning", for: "5m" },
  { table: "Container Resource Alerts", alert: "ContainerCPUThrottled", expression: "CPU throttle rate > 0.5s/s", severity: "warning", for: "10m" },
  { table: "Disk & Infrastructure Alerts", alert: "HostDiskUsageHigh", expression: "Root disk > 80%", severity: "warning", for: "10m" },
  { table: "Disk & Infrastructure Alerts", alert: "HostDiskUsageCritical", expression: "Root disk > 90%", severity: "critical", for: "5m" },
  { table: "Disk & Infrastructure Alerts", alert: "ApiHealthCheckFailing", expression: "Health probe fails", severity: "critical", for: "2m" },
  { table: "Disk & Infrastructure Alerts", alert: "PrometheusTargetDown", expression: "Scrape target down", severity: "warning", for: "5m" },
  { table: "Backup Alerts", alert: "BackupTooOld", expression: "Last backup > 25 hours ago", severity: "warning", for: "5m" },
  { table: "Backup Alerts", alert: "BackupVerificationFailed", expression: "Verify result = fail", severity: "warning", for: "1m" },
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

/**
 * Alerts GoodGo renders beyond the Appendix, for what the runbook asks to add ("consider WAL archiving for lower RPO",
 * section 4.1): the physical route's backups and WAL archiving (stacks/goodgo/monitoring/alerts.ts). Their thresholds
 * are Lazarus's choice, written here as the Appendix would write them; the tests hold them like the Appendix's.
 */
export const BEYOND_APPENDIX_ALERTS: typeof APPENDIX_ALERTS = [
  { table: "Backup Alerts (physical route)", alert: "PitrBackupTooOld", expression: "Last pgBackRest backup > 25 hours ago", severity: "warning", for: "5m" },
  { table: "Backup Alerts (physical route)", alert: "WalArchivingFailing", expression: "WAL archiving failing = 1", severity: "critical", for: "5m" },
];

/** Every alert GoodGo renders: the Appendix's 23 and the 2 beyond it. */
export const RENDERED_ALERTS = [...APPENDIX_ALERTS, ...BEYOND_APPENDIX_ALERTS];
