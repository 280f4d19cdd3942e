// Grafana provisioning for GoodGo: the three datasources of section 6, the GoodGo folder provider, and the seven
// dashboards of section 6 as valid dashboard JSON whose Prometheus panels read only section 7's metrics, with every
// PromQL expression parsed by the real promtool and every Loki query on the labels Promtail attaches.
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { GRAFANA_SCHEMA_VERSION } from "../../../renderers/monitoring/grafana";
import { GOODGO_MONITORING_MOUNTS, SECTION7_METRICS, SECTION7_QUERIES, goodgoGrafanaEnv } from "../../../stacks/goodgo/monitoring";
import { SECTION7_TEXT } from "./appendix";
import { renderToTempDir, run, type Rendered } from "./render";

// Section 6's table: dashboard -> Grafana path.
const SECTION6 = ["api-overview", "api-latency", "database", "search", "business-metrics", "web-vitals", "logs"];

interface Panel { id: number; type: string; title: string; datasource: { type: string; uid: string }; gridPos: { x: number; y: number; w: number; h: number }; targets: { refId: string; expr: string; datasource: { uid: string } }[] }
interface Dashboard { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string }[] } }

const PROMQL_WORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"]);

/** Metric names an expression reads: identifiers that are not functions, keywords, labels, strings or durations. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, "");
  return [...stripped.matchAll(/(?<![\w:])[a-zA-Z_:][a-zA-Z0-9_:]*(?![\w:])(?!\s*\()/g)]
    .map((m) => m[0])
    .filter((w) => !PROMQL_WORDS.has(w.toLowerCase()) && !/^\d/.test(w));
}

describe("GoodGo's Grafana provisioning and dashboards", () => {
  let r: Rendered;
  let dashboards: Dashboard[];
  beforeAll(() => {
    r = renderToTempDir({ stack: "prod" });
    dashboards = Object.entries(r.files)
      .filter(([p]) => p.startsWith("grafana/dashboards/"))
      .map(([p, text]) => {
        try {
          return JSON.parse(text) as Dashboard;
        } catch (e) {
          throw new Error(`${p} is not valid JSON: ${String(e)}`);
        }
      });
  });
  afterAll(() => r?.remove());

  it("provisions Prometheus (default), Loki and Alertmanager at section 6's URLs", () => {
    const ds = parse(r.files["grafana/provisioning/datasources/datasources.yml"]);
    expect(ds.apiVersion).toBe(1);
    const byType = Object.fromEntries(ds.datasources.map((d: { type: string }) => [d.type, d]));
    expect(byType.prometheus).toMatchObject({ url: "http://prometheus:9090", isDefault: true, uid: "prometheus" });
    expect(byType.loki).toMatchObject({ url: "http://loki:3100", isDefault: false, uid: "loki" });
    expect(byType.alertmanager).toMatchObject({ url: "http://alertmanager:9093", isDefault: false, uid: "alertmanager" });
    expect(byType.alertmanager.jsonData.implementation).toBe("prometheus");
    expect(ds.datasources.filter((d: { isDefault: boolean }) => d.isDefault)).toHaveLength(1);
  });

  it("loads the dashboards from files into the GoodGo folder", () => {
    const prov = parse(r.files["grafana/provisioning/dashboards/goodgo.yml"]);
    expect(prov.providers).toHaveLength(1);
    expect(prov.providers[0]).toMatchObject({ folder: "GoodGo", type: "file", options: { path: GOODGO_MONITORING_MOUNTS.grafanaDashboards.to } });
  });

  it("has the seven dashboards of section 6, valid JSON with unique uids and titles, in Grafana 10.4's schema", () => {
    expect(dashboards.map((d) => d.uid).sort()).toEqual([...SECTION6].sort());
    expect(new Set(dashboards.map((d) => d.title)).size).toBe(7);
    for (const d of dashboards) {
      expect(d.schemaVersion, d.uid).toBe(GRAFANA_SCHEMA_VERSION);
      expect(r.files[`grafana/dashboards/${d.uid}.json`]).toBeDefined();
    }
  });

  it("gives every dashboard non-empty panels with unique ids, non-overlapping positions on the 24-column grid, and targets", () => {
    for (const d of dashboards) {
      expect(d.panels.length, d.uid).toBeGreaterThanOrEqual(3);
      expect(new Set(d.panels.map((p) => p.id)).size, d.uid).toBe(d.panels.length);
      const cells = new Set<string>();
      for (const p of d.panels) {
        const g = p.gridPos;
        expect(g.x >= 0 && g.w >= 1 && g.x + g.w <= 24 && g.h >= 1, `${d.uid}/${p.title}`).toBe(true);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            const k = `${x},${y}`;
            expect(cells.has(k), `${d.uid}/${p.title} overlaps at ${k}`).toBe(false);
            cells.add(k);
          }
        }
        expect(p.targets.length, `${d.uid}/${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets) {
          expect(t.expr.trim(), `${d.uid}/${p.title}`).not.toBe("");
          expect(t.datasource.uid).toBe(p.datasource.uid);
        }
        expect(["timeseries", "stat", "gauge", "table", "heatmap", "logs"]).toContain(p.type);
      }
    }
  });

  it("builds every Prometheus panel on section 7's metrics only, and uses all of them", () => {
    const used = new Set<string>();
    for (const d of dashboards) {
      for (const p of d.panels.filter((x) => x.datasource.type === "prometheus")) {
        for (const t of p.targets) {
          const names = metricNames(t.expr);
          expect(names.length, `${d.uid}/${p.title}: ${t.expr}`).toBeGreaterThan(0);
          for (const n of names) {
            expect(SECTION7_METRICS as readonly string[], `${d.uid}/${p.title} reads ${n}`).toContain(n);
            used.add(n);
          }
        }
      }
    }
    expect([...used].sort()).toEqual([...SECTION7_METRICS].sort());
  });

  it("quotes section 7's queries character for character", () => {
    expect(Object.values(SECTION7_QUERIES)).toEqual(SECTION7_TEXT);
    const allExprs = dashboards.flatMap((d) => d.panels.flatMap((p) => p.targets.map((t) => t.expr)));
    for (const q of SECTION7_TEXT.slice(0, 5)) expect(allExprs.some((e) => e.includes(q)), q).toBe(true);
  });

  it("every PromQL expression of the dashboards parses (promtool check rules on them as recording rules)", () => {
    const exprs = dashboards.flatMap((d) => d.panels.filter((p) => p.datasource.type === "prometheus").flatMap((p) => p.targets.map((t) => t.expr)));
    const rules = { groups: [{ name: "dashboards", rules: exprs.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr })) }] };
    writeFileSync(r.path("dashboard-exprs.yml"), stringify(rules, { lineWidth: 0 }));
    const res = run("promtool", ["check", "rules", r.path("dashboard-exprs.yml")]);
    expect(res.status, res.out).toBe(0);
    expect(res.out).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it("queries Loki on the labels Promtail attaches, with the dashboard's own variables", () => {
    const logs = dashboards.find((d) => d.uid === "logs")!;
    const vars = new Set(logs.templating.list.map((v) => v.name));
    expect(vars).toEqual(new Set(["container", "level", "correlation_id"]));
    expect(logs.panels.some((p) => p.type === "logs")).toBe(true);
    for (const p of logs.panels) {
      expect(p.datasource.type).toBe("loki");
      for (const t of p.targets) {
        expect(t.expr).toMatch(/\{container_name=~"\$container"/);
        for (const m of t.expr.matchAll(/\$([a-z_]+)/g)) expect(vars.has(m[1]), `${p.title} uses $${m[1]}`).toBe(true);
      }
    }
    const promtail = parse(r.files["promtail/promtail.yml"]);
    const targets = promtail.scrape_configs[0].relabel_configs.map((c: { target_label: string }) => c.target_label);
    expect(targets).toContain("container_name");
  });

  it("gives Grafana its admin password by file, never by value", () => {
    const env = goodgoGrafanaEnv();
    expect(env.GF_SECURITY_ADMIN_PASSWORD__FILE).toMatch(/^\//);
    expect(env).not.toHaveProperty("GF_SECURITY_ADMIN_PASSWORD");
    for (const [p, text] of Object.entries(r.files)) {
      if (p.startsWith("grafana/")) expect(text, p).not.toMatch(/admin_password|GF_SECURITY_ADMIN_PASSWORD[^_]/i);
    }
  });
});
