// Grafana renderers: datasource and dashboard-provider provisioning files, a small typed dashboard builder producing
// dashboard JSON that Grafana 10.4 loads, and the environment that points Grafana at a file for its admin password.
// Credentials never appear in provisioning files: the admin password is read by Grafana from a file
// (GF_SECURITY_ADMIN_PASSWORD__FILE) that the deployment ships separately with mode 0600.
import { checkAbsolutePath, checkNonEmpty, checkUnique, compact, toYaml } from "./common";
import { refuseField } from "../renderInputError";

const RENDERER = "grafana";

// ---------------------------------------------------------------- datasources

export type DatasourceType = "prometheus" | "loki" | "alertmanager";

export interface Datasource {
  type: DatasourceType;
  /** Stable uid that dashboards reference. */
  uid: string;
  name: string;
  url: string;
  isDefault?: boolean;
  /** Loki: derived fields turning a regex match in a log line into a link (e.g. a correlation id). */
  derivedFields?: { name: string; matcherRegex: string; url: string; datasourceUid?: string }[];
  /** Loki/Prometheus: max lines / timeouts etc., passed through as jsonData. */
  jsonData?: Record<string, unknown>;
}

export function renderDatasources(datasources: readonly Datasource[], header?: string): string {
  checkUnique(RENDERER, "grafana.datasources[].uid", datasources.map((d) => d.uid));
  checkUnique(RENDERER, "grafana.datasources[].name", datasources.map((d) => d.name));
  const defaults = datasources.filter((d) => d.isDefault);
  if (defaults.length !== 1) {
    refuseField(RENDERER, "grafana.datasources", `exactly one datasource must be the default, found ${defaults.length}`);
  }
  const list = datasources.map((d, i) => {
    const where = `grafana.datasources[${i}] (${d.name})`;
    if (!/^https?:\/\/[^\s/@]+(:\d+)?(\/\S*)?$/.test(d.url)) {
      refuseField(RENDERER, `${where}.url`, `expected an http(s) URL without credentials, got ${JSON.stringify(d.url)}`);
    }
    if (!/^[a-zA-Z0-9_-]{1,40}$/.test(d.uid)) refuseField(RENDERER, `${where}.uid`, "expected 1-40 letters, digits, '-' or '_'");
    let jsonData: Record<string, unknown> = { ...(d.jsonData ?? {}) };
    if (d.type === "alertmanager") jsonData = { implementation: "prometheus", handleGrafanaManagedAlerts: false, ...jsonData };
    if (d.type === "prometheus") jsonData = { httpMethod: "POST", timeInterval: "15s", ...jsonData };
    if (d.derivedFields?.length) {
      if (d.type !== "loki") refuseField(RENDERER, `${where}.derivedFields`, "derived fields exist only on Loki datasources");
      jsonData.derivedFields = d.derivedFields.map((f) =>
        compact({ name: f.name, matcherRegex: f.matcherRegex, url: f.url, datasourceUid: f.datasourceUid }),
      );
    }
    return compact({
      name: d.name,
      uid: d.uid,
      type: d.type,
      access: "proxy",
      orgId: 1,
      url: d.url,
      isDefault: d.isDefault ?? false,
      editable: false,
      jsonData: Object.keys(jsonData).length ? jsonData : undefined,
    });
  });
  return toYaml(
    { apiVersion: 1, deleteDatasources: [], datasources: list },
    header,
  );
}

// ---------------------------------------------------------------- dashboard provider

export interface DashboardProvider {
  name: string;
  /** Grafana folder the dashboards appear in. */
  folder: string;
  folderUid?: string;
  /** Directory inside the Grafana container holding the dashboard JSON files. */
  path: string;
  updateIntervalSeconds?: number;
  allowUiUpdates?: boolean;
}

export function renderDashboardProviders(providers: readonly DashboardProvider[], header?: string): string {
  checkUnique(RENDERER, "grafana.dashboardProviders[].name", providers.map((p) => p.name));
  return toYaml(
    {
      apiVersion: 1,
      providers: providers.map((p, i) => {
        checkNonEmpty(RENDERER, `grafana.dashboardProviders[${i}].folder`, p.folder);
        checkAbsolutePath(RENDERER, `grafana.dashboardProviders[${i}].path`, p.path);
        return compact({
          name: p.name,
          orgId: 1,
          folder: p.folder,
          folderUid: p.folderUid,
          type: "file",
          disableDeletion: true,
          allowUiUpdates: p.allowUiUpdates ?? false,
          updateIntervalSeconds: p.updateIntervalSeconds ?? 30,
          options: { path: p.path, foldersFromFilesStructure: false },
        });
      }),
    },
    header,
  );
}

// ---------------------------------------------------------------- admin credentials

/**
 * Environment for the Grafana container: the admin user by name, the admin password by FILE. Takes no password,
 * so a secret cannot end up here; the file is shipped separately (0600) from a Pulumi secret.
 */
export function grafanaSecurityEnv(opts: { adminUser: string; adminPasswordFile: string; httpPort?: number }): Record<string, string> {
  checkNonEmpty(RENDERER, "grafana.adminUser", opts.adminUser);
  checkAbsolutePath(RENDERER, "grafana.adminPasswordFile", opts.adminPasswordFile);
  return compact({
    GF_SECURITY_ADMIN_USER: opts.adminUser,
    GF_SECURITY_ADMIN_PASSWORD__FILE: opts.adminPasswordFile,
    GF_USERS_ALLOW_SIGN_UP: "false",
    GF_AUTH_ANONYMOUS_ENABLED: "false",
    GF_SERVER_HTTP_PORT: opts.httpPort === undefined ? undefined : String(opts.httpPort),
  }) as Record<string, string>;
}

// ---------------------------------------------------------------- dashboards

export interface DatasourceRef {
  type: DatasourceType;
  uid: string;
}

export interface Target {
  expr: string;
  legendFormat?: string;
  /** Instant query (tables, stats of "now"). */
  instant?: boolean;
  format?: "time_series" | "table" | "heatmap";
}

export type PanelType = "timeseries" | "stat" | "gauge" | "table" | "heatmap" | "logs";

export interface Threshold {
  color: string;
  value: number;
}

export interface PanelSpec {
  type: PanelType;
  title: string;
  description?: string;
  /** Defaults to the dashboard's datasource. */
  datasource?: DatasourceRef;
  targets: Target[];
  /** Grafana unit id: "s", "percent", "reqps", "bytes", "short", "percentunit". */
  unit?: string;
  /** Steps above the base (green) colour, e.g. [{color: "orange", value: 1}, {color: "red", value: 5}]. */
  thresholds?: Threshold[];
  min?: number;
  max?: number;
  /** Width in grid columns (1-24, default 12) and height in rows (default 8). */
  w?: number;
  h?: number;
  /** Explicit position; when omitted the panel flows after the previous one. */
  gridPos?: { x: number; y: number; w: number; h: number };
}

export interface VariableSpec {
  name: string;
  label?: string;
  kind: "custom" | "query" | "textbox";
  /** custom: the options; query: a label_values(...) query; textbox: the default text. */
  options?: string[];
  query?: string;
  datasource?: DatasourceRef;
  includeAll?: boolean;
  /** Value substituted for "All" (default ".*"; Loki needs a non-empty-matching regex such as "app-.+"). */
  allValue?: string;
  multi?: boolean;
  defaultValue?: string;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description?: string;
  tags?: string[];
  datasource: DatasourceRef;
  panels: PanelSpec[];
  variables?: VariableSpec[];
  refresh?: string;
  timeFrom?: string;
}

/** The dashboard schema version Grafana 10.4 writes; provisioned dashboards with it load without migration. */
export const GRAFANA_SCHEMA_VERSION = 39;

function layout(panels: readonly PanelSpec[]): { x: number; y: number; w: number; h: number }[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map((p, i) => {
    if (p.gridPos) {
      x = p.gridPos.x + p.gridPos.w;
      y = p.gridPos.y;
      rowHeight = Math.max(rowHeight, p.gridPos.h);
      return p.gridPos;
    }
    const w = p.w ?? 12;
    const h = p.h ?? 8;
    if (!Number.isInteger(w) || w < 1 || w > 24) refuseField(RENDERER, `panels[${i}] (${p.title}).w`, "expected 1..24 grid columns");
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const pos = { x, y, w, h };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return pos;
  });
}

function fieldConfig(p: PanelSpec): Record<string, unknown> {
  const steps: { color: string; value: number | null }[] = [{ color: "green", value: null }, ...(p.thresholds ?? [])];
  const defaults: Record<string, unknown> = compact({
    unit: p.unit,
    min: p.min,
    max: p.max,
    thresholds: { mode: "absolute", steps },
    color: p.type === "timeseries" ? { mode: "palette-classic" } : { mode: "thresholds" },
  });
  if (p.type === "timeseries") {
    defaults.custom = { drawStyle: "line", lineWidth: 1, fillOpacity: 10, showPoints: "never", spanNulls: false, thresholdsStyle: { mode: p.thresholds?.length ? "line" : "off" } };
  }
  return { defaults, overrides: [] };
}

function panelOptions(type: PanelType): Record<string, unknown> {
  switch (type) {
    case "timeseries":
      return { legend: { displayMode: "table", placement: "bottom", showLegend: true, calcs: ["mean", "max", "lastNotNull"] }, tooltip: { mode: "multi", sort: "desc" } };
    case "stat":
      return { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "value", graphMode: "area", justifyMode: "auto", orientation: "auto", textMode: "auto" };
    case "gauge":
      return { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, showThresholdLabels: false, showThresholdMarkers: true, orientation: "auto" };
    case "table":
      return { showHeader: true, cellHeight: "sm", footer: { show: false, reducer: ["sum"], countRows: false } };
    case "heatmap":
      return { calculate: false, yAxis: { unit: "s" }, color: { mode: "scheme", scheme: "Oranges", steps: 64 }, cellGap: 1, tooltip: { show: true, yHistogram: true } };
    case "logs":
      return { showTime: true, wrapLogMessage: true, sortOrder: "Descending", enableLogDetails: true, dedupStrategy: "none", prettifyLogMessage: false, showLabels: false, showCommonLabels: false };
  }
}

function variable(v: VariableSpec, fallback: DatasourceRef): Record<string, unknown> {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(v.name)) refuseField(RENDERER, `variables.${v.name}`, "expected an identifier");
  const base = { name: v.name, label: v.label ?? v.name, hide: 0, skipUrlSync: false };
  switch (v.kind) {
    case "textbox":
      return { ...base, type: "textbox", query: v.defaultValue ?? "", current: { text: v.defaultValue ?? "", value: v.defaultValue ?? "" }, options: [] };
    case "custom": {
      const options = v.options ?? [];
      if (!options.length) refuseField(RENDERER, `variables.${v.name}.options`, "a custom variable needs options");
      const all = v.includeAll ? [{ text: "All", value: "$__all", selected: true }] : [];
      const opts = [...all, ...options.map((o, i) => ({ text: o, value: o, selected: !v.includeAll && i === 0 }))];
      const current = v.includeAll ? { text: "All", value: "$__all" } : { text: options[0], value: options[0] };
      return { ...base, type: "custom", query: options.join(","), includeAll: v.includeAll ?? false, multi: v.multi ?? false, allValue: v.includeAll ? (v.allValue ?? ".*") : undefined, current, options: opts };
    }
    case "query":
      if (!v.query) refuseField(RENDERER, `variables.${v.name}.query`, "a query variable needs a query");
      return compact({ ...base, type: "query", datasource: v.datasource ?? fallback, query: v.query, definition: v.query, refresh: 2, sort: 1, includeAll: v.includeAll ?? false, multi: v.multi ?? false, allValue: v.includeAll ? (v.allValue ?? ".*") : undefined, current: {}, options: [] });
  }
}

/** Dashboard JSON model (an object); `renderDashboard` serialises it. */
export function buildDashboard(spec: DashboardSpec): Record<string, unknown> {
  const where = `dashboards.${spec.uid}`;
  if (!/^[a-zA-Z0-9_-]{1,40}$/.test(spec.uid)) refuseField(RENDERER, `${where}.uid`, "expected 1-40 letters, digits, '-' or '_'");
  checkNonEmpty(RENDERER, `${where}.title`, spec.title);
  if (!spec.panels.length) refuseField(RENDERER, `${where}.panels`, "a dashboard needs at least one panel");
  checkUnique(RENDERER, `${where}.variables[].name`, (spec.variables ?? []).map((v) => v.name));
  const positions = layout(spec.panels);
  const panels = spec.panels.map((p, i) => {
    if (!p.targets.length) refuseField(RENDERER, `${where}.panels[${i}] (${p.title})`, "a panel needs at least one target");
    const ds = p.datasource ?? spec.datasource;
    if (p.type === "logs" && ds.type !== "loki") refuseField(RENDERER, `${where}.panels[${i}] (${p.title})`, "a logs panel needs a Loki datasource");
    return compact({
      id: i + 1,
      type: p.type,
      title: p.title,
      description: p.description,
      datasource: ds,
      gridPos: positions[i],
      fieldConfig: p.type === "logs" ? { defaults: {}, overrides: [] } : fieldConfig(p),
      options: panelOptions(p.type),
      targets: p.targets.map((t, k) => {
        const instant = t.instant ?? p.type === "table";
        return compact({
          refId: String.fromCharCode(65 + k),
          datasource: ds,
          expr: checkNonEmpty(RENDERER, `${where}.panels[${i}].targets[${k}].expr`, t.expr),
          legendFormat: t.legendFormat,
          instant: ds.type === "loki" ? undefined : instant,
          range: ds.type === "loki" ? undefined : !instant,
          format: t.format ?? (p.type === "table" ? "table" : p.type === "heatmap" ? "heatmap" : undefined),
          editorMode: "code",
          queryType: ds.type === "loki" ? "range" : undefined,
        });
      }),
    });
  });
  return compact({
    id: null,
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: spec.tags ?? [],
    timezone: "browser",
    editable: false,
    graphTooltip: 1,
    schemaVersion: GRAFANA_SCHEMA_VERSION,
    version: 1,
    refresh: spec.refresh ?? "30s",
    time: { from: spec.timeFrom ?? "now-6h", to: "now" },
    timepicker: {},
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: "",
    annotations: {
      list: [
        { builtIn: 1, datasource: { type: "grafana", uid: "-- Grafana --" }, enable: true, hide: true, iconColor: "rgba(0, 211, 255, 1)", name: "Annotations & Alerts", type: "dashboard" },
      ],
    },
    links: [],
    templating: { list: (spec.variables ?? []).map((v) => variable(v, spec.datasource)) },
    panels,
  });
}

export function renderDashboard(spec: DashboardSpec): string {
  return `${JSON.stringify(buildDashboard(spec), null, 2)}\n`;
}
