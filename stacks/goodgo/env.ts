// The GoodGo host's .env (section 8's variables), from the stack config and the Pulumi secrets. The text is a secret:
// it is built inside the secrets' apply, shipped over SSH stdin with mode 0600 and never appears in a plan.
import * as pulumi from "@pulumi/pulumi";
import type { GoodgoConfig, GoodgoSecretName } from "./config";
import { renderEnvFile } from "../../renderers/envFile";
import { renderPgbouncerUserlist } from "../../renderers/pgbouncer";
import { goodgoEnvValues, type GoodgoEnvConfig, type GoodgoEnvSecrets } from "./envVariables";
import { GOODGO_PGBOUNCER_ADMIN_USER, goodgoEffectiveImageTag } from "./inventory";

export interface GoodgoStackSecrets extends GoodgoEnvSecrets {
  spacesAccessKey: string;
  spacesSecretKey: string;
  pgbouncerAdminPassword: string;
}

/** Which Pulumi secret fills which value. */
export const GOODGO_ENV_SECRET_SOURCES: Record<keyof GoodgoStackSecrets, GoodgoSecretName> = {
  dbPassword: "goodgoDbPassword",
  redisPassword: "goodgoRedisPassword",
  jwtSecret: "goodgoJwtSecret",
  jwtRefreshSecret: "goodgoJwtRefreshSecret",
  typesenseApiKey: "goodgoTypesenseApiKey",
  minioAccessKey: "goodgoMinioAccessKey",
  minioSecretKey: "goodgoMinioSecretKey",
  vnpayHashSecret: "goodgoVnpayHashSecret",
  aiApiKey: "goodgoAiApiKey",
  grafanaAdminPassword: "goodgoGrafanaAdminPassword",
  spacesAccessKey: "goodgoSpacesAccessKey",
  spacesSecretKey: "goodgoSpacesSecretKey",
  pgbouncerAdminPassword: "goodgoPgbouncerAdminPassword",
};

/** All of them in one secret Output. */
export function goodgoSecretValues(secrets: (name: GoodgoSecretName) => pulumi.Output<string>): pulumi.Output<GoodgoStackSecrets> {
  const keys = Object.keys(GOODGO_ENV_SECRET_SOURCES) as (keyof GoodgoStackSecrets)[];
  return pulumi.secret(
    pulumi.all(keys.map((k) => secrets(GOODGO_ENV_SECRET_SOURCES[k]))).apply((values) => Object.fromEntries(keys.map((k, i) => [k, values[i]])) as unknown as GoodgoStackSecrets),
  );
}

export function goodgoEnvConfig(cfg: GoodgoConfig): GoodgoEnvConfig {
  return {
    dbName: cfg.database.name,
    dbUser: cfg.database.user,
    imageTag: goodgoEffectiveImageTag(cfg),
    registryUrl: cfg.app.registryUrl,
    grafanaAdminUser: cfg.grafana.adminUser,
    pgbouncerPoolSize: cfg.pgbouncer.poolSize,
    pgbouncerMaxClientConn: cfg.pgbouncer.maxClientConn,
    backupRetentionDays: cfg.backups.retentionDays,
    vnpay: cfg.app.vnpay,
  };
}

/**
 * Section 8's variables plus the Spaces key pg-backup copies off-site with (mapped to AWS_* in its environment) and
 * the PgBouncer admin console's password (PGPASSWORD inside the pgbouncer container, so the runbook's
 * `docker exec goodgo-pgbouncer psql ... -U pgbouncer_admin pgbouncer -c "SHOW POOLS;"` works as written).
 */
export function goodgoEnvVars(cfg: GoodgoConfig, s: GoodgoStackSecrets): Record<string, string> {
  return {
    ...goodgoEnvValues(goodgoEnvConfig(cfg), s),
    SPACES_ACCESS_KEY_ID: s.spacesAccessKey,
    SPACES_SECRET_ACCESS_KEY: s.spacesSecretKey,
    PGBOUNCER_ADMIN_PASSWORD: s.pgbouncerAdminPassword,
  };
}

/**
 * PgBouncer's auth_file: the application user (its connections go on to PostgreSQL with this password, so it is the
 * password itself) and pgbouncer_admin for the admin console. Shipped 0600 to the pgbouncer container's user and
 * mounted read-only over the image's own userlist, which its entrypoint then leaves alone (it only appends DB_USER
 * when that user is missing).
 */
export function goodgoPgbouncerUserlist(cfg: GoodgoConfig, s: GoodgoStackSecrets): string {
  return renderPgbouncerUserlist([
    { name: cfg.database.user, password: s.dbPassword },
    { name: GOODGO_PGBOUNCER_ADMIN_USER, password: s.pgbouncerAdminPassword },
  ]);
}

export function goodgoEnvText(cfg: GoodgoConfig, s: GoodgoStackSecrets): string {
  return renderEnvFile(goodgoEnvVars(cfg, s), {
    header: "GoodGo environment (runbook 001, section 8). Rendered by Lazarus from the stack config and Pulumi secrets; do not edit on the host.",
  });
}
