// The files a PostgreSQL client in a backup container reads instead of its environment or argv: the libpq password
// file (PGPASSFILE, 0600), the connection service file (PGSERVICEFILE: host, port, database, user, TLS mode; no
// secret) and s3cmd's config with the object-storage key (S3CMD_CONFIG, 0600). Pure: text in, text out; a value the
// reader could not carry is refused naming the field, never the value.
import { refuseField } from "./renderInputError";

/** One line of a libpq password file, matching any host, port and database: `:` and `\` escaped as libpq reads them. */
export function pgpassLine(user: string, password: string): string {
  const esc = (v: string) => v.replace(/[\\:]/g, (c) => `\\${c}`);
  if (/[\n\r]/.test(password)) refuseField("pgpass", "password", "contains a newline, which a password file line cannot hold");
  return `*:*:*:${esc(user)}:${esc(password)}\n`;
}

export interface PgService {
  /** The section name clients select with PGSERVICE. */
  name: string;
  host: string;
  port: number;
  dbname: string;
  user: string;
  /** DigitalOcean's managed clusters accept TLS connections only. */
  sslmode: "require" | "verify-ca" | "verify-full";
}

/**
 * pg_service.conf with one section. libpq reads `key=value` lines and takes the rest of the line as the value, so a
 * value must be one line; the password is never here (it is the password file's).
 */
export function renderPgServiceFile(s: PgService): string {
  if (!/^[A-Za-z0-9_-]+$/.test(s.name)) refuseField("pg_service.conf", "name", `must be letters, digits, _ or - (example: dbis), got ${JSON.stringify(s.name)}`);
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) refuseField("pg_service.conf", "port", `must be a TCP port (example: 25060), got ${JSON.stringify(s.port)}`);
  for (const k of ["host", "dbname", "user"] as const) {
    // libpq takes the rest of the line as the value: one line, no surrounding spaces.
    if (s[k] === "" || /[\s]/.test(s[k])) refuseField("pg_service.conf", k, `must be one word on one line (example: dbis), got ${JSON.stringify(s[k])}`);
  }
  return [`[${s.name}]`, `host=${s.host}`, `port=${s.port}`, `dbname=${s.dbname}`, `user=${s.user}`, `sslmode=${s.sslmode}`, ""].join("\n");
}

/** s3cmd's config file holding only the key: endpoint, region and bucket come from the caller's flags. */
export function renderS3cmdConfig(key: { accessKey: string; secretKey: string }, names = { accessKey: "access key", secretKey: "secret key" }): string {
  const line = (field: "accessKey" | "secretKey") => {
    const v = key[field];
    if (/[\n\r]/.test(v) || v !== v.trim() || v === "") refuseField("s3cmd config", `secret ${names[field]}`, "must be non-empty, on one line, without leading or trailing spaces");
    return v;
  };
  return `[default]\naccess_key = ${line("accessKey")}\nsecret_key = ${line("secretKey")}\n`;
}
