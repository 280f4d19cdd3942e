// The Waqiti operator runbook (Markdown), generated from the same data the stack deploys from: the services and the
// dependency graph (./services.ts), the stack config (replicas, images, schedule, bucket) and the switches' own schema
// (./config.ts). `npm run plan -- --out plan/` writes it, and `pulumi up` ships it into the namespace as the ConfigMap
// `waqiti-runbook` (`kubectl get configmap waqiti-runbook -n waqiti -o jsonpath='{.data.RUNBOOK\.md}'`).
// Every stack-config snippet in it is valid against the schema (test/stacks/waqiti/runbook.test.ts plans them).
import { stringify } from "yaml";
import { confirmationToken, isProtectedStack } from "../../config/checks";
import { defineInventory, rollingRestartOrder, startOrder, stopOrder, type ServiceSpec } from "../../lib/inventory";
import { renderRunbook, type RunbookSwitch } from "../../renderers/runbookDoc";
import { WAQITI_OPERATION_ACTIONS, type WaqitiConfig } from "./config";
import { BACKUP_KEY_PATH, WAQITI_STAGES, serviceImage } from "./manifests";
import { POSTGRES_PORT, REDIS_PORT, WAQITI_HEALTH_PATH, WAQITI_HTTP_PORT, WAQITI_SERVICE_NAMES, type WaqitiGraph } from "./services";
import { waqitiArchiveTimeoutSeconds, waqitiPitrImage, waqitiPitrSchedules } from "./pitr";

/** "500m" -> 0.5, "2" -> 2; "768Mi" -> 768, "1Gi" -> 1024 (for the services table). */
const cpus = (q: string) => (q.endsWith("m") ? Number(q.slice(0, -1)) / 1000 : Number(q));
const mib = (q: string) => (q.endsWith("Gi") ? Number(q.slice(0, -2)) * 1024 : q.endsWith("Mi") ? Number(q.slice(0, -2)) : Math.round(Number(q.replace(/[A-Za-z]+$/, "")) / 1048576));

/** A snippet for Pulumi.<stack>.yaml: the given keys under config -> lazarus:waqiti. */
export function waqitiSnippet(stack: string, waqiti: Record<string, unknown>): string {
  return [`# Pulumi.${stack}.yaml`, stringify({ config: { "lazarus:waqiti": waqiti } }, { lineWidth: 0 }).trimEnd()].join("\n");
}

export function waqitiRunbookMarkdown(cfg: WaqitiConfig, stack: string, graph: WaqitiGraph, worstCaseDataLossMinutes: number): string {
  const ns = cfg.namespace.name;
  const confirm = (what: string) => (isProtectedStack(stack) ? confirmationToken(stack, "waqiti", what) : undefined);
  const withConfirm = (o: Record<string, unknown>, what: string) => ({ ...o, ...(confirm(what) ? { confirm: confirm(what) } : {}) });
  const up = `pulumi preview --policy-pack policy --stack ${stack}   # read it: it is the change\npulumi up --stack ${stack}`;
  const podNeeds = (from: string) => [...new Set(graph.edges.filter((e) => e.from === from && graph.nodes.find((n) => n.name === e.to)?.kind === "pods").map((e) => e.to))];

  const services: ServiceSpec[] = [
    { name: "postgres", image: cfg.postgres.image, role: "data", ports: [{ container: POSTGRES_PORT, description: "Service postgres" }], limits: { cpus: cpus(cfg.postgres.resources.cpuLimit), memoryMb: mib(cfg.postgres.resources.memoryLimit) }, healthcheck: { test: { exec: ["pg_isready", "-h", "127.0.0.1", "-U", "postgres"] }, interval: "10s", retries: 3 }, restart: "always" },
    { name: "redis", image: cfg.redis.image, role: "data", ports: [{ container: REDIS_PORT, description: "Service redis" }], limits: { cpus: cpus(cfg.redis.resources.cpuLimit), memoryMb: mib(cfg.redis.resources.memoryLimit) }, healthcheck: { test: { exec: ["redis-cli", "ping"] }, interval: "10s" }, restart: "always" },
    ...WAQITI_SERVICE_NAMES.map(
      (s): ServiceSpec => ({
        name: s,
        image: serviceImage(cfg, s),
        role: s === "api-gateway" ? "edge" : "app",
        description: `${cfg.services[s].replicas} replicas`,
        ports: [{ container: WAQITI_HTTP_PORT, description: `Service ${s}` }],
        limits: { cpus: cpus(cfg.services[s].resources.cpuLimit), memoryMb: mib(cfg.services[s].resources.memoryLimit) },
        healthcheck: { test: { shell: `curl -f http://localhost:${WAQITI_HTTP_PORT}${WAQITI_HEALTH_PATH}` }, interval: "10s", retries: 3 },
        restart: "always",
        dependsOn: podNeeds(s).map((d) => ({ service: d, condition: "healthy" as const })),
      }),
    ),
  ];
  const inventory = defineInventory(services);

  const op = (action: (typeof WAQITI_OPERATION_ACTIONS)[number], title: string, section: string, does: string): RunbookSwitch => ({
    name: action,
    title,
    section,
    does,
    stackConfig: waqitiSnippet(stack, { operations: [{ id: `yyyymmdd-${action}`, action }] }),
    commands: up,
  });
  const sw = (name: string, title: string, section: string, does: string, recovery: Record<string, unknown>, what?: string, top?: Record<string, unknown>): RunbookSwitch => ({
    name,
    title,
    section,
    does,
    ...(what && confirm(what) ? { confirm: confirm(what) } : {}),
    stackConfig: waqitiSnippet(stack, top ?? { recovery }),
    commands: up,
  });

  return renderRunbook({
    platform: "Waqiti",
    stack,
    configKey: "lazarus:waqiti",
    source: "runbook 002 (Waqiti P2P Platform — System Recovery Runbook)",
    summary: `Kubernetes namespace \`${ns}\` (label \`environment=${cfg.namespace.environment}\`), kubeconfig context from \`lazarus:environment.kubernetes\`. Images \`${cfg.images.registry}/<service>:${cfg.images.tag}\`. Public API \`https://${cfg.ingress.host}\` (Ingress \`waqiti-api\` → api-gateway). Pods of the four services carry \`app=waqiti\` and \`component=<service>\`, so the seed's \`kubectl wait --for=condition=ready pod -l app=waqiti\` and \`-l component=<service>\` work as written. Each object waits for the previous stage (${WAQITI_STAGES.join(" → ")}).`,
    inventory,
    startOrder: startOrder(inventory),
    stopOrder: stopOrder(inventory),
    rollingRestart: { description: "A rolling restart of every service (recovery.restart with all four), back ends before the gateway that calls them:", services: rollingRestartOrder(inventory, { roles: ["app", "edge"] }) },
    notes: [
      {
        title: "Backups (RPO 1 hour)",
        bullets: [
          `CronJob \`waqiti-backup\`, schedule \`${cfg.backups.schedule}\` (UTC), each run killed after ${cfg.backups.deadlineMinutes} min: at most ${worstCaseDataLossMinutes} min of data at risk (RPO ${cfg.backups.rpoMinutes} min).`,
          `Objects in \`s3://${cfg.backups.bucket}/\`: \`postgresql/waqiti-postgresql-<stamp>.sql.gz.enc\`, \`redis/waqiti-redis-<stamp>.rdb.enc\`, then \`manifests/waqiti-<stamp>.json\` (sha256s and the row counts of users, transactions, wallets).`,
          `The seed's commands read them: \`openssl enc -aes-256-cbc -d -in <file> -out <file>.sql.gz -pass file:${BACKUP_KEY_PATH}\`, \`gunzip\`, \`psql -U postgres -d ${cfg.postgres.database} < file\`. Keep a copy of the key outside the cluster (the secret \`waqitiBackupEncryptionKey\`).`,
        ],
      },
      ...(cfg.backups.pitr
        ? [
            {
              title: `Point-in-time recovery (WAL archiving, RPO about ${cfg.backups.pitr.rpoSeconds} s)`,
              bullets: [
                `PostgreSQL runs \`${waqitiPitrImage(cfg).image}\` (built from the plan's \`images/postgres-pgbackrest/Dockerfile\` and pushed before the first up) and archives every WAL segment with pgBackRest to \`s3://${cfg.backups.pitr.bucket}${cfg.backups.pitr.repoPath}\` (encrypted; secret \`waqitiPgbackrestCipherPass\`, keep a copy outside the cluster), at least every ${waqitiArchiveTimeoutSeconds(cfg.backups.pitr)} s (archive_timeout).`,
                `CronJobs \`waqiti-pitr-full\` (${waqitiPitrSchedules(cfg.backups.pitr).find((x) => x.type === "full")!.schedule}) and \`waqiti-pitr-diff\` (${waqitiPitrSchedules(cfg.backups.pitr).find((x) => x.type === "diff")!.schedule}), UTC: \`pitr-backup.sh\` run in the database pod; ${cfg.backups.pitr.retentionFull} full backups kept with their WAL.`,
                "A restored database archives to its own stanza `waqiti-<label>` (its first full backup is taken right after the restore), so the live database's archive is never mixed with it.",
              ],
            },
          ]
        : []),
      {
        title: "Network policy (default deny; these connections only)",
        bullets: [...new Set(graph.edges.map((e) => `${e.from} → ${e.to} ${e.port}/${e.protocol}`))],
      },
      {
        title: "Recovery objectives (runbook 002)",
        bullets: ["Complete System Recovery: RTO 2-4 h", "Database-Only Recovery: 1-2 h", "Single Service Recovery: 5-15 min", "Configuration Recovery: 10-30 min", "RPO 1 h (backups above); RTO 4 h maximum"],
      },
    ],
    howTo: [
      `Edit \`Pulumi.${stack}.yaml\` under \`lazarus:waqiti\` as the snippet shows (with the day's date in ids and labels).`,
      `\`pulumi preview --policy-pack policy --stack ${stack}\`: it shows every object the switch adds or changes; nothing is deleted first.`,
      `\`pulumi up --stack ${stack}\`: each stage waits for the one before, and each object for its readiness (the seed's timeouts).`,
      "Leave the switch in the file as the record of what was done: a one-shot Job never runs again for it.",
    ],
    switchGroups: [
      {
        title: "Operations (`operations:`)",
        switches: [
          op("verify", "Verify the system (the seed's checks)", "1 steps 5.4, 6, 7; 2.8", "a Job (account `waqiti-verifier`: exec only) running the seed's `kubectl wait` and `kubectl exec` checks: service health through api-gateway, the database counts, Stripe, Paystack, Keycloak and Kafka from the pods that use them"),
          op("backup-now", "Back up now", "RPO", "a Job with the backup CronJob's pod: PostgreSQL and Redis dumped, encrypted, uploaded, then the manifest"),
          op("verify-backup", "Verify the latest backup", "Post-Recovery: test backup systems", "a Job that restores the latest backup into a scratch PostgreSQL inside its own pod and checks the recorded counts (the live database is not touched)"),
        ],
      },
      {
        title: "Recovery switches (`recovery:`, `maintenance:`)",
        switches: [
          sw("maintenance.scaledDown", "Scale the services down around maintenance", "2.1, 2.7", "the four Deployments at 0 replicas; removing the block scales them back to the stack's replicas", {}, "scale-down", { maintenance: withConfirm({ scaledDown: true, reason: "database recovery" }, "scale-down") }),
          sw("recovery.database", "Database-Only Recovery: restore beside the live database", "2", `StatefulSet \`postgres-<label>\` (claim \`data-postgres-<label>-0\`) and Job \`restore-postgres-<label>\`: the backup's sha256 checked, the seed's decrypt, gunzip and psql, then its three counts against the backup's; the live \`postgres\` untouched`, { database: { label: "r1", backup: "latest" } }),
          ...(cfg.backups.pitr
            ? [
                sw("recovery.database.pointInTime", "Database-Only Recovery to a point in time (pgBackRest)", "2", "StatefulSet `postgres-<label>` whose init container restores the live stanza's backup plus WAL to the named UTC time (or `latest`) into its empty volume, once; Job `restore-postgres-<label>` waits for the end of recovery and reads the seed's three counts; the live `postgres` untouched", { database: { label: "r1", pointInTime: "2026-11-23T14:03:00Z" } }),
              ]
            : []),
          sw("recovery.database.cutover", "Cut over to the restored database", "2.5", "Service `postgres` moved to `postgres-<label>` after the restore Job succeeded; restart the services afterwards (recovery.restart) so their pools reconnect", withConfirm({ label: "r1", cutover: true }, "database-cutover"), "database-cutover", { recovery: { database: withConfirm({ label: "r1", cutover: true }, "database-cutover") } }),
          sw("recovery.database.deleteClaim", "Delete the claim of the database out of service (the seed's `kubectl delete pvc data-postgres-0`)", "2.4", "after the cutover the old `postgres` (claim `data-postgres-0`), before it a restore that is not wanted (`data-postgres-<label>-0`, its StatefulSet then unprotected so the switch can be removed): the StatefulSet at 0 replicas, then a Job allowed to delete that one claim, by name", {}, undefined, {
            recovery: { database: { ...withConfirm({ label: "r1", cutover: true }, "database-cutover"), deleteClaim: { name: "data-postgres-0", confirm: `${stack}/waqiti/delete-claim/data-postgres-0` } } },
          }),
          sw("recovery.redis", "Redis recovery", "1 step 4", "an init container restores the backup's dump.rdb while Redis is stopped (once per label), so Redis loads it and its own shutdown save cannot overwrite it", { redis: withConfirm({ label: "r1", backup: "latest" }, "redis-restore") }, "redis-restore"),
          sw("recovery.rollback", "Application Rollback to a pinned image", "3.4, Rollback Procedures", "the Deployment's image set to the tag, with the reason as an annotation; a rolling update", { rollback: { "payment-service": { imageTag: cfg.images.tag, reason: "5xx after the last deploy" } } }),
          sw("recovery.restart", "Restart a service (`kubectl rollout restart`)", "3.5", "the `kubectl.kubernetes.io/restartedAt` annotation set on the pod template: a rolling restart; a new `at` restarts again", { restart: { services: ["payment-service"], at: "2026-11-23T02:00:00Z" } }),
          sw("recovery.configuration", "Configuration Recovery", "4", "the ConfigMap and every Secret applied again from the stack, then all four services restarted", { configuration: { at: "2026-11-23T03:00:00Z" } }),
          sw("recovery.fullSystem", "Complete System Recovery on a new cluster", "1", "every stage in order, PostgreSQL restored by a Job and Redis by its init container before the applications start", { fullSystem: withConfirm({ label: "dr1", postgresBackup: "latest", redisBackup: "latest" }, "full-system-recovery") }, "full-system-recovery"),
        ],
      },
    ],
    recoveryProcedures: [
      { switchName: "recovery.fullSystem", title: "what a complete system recovery does", steps: WAQITI_STAGES.filter((s) => s !== "operations" && s !== "cutover").map((s) => `stage ${s}: every object of it declared, each waited for until ready`), after: "Then run the `verify` operation." },
      {
        switchName: "recovery.database",
        title: "what a database-only recovery does",
        steps: [
          "StatefulSet postgres-<label> and its Services declared; waited for (600 s)",
          "Job restore-postgres-<label>: manifest fetched, backup downloaded and its sha256 checked, decrypted with the seed's command, loaded in one transaction, counts checked, completion proof written",
          "with cutover: Service postgres pointed at the restored instance",
        ],
        after: "The old claim stays until deleteClaim, confirmed by its name.",
      },
    ],
    incidentsTitle: "Incidents (runbook 002)",
    incidents: [
      { section: "1", title: "Cluster destroyed, data-center outage", symptoms: "the cluster or its nodes are gone; a new cluster is provisioned", steps: [{ text: "Point `lazarus:environment.kubernetes.context` at the new cluster and set the full-system switch:", stackConfig: waqitiSnippet(stack, { recovery: { fullSystem: withConfirm({ label: "dr1" }, "full-system-recovery") } }) }, { text: "Preview, up, then run the `verify` operation." }], commands: up },
      { section: "2", title: "Database corruption or data loss", symptoms: "errors from PostgreSQL, wrong balances, missing rows", steps: [{ text: "Scale the services down (maintenance), restore beside the live database:", stackConfig: waqitiSnippet(stack, { maintenance: withConfirm({ scaledDown: true, reason: "database recovery" }, "scale-down"), recovery: { database: { label: "r1", backup: "latest" } } }) }, { text: "When the restore Job succeeded, cut over (recovery.database.cutover), remove `maintenance`, up again." }], commands: up },
      { section: "3", title: "One service failing after a deploy", symptoms: "one Deployment not ready, 5xx from one service", steps: [{ text: "Roll it back to the last good tag:", stackConfig: waqitiSnippet(stack, { recovery: { rollback: { "payment-service": { imageTag: cfg.images.tag, reason: "5xx after the last deploy" } } } }) }], commands: up },
      { section: "4", title: "Invalid configuration deployed", symptoms: "services failing on start, wrong settings in `kubectl exec ... env`", steps: [{ text: "Re-apply the declared configuration and restart all four services:", stackConfig: waqitiSnippet(stack, { recovery: { configuration: { at: "2026-11-23T03:00:00Z" } } }) }], commands: up },
    ],
  });
}
