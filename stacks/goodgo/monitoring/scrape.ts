// What Prometheus scrapes on the GoodGo host: its own monitoring services and the exporters the alerts read.
import type { ScrapeJob } from "../../../renderers/monitoring/prometheus";
import { GOODGO_EXPORTERS, GOODGO_PORTS } from "./facts";

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
