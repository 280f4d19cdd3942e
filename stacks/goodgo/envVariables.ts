// GoodGo's `.env` variables (runbook 001, section 8): which come from the stack config (value filled in), which are
// Pulumi secrets, and which are built from both. Pure: config and secret values in, NAME -> value out, each value
// checked by renderers/envFile.ts's envFileValue so the rendered file reads back identically in both Compose versions.
import { refuseField } from "../../renderers/renderInputError";
import { envFileValue } from "../../renderers/envFile";

/** GoodGo's checks refuse under the renderer their values feed. */
const RENDERER = ".env";

/** Non-secret settings the `.env` takes from the stack config (`lazarus:goodgo`). */
export interface GoodgoEnvConfig {
  /** PostgreSQL database name (DB_NAME; section 7's queries use "goodgo"). */
  dbName: string;
  /** PostgreSQL user (DB_USER). */
  dbUser: string;
  /** Application image tag (IMAGE_TAG): rolling back is changing it (section 4.4). */
  imageTag: string;
  /** Registry of the application images (REGISTRY_URL), e.g. ghcr.io/goodgo. */
  registryUrl: string;
  /** Grafana admin user name (GRAFANA_ADMIN_USER). */
  grafanaAdminUser: string;
  /** PGBOUNCER_POOL_SIZE (default 20, section 3.1). */
  pgbouncerPoolSize?: number;
  /** PGBOUNCER_MAX_CLIENT_CONN (default 200, section 3.1). */
  pgbouncerMaxClientConn?: number;
  /** BACKUP_RETENTION_DAYS (default 7, section 4.1). */
  backupRetentionDays?: number;
  /** VNPay gateway settings that are not secret (VNPAY_TMN_CODE, VNPAY_URL, VNPAY_RETURN_URL). */
  vnpay: { tmnCode: string; url: string; returnUrl: string };
  /** Compose service names/ports the URLs point at (defaults: pgbouncer:6432, postgres:5432, redis:6379). */
  hosts?: { pgbouncer?: string; postgres?: string; redis?: string };
}

/** The Pulumi secrets the `.env` needs (each set with `pulumi config set --secret`). */
export interface GoodgoEnvSecrets {
  dbPassword: string;
  redisPassword: string;
  jwtSecret: string;
  jwtRefreshSecret: string;
  typesenseApiKey: string;
  minioAccessKey: string;
  minioSecretKey: string;
  vnpayHashSecret: string;
  aiApiKey: string;
}

export const GOODGO_ENV_SECRET_KEYS: readonly (keyof GoodgoEnvSecrets)[] = [
  "dbPassword",
  "redisPassword",
  "jwtSecret",
  "jwtRefreshSecret",
  "typesenseApiKey",
  "minioAccessKey",
  "minioSecretKey",
  "vnpayHashSecret",
  "aiApiKey",
];

export type GoodgoEnvSource =
  /** Taken from the stack config; `value` is already filled in. */
  | { kind: "config"; value: string }
  /** One Pulumi secret, verbatim. */
  | { kind: "secret"; secret: keyof GoodgoEnvSecrets }
  /** Built from config and secrets (a URL with a password in it): a secret too. */
  | { kind: "derived"; secrets: (keyof GoodgoEnvSecrets)[]; template: string };

export interface GoodgoEnvVariable {
  name: string;
  /** True when the value is or contains a secret: the whole `.env` is then a Pulumi secret. */
  secret: boolean;
  /** Section 8's "Required" column (prod). */
  required: boolean;
  description: string;
  source: GoodgoEnvSource;
}

function checkConfig(c: GoodgoEnvConfig): void {
  const bad = (field: string, problem: string, got: unknown): never => {
    refuseField(RENDERER, `goodgo.${field}`, `${problem}, got ${JSON.stringify(got)}`);
  };
  if (typeof c !== "object" || c === null) refuseField(RENDERER, "goodgo", "expected the GoodGo env config object");
  const ident = /^[a-z_][a-z0-9_]{0,62}$/;
  if (typeof c.dbName !== "string" || !ident.test(c.dbName)) bad("dbName", "must be a PostgreSQL name such as goodgo", c.dbName);
  if (typeof c.dbUser !== "string" || !ident.test(c.dbUser)) bad("dbUser", "must be a PostgreSQL role name such as goodgo", c.dbUser);
  if (typeof c.imageTag !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(c.imageTag)) bad("imageTag", "must be an image tag such as v1.4.2 or a git SHA", c.imageTag);
  if (typeof c.registryUrl !== "string" || !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/.test(c.registryUrl)) bad("registryUrl", "must be a registry path such as ghcr.io/goodgo", c.registryUrl);
  if (typeof c.grafanaAdminUser !== "string" || !/^[A-Za-z0-9_.@-]{1,64}$/.test(c.grafanaAdminUser)) bad("grafanaAdminUser", "must be a user name such as admin", c.grafanaAdminUser);
  const posInt = (field: string, v: number | undefined, max: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= max)) bad(field, `must be a whole number from 1 to ${max}`, v);
  };
  posInt("pgbouncerPoolSize", c.pgbouncerPoolSize, 10000);
  posInt("pgbouncerMaxClientConn", c.pgbouncerMaxClientConn, 100000);
  posInt("backupRetentionDays", c.backupRetentionDays, 3650);
  if (typeof c.vnpay !== "object" || c.vnpay === null) bad("vnpay", "must be {tmnCode, url, returnUrl}", c.vnpay);
  if (typeof c.vnpay.tmnCode !== "string" || !/^[A-Za-z0-9]{1,32}$/.test(c.vnpay.tmnCode)) bad("vnpay.tmnCode", "must be the VNPay terminal code (letters and digits)", c.vnpay.tmnCode);
  for (const k of ["url", "returnUrl"] as const) {
    if (typeof c.vnpay[k] !== "string" || !/^https?:\/\/[^\s'"$\\]+$/.test(c.vnpay[k])) bad(`vnpay.${k}`, "must be an http(s) URL", c.vnpay[k]);
  }
}

/**
 * Section 8's variables as the GoodGo `.env` holds them: which come from config (value filled in), which are Pulumi
 * secrets, and which are built from both (DATABASE_URL & co. carry the password, so they are secrets too).
 * Every variable the GoodGo inventory interpolates (referencedVariables) is among them. The application services
 * load this file as their environment (GOODGO_ENV_SECRET_SERVICES), so it holds only what they read: Grafana's
 * admin password, which section 8 lists here too, is shipped only as Grafana's own secret file.
 */
export function goodgoEnvVariables(c: GoodgoEnvConfig): GoodgoEnvVariable[] {
  checkConfig(c);
  const pgb = c.hosts?.pgbouncer ?? "pgbouncer:6432";
  const pg = c.hosts?.postgres ?? "postgres:5432";
  const redis = c.hosts?.redis ?? "redis:6379";
  const conf = (name: string, value: string, required: boolean, description: string): GoodgoEnvVariable => ({
    name, secret: false, required, description, source: { kind: "config", value },
  });
  const sec = (name: string, secret: keyof GoodgoEnvSecrets, required: boolean, description: string): GoodgoEnvVariable => ({
    name, secret: true, required, description, source: { kind: "secret", secret },
  });
  const derived = (name: string, secrets: (keyof GoodgoEnvSecrets)[], template: string, description: string): GoodgoEnvVariable => ({
    name, secret: true, required: true, description, source: { kind: "derived", secrets, template },
  });
  return [
    conf("DB_NAME", c.dbName, true, "PostgreSQL database name (postgres, pgbouncer, pg-backup)"),
    conf("DB_USER", c.dbUser, true, "PostgreSQL user (postgres, pgbouncer, pg-backup)"),
    sec("DB_PASSWORD", "dbPassword", true, "PostgreSQL password (postgres, pgbouncer, pg-backup)"),
    derived("DATABASE_URL", ["dbPassword"], `postgresql://${c.dbUser}:{dbPassword}@${pgb}/${c.dbName}`, "PostgreSQL via PgBouncer (the application's connection)"),
    derived("DATABASE_URL_DIRECT", ["dbPassword"], `postgresql://${c.dbUser}:{dbPassword}@${pg}/${c.dbName}`, "Direct PostgreSQL for migrations"),
    sec("JWT_SECRET", "jwtSecret", true, "JWT signing secret"),
    sec("JWT_REFRESH_SECRET", "jwtRefreshSecret", true, "Refresh token signing secret"),
    sec("REDIS_PASSWORD", "redisPassword", true, "Redis auth password"),
    derived("REDIS_URL", ["redisPassword"], `redis://:{redisPassword}@${redis}`, "Redis connection"),
    sec("TYPESENSE_API_KEY", "typesenseApiKey", true, "Typesense admin API key"),
    sec("MINIO_ACCESS_KEY", "minioAccessKey", true, "MinIO root user"),
    sec("MINIO_SECRET_KEY", "minioSecretKey", true, "MinIO root password"),
    conf("VNPAY_TMN_CODE", c.vnpay.tmnCode, true, "VNPay terminal code"),
    sec("VNPAY_HASH_SECRET", "vnpayHashSecret", true, "VNPay signature secret"),
    conf("VNPAY_URL", c.vnpay.url, true, "VNPay payment gateway URL"),
    conf("VNPAY_RETURN_URL", c.vnpay.returnUrl, true, "VNPay return URL"),
    sec("AI_API_KEY", "aiApiKey", true, "AI services authentication"),
    conf("GRAFANA_ADMIN_USER", c.grafanaAdminUser, true, "Grafana admin username"),
    conf("PGBOUNCER_POOL_SIZE", String(c.pgbouncerPoolSize ?? 20), false, "PgBouncer pool size (default 20)"),
    conf("PGBOUNCER_MAX_CLIENT_CONN", String(c.pgbouncerMaxClientConn ?? 200), false, "Max PgBouncer client connections (default 200)"),
    conf("BACKUP_RETENTION_DAYS", String(c.backupRetentionDays ?? 7), false, "Backup retention period in days (default 7)"),
    conf("IMAGE_TAG", c.imageTag, false, "Container image tag of api, web and ai-services"),
    conf("REGISTRY_URL", c.registryUrl, false, "Registry of the application images"),
  ];
}

/**
 * Every variable's value, ready for renderEnvFile: config values as they are, secrets verbatim, derived URLs with the
 * secret percent-encoded where it sits in a URL. Call it inside the secrets' `apply` and keep the result secret.
 */
export function goodgoEnvValues(c: GoodgoEnvConfig, s: GoodgoEnvSecrets): Record<string, string> {
  const vars = goodgoEnvVariables(c);
  if (typeof s !== "object" || s === null) refuseField(RENDERER, "goodgo secrets", "expected the GoodGo secrets object");
  for (const k of GOODGO_ENV_SECRET_KEYS) {
    // The message names the secret, never its value.
    if (typeof s[k] !== "string" || s[k] === "") refuseField(RENDERER, `secret ${k}`, "is missing or empty");
  }
  const out: Record<string, string> = {};
  for (const v of vars) {
    const src = v.source;
    if (src.kind === "config") out[v.name] = src.value;
    else if (src.kind === "secret") out[v.name] = s[src.secret];
    else out[v.name] = src.template.replace(/\{(\w+)\}/g, (_, k: keyof GoodgoEnvSecrets) => encodeURIComponent(s[k]));
  }
  // Fail here, naming the variable (never the value), rather than ship a file the two Compose versions read differently.
  for (const [k, v] of Object.entries(out)) envFileValue(k, v);
  return out;
}
