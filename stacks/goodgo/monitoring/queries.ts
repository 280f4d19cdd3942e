// Section 7's PromQL, verbatim, and the query builders the alerts and dashboards share.

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

export const API_SEL = 'job="goodgo-api"';
export const apiQuantile = (q: number, by = "le") =>
  `histogram_quantile(${q}, sum(rate(goodgo_api_request_duration_seconds_bucket{${API_SEL}}[5m])) by (${by}))`;
export const containerMemoryOf = (re: string) => `container_memory_usage_bytes{name=~"${re}"}`;
export const containerCpuOf = (re: string) => `rate(container_cpu_usage_seconds_total{name=~"${re}"}[5m])`;
