// Declares GoodGo's plan: the off-site backup bucket, the host and the compose deployment (files, prepare, recovery
// chains, compose up, TLS, operations). No decisions here: every file, command and name comes from the plan (plan.ts).
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { ComposeDeployment } from "../../components/composeDeployment";
import type { HostFileSpec } from "../../components/hostSoftware";
import { renderRedisAcl } from "../../renderers/redisConf";
import { declareHost } from "../host";
import type { DeclareContext } from "../platform";
import { goodgoContainerSecretFiles, goodgoEnvText, goodgoPgbouncerUserlist, goodgoSecretValues } from "./env";
import type { GoodgoPlan } from "./plan";
import type { GoodgoSecretMount } from "./services";

export function declareGoodgo(plan: GoodgoPlan, ctx: DeclareContext) {
  const { names, config: cfg } = plan;
  const env = ctx.environment;
  const platform = new pulumi.ComponentResource("lazarus:platform:GoodGo", names.prefix, {});
  const parent = { parent: platform };

  // Off-site backups (sections 4.1/4.6): a private bucket whose lifecycle rule expires old copies; one that already
  // exists is used as it is.
  const offsite = cfg.backups.offsite;
  const bucket = offsite.existing
    ? undefined
    : new digitalocean.SpacesBucket(
        names.bucket,
        {
          name: offsite.bucket,
          region: offsite.region,
          acl: "private",
          versioning: { enabled: true },
          lifecycleRules: [
            {
              id: "expire-old-backups",
              enabled: true,
              prefix: offsite.prefix,
              expiration: { days: offsite.lifecycleDays },
              noncurrentVersionExpiration: { days: 7 },
              abortIncompleteMultipartUploadDays: 1,
            },
          ],
        },
        { ...parent, protect: env.protect },
      );

  const { host, projectUrns, sshCommand } = declareHost(plan.host, ctx, platform);

  const secretValues = goodgoSecretValues(ctx.secrets);
  const containerSecrets = secretValues.apply((s) => goodgoContainerSecretFiles(cfg, s));
  const files: HostFileSpec[] = [
    ...Object.entries(plan.files).map(([path, content]): HostFileSpec => ({ path, content, mode: "0644", secret: false })),
    // Section 8's variables, secrets among them: 0600, shipped only as a Pulumi secret.
    { path: plan.secretFiles.env, content: secretValues.apply((s) => goodgoEnvText(cfg, s)), mode: "0600", secret: true },
    { path: plan.secretFiles.slackWebhook, content: ctx.secrets("goodgoSlackWebhook").apply((u) => `${u}\n`), mode: "0600", secret: true },
    // The Redis password as a SHA-256 hash in the ACL file (still derived from a secret: shipped as one).
    { path: plan.secretFiles.redisAcl, content: ctx.secrets("goodgoRedisPassword").apply((p) => renderRedisAcl([{ name: "default", password: p }])), mode: "0600", secret: true },
    // PgBouncer's auth_file: the application user and pgbouncer_admin (the runbook's SHOW POOLS).
    { path: plan.secretFiles.pgbouncerUserlist, content: secretValues.apply((s) => goodgoPgbouncerUserlist(cfg, s)), mode: "0600", secret: true },
    // The secrets each container reads from a file rather than its environment (GOODGO_SECRET_MOUNTS).
    ...Object.entries(plan.secretFiles.containers).map(([key, path]): HostFileSpec => ({
      path,
      content: containerSecrets.apply((f) => f[key as GoodgoSecretMount]),
      mode: "0600",
      secret: true,
    })),
  ];

  new ComposeDeployment(
    `${names.prefix}-deployment`,
    {
      platform: "goodgo",
      prefix: names.prefix,
      host,
      hostNeeds: plan.host.needs,
      files,
      // The secret files are re-chowned to their container users whenever they are rewritten.
      prepare: plan.prepare,
      recoveryChains: plan.recoveryChains,
      // A new image tag (a rollback) re-runs `up -d --wait` like a changed file does.
      up: { command: plan.compose.upCommand, triggers: [plan.compose.imageTag] },
      tls: plan.tls,
      operations: plan.operations,
    },
    parent,
  );

  const projectResources = [...projectUrns, ...(bucket ? [bucket.bucketUrn] : [])];
  if (projectResources.length) ctx.digitalocean!.attach(`${names.prefix}-project-resources`, projectResources, platform);

  return {
    publicIp: host.publicIp,
    privateIp: host.privateIp,
    urls: plan.outputs.urls ?? [pulumi.interpolate`http://${host.publicIp}:3000`],
    grafana: pulumi.interpolate`http://${host.publicIp}:${cfg.grafana.port}`,
    healthUrl: plan.outputs.healthUrl,
    imageTag: plan.compose.imageTag,
    ssh: sshCommand,
    offsiteBucket: bucket?.name ?? offsite.bucket,
    offsiteEndpoint: bucket?.bucketDomainName ?? `${offsite.bucket}.${offsite.region}.digitaloceanspaces.com`,
  };
}
