// `lazarus:waqiti`: the Waqiti P2P payment platform on Kubernetes (runbook 002, "System Recovery Runbook"): the
// namespace, the four Spring services, PostgreSQL and Redis as StatefulSets, the encrypted backups the RPO needs, the
// recovery switches of the seed's scenarios and its operations; its secrets and the checks that span keys.
// Kafka and Keycloak are external: configuration (addresses and the networks NetworkPolicies admit), not resources.
import { z } from "zod";
import { duplicateOperationIds, requireConfirm, type Problem } from "../../config/checks";
import { cidr, hostname, imageRef, imageTag, isoTimestamp, operationId, pinnedImage } from "../../config/primitives";
import type { SecretSpec } from "../../config/secrets";
import { POINT_IN_TIME } from "../../lib/postgresPitr";
import { WAQITI_SERVICE_NAMES, type WaqitiServiceName } from "./services";

const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: "is not a Kubernetes name (lowercase letters, digits and dashes; example: waqiti)" }).max(63, { message: "is longer than 63 characters (example: waqiti)" });
/** A Kubernetes quantity; a plain number (YAML's `cpuLimit: 1`) is taken as its text. */
const quantity = z
  .union([z.number().positive().transform(String), z.string()])
  .pipe(z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, { message: "is not a Kubernetes quantity (example: 500m for CPU, 1Gi for memory)" }));
const storage = z.string().regex(/^\d+(Mi|Gi|Ti)$/, { message: "is not a storage size (example: 100Gi)" });
const resources = z.strictObject({ cpuRequest: quantity, cpuLimit: quantity, memoryRequest: quantity, memoryLimit: quantity });
const label = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, { message: "is not a recovery label (lowercase letters, digits, dashes; example: r1)" }).max(20, { message: "is longer than 20 characters (example: r1)" });
const httpsUrl = z.string().regex(/^https:\/\/[^\s/]+(\/\S*)?$/, { message: "is not an https URL (example: https://auth.example.com)" });
/** A backup object in the bucket, or `latest`: the newest one of its kind, resolved by the job when it runs (once). */
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: "is not a bucket name (example: waqiti-backups-prod)" });
const pointInTime = z.string().regex(POINT_IN_TIME, { message: "is not `latest` or a UTC time (example: 2026-11-23T14:03:00Z)" });
const backupRef = z.string().regex(/^(latest|[A-Za-z0-9][A-Za-z0-9._/-]*\.enc)$/, { message: "is not `latest` or a backup key in the bucket (example: postgresql/waqiti-postgresql-20261123T020000Z.sql.gz.enc)" });

/** A service the platform reaches outside the cluster: where it is and the networks its NetworkPolicy egress admits. */
const externalEndpoint = z.strictObject({
  /** The networks the endpoint's addresses are in (NetworkPolicy is layer 3/4: it admits addresses, not names). */
  cidrs: z.array(cidr).min(1, { message: "must list the endpoint's networks (example: [10.20.0.0/24])" }),
  /** Addresses inside `cidrs` that stay closed (e.g. the cluster's private ranges inside 0.0.0.0/0). */
  except: z.array(cidr).default([]),
  port: z.number().int().min(1).max(65535),
});

const serviceSchema = z.strictObject({
  replicas: z.number().int().min(0, { message: "is not a replica count (example: 3)" }),
  resources,
});

export const WAQITI_OPERATION_ACTIONS = ["verify", "backup-now", "verify-backup"] as const;
const operationSchema = z.discriminatedUnion(
  "action",
  [
    /** The seed's verification checks (steps 5.4, 6 and 7): service health, database counts, external connectivity. */
    z.strictObject({ id: operationId, action: z.literal("verify") }),
    z.strictObject({ id: operationId, action: z.literal("backup-now") }),
    z.strictObject({ id: operationId, action: z.literal("verify-backup") }),
  ],
  { message: `is not a Waqiti operation (actions: ${WAQITI_OPERATION_ACTIONS.join(", ")}; example: {id: 2026-11-23-verify, action: verify})` },
);
export type WaqitiOperation = z.infer<typeof operationSchema>;

const serviceNameEnum = z.enum(WAQITI_SERVICE_NAMES, { message: `is not a Waqiti service (one of ${WAQITI_SERVICE_NAMES.join(", ")})` });

const rollbackEntry = z.strictObject({ imageTag, reason: z.string().min(3, { message: "must say why (example: 5xx after v3.2.1)" }) });

export const WAQITI_RECOVERY_SWITCHES = ["database", "redis", "rollback", "restart", "configuration", "fullSystem"] as const;

const recoverySchema = z
  .strictObject({
    /**
     * Database-Only Recovery: a new PostgreSQL StatefulSet `postgres-<label>` beside the live one, restored from a
     * backup and verified (users, transactions, wallets counted against the counts the backup recorded); `cutover`
     * then moves the `postgres` Service to it. `deleteClaim` (the seed's "delete the PVC") only with its own
     * confirmation naming the claim, and only after the cutover.
     */
    database: z
      .strictObject({
        label,
        /** The logical route: a backup dump (default `latest`). */
        backup: backupRef.optional(),
        /** The physical route (needs backups.pitr): pgBackRest's backup plus WAL, to `latest` or a UTC time. */
        pointInTime: pointInTime.optional(),
        cutover: z.boolean().default(false),
        confirm: z.string().optional(),
        deleteClaim: z.strictObject({ name: k8sName, confirm: z.string().optional() }).optional(),
      })
      .optional(),
    /** Redis Recovery: restored by an init container while Redis is stopped (a copy into a running Redis is lost). */
    redis: z.strictObject({ label, backup: backupRef.default("latest"), confirm: z.string().optional() }).optional(),
    /** Application Rollback to a pinned image tag, per service (the seed's `rollout undo`, made declarative). */
    rollback: z
      .strictObject(Object.fromEntries(WAQITI_SERVICE_NAMES.map((n) => [n, rollbackEntry.optional()])) as Record<WaqitiServiceName, z.ZodOptional<typeof rollbackEntry>>)
      .optional(),
    /** Single Service Recovery's `rollout restart`: the restartedAt annotation; a new `at` restarts again. */
    restart: z.strictObject({ services: z.array(serviceNameEnum).min(1), at: isoTimestamp }).optional(),
    /** Configuration Recovery: ConfigMap and Secrets applied again from the stack, then all four services restarted. */
    configuration: z.strictObject({ at: isoTimestamp }).optional(),
    /**
     * Complete System Recovery on a new cluster: namespace → policies → RBAC → secrets → config → PostgreSQL and
     * Redis restored from the named backups → applications, each waiting for readiness.
     */
    fullSystem: z.strictObject({ label, postgresBackup: backupRef.default("latest"), redisBackup: backupRef.default("latest"), confirm: z.string().optional() }).optional(),
  })
  .prefault({});

export const waqitiSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** The seed's `kubectl create namespace waqiti` and its label `environment=production`. */
  namespace: z.strictObject({ name: k8sName.default("waqiti"), environment: k8sName }),
  /** The application images: `<registry>/<service>:<imageTag>`. */
  images: z.strictObject({ registry: imageRef, tag: imageTag }),
  services: z.strictObject(Object.fromEntries(WAQITI_SERVICE_NAMES.map((n) => [n, serviceSchema])) as Record<WaqitiServiceName, typeof serviceSchema>),
  /** The public API (`https://api.example.com`): the Ingress in front of api-gateway. */
  ingress: z.strictObject({
    host: hostname,
    className: k8sName.default("nginx"),
    tlsSecretName: k8sName.default("waqiti-api-tls"),
    /** Where the ingress controller's pods run: the only source api-gateway admits from outside the namespace. */
    controllerNamespace: k8sName.default("ingress-nginx"),
  }),
  postgres: z.strictObject({
    image: pinnedImage,
    database: k8sName.default("waqiti"),
    /** The seed's `postgres-username=waqiti_user`. */
    username: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: "is not a PostgreSQL role name (example: waqiti_user)" }).default("waqiti_user"),
    storage,
    storageClass: k8sName.optional(),
    resources,
  }),
  redis: z.strictObject({ image: pinnedImage, storage, storageClass: k8sName.optional(), resources }),
  /** Kafka and Keycloak outside the cluster, and the payment providers payment-service calls. */
  external: z.strictObject({
    keycloakUrl: httpsUrl,
    keycloak: externalEndpoint,
    /** The seed's `kafka.bootstrap-servers`. */
    kafkaBootstrapServers: z.string().regex(/^[A-Za-z0-9.-]+:\d+(,[A-Za-z0-9.-]+:\d+)*$/, { message: "is not a host:port list (example: kafka:9092)" }),
    kafka: externalEndpoint,
    /**
     * The external Kafka's DNS name, when the bootstrap servers name a Service of the namespace (the seed's `kafka:9092`):
     * an ExternalName Service `kafka` then points at it, so the seed's address and its `nc -z kafka 9092` work.
     */
    kafkaExternalName: hostname.optional(),
    paymentProviders: z.record(k8sName, externalEndpoint.extend({ url: httpsUrl })),
    /** The Kubernetes API server, which the operators' verification job calls to exec into the services (as the seed does). */
    apiServer: externalEndpoint,
  }),
  backups: z.strictObject({
    /** The seed's `s3://waqiti-backups-prod/`. */
    bucket: bucketName,
    /** The S3 endpoint host (the seed uses AWS S3). */
    endpoint: z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, { message: "is not an endpoint host (example: s3.eu-central-1.amazonaws.com)" }),
    region: z.string().regex(/^[a-z0-9-]+$/, { message: "is not a region (example: eu-central-1)" }),
    storage: externalEndpoint,
    /** Tools image of the backup and restore jobs: bash, jq, openssl, PostgreSQL 15 client, redis-cli, s3cmd. */
    image: pinnedImage,
    /** A cron expression; the plan refuses one whose gap plus the job's deadline exceeds the RPO. */
    schedule: z.string().default("*/30 * * * *"),
    /** The job is killed after this long, so a hung dump cannot stretch the data at risk past the RPO. */
    deadlineMinutes: z.number().int().min(5).max(240).default(25),
    /** The seed's RPO: 1 hour maximum data loss. */
    rpoMinutes: z.number().int().min(5).default(60),
    /**
     * WAL archiving with pgBackRest (off unless set): point-in-time recovery with an RPO of about `rpoSeconds`. The
     * PostgreSQL StatefulSet then runs the image with pgBackRest (lib/postgresPitr.ts) and archives to `bucket`.
     */
    pitr: z
      .strictObject({
        /** A bucket of its own: pgBackRest's keys (pg_data/postgresql.conf...) would match the seed's `grep postgresql` of backups.bucket. */
        bucket: bucketName,
        repoPath: z.string().regex(/^\/[a-z0-9][a-z0-9/_-]*[a-z0-9]$/, { message: "is not an absolute path in the bucket (example: /pgbackrest)" }).default("/pgbackrest"),
        /** The point-in-time RPO target: archive_timeout is half of it (the other half for the push). */
        rpoSeconds: z.number().int().min(20).max(3600).default(60),
        /** Full backups kept (each with its differentials and the WAL to replay from it). */
        retentionFull: z.number().int().min(1).max(10).default(2),
        /** The full backup on `fullWeekday` at `at` UTC, a differential on the other days (lib/postgresPitr.ts). */
        schedule: z
          .strictObject({ at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'is not a UTC time "HH:MM" (example: "01:00")' }).default("01:00"), fullWeekday: z.number().int().min(0).max(6).default(0) })
          .prefault({}),
      })
      .optional(),
  }),
  /** The image of the verification and claim-deletion jobs: kubectl and bash (the seed's checks are kubectl commands). */
  kubectlImage: pinnedImage.default("bitnami/kubectl:1.31.4"),
  /**
   * The seed's Step 2 source: with `vault` set, the database password, JWT secret and payment keys are read from Vault
   * at `pulumi up` (the seed's own `vault kv get -field=...` commands, run where pulumi runs, with its VAULT_ADDR and
   * VAULT_TOKEN) instead of from Pulumi config; a new `refreshedAt` reads them again.
   */
  vault: z.strictObject({ refreshedAt: isoTimestamp.optional() }).optional(),
  /** Scale the four services to 0 around maintenance (the seed's "scale down applications to prevent writes"). */
  maintenance: z.strictObject({ scaledDown: z.boolean(), reason: z.string().min(3), confirm: z.string().optional() }).optional(),
  recovery: recoverySchema,
  operations: z.array(operationSchema).default([]),
});

export type WaqitiConfig = z.infer<typeof waqitiSchema>;

export const WAQITI_SECRETS = {
  waqitiPostgresPassword: {
    description: "the password of waqiti_user, the services' database role (the seed's Vault field secret/waqiti/database postgres-password)",
    setWith: "vault kv get -field=postgres-password secret/waqiti/database | pulumi config set --secret --stack <stack> waqitiPostgresPassword",
  },
  waqitiPostgresSuperuserPassword: {
    description: "the password of the postgres superuser (backups, restores and the seed's `psql -U postgres`)",
    setWith: "openssl rand -base64 32 | pulumi config set --secret --stack <stack> waqitiPostgresSuperuserPassword",
  },
  waqitiJwtSecret: {
    description: "the JWT signing secret (the seed's Vault field secret/waqiti/auth jwt-secret)",
    setWith: "vault kv get -field=jwt-secret secret/waqiti/auth | pulumi config set --secret --stack <stack> waqitiJwtSecret",
  },
  waqitiStripeApiKey: {
    description: "the Stripe API key (the seed's Vault field secret/waqiti/payment stripe-api-key)",
    setWith: "vault kv get -field=stripe-api-key secret/waqiti/payment | pulumi config set --secret --stack <stack> waqitiStripeApiKey",
  },
  waqitiPaystackApiKey: {
    description: "the Paystack API key (the seed's Vault field secret/waqiti/payment paystack-api-key)",
    setWith: "vault kv get -field=paystack-api-key secret/waqiti/payment | pulumi config set --secret --stack <stack> waqitiPaystackApiKey",
  },
  waqitiBackupEncryptionKey: {
    description: "the backup encryption key, the content of the seed's /etc/waqiti/backup-encryption.key (keep a copy outside the cluster: restores need it)",
    setWith: "pulumi config set --secret --stack <stack> waqitiBackupEncryptionKey < /etc/waqiti/backup-encryption.key",
  },
  waqitiPgbackrestCipherPass: {
    description: "the pgBackRest repository encryption passphrase (backups.pitr only; keep a copy outside the cluster: restores need it)",
    setWith: "openssl rand -base64 48 | tr -d '\\n' | pulumi config set --secret --stack <stack> waqitiPgbackrestCipherPass",
  },
  waqitiBackupAccessKey: {
    description: "the access key id that may write and read the backup bucket",
    setWith: "pulumi config set --secret --stack <stack> waqitiBackupAccessKey AKIA...",
  },
  waqitiBackupSecretKey: {
    description: "the secret access key of waqitiBackupAccessKey",
    setWith: "pulumi config set --secret --stack <stack> waqitiBackupSecretKey < backup-secret-key.txt",
  },
} as const satisfies Record<string, SecretSpec>;

/** The seed's Vault fields (Step 2) of the secrets Vault can provide. */
export const WAQITI_VAULT_FIELDS: Partial<Record<keyof typeof WAQITI_SECRETS, { path: string; field: string }>> = {
  waqitiPostgresPassword: { path: "secret/waqiti/database", field: "postgres-password" },
  waqitiJwtSecret: { path: "secret/waqiti/auth", field: "jwt-secret" },
  waqitiStripeApiKey: { path: "secret/waqiti/payment", field: "stripe-api-key" },
  waqitiPaystackApiKey: { path: "secret/waqiti/payment", field: "paystack-api-key" },
};

/** The claim of the database out of service while recovery.database is set: the old live one after the cutover, the restored one before it. */
export function waqitiDiscardableClaim(cfg: WaqitiConfig): string | undefined {
  const d = cfg.recovery.database;
  if (!d) return undefined;
  return d.cutover ? "data-postgres-0" : `data-postgres-${d.label}-0`;
}

export function waqitiProblems(cfg: WaqitiConfig, stack: string): Problem[] {
  const problems: Problem[] = [...duplicateOperationIds(cfg.operations)];
  const r = cfg.recovery;
  if (cfg.backups.pitr && cfg.backups.pitr.bucket === cfg.backups.bucket) {
    problems.push({
      path: "backups.pitr.bucket",
      message: `is backups.bucket: pgBackRest's objects (pg_data/postgresql.conf ...) would match the seed's \`aws s3 ls --recursive | grep postgresql | sort | tail -1\` and could be picked as the newest dump; name a bucket of its own (example: ${cfg.backups.bucket.replace(/backups?/, "pitr")})`,
    });
  }
  if (cfg.maintenance?.scaledDown) {
    problems.push(...requireConfirm(stack, "waqiti", "scale-down", cfg.maintenance.confirm, "maintenance.confirm", "scaling the four services to 0 takes the payment platform offline"));
  }
  if (r.database) {
    if (r.database.cutover) {
      problems.push(...requireConfirm(stack, "waqiti", "database-cutover", r.database.confirm, "recovery.database.confirm", `moving the postgres Service to postgres-${r.database.label} makes the restored database the live one`));
    }
    if (r.database.pointInTime !== undefined && !cfg.backups.pitr) {
      problems.push({ path: "recovery.database.pointInTime", message: "needs WAL archiving: set backups.pitr (example: pitr: {bucket: waqiti-pitr-prod}), or restore a dump with backup: latest" });
    }
    if (r.database.pointInTime !== undefined && r.database.backup !== undefined) {
      problems.push({ path: "recovery.database.backup", message: "names a dump, but pointInTime restores from pgBackRest: keep one of them (example: pointInTime: latest)" });
    }
    const claim = r.database.deleteClaim;
    if (claim) {
      // The claim of the database NOT in service: the old live one after the cutover, the restored one before it (a
      // restore that is not wanted). Its StatefulSet is retired (0 replicas) before the claim is deleted.
      const notLive = waqitiDiscardableClaim(cfg)!;
      if (claim.name !== notLive) {
        problems.push({
          path: "recovery.database.deleteClaim.name",
          message: `"${claim.name}" is not the claim of the database out of service, the only one this switch may delete (${r.database.cutover ? "after the cutover" : "before a cutover"}: ${notLive}; example: ${notLive})`,
        });
      }
      // On every stack, not only prod: deleting a volume claim loses its data for good, and the value names the claim.
      const token = `${stack}/waqiti/delete-claim/${claim.name}`;
      if (claim.confirm !== token) {
        problems.push({ path: "recovery.database.deleteClaim.confirm", message: `${claim.confirm === undefined ? "is missing" : `${JSON.stringify(claim.confirm)} is not the confirmation`}: deleting the claim ${claim.name} deletes its volume and the data on it; to proceed set it to "${token}"` });
      }
    }
  }
  if (r.redis) problems.push(...requireConfirm(stack, "waqiti", "redis-restore", r.redis.confirm, "recovery.redis.confirm", "restoring Redis replaces its data with the backup's (Redis is restarted)"));
  if (r.fullSystem) {
    problems.push(...requireConfirm(stack, "waqiti", "full-system-recovery", r.fullSystem.confirm, "recovery.fullSystem.confirm", "a full-system recovery restores PostgreSQL and Redis from backups into this cluster"));
    if (r.database || r.redis) {
      problems.push({ path: "recovery.fullSystem", message: "restores PostgreSQL and Redis itself; remove recovery.database and recovery.redis (example: recovery: {fullSystem: {label: r1}})" });
    }
  }
  if (r.restart && new Set(r.restart.services).size !== r.restart.services.length) {
    problems.push({ path: "recovery.restart.services", message: "names a service twice (example: [payment-service])" });
  }
  return problems;
}
