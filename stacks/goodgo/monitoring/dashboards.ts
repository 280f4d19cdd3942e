// GoodGo's Grafana datasources and the seven dashboards of section 6 (uids = the "Grafana Path" column, in the
// "GoodGo" folder), built on section 7's queries.
import type { DashboardSpec, DatasourceRef, PanelSpec } from "../../../renderers/monitoring/grafana";
import { GOODGO_CONTAINERS, GOODGO_CONTAINER_PREFIX } from "./facts";
import { API_SEL, SECTION7_QUERIES, apiQuantile, containerCpuOf, containerMemoryOf } from "./queries";

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
