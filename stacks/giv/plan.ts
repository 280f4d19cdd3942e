// GIV's plan: the App Platform app spec (checked against App Platform's rules), the three managed clusters with their
// restores, the API calls of the recovery switches and operations, and the operator runbook; computed from the stack
// config alone, before any resource exists. `declare.ts` fills in only what exists at deploy time: the secret values,
// the clusters' connections and the app's id.
import { renderedFrom } from "../../config/planInput";
import { restoreArgs } from "../../config/shared";
import { appSpecProblems, type AppEnv, type AppServiceAlert, type AppSpec } from "../../lib/appPlatform";
import { refuseField, refuseProblems } from "../../renderers/renderInputError";
import type { ManagedDatabasePlan } from "../database";
import type { PlanContext } from "../platform";
import { ROLLBACK_REPLACES_GIV, type GivConfig } from "./config";
import { givRunbookMarkdown } from "./runbook";

/** Where a SECRET variable's value comes from at deploy time. */
export type GivEnvSource =
  | { kind: "appSecret" }
  | { kind: "url"; cluster: "postgres" | "mongodb" | "cache" }
  | { kind: "ca"; cluster: "postgres" | "mongodb" };

export interface GivApiCall {
  /** Resource name suffix and what the command does. */
  id: string;
  call:
    | { kind: "rollback"; deploymentId: string; pin: boolean; warning: string }
    | { kind: "rollback-end"; end: "commit" | "revert" }
    | { kind: "redeploy"; forceBuild: boolean }
    | { kind: "status" };
}

export interface GivPlan {
  stack: string;
  names: ReturnType<typeof givNames>;
  /** The app spec, complete but for the values of its SECRET variables and the alert destinations. */
  spec: AppSpec;
  /** Every variable whose value is filled at deploy time, by key. */
  envSources: Record<string, GivEnvSource>;
  secretEnvKeys: string[];
  postgres: ManagedDatabasePlan;
  mongodb: ManagedDatabasePlan;
  cache: { name: string; config: GivConfig["cache"] };
  /** The API calls, in order: the rollback (when switched on), then the operations. */
  apiCalls: GivApiCall[];
  alerts: { emails: string[]; slackChannel?: string };
  /** The operator runbook (Markdown), written by the offline plan with --out. */
  runbook: string;
  outputs: { url?: string };
}

export function givNames(stack: string) {
  const prefix = `giv-${stack}`;
  return { prefix, app: `${prefix}-app`, postgres: `${prefix}-pg`, mongodb: `${prefix}-mongodb`, cache: `${prefix}-cache` };
}

function serviceAlerts(a: GivConfig["alerts"]): AppServiceAlert[] {
  return [
    { rule: "CPU_UTILIZATION", operator: "GREATER_THAN", value: a.cpuPercent, window: a.window },
    { rule: "MEM_UTILIZATION", operator: "GREATER_THAN", value: a.memoryPercent, window: a.window },
    { rule: "RESTART_COUNT", operator: "GREATER_THAN", value: a.restartCount, window: a.window },
  ];
}

/** The app spec from the config. Exported for the tests, which check it against App Platform's rules. */
export function givAppSpec(cfg: GivConfig): { spec: AppSpec; envSources: Record<string, GivEnvSource> } {
  const c = cfg.app.connectionEnv;
  const envSources: Record<string, GivEnvSource> = {
    ...Object.fromEntries(cfg.app.secretEnvKeys.map((k) => [k, { kind: "appSecret" } as const])),
    [c.postgres]: { kind: "url", cluster: "postgres" },
    [c.postgresCa]: { kind: "ca", cluster: "postgres" },
    [c.mongodb]: { kind: "url", cluster: "mongodb" },
    [c.mongodbCa]: { kind: "ca", cluster: "mongodb" },
    [c.cache]: { kind: "url", cluster: "cache" },
  };
  // Images are built before they reach App Platform, so nothing is needed at build time: every variable is RUN_TIME.
  const envs: AppEnv[] = [
    ...Object.entries(cfg.app.env).map(([key, value]) => ({ key, value, type: "GENERAL", scope: "RUN_TIME" })),
    // Values filled at deploy time. A CA certificate is public, but it arrives with the connection and travels with it.
    ...Object.keys(envSources).map((key) => ({ key, type: "SECRET", scope: "RUN_TIME" })),
  ];
  const services = Object.entries(cfg.app.services);
  // Longest prefix first, so /api/v1 is matched before /api and / last.
  const routes = services.flatMap(([name, s]) => s.routes.map((prefix) => ({ name, prefix, preservePathPrefix: s.preservePathPrefix }))).sort((a, b) => b.prefix.length - a.prefix.length);
  const spec: AppSpec = {
    name: cfg.app.name,
    region: cfg.app.region,
    services: services.map(([name, s]) => ({
      name,
      image: {
        registryType: s.image.registryType,
        ...(s.image.registry ? { registry: s.image.registry } : {}),
        repository: s.image.repository,
        ...(s.image.tag ? { tag: s.image.tag } : { digest: s.image.digest }),
        // The stack decides what runs: a push to the registry does not deploy behind the stack's back.
        ...(s.image.registryType === "DOCR" ? { deployOnPushes: [{ enabled: false }] } : {}),
      },
      instanceSizeSlug: s.instanceSize,
      instanceCount: s.instanceCount,
      httpPort: s.httpPort,
      healthCheck: { ...s.healthCheck },
      alerts: serviceAlerts(cfg.alerts),
    })),
    ingress: { rules: routes.map((r) => ({ match: { path: { prefix: r.prefix } }, component: { name: r.name, preservePathPrefix: r.preservePathPrefix } })) },
    domainNames: cfg.app.domains.map((d) => ({ name: d.name, type: d.type, ...(d.zone ? { zone: d.zone } : {}), minimumTlsVersion: d.minimumTlsVersion })),
    envs,
    // Always: a failed deployment or a domain that fails its certificate pages the on-call.
    alerts: [{ rule: "DEPLOYMENT_FAILED" }, { rule: "DOMAIN_FAILED" }],
    // Declared in both states, so removing the switch turns maintenance off instead of leaving the field unmanaged.
    maintenance: { enabled: cfg.recovery.maintenance !== undefined, ...(cfg.app.offlinePageUrl ? { offlinePageUrl: cfg.app.offlinePageUrl } : {}) },
  };
  const problems = appSpecProblems(spec);
  if (problems.length) refuseProblems("app spec", problems);
  return { spec, envSources };
}

export function planGiv(cfg: GivConfig, ctx: PlanContext): GivPlan {
  const { stack } = ctx;
  const names = givNames(stack);
  const { spec, envSources } = renderedFrom("app", () => givAppSpec(cfg));
  // The app talks to its clusters on every request: keep it in the region they are in (fra with fra1).
  const dbRegion = ctx.environment.region;
  if (dbRegion && !dbRegion.startsWith(cfg.app.region)) {
    renderedFrom("app.region", () => refuseField("app spec", "region", `${cfg.app.region} is not where the clusters are (lazarus:environment.region ${dbRegion}); every request would cross regions (example: ${dbRegion.replace(/\d+$/, "")})`));
  }
  const r = cfg.recovery;
  const apiCalls: GivApiCall[] = [];
  if (r.rollback) {
    const warning = `${ROLLBACK_REPLACES_GIV}: rolling ${cfg.app.name} back to deployment ${r.rollback.deploymentId} (${r.rollback.reason})${r.rollback.pin ? "; pinned: nothing deploys over it until commit-rollback or revert-rollback" : ""}`;
    apiCalls.push({ id: `rollback-${r.rollback.deploymentId.slice(0, 8)}`, call: { kind: "rollback", deploymentId: r.rollback.deploymentId, pin: r.rollback.pin, warning } });
  }
  for (const op of cfg.operations) {
    apiCalls.push({
      id: `op-${op.id}`,
      call:
        op.action === "redeploy"
          ? { kind: "redeploy", forceBuild: op.forceBuild }
          : op.action === "check-status"
            ? { kind: "status" }
            : { kind: "rollback-end", end: op.action === "commit-rollback" ? "commit" : "revert" },
    });
  }
  const { databaseName: pgDb, userName: pgUser, ...pg } = cfg.postgres;
  const primary = cfg.app.domains.find((d) => d.type === "PRIMARY");
  return {
    stack,
    names,
    spec,
    envSources,
    secretEnvKeys: cfg.app.secretEnvKeys,
    postgres: { name: names.postgres, platform: "giv", config: { ...pg, databaseName: pgDb, userName: pgUser }, restore: restoreArgs(r.postgres) },
    mongodb: { name: names.mongodb, platform: "giv", engine: "mongodb", config: { ...cfg.mongodb }, restore: restoreArgs(r.mongodb) },
    cache: { name: names.cache, config: cfg.cache },
    apiCalls,
    alerts: { emails: ctx.environment.alerts.emails, ...(ctx.environment.alerts.slackChannel ? { slackChannel: ctx.environment.alerts.slackChannel } : {}) },
    runbook: renderedFrom("recovery", () => givRunbookMarkdown(cfg, stack, names)),
    outputs: { ...(primary ? { url: `https://${primary.name}` } : {}) },
  };
}

