// GoodGo's monitoring stack as data (runbook 001: section 1 services, section 6 dashboards, section 7 queries,
// Appendix alert rules and routing), rendered by the generic renderers in renderers/monitoring/. Pure: no Pulumi.
// One file per concern: facts.ts (services, ports, exporters, mounts, secret files), queries.ts (section 7),
// backupMetrics.ts (what pg-backup writes for the backup alerts), alerts.ts, scrape.ts, routing.ts, dashboards.ts and
// files.ts (every rendered file: goodgoMonitoringFiles). This index is what the rest of the stack and the tests import.
export { GOODGO_CONTAINERS, GOODGO_CONTAINER_PREFIX, GOODGO_EXPORTERS, GOODGO_MONITORING_MOUNTS, GOODGO_PORTS, GOODGO_SECRET_FILES, GOODGO_SERVICES } from "./facts";
export { SECTION7_METRICS, SECTION7_QUERIES } from "./queries";
export { GOODGO_BACKUP_METRICS, renderBackupSuccessMetrics, renderVerifyMetrics } from "./backupMetrics";
export { PG_LOCK_WAITING_SQL, goodgoAlertGroups, renderPostgresExporterQueries, type GoodGoAlertOptions } from "./alerts";
export { goodgoScrapeJobs } from "./scrape";
export { goodgoAlertmanager, type GoodGoRoutingOptions } from "./routing";
export { GOODGO_DATASOURCES, GOODGO_ROUTE_PATTERNS, goodgoDashboards } from "./dashboards";
export { goodgoGrafanaEnv, goodgoMonitoringFiles, goodgoPrometheusFlags, goodgoPrometheusRetention, type GoodGoMonitoringOptions } from "./files";
