// pgBackRest configuration for self-managed PostgreSQL (a postgres container or a Kubernetes StatefulSet), rendered
// from typed input. Pure: no Pulumi, no I/O. Two outputs:
//   - renderPgBackRestConf(): the pgbackrest.conf text (repository, retention, compression, parallelism, async
//     archiving, encryption type, the stanza's PostgreSQL location);
//   - renderPostgresArchiveConf(): the postgresql.conf lines that ship WAL to it (wal_level, archive_mode,
//     archive_command, archive_timeout).
// Secrets never enter the file. pgBackRest reads them from a 0600 include file (renderPgBackRestSecretsConf, named by
// `secretsFile`) or else from its environment:
//   PGBACKREST_REPO1_CIPHER_PASS  the repository encryption passphrase (when cipherType is set),
//   PGBACKREST_REPO1_S3_KEY, PGBACKREST_REPO1_S3_KEY_SECRET  the S3-compatible (DigitalOcean Spaces) access keys.
// Input is validated; an error names the field, what was expected and what was given.

import { refuseField } from "./renderInputError";

export type CompressType = "none" | "gz" | "lz4" | "zst" | "bz2";

export interface PosixRepository {
  type: "posix";
  /** Absolute path of the repository on this host (or a mounted volume). */
  path: string;
}

export interface S3Repository {
  type: "s3";
  bucket: string;
  /** Host name of the S3-compatible endpoint, no scheme: e.g. fra1.digitaloceanspaces.com */
  endpoint: string;
  region: string;
  /** Absolute path inside the bucket, e.g. /pgbackrest/app */
  path: string;
  /** "host" (bucket.endpoint, the default) or "path" (endpoint/bucket). */
  uriStyle?: "host" | "path";
  /** Endpoint port when not 443. */
  port?: number;
  /** Verify the endpoint's TLS certificate (default true). */
  verifyTls?: boolean;
}

export interface PgBackRestInput {
  /** Stanza name: the cluster's name inside the repository. */
  stanza: string;
  pg: {
    /** The cluster's data directory (PGDATA). */
    dataPath: string;
    port?: number;
    /** Directory of the server's Unix socket (pgBackRest connects over it). */
    socketPath?: string;
    /** Database user pgBackRest connects as (default: the OS user it runs as). */
    user?: string;
  };
  repository: PosixRepository | S3Repository;
  retention: {
    /** Full backups to keep (their WAL is kept with them). */
    full: number;
    /** Differential backups to keep. */
    diff?: number;
  };
  compress?: { type: CompressType; level?: number };
  /** Parallel processes for backup/restore (default 1). */
  processMax?: number;
  /** Asynchronous archiving; needs a spool directory on local disk. */
  archiveAsync?: { spoolPath: string; processMax?: number };
  /** Repository encryption. The passphrase comes from PGBACKREST_REPO1_CIPHER_PASS, never from this file. */
  encryption?: { cipherType: "aes-256-cbc" };
  /** Checkpoint immediately when a backup starts instead of waiting for the next one (default true). */
  startFast?: boolean;
  logPath?: string;
  lockPath?: string;
  logLevelConsole?: LogLevel;
  logLevelFile?: LogLevel;
  /** Where the secrets include file is (renderPgBackRestSecretsConf), named in the file's header instead of the environment. */
  secretsFile?: string;
  /**
   * A second repository (repo2), e.g. an off-site bucket beside a repository on the server: archive-push ships every
   * WAL segment to both; backups name the repository (`--repo=2`); its own retention and encryption. Its secrets
   * are repo2-* options (renderPgBackRestSecretsConf(..., 2)).
   */
  repo2?: { repository: PosixRepository | S3Repository; retention: { full: number; diff?: number }; encryption?: { cipherType: "aes-256-cbc" } };
}

export type LogLevel = "off" | "error" | "warn" | "info" | "detail" | "debug";

export interface ArchiveSettingsInput {
  stanza: string;
  /** Where pgbackrest.conf is installed on the database host (default: pgBackRest's own default path). */
  configPath?: string;
  /** Force a WAL segment switch at least this often, in seconds: the bound on data lost (RPO) between segments. */
  archiveTimeoutSeconds: number;
  walLevel?: "replica" | "logical";
  /** The pgbackrest executable (default: found on PATH). */
  pgbackrestPath?: string;
  /**
   * A directory of more *.conf files (renderPgBackRestSecretsConf's file). pgBackRest reads its default include path
   * only when --config is not given, so with configPath this must be named too.
   */
  configIncludePath?: string;
}

/** The secrets pgBackRest reads from a 0600 include file instead of its environment. */
export interface PgBackRestSecrets {
  cipherPass?: string;
  s3Key?: string;
  s3KeySecret?: string;
}

const SECRET_ENV = {
  cipherPass: "PGBACKREST_REPO1_CIPHER_PASS",
  s3Key: "PGBACKREST_REPO1_S3_KEY",
  s3KeySecret: "PGBACKREST_REPO1_S3_KEY_SECRET",
} as const;
export const PGBACKREST_SECRET_ENV = SECRET_ENV;

const COMPRESS_LEVELS: Record<CompressType, [number, number] | undefined> = {
  none: undefined,
  gz: [0, 9],
  bz2: [1, 9],
  lz4: [0, 12],
  zst: [-7, 22],
};
const LOG_LEVELS: readonly LogLevel[] = ["off", "error", "warn", "info", "detail", "debug"];

function fail(field: string, problem: string, got?: unknown): never {
  refuseField("pgbackrest", field, got === undefined ? problem : `${problem}, got ${JSON.stringify(got)}`);
}

function onlyKeys(field: string, obj: object, allowed: readonly string[], hint: Record<string, string> = {}): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      const h = hint[k] ?? `allowed: ${allowed.join(", ")}`;
      fail(field ? `${field}.${k}` : k, `is not a known option (${h})`);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An absolute path that is safe in an ini value and in a shell command line. */
function absPath(field: string, v: unknown): string {
  if (typeof v !== "string" || !v.startsWith("/")) fail(field, "must be an absolute path such as /var/lib/pgbackrest", v);
  if (/[\s'"`$\\;&|<>=#[\]]/.test(v)) fail(field, "must not contain whitespace, quotes or shell/ini metacharacters", v);
  if (v.length > 1 && v.endsWith("/")) fail(field, "must not end with a slash", v);
  return v;
}

function intIn(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    fail(field, `must be a whole number from ${min} to ${max}`, v);
  }
  return v;
}

function name(field: string, v: unknown, example: string): string {
  if (typeof v !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(v)) {
    fail(field, `must be letters, digits, '_' or '-' (at most 63, starting with a letter or digit), e.g. "${example}"`, v);
  }
  return v;
}

const SECRET_HINTS: Record<string, string> = {
  key: `S3 keys are read from ${SECRET_ENV.s3Key} in pgBackRest's environment, never written to the file`,
  keySecret: `S3 keys are read from ${SECRET_ENV.s3KeySecret} in pgBackRest's environment, never written to the file`,
  accessKey: `S3 keys are read from ${SECRET_ENV.s3Key} in pgBackRest's environment, never written to the file`,
  secretKey: `S3 keys are read from ${SECRET_ENV.s3KeySecret} in pgBackRest's environment, never written to the file`,
  passphrase: `the passphrase is read from ${SECRET_ENV.cipherPass} in pgBackRest's environment, never written to the file`,
  cipherPass: `the passphrase is read from ${SECRET_ENV.cipherPass} in pgBackRest's environment, never written to the file`,
  password: "secrets are read from pgBackRest's environment, never written to the file",
};

/** One repository's repo<n>-* lines; `at` prefixes the field names an error gives (repo2's are under "repo2."). */
function repositoryLines(n: 1 | 2, at: string, repo: unknown, retention: unknown, encryption: unknown): string[] {
  if (!isObject(repo)) fail(`${at}repository`, 'must be {type: "posix", path} or {type: "s3", bucket, endpoint, region, path}');
  const repoLines: string[] = [];
  if (repo.type === "posix") {
    onlyKeys(`${at}repository`, repo, ["type", "path"], SECRET_HINTS);
    repoLines.push(`repo${n}-type=posix`, `repo${n}-path=${absPath(`${at}repository.path`, repo.path)}`);
  } else if (repo.type === "s3") {
    onlyKeys(`${at}repository`, repo, ["type", "bucket", "endpoint", "region", "path", "uriStyle", "port", "verifyTls"], SECRET_HINTS);
    const bucket = repo.bucket;
    if (typeof bucket !== "string" || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      fail(`${at}repository.bucket`, "must be a bucket name (3-63 lower-case letters, digits, '.', '-')", bucket);
    }
    const endpoint = repo.endpoint;
    if (typeof endpoint !== "string" || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(endpoint)) {
      fail(`${at}repository.endpoint`, "must be a host name without scheme or port, e.g. fra1.digitaloceanspaces.com", endpoint);
    }
    const region = repo.region;
    if (typeof region !== "string" || !/^[a-z0-9-]{2,32}$/.test(region)) {
      fail(`${at}repository.region`, 'must be a region name such as "fra1" or "us-east-1"', region);
    }
    const uriStyle = repo.uriStyle ?? "host";
    if (uriStyle !== "host" && uriStyle !== "path") fail(`${at}repository.uriStyle`, 'must be "host" or "path"', uriStyle);
    repoLines.push(
      `repo${n}-type=s3`,
      `repo${n}-s3-bucket=${bucket}`,
      `repo${n}-s3-endpoint=${endpoint}`,
      `repo${n}-s3-region=${region}`,
      `repo${n}-s3-uri-style=${uriStyle}`,
      `repo${n}-path=${absPath(`${at}repository.path`, repo.path)}`,
    );
    if (repo.port !== undefined) repoLines.push(`repo${n}-storage-port=${intIn(`${at}repository.port`, repo.port, 1, 65535)}`);
    if (repo.verifyTls !== undefined) {
      if (typeof repo.verifyTls !== "boolean") fail(`${at}repository.verifyTls`, "must be true or false", repo.verifyTls);
      if (!repo.verifyTls) repoLines.push(`repo${n}-storage-verify-tls=n`);
    }
  } else {
    fail(`${at}repository.type`, 'must be "posix" or "s3"', repo.type);
  }

  if (!isObject(retention)) fail(`${at}retention`, "must be an object with full (number of full backups to keep)");
  onlyKeys(`${at}retention`, retention, ["full", "diff"]);
  repoLines.push(`repo${n}-retention-full=${intIn(`${at}retention.full`, retention.full, 1, 9999999)}`);
  if (retention.diff !== undefined) {
    repoLines.push(`repo${n}-retention-diff=${intIn(`${at}retention.diff`, retention.diff, 1, 9999999)}`);
  }

  if (encryption !== undefined) {
    if (!isObject(encryption)) fail(`${at}encryption`, 'must be {cipherType: "aes-256-cbc"}');
    onlyKeys(`${at}encryption`, encryption, ["cipherType"], SECRET_HINTS);
    if (encryption.cipherType !== "aes-256-cbc") fail(`${at}encryption.cipherType`, 'must be "aes-256-cbc"', encryption.cipherType);
    repoLines.push(`repo${n}-cipher-type=aes-256-cbc`);
  }
  return repoLines;
}

/** Validates the input (throws RenderInputError naming the field) and returns the pgbackrest.conf text. */
export function renderPgBackRestConf(input: PgBackRestInput): string {
  if (!isObject(input)) fail("(input)", "must be an object");
  onlyKeys(
    "",
    input,
    ["stanza", "pg", "repository", "retention", "compress", "processMax", "archiveAsync", "encryption", "startFast", "logPath", "lockPath", "logLevelConsole", "logLevelFile", "secretsFile", "repo2"],
    SECRET_HINTS,
  );
  const stanza = name("stanza", input.stanza, "main");

  if (!isObject(input.pg)) fail("pg", "must be an object with dataPath");
  onlyKeys("pg", input.pg, ["dataPath", "port", "socketPath", "user"], SECRET_HINTS);
  const dataPath = absPath("pg.dataPath", input.pg.dataPath);
  const port = input.pg.port === undefined ? undefined : intIn("pg.port", input.pg.port, 1, 65535);
  const socketPath = input.pg.socketPath === undefined ? undefined : absPath("pg.socketPath", input.pg.socketPath);
  const pgUser = input.pg.user === undefined ? undefined : name("pg.user", input.pg.user, "postgres");

  const repo = input.repository as unknown;
  const repoLines = repositoryLines(1, "", repo, input.retention, input.encryption);
  if (input.repo2 !== undefined) {
    if (!isObject(input.repo2)) fail("repo2", "must be {repository, retention, encryption?}");
    onlyKeys("repo2", input.repo2, ["repository", "retention", "encryption"], SECRET_HINTS);
    repoLines.push(...repositoryLines(2, "repo2.", input.repo2.repository, input.repo2.retention, input.repo2.encryption));
  }

  const global: string[] = [];
  if (input.compress !== undefined) {
    if (!isObject(input.compress)) fail("compress", "must be {type, level?}");
    onlyKeys("compress", input.compress, ["type", "level"]);
    const type = input.compress.type;
    if (!(type in COMPRESS_LEVELS)) fail("compress.type", `must be one of ${Object.keys(COMPRESS_LEVELS).join(", ")}`, type);
    global.push(`compress-type=${type}`);
    if (input.compress.level !== undefined) {
      const range = COMPRESS_LEVELS[type];
      if (range === undefined) fail("compress.level", 'has no meaning with compress.type "none"', input.compress.level);
      global.push(`compress-level=${intIn("compress.level", input.compress.level, range[0], range[1])}`);
    }
  }
  if (input.processMax !== undefined) global.push(`process-max=${intIn("processMax", input.processMax, 1, 999)}`);
  const startFast = input.startFast ?? true;
  if (typeof startFast !== "boolean") fail("startFast", "must be true or false", startFast);
  global.push(`start-fast=${startFast ? "y" : "n"}`);

  const archivePush: string[] = [];
  if (input.archiveAsync !== undefined) {
    if (!isObject(input.archiveAsync)) fail("archiveAsync", "must be {spoolPath, processMax?}");
    onlyKeys("archiveAsync", input.archiveAsync, ["spoolPath", "processMax"]);
    global.push("archive-async=y", `spool-path=${absPath("archiveAsync.spoolPath", input.archiveAsync.spoolPath)}`);
    if (input.archiveAsync.processMax !== undefined) {
      archivePush.push(`process-max=${intIn("archiveAsync.processMax", input.archiveAsync.processMax, 1, 999)}`);
    }
  }
  if (input.logPath !== undefined) global.push(`log-path=${absPath("logPath", input.logPath)}`);
  if (input.lockPath !== undefined) global.push(`lock-path=${absPath("lockPath", input.lockPath)}`);
  for (const [field, opt] of [
    ["logLevelConsole", "log-level-console"],
    ["logLevelFile", "log-level-file"],
  ] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (!LOG_LEVELS.includes(v)) fail(field, `must be one of ${LOG_LEVELS.join(", ")}`, v);
    global.push(`${opt}=${v}`);
  }

  const stanzaLines = [`pg1-path=${dataPath}`];
  if (port !== undefined) stanzaLines.push(`pg1-port=${port}`);
  if (socketPath !== undefined) stanzaLines.push(`pg1-socket-path=${socketPath}`);
  if (pgUser !== undefined) stanzaLines.push(`pg1-user=${pgUser}`);

  const secretsFile = input.secretsFile === undefined ? undefined : absPath("secretsFile", input.secretsFile);
  const anyS3 = repoLines.some((l) => /^repo[12]-type=s3$/.test(l));
  const anyEncrypted = repoLines.some((l) => /^repo[12]-cipher-type=/.test(l));
  const fromFile = [anyS3 ? "S3 keys" : undefined, anyEncrypted ? "encryption passphrase" : undefined].filter(Boolean).join(" and the ");
  const secretNote =
    secretsFile !== undefined && fromFile
      ? `# The ${fromFile} ${fromFile.includes(" and ") ? "come" : "comes"} from ${secretsFile} (0600, never this file).`
      : anyS3
      ? `# S3 keys come from ${SECRET_ENV.s3Key} / ${SECRET_ENV.s3KeySecret} in pgBackRest's environment.`
      : undefined;
  const cipherNote = anyEncrypted && secretsFile === undefined ? `# The encryption passphrase comes from ${SECRET_ENV.cipherPass} in pgBackRest's environment.` : undefined;
  return [
    "# pgbackrest.conf rendered by Lazarus (renderers/pgbackrest.ts). Do not edit by hand.",
    ...[secretNote, cipherNote].filter((l): l is string => l !== undefined),
    "[global]",
    ...repoLines,
    ...global,
    ...(archivePush.length ? ["", "[global:archive-push]", ...archivePush] : []),
    "",
    `[${stanza}]`,
    ...stanzaLines,
    "",
  ].join("\n");
}

/** The postgresql.conf lines that archive WAL to pgBackRest, as text (one setting a line). */
export function renderPostgresArchiveConf(input: ArchiveSettingsInput): string {
  if (!isObject(input)) fail("(input)", "must be an object");
  onlyKeys("", input, ["stanza", "configPath", "archiveTimeoutSeconds", "walLevel", "pgbackrestPath", "configIncludePath"]);
  const stanza = name("stanza", input.stanza, "main");
  const timeout = intIn("archiveTimeoutSeconds", input.archiveTimeoutSeconds, 1, 86400);
  const walLevel = input.walLevel ?? "replica";
  if (walLevel !== "replica" && walLevel !== "logical") fail("walLevel", 'must be "replica" or "logical"', walLevel);
  const bin = input.pgbackrestPath === undefined ? "pgbackrest" : absPath("pgbackrestPath", input.pgbackrestPath);
  const config =
    (input.configPath === undefined ? "" : ` --config=${absPath("configPath", input.configPath)}`) +
    (input.configIncludePath === undefined ? "" : ` --config-include-path=${absPath("configIncludePath", input.configIncludePath)}`);
  return [
    `wal_level = ${walLevel}`,
    "archive_mode = on",
    `archive_command = '${bin}${config} --stanza=${stanza} archive-push %p'`,
    `archive_timeout = ${timeout}s`,
    "",
  ].join("\n");
}

/**
 * A pgBackRest include file holding one repository's secrets (repo<n>-cipher-pass, -s3-key, -s3-key-secret), for a host or
 * container whose environment must not carry them. The text is a secret: ship it 0600 to pgBackRest's user.
 * A value pgBackRest's ini reader would change (a line break, surrounding spaces, empty) is refused by name, never shown.
 */
export function renderPgBackRestSecretsConf(secrets: PgBackRestSecrets, repo: 1 | 2 = 1): string {
  if (!isObject(secrets)) fail("(secrets)", "must be an object");
  onlyKeys("", secrets, ["cipherPass", "s3Key", "s3KeySecret"]);
  const lines = ["[global]"];
  for (const [field, opt] of [
    ["cipherPass", `repo${repo}-cipher-pass`],
    ["s3Key", `repo${repo}-s3-key`],
    ["s3KeySecret", `repo${repo}-s3-key-secret`],
  ] as const) {
    const v = secrets[field];
    if (v === undefined) continue;
    if (typeof v !== "string" || v === "" || v !== v.trim() || /[\n\r]/.test(v)) {
      fail(field, "must be a non-empty value on one line without leading or trailing spaces");
    }
    lines.push(`${opt}=${v}`);
  }
  if (lines.length === 1) fail("(secrets)", "must name at least one of cipherPass, s3Key, s3KeySecret");
  return `${lines.join("\n")}\n`;
}
