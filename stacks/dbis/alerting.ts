// Where DBIS's alerts go (runbook 004, "Alert Thresholds" and "Emergency Contacts"). The runbook splits its alerts into
// Critical and Warning and lists its contacts as "[Contact]" placeholders, so the escalation is the stack file's:
//   - every alert goes to the team's Slack channel (warnings repeated every 4 h, criticals every 1 h);
//   - criticals also go by e-mail to the on-call address (a page that does not depend on Slack);
//   - a firing critical suppresses the warnings of the same service (the latency warning while payments fail).
// Alertmanager reads the Slack webhook and the SMTP password from 0600 files owned by its user (nobody); neither is in
// the config, the compose file or an environment.
import type { ServiceSpec } from "../../lib/inventory";
import { secretFileOwner } from "../../lib/imageFacts";
import { renderAlertmanagerConfig, type AlertmanagerInput, type Matcher } from "../../renderers/monitoring/alertmanager";
import type { DbisConfig } from "./config";

export const DBIS_ALERTMANAGER_SERVICE = "alertmanager";
export const DBIS_ALERTMANAGER_PORT = 9093;
export const DBIS_ALERTMANAGER_VOLUME = "alertmanager_data";

/** Relative to the deploy directory; the config directory is mounted read-only at /etc/alertmanager. */
export const DBIS_ALERTMANAGER_DIR = "monitoring/alertmanager";
export const DBIS_ALERTMANAGER_FILES = {
  config: `${DBIS_ALERTMANAGER_DIR}/alertmanager.yml`,
  slackWebhook: "secrets/alertmanager/slack_webhook_url",
  smtpPassword: "secrets/alertmanager/smtp_password",
} as const;
/** The same secret files inside the container. */
export const DBIS_ALERTMANAGER_SECRET_PATHS = { slackWebhook: "/run/secrets/slack_webhook_url", smtpPassword: "/run/secrets/smtp_password" } as const;

export const DBIS_RECEIVERS = { warning: "dbis-slack-warning", criticalSlack: "dbis-slack-critical", criticalEmail: "dbis-email-critical" } as const;

const sev = (value: string): Matcher => ({ label: "severity", value });

export function dbisAlertmanagerInput(cfg: DbisConfig, stack: string): AlertmanagerInput {
  const a = cfg.monitoring.alerting;
  const title = `[${stack}] [{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }}`;
  const text = "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n{{ end }}";
  const slack = { kind: "slack" as const, channel: a.slackChannel, webhookFile: DBIS_ALERTMANAGER_SECRET_PATHS.slackWebhook, text };
  return {
    resolveTimeout: "5m",
    route: {
      receiver: DBIS_RECEIVERS.warning,
      groupBy: ["alertname", "service"],
      groupWait: "30s",
      groupInterval: "5m",
      repeatInterval: "4h",
      routes: [
        // Critical: Slack, and (continue) e-mail as well.
        { receiver: DBIS_RECEIVERS.criticalSlack, matchers: [sev("critical")], groupWait: "10s", repeatInterval: "1h", continue: true },
        { receiver: DBIS_RECEIVERS.criticalEmail, matchers: [sev("critical")], groupWait: "10s", repeatInterval: "1h" },
        { receiver: DBIS_RECEIVERS.warning, matchers: [sev("warning")], repeatInterval: "4h" },
      ],
    },
    receivers: [
      { ...slack, name: DBIS_RECEIVERS.warning, title, color: '{{ if eq .Status "firing" }}warning{{ else }}good{{ end }}' },
      { ...slack, name: DBIS_RECEIVERS.criticalSlack, title: `:rotating_light: ${title}`, text: `<!channel> ${text}`, color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}' },
      {
        kind: "email",
        name: DBIS_RECEIVERS.criticalEmail,
        to: a.email.to,
        from: a.email.from,
        smarthost: a.email.smarthost,
        authUsername: a.email.username,
        authPasswordFile: DBIS_ALERTMANAGER_SECRET_PATHS.smtpPassword,
        subject: `[DBIS ${stack}] CRITICAL {{ .CommonLabels.alertname }} ({{ .Status }})`,
      },
    ],
    inhibitRules: [{ sourceMatchers: [sev("critical")], targetMatchers: [sev("warning")], equal: ["service"] }],
  };
}

export function renderDbisAlertmanagerConfig(cfg: DbisConfig, stack: string): string {
  return renderAlertmanagerConfig(dbisAlertmanagerInput(cfg, stack), "Rendered by Lazarus (stacks/dbis/alerting.ts); edits are overwritten by the next pulumi up.");
}

export function dbisAlertmanagerService(cfg: DbisConfig): ServiceSpec {
  return {
    name: DBIS_ALERTMANAGER_SERVICE,
    role: "monitoring",
    description: "routes the runbook's alerts: Slack for all, e-mail for criticals",
    image: cfg.monitoring.alertmanagerImage,
    command: ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
    // The host's loopback only, like Prometheus: silences through an SSH tunnel.
    ports: [{ container: DBIS_ALERTMANAGER_PORT, published: DBIS_ALERTMANAGER_PORT, bind: "127.0.0.1", description: "Alertmanager (host-local)" }],
    volumes: [
      { kind: "volume", source: DBIS_ALERTMANAGER_VOLUME, target: "/alertmanager" },
      { kind: "bind", source: `./${DBIS_ALERTMANAGER_DIR}`, target: "/etc/alertmanager", readOnly: true },
      { kind: "bind", source: `./${DBIS_ALERTMANAGER_FILES.slackWebhook}`, target: DBIS_ALERTMANAGER_SECRET_PATHS.slackWebhook, readOnly: true },
      { kind: "bind", source: `./${DBIS_ALERTMANAGER_FILES.smtpPassword}`, target: DBIS_ALERTMANAGER_SECRET_PATHS.smtpPassword, readOnly: true },
    ],
    healthcheck: { test: { exec: ["wget", "-q", "--spider", `http://127.0.0.1:${DBIS_ALERTMANAGER_PORT}/-/healthy`] }, interval: "15s", timeout: "5s", retries: 5 },
    limits: { cpus: 0.25, memoryMb: 256 },
  };
}

/** `chown uid:gid` of the two secret files to Alertmanager's user (the files are written 0600 by root). */
export function dbisAlertmanagerSecretsOwner(cfg: DbisConfig): string {
  return secretFileOwner({ image: cfg.monitoring.alertmanagerImage });
}
