// Every GoodGo monitoring file the host needs, keyed by path relative to the monitoring directory (./monitoring/
// beside the compose file), rendered by the generic renderers in renderers/monitoring/; the stack copies them to the
// host, where the inventory's bind mounts put them at GOODGO_MONITORING_MOUNTS. Also the container settings that are
// not files: Prometheus retention (30 d prod / 15 d otherwise, a command-line flag) and Grafana's environment.
// Datasources use section 6's URLs; Loki keeps 15 d.
import { renderAlertRuleFiles, renderPrometheusConfig } from "../../../renderers/monitoring/prometheus";
import { renderAlertmanagerConfig } from "../../../renderers/monitoring/alertmanager";
import { grafanaSecurityEnv, renderDashboard, renderDashboardProviders, renderDatasources } from "../../../renderers/monitoring/grafana";
import { renderLokiConfig } from "../../../renderers/monitoring/loki";
import { renderPromtailConfig } from "../../../renderers/monitoring/promtail";
import { checkAbsolutePath, checkDuration } from "../../../renderers/monitoring/common";
import { refuseField } from "../../../renderers/renderInputError";
import { goodgoAlertGroups, renderPostgresExporterQueries } from "./alerts";
import { GOODGO_DATASOURCES, goodgoDashboards } from "./dashboards";
import { GOODGO_MONITORING_MOUNTS, GOODGO_PORTS, GOODGO_SECRET_FILES, HEADER, RENDERER } from "./facts";
import { goodgoAlertmanager } from "./routing";
import { goodgoScrapeJobs } from "./scrape";

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
