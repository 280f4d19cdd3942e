// DBIS's alerts (runbook 004, "Alert Thresholds") as Prometheus rules, and the Prometheus that evaluates them by
// scraping the app's /metrics. The runbook names metrics for payments and TLS errors; for pool exhaustion, health,
// unmatched reconciliation items and the circuit breaker it names none, so DBIS_METRIC_CONTRACT below is what the app
// must export (documented in stacks/dbis/README.md). Each threshold is held to the runbook's text by promtool tests
// (test/stacks/dbis/alerts-fire-at-runbook-thresholds.test.ts).
import { renderAlertRuleFiles, renderPrometheusConfig, type AlertGroup } from "../../renderers/monitoring/prometheus";
import { DBIS_ALERTMANAGER_PORT, DBIS_ALERTMANAGER_SERVICE } from "./alerting";
import { DBIS_APP_SERVICE, DBIS_ENDPOINTS } from "./inventory";

/** The scrape job of the app: every alert selects on it. */
export const DBIS_APP_JOB = "dbis-app";
/** Relative to the deploy directory; mounted read-only at /etc/prometheus. */
export const DBIS_PROMETHEUS_DIR = "monitoring/prometheus";

/** Metrics the runbook does not name, which the app must export for its alerts (type, meaning). */
export const DBIS_METRIC_CONTRACT = {
  db_pool_connections_in_use: "gauge: connections of the app's PostgreSQL pool checked out right now",
  db_pool_connections_max: "gauge: the pool's configured maximum (the runbook's 'connection pool size in config')",
  health_check_status: "gauge, label `check` (database, redis, tls, ...): 1 when that part of /health passes, 0 when it fails",
  reconciliation_unmatched_items: "gauge: payments the last reconciliation run left unmatched (the exception queue's size)",
  tls_circuit_breaker_state: "gauge, label `receiver`: 0 CLOSED, 1 HALF_OPEN, 2 OPEN",
} as const;

const job = `job="${DBIS_APP_JOB}"`;

export function dbisAlertGroups(): AlertGroup[] {
  const service = DBIS_APP_SERVICE;
  return [
    {
      name: "dbis-critical",
      rules: [
        {
          alert: "DbisPaymentFailureRateHigh",
          // "Payment failure rate > 5% in 5 minutes": failed over initiated, both over the last 5 minutes.
          expr: `100 * sum(increase(payments_failed_total{${job}}[5m])) / sum(increase(payments_initiated_total{${job}}[5m])) > 5`,
          for: "1m",
          severity: "critical",
          service,
          summary: "Payment failure rate above 5% over 5 minutes",
          description: "More than 5% of the payments initiated in the last 5 minutes failed. Runbook 004: check the application logs, compliance screening and ledger adapter connectivity.",
        },
        {
          alert: "DbisTlsConnectionErrors",
          // "TLS connection errors > 10 in 1 minute".
          expr: `sum(increase(tls_connection_errors_total{${job}}[1m])) > 10`,
          for: "0s",
          severity: "critical",
          service,
          summary: "More than 10 TLS connection errors in a minute",
          description: "More than 10 TLS connection errors in the last minute. Runbook 004 TLS Connection Issues: receiver IP/port, certificate validity, network, TLS pool logs.",
        },
        {
          alert: "DbisDatabasePoolExhausted",
          // "Database connection pool exhaustion": every connection of the pool checked out.
          expr: `max(db_pool_connections_in_use{${job}} / db_pool_connections_max{${job}}) * 100 >= 100`,
          for: "1m",
          severity: "critical",
          service,
          summary: "The app's database connection pool is exhausted",
          description: "Every connection of the pool is in use. Runbook 004 Database Connection Issues: long-running queries (pg_stat_activity), then the pool size.",
        },
        {
          alert: "DbisHealthCheckFailing",
          // "Health check failing": /health reports a failed check, or the app does not answer at all.
          expr: `min(health_check_status{${job}}) < 1 or max(up{${job}}) < 1`,
          for: "1m",
          severity: "critical",
          service,
          summary: "DBIS health check failing",
          description: "/health reports a failing check, or the app's /metrics cannot be scraped. Runbook 004: curl http://localhost:3000/health on the host.",
        },
      ],
    },
    {
      name: "dbis-warning",
      rules: [
        {
          alert: "DbisPaymentLatencyP95High",
          // "Payment processing latency p95 > 30s".
          expr: `histogram_quantile(0.95, sum by (le) (rate(payment_processing_duration_seconds_bucket{${job}}[5m]))) > 30`,
          for: "5m",
          severity: "warning",
          service,
          summary: "Payment processing p95 above 30s",
          description: "p95 payment processing time above 30s over 5 minutes. Runbook 004 Payment Stuck in Processing.",
        },
        {
          alert: "DbisReconciliationUnmatchedHigh",
          // "Unmatched reconciliation items > 10".
          expr: `max(reconciliation_unmatched_items{${job}}) > 10`,
          for: "0s",
          severity: "warning",
          service,
          summary: "More than 10 unmatched reconciliation items",
          description: "More than 10 payments are unmatched. Runbook 004 Reconciliation Exceptions: review the report and the exception queue.",
        },
        {
          alert: "DbisTlsCircuitBreakerOpen",
          // "TLS circuit breaker OPEN state" (2 in the metric contract).
          expr: `max(tls_circuit_breaker_state{${job}}) >= 2`,
          for: "0s",
          severity: "warning",
          service,
          summary: "TLS circuit breaker OPEN",
          description: "The TLS circuit breaker to a receiver is OPEN: messages are not transmitted. Runbook 004 TLS Connection Issues; reset the breaker once the receiver is reachable.",
        },
      ],
    },
  ];
}

/** prometheus.yml and the rule files, keyed by path relative to the deploy directory. */
export function dbisMonitoringFiles(opts: { stack: string; appPort: number }): Record<string, string> {
  const header = "Rendered by Lazarus (stacks/dbis/monitoring.ts); edits are overwritten by the next pulumi up.";
  const rules = renderAlertRuleFiles(dbisAlertGroups(), "rules", header);
  const config = renderPrometheusConfig(
    {
      externalLabels: { platform: "dbis", stack: opts.stack },
      ruleFiles: Object.keys(rules),
      alertmanagers: [`${DBIS_ALERTMANAGER_SERVICE}:${DBIS_ALERTMANAGER_PORT}`],
      scrapeJobs: [{ job: DBIS_APP_JOB, targets: [`${DBIS_APP_SERVICE}:${opts.appPort}`], metricsPath: DBIS_ENDPOINTS.metrics, labels: { service: DBIS_APP_SERVICE } }],
    },
    header,
  );
  return Object.fromEntries([["prometheus.yml", config], ...Object.entries(rules)].map(([k, v]) => [`${DBIS_PROMETHEUS_DIR}/${k}`, v]));
}
