// Alertmanager routing for GoodGo (runbook 001, Appendix): warnings -> #sre-oncall every 4 h, criticals ->
// #sre-oncall every 1 h (priority), backup alerts -> #infrastructure every 6 h; a critical alert suppresses warnings
// for the same service (equal: service). The Slack webhook is read from a file, never passed as a value.
import type { AlertmanagerInput, Matcher } from "../../../renderers/monitoring/alertmanager";
import { GOODGO_SECRET_FILES } from "./facts";

export interface GoodGoRoutingOptions {
  oncallChannel?: string;
  infrastructureChannel?: string;
  webhookFile?: string;
}

const sev = (value: string): Matcher => ({ label: "severity", value });

export function goodgoAlertmanager(opts: GoodGoRoutingOptions = {}): AlertmanagerInput {
  const oncall = opts.oncallChannel ?? "#sre-oncall";
  const infra = opts.infrastructureChannel ?? "#infrastructure";
  const webhookFile = opts.webhookFile ?? GOODGO_SECRET_FILES.slackWebhook;
  const title = '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.service }})';
  const text = "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}{{ if .Annotations.runbook_url }}\nRunbook: {{ .Annotations.runbook_url }}{{ end }}\n{{ end }}";
  return {
    resolveTimeout: "5m",
    route: {
      receiver: "sre-oncall-warning",
      groupBy: ["alertname", "service"],
      groupWait: "30s",
      groupInterval: "5m",
      repeatInterval: "4h",
      routes: [
        // Backup alerts first: they go to #infrastructure whatever their severity.
        { receiver: "infrastructure-backup", matchers: [{ label: "category", value: "backup" }], repeatInterval: "6h" },
        { receiver: "sre-oncall-critical", matchers: [sev("critical")], groupWait: "10s", repeatInterval: "1h" },
        { receiver: "sre-oncall-warning", matchers: [sev("warning")], repeatInterval: "4h" },
      ],
    },
    receivers: [
      { kind: "slack", name: "sre-oncall-warning", channel: oncall, webhookFile, title, text, color: '{{ if eq .Status "firing" }}warning{{ else }}good{{ end }}' },
      { kind: "slack", name: "sre-oncall-critical", channel: oncall, webhookFile, title: `:rotating_light: [P1] ${title}`, text: `<!channel> ${text}`, color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}' },
      { kind: "slack", name: "infrastructure-backup", channel: infra, webhookFile, title, text, color: '{{ if eq .Status "firing" }}warning{{ else }}good{{ end }}' },
    ],
    inhibitRules: [
      // Runbook: "Warning alerts are suppressed when a critical alert for the same service is already firing."
      { sourceMatchers: [sev("critical")], targetMatchers: [sev("warning")], equal: ["service"] },
    ],
  };
}
