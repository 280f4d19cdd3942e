// The files the stack really ships (plan.files of the real prod and staging plans) against the mounts of the compose
// file it really ships (docker-compose.prod.yml from the same plan): every bind mount from the deploy directory has a
// shipped source of the right kind (a file, or a directory holding files; Docker would create an empty directory at a
// missing source; the one empty directory wanted, the server's socket directory, is made by the prepare step), every monitoring file reaches a container, and every path a service's command, environment or
// config names inside its container resolves, through those mounts, to a file the stack ships. Nothing here goes
// through the inventory or the monitoring module's own mount table: only what lands on the host is compared.
import { posix } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Plan } from "../../../cli/planner";
import { ALL_SENTINEL_SECRETS, T, one, planFor } from "../../support/stacks";

const STACKS = ["prod", "staging"] as const;
const plans: Record<string, Plan> = {};
beforeAll(async () => {
  for (const stack of STACKS) plans[stack] = await planFor(stack, { secrets: ALL_SENTINEL_SECRETS });
});

interface Bind { source: string; target: string }
interface Shipped {
  deployDir: string;
  /** Every file the plan writes on the GoodGo host (secret files included, by path). */
  paths: Set<string>;
  content(path: string): string;
  services: Record<string, { volumes?: (string | { type: string; source: string; target: string })[]; command?: string[]; environment?: Record<string, string> }>;
}

function shipped(stack: string): Shipped {
  const files = plans[stack]!.files.filter((f) => f.platform === "goodgo");
  const compose = files.find((f) => f.path.endsWith("/docker-compose.prod.yml"));
  if (!compose?.content) throw new Error(`the ${stack} plan ships no docker-compose.prod.yml`);
  const deployDir = posix.dirname(compose.path);
  return {
    deployDir,
    paths: new Set(files.map((f) => f.path)),
    content: (path) => {
      const f = files.find((x) => x.path === path);
      if (f?.content === undefined) throw new Error(`${path} is not shipped with content`);
      return f.content;
    },
    services: parse(compose.content).services,
  };
}

/** A service's bind mounts from the deploy directory, sources resolved on the host (compose resolves ./ against it). */
function deployDirBinds(s: Shipped, service: string): Bind[] {
  return (s.services[service]!.volumes ?? [])
    .map((v) => (typeof v === "string" ? { source: v.split(":")[0]!, target: v.split(":")[1]! } : { source: v.source, target: v.target }))
    .filter((b) => b.source.startsWith("./"))
    .map((b) => ({ source: posix.join(s.deployDir, b.source), target: b.target }));
}

/** The host file a container path reads through the service's mounts, if any. */
function hostPathOf(s: Shipped, service: string, containerPath: string): string | undefined {
  const b = deployDirBinds(s, service).find((x) => containerPath === x.target || containerPath.startsWith(`${x.target}/`));
  return b && b.source + containerPath.slice(b.target.length);
}
const isShippedDir = (s: Shipped, dir: string) => [...s.paths].some((p) => p.startsWith(`${dir}/`));
/** Directories the prepare step makes (`mkdir -p DIR`): a mount source that is deliberately empty (a socket directory). */
function preparedDirs(stack: string): Set<string> {
  const prepare = String(one(plans[stack]!, T.command, `goodgo-${stack}-prepare`).inputs.create);
  return new Set([...prepare.matchAll(/mkdir -p '?([^';\s]+)'?/g)].map((m) => m[1]!));
}
const flag = (s: Shipped, service: string, name: string) => s.services[service]!.command!.find((a) => a.startsWith(`${name}=`))!.slice(name.length + 1);

describe.each(STACKS)("the %s plan: shipped files against the shipped compose file's mounts", (stack) => {
  it("every bind mount from the deploy directory has a shipped source: a file, or a directory of files", () => {
    const s = shipped(stack);
    const missing: string[] = [];
    let mounts = 0;
    for (const service of Object.keys(s.services)) {
      for (const b of deployDirBinds(s, service)) {
        mounts++;
        if (!s.paths.has(b.source) && !isShippedDir(s, b.source) && !preparedDirs(stack).has(b.source)) missing.push(`${service}: ${b.source} -> ${b.target}`);
      }
    }
    expect(mounts).toBeGreaterThanOrEqual(12);
    expect(missing).toEqual([]);
  });

  it("every shipped monitoring file reaches a container", () => {
    const s = shipped(stack);
    const binds = Object.keys(s.services).flatMap((service) => deployDirBinds(s, service));
    const monitoring = [...s.paths].filter((p) => p.startsWith(`${s.deployDir}/monitoring/`));
    expect(monitoring.length).toBeGreaterThanOrEqual(20);
    const unmounted = monitoring.filter((p) => !binds.some((b) => p === b.source || p.startsWith(`${b.source}/`)));
    expect(unmounted).toEqual([]);
  });

  it("the config each monitoring service is started with is a shipped file", () => {
    const s = shipped(stack);
    const configs: Array<[string, string]> = [
      ["prometheus", flag(s, "prometheus", "--config.file")],
      ["alertmanager", flag(s, "alertmanager", "--config.file")],
      ["loki", flag(s, "loki", "-config.file")],
      ["promtail", flag(s, "promtail", "-config.file")],
      ["postgres-exporter", s.services["postgres-exporter"]!.environment!.PG_EXPORTER_EXTEND_QUERY_PATH!],
    ];
    for (const [service, inContainer] of configs) expect(s.paths.has(hostPathOf(s, service, inContainer) ?? ""), `${service} reads ${inContainer}`).toBe(true);
  });

  it("Prometheus' rule files, Alertmanager's webhook file and Grafana's provisioned dashboards resolve to shipped files", () => {
    const s = shipped(stack);
    const promConfig = flag(s, "prometheus", "--config.file");
    const prom = parse(s.content(hostPathOf(s, "prometheus", promConfig)!));
    expect(prom.rule_files).toHaveLength(7);
    // Prometheus resolves rule files relative to its config file.
    for (const rf of prom.rule_files) expect(s.paths.has(hostPathOf(s, "prometheus", posix.join(posix.dirname(promConfig), rf)) ?? ""), rf).toBe(true);

    const am = parse(s.content(hostPathOf(s, "alertmanager", flag(s, "alertmanager", "--config.file"))!));
    const webhookFiles = JSON.stringify(am).match(/"api_url_file":"([^"]+)"/g)!.map((m) => m.split('"')[3]!);
    expect(webhookFiles.length).toBeGreaterThan(0);
    for (const f of webhookFiles) expect(s.paths.has(hostPathOf(s, "alertmanager", f) ?? ""), f).toBe(true);

    // Grafana reads provisioning from /etc/grafana/provisioning (the image's GF_PATHS_PROVISIONING).
    const provisioning = hostPathOf(s, "grafana", "/etc/grafana/provisioning");
    expect(provisioning && isShippedDir(s, `${provisioning}/datasources`)).toBe(true);
    const providers = [...s.paths].filter((p) => p.startsWith(`${provisioning}/dashboards/`)).flatMap((p) => parse(s.content(p)).providers);
    expect(providers.length).toBeGreaterThan(0);
    for (const p of providers) {
      const dir = hostPathOf(s, "grafana", p.options.path);
      expect([...s.paths].filter((f) => dir && f.startsWith(`${dir}/`) && f.endsWith(".json")).length, p.options.path).toBeGreaterThanOrEqual(7);
    }
  });
});
