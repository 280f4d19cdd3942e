// The host's .env is read by docker-compose exactly as rendered: values with spaces, #, both quotes, $, $NAME and =
// come back byte for byte into a service's environment, both through `env_file:` and through `${VAR}` interpolation
// of the compose file. Values no quoting carries identically to both Compose versions are refused, naming the
// variable and never the value. GoodGo's section 8 variables cover everything its compose file interpolates.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeConfig } from "../support/validators";
import { envFileValue, renderEnvFile } from "../../renderers/envFile";
import { GOODGO_ENV_SECRET_KEYS, GoodgoEnvConfig, GoodgoEnvSecrets, goodgoEnvValues, goodgoEnvVariables } from "../../stacks/goodgo/envVariables";
import { GOODGO_VOLUMES, goodgoInventory } from "../../stacks/goodgo/services";
import { referencedVariables } from "../../lib/inventory";
import { renderCompose } from "../../renderers/compose";
import { RenderInputError } from "../../renderers/renderInputError";

// docker-compose 1.29's `config` prints a literal $ as $$ (so the output can be fed back); undo that.
const unescape = (v: unknown) => (typeof v === "string" ? v.replace(/\$\$/g, "$") : v);

const TRICKY: Record<string, string> = {
  SPACES: "correct horse battery staple",
  HASH: "p#ss #not-a-comment",
  DOUBLE_QUOTES: 'say "hi" to "them"',
  SINGLE_QUOTE: `it's "quoted" # = fine`,
  DOLLAR: "$HOME and $PATH and $$ twice",
  DOLLAR_NAME: "pa$HOME$word",
  EQUALS: "a=b=c==",
  MIXED: 'p@ss w0rd #1 "q" $HOME a=b $$x %^~',
  BACKSLASH_INSIDE: "C:\\temp\\dir x",
  URL: "postgresql://goodgo:s%40cret@pgbouncer:6432/goodgo",
  EMPTY: "",
  LEADING_TRAILING_SPACE: "  padded  ",
};

function roundTrip(vars: Record<string, string>) {
  const envText = renderEnvFile(vars, { header: "test .env" });
  const interpolated = Object.fromEntries(Object.keys(vars).map((k) => [`VIA_INTERPOLATION_${k}`, `\${${k}}`]));
  const compose = `services:\n  probe:\n    image: busybox:1.36\n    env_file: [.env]\n    environment:\n${Object.entries(interpolated)
    .map(([k, v]) => `      ${k}: "${v}"`)
    .join("\n")}\n`;
  // HOME and PATH are set in docker-compose's environment, so an expanded $HOME would show.
  const r = composeConfig(compose, { HOME: "/root-home-must-not-appear" }, { envFiles: { ".env": envText } });
  return { envText, r };
}

describe("renderEnvFile", () => {
  it("round-trips spaces, #, quotes, $, $NAME and = through env_file and through ${VAR} interpolation (docker-compose 1.29)", () => {
    const { envText, r } = roundTrip(TRICKY);
    expect(r.ok, `${r.output}\n${envText}`).toBe(true);
    const env = r.parsed.services.probe.environment;
    for (const [k, v] of Object.entries(TRICKY)) {
      expect(unescape(env[k]), `${k} via env_file\n${envText}`).toBe(v);
      expect(unescape(env[`VIA_INTERPOLATION_${k}`]), `${k} via interpolation\n${envText}`).toBe(v);
    }
    expect(JSON.stringify(env)).not.toContain("/root-home-must-not-appear");
  });

  it("writes plain values unquoted and the rest quoted, one NAME=value line each, in the order given", () => {
    const text = renderEnvFile({ B: "plain-1.2:3/x@y", A: "has space", C: "it's" });
    expect(text.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual(["B=plain-1.2:3/x@y", "A='has space'", `C="it's"`]);
  });

  it("refuses values the two Compose versions would read differently, naming the variable and never the value", () => {
    const refused: Record<string, string> = {
      INTERPOLATED: "abc${HOME}def",
      QUOTE_AND_DOLLAR: "it's $5",
      QUOTE_AND_BACKSLASH: "it's a\\b",
      TRAILING_BACKSLASH: "secret\\",
      DOUBLE_BACKSLASH: "a\\\\b",
      NEWLINE: "line1\nline2",
      QUOTE_AND_FINAL_DOUBLE_QUOTE: `it's "x"`,
    };
    for (const [k, v] of Object.entries(refused)) {
      let err: unknown;
      try {
        renderEnvFile({ OK: "x", [k]: v });
      } catch (e) {
        err = e;
      }
      expect(err, k).toBeInstanceOf(RenderInputError);
      expect((err as RenderInputError).renderer, k).toBe(".env");
      const msg = (err as Error).message;
      expect(msg, k).toContain(k);
      expect(msg, k).not.toContain(v);
    }
    expect(() => renderEnvFile({ "1BAD": "x" })).toThrow(/1BAD: is not a variable name/);
    expect(() => renderEnvFile({ "BAD-NAME": "x" })).toThrow(/BAD-NAME/);
  });

  it("what it refuses really is read differently or wrongly by docker-compose 1.29 (the refusals are not arbitrary)", () => {
    // Written by hand the obvious way, these two come back changed.
    const compose = "services:\n  probe:\n    image: busybox:1.36\n    env_file: [.env]\n";
    const r = composeConfig(compose, { HOME: "/h" }, { envFiles: { ".env": "INTERPOLATED='abc${HOME}def'\nDOUBLE_BACKSLASH='a\\\\b'\n" } });
    expect(r.ok, r.output).toBe(true);
    const env = r.parsed.services.probe.environment;
    expect(unescape(env.INTERPOLATED)).not.toBe("abc${HOME}def");
    expect(unescape(env.DOUBLE_BACKSLASH)).not.toBe("a\\\\b");
  });

  it("envFileValue quotes exactly what needs it", () => {
    expect(envFileValue("X", "abc")).toBe("abc");
    expect(envFileValue("X", "")).toBe("''");
    expect(envFileValue("X", "a b")).toBe("'a b'");
    expect(envFileValue("X", 'a"b')).toBe(`'a"b'`);
    expect(envFileValue("X", `a'"b`)).toBe(`"a'\\"b"`);
  });
});

const CONFIG: GoodgoEnvConfig = {
  dbName: "goodgo",
  dbUser: "goodgo",
  imageTag: "9409706c58",
  registryUrl: "ghcr.io/goodgo",
  grafanaAdminUser: "admin",
  vnpay: { tmnCode: "GOODGO01", url: "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html", returnUrl: "https://goodgo.example.org/payments/vnpay/return" },
};
const SECRETS: GoodgoEnvSecrets = {
  dbPassword: 'db p@ss "#1" $x',
  redisPassword: "redis/pa:ss",
  jwtSecret: "jwt-secret-value",
  jwtRefreshSecret: "jwt-refresh-value",
  typesenseApiKey: "ts-key",
  minioAccessKey: "minio",
  minioSecretKey: "minio-secret-value",
  vnpayHashSecret: "vnpay-hash",
  aiApiKey: "ai-key",
};

describe("goodgoEnvVariables / goodgoEnvValues (section 8)", () => {
  it("lists section 8's variables, marking every secret-bearing one, and covers every variable the compose file interpolates", () => {
    const vars = goodgoEnvVariables(CONFIG);
    const names = vars.map((v) => v.name);
    for (const n of ["DATABASE_URL", "DATABASE_URL_DIRECT", "JWT_SECRET", "JWT_REFRESH_SECRET", "REDIS_URL", "REDIS_PASSWORD", "TYPESENSE_API_KEY",
      "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "AI_API_KEY", "GRAFANA_ADMIN_USER", "PGBOUNCER_POOL_SIZE",
      "PGBOUNCER_MAX_CLIENT_CONN", "BACKUP_RETENTION_DAYS", "IMAGE_TAG"]) {
      expect(names, n).toContain(n);
    }
    expect(names.some((n) => n.startsWith("VNPAY_"))).toBe(true);
    for (const r of referencedVariables(goodgoInventory())) expect(names, `compose interpolates ${r.name}`).toContain(r.name);
    expect(new Set(names).size).toBe(names.length);
    // A variable is secret exactly when its value depends on a secret.
    for (const v of vars) expect(v.secret, v.name).toBe(v.source.kind !== "config");
    const usedSecrets = new Set(vars.flatMap((v) => (v.source.kind === "secret" ? [v.source.secret] : v.source.kind === "derived" ? v.source.secrets : [])));
    expect([...usedSecrets].sort()).toEqual([...GOODGO_ENV_SECRET_KEYS].sort());
  });

  it("fills values from config and secrets; URLs carry the password percent-encoded; defaults are section 3.1/4.1's", () => {
    const v = goodgoEnvValues(CONFIG, SECRETS);
    expect(v.DB_PASSWORD).toBe(SECRETS.dbPassword);
    expect(v.DATABASE_URL).toBe(`postgresql://goodgo:${encodeURIComponent(SECRETS.dbPassword)}@pgbouncer:6432/goodgo`);
    expect(new URL(v.DATABASE_URL!).password).toBe(encodeURIComponent(SECRETS.dbPassword));
    expect(decodeURIComponent(new URL(v.DATABASE_URL_DIRECT!).password)).toBe(SECRETS.dbPassword);
    expect(new URL(v.DATABASE_URL_DIRECT!).host).toBe("postgres:5432");
    expect(decodeURIComponent(new URL(v.REDIS_URL!).password)).toBe(SECRETS.redisPassword);
    expect([v.PGBOUNCER_POOL_SIZE, v.PGBOUNCER_MAX_CLIENT_CONN, v.BACKUP_RETENTION_DAYS]).toEqual(["20", "200", "7"]);
    expect(goodgoEnvValues({ ...CONFIG, pgbouncerPoolSize: 30 }, SECRETS).PGBOUNCER_POOL_SIZE).toBe("30");
  });

  it("the rendered .env drives GoodGo's real compose file: docker-compose reads the secrets back unchanged", () => {
    const envText = renderEnvFile(goodgoEnvValues(CONFIG, SECRETS));
    const compose = renderCompose({ name: "goodgo", services: goodgoInventory(), volumes: [...GOODGO_VOLUMES] });
    const r = composeConfig(compose, {}, { envFiles: { ".env": envText } });
    expect(r.ok, r.output).toBe(true);
    const s = r.parsed.services;
    expect(s.api.image).toBe("ghcr.io/goodgo/goodgo-api:9409706c58");
    expect(unescape(s.api.environment.DB_PASSWORD)).toBe(SECRETS.dbPassword);
    expect(unescape(s.api.environment.DATABASE_URL)).toBe(goodgoEnvValues(CONFIG, SECRETS).DATABASE_URL);
    // The services with a file variant name the file, never the value.
    expect(s.postgres.environment.POSTGRES_PASSWORD).toBeUndefined();
    expect(s.postgres.environment.POSTGRES_PASSWORD_FILE).toBe("/run/secrets/db_password");
    expect(String(s.pgbouncer.environment.DEFAULT_POOL_SIZE)).toBe("20");
    // The file is parseable as YAML-free KEY=value lines: no secret leaks into a comment.
    expect(envText.split("\n").filter((l) => l.startsWith("#")).join("\n")).not.toContain(SECRETS.jwtSecret);
    expect(() => parse(compose)).not.toThrow();
  });

  it("rejects bad config naming the field, and a missing secret naming the secret only", () => {
    expect(() => goodgoEnvVariables({ ...CONFIG, imageTag: "bad tag" })).toThrow(/goodgo\.imageTag/);
    expect(() => goodgoEnvVariables({ ...CONFIG, dbName: "Good-Go" })).toThrow(/goodgo\.dbName/);
    expect(() => goodgoEnvVariables({ ...CONFIG, backupRetentionDays: 0 })).toThrow(/goodgo\.backupRetentionDays/);
    expect(() => goodgoEnvVariables({ ...CONFIG, vnpay: { ...CONFIG.vnpay, url: "ftp://x" } })).toThrow(/goodgo\.vnpay\.url/);
    expect(() => goodgoEnvValues(CONFIG, { ...SECRETS, jwtSecret: "" })).toThrow(/secret jwtSecret: is missing or empty/);
    let err: Error | undefined;
    try {
      goodgoEnvValues(CONFIG, { ...SECRETS, aiApiKey: "it's ${bad}" });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(/AI_API_KEY/);
    expect(err?.message).not.toContain("it's ${bad}");
  });
});
