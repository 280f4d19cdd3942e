// Loki and Promtail configuration. Debian has no package for either (`apt-cache policy loki` finds only an
// unrelated genetics tool of that name; there is no promtail or grafana package), so `loki -verify-config` and
// `promtail -check-syntax` cannot run here. These tests hold the rendered YAML to the structure Loki 3.0 and
// Promtail 3.0 document: the keys that make retention happen and that label each container's stream. Loki's own
// checks that can be reproduced without the binary are: retention needs the compactor's delete-request store (Loki 3
// exits with "compactor.delete-request-store should be configured when retention is enabled"), and compactor
// retention works on 24h index tables only, so the retention period is a whole number of 24h periods, at least one.
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Plan } from "../../../cli/planner";
import { planFor, stackConfigMap } from "../../support/stacks";
import { renderLokiConfig } from "../../../renderers/monitoring/loki";
import { renderPromtailConfig } from "../../../renderers/monitoring/promtail";
import { goodgoMonitoringFiles } from "../../../stacks/goodgo/monitoring";

const files = goodgoMonitoringFiles({ stack: "prod", composeProject: "goodgo" });

const DAY = 86400;
/** Loki's duration syntax (Prometheus model.Duration: 1d12h, 360h, 2w, ...) in seconds; throws on anything else. */
function lokiDurationSeconds(text: string): number {
  const unit: Record<string, number> = { y: 365 * DAY, w: 7 * DAY, d: DAY, h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...String(text).matchAll(/(\d+)(ms|y|w|d|h|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== text) throw new Error(`not a Loki duration: ${text}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0);
}

describe.each(["prod", "staging"])("the %s plan's Loki retention is the stack file's monitoring.lokiRetentionDays", (stack) => {
  const lokiOf = (plan: Plan) => parse(plan.files.find((f) => f.platform === "goodgo" && f.path.endsWith("/monitoring/loki/loki.yml"))!.content!);
  let shipped: { limits_config: { retention_period: string }; compactor: Record<string, unknown>; schema_config: { configs: { index: { period: string } }[] } };
  beforeAll(async () => {
    shipped = lokiOf(await planFor(stack));
  });

  it("as shipped: the key's days, a whole number of 24h index periods, with the compactor's retention and delete-request store", () => {
    const days = stackConfigMap(stack)["lazarus:goodgo"].monitoring.lokiRetentionDays;
    expect(Number.isInteger(days)).toBe(true);
    expect(lokiDurationSeconds(shipped.limits_config.retention_period)).toBe(days * DAY);
    const indexPeriod = lokiDurationSeconds(shipped.schema_config.configs[0]!.index.period);
    expect(indexPeriod).toBe(DAY);
    expect(lokiDurationSeconds(shipped.limits_config.retention_period) % indexPeriod).toBe(0);
    expect(shipped.compactor).toMatchObject({ retention_enabled: true, delete_request_store: "filesystem" });
  });

  it("changing the key changes the shipped retention", async () => {
    const patched = lokiOf(await planFor(stack, { patch: (c) => { c["lazarus:goodgo"].monitoring.lokiRetentionDays = 31; } }));
    expect(lokiDurationSeconds(patched.limits_config.retention_period)).toBe(31 * DAY);
  });
});

describe("GoodGo's Loki configuration", () => {
  const loki = parse(files["loki/loki.yml"]);

  it("keeps logs 15 days (the runbook's loki_data retention), enforced by the compactor's retention", () => {
    expect(lokiDurationSeconds(loki.limits_config.retention_period)).toBe(15 * DAY);
    // Loki 3 only deletes when the compactor's retention is on and it has a delete-request store.
    expect(loki.compactor).toMatchObject({ retention_enabled: true, delete_request_store: "filesystem" });
    expect(loki.compactor.working_directory).toMatch(/^\/loki\//);
  });

  it("stores chunks and the TSDB index on the local filesystem (the loki_data volume at /loki)", () => {
    expect(loki.common.storage.filesystem).toEqual({ chunks_directory: "/loki/chunks", rules_directory: "/loki/rules" });
    expect(loki.schema_config.configs).toHaveLength(1);
    expect(loki.schema_config.configs[0]).toMatchObject({ store: "tsdb", object_store: "filesystem", schema: "v13", index: { period: "24h" } });
    expect(String(loki.schema_config.configs[0].from)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(loki.server.http_listen_port).toBe(3100);
    expect(loki.auth_enabled).toBe(false);
    expect(loki.common.replication_factor).toBe(1);
  });

  it("only uses the top-level blocks Loki 3.0 knows", () => {
    const known = new Set(["auth_enabled", "server", "common", "schema_config", "limits_config", "compactor", "analytics", "storage_config", "ingester", "querier", "query_range", "ruler", "frontend", "table_manager"]);
    for (const k of Object.keys(loki)) expect(known.has(k), k).toBe(true);
  });

  it("rejects a retention that is not a whole number of days", () => {
    expect(() => renderLokiConfig({ retentionDays: 0 })).toThrow(/loki\.retentionDays/);
    expect(() => renderLokiConfig({ retentionDays: 1.5 })).toThrow(/loki\.retentionDays/);
    expect(lokiDurationSeconds(parse(renderLokiConfig({ retentionDays: 7 })).limits_config.retention_period)).toBe(7 * DAY);
  });
});

describe("GoodGo's Promtail configuration", () => {
  const promtail = parse(files["promtail/promtail.yml"]);
  const job = promtail.scrape_configs[0];

  it("discovers containers through the Docker socket and ships to Loki's push API", () => {
    expect(promtail.clients).toEqual([{ url: "http://loki:3100/loki/api/v1/push", external_labels: { environment: "prod" } }]);
    expect(job.docker_sd_configs).toHaveLength(1);
    expect(job.docker_sd_configs[0].host).toBe("unix:///var/run/docker.sock");
    expect(job.docker_sd_configs[0].filters).toEqual([{ name: "label", values: ["com.docker.compose.project=goodgo"] }]);
    expect(promtail.positions.filename).toMatch(/^\//);
  });

  it("labels each stream with the container name (without Docker's leading slash) and the compose service", () => {
    const rel = Object.fromEntries(job.relabel_configs.map((c: { target_label: string; source_labels: string[]; regex?: string }) => [c.target_label, c]));
    expect(rel.container_name).toEqual({ source_labels: ["__meta_docker_container_name"], regex: "/(.*)", target_label: "container_name" });
    expect(rel.service.source_labels).toEqual(["__meta_docker_container_label_com_docker_compose_service"]);
    // The regex Promtail applies (anchored, as in Prometheus relabelling) turns "/goodgo-api" into "goodgo-api".
    const m = new RegExp(`^(?:${rel.container_name.regex})$`).exec("/goodgo-api");
    expect(m?.[1]).toBe("goodgo-api");
  });

  it("promotes the JSON `level` field to a label for the Logs dashboard's level filter", () => {
    expect(job.pipeline_stages).toEqual([{ json: { expressions: { level: "level" } } }, { labels: { level: null } }]);
  });

  it("refuses a Loki URL that is not the push endpoint and a Docker host that is not a socket or tcp address", () => {
    expect(() => renderPromtailConfig({ lokiPushUrl: "http://loki:3100" })).toThrow(/lokiPushUrl/);
    expect(() => renderPromtailConfig({ lokiPushUrl: "http://loki:3100/loki/api/v1/push", dockerHost: "/var/run/docker.sock" })).toThrow(/dockerHost/);
  });
});
