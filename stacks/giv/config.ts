// `lazarus:giv`: GIV (KROGiving, runbook 000): a DigitalOcean App Platform app, managed MongoDB and PostgreSQL clusters
// and a Valkey cache, each admitting only the app; the recovery switches and operations of the runbook's GIV part; the
// secrets; and the checks that span keys (confirmations on prod).
import { z } from "zod";
import { duplicateOperationIds, requireConfirm, type Problem } from "../../config/checks";
import { databaseSize, hostname, imageTag, operationId, percent, port } from "../../config/primitives";
import type { SecretSpec } from "../../config/secrets";
import { clusterLayoutProblems, databaseRestoreProblems, databaseRestoreSchema, maintenanceWindowSchema, managedPostgresSchema } from "../../config/shared";
import { APP_ALERT_WINDOWS, APP_ENV_KEY, APP_HEALTH_CHECK_RANGES, APP_INSTANCE_SIZES, APP_NAME, APP_REGIONS } from "../../lib/appPlatform";

const componentName = z.string().regex(APP_NAME, { message: "is not an App Platform component name: 2-32 lowercase letters, digits and dashes, starting with a letter (example: api)" });
const envKey = z.string().regex(APP_ENV_KEY, { message: "is not an environment variable name (example: PAYSTACK_SECRET_KEY)" });
const instanceSize = z.string().refine((v) => v in APP_INSTANCE_SIZES, {
  message: `is not a current App Platform instance size (example: apps-s-1vcpu-1gb; one of ${Object.keys(APP_INSTANCE_SIZES).join(", ")})`,
});

/** A container image as App Platform pulls it: pinned by tag (not latest) or by digest. */
const imageSchema = z
  .strictObject({
    registryType: z.enum(["DOCR", "DOCKER_HUB", "GHCR"], { message: "is not a registry type (example: DOCR; one of DOCR, DOCKER_HUB, GHCR)" }).default("DOCR"),
    /** Empty for DOCR (the account's registry); the namespace for Docker Hub and GHCR. */
    registry: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, { message: "is not a registry namespace (example: krogiving)" }).optional(),
    repository: z.string().regex(/^[a-z0-9][a-z0-9._/-]*$/, { message: "is not a repository name (example: giv-api)" }),
    tag: imageTag.refine((t) => !/^latest$/i.test(t), { message: "is latest, which moves; pin a version (example: v2.3.1)" }).optional(),
    /** Preferred for rollbacks: a tag can be moved, so a rollback to a deployment made from a tag may pull other code. */
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, { message: "is not a sha256 image digest (example: sha256:795e9161...)" }).optional(),
  })
  .refine((i) => (i.tag === undefined) !== (i.digest === undefined), { message: "needs exactly one of tag or digest (example: tag: v2.3.1)" });

/** A whole number in App Platform's range for a health-check field (lib/appPlatform.ts), with its default. */
const inRange = (field: keyof typeof APP_HEALTH_CHECK_RANGES, fallback: number) => {
  const [min, max] = APP_HEALTH_CHECK_RANGES[field];
  const message = `is not a whole number from ${min} to ${max} (example: ${fallback})`;
  return z.number({ message }).int({ message }).min(min, { message }).max(max, { message }).default(fallback);
};

const healthCheckSchema = z.strictObject({
  httpPath: z.string().regex(/^\/\S*$/, { message: "is not a path (example: /health)" }).default("/health"),
  initialDelaySeconds: inRange("initialDelaySeconds", 30),
  periodSeconds: inRange("periodSeconds", 10),
  timeoutSeconds: inRange("timeoutSeconds", 5),
  successThreshold: inRange("successThreshold", 1),
  failureThreshold: inRange("failureThreshold", 3),
});

const serviceSchema = z.strictObject({
  image: imageSchema,
  instanceSize,
  instanceCount: z.number({ message: "is not an instance count (example: 2)" }).int().min(1, { message: "is below 1: App Platform runs at least one instance; maintenance mode takes the app offline (recovery.maintenance)" }).default(1),
  /** The port the service listens on; App Platform sets PORT to it. */
  httpPort: port.default(8080),
  healthCheck: healthCheckSchema.prefault({}),
  /** Path prefixes routed to this service (ingress rules), e.g. ["/api"]. */
  routes: z.array(z.string().regex(/^\/\S*$/, { message: "is not a path prefix (example: /api)" })).min(1, { message: "must route at least one path (example: [/])" }),
  /** Set when the service serves the routes under their full path (no prefix trimming). */
  preservePathPrefix: z.boolean().default(true),
});

const domainSchema = z.strictObject({
  name: hostname,
  type: z.enum(["PRIMARY", "ALIAS"], { message: "is not a domain type (example: PRIMARY; one of PRIMARY, ALIAS)" }).default("ALIAS"),
  /** The DigitalOcean DNS zone, when App Platform should manage the record (e.g. example.org). */
  zone: hostname.optional(),
  minimumTlsVersion: z.enum(["1.2", "1.3"], { message: 'is not a TLS version (example: "1.2")' }).default("1.2"),
});

/** MongoDB 6.0 and 7.0 reached their end of life at DigitalOcean (7.0 on 2026-08-01, the API's version_availability). */
export const GIV_MONGODB_VERSIONS = ["8.0"] as const;
const mongodbSchema = z.strictObject({
  version: z.enum(GIV_MONGODB_VERSIONS, { message: 'is not a MongoDB version DigitalOcean still supports (example: "8.0"; 6.0 and 7.0 reached end of life)' }).default("8.0"),
  size: databaseSize,
  /** MongoDB clusters are one node or a three-member replica set (the API's layouts); 3 on prod. */
  nodeCount: z.union([z.literal(1), z.literal(3)], { message: "is not a MongoDB node count (example: 3; one of 1, 3)" }),
  maintenanceWindow: maintenanceWindowSchema,
  databaseName: managedPostgresSchema.shape.databaseName.default("giv"),
  userName: managedPostgresSchema.shape.userName.default("giv"),
});

/** The API's eviction policies for a Valkey cluster. */
export const CACHE_EVICTION_POLICIES = ["noeviction", "allkeys_lru", "allkeys_random", "volatile_lru", "volatile_random", "volatile_ttl"] as const;
const cacheSchema = z.strictObject({
  /** DigitalOcean's caching engine is Valkey (its Redis clusters were retired); the app speaks the Redis protocol to it. */
  version: z.enum(["8"], { message: 'is not a Valkey version DigitalOcean offers (example: "8")' }).default("8"),
  size: databaseSize,
  nodeCount: z.union([z.literal(1), z.literal(2), z.literal(3)], { message: "is not a Valkey node count (example: 2; one of 1, 2, 3)" }),
  maintenanceWindow: maintenanceWindowSchema,
  /**
   * allkeys_lru: the least recently used keys go first when memory is full. An OTP in flight was written minutes ago, so
   * it is among the last to go; noeviction would make every write (new OTPs included) fail on a full cache.
   */
  evictionPolicy: z.enum(CACHE_EVICTION_POLICIES, { message: `is not an eviction policy (example: allkeys_lru; one of ${CACHE_EVICTION_POLICIES.join(", ")})` }).default("allkeys_lru"),
});

export const GIV_OPERATION_ACTIONS = ["check-status", "redeploy", "commit-rollback", "revert-rollback"] as const;
const operationSchema = z.discriminatedUnion(
  "action",
  [
    /** The checklist's "Check infrastructure": the app's live URL, maintenance mode and deployments, read from the API. */
    z.strictObject({ id: operationId, action: z.literal("check-status") }),
    /** The seed's "trigger a full redeploy via API" with force_build (a rebuild from source, not the build cache). */
    z.strictObject({ id: operationId, action: z.literal("redeploy"), forceBuild: z.boolean().default(true) }),
    /** Keep a pinned rollback (this stack's or the console's) and unpin the app (deployments resume). */
    z.strictObject({ id: operationId, action: z.literal("commit-rollback") }),
    /** Undo a pinned rollback: the app returns to the deployment before it, and is unpinned. */
    z.strictObject({ id: operationId, action: z.literal("revert-rollback"), confirm: z.string().optional() }),
  ],
  { message: `is not a GIV operation (actions: ${GIV_OPERATION_ACTIONS.join(", ")}; example: {id: 2026-11-23-rebuild, action: redeploy})` },
);
export type GivOperation = z.infer<typeof operationSchema>;

export const givSchema = z.strictObject({
  enabled: z.boolean().default(true),
  app: z.strictObject({
    /** The App Platform app's name (the seed's KROGiving); unique in the account. */
    name: z.string().regex(APP_NAME, { message: "is not an App Platform app name: 2-32 lowercase letters, digits and dashes (example: krogiving-prod)" }),
    region: z.enum(APP_REGIONS, { message: `is not an App Platform region (example: fra; one of ${APP_REGIONS.join(", ")})` }),
    services: z.record(componentName, serviceSchema).refine((s) => Object.keys(s).length > 0, { message: "must list at least one service (example: {api: {...}})" }),
    domains: z.array(domainSchema).default([]),
    /** Plain environment variables (GENERAL), for every component. */
    env: z.record(envKey, z.string()).default({}),
    /**
     * The names of the app's secret variables (the seed's .env: Paystack keys, SendGrid, Termii, JWT...). Their values
     * are the secret givAppSecrets (a JSON object with exactly these keys); each becomes a SECRET variable.
     */
    secretEnvKeys: z.array(envKey).default([]),
    /** The variables the app reads its connections from; each a SECRET variable composed from the active cluster. */
    connectionEnv: z
      .strictObject({
        postgres: envKey.default("DATABASE_URL"),
        postgresCa: envKey.default("DATABASE_CA_CERT"),
        mongodb: envKey.default("MONGODB_URI"),
        mongodbCa: envKey.default("MONGODB_CA_CERT"),
        cache: envKey.default("REDIS_URL"),
      })
      .prefault({}),
    /** The page App Platform serves while maintenance mode is on (its own page when absent). */
    offlinePageUrl: z.string().regex(/^https:\/\/\S+$/, { message: "is not an https URL (example: https://status.example.org/maintenance.html)" }).optional(),
  }),
  /** Component alerts (CPU, memory, restarts) for every service; deployment and domain failures always alert. */
  alerts: z
    .strictObject({
      cpuPercent: percent.default(80),
      memoryPercent: percent.default(85),
      restartCount: z.number().int().min(1, { message: "is not a restart count (example: 3)" }).default(3),
      window: z.enum(APP_ALERT_WINDOWS, { message: `is not an alert window (example: FIVE_MINUTES; one of ${APP_ALERT_WINDOWS.join(", ")})` }).default("FIVE_MINUTES"),
    })
    .prefault({}),
  postgres: managedPostgresSchema.extend({
    databaseName: managedPostgresSchema.shape.databaseName.default("giv"),
    userName: managedPostgresSchema.shape.userName.default("giv"),
  }),
  mongodb: mongodbSchema,
  cache: cacheSchema,
  recovery: z
    .strictObject({
      /**
       * The seed's Shutdown (Pause/Disable): App Platform's maintenance mode. The app stops serving (the offline page
       * answers) and keeps its deployments, domains and databases; removing the switch brings it back.
       */
      maintenance: z.strictObject({ confirm: z.string().optional() }).optional(),
      /** Database Recovery: restore beside the live cluster (backupRestore), then cut the app's connection over. */
      postgres: databaseRestoreSchema.optional(),
      mongodb: databaseRestoreSchema.optional(),
      /** Rollback a Deployment: the API's rollback to a named earlier deployment (validated first). */
      rollback: z
        .strictObject({
          /** The deployment to return to (doctl apps list-deployments <app id>; the console's Deployments tab). */
          deploymentId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, { message: "is not a deployment id (example: 3aa4d20e-5527-4c00-b496-601fbd22520a)" }),
          /** Pinned (the default, like the console): nothing deploys over it until commit-rollback or revert-rollback. */
          pin: z.boolean().default(true),
          reason: z.string().min(3, { message: "is too short; say why (example: 5xx after v2.3.1)" }),
          confirm: z.string().optional(),
        })
        .optional(),
    })
    .prefault({}),
  operations: z.array(operationSchema).default([]),
});

export type GivConfig = z.infer<typeof givSchema>;

export const GIV_SECRETS = {
  givAppSecrets: {
    description: "the app's secret environment variables (the seed's .env: Paystack keys and the rest), a JSON object whose keys are exactly lazarus:giv.app.secretEnvKeys",
    setWith: "pulumi config set --secret --stack <stack> givAppSecrets < giv-secrets.json",
  },
  givDigitaloceanApiToken: {
    description: "a DigitalOcean API token (app update scope) for the App Platform calls the provider has no resource for: rollback, commit/revert, redeploy",
    setWith: "pulumi config set --secret --stack <stack> givDigitaloceanApiToken < do-token.txt",
  },
} as const satisfies Record<string, SecretSpec>;

/** Does the config make an App Platform API call (and so need the API token)? */
export function givCallsTheApi(cfg: GivConfig): boolean {
  return cfg.recovery.rollback !== undefined || cfg.operations.length > 0;
}

/** Variable names that hold credentials (the policy pack's secrets rule uses the same idea on the declared app). */
const CREDENTIAL_NAME = /secret|password|passphrase|private|token|api_?key/i;

export const MAINTENANCE_TAKES_GIV_OFFLINE = "maintenance mode takes GIV offline: every request gets the offline page until the switch is removed";
export const ROLLBACK_REPLACES_GIV = "rolling back replaces the live deployment with an earlier one (its code, spec and environment)";

export function givProblems(cfg: GivConfig, stack: string): Problem[] {
  const problems: Problem[] = [...duplicateOperationIds(cfg.operations)];
  const r = cfg.recovery;
  if (r.maintenance) problems.push(...requireConfirm(stack, "giv", "maintenance", r.maintenance.confirm, "recovery.maintenance.confirm", MAINTENANCE_TAKES_GIV_OFFLINE));
  problems.push(...databaseRestoreProblems(r.postgres, stack, "giv", { path: "recovery.postgres", what: "postgres" }));
  problems.push(...databaseRestoreProblems(r.mongodb, stack, "giv", { path: "recovery.mongodb", what: "mongodb" }));
  if (r.rollback) problems.push(...requireConfirm(stack, "giv", "rollback", r.rollback.confirm, "recovery.rollback.confirm", ROLLBACK_REPLACES_GIV));
  cfg.operations.forEach((op, i) => {
    // A pinned rollback may also come from the console's Rollback button, so these need no switch; but the switch's own
    // rollback, unpinned, has nothing to commit or revert.
    if ((op.action === "commit-rollback" || op.action === "revert-rollback") && r.rollback && !r.rollback.pin) {
      problems.push({ path: `operations[${i}].action`, message: `${op.action} ends a pinned rollback, but recovery.rollback says pin: false (committed at once); remove the operation, or roll back pinned (example: pin: true)` });
    }
    if (op.action === "revert-rollback") {
      problems.push(...requireConfirm(stack, "giv", "revert-rollback", op.confirm, `operations[${i}].confirm`, "reverting the rollback puts the deployment that was rolled back from live again"));
    }
  });

  // Variable names are unique across the plain, secret and connection variables.
  const owners = new Map<string, string>();
  const claim = (key: string, path: string) => {
    const first = owners.get(key);
    if (first) problems.push({ path, message: `${key} is already set by ${first}; each variable has one source (example: rename one)` });
    else owners.set(key, path);
  };
  Object.keys(cfg.app.env).forEach((k) => claim(k, `app.env.${k}`));
  // A plain variable is visible to everyone who can see the app and sits in git: a credential belongs in givAppSecrets.
  for (const k of Object.keys(cfg.app.env).filter((key) => CREDENTIAL_NAME.test(key))) {
    problems.push({ path: `app.env.${k}`, message: `looks like a credential, but app.env is plain text in the stack file; list ${k} in app.secretEnvKeys and put its value in the secret givAppSecrets (example: secretEnvKeys: [${k}])` });
  }
  cfg.app.secretEnvKeys.forEach((k, i) => claim(k, `app.secretEnvKeys[${i}]`));
  Object.entries(cfg.app.connectionEnv).forEach(([what, k]) => claim(k, `app.connectionEnv.${what}`));

  problems.push(...clusterLayoutProblems("pg", cfg.postgres, "postgres"), ...clusterLayoutProblems("valkey", cfg.cache, "cache"));

  const primaries = cfg.app.domains.filter((d) => d.type === "PRIMARY");
  if (cfg.app.domains.length && primaries.length !== 1) {
    problems.push({ path: "app.domains", message: `has ${primaries.length} PRIMARY domains; exactly one domain is the app's primary (example: {name: giv.example.org, type: PRIMARY})` });
  }
  for (const [name, s] of Object.entries(cfg.app.services)) {
    if (APP_INSTANCE_SIZES[s.instanceSize]?.singleInstanceOnly && s.instanceCount > 1) {
      problems.push({ path: `app.services.${name}.instanceCount`, message: `${s.instanceCount} instances, but ${s.instanceSize} runs a single instance only (example: instanceSize: apps-s-1vcpu-1gb)` });
    }
    if (s.healthCheck.timeoutSeconds > s.healthCheck.periodSeconds) {
      problems.push({ path: `app.services.${name}.healthCheck.timeoutSeconds`, message: `${s.healthCheck.timeoutSeconds} s is longer than the ${s.healthCheck.periodSeconds} s between checks (example: 5)` });
    }
  }
  return problems;
}
