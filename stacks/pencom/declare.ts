// Declares Pencom's plan on its existing server: the scripts and files (ecosystem, fleet file, runbook, one 0600 .env per
// service), then host setup (service user, PM2 pinned, pm2-logrotate, PM2 at boot) → .env files handed to the service
// user → the fleet converged tier by tier (pm2-fleet.sh deploy) → runbook operations. Recovery switches add their
// steps: a restore whose result line names the database core's .env then points at; a MongoDB restore beside the live
// database with notifications stopped and started around the cutover; a verified core copy swapped in by name with
// core stopped and started around it. No decisions here: all of it is in plan.ts.
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { ExistingHost } from "../../components/existingHost";
import { HostSoftware, ONCE_UPDATE, hostCommand, type HostFileSpec } from "../../components/hostSoftware";
import { OFFSITE_REPO } from "../../lib/postgresPitr";
import { renderPgBackRestSecretsConf } from "../../renderers/pgbackrest";
import { declareHost } from "../host";
import type { DeclareContext } from "../platform";
import { pencomEnvFile, restoredDatabaseFrom, type PencomPlan, type PencomSecrets } from "./plan";

export function declarePencom(plan: PencomPlan, ctx: DeclareContext) {
  const { names } = plan;
  const platform = new pulumi.ComponentResource("lazarus:platform:Pencom", names.prefix, {});
  const { host, sshCommand } = declareHost(plan.host, ctx, platform);
  const s = ctx.secrets;
  const { connection, machineId } = host;

  const secrets: pulumi.Output<PencomSecrets> = pulumi
    .all([s("pencomCoreDbPassword"), s("pencomIntegrationsDbPassword"), s("pencomMongoPassword"), s("pencomRedisPassword"), s("pencomOraclePassword"), s("pencomAppEnv")])
    .apply(([coreDbPassword, integrationsDbPassword, mongoPassword, redisPassword, oraclePassword, appEnv]) => ({
      coreDbPassword, integrationsDbPassword, mongoPassword, redisPassword, oraclePassword, appEnv,
    }));
  const envFile = (service: string, databases: pulumi.Input<{ core?: string; notifications?: string }> = {}): HostFileSpec => ({
    path: plan.envFiles[service]!,
    content: pulumi.all([secrets, databases]).apply(([sec, dbs]) => pencomEnvFile(plan.config, service, sec, dbs)),
    mode: "0600",
    secret: true,
  });

  // Files whose content waits for a recovery step are written after it (HostSoftware.writeFiles); the rest now.
  const core = plan.recovery.coreDatabase;
  const mongo = plan.recovery.notificationsDatabase;
  const late = new Set([...(core?.cutover ? ["core"] : []), ...(mongo?.cutover ? ["notifications"] : [])]);
  const software = new HostSoftware(
    `${names.prefix}-software`,
    {
      platform: "pencom",
      host,
      needs: plan.host.needs,
      files: [
        ...Object.entries(plan.files).map(([path, content]) => ({ path, content, mode: "0644" as const, secret: false })),
        ...Object.keys(plan.envFiles).filter((n) => !late.has(n)).map((n) => envFile(n)),
      ],
    },
    { parent: platform },
  );
  const digest = (path: string) => software.fileDigests.get(path)!;
  const step = (key: string, create: string, triggers: pulumi.Input<unknown>[], dependsOn: pulumi.Input<pulumi.Resource>[], once = false) =>
    hostCommand(`${names.prefix}-${key}`, { connection, create, triggers: [machineId, ...triggers], dependsOn, once }, platform);
  /** A one-shot recovery step whose stdin is a secret (a database password), its output kept secret. */
  const secretStep = (key: string, create: string, stdin: pulumi.Output<string>, triggers: unknown[], dependsOn: pulumi.Input<pulumi.Resource>[]) =>
    new command.remote.Command(
      `${names.prefix}-${key}`,
      { connection, create, stdin: pulumi.secret(stdin), triggers: [machineId, ...triggers], update: ONCE_UPDATE, logging: "stdout" },
      { parent: platform, dependsOn },
    );

  /** The database a restore's result line names; core's .env points at it after a cutover. */
  const restoredFrom = (stdout: pulumi.Output<string>) =>
    stdout.apply((out) => {
      const name = restoredDatabaseFrom(out ?? "");
      if (name) return name;
      // A preview does not know the result yet; an update that got no result line must not point core anywhere.
      if (pulumi.runtime.isDryRun()) return "<the restored database named by the restore's result line>";
      throw new Error(`${names.prefix}: the core database restore printed no restored_database; core's .env is left as it was`);
    });
  const setup = step("host-setup", plan.commands.hostSetup, [], software.installed);

  // The PostgreSQL server (postgres.pitr): its own SSH login with the same key, the pgBackRest files, then the setup
  // (archiving on, first full backup, timers), re-run when one of its files changes.
  let pgServer: { connection: typeof connection; prepared: pulumi.Input<pulumi.Resource>[]; setup: pulumi.Resource } | undefined;
  if (plan.postgresServer) {
    const ps = plan.postgresServer;
    // postgres.pitr.offsite: the bucket (private, versioned; pgBackRest keeps its own retention, so no lifecycle rule),
    // protected on prod; one that exists already is used as is.
    const bucket =
      ps.offsite && !ps.offsite.existing
        ? new digitalocean.SpacesBucket(`${ps.name}-pgbackrest`, { name: ps.offsite.bucket, region: ps.offsite.region, acl: "private", versioning: { enabled: true } }, { parent: platform, protect: ctx.environment.protect })
        : undefined;
    const pgHost = new ExistingHost(ps.name, { ...ps.server, privateKey: s("pencomSshPrivateKey"), ...(ps.rebuild ? { replacedAs: ps.rebuild.label } : {}) }, { parent: platform });
    const secretsFile: HostFileSpec[] = ps.offsite
      ? [
          {
            path: ps.offsite.secretsFile,
            content: pulumi
              .all([s("pencomPgbackrestCipherPass"), s("pencomSpacesAccessKey"), s("pencomSpacesSecretKey")])
              .apply(([cipherPass, s3Key, s3KeySecret]) => renderPgBackRestSecretsConf({ cipherPass, s3Key, s3KeySecret }, OFFSITE_REPO)),
            mode: "0600",
            secret: true,
          },
        ]
      : [];
    const pgSoftware = new HostSoftware(
      `${ps.name}-software`,
      {
        platform: "pencom",
        host: pgHost,
        needs: ps.needs,
        files: [...Object.entries(ps.files).map(([path, content]) => ({ path, content, mode: "0644" as const, secret: false })), ...secretsFile],
      },
      { parent: platform },
    );
    const inBucket = bucket ? [bucket] : [];
    // The replacement server's cluster comes back from the off-site repository before the setup archives and backs up.
    // Marked done, the restore is not declared (the label stays in the machine id above, so nothing there runs again).
    const rebuild = ps.rebuild;
    const rebuilt = rebuild?.restore
      ? [hostCommand(`${ps.name}-server-restore-${rebuild.label}`, { connection: pgHost.connection, create: rebuild.restore, triggers: [rebuild.label], dependsOn: [...pgSoftware.installed, ...inBucket], once: true }, platform)]
      : [];
    const pitrSetup = hostCommand(
      `${ps.name}-pitr-setup`,
      {
        connection: pgHost.connection,
        create: ps.setup,
        triggers: [pgHost.machineId, ...[...Object.keys(ps.files), ...secretsFile.map((f) => f.path)].map((p) => pgSoftware.fileDigests.get(p)!)],
        dependsOn: [...pgSoftware.installed, ...inBucket, ...rebuilt],
      },
      platform,
    );
    pgServer = { connection: pgHost.connection, prepared: pgSoftware.prepared, setup: pitrSetup };
  }

  const lateWriters: pulumi.Resource[] = [];
  if (core?.on === "postgres" && pgServer) {
    // The point-in-time restore runs on the PostgreSQL server as postgres over the local socket: no password.
    const restore = hostCommand(
      `${names.prefix}-core-db-pitr-restore-${core.label}`,
      { connection: pgServer.connection, create: core.restore, triggers: [core.label], dependsOn: [...pgServer.prepared, pgServer.setup], once: true },
      platform,
    );
    if (core.cutover) lateWriters.push(...software.writeFiles([envFile("core", restoredFrom(restore.stdout).apply((c) => ({ core: c })))]));
  } else if (core) {
    // The restore goes beside the live database; its result line names the copy (<db>_restore_<timestamp>).
    const restore = secretStep(`core-db-restore-${core.label}`, core.restore, s("pencomPostgresAdminPassword"), [core.label], software.prepared);
    if (core.cutover) lateWriters.push(...software.writeFiles([envFile("core", restoredFrom(restore.stdout).apply((c) => ({ core: c })))]));
  }
  const coreSwap = plan.recovery.coreSwapIn;
  if (coreSwap) {
    // core stopped, the verified copy swapped in under the live name (which core's .env names), before the hand-over
    // and deploy; core started after them (deploy leaves a stopped service stopped). Each step once per label and copy.
    const run = [coreSwap.label, coreSwap.swapIn];
    const stop = step(`core-db-stop-${coreSwap.label}`, coreSwap.stop, run, [setup], true);
    lateWriters.push(secretStep(`core-db-swap-in-${coreSwap.label}`, coreSwap.swap, s("pencomPostgresAdminPassword"), run, [stop]));
  }
  if (mongo) {
    const restore = secretStep(`notifications-db-restore-${mongo.label}`, mongo.restore, s("pencomMongoPassword"), [mongo.label], software.prepared);
    if (mongo.cutover) {
      // notifications stops before its .env changes and starts again after (step "notifications-start" below).
      const stop = step(`notifications-stop-${mongo.label}`, mongo.stop, [mongo.label], [restore, setup], true);
      const afterStop = stop.stdout.apply(() => ({ notifications: mongo.restoredDatabase }));
      lateWriters.push(...software.writeFiles([envFile("notifications", afterStop)]));
    }
  }
  const envDigests = Object.values(plan.envFiles).map(digest);
  const handOver = step("hand-over", plan.commands.handOver, envDigests, [setup, ...lateWriters]);
  const deploy = step("deploy", plan.commands.deploy, Object.keys(plan.files).map(digest).concat(envDigests), [handOver]);
  const ready: pulumi.Resource[] = [deploy];
  if (mongo?.cutover) {
    ready.push(step(`notifications-start-${mongo.label}`, mongo.start, [mongo.label, digest(plan.envFiles.notifications!)], [deploy], true));
  }
  if (coreSwap) ready.push(step(`core-db-start-${coreSwap.label}`, coreSwap.start, [coreSwap.label, coreSwap.swapIn], [deploy], true));
  // Operations run once: a later change of their command text does not repeat a shutdown.
  // The starts after the deploy already wait for it.
  const afterAll = ready.length > 1 ? ready.slice(1) : ready;
  for (const op of plan.operations) step(`op-${op.id}`, op.command, [], afterAll, true);

  return { ssh: sshCommand, host: plan.config.host.existing.address, services: Object.keys(plan.envFiles) };
}
