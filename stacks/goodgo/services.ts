// GoodGo's 14 production services (runbook 001, section 1 "Service Inventory", section 3.1/3.2 settings,
// section 8 variables and volumes) as a typed inventory. Pure data: stacks/goodgo/inventory.ts builds on it, the compose
// renderer turns it into docker-compose.prod.yml, and the restart orders and docs derive from it.
//
// The dependency chain of section 1, read as "X needs Y up first":
//   web -> api -> pgbouncer -> postgres;  api -> redis, typesense, minio, ai-services
//   grafana -> prometheus -> alertmanager;  grafana -> loki;  pg-backup -> postgres
// One arrow is turned around: the runbook draws "loki --> promtail (Docker socket)" in the direction the logs are
// queried, but promtail pushes to loki, so promtail waits for loki (not loki for promtail, which has no health
// check and would make loki's start depend on a log shipper).
// Conditions are "healthy" wherever the dependency has a health check (all of them here).

import { ServiceSpec, ServiceInventory, defineInventory, EnvRef, VolumeMount } from "../../lib/inventory";
import { refuseField } from "../../renderers/renderInputError";

export interface GoodgoInventoryOptions {
  /** Prometheus TSDB retention: "30d" in prod, "15d" in staging (section 8). */
  prometheusRetention?: string;
  /** Loki retention is configured in loki's own config file (15 d); this only names that file. */
  lokiConfigPath?: string;
  /** Redis maxmemory in MiB (512 in prod, section 3.2). */
  redisMaxMemoryMb?: number;
  /** Host port Grafana is published on (3002, admin CIDRs only at the firewall). */
  grafanaPort?: number;
  /** Bind address for the public ports; "127.0.0.1" when nginx on the same host fronts them. */
  publicBind?: string;
  /** JSON-file rotation max-file (3-5 per issue 4). */
  logMaxFile?: number;
  /** Registry and tag of the application images (the stack's config); without it IMAGE_TAG must come from the .env. */
  app?: { registryUrl: string; imageTag: string };
}

const req = (name: string): EnvRef => ({ fromEnv: name, required: true });
const opt = (name: string, def: string): EnvRef => ({ fromEnv: name, default: def });

/**
 * An image reference with a version tag: the only way a GoodGo service gets its image (GoodgoServiceSpec's `image` is
 * this branded type), so a new service cannot slip in unpinned. "latest" and an empty tag are refused.
 */
export type PinnedImage = string & { readonly __pinned: unique symbol };
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export function pinnedImage(repository: string, tag: string): PinnedImage {
  if (!TAG.test(tag) || tag === "latest") {
    refuseField("goodgo inventory", `image ${repository}`, `needs a version tag, got ${JSON.stringify(tag)} (example: ${repository}:1.2.3)`);
  }
  return `${repository}:${tag}` as PinnedImage;
}

/**
 * The application images: `${REGISTRY_URL:-<registry>}/<name>:${IMAGE_TAG...}`; the .env sets IMAGE_TAG from the stack
 * config (rollback = changing it, section 4.4). Without a configured tag, Compose refuses to run rather than pull latest.
 */
export function goodgoAppImage(name: string, app?: { registryUrl: string; imageTag: string }): PinnedImage {
  if (app) pinnedImage(name, app.imageTag);
  const tag = app ? `\${IMAGE_TAG:-${app.imageTag}}` : "${IMAGE_TAG:?IMAGE_TAG must be set in the env file}";
  return `\${REGISTRY_URL:-${app?.registryUrl ?? "ghcr.io/goodgo"}}/${name}:${tag}` as PinnedImage;
}

/**
 * The secrets containers read from files, never from their environment (which `docker inspect` shows): each is its
 * own 0600 file under the deploy directory's secrets/, owned by the container's user (stacks/goodgo/plan.ts prepare)
 * and bind-mounted read-only on its own, so no directory of the host has to be readable by the container. `via` is the
 * image's documented file variant that names the path: an environment variable, a flag of the service's command, or
 * ("pgbackrest --...") a pgBackRest option that archive_command names (stacks/goodgo/pitr.ts).
 */
export const GOODGO_SECRET_MOUNTS = {
  postgresPassword: { service: "postgres", host: "secrets/postgres/db_password", container: "/run/secrets/db_password", via: "POSTGRES_PASSWORD_FILE" },
  pgbouncerAdminPgpass: { service: "pgbouncer", host: "secrets/pgbouncer/pgpass", container: "/run/secrets/pgpass", via: "PGPASSFILE" },
  redisPassword: { service: "redis", host: "secrets/redis/redis_password", container: "/run/secrets/redis_password", via: "REDIS_PASSWORD_FILE" },
  typesenseConfig: { service: "typesense", host: "secrets/typesense/typesense-server.ini", container: "/run/secrets/typesense-server.ini", via: "--config" },
  minioRootUser: { service: "minio", host: "secrets/minio/root_user", container: "/run/secrets/minio_root_user", via: "MINIO_ROOT_USER_FILE" },
  minioRootPassword: { service: "minio", host: "secrets/minio/root_password", container: "/run/secrets/minio_root_password", via: "MINIO_ROOT_PASSWORD_FILE" },
  // pgBackRest's repository passphrase and Spaces keys, read from its include path (stacks/goodgo/pitr.ts)
  pgbackrestSecrets: { service: "postgres", host: "secrets/postgres/pgbackrest-secrets.conf", container: "/etc/pgbackrest/conf.d/secrets.conf", via: "pgbackrest --config-include-path" },
  pgBackupPgpass: { service: "pg-backup", host: "secrets/pg-backup/pgpass", container: "/run/secrets/pgpass", via: "PGPASSFILE" },
  pgBackupS3cfg: { service: "pg-backup", host: "secrets/pg-backup/s3cfg", container: "/run/secrets/s3cfg", via: "S3CMD_CONFIG" },
  grafanaAdminPassword: { service: "grafana", host: "secrets/grafana/admin_password", container: "/run/secrets/grafana_admin_password", via: "GF_SECURITY_ADMIN_PASSWORD__FILE" },
  postgresExporterPassword: { service: "postgres-exporter", host: "secrets/postgres-exporter/db_password", container: "/run/secrets/db_password", via: "DATA_SOURCE_PASS_FILE" },
  redisExporterPasswords: { service: "redis-exporter", host: "secrets/redis-exporter/passwords.json", container: "/run/secrets/redis_passwords.json", via: "REDIS_PASSWORD_FILE" },
} as const;
export type GoodgoSecretMount = keyof typeof GOODGO_SECRET_MOUNTS;

/** The read-only bind mount of one secret file. */
export function secretMount(key: GoodgoSecretMount): VolumeMount {
  const m = GOODGO_SECRET_MOUNTS[key];
  return { kind: "bind", source: `./${m.host}`, target: m.container, readOnly: true };
}

/** The environment entry that names a secret file's path (the path, never the secret). */
export function secretFileEnv(key: GoodgoSecretMount): Record<string, string> {
  const m = GOODGO_SECRET_MOUNTS[key];
  return { [m.via]: m.container };
}

/**
 * The only services that take secrets in their environment, by design: the application images read section 8's
 * variables (DATABASE_URL, JWT_SECRET, ...) from the environment and have no file variant, so they load the .env
 * (`env_file`). Every other service reads its secrets from files (GOODGO_SECRET_MOUNTS); the test
 * test/stacks/goodgo/secrets-not-in-container-env.test.ts holds both to it.
 */
export const GOODGO_ENV_SECRET_SERVICES: readonly string[] = ["api", "web", "ai-services"];

/** redis-cli takes the password from REDISCLI_AUTH, set for this one command from the mounted file. */
export const REDIS_HEALTH_TEST = 'REDISCLI_AUTH="$$(cat "$$REDIS_PASSWORD_FILE")" redis-cli ping | grep -q PONG';

/** A service of this inventory: its image only ever from pinnedImage or goodgoAppImage. */
export type GoodgoServiceSpec = Omit<ServiceSpec, "image"> & { image: PinnedImage };

/**
 * Typesense's health check. The image has neither curl nor wget (typesense/typesense:27.1 is ubuntu:22.04 plus
 * ca-certificates and the server binary: docker/deployment.Dockerfile at v27.1; upstream asks for curl in
 * https://github.com/typesense/typesense/issues/441 and https://github.com/typesense/typesense/pull/1097, still
 * open in #2731), so bash asks /health over /dev/tcp and requires its {"ok":true} answer. bash, not /bin/sh: the
 * image's sh is dash, which has no /dev/tcp.
 */
export const TYPESENSE_HEALTH_TEST = [
  "bash",
  "-c",
  `exec 3<>/dev/tcp/127.0.0.1/8108 && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '"ok":true' <&3`,
];

const nodeFetch = (url: string): string[] => [
  "node",
  "-e",
  `fetch('${url}').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))`,
];

export function goodgoServices(o: GoodgoInventoryOptions = {}): GoodgoServiceSpec[] {
  const logging = { maxSize: "10m", maxFile: o.logMaxFile ?? 3 };
  const pub = o.publicBind;
  const base = { envFile: [".env"], logging };
  const app = o.app;
  return [
    {
      ...base,
      name: "api",
      role: "app",
      description: "NestJS API",
      image: goodgoAppImage("goodgo-api", app),
      containerName: "goodgo-api",
      ports: [{ container: 3001, published: 3001, bind: pub }],
      environment: { NODE_ENV: "production", PORT: 3001 },
      limits: { cpus: 1, memoryMb: 1024 },
      healthcheck: { test: { exec: nodeFetch("http://127.0.0.1:3001/health") }, interval: "15s", timeout: "5s", retries: 5, startPeriod: "40s" },
      dependsOn: [
        { service: "pgbouncer", condition: "healthy" },
        { service: "redis", condition: "healthy" },
        { service: "typesense", condition: "healthy" },
        { service: "minio", condition: "healthy" },
        { service: "ai-services", condition: "healthy" },
      ],
      stopGracePeriod: "30s",
    },
    {
      ...base,
      name: "web",
      role: "app",
      description: "Next.js web",
      image: goodgoAppImage("goodgo-web", app),
      containerName: "goodgo-web",
      ports: [{ container: 3000, published: 3000, bind: pub }],
      environment: { NODE_ENV: "production", PORT: 3000 },
      limits: { cpus: 0.5, memoryMb: 512 },
      healthcheck: { test: { exec: nodeFetch("http://127.0.0.1:3000/") }, interval: "15s", timeout: "5s", retries: 5, startPeriod: "30s" },
      dependsOn: [{ service: "api", condition: "healthy" }],
    },
    {
      ...base,
      name: "ai-services",
      role: "app",
      description: "FastAPI AI services",
      image: goodgoAppImage("goodgo-ai-services", app),
      containerName: "goodgo-ai-services",
      ports: [{ container: 8000 }],
      limits: { cpus: 1, memoryMb: 1024 },
      healthcheck: {
        test: { exec: ["python", "-c", "import httpx,sys; sys.exit(0 if httpx.get('http://127.0.0.1:8000/health').status_code==200 else 1)"] },
        interval: "15s",
        timeout: "5s",
        retries: 5,
        startPeriod: "30s",
      },
    },
    {
      name: "postgres",
      role: "data",
      description: "PostgreSQL 16 + PostGIS",
      image: pinnedImage("postgis/postgis", "16-3.4"),
      containerName: "goodgo-postgres",
      ports: [{ container: 5432 }],
      // The image's entrypoint reads POSTGRES_PASSWORD_FILE (used when it initialises an empty data directory).
      environment: { POSTGRES_USER: req("DB_USER"), ...secretFileEnv("postgresPassword"), POSTGRES_DB: req("DB_NAME") },
      volumes: [{ kind: "volume", source: "pgdata", target: "/var/lib/postgresql/data" }, secretMount("postgresPassword"), secretMount("pgbackrestSecrets")],
      limits: { cpus: 2, memoryMb: 2048 },
      shmSizeMb: 256,
      healthcheck: { test: { shell: 'pg_isready -U "$${POSTGRES_USER}" -d "$${POSTGRES_DB}"' }, interval: "10s", timeout: "5s", retries: 5, startPeriod: "30s" },
      logging,
      stopGracePeriod: "60s",
    },
    {
      name: "pgbouncer",
      role: "data",
      description: "PgBouncer (transaction pooling, section 3.1)",
      image: pinnedImage("edoburu/pgbouncer", "1.23.1-p2"),
      containerName: "goodgo-pgbouncer",
      ports: [{ container: 6432 }],
      environment: {
        DB_HOST: "postgres",
        DB_PORT: 5432,
        DB_USER: req("DB_USER"),
        DB_NAME: req("DB_NAME"),
        LISTEN_PORT: 6432,
        AUTH_TYPE: "scram-sha-256",
        POOL_MODE: "transaction",
        DEFAULT_POOL_SIZE: opt("PGBOUNCER_POOL_SIZE", "20"),
        MAX_CLIENT_CONN: opt("PGBOUNCER_MAX_CLIENT_CONN", "200"),
        RESERVE_POOL_SIZE: 5,
        RESERVE_POOL_TIMEOUT: 3,
        QUERY_WAIT_TIMEOUT: 120,
        ADMIN_USERS: "pgbouncer_admin",
      },
      limits: { cpus: 0.5, memoryMb: 256 },
      healthcheck: { test: { shell: 'pg_isready -h 127.0.0.1 -p 6432 -U "$${DB_USER}"' }, interval: "10s", timeout: "5s", retries: 5 },
      dependsOn: [{ service: "postgres", condition: "healthy" }],
      logging,
    },
    {
      name: "redis",
      role: "data",
      description: "Redis 7 (AOF, 512 MB allkeys-lru)",
      image: pinnedImage("redis", "7-alpine"),
      containerName: "goodgo-redis",
      ports: [{ container: 6379 }],
      // Shell form so redis-server reads the password from its file at start, not from an environment variable.
      command: [
        "sh",
        "-c",
        `exec redis-server --appendonly yes --maxmemory ${o.redisMaxMemoryMb ?? 512}mb --maxmemory-policy allkeys-lru --requirepass "$$(cat "$$REDIS_PASSWORD_FILE")"`,
      ],
      volumes: [{ kind: "volume", source: "redis_data", target: "/data" }, secretMount("redisPassword")],
      limits: { cpus: 0.5, memoryMb: 768 },
      environment: secretFileEnv("redisPassword"),
      healthcheck: { test: { shell: REDIS_HEALTH_TEST }, interval: "10s", timeout: "5s", retries: 5 },
      logging,
    },
    {
      name: "typesense",
      role: "data",
      description: "Typesense search",
      image: pinnedImage("typesense/typesense", "27.1"),
      containerName: "goodgo-typesense",
      ports: [{ container: 8108 }],
      // The API key from typesense-server's own config file (the image's entrypoint is the server binary itself).
      command: [`${GOODGO_SECRET_MOUNTS.typesenseConfig.via}=${GOODGO_SECRET_MOUNTS.typesenseConfig.container}`],
      environment: { TYPESENSE_DATA_DIR: "/data", TYPESENSE_ENABLE_CORS: "true" },
      volumes: [{ kind: "volume", source: "typesense_data", target: "/data" }, secretMount("typesenseConfig")],
      limits: { cpus: 1, memoryMb: 1024 },
      healthcheck: { test: { exec: TYPESENSE_HEALTH_TEST }, interval: "15s", timeout: "5s", retries: 5, startPeriod: "20s" },
      logging,
    },
    {
      name: "minio",
      role: "data",
      description: "MinIO object storage (API 9000, console 9001)",
      image: pinnedImage("minio/minio", "RELEASE.2024-12-18T13-15-44Z"),
      containerName: "goodgo-minio",
      command: ["server", "/data", "--console-address", ":9001"],
      ports: [
        { container: 9000, description: "S3 API" },
        { container: 9001, description: "console" },
      ],
      environment: { ...secretFileEnv("minioRootUser"), ...secretFileEnv("minioRootPassword") },
      volumes: [{ kind: "volume", source: "minio_data", target: "/data" }, secretMount("minioRootUser"), secretMount("minioRootPassword")],
      limits: { cpus: 0.5, memoryMb: 1024 },
      healthcheck: { test: { exec: ["mc", "ready", "local"] }, interval: "15s", timeout: "5s", retries: 5 },
      logging,
    },
    {
      name: "pg-backup",
      role: "backup",
      description: "cron daemon: backup 02:00 UTC, verification 04:00 UTC",
      image: pinnedImage("postgis/postgis", "16-3.4"),
      containerName: "goodgo-pg-backup",
      entrypoint: ["/scripts/entrypoint.sh"],
      environment: {
        PGHOST: "postgres",
        PGPORT: 5432,
        PGUSER: req("DB_USER"),
        ...secretFileEnv("pgBackupPgpass"),
        PGDATABASE: req("DB_NAME"),
        BACKUP_RETENTION_DAYS: opt("BACKUP_RETENTION_DAYS", "7"),
        TZ: "UTC",
      },
      volumes: [
        { kind: "volume", source: "pg_backups", target: "/backups" },
        { kind: "bind", source: "./scripts/backup", target: "/scripts", readOnly: true },
        secretMount("pgBackupPgpass"),
      ],
      limits: { cpus: 0.5, memoryMb: 512 },
      dependsOn: [{ service: "postgres", condition: "healthy" }],
      logging,
    },
    {
      name: "loki",
      role: "monitoring",
      description: "Loki (15-day retention)",
      image: pinnedImage("grafana/loki", "3.0.0"),
      containerName: "goodgo-loki",
      command: ["-config.file=/etc/loki/loki.yml"],
      ports: [{ container: 3100 }],
      volumes: [
        { kind: "volume", source: "loki_data", target: "/loki" },
        { kind: "bind", source: o.lokiConfigPath ?? "./monitoring/loki/loki.yml", target: "/etc/loki/loki.yml", readOnly: true },
      ],
      limits: { cpus: 0.5, memoryMb: 512 },
      healthcheck: { test: { exec: ["wget", "-q", "--spider", "http://127.0.0.1:3100/ready"] }, interval: "15s", timeout: "5s", retries: 5, startPeriod: "20s" },
      logging,
    },
    {
      name: "promtail",
      role: "monitoring",
      description: "Promtail (Docker socket discovery)",
      image: pinnedImage("grafana/promtail", "3.0.0"),
      containerName: "goodgo-promtail",
      command: ["-config.file=/etc/promtail/promtail.yml"],
      volumes: [
        { kind: "bind", source: "./monitoring/promtail/promtail.yml", target: "/etc/promtail/promtail.yml", readOnly: true },
        { kind: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
      ],
      limits: { cpus: 0.25, memoryMb: 256 },
      dependsOn: [{ service: "loki", condition: "healthy" }],
      logging,
    },
    {
      name: "prometheus",
      role: "monitoring",
      description: "Prometheus",
      image: pinnedImage("prom/prometheus", "v2.51.0"),
      containerName: "goodgo-prometheus",
      command: [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        `--storage.tsdb.retention.time=${o.prometheusRetention ?? "30d"}`,
        "--web.enable-lifecycle",
      ],
      ports: [{ container: 9090 }],
      volumes: [
        { kind: "volume", source: "prometheus_data", target: "/prometheus" },
        { kind: "bind", source: "./monitoring/prometheus", target: "/etc/prometheus", readOnly: true },
      ],
      limits: { cpus: 0.5, memoryMb: 1024 },
      healthcheck: { test: { exec: ["wget", "-q", "--spider", "http://127.0.0.1:9090/-/healthy"] }, interval: "15s", timeout: "5s", retries: 5 },
      dependsOn: [{ service: "alertmanager", condition: "healthy" }],
      logging,
    },
    {
      name: "grafana",
      role: "monitoring",
      description: "Grafana (3002, admin only)",
      image: pinnedImage("grafana/grafana", "10.4.1"),
      containerName: "goodgo-grafana",
      ports: [{ container: 3000, published: o.grafanaPort ?? 3002 }],
      environment: {
        GF_SECURITY_ADMIN_USER: req("GRAFANA_ADMIN_USER"),
        ...secretFileEnv("grafanaAdminPassword"),
        GF_USERS_ALLOW_SIGN_UP: "false",
      },
      volumes: [
        { kind: "volume", source: "grafana_data", target: "/var/lib/grafana" },
        { kind: "bind", source: "./monitoring/grafana/provisioning", target: "/etc/grafana/provisioning", readOnly: true },
        secretMount("grafanaAdminPassword"),
      ],
      limits: { cpus: 0.5, memoryMb: 512 },
      healthcheck: { test: { exec: ["wget", "-q", "--spider", "http://127.0.0.1:3000/api/health"] }, interval: "15s", timeout: "5s", retries: 5, startPeriod: "30s" },
      dependsOn: [
        { service: "prometheus", condition: "healthy" },
        { service: "loki", condition: "healthy" },
      ],
      logging,
    },
    {
      name: "alertmanager",
      role: "monitoring",
      description: "Alertmanager (Slack routing)",
      image: pinnedImage("prom/alertmanager", "v0.27.0"),
      containerName: "goodgo-alertmanager",
      command: ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
      ports: [{ container: 9093 }],
      volumes: [{ kind: "bind", source: "./monitoring/alertmanager", target: "/etc/alertmanager", readOnly: true }],
      limits: { cpus: 0.25, memoryMb: 256 },
      healthcheck: { test: { exec: ["wget", "-q", "--spider", "http://127.0.0.1:9093/-/healthy"] }, interval: "15s", timeout: "5s", retries: 5 },
      logging,
    },
  ];
}

/** The 8 named volumes of section 8. */
export const GOODGO_VOLUMES = [
  "pgdata",
  "redis_data",
  "typesense_data",
  "minio_data",
  "pg_backups",
  "loki_data",
  "prometheus_data",
  "grafana_data",
] as const;

export function goodgoInventory(o: GoodgoInventoryOptions = {}): ServiceInventory {
  return defineInventory(goodgoServices(o));
}
