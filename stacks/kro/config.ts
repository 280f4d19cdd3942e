// `lazarus:kro`: the KRO platform (runbook 000, "KRO Platform"): one droplet running docker compose
// (backend, frontend, admin-frontend, nginx), a DigitalOcean managed PostgreSQL cluster, certbot TLS.
import { z } from "zod";
import { absolutePath, email, hostname, imageRef, imageTag, operationId, port, serviceName } from "../primitives";
import { databaseRestoreSchema, hostRebuildSchema, hostSchema, managedPostgresSchema } from "../shared";

/** The application services of KRO's compose project; nginx is the edge in front of them. */
export const KRO_APP_SERVICES = ["backend", "frontend", "admin-frontend"] as const;
export type KroAppService = (typeof KRO_APP_SERVICES)[number];
export const KRO_SERVICES = [...KRO_APP_SERVICES, "nginx"] as const;

const appServiceSchema = z.strictObject({
  image: imageRef,
  /** Port the container listens on inside the compose network. */
  port,
  /** HTTP path the container health check and nginx probe. */
  healthPath: z.string().regex(/^\//, { message: "is not an HTTP path (example: /health)" }).default("/"),
  memoryMb: z.number().int().min(64, { message: "is below 64 MB (example: 1024)" }).default(1024),
  cpus: z.number().positive({ message: "is not a positive CPU count (example: 1)" }).default(1),
});

const routeSchema = z.strictObject({
  path: z.string().regex(/^\//, { message: "is not a URL path prefix (example: /api/)" }),
  service: z.enum(KRO_APP_SERVICES, { message: `is not a KRO application service (one of ${KRO_APP_SERVICES.join(", ")})` }),
});

const siteSchema = z.strictObject({
  serverName: hostname,
  routes: z.array(routeSchema).min(1, { message: "must route at least one path (example: [{path: /, service: frontend}])" }),
});

/** production.json is a secret document; Lazarus writes the database connection into it at these JSON paths. */
const databaseFieldsSchema = z.strictObject({
  host: z.string().default("database.host"),
  port: z.string().default("database.port"),
  name: z.string().default("database.database"),
  user: z.string().default("database.username"),
  password: z.string().default("database.password"),
  caFile: z.string().default("database.ssl.caFile"),
});

const operationSchema = z.discriminatedUnion(
  "action",
  [
    z.strictObject({ id: operationId, action: z.literal("graceful-shutdown"), confirm: z.string().optional() }),
    z.strictObject({ id: operationId, action: z.literal("stop-service"), service: serviceName }),
    z.strictObject({ id: operationId, action: z.literal("start-service"), service: serviceName }),
    z.strictObject({ id: operationId, action: z.literal("restart-service"), service: serviceName }),
    z.strictObject({ id: operationId, action: z.literal("recover-after-restart") }),
    z.strictObject({ id: operationId, action: z.literal("renew-certificate"), force: z.boolean().default(true) }),
  ],
  {
    message:
      "is not a KRO operation (actions: graceful-shutdown, stop-service, start-service, restart-service, recover-after-restart, renew-certificate; example: {id: 2026-11-23-restart-backend, action: restart-service, service: backend})",
  },
);
export type KroOperation = z.infer<typeof operationSchema>;

export const kroSchema = z.strictObject({
  enabled: z.boolean().default(true),
  host: hostSchema,
  database: managedPostgresSchema,
  app: z.strictObject({
    /** Where the compose project lives on the host (the runbook's /root/Kro/kro-devops/production). */
    deployDir: absolutePath.default("/root/Kro/kro-devops/production"),
    /** Rolling back is changing this tag. */
    imageTag,
    services: z.strictObject({
      backend: appServiceSchema,
      frontend: appServiceSchema,
      "admin-frontend": appServiceSchema,
    }),
    nginxImage: z.string().default("nginx:1.27-alpine"),
    sites: z.array(siteSchema).min(1, { message: "must declare at least one site (example: [{serverName: kro.example.org, routes: [{path: /, service: frontend}]}])" }),
    /** Public URL the uptime check probes. */
    healthUrl: z.string().regex(/^https:\/\/[^\s]+$/, { message: "is not an https URL (example: https://kro.example.org/api/health)" }),
    productionJsonDatabaseFields: databaseFieldsSchema.prefault({}),
  }),
  tls: z.strictObject({
    email,
    /** A non-default ACME directory (e.g. Let's Encrypt staging for the staging stack). */
    acmeServer: z.string().regex(/^https:\/\//, { message: "is not an https ACME directory URL (example: https://acme-staging-v02.api.letsencrypt.org/directory)" }).optional(),
  }),
  recovery: z
    .strictObject({
      host: hostRebuildSchema.optional(),
      database: databaseRestoreSchema.optional(),
    })
    .prefault({}),
  operations: z.array(operationSchema).default([]),
});

export type KroConfig = z.infer<typeof kroSchema>;
