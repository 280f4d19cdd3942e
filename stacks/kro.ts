// KRO (runbook 000, "KRO Platform"): one droplet running docker compose (backend, frontend, admin-frontend, nginx),
// a DigitalOcean managed PostgreSQL cluster, certbot TLS. The runbook's facts are wired into generic components here.
import * as pulumi from "@pulumi/pulumi";
import type { KroConfig, KroOperation } from "../config/platforms/kro";
import { DropletHost } from "../components/dropletHost";
import { HostSoftware, hostCommand, REMOTE_SCRIPTS_ROOT } from "../components/hostSoftware";
import { ManagedPostgres } from "../components/managedPostgres";
import { projectFileMounts, stopOrder, type ServiceInventory } from "../lib/inventory";
import { kroInventory as kroInventoryFrom, kroNginxInput } from "../lib/inventories/kro";
import { setJsonPath } from "../lib/jsonPaths";
import { tlsActivateCommand, tlsBootstrapCommand } from "../lib/hostCommands";
import {
  certIssueCommand,
  certRenewCommand,
  composeRecoverCommand,
  composeServiceCommand,
  composeShutdownCommand,
  composeUpCommand,
} from "../lib/opsCommands";
import { renderCloudInit } from "../renderers/cloudInit";
import { renderCompose } from "../renderers/compose";
import { renderNginxConf } from "../renderers/nginx";
import type { PlatformContext } from "./index";
import { platformHostArgs } from "./hostArgs";

/** Where certbot's HTTP-01 challenge files live on the host; nginx serves them. */
const ACME_WEBROOT = "/var/www/certbot";
/** nginx reads the certificate through a link here: a placeholder first, then certbot's live directory. */
const TLS_DIR = "/etc/ssl/lazarus";
const LETSENCRYPT_DIR = "/etc/letsencrypt";
/** Where the backend container reads production.json and the database CA certificate. */
const BACKEND_CONFIG_DIR = "/app/config";

export function kroNames(stack: string) {
  const prefix = `kro-${stack}`;
  return {
    prefix,
    host: `${prefix}-host`,
    database: `${prefix}-db`,
    /** The runbook's file name for prod: kro-prod-db-cluster-ca-certificate.crt. */
    caFile: `${prefix}-db-cluster-ca-certificate.crt`,
    certName: prefix,
  };
}

/** KRO's service inventory from the stack config: the single source for the compose file and the stop/restart orders. */
export function kroInventory(cfg: KroConfig, stack: string): ServiceInventory {
  const app = cfg.app;
  const service = (name: "backend" | "frontend" | "admin-frontend") => {
    const s = app.services[name];
    return { image: `${s.image}:${app.imageTag}`, port: s.port, healthPath: s.healthPath, limits: { cpus: s.cpus, memoryMb: s.memoryMb } };
  };
  return kroInventoryFrom({
    backend: service("backend"),
    frontend: service("frontend"),
    adminFrontend: service("admin-frontend"),
    nginxImage: app.nginxImage,
    backendConfigTarget: `${BACKEND_CONFIG_DIR}/production.json`,
    backendCaTarget: `${BACKEND_CONFIG_DIR}/${kroNames(stack).caFile}`,
    caFile: kroNames(stack).caFile,
    tlsDir: TLS_DIR,
    letsencryptDir: LETSENCRYPT_DIR,
    acmeWebroot: ACME_WEBROOT,
  });
}

export function kroNginxConfig(cfg: KroConfig, stack: string): string {
  const names = kroNames(stack);
  const sites = cfg.app.sites.map((s) => ({ serverNames: [s.serverName], routes: s.routes }));
  return renderNginxConf(
    kroNginxInput({
      sites,
      serverNames: sites[0].serverNames,
      adminServerNames: [],
      certName: names.certName,
      tls: { certPath: `${TLS_DIR}/${names.certName}/fullchain.pem`, keyPath: `${TLS_DIR}/${names.certName}/privkey.pem` },
      backendPort: cfg.app.services.backend.port,
      frontendPort: cfg.app.services.frontend.port,
      adminFrontendPort: cfg.app.services["admin-frontend"].port,
    }),
  );
}

export function kroCloudInit(cfg: KroConfig): string {
  return renderCloudInit({ deployDir: cfg.app.deployDir, acmeWebroot: ACME_WEBROOT });
}

/** production.json with the database connection Lazarus manages written into it at the configured JSON paths. */
export function productionJsonWithDatabase(
  secretJson: string,
  fields: KroConfig["app"]["productionJsonDatabaseFields"],
  db: { host: string; port: number; name: string; user: string; password: string; caFile: string },
): string {
  let doc: unknown;
  try {
    doc = secretJson.startsWith("<unset secret") ? {} : JSON.parse(secretJson);
  } catch (e) {
    // Never echo the document: it is a secret.
    throw new Error(`lazarus:kroProductionJson is not valid JSON (${(e as Error).message.replace(/".*"/, "…")})`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new Error("lazarus:kroProductionJson must be a JSON object (example: {\"port\": 3000})");
  }
  const out = doc as Record<string, unknown>;
  setJsonPath(out, fields.host, db.host);
  setJsonPath(out, fields.port, db.port);
  setJsonPath(out, fields.name, db.name);
  setJsonPath(out, fields.user, db.user);
  setJsonPath(out, fields.password, db.password);
  setJsonPath(out, fields.caFile, db.caFile);
  return JSON.stringify(out, null, 2) + "\n";
}

function operationCommand(op: KroOperation, cfg: KroConfig, inventory: ServiceInventory, stack: string): string {
  const dir = cfg.app.deployDir;
  switch (op.action) {
    case "graceful-shutdown":
      return composeShutdownCommand({ dir, stopOrder: stopOrder(inventory).flat() });
    case "stop-service":
      return composeServiceCommand({ dir, action: "stop", service: op.service });
    case "start-service":
      return composeServiceCommand({ dir, action: "start", service: op.service, wait: true });
    case "restart-service":
      return composeServiceCommand({ dir, action: "restart", service: op.service, wait: true });
    case "recover-after-restart":
      return composeRecoverCommand({ dir });
    case "renew-certificate":
      return certRenewCommand({
        force: op.force,
        composeDir: dir,
        nginxService: "nginx",
        certName: kroNames(stack).certName,
        acmeServer: cfg.tls.acmeServer,
      });
  }
}

export function declareKro(cfg: KroConfig, ctx: PlatformContext) {
  const { stack, environment: env } = ctx.config;
  const names = kroNames(stack);
  const platform = new pulumi.ComponentResource("lazarus:platform:Kro", `kro-${stack}`, {});
  const parent = { parent: platform };
  const tags = [...ctx.environment.tags, "platform-kro"];
  const rebuild = cfg.recovery.host;

  const host = new DropletHost(
    names.host,
    platformHostArgs(ctx, {
      name: names.host,
      host: cfg.host,
      userData: kroCloudInit(cfg),
      rebuild,
      publicPorts: [80, 443],
      healthUrl: cfg.app.healthUrl,
      sshKey: "kroSshPrivateKey",
      tags,
    }),
    parent,
  );

  const db = new ManagedPostgres(
    names.database,
    {
      name: names.database,
      region: env.region,
      vpcUuid: ctx.environment.vpc.id,
      projectTags: tags,
      version: cfg.database.version,
      size: cfg.database.size,
      nodeCount: cfg.database.nodeCount,
      maintenanceWindow: cfg.database.maintenanceWindow,
      databaseName: cfg.database.databaseName,
      userName: cfg.database.userName,
      allowDropletIds: [host.dropletId],
      protect: env.protect,
      restore: cfg.recovery.database,
    },
    parent,
  );

  const inventory = kroInventory(cfg, stack);
  const dir = cfg.app.deployDir;
  const conn = db.active;
  const productionJson = pulumi
    .all([ctx.secrets("kroProductionJson"), conn.host, conn.port, conn.password])
    .apply(([json, dbHost, dbPort, password]) =>
      productionJsonWithDatabase(json, cfg.app.productionJsonDatabaseFields, {
        host: dbHost,
        port: dbPort,
        name: conn.database,
        user: conn.user,
        password,
        caFile: `${BACKEND_CONFIG_DIR}/${names.caFile}`,
      }),
    );

  const software = new HostSoftware(
    `${names.prefix}-software`,
    {
      platform: "kro",
      host,
      needs: { deployDir: dir, acmeWebroot: ACME_WEBROOT },
      files: [
        { path: `${dir}/docker-compose.yml`, content: renderCompose({ name: "production", services: inventory }), mode: "0644", secret: false },
        { path: `${dir}/nginx/nginx.conf`, content: kroNginxConfig(cfg, stack), mode: "0644", secret: false },
        { path: `${dir}/production.json`, content: productionJson, mode: "0600", secret: true },
        { path: `${dir}/${names.caFile}`, content: conn.caCertificate, mode: "0600", secret: true },
      ],
    },
    parent,
  );

  // nginx cannot start without a certificate, and certbot needs nginx to answer the challenge: a self-signed
  // placeholder bridges the first boot and is replaced by the issued certificate.
  const tlsBootstrap = hostCommand(
    `${names.prefix}-tls-bootstrap`,
    {
      connection: host.connection,
      create: tlsBootstrapCommand({ tlsDir: TLS_DIR, certName: names.certName }, cfg.app.sites[0].serverName),
      triggers: [host.droplet.id],
      dependsOn: software.installed,
    },
    platform,
  );
  const composeUp = hostCommand(
    `${names.prefix}-compose-up`,
    {
      connection: host.connection,
      // --watch: a changed production.json (a database cutover) restarts the backend, a changed nginx.conf nginx.
      create: composeUpCommand({ dir, scriptsRoot: REMOTE_SCRIPTS_ROOT, watch: projectFileMounts(inventory) }),
      // Any changed file (compose, nginx, production.json, CA) or a new host re-runs `up -d --wait`.
      triggers: [host.droplet.id, ...software.fileWriters.map((w) => w.id)],
      dependsOn: [...software.installed, tlsBootstrap],
    },
    platform,
  );
  const certificate = hostCommand(
    `${names.prefix}-certificate`,
    {
      connection: host.connection,
      create: certIssueCommand({
        domains: cfg.app.sites.map((s) => s.serverName),
        email: cfg.tls.email,
        webroot: ACME_WEBROOT,
        composeDir: dir,
        nginxService: "nginx",
        certName: names.certName,
        acmeServer: cfg.tls.acmeServer,
      }),
      triggers: [host.droplet.id, cfg.app.sites.map((s) => s.serverName).join(",")],
      dependsOn: [composeUp],
    },
    platform,
  );

  const tlsActive = hostCommand(
    `${names.prefix}-tls-activate`,
    {
      connection: host.connection,
      create: tlsActivateCommand(
        { tlsDir: TLS_DIR, certName: names.certName, letsencryptDir: LETSENCRYPT_DIR },
        composeServiceCommand({ dir, action: "restart", service: "nginx", wait: true }),
      ),
      triggers: [host.droplet.id],
      dependsOn: [certificate],
    },
    platform,
  );

  // Runbook operations: each entry runs once (its id names the resource); a new id runs it again.
  for (const op of cfg.operations) {
    hostCommand(
      `${names.prefix}-op-${op.id}`,
      { connection: host.connection, create: operationCommand(op, cfg, inventory, stack), dependsOn: [composeUp, tlsActive] },
      platform,
    );
  }

  ctx.environment.attach(
    `${names.prefix}-project-resources`,
    [host.droplet.dropletUrn, host.reservedIp.reservedIpUrn, db.cluster.clusterUrn, ...(db.restored ? [db.restored.clusterUrn] : [])],
    platform,
  );

  return {
    publicIp: host.publicIp,
    privateIp: host.privateIp,
    urls: cfg.app.sites.map((s) => `https://${s.serverName}`),
    healthUrl: cfg.app.healthUrl,
    ssh: pulumi.interpolate`ssh ${env.sshUser}@${host.publicIp}`,
    database: {
      liveCluster: db.cluster.name,
      activeCluster: conn.clusterName,
      host: conn.host,
      port: conn.port,
      name: conn.database,
      user: conn.user,
      password: conn.password,
      restoredCluster: db.restored?.name,
    },
  };
}
