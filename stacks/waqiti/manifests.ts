// Every Kubernetes object Waqiti declares, as plain manifests built from the stack config (pure: no Pulumi resources,
// no secret values). Typed with @pulumi/kubernetes's input types, so `tsc` holds them to the provider's schema; the
// tests validate each against the Kubernetes OpenAPI schemas (kubernetes-models). declare.ts only turns them into
// resources, stage after stage.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as k8s from "@pulumi/kubernetes";
import { waqitiDiscardableClaim, type WaqitiConfig } from "./config";
import {
  POSTGRES_UID,
  WAQITI_PITR_PATHS,
  waqitiPgbackrestConf,
  waqitiPitrImage,
  waqitiPitrRestoreScript,
  waqitiPitrSchedules,
  waqitiPitrVerifyScript,
  waqitiPostgresArgs,
  waqitiStanza,
  type WaqitiPitr,
} from "./pitr";
import { waqitiNetworkPolicies } from "./networkPolicies";
import {
  POD_LABELS,
  POSTGRES_PORT,
  REDIS_PORT,
  WAQITI_APP_LABEL,
  WAQITI_HEALTH_PATH,
  WAQITI_HTTP_PORT,
  WAQITI_SERVICE_NAMES,
  WAQITI_SERVICE_NEEDS,
  waqitiGraph,
  type WaqitiGraph,
  type WaqitiServiceName,
} from "./services";

type Container = k8s.types.input.core.v1.Container;
type PodSpec = k8s.types.input.core.v1.PodSpec;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;
type JobSpec = k8s.types.input.batch.v1.JobSpec;

/**
 * The order a whole system comes up in (Complete System Recovery, step by step): each stage's resources wait for the
 * previous stage's, and the provider waits for each to be ready (StatefulSets and Deployments ready, Jobs complete).
 */
export const WAQITI_STAGES = ["namespace", "policies", "rbac", "secrets", "config", "data", "restore", "cutover", "apps", "operations"] as const;
export type WaqitiStage = (typeof WAQITI_STAGES)[number];

export type ManifestKind =
  | "Namespace"
  | "NetworkPolicy"
  | "ServiceAccount"
  | "Role"
  | "RoleBinding"
  | "Secret"
  | "ConfigMap"
  | "Service"
  | "StatefulSet"
  | "Deployment"
  | "PodDisruptionBudget"
  | "Ingress"
  | "CronJob"
  | "Job";

export interface PlannedManifest {
  kind: ManifestKind;
  stage: WaqitiStage;
  /** The manifest; a Secret's `stringData` holds the names of the secrets that fill it (declare.ts), never values. */
  manifest: { apiVersion: string; kind: ManifestKind; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, unknown>;
  /** Secret only: stringData key -> how its value is made from Pulumi secrets (declare.ts). */
  secretValues?: Record<string, SecretValue>;
  /** Stateful: protected on protected stacks (its deletion loses data: the namespace holds the volume claims). */
  stateful?: boolean;
  /** A one-shot Job: never re-run because its text changed while its switch stays in the stack file. */
  once?: boolean;
  /** The runbook procedure this object carries out (shown in the plan as the annotation lazarus.io/runbook-procedure). */
  procedure?: string;
}

/** How a Secret key's value is made: one Pulumi secret, or the s3cmd config file from the bucket's credentials. */
export type SecretValue =
  | { secret: string }
  | { s3cmdConfig: { accessKey: string; secretKey: string; endpoint: string; region: string } }
  | { pgbackrestSecrets: { cipherPass: string; s3Key: string; s3KeySecret: string } }
  | { plain: string };

const SCRIPTS_ROOT = "/opt/lazarus/scripts";
const SECRETS_ROOT = "/etc/waqiti/secrets";
/** The seed's key path: `-pass file:/etc/waqiti/backup-encryption.key`. */
export const BACKUP_KEY_PATH = "/etc/waqiti/backup-encryption.key";
const S3CMD_CONFIG_PATH = "/etc/waqiti/s3/s3cfg";
/** The provider's await timeout (`pulumi.com/timeoutSeconds`): the seed's `--timeout` for each kind of wait. */
export const WAQITI_TIMEOUTS = { postgres: 600, redis: 300, apps: 600, restore: 3600, job: 1800, pitrBackup: 4 * 3600 } as const;

/** The seed's Secret names and keys. */
export const WAQITI_SECRET_OBJECTS = {
  database: { name: "waqiti-database-secrets", keys: { "postgres-username": null, "postgres-password": "waqitiPostgresPassword" } },
  jwt: { name: "waqiti-jwt-secrets", keys: { "jwt-secret": "waqitiJwtSecret" } },
  apiKeys: { name: "waqiti-api-keys", keys: { "stripe-api-key": "waqitiStripeApiKey", "paystack-api-key": "waqitiPaystackApiKey" } },
  postgresAdmin: { name: "waqiti-postgres-admin", keys: { password: "waqitiPostgresSuperuserPassword" } },
  backupKey: { name: "waqiti-backup-encryption", keys: { "backup-encryption.key": "waqitiBackupEncryptionKey" } },
  backupStorage: { name: "waqiti-backup-storage", keys: { s3cfg: null } },
  /** backups.pitr: pgBackRest's include file (repo1-cipher-pass, repo1-s3-key, repo1-s3-key-secret). */
  pgbackrest: { name: "waqiti-pgbackrest-secrets", keys: { "secrets.conf": null } },
} as const;

const timeout = (seconds: number) => ({ "pulumi.com/timeoutSeconds": String(seconds) });
const meta = (name: string, namespace: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => ({
  name,
  namespace,
  labels: { "app.kubernetes.io/part-of": "waqiti", "app.kubernetes.io/managed-by": "lazarus", ...labels },
  ...(Object.keys(annotations).length ? { annotations } : {}),
});

function resources(r: WaqitiConfig["services"][WaqitiServiceName]["resources"]): k8s.types.input.core.v1.ResourceRequirements {
  return { requests: { cpu: r.cpuRequest, memory: r.memoryRequest }, limits: { cpu: r.cpuLimit, memory: r.memoryLimit } };
}

const secretVolume = (volumeName: string, secretName: string, items?: { key: string; path: string }[]): Volume => ({
  name: volumeName,
  secret: { secretName, defaultMode: 0o400, ...(items ? { items } : {}) },
});

/** The scripts the backup and restore jobs run, from this repository, in one ConfigMap (mounted at SCRIPTS_ROOT). */
const SCRIPT_FILES = {
  "common.sh": "lib/common.sh",
  "lib-pg.sh": "backup/lib-pg.sh",
  "waqiti-backup.sh": "backup/waqiti-backup.sh",
  "waqiti-restore.sh": "backup/waqiti-restore.sh",
  // backups.pitr: run inside the postgres container by the full/differential CronJobs (kubectl exec)
  "pitr-backup.sh": "backup/pitr-backup.sh",
  "lib-pitr.sh": "backup/lib-pitr.sh", // sourced by pitr-backup.sh
} as const;
function scriptsConfigMapData(): Record<string, string> {
  const root = join(__dirname, "..", "..", "scripts");
  return Object.fromEntries(Object.values(SCRIPT_FILES).map((p) => [p.split("/")[1], readFileSync(join(root, p), "utf8")]));
}
const scriptsVolume: Volume = { name: "scripts", configMap: { name: "waqiti-backup-scripts", defaultMode: 0o555, items: Object.entries(SCRIPT_FILES).map(([key, path]) => ({ key, path })) } };

/** The tools container of the backup, restore and verification jobs: the bucket, the key and the scripts mounted. */
function toolsContainer(cfg: WaqitiConfig, name: string, args: string[], env: Record<string, string>, extraMounts: VolumeMount[] = []): Container {
  const b = cfg.backups;
  return {
    name,
    image: b.image,
    command: ["bash", `${SCRIPTS_ROOT}/${args[0]}`],
    args: args.slice(1),
    env: Object.entries({
      S3_URL: `s3://${b.bucket}/`,
      S3_ENDPOINT: b.endpoint,
      S3_REGION: b.region,
      S3CMD_CONFIG: S3CMD_CONFIG_PATH,
      BACKUP_KEY_FILE: BACKUP_KEY_PATH,
      WORK_DIR: "/work",
      ...env,
    }).map(([n, value]) => ({ name: n, value })),
    volumeMounts: [
      { name: "scripts", mountPath: SCRIPTS_ROOT, readOnly: true },
      { name: "backup-key", mountPath: BACKUP_KEY_PATH, subPath: "backup-encryption.key", readOnly: true },
      { name: "backup-storage", mountPath: "/etc/waqiti/s3", readOnly: true },
      { name: "work", mountPath: "/work" },
      ...extraMounts,
    ],
    securityContext: { allowPrivilegeEscalation: false },
  };
}
const toolsVolumes = (): Volume[] => [
  scriptsVolume,
  secretVolume("backup-key", WAQITI_SECRET_OBJECTS.backupKey.name),
  secretVolume("backup-storage", WAQITI_SECRET_OBJECTS.backupStorage.name),
  { name: "work", emptyDir: {} },
];

const postgresEnv = (cfg: WaqitiConfig, host: string): Record<string, string> => ({
  PGHOST: host,
  PGPORT: String(POSTGRES_PORT),
  PGUSER: "postgres",
  PGDATABASE: cfg.postgres.database,
  PG_PASSWORD_FILE: `${SECRETS_ROOT}/postgres-admin/password`,
});
const postgresAdminMount: VolumeMount = { name: "postgres-admin", mountPath: `${SECRETS_ROOT}/postgres-admin`, readOnly: true };

/** The backup job's pod (CronJob and backup-now). No service-account token: it calls no Kubernetes API. */
export function backupJobSpec(cfg: WaqitiConfig): JobSpec {
  return {
    activeDeadlineSeconds: cfg.backups.deadlineMinutes * 60,
    backoffLimit: 1,
    template: {
      metadata: { labels: { ...POD_LABELS.backup } },
      spec: {
        serviceAccountName: "waqiti-backup",
        automountServiceAccountToken: false,
        restartPolicy: "Never",
        containers: [toolsContainer(cfg, "backup", ["backup/waqiti-backup.sh"], { ...postgresEnv(cfg, "postgres"), REDIS_HOST: "redis", REDIS_PORT: String(REDIS_PORT) }, [postgresAdminMount])],
        volumes: [...toolsVolumes(), secretVolume("postgres-admin", WAQITI_SECRET_OBJECTS.postgresAdmin.name)],
      },
    },
  };
}

/** The pgBackRest pieces of a PostgreSQL pod (backups.pitr): the image, its mounts, its environment. */
function pitrPodParts(cfg: WaqitiConfig) {
  const mounts: VolumeMount[] = [
    { name: "pgbackrest-conf", mountPath: WAQITI_PITR_PATHS.configDir, readOnly: true },
    { name: "pgbackrest-secrets", mountPath: WAQITI_PITR_PATHS.includeDir, readOnly: true },
    { name: "pgbackrest-spool", mountPath: WAQITI_PITR_PATHS.spoolDir },
    { name: "pgbackrest-log", mountPath: WAQITI_PITR_PATHS.logDir },
  ];
  const volumes: Volume[] = [
    { name: "pgbackrest-conf", configMap: { name: "waqiti-pgbackrest" } },
    // 0440 and the pod's fsGroup: readable by the postgres group, which pgBackRest runs as.
    { name: "pgbackrest-secrets", secret: { secretName: WAQITI_SECRET_OBJECTS.pgbackrest.name, defaultMode: 0o440 } },
    // The async archive queue holds only status files (a segment leaves pg_wal only once pushed): losing it loses nothing.
    { name: "pgbackrest-spool", emptyDir: {} },
    { name: "pgbackrest-log", emptyDir: {} },
  ];
  // Every pgbackrest run in the container (archive_command, kubectl exec of pitr-backup.sh, restore_command) finds them.
  const env = [
    { name: "PGBACKREST_CONFIG", value: WAQITI_PITR_PATHS.configFile },
    { name: "PGBACKREST_CONFIG_INCLUDE_PATH", value: WAQITI_PITR_PATHS.includeDir },
  ];
  return { image: waqitiPitrImage(cfg).image, mounts, volumes, env };
}

/**
 * A PostgreSQL StatefulSet: `postgres` (the live one, instance "live") or `postgres-<label>` (a restore beside it).
 * With backups.pitr it runs the image with pgBackRest and archives to its stanza; `pitrRestore` restores the live
 * stanza's backup plus WAL into its empty data directory first (an init container, once).
 */
function postgresStatefulSet(
  cfg: WaqitiConfig,
  ns: string,
  name: string,
  instance: string,
  replicas: number,
  pitr?: { config: WaqitiPitr; pitrRestore?: string },
): k8s.types.input.apps.v1.StatefulSet {
  const p = cfg.postgres;
  const labels = { ...POD_LABELS.postgres, "waqiti.io/instance": instance };
  const withPitr = pitr ? pitrPodParts(cfg) : undefined;
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta(name, ns, labels, timeout(WAQITI_TIMEOUTS.postgres)),
    spec: {
      serviceName: `${name}-headless`,
      replicas,
      selector: { matchLabels: labels },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { fsGroup: POSTGRES_UID },
          ...(withPitr && pitr?.pitrRestore
            ? {
                initContainers: [
                  {
                    name: "pitr-restore",
                    image: withPitr.image,
                    command: ["bash", "-c", waqitiPitrRestoreScript(pitr.pitrRestore)],
                    env: [{ name: "PGDATA", value: WAQITI_PITR_PATHS.dataDir }, ...withPitr.env],
                    securityContext: { runAsUser: POSTGRES_UID, runAsGroup: POSTGRES_UID, allowPrivilegeEscalation: false },
                    volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql/data" }, ...withPitr.mounts],
                  },
                ],
              }
            : {}),
          containers: [
            {
              name: "postgres",
              image: withPitr?.image ?? p.image,
              ...(pitr ? { args: waqitiPostgresArgs(cfg, pitr.config, waqitiStanza(instance)) } : {}),
              ports: [{ name: "postgres", containerPort: POSTGRES_PORT }],
              env: [
                { name: "POSTGRES_DB", value: p.database },
                { name: "POSTGRES_USER", value: "postgres" },
                // The official image reads the password from the file: it never sits in the container's environment.
                { name: "POSTGRES_PASSWORD_FILE", value: `${SECRETS_ROOT}/postgres-admin/password` },
                { name: "WAQITI_APP_USER", value: p.username },
                { name: "WAQITI_APP_PASSWORD_FILE", value: `${SECRETS_ROOT}/database/postgres-password` },
                { name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" },
                ...(withPitr?.env ?? []),
              ],
              readinessProbe: { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-U", "postgres", "-d", p.database] }, periodSeconds: 10, failureThreshold: 3 },
              livenessProbe: { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-U", "postgres"] }, initialDelaySeconds: 30, periodSeconds: 20, failureThreshold: 6 },
              resources: resources(p.resources),
              volumeMounts: [
                { name: "data", mountPath: "/var/lib/postgresql/data" },
                postgresAdminMount,
                { name: "database", mountPath: `${SECRETS_ROOT}/database`, readOnly: true },
                { name: "init", mountPath: "/docker-entrypoint-initdb.d", readOnly: true },
                ...(withPitr ? [...withPitr.mounts, { name: "scripts", mountPath: SCRIPTS_ROOT, readOnly: true }] : []),
              ],
            },
          ],
          volumes: [
            secretVolume("postgres-admin", WAQITI_SECRET_OBJECTS.postgresAdmin.name),
            secretVolume("database", WAQITI_SECRET_OBJECTS.database.name),
            { name: "init", configMap: { name: "waqiti-postgres-init", defaultMode: 0o555 } },
            ...(withPitr ? [...withPitr.volumes, scriptsVolume] : []),
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], ...(p.storageClass ? { storageClassName: p.storageClass } : {}), resources: { requests: { storage: p.storage } } },
        },
      ],
    },
  };
}

/** Creates the services' role at the first start of an empty data directory (the official image runs it then only). */
const POSTGRES_INIT_SCRIPT = `#!/bin/bash
# Runs once, when the official image initialises an empty data directory: the services' role, with the password from
# its secret file (never from the environment), owning the database.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username postgres --dbname "$POSTGRES_DB" -v db="$POSTGRES_DB" -v user="$WAQITI_APP_USER" -v password="$(cat "$WAQITI_APP_PASSWORD_FILE")" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password';
ALTER DATABASE :"db" OWNER TO :"user";
GRANT ALL ON SCHEMA public TO :"user";
SQL
`;

function statefulService(name: string, ns: string, port: number, selector: Record<string, string>, headless: boolean): k8s.types.input.core.v1.Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(name, ns),
    spec: { ...(headless ? { clusterIP: "None" } : { type: "ClusterIP" }), selector, ports: [{ name: name.replace(/-headless$/, "").split("-")[0], port, targetPort: port }] },
  };
}

export interface WaqitiManifestInput {
  config: WaqitiConfig;
  stack: string;
}

export interface WaqitiManifests {
  graph: WaqitiGraph;
  manifests: PlannedManifest[];
}

/** The image a service runs: the stack's tag, or the rollback's. */
export function serviceImage(cfg: WaqitiConfig, service: WaqitiServiceName): string {
  return `${cfg.images.registry}/${service}:${cfg.recovery.rollback?.[service]?.imageTag ?? cfg.images.tag}`;
}

export function waqitiManifests({ config: cfg }: WaqitiManifestInput): WaqitiManifests {
  const ns = cfg.namespace.name;
  const r = cfg.recovery;
  const out: PlannedManifest[] = [];
  const add = <T extends { kind?: unknown }>(stage: WaqitiStage, manifest: T, extra: Partial<PlannedManifest> = {}) => {
    const m = manifest as unknown as PlannedManifest["manifest"];
    if (extra.procedure) m.metadata.annotations = { ...m.metadata.annotations, "lazarus.io/runbook-procedure": extra.procedure };
    out.push({ stage, kind: manifest.kind as ManifestKind, manifest: m, ...extra });
  };
  // A job's own service account with one Role holding only what that job does, bound to it.
  const accountWithRole = (name: string, rules: k8s.types.input.rbac.v1.PolicyRule[]) => {
    add("rbac", { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(name, ns) } satisfies k8s.types.input.core.v1.ServiceAccount);
    add("rbac", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(name, ns), rules } satisfies k8s.types.input.rbac.v1.Role);
    add("rbac", {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(name, ns),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
    } satisfies k8s.types.input.rbac.v1.RoleBinding);
  };
  const DB_ONLY = "002 2. Database-Only Recovery";

  const redisRestore = r.redis ? { label: r.redis.label, backup: r.redis.backup } : r.fullSystem ? { label: r.fullSystem.label, backup: r.fullSystem.redisBackup } : undefined;
  const graph = waqitiGraph({
    ingressControllerNamespace: cfg.ingress.controllerNamespace,
    keycloak: cfg.external.keycloak,
    kafka: cfg.external.kafka,
    paymentProviders: cfg.external.paymentProviders,
    storage: cfg.backups.storage,
    apiServer: cfg.external.apiServer,
    redisRestores: redisRestore !== undefined,
    postgresArchives: cfg.backups.pitr !== undefined,
  });
  const pitr = cfg.backups.pitr;

  // --- namespace ---------------------------------------------------------------------------------------------------
  add("namespace", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { environment: cfg.namespace.environment, "app.kubernetes.io/part-of": "waqiti", "pod-security.kubernetes.io/enforce": "baseline" } } } satisfies k8s.types.input.core.v1.Namespace, { stateful: true });

  // --- policies ----------------------------------------------------------------------------------------------------
  for (const p of waqitiNetworkPolicies(graph, ns)) add("policies", p);

  // --- RBAC --------------------------------------------------------------------------------------------------------
  // The services and the backup job call no Kubernetes API: their accounts have no role and mount no token.
  for (const sa of ["waqiti-app", "waqiti-backup", "waqiti-restore"]) {
    add("rbac", { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(sa, ns), automountServiceAccountToken: false } satisfies k8s.types.input.core.v1.ServiceAccount);
  }
  // Operators (a group bound by the cluster's identity provider): read everything but Secrets, roll out, scale,
  // exec for the seed's checks, start Jobs (backup now). No Secret reads, no deletes.
  add("rbac", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: meta("waqiti-operator", ns),
    rules: [
      { apiGroups: [""], resources: ["pods", "pods/log", "services", "endpoints", "configmaps", "persistentvolumeclaims", "events"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] },
      { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "replicasets", "controllerrevisions"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["apps"], resources: ["deployments", "deployments/scale", "statefulsets/scale"], verbs: ["patch", "update"] },
      { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["batch"], resources: ["jobs"], verbs: ["create"] },
      { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: ["get", "list", "watch"] },
    ],
  } satisfies k8s.types.input.rbac.v1.Role);
  add("rbac", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: meta("waqiti-operators", ns),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "waqiti-operator" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "waqiti-operators" }],
  } satisfies k8s.types.input.rbac.v1.RoleBinding);
  // The verification job: the seed's `kubectl exec` checks, and nothing else.
  accountWithRole("waqiti-verifier", [
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] },
    { apiGroups: ["apps"], resources: ["deployments", "replicasets"], verbs: ["get", "list"] },
  ]);

  // --- secrets -----------------------------------------------------------------------------------------------------
  const reapplied = r.configuration ? { "lazarus.io/reapplied-at": r.configuration.at } : undefined;
  const CONFIG_RECOVERY = "002 4. Configuration Recovery, steps 2-3 (re-apply)";
  const secret = (o: { name: string; keys: Record<string, string | null> }, values: Record<string, SecretValue>) =>
    add("secrets", { apiVersion: "v1", kind: "Secret", metadata: meta(o.name, ns, {}, reapplied), type: "Opaque", stringData: Object.fromEntries(Object.keys(o.keys).map((k) => [k, `<${k}>`])) }, { secretValues: values, ...(reapplied ? { procedure: CONFIG_RECOVERY } : {}) });
  const fromSecrets = (o: { keys: Record<string, string | null> }) => Object.fromEntries(Object.entries(o.keys).filter(([, s]) => s).map(([k, s]) => [k, { secret: s! }]));
  secret(WAQITI_SECRET_OBJECTS.database, { ...fromSecrets(WAQITI_SECRET_OBJECTS.database), "postgres-username": { plain: cfg.postgres.username } });
  secret(WAQITI_SECRET_OBJECTS.jwt, fromSecrets(WAQITI_SECRET_OBJECTS.jwt));
  secret(WAQITI_SECRET_OBJECTS.apiKeys, fromSecrets(WAQITI_SECRET_OBJECTS.apiKeys));
  secret(WAQITI_SECRET_OBJECTS.postgresAdmin, fromSecrets(WAQITI_SECRET_OBJECTS.postgresAdmin));
  secret(WAQITI_SECRET_OBJECTS.backupKey, fromSecrets(WAQITI_SECRET_OBJECTS.backupKey));
  secret(WAQITI_SECRET_OBJECTS.backupStorage, {
    s3cfg: { s3cmdConfig: { accessKey: "waqitiBackupAccessKey", secretKey: "waqitiBackupSecretKey", endpoint: cfg.backups.endpoint, region: cfg.backups.region } },
  });
  if (pitr) {
    secret(WAQITI_SECRET_OBJECTS.pgbackrest, { "secrets.conf": { pgbackrestSecrets: { cipherPass: "waqitiPgbackrestCipherPass", s3Key: "waqitiBackupAccessKey", s3KeySecret: "waqitiBackupSecretKey" } } });
  }

  // --- config ------------------------------------------------------------------------------------------------------
  const configData = {
    "database.url": `jdbc:postgresql://postgres:${POSTGRES_PORT}/${cfg.postgres.database}`,
    "keycloak.auth-server-url": cfg.external.keycloakUrl,
    "kafka.bootstrap-servers": cfg.external.kafkaBootstrapServers,
    "redis.host": "redis",
    "redis.port": String(REDIS_PORT),
  };
  add("config", { apiVersion: "v1", kind: "ConfigMap", metadata: meta("waqiti-config", ns, {}, reapplied), data: configData } satisfies k8s.types.input.core.v1.ConfigMap, reapplied ? { procedure: CONFIG_RECOVERY } : {});
  add("config", { apiVersion: "v1", kind: "ConfigMap", metadata: meta("waqiti-postgres-init", ns), data: { "10-waqiti-role.sh": POSTGRES_INIT_SCRIPT } } satisfies k8s.types.input.core.v1.ConfigMap);
  add("config", { apiVersion: "v1", kind: "ConfigMap", metadata: meta("waqiti-backup-scripts", ns), data: scriptsConfigMapData() } satisfies k8s.types.input.core.v1.ConfigMap);
  if (pitr) {
    // Every stanza a pod of this stack archives to or restores from: the live one's, and a restored one's.
    const stanzas = [waqitiStanza("live"), ...(r.database ? [waqitiStanza(r.database.label)] : [])];
    add("config", { apiVersion: "v1", kind: "ConfigMap", metadata: meta("waqiti-pgbackrest", ns), data: { "pgbackrest.conf": waqitiPgbackrestConf(cfg, pitr, stanzas) } } satisfies k8s.types.input.core.v1.ConfigMap);
  }

  if (cfg.external.kafkaExternalName) {
    add("config", { apiVersion: "v1", kind: "Service", metadata: meta("kafka", ns), spec: { type: "ExternalName", externalName: cfg.external.kafkaExternalName } } satisfies k8s.types.input.core.v1.Service);
  }

  // --- data stores -------------------------------------------------------------------------------------------------
  const claimToDelete = r.database?.deleteClaim;
  // The database out of service (the old live one after a cutover, the restored one before it) is retired (0
  // replicas) when its claim is to be deleted; the restored one then loses its protection, so a later removal of
  // recovery.database is accepted. The config check holds the claim's name to waqitiDiscardableClaim.
  const discarding = claimToDelete !== undefined && claimToDelete.name === waqitiDiscardableClaim(cfg);
  const discardLive = discarding && r.database!.cutover;
  const discardRestored = discarding && !r.database!.cutover;
  const pitrOf = (pitrRestore?: string) => (pitr ? { config: pitr, ...(pitrRestore ? { pitrRestore } : {}) } : undefined);
  add("data", postgresStatefulSet(cfg, ns, "postgres", "live", discardLive ? 0 : 1, pitrOf()), { stateful: true });
  add("data", statefulService("postgres-headless", ns, POSTGRES_PORT, { ...POD_LABELS.postgres, "waqiti.io/instance": "live" }, true));
  const active = r.database?.cutover ? r.database.label : "live";
  add("data", statefulService("postgres", ns, POSTGRES_PORT, { ...POD_LABELS.postgres, "waqiti.io/instance": active }, false), r.database?.cutover ? { stage: "cutover", procedure: `${DB_ONLY}, step 5 (cutover to postgres-${r.database.label})` } : {});
  if (r.database) {
    const name = `postgres-${r.database.label}`;
    add("data", postgresStatefulSet(cfg, ns, name, r.database.label, discardRestored ? 0 : 1, pitrOf(r.database.pointInTime)), {
      stateful: !discardRestored,
      procedure: discardRestored
        ? `${DB_ONLY}: the restored database discarded (not cut over)`
        : r.database.pointInTime
        ? `${DB_ONLY}, step 5 (a new database beside the live one, restored by pgBackRest to ${r.database.pointInTime})`
        : `${DB_ONLY}, step 5 (a new database beside the live one)`,
    });
    add("data", statefulService(`${name}-headless`, ns, POSTGRES_PORT, { ...POD_LABELS.postgres, "waqiti.io/instance": r.database.label }, true));
    add("data", statefulService(name, ns, POSTGRES_PORT, { ...POD_LABELS.postgres, "waqiti.io/instance": r.database.label }, false));
  }
  add("data", redisStatefulSet(cfg, ns, redisRestore), { stateful: true, ...(redisRestore ? { procedure: "002 1. Step 4: Redis Recovery (restored while Redis is stopped)" } : {}) });
  add("data", statefulService("redis-headless", ns, REDIS_PORT, POD_LABELS.redis, true));
  add("data", statefulService("redis", ns, REDIS_PORT, POD_LABELS.redis, false));

  // --- restores (each a one-shot Job, waiting for its database) ----------------------------------------------------
  const restoreJob = (name: string, host: string, backup: string, procedure: string) =>
    add(
      "restore",
      {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: meta(name, ns, {}, timeout(WAQITI_TIMEOUTS.restore)),
        spec: {
          backoffLimit: 2,
          template: {
            metadata: { labels: { ...POD_LABELS.restore } },
            spec: {
              serviceAccountName: "waqiti-restore",
              automountServiceAccountToken: false,
              restartPolicy: "Never",
              containers: [toolsContainer(cfg, "restore", ["backup/waqiti-restore.sh", "postgres", "--backup", backup], postgresEnv(cfg, host), [postgresAdminMount])],
              volumes: [...toolsVolumes(), secretVolume("postgres-admin", WAQITI_SECRET_OBJECTS.postgresAdmin.name)],
            },
          },
        },
      } satisfies k8s.types.input.batch.v1.Job,
      { once: true, procedure },
    );
  if (r.database && r.database.pointInTime === undefined) restoreJob(`restore-postgres-${r.database.label}`, `postgres-${r.database.label}`, r.database.backup ?? "latest", `${DB_ONLY}, step 6 (restore and verify)`);
  if (r.database?.pointInTime !== undefined) {
    // The physical route: the init container restored it; this Job waits for the end of recovery and reads the seed's counts.
    add(
      "restore",
      {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: meta(`restore-postgres-${r.database.label}`, ns, {}, timeout(WAQITI_TIMEOUTS.restore)),
        spec: {
          backoffLimit: 2,
          activeDeadlineSeconds: WAQITI_TIMEOUTS.restore,
          template: {
            metadata: { labels: { ...POD_LABELS.restore } },
            spec: {
              serviceAccountName: "waqiti-restore",
              automountServiceAccountToken: false,
              restartPolicy: "Never",
              containers: [
                {
                  name: "verify-pitr",
                  image: cfg.backups.image,
                  command: ["bash", "-c", waqitiPitrVerifyScript(WAQITI_TIMEOUTS.restore - 60)],
                  env: Object.entries(postgresEnv(cfg, `postgres-${r.database.label}`)).map(([n, value]) => ({ name: n, value })),
                  volumeMounts: [postgresAdminMount],
                  securityContext: { allowPrivilegeEscalation: false },
                },
              ],
              volumes: [secretVolume("postgres-admin", WAQITI_SECRET_OBJECTS.postgresAdmin.name)],
            },
          },
        },
      } satisfies k8s.types.input.batch.v1.Job,
      { once: true, procedure: `${DB_ONLY}, step 6 (point-in-time restore to ${r.database.pointInTime} verified: out of recovery, the seed's counts)` },
    );
  }
  if (r.fullSystem) restoreJob(`restore-postgres-${r.fullSystem.label}`, "postgres", r.fullSystem.postgresBackup, "002 1. Complete System Recovery from Backup, Step 3 (Database Recovery)");
  if (claimToDelete) {
    // This one claim, by name: the confirmation named it.
    accountWithRole("waqiti-claim-deleter", [{ apiGroups: [""], resources: ["persistentvolumeclaims"], resourceNames: [claimToDelete.name], verbs: ["get", "delete"] }]);
    add(
      "operations",
      {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: meta(`delete-claim-${claimToDelete.name}`.slice(0, 63).replace(/-+$/, ""), ns, {}, timeout(WAQITI_TIMEOUTS.job)),
        spec: {
          backoffLimit: 1,
          template: {
            metadata: { labels: { ...POD_LABELS.operator } },
            spec: {
              serviceAccountName: "waqiti-claim-deleter",
              restartPolicy: "Never",
              containers: [{ name: "delete-claim", image: cfg.kubectlImage, command: ["kubectl", "delete", "pvc", claimToDelete.name, "-n", ns, "--wait=true", "--timeout=600s"] }],
            },
          },
        },
      } satisfies k8s.types.input.batch.v1.Job,
      { once: true, procedure: `${DB_ONLY}, step 4 (remove the old claim ${claimToDelete.name})` },
    );
  }

  // --- apps --------------------------------------------------------------------------------------------------------
  const configSha = sha256(JSON.stringify(configData));
  for (const s of WAQITI_SERVICE_NAMES) {
    const labels = POD_LABELS.service(s);
    const replicas = cfg.maintenance?.scaledDown ? 0 : cfg.services[s].replicas;
    const restartedAt = r.configuration?.at ?? (r.restart?.services.includes(s) ? r.restart.at : undefined);
    const needs = WAQITI_SERVICE_NEEDS[s];
    // Each service mounts only the secrets it uses: the payment providers' keys reach payment-service alone.
    const secrets = [
      ...(needs.includes("postgres") ? [["database", WAQITI_SECRET_OBJECTS.database.name]] : []),
      ["jwt", WAQITI_SECRET_OBJECTS.jwt.name],
      ...(needs.includes("payment-providers") ? [["api-keys", WAQITI_SECRET_OBJECTS.apiKeys.name]] : []),
    ] as [string, string][];
    const rollback = r.rollback?.[s];
    add(
      "apps",
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: meta(s, ns, labels, { ...timeout(WAQITI_TIMEOUTS.apps), ...(rollback ? { "lazarus.io/rollback-reason": rollback.reason } : {}) }),
        spec: {
          replicas,
          revisionHistoryLimit: 10,
          selector: { matchLabels: labels },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: {
              labels,
              annotations: { "lazarus.io/config-sha256": configSha, ...(restartedAt ? { "kubectl.kubernetes.io/restartedAt": restartedAt } : {}) },
            },
            spec: servicePodSpec(cfg, s, secrets),
          },
        },
      } satisfies k8s.types.input.apps.v1.Deployment,
      {
        procedure: [
          rollback && "002 Rollback Procedures: Application Rollback",
          r.configuration && "002 4. Configuration Recovery, step 4 (restart)",
          !r.configuration && r.restart?.services.includes(s) && "002 3. Single Service Recovery, step 5 (rollout restart)",
          cfg.maintenance?.scaledDown && "002 2. Database-Only Recovery, step 1 (scale down)",
        ]
          .filter(Boolean)
          .join("; ") || undefined,
      },
    );
    add("apps", { apiVersion: "v1", kind: "Service", metadata: meta(s, ns, labels), spec: { type: "ClusterIP", selector: labels, ports: [{ name: "http", port: WAQITI_HTTP_PORT, targetPort: "http" }] } } satisfies k8s.types.input.core.v1.Service);
    add("apps", { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: meta(s, ns, labels), spec: { maxUnavailable: 1, selector: { matchLabels: labels } } } satisfies k8s.types.input.policy.v1.PodDisruptionBudget);
  }
  add("apps", {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: meta("waqiti-api", ns),
    spec: {
      ingressClassName: cfg.ingress.className,
      tls: [{ hosts: [cfg.ingress.host], secretName: cfg.ingress.tlsSecretName }],
      rules: [{ host: cfg.ingress.host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "api-gateway", port: { number: WAQITI_HTTP_PORT } } } }] } }],
    },
  } satisfies k8s.types.input.networking.v1.Ingress);
  add("apps", {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: meta("waqiti-backup", ns),
    spec: {
      schedule: cfg.backups.schedule,
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
      jobTemplate: { spec: backupJobSpec(cfg) },
    },
  } satisfies k8s.types.input.batch.v1.CronJob);
  if (pitr) {
    // The full + differential schedule of lib/postgresPitr.ts, run where the data directory is: in the active
    // database's pod (its claim is ReadWriteOnce), by kubectl exec of pitr-backup.sh as the postgres user.
    const active = r.database?.cutover ? r.database.label : "live";
    const pod = (instance: string) => `${instance === "live" ? "postgres" : `postgres-${instance}`}-0`;
    const pods = [pod("live"), ...(r.database ? [pod(r.database.label)] : [])];
    // exec into the database pods by name, nothing else
    accountWithRole("waqiti-pitr-backup", [
      { apiGroups: [""], resources: ["pods"], resourceNames: pods, verbs: ["get"] },
      { apiGroups: [""], resources: ["pods/exec"], resourceNames: pods, verbs: ["create"] },
    ]);
    const pitrBackupJob = (instance: string, type: "full" | "diff"): JobSpec => ({
      activeDeadlineSeconds: WAQITI_TIMEOUTS.pitrBackup,
      backoffLimit: 1,
      template: {
        metadata: { labels: { ...POD_LABELS.pitrBackup } },
        spec: {
          serviceAccountName: "waqiti-pitr-backup",
          restartPolicy: "Never",
          containers: [
            {
              name: `pitr-${type}`,
              image: cfg.kubectlImage,
              command: ["kubectl", "exec", "-n", ns, pod(instance), "-c", "postgres", "--", "gosu", "postgres", "bash", `${SCRIPTS_ROOT}/backup/pitr-backup.sh`, "--stanza", waqitiStanza(instance), "--type", type],
              securityContext: { allowPrivilegeEscalation: false },
            },
          ],
        },
      },
    });
    for (const { type, schedule } of waqitiPitrSchedules(pitr)) {
      add("apps", {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: meta(`waqiti-pitr-${type}`, ns),
        spec: { schedule, timeZone: "Etc/UTC", concurrencyPolicy: "Forbid", startingDeadlineSeconds: 3600, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 5, jobTemplate: { spec: pitrBackupJob(active, type) } },
      } satisfies k8s.types.input.batch.v1.CronJob);
    }
    // The live database's first full backup as soon as archiving is on (it creates the stanza: until then every
    // archive_command fails and WAL piles up in pg_wal), not at the next scheduled run a day later.
    add(
      "apps",
      { apiVersion: "batch/v1", kind: "Job", metadata: meta("pitr-first-full", ns, {}, timeout(WAQITI_TIMEOUTS.pitrBackup)), spec: pitrBackupJob("live", "full") } satisfies k8s.types.input.batch.v1.Job,
      { once: true, procedure: "002 RPO: WAL archiving of postgres to stanza waqiti (first full backup)" },
    );
    if (r.database && !discardRestored) {
      // A restored database archives to its own stanza: its first full backup creates the stanza and gives it a base
      // to restore from, right after the restore (it waits for the restore stage).
      add(
        "cutover",
        { apiVersion: "batch/v1", kind: "Job", metadata: meta(`pitr-first-full-${r.database.label}`, ns, {}, timeout(WAQITI_TIMEOUTS.pitrBackup)), spec: pitrBackupJob(r.database.label, "full") } satisfies k8s.types.input.batch.v1.Job,
        { once: true, procedure: `${DB_ONLY}: WAL archiving of postgres-${r.database.label} to stanza ${waqitiStanza(r.database.label)} (first full backup)` },
      );
    }
  }

  // --- operations (one-shot Jobs, by id) ---------------------------------------------------------------------------
  for (const op of cfg.operations) {
    const name = `${op.action}-${op.id}`.slice(0, 63).replace(/-+$/, "");
    let spec: JobSpec;
    if (op.action === "backup-now") spec = backupJobSpec(cfg);
    else if (op.action === "verify-backup") spec = verifyBackupJobSpec(cfg);
    else spec = verifyJobSpec(cfg, ns);
    const procedure = { verify: "002 1. Steps 5.4, 6, 7: verification", "backup-now": "002 RPO: backup now", "verify-backup": "002 Post-Recovery: test backup systems" }[op.action];
    add("operations", { apiVersion: "batch/v1", kind: "Job", metadata: meta(name, ns, {}, timeout(WAQITI_TIMEOUTS.job)), spec } satisfies k8s.types.input.batch.v1.Job, { once: true, procedure });
  }
  return { graph, manifests: out };
}

function servicePodSpec(cfg: WaqitiConfig, s: WaqitiServiceName, secrets: [string, string][]): PodSpec {
  return {
    serviceAccountName: "waqiti-app",
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: s,
        image: serviceImage(cfg, s),
        ports: [{ name: "http", containerPort: WAQITI_HTTP_PORT }],
        env: [
          { name: "SERVER_PORT", value: String(WAQITI_HTTP_PORT) },
          { name: "SPRING_PROFILES_ACTIVE", value: cfg.namespace.environment },
          // Spring Boot's config tree: each file a property (database.url, jwt-secret, ...); no secret in the environment.
          { name: "SPRING_CONFIG_IMPORT", value: `optional:configtree:/etc/waqiti/config/,optional:configtree:${SECRETS_ROOT}/*/` },
        ],
        // Ready on the seed's health endpoint; alive on the liveness group, which a database outage does not fail (a
        // restart would not fix it); given up to 5 minutes to start.
        readinessProbe: { httpGet: { path: WAQITI_HEALTH_PATH, port: "http" }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
        livenessProbe: { httpGet: { path: `${WAQITI_HEALTH_PATH}/liveness`, port: "http" }, periodSeconds: 20, timeoutSeconds: 3, failureThreshold: 3 },
        startupProbe: { httpGet: { path: `${WAQITI_HEALTH_PATH}/liveness`, port: "http" }, periodSeconds: 10, failureThreshold: 30 },
        resources: resources(cfg.services[s].resources),
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        volumeMounts: [
          { name: "config", mountPath: "/etc/waqiti/config", readOnly: true },
          ...secrets.map(([v]) => ({ name: `secret-${v}`, mountPath: `${SECRETS_ROOT}/${v}`, readOnly: true })),
          { name: "tmp", mountPath: "/tmp" },
        ],
      },
    ],
    volumes: [
      { name: "config", configMap: { name: "waqiti-config" } },
      ...secrets.map(([v, secretName]) => secretVolume(`secret-${v}`, secretName)),
      { name: "tmp", emptyDir: {} },
    ],
  };
}

function redisStatefulSet(cfg: WaqitiConfig, ns: string, restore: { label: string; backup: string } | undefined): k8s.types.input.apps.v1.StatefulSet {
  const labels = { ...POD_LABELS.redis };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta("redis", ns, labels, timeout(WAQITI_TIMEOUTS.redis)),
    spec: {
      serviceName: "redis-headless",
      replicas: 1,
      selector: { matchLabels: labels },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      template: {
        metadata: { labels, ...(restore ? { annotations: { "lazarus.io/redis-restore": `${restore.label}: ${restore.backup}` } } : {}) },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { fsGroup: 999 },
          // Restore while Redis is stopped: the init container runs before redis-server, once per label (a marker in
          // /data), so Redis loads the restored dump.rdb and its own shutdown save cannot overwrite it.
          ...(restore
            ? {
                initContainers: [
                  toolsContainer(cfg, "restore-redis", ["backup/waqiti-restore.sh", "redis", "--backup", restore.backup, "--data-dir", "/data", "--label", restore.label], {}, [{ name: "data", mountPath: "/data" }]),
                ],
              }
            : {}),
          containers: [
            {
              name: "redis",
              image: cfg.redis.image,
              // RDB snapshots only (no AOF): what the seed backs up and restores is dump.rdb, and with AOF on Redis
              // would load the AOF and ignore a restored dump.rdb.
              args: ["redis-server", "--dir", "/data", "--appendonly", "no", "--save", "900 1 300 10 60 10000"],
              ports: [{ name: "redis", containerPort: REDIS_PORT }],
              readinessProbe: { exec: { command: ["redis-cli", "ping"] }, periodSeconds: 10 },
              livenessProbe: { exec: { command: ["redis-cli", "ping"] }, initialDelaySeconds: 15, periodSeconds: 20, failureThreshold: 6 },
              resources: resources(cfg.redis.resources),
              volumeMounts: [{ name: "data", mountPath: "/data" }],
            },
          ],
          volumes: restore ? toolsVolumes() : [],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], ...(cfg.redis.storageClass ? { storageClassName: cfg.redis.storageClass } : {}), resources: { requests: { storage: cfg.redis.storage } } },
        },
      ],
    },
  };
}

/** verify-backup: the latest backup restored into a scratch PostgreSQL inside the Job's pod (a native sidecar), never the live one. */
function verifyBackupJobSpec(cfg: WaqitiConfig): JobSpec {
  return {
    activeDeadlineSeconds: WAQITI_TIMEOUTS.restore,
    backoffLimit: 0,
    template: {
      metadata: { labels: { ...POD_LABELS.restore } },
      spec: {
        serviceAccountName: "waqiti-restore",
        automountServiceAccountToken: false,
        restartPolicy: "Never",
        initContainers: [
          {
            name: "scratch-postgres",
            image: cfg.postgres.image,
            restartPolicy: "Always",
            // Reachable only inside the pod: the pod's NetworkPolicy admits no ingress.
            env: [
              { name: "POSTGRES_HOST_AUTH_METHOD", value: "trust" },
              { name: "POSTGRES_DB", value: cfg.postgres.database },
              { name: "WAQITI_APP_USER", value: cfg.postgres.username },
              { name: "WAQITI_APP_PASSWORD_FILE", value: "/dev/null" },
            ],
            readinessProbe: { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-U", "postgres"] }, periodSeconds: 5 },
            volumeMounts: [{ name: "init", mountPath: "/docker-entrypoint-initdb.d", readOnly: true }],
          },
        ],
        containers: [toolsContainer(cfg, "verify-backup", ["backup/waqiti-restore.sh", "postgres", "--backup", "latest"], { PGHOST: "127.0.0.1", PGUSER: "postgres", PGDATABASE: cfg.postgres.database })],
        volumes: [...toolsVolumes(), { name: "init", configMap: { name: "waqiti-postgres-init", defaultMode: 0o555 } }],
      },
    },
  };
}

/** The seed's verification commands (steps 5.3-5.4, 6, 7 and the Database Recovery counts), run as written with kubectl. */
export function verifyScript(cfg: WaqitiConfig, ns: string): string {
  const kafka = cfg.external.kafkaBootstrapServers.split(",")[0].split(":");
  const lines = [
    "set -eu",
    `kubectl wait --for=condition=ready pod -l app=${WAQITI_APP_LABEL} --timeout=600s -n ${ns}`,
    ...WAQITI_SERVICE_NAMES.filter((s) => s !== "api-gateway").map((s) => `kubectl exec -n ${ns} deployment/api-gateway -- curl -fsS http://${s}:${WAQITI_HTTP_PORT}${WAQITI_HEALTH_PATH}`),
    ...WAQITI_SERVICE_NAMES.map((s) => `kubectl exec -n ${ns} deployment/${s} -- curl -fsS http://localhost:${WAQITI_HTTP_PORT}${WAQITI_HEALTH_PATH}`),
    // the seed's postgres-0, or the restored database's pod once the Service was cut over to it
    ...["users", "transactions", "wallets"].map((t) => `kubectl exec ${cfg.recovery.database?.cutover ? `postgres-${cfg.recovery.database.label}-0` : "postgres-0"} -n ${ns} -- psql -U postgres -d ${cfg.postgres.database} -c "SELECT COUNT(*) FROM ${t};"`),
    ...Object.values(cfg.external.paymentProviders).map((p) => `kubectl exec -n ${ns} deployment/payment-service -- curl -sSI ${p.url}`),
    `kubectl exec -n ${ns} deployment/api-gateway -- curl -fsS ${cfg.external.keycloakUrl.replace(/\/$/, "")}/auth/realms/waqiti`,
    `kubectl exec -n ${ns} deployment/payment-service -- nc -z ${kafka[0]} ${kafka[1]}`,
    "echo 'all verification checks passed'",
  ];
  return lines.join("\n");
}

function verifyJobSpec(cfg: WaqitiConfig, ns: string): JobSpec {
  return {
    activeDeadlineSeconds: WAQITI_TIMEOUTS.job,
    backoffLimit: 0,
    template: {
      metadata: { labels: { ...POD_LABELS.operator } },
      spec: {
        serviceAccountName: "waqiti-verifier",
        restartPolicy: "Never",
        containers: [{ name: "verify", image: cfg.kubectlImage, command: ["bash", "-c", verifyScript(cfg, ns)], securityContext: { allowPrivilegeEscalation: false } }],
      },
    },
  };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
