// renderers/pgbackrest.ts: the rendered pgbackrest.conf is read by the real pgbackrest (no unknown options, the
// secrets demanded from the environment, not the file), and bad input fails naming the field. The archive
// settings are used for real by the PITR tests (test/scripts/backup/pitr-*.test.ts), whose PostgreSQL archives with them.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../support/ports";
import {
  renderPgBackRestConf,
  renderPgBackRestSecretsConf,
  renderPostgresArchiveConf,
  type PgBackRestInput,
} from "../../renderers/pgbackrest";
import { RenderInputError } from "../../renderers/renderInputError";

const work = mkdtempSync(join(tmpdir(), "lazarus-pgbr-render-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const base: PgBackRestInput = {
  stanza: "goodgo",
  pg: { dataPath: "/var/lib/postgresql/data", port: 5432, socketPath: "/var/run/postgresql", user: "postgres" },
  repository: { type: "posix", path: "/var/lib/pgbackrest" },
  retention: { full: 2, diff: 6 },
  compress: { type: "zst", level: 3 },
  processMax: 2,
};

/** Run the real pgbackrest `info` on a rendered config; returns combined output and exit code. */
function pgbackrestInfo(conf: string, env: NodeJS.ProcessEnv = {}): { code: number; out: string } {
  const file = join(work, `pgbackrest-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, conf);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PGBACKREST_")));
  const r = spawnSync("pgbackrest", [`--config=${file}`, "--stanza=goodgo", "--log-level-file=off", "--log-level-console=warn", "info", "--output=json"], {
    env: { ...clean, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe("renderPgBackRestConf", () => {
  it("renders a posix repository with retention, compression, parallelism and the stanza's PostgreSQL", () => {
    const text = renderPgBackRestConf({ ...base, repository: { type: "posix", path: join(work, "repo") }, archiveAsync: { spoolPath: "/var/spool/pgbackrest", processMax: 2 } });
    const lines = text.split("\n");
    expect(lines.indexOf("[global]")).toBeLessThan(lines.indexOf("[goodgo]"));
    for (const l of [
      "repo1-type=posix",
      `repo1-path=${join(work, "repo")}`,
      "repo1-retention-full=2",
      "repo1-retention-diff=6",
      "compress-type=zst",
      "compress-level=3",
      "process-max=2",
      "start-fast=y",
      "archive-async=y",
      "spool-path=/var/spool/pgbackrest",
      "[global:archive-push]",
      "pg1-path=/var/lib/postgresql/data",
      "pg1-port=5432",
      "pg1-socket-path=/var/run/postgresql",
      "pg1-user=postgres",
    ]) {
      expect(lines).toContain(l);
    }
  });

  it("is accepted by the real pgbackrest: no unknown option, an empty repository reads as 'missing stanza path'", () => {
    const repo = join(work, "repo-posix");
    spawnSync("mkdir", ["-p", repo]);
    const { code, out } = pgbackrestInfo(renderPgBackRestConf({ ...base, repository: { type: "posix", path: repo }, logPath: work }));
    expect(out).not.toMatch(/invalid option|WARN/);
    expect(code).toBe(0);
    expect(JSON.parse(out)[0].status.message).toBe("missing stanza path");
  });

  it("encryption: the file names the cipher, pgbackrest demands the passphrase from the environment", () => {
    const repo = join(work, "repo-enc");
    spawnSync("mkdir", ["-p", repo]);
    const text = renderPgBackRestConf({ ...base, repository: { type: "posix", path: repo }, encryption: { cipherType: "aes-256-cbc" }, logPath: work });
    expect(text).toContain("repo1-cipher-type=aes-256-cbc");
    expect(text).not.toMatch(/cipher-pass/);
    expect(text).toMatch(/^# The encryption passphrase comes from PGBACKREST_REPO1_CIPHER_PASS/m);
    const without = pgbackrestInfo(text);
    expect(without.code).not.toBe(0);
    expect(without.out).toMatch(/requires option: repo1-cipher-pass/);
    const withEnv = pgbackrestInfo(text, { PGBACKREST_REPO1_CIPHER_PASS: "from-env-only" });
    expect(withEnv.out).not.toMatch(/invalid option|requires option/);
    expect(withEnv.code).toBe(0);
  });

  it("secrets include file: the conf names it, pgbackrest takes the passphrase from it when the include path is named", () => {
    const repo = join(work, "repo-inc");
    const inc = join(work, "conf.d");
    spawnSync("mkdir", ["-p", repo, inc]);
    const text = renderPgBackRestConf({ ...base, repository: { type: "posix", path: repo }, encryption: { cipherType: "aes-256-cbc" }, logPath: work, secretsFile: `${inc}/secrets.conf` });
    expect(text).toMatch(new RegExp(`^# The encryption passphrase comes from ${inc}/secrets\\.conf \\(0600, never this file\\)\\.$`, "m"));
    expect(text).not.toMatch(/PGBACKREST_REPO1_CIPHER_PASS|cipher-pass/);
    const secrets = renderPgBackRestSecretsConf({ cipherPass: "from-the-file+/=", s3Key: "DO00KEY", s3KeySecret: "s3/secret=" });
    expect(secrets).toBe("[global]\nrepo1-cipher-pass=from-the-file+/=\nrepo1-s3-key=DO00KEY\nrepo1-s3-key-secret=s3/secret=\n");
    writeFileSync(join(inc, "secrets.conf"), renderPgBackRestSecretsConf({ cipherPass: "from-the-file+/=" }), { mode: 0o600 });
    expect(pgbackrestInfo(text).out).toMatch(/requires option: repo1-cipher-pass/);
    const withFile = pgbackrestInfo(text, { PGBACKREST_CONFIG_INCLUDE_PATH: inc });
    expect(withFile.out).not.toMatch(/invalid option|requires option/);
    expect(withFile.code).toBe(0);
  });

  it("secrets include file: refuses a value the ini reader would change, naming the field, never the value", () => {
    for (const [secrets, field] of [
      [{ cipherPass: "two\nlines" }, "cipherPass"],
      [{ s3Key: " padded" }, "s3Key"],
      [{ s3KeySecret: "" }, "s3KeySecret"],
    ] as const) {
      let err: unknown;
      try {
        renderPgBackRestSecretsConf(secrets);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RenderInputError);
      expect(String(err)).toContain(`${field}: must be a non-empty value on one line`);
      expect(String(err)).not.toMatch(/two|padded/);
    }
    expect(() => renderPgBackRestSecretsConf({})).toThrow(/must name at least one of cipherPass/);
  });

  it("S3-compatible repository (DigitalOcean Spaces): keys only from the environment; pgbackrest parses it and tries the endpoint", async () => {
    const port = await freePort(); // nothing listens: pgbackrest gets as far as connecting
    const s3: PgBackRestInput = {
      ...base,
      repository: { type: "s3", bucket: "goodgo-backups", endpoint: "127.0.0.1", region: "fra1", path: "/pgbackrest/goodgo", uriStyle: "path", port, verifyTls: false },
      encryption: { cipherType: "aes-256-cbc" },
      logPath: work,
    };
    const text = renderPgBackRestConf(s3);
    for (const l of ["repo1-type=s3", "repo1-s3-bucket=goodgo-backups", "repo1-s3-endpoint=127.0.0.1", "repo1-s3-region=fra1", "repo1-s3-uri-style=path", "repo1-path=/pgbackrest/goodgo", `repo1-storage-port=${port}`, "repo1-storage-verify-tls=n"]) {
      expect(text.split("\n")).toContain(l);
    }
    expect(text).not.toMatch(/s3-key/);
    expect(text).toMatch(/^# S3 keys come from PGBACKREST_REPO1_S3_KEY \/ PGBACKREST_REPO1_S3_KEY_SECRET/m);

    const noKeys = pgbackrestInfo(text, { PGBACKREST_REPO1_CIPHER_PASS: "x" });
    expect(noKeys.out).toMatch(/requires option: repo1-s3-key/);
    const withKeys = pgbackrestInfo(text, {
      PGBACKREST_REPO1_CIPHER_PASS: "x",
      PGBACKREST_REPO1_S3_KEY: "AKIAEXAMPLE",
      PGBACKREST_REPO1_S3_KEY_SECRET: "secret-example",
      PGBACKREST_IO_TIMEOUT: "1",
    });
    expect(withKeys.out).not.toMatch(/invalid option|requires option/);
    expect(withKeys.out).toMatch(new RegExp(`unable to connect to '127\\.0\\.0\\.1:${port}'`));
    expect(withKeys.out).not.toContain("secret-example");
  });

  it("defaults the S3 uri style to host and leaves TLS verification on", () => {
    const text = renderPgBackRestConf({ ...base, repository: { type: "s3", bucket: "waqiti-backups-prod", endpoint: "fra1.digitaloceanspaces.com", region: "fra1", path: "/pg" } });
    expect(text).toContain("repo1-s3-uri-style=host");
    expect(text).not.toContain("verify-tls");
  });

  const bad: [string, (i: PgBackRestInput) => unknown, RegExp][] = [
    ["stanza", (i) => ({ ...i, stanza: "my stanza" }), /^invalid pgbackrest input:\n  - stanza: must be letters, digits.*got "my stanza"/],
    ["pg.dataPath", (i) => ({ ...i, pg: { ...i.pg, dataPath: "data" } }), /pg\.dataPath: must be an absolute path .*got "data"/],
    ["pg.dataPath quote", (i) => ({ ...i, pg: { ...i.pg, dataPath: "/var/lib/it's" } }), /pg\.dataPath: must not contain whitespace, quotes/],
    ["pg.port", (i) => ({ ...i, pg: { ...i.pg, port: 70000 } }), /pg\.port: must be a whole number from 1 to 65535, got 70000/],
    ["pg.socketPath", (i) => ({ ...i, pg: { ...i.pg, socketPath: "/run/pg sql" } }), /pg\.socketPath: must not contain whitespace/],
    ["repository.type", (i) => ({ ...i, repository: { type: "ftp", path: "/x" } }), /repository\.type: must be "posix" or "s3", got "ftp"/],
    ["repository.path", (i) => ({ ...i, repository: { type: "posix", path: "backups/" } }), /repository\.path: must be an absolute path/],
    ["repository.bucket", (i) => ({ ...i, repository: { type: "s3", bucket: "Bad_Bucket", endpoint: "e.com", region: "fra1", path: "/p" } }), /repository\.bucket: must be a bucket name/],
    ["repository.endpoint", (i) => ({ ...i, repository: { type: "s3", bucket: "b-1", endpoint: "https://fra1.digitaloceanspaces.com", region: "fra1", path: "/p" } }), /repository\.endpoint: must be a host name without scheme/],
    ["repository.region", (i) => ({ ...i, repository: { type: "s3", bucket: "b-1", endpoint: "e.com", region: "", path: "/p" } }), /repository\.region: must be a region name/],
    ["repository.uriStyle", (i) => ({ ...i, repository: { type: "s3", bucket: "b-1", endpoint: "e.com", region: "fra1", path: "/p", uriStyle: "virtual" } }), /repository\.uriStyle: must be "host" or "path"/],
    ["repository.key (secret)", (i) => ({ ...i, repository: { type: "s3", bucket: "b-1", endpoint: "e.com", region: "fra1", path: "/p", key: "AKIA..." } }), /repository\.key: is not a known option \(S3 keys are read from PGBACKREST_REPO1_S3_KEY in pgBackRest's environment, never written to the file\)/],
    ["passphrase (secret)", (i) => ({ ...i, passphrase: "hunter2" }), /passphrase: is not a known option \(the passphrase is read from PGBACKREST_REPO1_CIPHER_PASS/],
    ["encryption.cipherPass (secret)", (i) => ({ ...i, encryption: { cipherType: "aes-256-cbc", cipherPass: "x" } }), /encryption\.cipherPass: is not a known option \(the passphrase is read from PGBACKREST_REPO1_CIPHER_PASS/],
    ["retention.full", (i) => ({ ...i, retention: { full: 0 } }), /retention\.full: must be a whole number from 1/],
    ["retention missing", (i) => ({ ...i, retention: undefined }), /retention: must be an object with full/],
    ["compress.type", (i) => ({ ...i, compress: { type: "xz" } }), /compress\.type: must be one of none, gz, bz2, lz4, zst, got "xz"/],
    ["compress.level range", (i) => ({ ...i, compress: { type: "gz", level: 12 } }), /compress\.level: must be a whole number from 0 to 9, got 12/],
    ["compress.level with none", (i) => ({ ...i, compress: { type: "none", level: 1 } }), /compress\.level: has no meaning with compress\.type "none"/],
    ["processMax", (i) => ({ ...i, processMax: 0 }), /processMax: must be a whole number from 1 to 999, got 0/],
    ["archiveAsync.spoolPath", (i) => ({ ...i, archiveAsync: { spoolPath: "spool" } }), /archiveAsync\.spoolPath: must be an absolute path/],
    ["encryption.cipherType", (i) => ({ ...i, encryption: { cipherType: "aes-128-cbc" } }), /encryption\.cipherType: must be "aes-256-cbc", got "aes-128-cbc"/],
    ["logLevelConsole", (i) => ({ ...i, logLevelConsole: "loud" }), /logLevelConsole: must be one of off, error, warn, info, detail, debug, got "loud"/],
  ];
  it.each(bad)("rejects a bad %s, naming the field", (_name, mutate, msg) => {
    const input = mutate(structuredClone(base)) as PgBackRestInput;
    expect(() => renderPgBackRestConf(input)).toThrow(RenderInputError);
    expect(() => renderPgBackRestConf(input)).toThrow(expect.objectContaining({ renderer: "pgbackrest" }));
    expect(() => renderPgBackRestConf(input)).toThrow(msg);
  });
});

describe("renderPostgresArchiveConf", () => {
  it("renders wal_level, archive_mode, a pgbackrest archive_command for the stanza and archive_timeout", () => {
    expect(renderPostgresArchiveConf({ stanza: "goodgo", configPath: "/etc/pgbackrest/pgbackrest.conf", archiveTimeoutSeconds: 60 })).toBe(
      [
        "wal_level = replica",
        "archive_mode = on",
        "archive_command = 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=goodgo archive-push %p'",
        "archive_timeout = 60s",
        "",
      ].join("\n"),
    );
    expect(renderPostgresArchiveConf({ stanza: "g", configPath: "/etc/pgbackrest/pgbackrest.conf", configIncludePath: "/etc/pgbackrest/conf.d", archiveTimeoutSeconds: 60 })).toContain(
      "archive_command = 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --config-include-path=/etc/pgbackrest/conf.d --stanza=g archive-push %p'",
    );
    expect(() => renderPostgresArchiveConf({ stanza: "g", configIncludePath: "conf.d", archiveTimeoutSeconds: 60 })).toThrow(/configIncludePath: must be an absolute path/);
    expect(renderPostgresArchiveConf({ stanza: "w", archiveTimeoutSeconds: 30, walLevel: "logical", pgbackrestPath: "/usr/bin/pgbackrest" })).toContain(
      "archive_command = '/usr/bin/pgbackrest --stanza=w archive-push %p'",
    );
  });

  it("rejects bad input naming the field", () => {
    expect(() => renderPostgresArchiveConf({ stanza: "main", archiveTimeoutSeconds: 0 })).toThrow(/archiveTimeoutSeconds: must be a whole number from 1 to 86400, got 0/);
    expect(() => renderPostgresArchiveConf({ stanza: "main", archiveTimeoutSeconds: 30, configPath: "pgbackrest.conf" })).toThrow(/configPath: must be an absolute path/);
    expect(() => renderPostgresArchiveConf({ stanza: "a'b", archiveTimeoutSeconds: 30 })).toThrow(/stanza: must be letters/);
    expect(() => renderPostgresArchiveConf({ stanza: "main", archiveTimeoutSeconds: 30, walLevel: "minimal" as "replica" })).toThrow(/walLevel: must be "replica" or "logical", got "minimal"/);
  });
});
