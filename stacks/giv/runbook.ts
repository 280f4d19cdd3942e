// The GIV operator runbook (Markdown), rendered by the generic renderers/runbookDoc.ts from a model built here out of the
// same config the stack deploys from: the app's services and the three managed clusters as the inventory (its
// dependency graph: each service needs the clusters), the recovery switches and operations with stack-file snippets
// that the schema accepts (the tests merge each into the real stack files), and the seed's GIV procedures and General
// Incident Checklist as incidents. App Platform has no host to ship it to: `npm run plan -- --out DIR` writes it.
import { stringify } from "yaml";
import { confirmationToken, isProtectedStack } from "../../config/checks";
import { defineInventory, startOrder, stopOrder, type ServiceSpec } from "../../lib/inventory";
import { renderRunbook, type RunbookModel, type RunbookSwitch } from "../../renderers/runbookDoc";
import type { GivConfig } from "./config";

type Names = { prefix: string; app: string; postgres: string; mongodb: string; cache: string };

/** What flushing or losing the cache costs (the seed: Redis holds OTPs). */
export const CACHE_LOSS =
  "The cache (Valkey) holds derived data and the OTP codes in flight. Losing or flushing it invalidates every OTP not yet used (users must request a new one) and makes the first requests slower while the cache warms up; nothing else is lost and nothing is restored.";

/** Why the seed's two ways to "disable" the app do not. */
export const SEED_SHUTDOWN_DOES_NOT_STOP =
  "The seed's alternatives do not stop a live app: `PUT .../deployments/<id>/cancel` cancels a deployment that is still in progress, while the active deployment keeps serving; and App Platform refuses `instance_count: 0` for a service (at least 1), so it cannot be scaled to zero. Maintenance mode is App Platform's way to take the app offline.";

/** The image reference as people read it. */
export function imageText(i: GivConfig["app"]["services"][string]["image"]): string {
  const registry = i.registryType === "DOCR" ? "registry.digitalocean.com/<team registry>" : i.registryType === "GHCR" ? "ghcr.io" : "docker.io";
  const repo = [registry, i.registry, i.repository].filter(Boolean).join("/");
  return i.digest ? `${repo}@${i.digest}` : `${repo}:${i.tag}`;
}

export function givRunbookModel(cfg: GivConfig, stack: string, names: Names): RunbookModel {
  const protectedStack = isProtectedStack(stack);
  const confirm = (what: string) => (protectedStack ? { confirm: confirmationToken(stack, "giv", what) } : {});
  const confirmValue = (what: string) => (protectedStack ? confirmationToken(stack, "giv", what) : undefined);
  const file = `Pulumi.${stack}.yaml`;
  const snippet = (giv: Record<string, unknown>) => [`# ${file}`, stringify({ config: { "lazarus:giv": giv } }, { lineWidth: 0 }).trimEnd()].join("\n");
  const commands = [`pulumi preview --stack ${stack}   # shows what will change or run`, `pulumi up --stack ${stack}`].join("\n");
  const id = (what: string) => `yyyymmdd-${what}`;

  const data: ServiceSpec[] = [
    { name: "postgres", image: `DigitalOcean managed PostgreSQL ${cfg.postgres.version} (${names.postgres}, ${cfg.postgres.nodeCount} node(s), ${cfg.postgres.size})`, role: "data", restart: "always", description: "managed" },
    { name: "mongodb", image: `DigitalOcean managed MongoDB ${cfg.mongodb.version} (${names.mongodb}, ${cfg.mongodb.nodeCount} node(s), ${cfg.mongodb.size})`, role: "data", restart: "always" },
    { name: "cache", image: `DigitalOcean managed Valkey ${cfg.cache.version} (${names.cache}, ${cfg.cache.evictionPolicy})`, role: "data", restart: "always" },
  ];
  const services: ServiceSpec[] = Object.entries(cfg.app.services).map(([name, s]) => ({
    name,
    image: imageText(s.image),
    role: "app",
    restart: "always",
    ports: [{ container: s.httpPort, description: `HTTP behind App Platform's HTTPS edge (routes ${s.routes.join(", ")}), ${s.instanceCount} × ${s.instanceSize}` }],
    healthcheck: {
      test: { exec: ["GET", s.healthCheck.httpPath] },
      interval: `${s.healthCheck.periodSeconds}s`,
      timeout: `${s.healthCheck.timeoutSeconds}s`,
      retries: s.healthCheck.failureThreshold,
      startPeriod: `${s.healthCheck.initialDelaySeconds}s`,
    },
    dependsOn: data.map((d) => ({ service: d.name, condition: "started" as const })),
  }));
  const inventory = defineInventory([...data, ...services]);

  const sw = (name: string, title: string, section: string, does: string, body: Record<string, unknown>, what?: string): RunbookSwitch => ({
    name,
    title,
    section,
    does,
    ...(what && confirmValue(what) ? { confirm: confirmValue(what) } : {}),
    stackConfig: snippet(body),
    commands,
  });
  const restoreExample = (what: "postgres" | "mongodb") => ({ recovery: { [what]: { label: "20261123", pointInTime: "2026-11-23T02:00:00Z" } } });
  const cutoverExample = (what: "postgres" | "mongodb") => ({ recovery: { [what]: { label: "20261123", pointInTime: "2026-11-23T02:00:00Z", cutover: true, ...confirm(`${what}-cutover`) } } });
  const rollbackExample = { recovery: { rollback: { deploymentId: "3aa4d20e-5527-4c00-b496-601fbd22520a", reason: "5xx after the last deploy", ...confirm("rollback") } } };
  const maintenanceExample = { recovery: { maintenance: { ...confirm("maintenance") } } };
  const redeployExample = { operations: [{ id: id("rebuild"), action: "redeploy", forceBuild: true }] };

  const cluster = (what: "postgres" | "mongodb") => (what === "postgres" ? names.postgres : names.mongodb);
  const restoreDoes = (what: "postgres" | "mongodb") =>
    `a new cluster \`${cluster(what)}-restore-<label>\` from the live cluster's backups (DigitalOcean \`backupRestore\`, the latest backup or \`pointInTime\`), beside the live one, protected, behind the same firewall (the app only). The app keeps using the live cluster. Check the restored data (\`doctl databases connection ${cluster(what)}-restore-<label>\`), then set \`cutover: true\`: the app's ${what === "postgres" ? cfg.app.connectionEnv.postgres : cfg.app.connectionEnv.mongodb} moves to the restored cluster, which App Platform rolls out as a new deployment. \`cutover: back\` returns; \`discard: true\` lets a later up delete the restored cluster.`;

  return {
    platform: "GIV (KROGiving)",
    stack,
    configKey: "lazarus:giv",
    source: "runbook 000 (Shutdown and Recovery Procedures: GIV, General Incident Checklist)",
    summary: `App Platform app \`${cfg.app.name}\` in \`${cfg.app.region}\` (services ${Object.keys(cfg.app.services).join(", ")}; domains ${cfg.app.domains.map((d) => d.name).join(", ") || "the default ondigitalocean.app one"}), managed clusters \`${names.postgres}\`, \`${names.mongodb}\`, \`${names.cache}\`, each admitting only the app. Logs: console → Apps → ${cfg.app.name} → Runtime Logs, or \`doctl apps logs <app id> --type run --follow\`.`,
    inventory,
    startOrder: startOrder(inventory),
    stopOrder: stopOrder(inventory),
    rollingRestart: {
      description: "App Platform replaces a service's instances one by one on every deployment, each new one only after its health check passes; the services, one deployment each:",
      services: services.map((s) => s.name),
    },
    notes: [
      { title: "Cache", bullets: [CACHE_LOSS, `Eviction policy \`${cfg.cache.evictionPolicy}\`: when memory is full the least recently used keys go first; an OTP in flight is recent, so it is among the last.`] },
      { title: "Taking the app offline", bullets: [SEED_SHUTDOWN_DOES_NOT_STOP] },
      {
        title: "Rollback and the stack file",
        bullets: [
          "A rollback returns the app to an earlier deployment's spec and images; the stack file still names the newer ones. Before removing the rollback switch, set the images in the stack file to what is live (prefer `digest:` to `tag:`: a tag can be moved, and the API warns that a rollback to a tag may pull other code).",
          "While pinned, the app takes no deployment: not from CI, not from `pulumi up` (an up that changes the app fails). `commit-rollback` keeps it, `revert-rollback` undoes it; both unpin.",
        ],
      },
    ],
    howTo: [
      `Add the entry to \`${file}\` under \`config:\` → \`lazarus:giv:\` (\`operations:\` is a list: append; \`recovery:\` holds one entry per switch).`,
      "Open a pull request: the offline plan shows the change (new clusters, the app's spec, the API calls).",
      `After review: \`pulumi preview --stack ${stack}\`, then \`pulumi up --stack ${stack}\`. An operation runs once per id; an API call of a switch runs once when the switch is set.`,
      ...(protectedStack ? [`On \`${stack}\` the destructive entries carry \`confirm\` (shown in the examples); the plan refuses them without it.`] : []),
    ],
    switchGroups: [
      {
        title: "Operations (`operations:`)",
        switches: [
          sw("check-status", "Deployment status", "General Incident Checklist", "`GET /v2/apps/<app id>`, summarised: live URL, maintenance mode, the active, in-progress and pinned deployments with phase and cause (the app's variables are never printed); fails when no deployment is active.", { operations: [{ id: id("status"), action: "check-status" }] }),
          sw("redeploy", "Force a rebuild and redeploy", "Recovery / Redeploy", "`POST /v2/apps/<app id>/deployments` with `{\"force_build\": true}` (the seed's curl), from where `pulumi up` runs, with the token from the secret givDigitaloceanApiToken on curl's stdin.", redeployExample),
          sw("commit-rollback", "Keep a pinned rollback", "Rollback a Deployment", "`POST /v2/apps/<app id>/rollback/commit`: the rollback stays, the app is unpinned. Also ends a rollback made with the console's Rollback button, which pins too.", { operations: [{ id: id("commit-rollback"), action: "commit-rollback" }] }),
          sw("revert-rollback", "Undo a pinned rollback", "Rollback a Deployment", "`POST /v2/apps/<app id>/rollback/revert`: the app returns to the deployment before the rollback and is unpinned.", { operations: [{ id: id("revert-rollback"), action: "revert-rollback", ...confirm("revert-rollback") }] }, "revert-rollback"),
        ],
      },
      {
        title: "Recovery switches (`recovery:`)",
        switches: [
          sw("recovery.maintenance", "Take the app offline (maintenance mode)", "Shutdown (Pause/Disable)", `the app spec's \`maintenance.enabled: true\`${cfg.app.offlinePageUrl ? ` (offline page ${cfg.app.offlinePageUrl})` : ""}; removing the switch turns it off. Deployments, domains, clusters and data stay.`, maintenanceExample, "maintenance"),
          sw("recovery.postgres", "Restore PostgreSQL beside the live cluster, then cut over", "Database Recovery (GIV)", restoreDoes("postgres"), restoreExample("postgres")),
          sw("recovery.mongodb", "Restore MongoDB beside the live cluster, then cut over", "Database Recovery (GIV)", restoreDoes("mongodb"), restoreExample("mongodb")),
          sw("recovery.rollback", "Roll back to a named deployment", "Rollback a Deployment", "`POST /v2/apps/<app id>/rollback/validate` (refused unless `valid: true`; warnings printed), then `POST /v2/apps/<app id>/rollback` with the deployment id and `skip_pin: false` (pinned) or `true` (`pin: false`). Runs once, when the switch is first applied.", rollbackExample, "rollback"),
        ],
      },
    ],
    recoveryProcedures: [],
    incidentsTitle: "Incidents (runbook 000: GIV and the General Incident Checklist)",
    incidents: [
      {
        section: "000",
        title: "General Incident Checklist, for GIV",
        symptoms: "GIV is down or misbehaving.",
        steps: [
          { text: "Identify scope: one service, a database, or the whole app? Console → Apps → Overview (deployment status), `doctl apps get <app id>` and `doctl apps list-deployments <app id>`, or the operation below.", stackConfig: snippet({ operations: [{ id: id("status"), action: "check-status" }] }) },
          { text: "Check logs: console → Runtime Logs, or `doctl apps logs <app id> <service> --type run`; a failed deployment: `--type build` / `--type deploy`." },
          { text: `Check databases: \`doctl databases get <id>\` for ${names.postgres}, ${names.mongodb}, ${names.cache} (status online); the app's connection variables are ${cfg.app.connectionEnv.postgres}, ${cfg.app.connectionEnv.mongodb}, ${cfg.app.connectionEnv.cache}.` },
          { text: "Check third-party services: Paystack, SendGrid, Termii status pages." },
          { text: "Roll back if needed: deploy the last known good version.", stackConfig: snippet(rollbackExample) },
          { text: "Communicate: notify affected parties of the issue and ETA." },
        ],
        commands,
      },
      { section: "000", title: "Shutdown (Pause/Disable)", symptoms: "The app must stop serving (incident, data protection, planned work).", steps: [{ text: "Turn maintenance mode on.", stackConfig: snippet(maintenanceExample) }, { text: SEED_SHUTDOWN_DOES_NOT_STOP }], commands },
      { section: "000", title: "Recovery / Redeploy", symptoms: "A deployment is broken by its build, or the app must be rebuilt from source.", steps: [{ text: "Force a rebuild and redeploy.", stackConfig: snippet(redeployExample) }, { text: "A new version is deployed by changing the service's image tag (or digest) in the stack file: the seed's `git tag` + CI push builds the image; the stack decides when it runs." }], commands },
      {
        section: "000",
        title: "Database Recovery (GIV): PostgreSQL or MongoDB",
        symptoms: "Data loss or corruption in a cluster.",
        steps: [
          { text: "Restore the cluster's backup beside the live one.", stackConfig: snippet(restoreExample("postgres")) },
          { text: "Once the restored data is checked, move the app to it.", stackConfig: snippet(cutoverExample("postgres")) },
          { text: "MongoDB the same way, under `recovery.mongodb`.", stackConfig: snippet(cutoverExample("mongodb")) },
        ],
        commands,
      },
      { section: "000", title: "Redis: cache lost", symptoms: "Valkey unreachable or emptied; users report OTP codes rejected.", steps: [{ text: CACHE_LOSS }, { text: `No restore: the cluster \`${names.cache}\` is declared. If the cluster itself is gone, \`pulumi refresh --stack ${stack}\` then \`pulumi up --stack ${stack}\` declares it again (a new password: the app's ${cfg.app.connectionEnv.cache} follows in a new deployment).` }] },
      { section: "000", title: "Rollback a Deployment", symptoms: "A release misbehaves.", steps: [{ text: "Roll back to the last good deployment (its id from `doctl apps list-deployments <app id>`).", stackConfig: snippet(rollbackExample) }, { text: "Then keep it (or undo it).", stackConfig: snippet({ operations: [{ id: id("commit-rollback"), action: "commit-rollback" }] }) }], commands },
    ],
  };
}

export function givRunbookMarkdown(cfg: GivConfig, stack: string, names: Names): string {
  return renderRunbook(givRunbookModel(cfg, stack, names));
}
