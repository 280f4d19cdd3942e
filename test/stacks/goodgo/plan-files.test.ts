// Every file the GoodGo plan renders, for both stacks, checked by its real consumer: docker-compose config (with the
// rendered .env, its values replaced by dummies), promtool check config / check rules, amtool check-config, nginx -t,
// cloud-init schema, JSON for the dashboards; and the generated runbook matches the inventory.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import type { Plan } from "../../../cli/planner";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { goodgo } from "../../../stacks/goodgo";
import { goodgoStackInventory } from "../../../stacks/goodgo/inventory";
import { GOODGO_VOLUMES } from "../../../stacks/goodgo/services";
import { cloudInitSchema, composeConfig, nginxTest } from "../../support/validators";
import { ALL_SENTINEL_SECRETS, T, one, planFor, rawStack } from "../../support/stacks";
import { GOODGO_PITR_FILES } from "../../../stacks/goodgo/pitr";

const STACKS = ["prod", "staging"] as const;
const outDirs: Record<string, string> = {};
const plans: Record<string, Plan> = {};
const cliErr: Record<string, string> = {};

beforeAll(async () => {
  for (const stack of STACKS) {
    outDirs[stack] = mkdtempSync(join(tmpdir(), `lazarus-goodgo-${stack}-`));
    const r = await runPlanCli(["--stack", stack, "--out", outDirs[stack]!]);
    expect(r.code, r.stderr).toBe(0);
    cliErr[stack] = r.stderr;
    plans[stack] = await planFor(stack, { secrets: ALL_SENTINEL_SECRETS });
  }
});
afterAll(() => {
  for (const d of Object.values(outDirs)) rmSync(d, { recursive: true, force: true });
});

const deployDir = (stack: string) => join(outDirs[stack]!, "goodgo", `goodgo-${stack}-software`, "root/goodgo");
const read = (stack: string, rel: string) => readFileSync(join(deployDir(stack), rel), "utf8");
/** The build context the compose file names, as --out wrote it (docker-compose config refuses a missing one). */
const shippedBuildFiles = (stack: string) => ({ [GOODGO_PITR_FILES.dockerfile]: read(stack, GOODGO_PITR_FILES.dockerfile) });
const tool = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
};
/**
 * The .env the stack ships (from the plan with sentinel secrets), every line that carries a secret replaced by a dummy
 * value of the same name (config values stay, so the file is read as on the host).
 */
function dummyEnv(stack: string): string {
  const env = String(one(plans[stack]!, T.command, `goodgo-${stack}-software-file-root-goodgo-env`).rawInputs.stdin);
  const lines = env.split("\n").filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l));
  expect(lines.length).toBeGreaterThan(20);
  const out = lines.map((l) => (l.includes("SENTINEL") ? `${l.split("=")[0]}=dummy-${l.split("=")[0]!.toLowerCase()}` : l));
  expect(out.filter((l) => l.includes("dummy-")).length).toBeGreaterThanOrEqual(12);
  return out.join("\n") + "\n";
}

describe.each(STACKS)("the %s plan's GoodGo files", (stack) => {
  it("are written by --out, the .env and the webhook file never", () => {
    expect(existsSync(join(deployDir(stack), "docker-compose.prod.yml"))).toBe(true);
    expect(existsSync(join(deployDir(stack), "RUNBOOK.md"))).toBe(true);
    expect(existsSync(join(deployDir(stack), ".env"))).toBe(false);
    expect(existsSync(join(deployDir(stack), "monitoring/alertmanager/secrets"))).toBe(false);
    expect(cliErr[stack]).toContain(`goodgo-${stack}-software:/root/goodgo/.env`);
  });

  it("docker-compose.prod.yml passes docker-compose config with the stack's .env: every service, limit, health check and volume", () => {
    const r = composeConfig(read(stack, "docker-compose.prod.yml"), {}, { envFiles: { ".env": dummyEnv(stack) }, projectFiles: shippedBuildFiles(stack) });
    expect(r.ok, r.output).toBe(true);
    const services = r.parsed.services as Record<string, any>;
    for (const s of ["api", "web", "ai-services", "postgres", "pgbouncer", "redis", "typesense", "minio", "pg-backup", "loki", "promtail", "prometheus", "grafana", "alertmanager"]) {
      expect(services[s], s).toBeDefined();
      expect(services[s].restart, s).toBe("unless-stopped");
      expect(services[s].logging, s).toEqual({ driver: "json-file", options: { "max-size": "10m", "max-file": stack === "prod" ? "5" : "3" } });
      expect(services[s].deploy?.resources?.limits?.memory, s).toBeDefined();
      if (s !== "promtail") expect(services[s].healthcheck?.test, s).toBeDefined();
    }
    expect(Object.keys(r.parsed.volumes).sort()).toEqual([...GOODGO_VOLUMES].sort());
    expect(services.postgres.shm_size).toBeDefined();
    const tag = stack === "prod" ? "8f3c2a1" : "9d41b07";
    for (const app of ["api", "web", "ai-services"]) expect(services[app].image).toBe(`ghcr.io/goodgo/goodgo-${app}:${tag}`);
    expect(read(stack, "docker-compose.prod.yml")).toContain(`goodgo-api:\${IMAGE_TAG:-${tag}}`);
    expect(services.web.depends_on.api.condition).toBe("service_healthy");
    expect(services.api.depends_on.pgbouncer.condition).toBe("service_healthy");
    expect(services.pgbouncer.depends_on.postgres.condition).toBe("service_healthy");
    expect(services.grafana.ports).toEqual([expect.objectContaining({ published: 3002, target: 3000 })]);
    // Published on every address: only nginx's 80/443 and Grafana's 3002 (the firewall keeps 3002 to the admin CIDRs);
    // web and API only on the host's loopback, behind nginx; everything else stays on the compose network.
    const published: string[] = [];
    for (const [name, svc] of Object.entries(services)) {
      for (const p of svc.ports ?? []) {
        published.push(typeof p === "string" ? `${name} ${p}` : `${name} ${p.host_ip ? `${p.host_ip}:` : ""}${p.published}:${p.target}/${p.protocol}`);
      }
    }
    expect(published.sort()).toEqual(["api 127.0.0.1:3001:3001/tcp", "grafana 3002:3000/tcp", "nginx 443:443/tcp", "nginx 80:80/tcp", "web 127.0.0.1:3000:3000/tcp"]);
    expect(JSON.stringify(services["pg-backup"].volumes)).toContain("/etc/lazarus/backup.crontab");
    // pg-backup is healthy only once its tools are installed; the health check's own shell reads S3_URL.
    // (docker-compose config prints the literal $ of the container's shell escaped again as $$.)
    expect(services["pg-backup"].healthcheck.test[1]).toMatch(/\[ -z "\$\$\{S3_URL:-\}" \] \|\| command -v s3cmd/);
    expect(services["pg-backup"].entrypoint).toEqual(["bash", "/opt/lazarus/scripts/backup/backup-schedule.sh"]);
    expect(services["pg-backup"].environment).toMatchObject({ S3CMD_CONFIG: "/run/secrets/s3cfg", PGPASSFILE: "/run/secrets/pgpass", S3_URL: expect.stringMatching(/^s3:\/\/lazarus-goodgo-/) });
    // Section 3.1's PgBouncer through the image's environment, section 3.2's Redis from the shipped redis.conf.
    expect(services.pgbouncer.environment).toMatchObject({
      POOL_MODE: "transaction", DEFAULT_POOL_SIZE: "20", MAX_CLIENT_CONN: "200", RESERVE_POOL_SIZE: "5", RESERVE_POOL_TIMEOUT: "3", QUERY_WAIT_TIMEOUT: "120",
      DB_HOST: "postgres", DB_NAME: "goodgo", PGPASSFILE: "/run/secrets/pgpass",
    });
    expect(services.redis.command).toEqual(["redis-server", "/usr/local/etc/redis/redis.conf"]);
    const redisConf = read(stack, "redis/redis.conf");
    for (const line of ["maxmemory 512mb", "maxmemory-policy allkeys-lru", "appendonly yes", "aclfile /usr/local/etc/redis/users.acl"]) expect(redisConf).toContain(line);
    expect(redisConf).not.toMatch(/requirepass/);
    expect(services.prometheus.command).toContain(`--storage.tsdb.retention.time=${stack === "prod" ? "30d" : "15d"}`);
  });

  it("docker-compose config refuses the compose file without the .env's required secrets", () => {
    const r = composeConfig(read(stack, "docker-compose.prod.yml"), {}, { envFiles: { ".env": "DB_NAME=goodgo\n" }, projectFiles: shippedBuildFiles(stack) });
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/must be set in the env file/);
  });

  it("prometheus.yml passes promtool check config, and every rule file promtool check rules", () => {
    const c = tool("promtool", ["check", "config", join(deployDir(stack), "monitoring/prometheus/prometheus.yml")]);
    expect(c.ok, c.out).toBe(true);
    const rulesDir = join(deployDir(stack), "monitoring/prometheus/rules");
    const files = readdirSync(rulesDir).map((f) => join(rulesDir, f));
    expect(files).toHaveLength(7);
    const r = tool("promtool", ["check", "rules", ...files]);
    expect(r.ok, r.out).toBe(true);
    expect(read(stack, "monitoring/prometheus/prometheus.yml")).toContain(`environment: ${stack}`);
  });

  it("alertmanager.yml passes amtool check-config and reads the webhook from the file the stack ships", () => {
    const r = tool("amtool", ["check-config", join(deployDir(stack), "monitoring/alertmanager/alertmanager.yml")]);
    expect(r.ok, r.out).toBe(true);
    expect(read(stack, "monitoring/alertmanager/alertmanager.yml")).toContain("api_url_file: /etc/alertmanager/secrets/slack_webhook_url");
  });

  it("every dashboard is JSON with panels, in the GoodGo folder provider", () => {
    const dir = join(deployDir(stack), "monitoring/grafana/dashboards");
    const names = readdirSync(dir).sort();
    expect(names).toEqual(["api-latency.json", "api-overview.json", "business-metrics.json", "database.json", "logs.json", "search.json", "web-vitals.json"]);
    for (const n of names) expect(JSON.parse(readFileSync(join(dir, n), "utf8")).panels.length, n).toBeGreaterThan(0);
    expect(read(stack, "monitoring/grafana/provisioning/dashboards/goodgo.yml")).toContain("folder: GoodGo");
  });

  it("nginx.conf passes nginx -t with the certificate paths it names", () => {
    const domains = stack === "prod" ? ["goodgo.example.org", "api.goodgo.example.org"] : ["staging.goodgo.example.org", "api.staging.goodgo.example.org"];
    const r = nginxTest(read(stack, "nginx/nginx.conf"), {
      hosts: ["api", "web"],
      certs: [{ certPath: `/etc/ssl/lazarus/goodgo-${stack}/fullchain.pem`, keyPath: `/etc/ssl/lazarus/goodgo-${stack}/privkey.pem`, names: domains }],
    });
    expect(r.ok, r.output).toBe(true);
    for (const d of domains) expect(read(stack, "nginx/nginx.conf")).toContain(`server_name ${d};`);
  });

  it("the droplet's user-data passes cloud-init's schema", () => {
    const r = cloudInitSchema(String(one(plans[stack]!, T.droplet, `goodgo-${stack}-host`).inputs.userData));
    expect(r.ok, r.output).toBe(true);
  });

  it("the pg-backup crontab passes backup-schedule.sh --check: backup 02:00 and verification 04:00 UTC, pgBackRest full on Sunday and differential on the other days at 01:00, through backup-job.sh", () => {
    const r = tool("bash", [join(__dirname, "../../../scripts/backup/backup-schedule.sh"), "--crontab", join(deployDir(stack), "backup/backup.crontab"), "--check"]);
    expect(r.ok, r.out).toBe(true);
    const jobs = JSON.parse(r.out.trim().split("\n").pop()!).jobs;
    expect(jobs).toEqual([
      { minute: "0", hour: "2", day_of_week: "*", command: "/opt/lazarus/scripts/backup/backup-job.sh backup" },
      { minute: "0", hour: "4", day_of_week: "*", command: "/opt/lazarus/scripts/backup/backup-job.sh verify" },
      { minute: "0", hour: "1", day_of_week: "0", command: "/opt/lazarus/scripts/backup/backup-job.sh pitr-full" },
      { minute: "0", hour: "1", day_of_week: "1,2,3,4,5,6", command: "/opt/lazarus/scripts/backup/backup-job.sh pitr-diff" },
    ]);
  });

  it("RUNBOOK.md draws exactly the inventory's dependencies and documents every service", () => {
    const doc = read(stack, "RUNBOOK.md");
    const cfg = platformConfig(loadStackConfig(rawStack(stack), { allowMissingSecrets: true }), goodgo)!;
    const inv = goodgoStackInventory(cfg, stack);
    const mermaid = doc.split("```mermaid")[1]!.split("```")[0]!;
    const edges = [...mermaid.matchAll(/^\s*(\S+) -->\|\w+\| (\S+)$/gm)].map((m) => `${m[1]}->${m[2]}`).sort();
    const id = (n: string) => n.replace(/[^A-Za-z0-9_]/g, "_");
    expect(edges).toEqual(inv.services.flatMap((s) => (s.dependsOn ?? []).map((d) => `${id(s.name)}->${id(d.service)}`)).sort());
    for (const s of inv.services) expect(doc).toContain(`| ${s.name} |`);
  });
});
