// GoodGo's service inventory as the stack deploys it: the 14 services of section 1 (./services.ts) with
// this stack's settings, plus what the runbook's own facts require around them:
//   - the application images pinned to the configured registry and tag (rolling back = another tag, section 4.4);
//   - the exporters the Appendix's alerts read (GOODGO_EXPORTERS of the monitoring stack), the Grafana dashboards mount;
//   - the pg-backup container running Lazarus's backup scripts on its schedule, with the off-site bucket settings;
//   - nginx with the certbot certificate in front of web and API when exposure is "nginx".
// Pure: config in, a validated inventory out. Every order (start, stop, rolling restart) derives from it.
import { HOST_LAYOUT } from "../../lib/hostLayout";
import type { GoodgoConfig } from "./config";
import { defineInventory, type EnvRef, type ServiceInventory, type VolumeMount } from "../../lib/inventory";
import { GOODGO_VOLUMES, goodgoServices, pinnedImage, secretFileEnv, secretMount, type GoodgoServiceSpec } from "./services";
import { pgbouncerEnv } from "../../renderers/pgbouncer";
import { BACKUP_CRONTAB_PATH } from "../../renderers/backupSchedule";
import { GOODGO_BACKUP_METRICS, GOODGO_EXPORTERS, GOODGO_MONITORING_MOUNTS } from "./monitoring";
import { GOODGO_REDIS_PATHS, goodgoPgbouncerSettings, goodgoRedisCommand } from "./serviceSettings";
import { GOODGO_PITR_FILES, GOODGO_PITR_PATHS, GOODGO_POSTGRES_IMAGE, goodgoPostgresCommand, goodgoStanza } from "./pitr";

/** The compose file name the runbook uses everywhere (`docker compose -f docker-compose.prod.yml ...`). */
export const GOODGO_COMPOSE_FILE = "docker-compose.prod.yml";
/** Where backups restored from the off-site bucket are fetched to, inside the pg_backups volume. */
export const GOODGO_OFFSITE_DIR = "/backups/offsite";

export const GOODGO_NGINX_HEALTH_PATH = "/healthz";

/** The image tag the stack runs: the rollback switch's tag when set, else app.imageTag. */
export function goodgoEffectiveImageTag(cfg: GoodgoConfig): string {
  return cfg.recovery.rollback?.imageTag ?? cfg.app.imageTag;
}

export { spacesEndpoint } from "../../config/primitives";
import { spacesEndpoint } from "../../config/primitives";

/** s3://bucket/prefix (no trailing slash), where pg-backup copies backups. */
export function offsiteUrl(cfg: GoodgoConfig): string {
  return `s3://${cfg.backups.offsite.bucket}/${cfg.backups.offsite.prefix.replace(/\/+$/, "")}`;
}

const req = (name: string): EnvRef => ({ fromEnv: name, required: true });

/** The Redis address redis_exporter scrapes: also the key of its password file's map. */
export const GOODGO_REDIS_EXPORTER_ADDR = "redis://redis:6379";

function exporterSpecs(): GoodgoServiceSpec[] {
  const logging = { maxSize: "10m", maxFile: 3 };
  const byName = Object.fromEntries(GOODGO_EXPORTERS.map((e) => [e.name, e]));
  const wget = (port: number, path: string) => ({
    test: { exec: ["wget", "-q", "--spider", `http://127.0.0.1:${port}${path}`] },
    interval: "30s",
    timeout: "5s",
    retries: 3,
  });
  const pe = byName["postgres-exporter"]!;
  const re = byName["redis-exporter"]!;
  const ca = byName["cadvisor"]!;
  const ne = byName["node-exporter"]!;
  return [
    {
      name: pe.name,
      role: "monitoring",
      description: "PostgreSQL metrics for the database alerts",
      image: pinnedImage(pe.image.repository, pe.image.tag),
      containerName: `goodgo-${pe.name}`,
      ports: [{ container: pe.port }],
      // The password from its file (DATA_SOURCE_PASS_FILE), never in the environment or a URL in the compose file.
      environment: {
        DATA_SOURCE_URI: "postgres:5432/${DB_NAME:?DB_NAME must be set in the env file}?sslmode=disable",
        DATA_SOURCE_USER: req("DB_USER"),
        ...secretFileEnv("postgresExporterPassword"),
        PG_EXPORTER_EXTEND_QUERY_PATH: `${GOODGO_MONITORING_MOUNTS.postgresExporter.to}/queries.yml`,
      },
      volumes: [
        { kind: "bind", source: `./monitoring/${GOODGO_MONITORING_MOUNTS.postgresExporter.from}`, target: GOODGO_MONITORING_MOUNTS.postgresExporter.to, readOnly: true },
        secretMount("postgresExporterPassword"),
      ],
      limits: { cpus: 0.25, memoryMb: 128 },
      healthcheck: wget(pe.port, "/metrics"),
      dependsOn: [{ service: "postgres", condition: "healthy" }],
      logging,
    },
    {
      name: re.name,
      role: "monitoring",
      description: "Redis metrics for the Redis alerts",
      image: pinnedImage(re.image.repository, re.image.tag),
      containerName: `goodgo-${re.name}`,
      ports: [{ container: re.port }],
      // REDIS_PASSWORD_FILE is redis_exporter's JSON map of address to password (GOODGO_REDIS_EXPORTER_ADDR's entry).
      environment: { REDIS_ADDR: GOODGO_REDIS_EXPORTER_ADDR, ...secretFileEnv("redisExporterPasswords") },
      volumes: [secretMount("redisExporterPasswords")],
      limits: { cpus: 0.25, memoryMb: 128 },
      // A scratch image: no shell or wget for a health check; Prometheus's `up` covers it (PrometheusTargetDown).
      dependsOn: [{ service: "redis", condition: "healthy" }],
      logging,
    },
    {
      name: ca.name,
      role: "monitoring",
      description: "container metrics for the container alerts and section 7's queries",
      image: pinnedImage(ca.image.repository, ca.image.tag),
      containerName: `goodgo-${ca.name}`,
      ports: [{ container: ca.port }],
      volumes: [
        { kind: "bind", source: "/", target: "/rootfs", readOnly: true },
        { kind: "bind", source: "/var/run", target: "/var/run", readOnly: true },
        { kind: "bind", source: "/sys", target: "/sys", readOnly: true },
        { kind: "bind", source: "/var/lib/docker", target: "/var/lib/docker", readOnly: true },
      ],
      limits: { cpus: 0.25, memoryMb: 256 },
      healthcheck: wget(ca.port, "/healthz"),
      logging,
    },
    {
      name: ne.name,
      role: "monitoring",
      description: "host disk metrics and the backup metrics textfiles",
      image: pinnedImage(ne.image.repository, ne.image.tag),
      containerName: `goodgo-${ne.name}`,
      command: ["--path.rootfs=/host", `--collector.textfile.directory=${GOODGO_BACKUP_METRICS.dir}`],
      ports: [{ container: ne.port }],
      volumes: [
        { kind: "bind", source: "/", target: "/host", readOnly: true },
        { kind: "volume", source: "pg_backups", target: "/backups", readOnly: true },
      ],
      limits: { cpus: 0.25, memoryMb: 128 },
      healthcheck: wget(ne.port, "/metrics"),
      logging,
    },
  ];
}

function nginxSpec(): GoodgoServiceSpec {
  return {
    name: "nginx",
    role: "edge",
    description: "nginx with the certbot certificate in front of web and API (80/443)",
    image: pinnedImage("nginx", "1.27-alpine"),
    containerName: "goodgo-nginx",
    ports: [
      { container: 80, published: 80 },
      { container: 443, published: 443 },
    ],
    volumes: [
      { kind: "bind", source: "./nginx/nginx.conf", target: "/etc/nginx/nginx.conf", readOnly: true },
      { kind: "bind", source: HOST_LAYOUT.tlsDir, target: HOST_LAYOUT.tlsDir, readOnly: true },
      { kind: "bind", source: HOST_LAYOUT.letsencryptDir, target: HOST_LAYOUT.letsencryptDir, readOnly: true },
      { kind: "bind", source: HOST_LAYOUT.acmeWebroot, target: HOST_LAYOUT.acmeWebroot, readOnly: true },
    ],
    limits: { cpus: 0.5, memoryMb: 256 },
    healthcheck: {
      test: { exec: ["wget", "-q", "-O", "/dev/null", `http://127.0.0.1${GOODGO_NGINX_HEALTH_PATH}`] },
      interval: "30s",
      timeout: "5s",
      retries: 3,
    },
    dependsOn: [
      { service: "api", condition: "healthy" },
      { service: "web", condition: "healthy" },
    ],
    logging: { maxSize: "10m", maxFile: 3 },
  };
}

/** Host path (relative to the deploy dir) of the pg-backup schedule (renderBackupCrontab), mounted at BACKUP_CRONTAB_PATH. */
export const GOODGO_BACKUP_CRONTAB_FILE = "backup/backup.crontab";

/** Host paths (relative to the deploy dir) of the Redis files the stack ships; the ACL file is a secret. */
export const GOODGO_REDIS_FILES = { conf: "redis/redis.conf", acl: "redis/users.acl" } as const;

/** The runbook's admin console user (section 3.1: `psql ... -U pgbouncer_admin pgbouncer -c "SHOW POOLS;"`). */
export const GOODGO_PGBOUNCER_ADMIN_USER = "pgbouncer_admin";
/** Host path (relative to the deploy dir) of PgBouncer's auth_file, a secret (goodgoPgbouncerUserlist). */
export const GOODGO_PGBOUNCER_USERLIST_FILE = "pgbouncer/userlist.txt";

/**
 * PgBouncer as section 3.1 configures it, through the edoburu image's environment (renderers/pgbouncer.ts
 * pgbouncerEnv of ./serviceSettings' goodgoPgbouncerSettings): pool size and client limit stay .env variables (PGBOUNCER_POOL_SIZE, PGBOUNCER_MAX_CLIENT_CONN, the
 * runbook's "edit .env, then up -d --no-deps pgbouncer") with the configured values as defaults. Its auth_file holds
 * the application user and pgbouncer_admin (goodgoPgbouncerUserlist); the image's entrypoint needs no DB_PASSWORD
 * when the userlist already has DB_USER. PGPASSFILE (pgbouncer_admin's password in a pgpass file) lets the runbook's
 * admin console commands run inside the container as written.
 */
function pgbouncerSpec(base: GoodgoServiceSpec, cfg: GoodgoConfig): GoodgoServiceSpec {
  const settings = goodgoPgbouncerSettings({ poolSize: cfg.pgbouncer.poolSize, maxClientConn: cfg.pgbouncer.maxClientConn, dbName: cfg.database.name, adminUsers: [GOODGO_PGBOUNCER_ADMIN_USER] });
  const env = pgbouncerEnv(settings);
  return {
    ...base,
    environment: {
      ...env,
      DB_NAME: req("DB_NAME"),
      DEFAULT_POOL_SIZE: { fromEnv: "PGBOUNCER_POOL_SIZE", default: env.DEFAULT_POOL_SIZE },
      MAX_CLIENT_CONN: { fromEnv: "PGBOUNCER_MAX_CLIENT_CONN", default: env.MAX_CLIENT_CONN },
      DB_USER: req("DB_USER"),
      ...secretFileEnv("pgbouncerAdminPgpass"),
    },
    volumes: [...(base.volumes ?? []), { kind: "bind", source: `./${GOODGO_PGBOUNCER_USERLIST_FILE}`, target: settings.auth.file, readOnly: true }, secretMount("pgbouncerAdminPgpass")],
  };
}

/**
 * Redis as section 3.2 configures it, from the rendered redis.conf (renderers/redisConf.ts): 512 MB allkeys-lru, AOF;
 * the password only as a hash in the ACL file. redis-cli (health check, flush) authenticates with REDISCLI_AUTH, set
 * per command from the password file (REDIS_PASSWORD_FILE).
 */
function redisSpec(base: GoodgoServiceSpec): GoodgoServiceSpec {
  return {
    ...base,
    command: goodgoRedisCommand(),
    environment: secretFileEnv("redisPassword"),
    volumes: [
      ...(base.volumes ?? []),
      { kind: "bind", source: `./${GOODGO_REDIS_FILES.conf}`, target: GOODGO_REDIS_PATHS.conf, readOnly: true },
      { kind: "bind", source: `./${GOODGO_REDIS_FILES.acl}`, target: GOODGO_REDIS_PATHS.acl, readOnly: true },
    ],
  };
}

/** The image with pgBackRest (stacks/goodgo/pitr.ts), built on the host from the Dockerfile the plan ships. */
function pitrImage(): Pick<GoodgoServiceSpec, "image" | "build"> {
  const [repository, tag] = [GOODGO_POSTGRES_IMAGE.image.slice(0, GOODGO_POSTGRES_IMAGE.image.lastIndexOf(":")), GOODGO_POSTGRES_IMAGE.image.slice(GOODGO_POSTGRES_IMAGE.image.lastIndexOf(":") + 1)];
  return { image: pinnedImage(repository, tag), build: { context: `./${GOODGO_PITR_FILES.buildContext}` } };
}

/** What postgres and pg-backup both mount for pgBackRest: its config and secrets include, and the server's socket dir. */
function pgbackrestMounts(): VolumeMount[] {
  return [
    { kind: "bind", source: `./${GOODGO_PITR_FILES.pgbackrestConf}`, target: GOODGO_PITR_PATHS.pgbackrestConf, readOnly: true },
    secretMount("pgbackrestSecrets"),
    { kind: "bind", source: `./${GOODGO_PITR_FILES.socketDir}`, target: GOODGO_PITR_PATHS.socketDir },
  ];
}

/**
 * PostgreSQL as this stack runs it: the image with pgBackRest, WAL archived by archive_command (the `-c` arguments of
 * its command, from backups.pitr), pgBackRest's config and secrets mounted, the socket directory shared with pg-backup.
 */
function postgresSpec(base: GoodgoServiceSpec, cfg: GoodgoConfig): GoodgoServiceSpec {
  const others = (base.volumes ?? []).filter((v) => v.target !== secretMount("pgbackrestSecrets").target);
  return { ...base, ...pitrImage(), command: goodgoPostgresCommand(cfg), volumes: [...others, ...pgbackrestMounts()] };
}

/** The pg-backup container as this stack runs it: Lazarus's scripts, the schedule, the off-site bucket. */
function pgBackupSpec(base: GoodgoServiceSpec, cfg: GoodgoConfig): GoodgoServiceSpec {
  const o = cfg.backups.offsite;
  return {
    ...base,
    // The same image as postgres: pgBackRest for the physical route's backups and restores, jq for the scripts.
    ...pitrImage(),
    // The schedule loop (PID 1) runs the rendered crontab: backup-job.sh backup at backupAt, verify at verifyAt (UTC),
    // pitr-full / pitr-diff at backups.pitr.backupAt.
    entrypoint: ["bash", `${HOST_LAYOUT.scriptsRoot}/backup/backup-schedule.sh`],
    environment: {
      ...base.environment,
      BACKUP_DIR: "/backups",
      BACKUP_CRONTAB: BACKUP_CRONTAB_PATH,
      // The pgBackRest image adds jq and zstd; s3cmd is installed at container start.
      BACKUP_APT_INSTALL: "1",
      BACKUP_RETENTION_DAYS: String(cfg.backups.retentionDays),
      BACKUP_CODEC: cfg.backups.codec,
      ...(cfg.backups.compressLevel === undefined ? {} : { BACKUP_COMPRESS: String(cfg.backups.compressLevel) }),
      VERIFY_CRITICAL_TABLES: cfg.database.criticalTables.join(","),
      // The physical route's jobs (backup-job.sh pitr-full|pitr-diff) run pgBackRest as the server's OS user.
      PITR_STANZA: goodgoStanza(cfg),
      PITR_RUN_AS: "postgres",
      REPORT_FILE: "/backups/verify-latest.json",
      METRICS_DIR: GOODGO_BACKUP_METRICS.dir,
      S3_URL: offsiteUrl(cfg),
      S3_ENDPOINT: spacesEndpoint(o.region),
      S3_HOST_BUCKET: `%(bucket)s.${spacesEndpoint(o.region)}`,
      S3_REGION: o.region,
      // The Spaces key in s3cmd's own config file (lib-pg.sh's s3_upload and the off-site fetch read S3CMD_CONFIG).
      ...secretFileEnv("pgBackupS3cfg"),
    },
    // Healthy once the tools the jobs need are installed, so `up --wait` (and the recovery chains) never run a backup
    // script in a container that is still installing jq or s3cmd.
    healthcheck: {
      test: { shell: 'command -v jq >/dev/null && command -v flock >/dev/null && command -v zstd >/dev/null && { [ -z "$${S3_URL:-}" ] || command -v s3cmd >/dev/null; }' },
      interval: "10s",
      timeout: "5s",
      retries: 30,
      startPeriod: "60s",
    },
    volumes: [
      { kind: "volume", source: "pg_backups", target: "/backups" },
      { kind: "bind", source: HOST_LAYOUT.scriptsRoot, target: HOST_LAYOUT.scriptsRoot, readOnly: true },
      { kind: "bind", source: `./${GOODGO_BACKUP_CRONTAB_FILE}`, target: BACKUP_CRONTAB_PATH, readOnly: true },
      secretMount("pgBackupPgpass"),
      secretMount("pgBackupS3cfg"),
      // pgBackRest reads the live data directory (never writes it) and asks the server for pg_backup_start/stop.
      { kind: "volume", source: "pgdata", target: GOODGO_PITR_PATHS.dataDir, readOnly: true },
      ...pgbackrestMounts(),
    ],
  };
}

/** Every service the GoodGo host runs, validated (names, dependencies, ports, cycles) by defineInventory. */
export function goodgoStackInventory(cfg: GoodgoConfig, stack: string): ServiceInventory {
  const nginx = cfg.app.exposure === "nginx";
  const base = goodgoServices({
    prometheusRetention: cfg.monitoring.prometheusRetention ?? (stack === "prod" ? "30d" : "15d"),
    redisMaxMemoryMb: cfg.redis.maxMemoryMb,
    grafanaPort: cfg.grafana.port,
    // Behind nginx, web and API are published on the host's loopback only (the runbook's curl localhost:3001 works).
    publicBind: nginx ? "127.0.0.1" : undefined,
    logMaxFile: cfg.app.logMaxFile,
    app: { registryUrl: cfg.app.registryUrl, imageTag: goodgoEffectiveImageTag(cfg) },
  });
  const services = base.map((s): GoodgoServiceSpec => {
    if (s.name === "pg-backup") return pgBackupSpec(s, cfg);
    if (s.name === "postgres") return postgresSpec(s, cfg);
    if (s.name === "pgbouncer") return pgbouncerSpec(s, cfg);
    if (s.name === "redis") return redisSpec(s);
    if (s.name === "grafana") {
      const m = GOODGO_MONITORING_MOUNTS.grafanaDashboards;
      return { ...s, volumes: [...(s.volumes ?? []), { kind: "bind", source: `./monitoring/${m.from}`, target: m.to, readOnly: true }] };
    }
    return s;
  });
  return defineInventory([...services, ...exporterSpecs(), ...(nginx ? [nginxSpec()] : [])]);
}

/** The named volumes of section 8 (the inventory may not mount others). */
export const GOODGO_NAMED_VOLUMES: readonly string[] = GOODGO_VOLUMES;
