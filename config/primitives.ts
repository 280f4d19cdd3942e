// Value types shared by every platform's config schema. Each refinement's message is a sentence that follows the
// offending value and ends with an example, so the formatted error tells the operator the fix.
import { DOMAIN_NAME, EMAIL_ADDRESS } from "../lib/patterns";
import { isIPv6 } from "node:net";
import { z } from "zod";

const pattern = (re: RegExp, what: string, example: string) =>
  z.string().regex(re, { message: `is not ${what} (example: ${example})` });

/** DigitalOcean region slugs that offer droplets and managed databases. */
export const REGIONS = ["nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1"] as const;
export const region = z.string().refine((v) => (REGIONS as readonly string[]).includes(v), {
  message: `is not a DigitalOcean region slug (example: fra1; one of ${REGIONS.join(", ")})`,
});

// s-1vcpu-1gb, s-2vcpu-4gb-intel, s-1vcpu-512mb-10gb, c-4, c2-8vcpu-16gb, g-2vcpu-8gb, gd-4vcpu-16gb, m-2vcpu-16gb, so-2vcpu-16gb ...
export const dropletSize = pattern(
  /^(s-\d+vcpu-(\d+gb|512mb)(-\d+gb)?(-(intel|amd))?|c-\d+(-intel)?|(c2|g|gd|m|m3|m6|so|so1_5)-\d+vcpu-\d+gb(-intel)?)$/,
  "a droplet size slug",
  "s-2vcpu-4gb",
);

// db-s-1vcpu-1gb, db-s-2vcpu-4gb, db-amd-2vcpu-8gb, db-intel-4vcpu-16gb, gd-2vcpu-8gb, m-2vcpu-16gb ...
export const databaseSize = pattern(
  /^(db-(s|amd|intel)-\d+vcpu-\d+gb|(gd|m|m3|so1_5)-\d+vcpu-\d+gb)$/,
  "a managed database size slug",
  "db-s-2vcpu-4gb",
);

export const imageSlug = pattern(/^[a-z0-9][a-z0-9.-]*-x64$|^\d+$/, "a droplet image slug or image id", "ubuntu-24-04-x64");

export const postgresVersion = z.enum(["13", "14", "15", "16", "17"], {
  message: "is not a supported PostgreSQL major version (example: \"16\"; one of 13, 14, 15, 16, 17)",
});

export const cidr = pattern(
  /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\/(3[0-2]|[12]?\d)$/,
  "an IPv4 CIDR block",
  "203.0.113.10/32",
);

export const privateCidr = cidr.refine((v) => /^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.)/.test(v), {
  message: "is not a private (RFC 1918) range for a VPC (example: 10.110.0.0/20)",
});

/** A public host name: what certbot accepts (DOMAIN_NAME), at most 253 characters, ending in an alphabetic TLD. */
export const hostname = z.string().refine((v) => DOMAIN_NAME.test(v) && v.length <= 253 && /\.[a-z]{2,63}$/.test(v), {
  message: "is not a fully qualified domain name (example: kro.example.org)",
});

const IPV4 = /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/;
// RFC 1123 labels, the last one not all digits, so a mistyped IPv4 address (10.0.0.300) is not taken for a name.
const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*(?!\d+$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** Where an existing server is reached: an IPv4 or IPv6 address (no brackets, no port) or a DNS name. */
export const hostAddress = z.string().refine((v) => IPV4.test(v) || isIPv6(v) || DNS_NAME.test(v), {
  message: "is not an IPv4 address, IPv6 address or DNS name (example: 203.0.113.20, 2001:db8::20 or kro-dr.example.org)",
});

/** A Unix login name (useradd's default rule). */
export const unixUser = pattern(/^[a-z_][a-z0-9_-]{0,31}$/, "a Unix user name", "root");

export const email = pattern(EMAIL_ADDRESS, "an email address", "oncall@example.org");

export const absolutePath = pattern(/^\/[^\0]*$/, "an absolute path", "/root/Kro/kro-devops/production");

export const sshFingerprint = pattern(
  /^([0-9a-f]{2}:){15}[0-9a-f]{2}$|^\d+$/,
  "an SSH key MD5 fingerprint or DigitalOcean key id",
  "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa",
);

export const imageTag = pattern(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "a container image tag", "v1.4.2");

export const imageRef = pattern(
  /^[a-z0-9]+([._\/-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
  "a container image repository without tag",
  "registry.digitalocean.com/kro/backend",
);

/** An image pinned to a version: `repository:tag`, never `:latest` or no tag (a later pull would change what runs). */
export const pinnedImage = z.string().refine(
  (v) => {
    const at = v.lastIndexOf(":");
    if (at < 0 || v.slice(at + 1).includes("/")) return false;
    const tag = v.slice(at + 1);
    return imageRef.safeParse(v.slice(0, at)).success && imageTag.safeParse(tag).success && tag !== "latest";
  },
  { message: "is not an image pinned to a version tag (repository:tag, not :latest; example: nginx:1.27-alpine)" },
);

export const serviceName = pattern(/^[a-z][a-z0-9-]{0,62}$/, "a service name", "backend");

export const weekday = z.enum(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"], {
  message: "is not a weekday (example: sunday)",
});

export const hourOfDay = pattern(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, "a time of day in UTC (HH:MM)", "\"02:00\"");

export const isoTimestamp = pattern(
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/,
  "an ISO 8601 UTC timestamp",
  "2026-11-23T02:00:00Z",
);

export const percent = z
  .number({ message: "is not a number (example: 85)" })
  .min(1, { message: "is not a percentage between 1 and 100 (example: 85)" })
  .max(100, { message: "is not a percentage between 1 and 100 (example: 85)" });

export const port = z
  .number({ message: "is not a port number (example: 3000)" })
  .int({ message: "is not a port number (example: 3000)" })
  .min(1, { message: "is not a port number between 1 and 65535 (example: 3000)" })
  .max(65535, { message: "is not a port number between 1 and 65535 (example: 3000)" });

/** An operation id: it names the command resource, so a new id runs the operation again. */
export const operationId = pattern(
  /^[a-z0-9][a-z0-9-]{2,62}$/,
  "an operation id (lowercase letters, digits and dashes; a new id runs the operation again)",
  "2026-11-23-restart-backend",
);

/** DigitalOcean Spaces regions. */
export const SPACES_REGIONS = ["nyc3", "sfo2", "sfo3", "ams3", "sgp1", "fra1", "syd1", "blr1", "lon1", "tor1", "atl1"] as const;
export const spacesRegion = z.enum(SPACES_REGIONS, { message: `is not a DigitalOcean Spaces region (example: fra1; one of ${SPACES_REGIONS.join(", ")})` });
/** The S3 endpoint of a Spaces region (s3cmd's --host). */
export function spacesEndpoint(region: string): string {
  return `${region}.digitaloceanspaces.com`;
}

/** Bucket names are global: prod and staging differ. */
export const spacesBucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, { message: "is not a Spaces bucket name (3-63 lowercase letters, digits and dashes; example: goodgo-prod-backups)" });

/** An exact npm version: a range would install whatever is newest on the next host. */
export const npmVersion = (pkg: string, example: string) =>
  z.string().regex(/^\d+\.\d+\.\d+$/, { message: `is not an exact ${pkg} version (example: ${example}); a range would install whatever is newest` });

/** A PostgreSQL identifier Lazarus creates or names (database, role): lower-case, at most 63 bytes, never quoted. */
export const sqlName = (what: string, example: string) => z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: `is not a ${what} (example: ${example})` });
