// KRO's plan: everything the platform will declare, computed from the stack config alone and validated before any
// resource exists. `declare.ts` only turns it into resources.
import { renderedFrom } from "../../config/planInput";
import { isSecretPlaceholder } from "../../config/stackFile";
import { HOST_LAYOUT, tlsPaths } from "../../lib/hostLayout";
import { projectFileMounts, stopOrder, type ServiceInventory } from "../../lib/inventory";
import { setJsonPath } from "../../lib/jsonPaths";
import { certbotTls, type ComposeTls } from "../../components/composeDeployment";
import type { ManagedPostgresArgs } from "../../components/managedPostgres";
import {
  certRenewCommand,
  composeRecoverCommand,
  composeServiceCommand,
  composeShutdownCommand,
  composeUpCommand,
} from "../../lib/opsCommands";
import { renderCloudInit } from "../../renderers/cloudInit";
import { renderCompose } from "../../renderers/compose";
import { renderNginxConf } from "../../renderers/nginx";
import { managedRestore } from "../database";
import type { PlanContext } from "../platform";
import type { HostPlan } from "../host";
import type { KroConfig, KroOperation } from "./config";
import { KRO_APP_SERVICES, KRO_BACKEND_CONFIG_DIR, KRO_EDGE_SERVICE, KRO_FILES, kroInventory, kroNames, kroNginxInput, type KroAppService } from "./inventory";

export interface KroPlan {
  stack: string;
  names: ReturnType<typeof kroNames>;
  host: HostPlan;
  database: KroConfig["database"];
  databaseRecovery: ManagedPostgresArgs["restore"];
  deployDir: string;
  /** Rendered files that hold no secret, by absolute path on the host. */
  files: Record<string, string>;
  /** Secret files, composed at declare time from secrets and the managed database's connection. */
  secretFiles: { productionJson: string; databaseCa: string };
  /** Where production.json takes the connection Lazarus manages (JSON paths). */
  productionJsonFields: KroConfig["app"]["productionJsonDatabaseFields"];
  /** The database CA file as the backend container reads it. */
  backendCaPath: string;
  compose: { upCommand: string };
  tls: ComposeTls;
  operations: { id: string; command: string }[];
  outputs: { urls: string[]; healthUrl: string };
}

export function kroNginxConfig(cfg: KroConfig, stack: string): string {
  const ports = Object.fromEntries(KRO_APP_SERVICES.map((s) => [s, cfg.app.services[s].port])) as Record<KroAppService, number>;
  const sites = cfg.app.sites.map((s) => ({ serverNames: [s.serverName], routes: s.routes }));
  return renderedFrom("app.sites", () => renderNginxConf(kroNginxInput({ sites, tls: tlsPaths(kroNames(stack).certName), ports })));
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
      return certRenewCommand({ force: op.force, composeDir: dir, nginxService: KRO_EDGE_SERVICE, certName: kroNames(stack).certName, acmeServer: cfg.tls.acmeServer });
  }
}

export function planKro(cfg: KroConfig, ctx: PlanContext): KroPlan {
  const { stack } = ctx;
  const names = kroNames(stack);
  const dir = cfg.app.deployDir;
  const inventory = renderedFrom("app.services", () => kroInventory(cfg, stack));
  const domains = cfg.app.sites.map((s) => s.serverName);
  const hostNeeds = { deployDir: dir, acmeWebroot: HOST_LAYOUT.acmeWebroot };
  return {
    stack,
    names,
    host: {
      name: names.host,
      platform: "kro",
      placement: cfg.host,
      needs: hostNeeds,
      userData: renderedFrom("app.deployDir", () => renderCloudInit(hostNeeds)),
      rebuild: cfg.recovery.host,
      publicPorts: [80, 443],
      healthUrl: cfg.app.healthUrl,
      sshKeySecret: "kroSshPrivateKey",
    },
    database: cfg.database,
    databaseRecovery: managedRestore(cfg.recovery.database),
    deployDir: dir,
    files: {
      [`${dir}/${KRO_FILES.compose}`]: renderedFrom("app.services", () => renderCompose({ name: "production", services: inventory })),
      [`${dir}/${KRO_FILES.nginxConf}`]: kroNginxConfig(cfg, stack),
    },
    secretFiles: { productionJson: `${dir}/${KRO_FILES.productionJson}`, databaseCa: `${dir}/${names.caFile}` },
    productionJsonFields: cfg.app.productionJsonDatabaseFields,
    backendCaPath: `${KRO_BACKEND_CONFIG_DIR}/${names.caFile}`,
    compose: {
      // --watch: a changed production.json (a database cutover) restarts the backend, a changed nginx.conf nginx.
      upCommand: composeUpCommand({ dir, scriptsRoot: HOST_LAYOUT.scriptsRoot, watch: projectFileMounts(inventory) }),
    },
    tls: certbotTls({
      certName: names.certName,
      domains,
      email: cfg.tls.email,
      acmeServer: cfg.tls.acmeServer,
      composeDir: dir,
      edgeService: KRO_EDGE_SERVICE,
      restartEdgeCommand: composeServiceCommand({ dir, action: "restart", service: KRO_EDGE_SERVICE, wait: true }),
    }),
    operations: cfg.operations.map((op) => ({ id: op.id, command: renderedFrom(`operations`, () => operationCommand(op, cfg, inventory, stack)) })),
    outputs: { urls: domains.map((d) => `https://${d}`), healthUrl: cfg.app.healthUrl },
  };
}

/** production.json with the database connection Lazarus manages written into it at the configured JSON paths. */
export function productionJsonWithDatabase(
  secretJson: string,
  fields: KroConfig["app"]["productionJsonDatabaseFields"],
  db: { host: string; port: number; name: string; user: string; password: string; caFile: string },
): string {
  let doc: unknown;
  try {
    doc = isSecretPlaceholder(secretJson) ? {} : JSON.parse(secretJson);
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
