// Declares GIV's plan: the PostgreSQL and MongoDB clusters (with their restores beside the live ones), the Valkey cache,
// the App Platform app whose SECRET variables carry the active clusters' connections and the app's secrets, the
// clusters' firewalls admitting only the app, and the App Platform API calls of the switches and operations. No
// decisions here: every name, spec field and call comes from the plan (plan.ts).
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { ONCE_UPDATE } from "../../components/hostSoftware";
import type { PostgresConnection } from "../../components/managedPostgres";
import { appDeploymentCommand, appRollbackCommand, appRollbackEndCommand, appStatusCommand, bearerHeader } from "../../lib/digitaloceanApi";
import { mongodbUrl, postgresUrl } from "../../lib/connectionUrls";
import { isSecretPlaceholder } from "../../config/stackFile";
import { recordRenderedFile } from "../../lib/renderedFiles";
import { declareManagedDatabase } from "../database";
import type { DeclareContext } from "../platform";
import type { GivApiCall, GivPlan } from "./plan";

/**
 * The secret givAppSecrets as the variables it holds: a JSON object with exactly the keys of app.secretEnvKeys, string
 * values. Checked when the secret's value is known (at deploy time); the error names the secret and the keys.
 */
export function parseAppSecrets(text: string, keys: readonly string[], stackFile: string): Record<string, string> {
  const fail = (what: string): never => {
    throw new Error(`${stackFile}: lazarus:givAppSecrets: ${what}; set it to a JSON object with exactly the keys of lazarus:giv.app.secretEnvKeys (example: pulumi config set --secret givAppSecrets '{"PAYSTACK_SECRET_KEY": "sk_live_..."}')`);
  };
  // The offline plan without the secret: each variable shows the placeholder (a secret all the same).
  if (isSecretPlaceholder(text)) return Object.fromEntries(keys.map((k) => [k, text]));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail("is not JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return fail("is not a JSON object");
  const given = parsed as Record<string, unknown>;
  const missing = keys.filter((k) => !(k in given));
  const extra = Object.keys(given).filter((k) => !keys.includes(k));
  const notStrings = Object.keys(given).filter((k) => typeof given[k] !== "string" || given[k] === "");
  if (missing.length) fail(`lacks ${missing.join(", ")}`);
  if (extra.length) fail(`has keys not in app.secretEnvKeys: ${extra.join(", ")} (add them there, or remove them)`);
  if (notStrings.length) fail(`${notStrings.join(", ")} must be non-empty strings`);
  return given as Record<string, string>;
}

/** The command line of one planned API call for the app `appId` (apiBase: the tests' stand-in). */
export function givApiCommand(call: GivApiCall["call"], appId: string, apiBase?: string): string {
  switch (call.kind) {
    case "rollback":
      return appRollbackCommand({ appId, deploymentId: call.deploymentId, pin: call.pin, warning: call.warning, apiBase });
    case "rollback-end":
      return appRollbackEndCommand({ appId, end: call.end, apiBase });
    case "redeploy":
      return appDeploymentCommand({ appId, forceBuild: call.forceBuild, apiBase });
    case "status":
      return appStatusCommand({ appId, apiBase });
  }
}

export function declareGiv(plan: GivPlan, ctx: DeclareContext) {
  const { names } = plan;
  const env = ctx.environment;
  const digitaloceanEnv = ctx.digitalocean;
  if (!digitaloceanEnv) throw new Error("giv: the app and its clusters need the stack's DigitalOcean environment; needs() must say so");
  const platform = new pulumi.ComponentResource("lazarus:platform:Giv", names.prefix, {});

  // The clusters first: the app's spec holds their connections. Their firewalls follow the app (they admit its id).
  const postgres = declareManagedDatabase(plan.postgres, "app", ctx, platform);
  const mongodb = declareManagedDatabase(plan.mongodb, "app", ctx, platform);
  const cache = new digitalocean.DatabaseCluster(
    names.cache,
    {
      name: names.cache,
      engine: "valkey",
      version: plan.cache.config.version,
      size: plan.cache.config.size,
      nodeCount: plan.cache.config.nodeCount,
      region: digitaloceanEnv.settings.region,
      privateNetworkUuid: digitaloceanEnv.vpc.id,
      maintenanceWindows: [plan.cache.config.maintenanceWindow],
      evictionPolicy: plan.cache.config.evictionPolicy,
      tags: [...digitaloceanEnv.tags, "platform-giv"],
    },
    // Nothing in it needs keeping (a cache), but deleting it drops every OTP in flight: protected like the rest.
    { parent: platform, protect: env.protect },
  );

  const connection = (c: PostgresConnection, url: (v: { host: string; port: number; password: string }) => string) =>
    pulumi.secret(pulumi.all([c.host, c.port, c.password]).apply(([host, port, password]) => url({ host, port, password })));
  const values: Record<string, pulumi.Output<string>> = {};
  const appSecrets = plan.secretEnvKeys.length
    ? ctx.secrets("givAppSecrets").apply((text) => parseAppSecrets(text, plan.secretEnvKeys, ctx.stackFile))
    : undefined;
  for (const [key, source] of Object.entries(plan.envSources)) {
    if (source.kind === "appSecret") values[key] = pulumi.secret(appSecrets!.apply((s) => s[key]));
    else if (source.kind === "ca") values[key] = pulumi.secret((source.cluster === "postgres" ? postgres : mongodb).active.caCertificate);
    else if (source.cluster === "postgres") values[key] = connection(postgres.active, (v) => postgresUrl({ ...v, database: postgres.active.database, user: postgres.active.user }));
    else if (source.cluster === "mongodb") values[key] = connection(mongodb.active, (v) => mongodbUrl({ host: v.host, password: v.password, database: mongodb.active.database, user: mongodb.active.user }));
    else values[key] = pulumi.secret(cache.uri);
  }

  const slack = plan.alerts.slackChannel ? [{ channel: plan.alerts.slackChannel, url: ctx.secrets("alertSlackWebhook") }] : [];
  const destinations = { emails: plan.alerts.emails, ...(slack.length ? { slackWebhooks: slack } : {}) };
  const spec = plan.spec;
  const app = new digitalocean.App(
    names.app,
    {
      projectId: digitaloceanEnv.project.id,
      spec: {
        ...spec,
        envs: (spec.envs ?? []).map((e) => (e.key && values[e.key] ? { ...e, value: values[e.key] } : e)),
        alerts: (spec.alerts ?? []).map((a) => ({ ...a, destinations })),
        services: (spec.services ?? []).map((s) => ({ ...s, alerts: (s.alerts ?? []).map((a) => ({ ...a, destinations })) })),
      },
    },
    // Its deployments are the rollback targets, its default domain what DNS may point at: protected on prod.
    { parent: platform, protect: env.protect },
  );

  const admitApp = [{ type: "app" as const, value: app.id }];
  postgres.admit(admitApp);
  mongodb.admit(admitApp);
  new digitalocean.DatabaseFirewall(`${names.cache}-firewall`, { clusterId: cache.id, rules: admitApp }, { parent: platform });

  // The API calls, from where `pulumi up` runs, each after the app (and the one before it), once: a later change of
  // its inputs (a rotated token, a new app id) is an update, which must not roll back or rebuild again.
  let previous: pulumi.Resource = app;
  for (const c of plan.apiCalls) {
    previous = new command.local.Command(
      `${names.prefix}-${c.id}`,
      {
        create: app.id.apply((appId) => givApiCommand(c.call, appId)),
        stdin: pulumi.secret(ctx.secrets("givDigitaloceanApiToken").apply(bearerHeader)),
        update: ONCE_UPDATE,
        logging: "stdoutAndStderr",
      },
      { parent: platform, dependsOn: [previous] },
    );
  }

  const clusters = [postgres.cluster, postgres.restored, mongodb.cluster, mongodb.restored, cache].filter((c): c is digitalocean.DatabaseCluster => c !== undefined);
  digitaloceanEnv.attach(`${names.prefix}-project-resources`, clusters.map((c) => c.clusterUrn), platform);

  recordRenderedFile({ platform: "giv", host: "operator", path: "/RUNBOOK.md", mode: "0644", secret: false, content: plan.runbook });

  return {
    appName: spec.name,
    appId: app.id,
    liveUrl: app.liveUrl,
    url: plan.outputs.url,
    postgres: { liveCluster: postgres.cluster.name, activeCluster: postgres.active.clusterName, restoredCluster: postgres.restored?.name },
    mongodb: { liveCluster: mongodb.cluster.name, activeCluster: mongodb.active.clusterName, restoredCluster: mongodb.restored?.name },
    cache: cache.name,
  };
}
