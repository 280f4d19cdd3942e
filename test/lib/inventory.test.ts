import { describe, expect, it } from "vitest";
import {
  defineInventory,
  dependenciesOf,
  dependentsOf,
  findCycles,
  interpolationReferences,
  mermaidGraph,
  namedVolumes,
  referencedVariables,
  rollingRestartOrder,
  ServiceSpec,
  startOrder,
  projectFileMounts,
  stopOrder,
  totalLimits,
  validateInventory,
} from "../../lib/inventory";
import { goodgoInventory, goodgoServices, GOODGO_VOLUMES } from "../../stacks/goodgo/services";
import { kroInventory } from "../../stacks/kro/inventory";
import { kro } from "../../stacks/kro";
import { stackPlatformConfig } from "../support/stacks";
import { RenderInputError } from "../../renderers/renderInputError";

const svc = (name: string, deps: string[] = [], extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  name,
  image: `example/${name}:1`,
  role: "app",
  healthcheck: { test: { exec: ["true"] } },
  dependsOn: deps.map((service) => ({ service, condition: "healthy" as const })),
  ...extra,
});

/** Position of each service in a flat order, to assert "x before y" against the dependency edges themselves. */
const positions = (order: string[]) => new Map(order.map((n, i) => [n, i]));

describe("inventory validation", () => {
  it("names the services of a dependency cycle in order", () => {
    const problems = validateInventory([svc("a", ["b"]), svc("b", ["c"]), svc("c", ["a"]), svc("d")]);
    expect(problems).toEqual(["dependency cycle: a -> b -> c -> a"]);
    expect(() => defineInventory([svc("a", ["b"]), svc("b", ["a"])])).toThrow(/dependency cycle: a -> b -> a/);
  });

  it("reports each independent cycle once", () => {
    const cycles = findCycles([svc("a", ["b"]), svc("b", ["a"]), svc("x", ["y"]), svc("y", ["z"]), svc("z", ["x"])]);
    expect(cycles).toEqual([
      ["a", "b", "a"],
      ["x", "y", "z", "x"],
    ]);
  });

  it("rejects unknown dependencies, duplicates, self-dependency and clashing published ports, all at once", () => {
    const problems = validateInventory([
      svc("api", ["pgbouncer", "api"], { ports: [{ container: 3001, published: 3001 }] }),
      svc("api"),
      svc("web", [], { ports: [{ container: 3000, published: 3001, bind: "127.0.0.1" }] }),
      svc("udp", [], { ports: [{ container: 53, published: 3001, protocol: "udp" }] }),
    ]);
    expect(problems).toContain('duplicate service name "api"');
    expect(problems.some((p) => p.startsWith('api.dependsOn: unknown service "pgbouncer"'))).toBe(true);
    expect(problems).toContain("api.dependsOn: a service cannot depend on itself");
    expect(problems).toContain("duplicate published port 3001/tcp: api (all addresses) and web (127.0.0.1)");
    // Same number over UDP is a different port.
    expect(problems.filter((p) => p.includes("3001/udp"))).toEqual([]);
  });

  it("allows the same host port on two distinct bind addresses", () => {
    const problems = validateInventory([
      svc("a", [], { ports: [{ container: 80, published: 8080, bind: "127.0.0.1" }] }),
      svc("b", [], { ports: [{ container: 80, published: 8080, bind: "10.0.0.5" }] }),
    ]);
    expect(problems).toEqual([]);
  });

  it("refuses a healthy condition on a dependency without a health check", () => {
    const problems = validateInventory([svc("job", [], { healthcheck: undefined }), svc("app", ["job"])]);
    expect(problems).toEqual(['app.dependsOn.job: condition "healthy" but job has no healthcheck (use "started")']);
  });

  it("checks field formats with the field path and an example", () => {
    const problems = validateInventory([
      svc("Bad Name"),
      svc("x", [], {
        image: "repo/x:$",
        limits: { cpus: 0, memoryMb: 1.5 },
        healthcheck: { test: { exec: [] }, interval: "10 seconds", retries: 0 },
        logging: { maxSize: "10MB", maxFile: 0 },
        volumes: [
          { kind: "volume", source: "bad/name", target: "data" },
          { kind: "bind", source: "relative/path", target: "/x" },
        ],
        environment: { "1BAD": "v", OK: { fromEnv: "not-a-var" } },
        ports: [{ container: 70000, bind: "localhost" }],
        restart: "sometimes" as never,
      }),
    ]);
    const expected = [
      'service name "Bad Name" must match',
      'x.image: lone "$"',
      "x.limits.cpus: 0 must be > 0",
      "x.limits.memoryMb: 1.5 must be a whole number",
      "x.healthcheck.test.exec is empty",
      'x.healthcheck.interval: "10 seconds" is not a duration',
      "x.healthcheck.retries: 0",
      'x.logging.maxSize: "10MB" is not a size',
      "x.logging.maxFile: 0",
      'x.volumes[0].target: "data" must be an absolute container path',
      'x.volumes[0].source: "bad/name" is not a volume name',
      'x.volumes[1].source: bind mount "relative/path" must be an absolute path or start with ./',
      'x.environment: "1BAD" is not a valid variable name',
      'x.environment.OK: "not-a-var" is not a valid variable name',
      "x.ports[0].container: 70000 is not a port",
      "x.ports[0].bind: a bind address needs a published port",
      'x.ports[0].bind: "localhost" is not an IPv4 address',
      'x.restart: "sometimes" is not one of',
    ];
    for (const e of expected) expect(problems.some((p) => p.includes(e)), `${e}\n${problems.join("\n")}`).toBe(true);
  });

  it("parses Compose interpolation and rejects what Compose rejects", () => {
    expect(interpolationReferences("${REGISTRY_URL}/goodgo-api:${IMAGE_TAG:-latest}")).toEqual([
      { name: "REGISTRY_URL", required: false, hasDefault: false },
      { name: "IMAGE_TAG", required: false, hasDefault: true },
    ]);
    expect(interpolationReferences('pg_isready -U "$${POSTGRES_USER}" $$HOME $X')).toEqual([{ name: "X", required: false, hasDefault: false }]);
    expect(interpolationReferences("${A:?A is needed}")).toEqual([{ name: "A", required: true, hasDefault: false }]);
    expect(() => interpolationReferences("${A")).toThrow(/unterminated/);
    expect(() => interpolationReferences("${A B}")).toThrow(/invalid interpolation/);
    expect(() => interpolationReferences("cost $5")).toThrow(/lone "\$"/);
  });

  it("throws one RenderInputError listing every problem", () => {
    try {
      defineInventory([svc("a", ["missing"]), svc("a")]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RenderInputError);
      expect((e as RenderInputError).renderer).toBe("service inventory");
      expect((e as RenderInputError).problems.length).toBe(2);
      expect((e as Error).message).toMatch(/duplicate service name "a"[\s\S]*unknown service "missing"/);
    }
  });
});

describe("GoodGo graph (runbook 001 section 1)", () => {
  const inv = goodgoInventory();

  it("has the 14 services and the 8 named volumes of section 8", () => {
    expect(inv.services.map((s) => s.name).sort()).toEqual(
      ["ai-services", "alertmanager", "api", "grafana", "loki", "minio", "pg-backup", "pgbouncer", "postgres", "prometheus", "promtail", "redis", "typesense", "web"],
    );
    expect(namedVolumes(inv)).toEqual([...GOODGO_VOLUMES].sort());
  });

  it("encodes the section 1 dependency chain", () => {
    const deps = (n: string) => (inv.services.find((s) => s.name === n)!.dependsOn ?? []).map((d) => d.service).sort();
    expect(deps("web")).toEqual(["api"]);
    expect(deps("api")).toEqual(["ai-services", "minio", "pgbouncer", "redis", "typesense"]);
    expect(deps("pgbouncer")).toEqual(["postgres"]);
    expect(deps("grafana")).toEqual(["loki", "prometheus"]);
    expect(deps("prometheus")).toEqual(["alertmanager"]);
    expect(deps("promtail")).toEqual(["loki"]);
    expect(deps("pg-backup")).toEqual(["postgres"]);
    // Every edge waits for health where the dependency has a health check.
    for (const s of inv.services) {
      for (const d of s.dependsOn ?? []) {
        const target = inv.services.find((x) => x.name === d.service)!;
        expect(d.condition).toBe(target.healthcheck ? "healthy" : "started");
      }
    }
  });

  it("start order: layers of services that can start together", () => {
    expect(startOrder(inv)).toEqual([
      ["ai-services", "alertmanager", "loki", "minio", "postgres", "redis", "typesense"],
      ["pg-backup", "pgbouncer", "prometheus", "promtail"],
      ["api", "grafana"],
      ["web"],
    ]);
  });

  it("every dependency starts in an earlier layer than its dependent, and stops in a later one", () => {
    const layerOf = (layers: string[][]) => new Map(layers.flatMap((l, i) => l.map((n) => [n, i] as const)));
    const start = layerOf(startOrder(inv));
    const stop = layerOf(stopOrder(inv));
    for (const s of inv.services) {
      for (const d of s.dependsOn ?? []) {
        expect(start.get(d.service)!).toBeLessThan(start.get(s.name)!);
        expect(stop.get(d.service)!).toBeGreaterThan(stop.get(s.name)!);
      }
    }
    expect(stopOrder(inv)[0]).toEqual(["web"]);
    expect(stopOrder(inv).at(-1)).toContain("postgres");
  });

  it("rolling restart: one at a time, each after everything it depends on", () => {
    const order = rollingRestartOrder(inv);
    expect(order).toHaveLength(14);
    const pos = positions(order);
    for (const s of inv.services) for (const d of s.dependsOn ?? []) expect(pos.get(d.service)!).toBeLessThan(pos.get(s.name)!);
    // Section 4.3's application/data rolling restart (the database itself is not bounced):
    expect(rollingRestartOrder(inv, { roles: ["data", "app"], exclude: ["postgres"] })).toEqual([
      "ai-services",
      "minio",
      "redis",
      "typesense",
      "pgbouncer",
      "api",
      "web",
    ]);
    expect(() => rollingRestartOrder(inv, { exclude: ["nope"] })).toThrow(/unknown service "nope"/);
  });

  it("dependents: what must restart after a service, in start order", () => {
    expect(dependentsOf(inv, "postgres")).toEqual(["pg-backup", "pgbouncer", "api", "web"]);
    expect(dependentsOf(inv, "pgbouncer")).toEqual(["api", "web"]);
    expect(dependentsOf(inv, "redis")).toEqual(["api", "web"]);
    expect(dependentsOf(inv, "alertmanager")).toEqual(["prometheus", "grafana"]);
    expect(dependentsOf(inv, "web")).toEqual([]);
    expect(dependenciesOf(inv, "web")).toEqual(["ai-services", "minio", "postgres", "redis", "typesense", "pgbouncer", "api"]);
    expect(() => dependentsOf(inv, "mysql")).toThrow(/unknown service "mysql"/);
  });

  it("is deterministic whatever the declaration order", () => {
    const shuffled = defineInventory([...goodgoServices()].reverse());
    expect(startOrder(shuffled)).toEqual(startOrder(inv));
    expect(rollingRestartOrder(shuffled)).toEqual(rollingRestartOrder(inv));
    expect(dependentsOf(shuffled, "postgres")).toEqual(dependentsOf(inv, "postgres"));
  });

  it("lists the variables the host's env file must provide", () => {
    const vars = referencedVariables(inv);
    const required = vars.filter((v) => v.required).map((v) => v.name);
    expect(required).toEqual(
      // The secrets reach their containers as files (GOODGO_SECRET_MOUNTS), never through Compose interpolation.
      ["DB_NAME", "DB_USER", "GRAFANA_ADMIN_USER", "IMAGE_TAG"],
    );
    // Without the stack's configured tag, the application images have no fallback: never "latest".
    expect(vars.find((v) => v.name === "IMAGE_TAG")).toEqual({ name: "IMAGE_TAG", required: true, hasDefault: false });
  });

  it("sums the limits of section 1 (a ceiling above the 8 GB host minimum of 4.6)", () => {
    // 1+0.5+1+2+0.5+0.5+1+0.5+0.5+0.5+0.25+0.5+0.5+0.25 CPU; 1024+512+1024+2048+256+768+1024+1024+512+512+256+1024+512+256 MiB
    expect(totalLimits(inv)).toEqual({ cpus: 9.5, memoryMb: 10752 });
  });

  it("draws the graph for the operator docs", () => {
    const m = mermaidGraph(inv);
    expect(m.startsWith("flowchart LR\n")).toBe(true);
    expect(m).toContain("web -->|healthy| api");
    expect(m).toContain("pg_backup -->|healthy| postgres");
    expect(m.match(/-->/g)!.length).toBe(inv.services.reduce((n, s) => n + (s.dependsOn?.length ?? 0), 0));
  });
});

describe("KRO graph (runbook 000)", () => {
  const inv = kroInventory(stackPlatformConfig("prod", kro), "prod");
  it("starts the backend, then the two web apps, nginx last; stops nginx first and the backend last", () => {
    expect(startOrder(inv)).toEqual([["backend"], ["admin-frontend", "frontend"], ["nginx"]]);
    expect(stopOrder(inv)).toEqual([["nginx"], ["admin-frontend", "frontend"], ["backend"]]);
    expect(rollingRestartOrder(inv)).toEqual(["backend", "admin-frontend", "frontend", "nginx"]);
    expect(dependentsOf(inv, "backend")).toEqual(["admin-frontend", "frontend", "nginx"]);
    expect(dependentsOf(inv, "nginx")).toEqual([]);
  });
});

describe("projectFileMounts", () => {
  it("lists, in start order, the project-directory paths each service bind-mounts, and nothing else", () => {
    const inv = defineInventory([
      svc("db", [], { volumes: [{ kind: "volume", source: "data", target: "/var/lib/data" }] }),
      svc("api", ["db"], { volumes: [{ kind: "bind", source: "./config/app.json", target: "/app/app.json" }, { kind: "bind", source: "/etc/ssl", target: "/etc/ssl" }] }),
      svc("proxy", ["api"], { volumes: [{ kind: "bind", source: "./nginx/", target: "/etc/nginx/conf.d" }, { kind: "bind", source: "./nginx", target: "/x" }] }),
    ]);
    expect(projectFileMounts(inv)).toEqual({ api: ["config/app.json"], proxy: ["nginx"] });
    expect(Object.keys(projectFileMounts(inv))).toEqual(["api", "proxy"]);
  });
});
