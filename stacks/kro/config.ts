// `lazarus:kro`: the KRO platform's stack config (runbook 000, "KRO Platform"): one host running docker compose
// (backend, frontend, admin-frontend, nginx), a DigitalOcean managed PostgreSQL cluster, certbot TLS; its secrets and
// the checks that span keys (confirmations of destructive switches on prod).
import { z } from "zod";
import { duplicateOperationIds, requireConfirm, type Problem } from "../../config/checks";
import { absolutePath, email, hostname, imageRef, imageTag, operationId, pinnedImage, port, serviceName } from "../../config/primitives";
import type { SecretSpec } from "../../config/secrets";
import { databaseRestoreProblems, databaseRestoreSchema, hostPlacementSchema, hostRebuildProblems, hostRebuildSchema, isExistingHost, managedPostgresSchema } from "../../config/shared";
import { KRO_APP_SERVICES, kroServices } from "./inventory";

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
    z.strictObject({ id: operationId, action: z.literal("stop-service"), service: serviceName, confirm: z.string().optional() }),
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
  /** A droplet Lazarus declares, or `{ existing: { address, user, port } }` for a server that is already there. */
  host: hostPlacementSchema,
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
    nginxImage: pinnedImage.default("nginx:1.27-alpine"),
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

export const KRO_SECRETS = {
  kroProductionJson: {
    description: "the KRO backend's production.json (Lazarus writes the database connection into it)",
    setWith: "pulumi config set --secret --stack <stack> kroProductionJson < production.json",
  },
  kroSshPrivateKey: {
    description: "the private half of an SSH key in lazarus:environment.sshKeys, used to run commands on the KRO host",
    setWith: "pulumi config set --secret --stack <stack> kroSshPrivateKey < ~/.ssh/lazarus_kro_ed25519",
  },
} as const satisfies Record<string, SecretSpec>;

export function kroProblems(cfg: KroConfig, stack: string): Problem[] {
  const problems: Problem[] = [];
  if (cfg.recovery.host && isExistingHost(cfg.host)) {
    problems.push({ path: "recovery.host", message: "rebuilds a droplet from a snapshot, but host is an existing server Lazarus did not create; remove recovery.host (example: recovery: {})" });
  } else if (cfg.recovery.host) {
    problems.push(...hostRebuildProblems(cfg.recovery.host, stack, "kro", { what: "rebuild-host", why: "rebuilding the host replaces the live droplet" }));
  }
  problems.push(...databaseRestoreProblems(cfg.recovery.database, stack, "kro"));
  problems.push(...duplicateOperationIds(cfg.operations));
  // The services operations may name are the inventory's, nothing kept beside it.
  const services = kroServices(cfg, stack).map((s) => s.name);
  cfg.operations.forEach((op, i) => {
    if ("service" in op && !services.includes(op.service)) {
      problems.push({ path: `operations[${i}].service`, message: `"${op.service}" is not a KRO service (one of ${services.join(", ")})` });
    }
    if (op.action === "stop-service") {
      problems.push(...requireConfirm(stack, "kro", "stop-service", op.confirm, `operations[${i}].confirm`, `stopping ${op.service} takes it offline until a start-service`));
    }
    if (op.action === "graceful-shutdown") {
      problems.push(...requireConfirm(stack, "kro", "graceful-shutdown", op.confirm, `operations[${i}].confirm`, "a graceful shutdown takes KRO offline"));
    }
  });
  return problems;
}
