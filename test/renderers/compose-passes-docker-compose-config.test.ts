// The rendered Compose files are checked by docker-compose 1.29's `config` (schema + interpolation), and what it
// normalizes is read back: limits, health checks, depends_on conditions, log rotation, image tags from the env.
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { defineInventory, ServiceSpec } from "../../lib/inventory";
import { GOODGO_VOLUMES, goodgoInventory } from "../../stacks/goodgo/services";
import { kroInventory } from "../../stacks/kro/inventory";
import { kro } from "../../stacks/kro";
import { stackPlatformConfig } from "../support/stacks";
import { renderCompose } from "../../renderers/compose";
import { composeConfig } from "../support/validators";
import { planFor } from "../support/stacks";
import type { Plan } from "../../cli/planner";

// Values for every variable the GoodGo inventory interpolates (its secrets reach the containers as files, not through
// Compose; REDIS_PASSWORD is here to show it never lands in a command).
const GOODGO_ENV = {
  IMAGE_TAG: "9409706c58",
  REGISTRY_URL: "ghcr.io/goodgo",
  DB_USER: "goodgo",
  DB_NAME: "goodgo",
  REDIS_PASSWORD: "test-only-redis",
  GRAFANA_ADMIN_USER: "admin",
};

describe("GoodGo's 14-service compose file", () => {
  const inv = goodgoInventory();
  const text = renderCompose({ name: "goodgo", services: inv, volumes: [...GOODGO_VOLUMES] });
  let parsed: any;

  beforeAll(() => {
    const r = composeConfig(text, GOODGO_ENV);
    expect(r.ok, r.output).toBe(true);
    parsed = r.parsed;
  });

  it("is accepted with all 14 services and the 8 named volumes, volume names pinned to the project", () => {
    expect(Object.keys(parsed.services).sort()).toEqual(inv.services.map((s) => s.name).sort());
    expect(Object.keys(parsed.volumes).sort()).toEqual([...GOODGO_VOLUMES].sort());
    for (const v of GOODGO_VOLUMES) expect(parsed.volumes[v].name).toBe(`goodgo_${v}`);
  });

  it("takes the application image tag and registry from the environment (rollback = change IMAGE_TAG)", () => {
    expect(parsed.services.api.image).toBe("ghcr.io/goodgo/goodgo-api:9409706c58");
    expect(parsed.services.web.image).toBe("ghcr.io/goodgo/goodgo-web:9409706c58");
    expect(parsed.services["ai-services"].image).toBe("ghcr.io/goodgo/goodgo-ai-services:9409706c58");
    const rolledBack = composeConfig(text, { ...GOODGO_ENV, IMAGE_TAG: "1a2b3c4" });
    expect(rolledBack.parsed.services.api.image).toBe("ghcr.io/goodgo/goodgo-api:1a2b3c4");
    // Data services keep their pinned images whatever the tag.
    expect(rolledBack.parsed.services.postgres.image).toBe("postgis/postgis:16-3.4");
  });

  it("carries section 1's CPU and memory limits and postgres' shm size", () => {
    const limits = (n: string) => parsed.services[n].deploy.resources.limits;
    for (const s of inv.services) {
      expect(Number(limits(s.name).cpus), s.name).toBe(s.limits!.cpus);
      expect(limits(s.name).memory, s.name).toBe(`${s.limits!.memoryMb}M`);
    }
    expect(limits("postgres")).toEqual({ cpus: 2.0, memory: "2048M" });
    expect(limits("redis").memory).toBe("768M");
    expect(parsed.services.postgres.shm_size).toBe("256m");
  });

  it("gives every service restart unless-stopped and json-file rotation", () => {
    for (const [name, s] of Object.entries<any>(parsed.services)) {
      expect(s.restart, name).toBe("unless-stopped");
      expect(s.logging, name).toEqual({ driver: "json-file", options: { "max-size": "10m", "max-file": "3" } });
    }
  });

  it("health checks: exec form, shell form with the container's own variables, timings", () => {
    expect(parsed.services.postgres.healthcheck).toEqual({
      test: ["CMD-SHELL", 'pg_isready -U "$${POSTGRES_USER}" -d "$${POSTGRES_DB}"'],
      interval: "10s",
      timeout: "5s",
      retries: 5,
      start_period: "30s",
    });
    expect(parsed.services.minio.healthcheck.test).toEqual(["CMD", "mc", "ready", "local"]);
    expect(parsed.services.api.healthcheck.test.slice(0, 3)).toEqual(["CMD", "node", "-e"]);
    const withCheck = Object.entries<any>(parsed.services).filter(([, s]) => s.healthcheck).map(([n]) => n).sort();
    expect(withCheck).toEqual(inv.services.filter((s) => s.healthcheck).map((s) => s.name).sort());
    expect(withCheck).not.toContain("pg-backup");
    expect(withCheck).not.toContain("promtail");
  });

  it("depends_on with health conditions along the section 1 chain", () => {
    expect(parsed.services.web.depends_on).toEqual({ api: { condition: "service_healthy" } });
    expect(Object.keys(parsed.services.api.depends_on).sort()).toEqual(["ai-services", "minio", "pgbouncer", "redis", "typesense"]);
    expect(parsed.services.pgbouncer.depends_on).toEqual({ postgres: { condition: "service_healthy" } });
    expect(parsed.services.grafana.depends_on).toEqual({ loki: { condition: "service_healthy" }, prometheus: { condition: "service_healthy" } });
    expect(parsed.services.postgres.depends_on).toBeUndefined();
  });

  it("publishes only web, api and grafana; everything else is internal", () => {
    const published = Object.entries<any>(parsed.services)
      .filter(([, s]) => s.ports)
      .map(([n, s]) => [n, s.ports]);
    // No bind address: published on every host address, IPv6 included (docker-compose normalizes to long form).
    expect(Object.fromEntries(published)).toEqual({
      api: [{ protocol: "tcp", published: 3001, target: 3001 }],
      web: [{ protocol: "tcp", published: 3000, target: 3000 }],
      grafana: [{ protocol: "tcp", published: 3002, target: 3000 }],
    });
    // Behind a host nginx the public ports bind to loopback only.
    const local = composeConfig(renderCompose({ name: "goodgo", services: goodgoInventory({ publicBind: "127.0.0.1" }), volumes: [...GOODGO_VOLUMES] }), GOODGO_ENV);
    expect(local.parsed.services.api.ports).toEqual(["127.0.0.1:3001:3001/tcp"]);
    expect(local.parsed.services.grafana.ports).toEqual([{ protocol: "tcp", published: 3002, target: 3000 }]);
    expect(parsed.services.minio.expose).toEqual(["9000", "9001"]);
  });

  it("configures PgBouncer, Redis and Prometheus as the runbook says", () => {
    expect(parsed.services.pgbouncer.environment).toMatchObject({
      POOL_MODE: "transaction",
      DEFAULT_POOL_SIZE: "20",
      MAX_CLIENT_CONN: "200",
      RESERVE_POOL_SIZE: "5",
      RESERVE_POOL_TIMEOUT: "3",
      QUERY_WAIT_TIMEOUT: "120",
    });
    const redisCmd = parsed.services.redis.command.join(" ");
    expect(redisCmd).toContain("--maxmemory 512mb --maxmemory-policy allkeys-lru");
    expect(redisCmd).toContain("--appendonly yes");
    // redis-server reads the password from its file at run time, not through Compose interpolation.
    expect(redisCmd).toContain('"$$(cat "$$REDIS_PASSWORD_FILE")"');
    expect(redisCmd).not.toContain(GOODGO_ENV.REDIS_PASSWORD);
    expect(parsed.services.prometheus.command).toContain("--storage.tsdb.retention.time=30d");
    const staging = composeConfig(renderCompose({ name: "goodgo", services: goodgoInventory({ prometheusRetention: "15d" }), volumes: [...GOODGO_VOLUMES] }), GOODGO_ENV);
    expect(staging.parsed.services.prometheus.command).toContain("--storage.tsdb.retention.time=15d");
  });

  it("refuses to run without the required variables, naming the variable", () => {
    const { DB_USER: _omit, ...withoutUser } = GOODGO_ENV;
    const r = composeConfig(text, withoutUser);
    expect(r.ok).toBe(false);
    expect(r.output).toContain("DB_USER must be set in the env file");
  });

  it("reads the variables from the project's .env as on the host (no shell environment at all)", () => {
    const dotenv = Object.entries({ ...GOODGO_ENV, IMAGE_TAG: "from-dotenv" }).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
    const r = composeConfig(text, {}, { envFiles: { ".env": dotenv } });
    expect(r.ok, r.output).toBe(true);
    expect(r.parsed.services.api.image).toBe("ghcr.io/goodgo/goodgo-api:from-dotenv");
    expect(r.parsed.services.postgres.environment.POSTGRES_USER).toBe("goodgo");
  });

  it("applies pgbouncer pool overrides from the env file (section 3.1: edit PGBOUNCER_POOL_SIZE in .env)", () => {
    const r = composeConfig(text, { ...GOODGO_ENV, PGBOUNCER_POOL_SIZE: "40" });
    expect(r.parsed.services.pgbouncer.environment.DEFAULT_POOL_SIZE).toBe("40");
  });
});

describe("KRO's compose file", () => {
  it("from the KRO inventory: backend, frontend, admin-frontend and nginx pass docker-compose config", () => {
    const cfg = stackPlatformConfig("prod", kro);
    const r = composeConfig(renderCompose({ name: "kro", services: kroInventory({ ...cfg, app: { ...cfg.app, imageTag: "v1.4.2" } }, "prod"), volumes: [] }));
    expect(r.ok, r.output).toBe(true);
    const s = r.parsed.services;
    expect(Object.keys(s).sort()).toEqual(["admin-frontend", "backend", "frontend", "nginx"]);
    expect(s.backend.image).toBe("registry.digitalocean.com/kro/backend:v1.4.2");
    expect(s.nginx.ports).toEqual([
      { protocol: "tcp", published: 80, target: 80 },
      { protocol: "tcp", published: 443, target: 443 },
    ]);
    expect(s.nginx.depends_on).toEqual({
      "admin-frontend": { condition: "service_healthy" },
      backend: { condition: "service_healthy" },
      frontend: { condition: "service_healthy" },
    });
    // production.json and the CA certificate are bind-mounted read-only from the deploy directory.
    expect(s.backend.volumes.filter((v: string) => /production\.json:.*:ro$|ca-certificate\.crt:.*:ro$/.test(v))).toHaveLength(2);
    for (const svc of Object.values<any>(s)) {
      expect(svc.restart).toBe("unless-stopped");
      expect(svc.logging.driver).toBe("json-file");
      expect(svc.healthcheck.test[0]).toBe("CMD");
    }
  });

  describe("as the KRO stack renders it (real Pulumi.<stack>.yaml, offline plan)", () => {
    let plans: Record<string, Plan>;
    beforeAll(async () => {
      plans = { prod: await planFor("prod"), staging: await planFor("staging") };
    });
    for (const stack of ["prod", "staging"]) {
      it(`${stack}: the compose file shipped to the host passes docker-compose config`, () => {
        const files = plans[stack]!.files.filter((f) => f.platform === "kro" && /docker-compose\.ya?ml$/.test(f.path));
        expect(files.length).toBe(1);
        const r = composeConfig(files[0]!.content!);
        expect(r.ok, r.output).toBe(true);
        expect(Object.keys(r.parsed.services).sort()).toEqual(["admin-frontend", "backend", "frontend", "nginx"]);
        for (const svc of Object.values<any>(r.parsed.services)) {
          expect(svc.restart).toBe("unless-stopped");
          expect(svc.logging.options["max-size"]).toBeDefined();
          expect(svc.healthcheck.test[0]).toBe("CMD");
          expect(svc.healthcheck.test[1]).not.toBe("CMD");
        }
      });
    }
  });
});

describe("the checker can fail", () => {
  const base: ServiceSpec = { name: "a", image: "x:1", role: "app" };
  it("docker-compose rejects a document the renderer would never produce", () => {
    const text = renderCompose({ name: "t", services: defineInventory([base]), volumes: [] });
    const broken = text.replace("restart: unless-stopped", "restart: sometimes\n    bogus_key: 1");
    const r = composeConfig(broken);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/bogus_key|Additional properties/);
  });

  it("the renderer refuses an undeclared named volume before docker-compose sees it", () => {
    const inv = defineInventory([{ ...base, volumes: [{ kind: "volume", source: "data", target: "/data" }] }]);
    expect(() => renderCompose({ name: "t", services: inv, volumes: [] })).toThrow(/mounts volume "data" that the project does not declare/);
  });

  it("networks: declared ones are rendered and joined, undeclared ones refused", () => {
    const inv = defineInventory([
      { ...base, networks: ["edge", "internal"] },
      { ...base, name: "b", networks: ["internal"], dependsOn: [{ service: "a", condition: "started" }] },
    ]);
    const r = composeConfig(renderCompose({ name: "t", services: inv, volumes: [], networks: { edge: {}, internal: { internal: true } } }));
    expect(r.ok, r.output).toBe(true);
    expect(r.parsed.networks.internal.internal).toBe(true);
    expect(Object.keys(r.parsed.services.a.networks).sort()).toEqual(["edge", "internal"]);
    expect(r.parsed.services.b.depends_on).toEqual({ a: { condition: "service_started" } });
    expect(() => renderCompose({ name: "t", services: inv, volumes: [], networks: { edge: {} } })).toThrow(/joins network "internal" that the project does not declare/);
  });

  it("YAML 1.1 look-alikes stay strings for docker-compose's PyYAML", () => {
    const inv = defineInventory([{ ...base, restart: "no", environment: { FLAG: "yes", TIME: "22:22", OFF: "off" } }]);
    const text = renderCompose({ name: "t", services: inv, volumes: [] });
    const r = composeConfig(text);
    expect(r.ok, r.output).toBe(true);
    expect(r.parsed.services.a.restart).toBe("no");
    expect(r.parsed.services.a.environment).toEqual({ FLAG: "yes", TIME: "22:22", OFF: "off" });
    expect(parse(text).version).toBeUndefined();
  });
});
