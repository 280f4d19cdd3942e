// The GoodGo host's .env (section 8's variables), from the stack config and the Pulumi secrets. The text is a secret:
// it is built inside the secrets' apply, shipped over SSH stdin with mode 0600 and never appears in a plan.
import * as pulumi from "@pulumi/pulumi";
import type { GoodgoConfig, GoodgoSecretName } from "./config";
import { renderEnvFile } from "../../renderers/envFile";
import { renderPgBackRestSecretsConf } from "../../renderers/pgbackrest";
import { renderPgbouncerUserlist } from "../../renderers/pgbouncer";
import { goodgoEnvValues, type GoodgoEnvConfig, type GoodgoEnvSecrets } from "./envVariables";
import { GOODGO_PGBOUNCER_ADMIN_USER, GOODGO_REDIS_EXPORTER_ADDR, goodgoEffectiveImageTag } from "./inventory";
import type { GoodgoSecretMount } from "./services";
import { refuseField } from "../../renderers/renderInputError";

export interface GoodgoStackSecrets extends GoodgoEnvSecrets {
  grafanaAdminPassword: string;
  spacesAccessKey: string;
  spacesSecretKey: string;
  pgbouncerAdminPassword: string;
  pgbackrestCipherPass: string;
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
  pgbackrestCipherPass: "goodgoPgbackrestCipherPass",
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

/** Section 8's variables (the other secrets reach their containers only as files: goodgoContainerSecretFiles). */
export function goodgoEnvVars(cfg: GoodgoConfig, s: GoodgoStackSecrets): Record<string, string> {
  return goodgoEnvValues(goodgoEnvConfig(cfg), s);
}

import { pgpassLine } from "../../renderers/postgresClientFiles";

/**
 * Every secret file the containers read (GOODGO_SECRET_MOUNTS), by key: built inside the secrets' apply, shipped 0600
 * as Pulumi secrets. Each value is checked for what its reader cannot carry; the error names the secret, never its value.
 */
export function goodgoContainerSecretFiles(cfg: GoodgoConfig, s: GoodgoStackSecrets): Record<GoodgoSecretMount, string> {
  const inifile = (name: string, v: string) => {
    // typesense-server's INI reader (inih) trims values and cuts them at a ";" after whitespace: such a key would change.
    if (v !== v.trim() || /\s;|[\n\r]/.test(v) || v === "") {
      refuseField("typesense-server.ini", `secret ${name}`, "must be a non-empty API key on one line, without leading or trailing spaces or a ';' after a space (example: a 32-character random alphanumeric key)");
    }
    return v;
  };
  const line = (name: string, v: string) => {
    if (/[\n\r]/.test(v) || v !== v.trim() || v === "") refuseField("secret file", `secret ${name}`, "must be non-empty, on one line, without leading or trailing spaces");
    return `${v}\n`;
  };
  return {
    postgresPassword: line("goodgoDbPassword", s.dbPassword),
    postgresExporterPassword: line("goodgoDbPassword", s.dbPassword),
    pgBackupPgpass: pgpassLine(cfg.database.user, s.dbPassword),
    pgbouncerAdminPgpass: pgpassLine(GOODGO_PGBOUNCER_ADMIN_USER, s.pgbouncerAdminPassword),
    redisPassword: line("goodgoRedisPassword", s.redisPassword),
    redisExporterPasswords: `${JSON.stringify({ [GOODGO_REDIS_EXPORTER_ADDR]: s.redisPassword })}\n`,
    typesenseConfig: `[server]\napi-key = ${inifile("goodgoTypesenseApiKey", s.typesenseApiKey)}\n`,
    minioRootUser: line("goodgoMinioAccessKey", s.minioAccessKey),
    minioRootPassword: line("goodgoMinioSecretKey", s.minioSecretKey),
    grafanaAdminPassword: line("goodgoGrafanaAdminPassword", s.grafanaAdminPassword),
    pgbackrestSecrets: renderPgBackRestSecretsConf({ cipherPass: s.pgbackrestCipherPass, s3Key: s.spacesAccessKey, s3KeySecret: s.spacesSecretKey }),
    pgBackupS3cfg: `[default]\naccess_key = ${line("goodgoSpacesAccessKey", s.spacesAccessKey)}secret_key = ${line("goodgoSpacesSecretKey", s.spacesSecretKey)}`,
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
