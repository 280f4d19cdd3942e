// Connection strings applications read from one variable, composed from a managed cluster's connection. Pure.
// DigitalOcean's managed clusters accept TLS connections only, so every URL asks for it.

const e = encodeURIComponent;

/** PostgreSQL: `postgresql://user:password@host:port/database?sslmode=require`; every part URL-encoded. */
export function postgresUrl(c: { host: string; port: number; database: string; user: string; password: string }): string {
  return `postgresql://${e(c.user)}:${e(c.password)}@${c.host}:${c.port}/${e(c.database)}?sslmode=require`;
}

/**
 * MongoDB on DigitalOcean: an SRV name (`mongodb+srv://`, no port: the SRV record names the members and the TXT record
 * the replica set), users authenticated against `admin` as DigitalOcean creates them, TLS required.
 */
export function mongodbUrl(c: { host: string; database: string; user: string; password: string }): string {
  return `mongodb+srv://${e(c.user)}:${e(c.password)}@${c.host}/${e(c.database)}?tls=true&authSource=admin`;
}
