// Prometheus renderers: typed scrape targets and alert groups in, prometheus.yml and rule files out.
// Pure functions, no Pulumi; checked by `promtool check config` / `check rules` / `test rules` in the tests.
import {
  checkDuration,
  checkLabelName,
  checkNonEmpty,
  checkUnique,
  compact,
  toYaml,
} from "./common";
import { refuseField } from "../renderInputError";

const RENDERER = "prometheus";

export interface ScrapeJob {
  /** The `job` label every series of this target carries (queries and alerts select on it). */
  job: string;
  /** host:port pairs, e.g. "api:3001". */
  targets: string[];
  metricsPath?: string;
  scheme?: "http" | "https";
  scrapeInterval?: string;
  scrapeTimeout?: string;
  /** Extra labels attached to every target of the job (e.g. { service: "api" }). */
  labels?: Record<string, string>;
  honorLabels?: boolean;
}

export interface PrometheusConfigInput {
  /** Default 15s. */
  scrapeInterval?: string;
  /** Default 15s: how often alert rules are evaluated. */
  evaluationInterval?: string;
  externalLabels?: Record<string, string>;
  /** Rule file paths, relative to prometheus.yml's directory (as Prometheus resolves them) or absolute. */
  ruleFiles: string[];
  /** Alertmanager host:port pairs. */
  alertmanagers: string[];
  scrapeJobs: ScrapeJob[];
}

const HOST_PORT = /^[A-Za-z0-9._-]+:\d{1,5}$/;

function checkHostPort(where: string, value: string): string {
  if (!HOST_PORT.test(value)) {
    refuseField(RENDERER, where, `expected host:port such as "api:3001", got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkLabels(where: string, labels: Record<string, string> | undefined): void {
  for (const name of Object.keys(labels ?? {})) checkLabelName(RENDERER, `${where}.${name}`, name);
}

export function renderPrometheusConfig(input: PrometheusConfigInput, header?: string): string {
  const scrapeInterval = checkDuration(RENDERER, "prometheus.scrapeInterval", input.scrapeInterval ?? "15s");
  const evaluationInterval = checkDuration(RENDERER, "prometheus.evaluationInterval", input.evaluationInterval ?? "15s");
  checkLabels("prometheus.externalLabels", input.externalLabels);
  if (input.scrapeJobs.length === 0) refuseField(RENDERER, "prometheus.scrapeJobs", "at least one scrape job is needed");
  checkUnique(RENDERER, "prometheus.scrapeJobs[].job", input.scrapeJobs.map((j) => j.job));
  checkUnique(RENDERER, "prometheus.ruleFiles", input.ruleFiles);
  input.alertmanagers.forEach((a, i) => checkHostPort(`prometheus.alertmanagers[${i}]`, a));

  const scrapeConfigs = input.scrapeJobs.map((job, i) => {
    const where = `prometheus.scrapeJobs[${i}] (${job.job})`;
    checkNonEmpty(RENDERER, `${where}.job`, job.job);
    if (job.targets.length === 0) refuseField(RENDERER, `${where}.targets`, "at least one host:port target is needed");
    job.targets.forEach((t, k) => checkHostPort(`${where}.targets[${k}]`, t));
    checkLabels(`${where}.labels`, job.labels);
    if (job.metricsPath !== undefined && !job.metricsPath.startsWith("/")) {
      refuseField(RENDERER, `${where}.metricsPath`, `expected a path starting with "/", got ${JSON.stringify(job.metricsPath)}`);
    }
    return compact({
      job_name: job.job,
      scrape_interval: job.scrapeInterval === undefined ? undefined : checkDuration(RENDERER, `${where}.scrapeInterval`, job.scrapeInterval),
      scrape_timeout: job.scrapeTimeout === undefined ? undefined : checkDuration(RENDERER, `${where}.scrapeTimeout`, job.scrapeTimeout),
      metrics_path: job.metricsPath,
      scheme: job.scheme,
      honor_labels: job.honorLabels,
      static_configs: [compact({ targets: job.targets, labels: job.labels && Object.keys(job.labels).length ? job.labels : undefined })],
    });
  });

  const doc = compact({
    global: compact({
      scrape_interval: scrapeInterval,
      evaluation_interval: evaluationInterval,
      external_labels: input.externalLabels && Object.keys(input.externalLabels).length ? input.externalLabels : undefined,
    }),
    rule_files: input.ruleFiles.length ? input.ruleFiles : undefined,
    alerting: input.alertmanagers.length
      ? { alertmanagers: [{ static_configs: [{ targets: input.alertmanagers }] }] }
      : undefined,
    scrape_configs: scrapeConfigs,
  });
  return toYaml(doc, header);
}

export type Severity = "critical" | "warning" | "info";

export interface AlertRule {
  alert: string;
  expr: string;
  /** How long the condition must hold before the alert fires ("5m"). */
  for: string;
  severity: Severity;
  /**
   * The `service` label Alertmanager groups and inhibits on. Omit it only when the expression itself yields a
   * `service` label (e.g. via label_replace from a container name); a static label would override it.
   */
  service?: string;
  /**
   * Set when the series the expression returns already carry a `service` label (a scrape target label, or
   * label_replace from a container name); then `service` must be omitted.
   */
  serviceFromSeries?: boolean;
  labels?: Record<string, string>;
  summary: string;
  description: string;
  runbookUrl?: string;
}

export interface AlertGroup {
  name: string;
  /** Evaluation interval of this group; defaults to the global evaluation_interval. */
  interval?: string;
  rules: AlertRule[];
}

const ALERT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks groups and rules; throws RenderInputError naming the offending group/rule. */
export function checkAlertGroups(groups: readonly AlertGroup[]): void {
  checkUnique(RENDERER, "alertGroups[].name", groups.map((g) => g.name));
  checkUnique(RENDERER, "alertGroups[].rules[].alert", groups.flatMap((g) => g.rules.map((r) => r.alert)));
  for (const g of groups) {
    checkNonEmpty(RENDERER, `alertGroups.${g.name}.name`, g.name);
    if (g.interval !== undefined) checkDuration(RENDERER, `alertGroups.${g.name}.interval`, g.interval);
    if (g.rules.length === 0) refuseField(RENDERER, `alertGroups.${g.name}.rules`, "a group needs at least one rule");
    for (const r of g.rules) {
      const where = `alertGroups.${g.name}.${r.alert}`;
      if (!ALERT_NAME.test(r.alert)) refuseField(RENDERER, `${where}.alert`, `expected an identifier, got ${JSON.stringify(r.alert)}`);
      checkNonEmpty(RENDERER, `${where}.expr`, r.expr);
      checkDuration(RENDERER, `${where}.for`, r.for);
      checkNonEmpty(RENDERER, `${where}.summary`, r.summary);
      checkNonEmpty(RENDERER, `${where}.description`, r.description);
      checkLabels(`${where}.labels`, r.labels);
      for (const reserved of ["severity", "service", "alertname"]) {
        if (r.labels && reserved in r.labels) {
          refuseField(RENDERER, `${where}.labels.${reserved}`, `set ${reserved} through its own field, not labels`);
        }
      }
      if ((r.service === undefined) === (r.serviceFromSeries !== true)) {
        refuseField(RENDERER, 
          `${where}.service`,
          "give either a static service or serviceFromSeries: true (the expression yields a `service` label); Alertmanager groups and inhibits on it",
        );
      }
      if (r.runbookUrl !== undefined && !/^https?:\/\//.test(r.runbookUrl)) {
        refuseField(RENDERER, `${where}.runbookUrl`, `expected an http(s) URL, got ${JSON.stringify(r.runbookUrl)}`);
      }
    }
  }
}

function ruleDoc(r: AlertRule): Record<string, unknown> {
  return {
    alert: r.alert,
    expr: r.expr,
    for: r.for,
    labels: compact({ severity: r.severity, service: r.service, ...(r.labels ?? {}) }),
    annotations: compact({ summary: r.summary, description: r.description, runbook_url: r.runbookUrl }),
  };
}

/** One rules file holding the given groups. */
export function renderAlertRules(groups: readonly AlertGroup[], header?: string): string {
  checkAlertGroups(groups);
  return toYaml(
    { groups: groups.map((g) => compact({ name: g.name, interval: g.interval, rules: g.rules.map(ruleDoc) })) },
    header,
  );
}

/** One rules file per group, keyed `${dir}/${group}.yml`; rule_files of prometheus.yml should list the same keys. */
export function renderAlertRuleFiles(groups: readonly AlertGroup[], dir = "rules", header?: string): Record<string, string> {
  checkAlertGroups(groups);
  const out: Record<string, string> = {};
  for (const g of groups) {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(g.name)) {
      refuseField(RENDERER, `alertGroups.${g.name}.name`, "group names become file names: use lower-case letters, digits, '-' or '_'");
    }
    out[`${dir}/${g.name}.yml`] = renderAlertRules([g], header);
  }
  return out;
}
