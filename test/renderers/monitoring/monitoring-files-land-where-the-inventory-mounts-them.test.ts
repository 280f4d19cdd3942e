// The rendered files must land where the containers read them. The service inventory (stacks/goodgo/services.ts)
// bind-mounts ./monitoring/<dir> into each container; this test maps every rendered file through those binds and
// checks it arrives at the path the configs reference (GOODGO_MONITORING_MOUNTS), and lists what the inventory
// does not mount yet.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { goodgoServices } from "../../../stacks/goodgo/services";
import { GOODGO_MONITORING_MOUNTS, GOODGO_SECRET_FILES, goodgoMonitoringFiles } from "../../../stacks/goodgo/monitoring";

const files = goodgoMonitoringFiles({ stack: "prod" });
const binds = goodgoServices().flatMap((s) =>
  (s.volumes ?? []).filter((v) => v.kind === "bind" && v.source.startsWith("./monitoring/")).map((v) => ({ service: s.name, from: v.source.slice("./monitoring/".length), to: v.target })),
);

function viaInventory(rel: string): string | undefined {
  const b = binds.find((x) => rel === x.from || rel.startsWith(`${x.from}/`));
  return b ? b.to + rel.slice(b.from.length) : undefined;
}

function viaMounts(rel: string): string | undefined {
  const m = Object.values(GOODGO_MONITORING_MOUNTS).find((x) => rel === x.from || rel.startsWith(`${x.from}/`));
  return m ? m.to + rel.slice(m.from.length) : undefined;
}

describe("where the rendered monitoring files land", () => {
  it("every file the inventory mounts arrives where GOODGO_MONITORING_MOUNTS says", () => {
    const mounted = Object.keys(files).filter((rel) => viaInventory(rel));
    expect(mounted.length).toBeGreaterThanOrEqual(12);
    for (const rel of mounted) expect(viaInventory(rel), rel).toBe(viaMounts(rel));
  });

  it("configs reference the container paths their files land at", () => {
    // Prometheus resolves rule files relative to prometheus.yml.
    const prom = parse(files["prometheus/prometheus.yml"]);
    for (const rf of prom.rule_files) expect(files[`prometheus/${rf}`], rf).toBeDefined();
    // The Grafana dashboard provider reads the folder the dashboards are mounted at.
    const prov = parse(files["grafana/provisioning/dashboards/goodgo.yml"]);
    expect(prov.providers[0].options.path).toBe(viaMounts("grafana/dashboards/api-overview.json")!.replace(/\/api-overview\.json$/, ""));
    // The Slack webhook file sits in the directory the inventory mounts into Alertmanager.
    expect(GOODGO_SECRET_FILES.slackWebhook.startsWith(`${GOODGO_MONITORING_MOUNTS.alertmanager.to}/`)).toBe(true);
    expect(binds.find((b) => b.service === "alertmanager")?.to).toBe(GOODGO_MONITORING_MOUNTS.alertmanager.to);
  });

  it("leaves only the dashboards and the exporter query file for the lead to mount", () => {
    const unmounted = Object.keys(files).filter((rel) => !viaInventory(rel));
    for (const rel of unmounted) expect(rel, rel).toMatch(/^(grafana\/dashboards\/[a-z-]+\.json|postgres-exporter\/queries\.yml)$/);
  });
});
