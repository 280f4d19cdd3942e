// The command lines that `command.remote.Command` resources run over SSH on a compose host for the runbook
// operations (graceful shutdown, stop/start/restart one service, recovery after a reboot, certificate issuance and
// renewal). Pure: no Pulumi imports, typed options in, one shell command string out. Each function checks its
// options and throws RenderInputError with the function as its renderer and a problem naming the option, what was
// expected and an example, so bad stack config fails before anything is declared. Every argument is shell-quoted.
//
// The scripts live in scripts/ops/ and are copied to the host (default /opt/lazarus/scripts) by a CopyToRemote;
// the commands run them with `bash <path>` so they work even when the copy does not keep the executable bit.

export const DEFAULT_SCRIPTS_ROOT = HOST_LAYOUT.scriptsRoot;

import { HOST_LAYOUT } from "./hostLayout";
import { CERT_NAME, DOMAIN_NAME, EMAIL_ADDRESS } from "./patterns";
import { shellJoin, shellQuote } from "./shell";
import { refuseField } from "../renderers/renderInputError";

// Characters that never need quoting in a POSIX shell word (no globbing, expansion, splitting or tilde).

/**
 * Quotes one argument for a POSIX shell (bash, dash, sh): returned as is when it is made only of safe characters,
 * otherwise wrapped in single quotes with each embedded single quote written as '\''. The shell reads the result
 * back as exactly the original string. NUL cannot be passed in an argument, so it is rejected.
 */
/** Quoting lives in lib/shell.ts (one implementation for every host command); re-exported for callers of this module. */
export { shellQuote, shellJoin };

// ---- validation -------------------------------------------------------------------------------------------------

/** docker compose's rule for service names. */
export const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** docker compose's rule for project names. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const MAX_SECONDS = 999_999_999;

function fail(fn: string, option: string, value: unknown, expected: string, example: string): never {
  refuseField(fn, option, `${JSON.stringify(value)} is not ${expected} (example: ${example})`);
}

function absPath(fn: string, option: string, value: unknown, example: string): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== "string" || !value.startsWith("/") || /[\x00-\x1f\x7f]/.test(value)) {
    fail(fn, option, value, "an absolute path without control characters", example);
  }
  return value;
}

function service(fn: string, option: string, value: unknown): string {
  if (typeof value !== "string" || !SERVICE_NAME.test(value)) {
    fail(fn, option, value, "a compose service name (letters, digits, '_', '.', '-')", "backend");
  }
  return value;
}

function project(fn: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !PROJECT_NAME.test(value)) {
    fail(fn, "projectName", value, "a compose project name (lowercase letters, digits, '-', '_')", "kro-production");
  }
  return value;
}

function seconds(fn: string, option: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > MAX_SECONDS) {
    fail(fn, option, value, `a whole number of seconds >= ${min}`, "300");
  }
  return value;
}

function acmeServer(fn: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let ok = false;
  if (typeof value === "string" && !/\s/.test(value)) {
    try {
      ok = new URL(value).protocol === "https:";
    } catch {
      ok = false;
    }
  }
  if (!ok) fail(fn, "acmeServer", value, "an https:// ACME directory URL", "https://acme-staging-v02.api.letsencrypt.org/directory");
  return value as string;
}

function certName(fn: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !CERT_NAME.test(value)) fail(fn, "certName", value, "a certbot lineage name", "kro.example.org");
  return value;
}

function scriptPath(fn: string, root: unknown, script: string): string {
  const dir = absPath(fn, "scriptsRoot", root ?? DEFAULT_SCRIPTS_ROOT, DEFAULT_SCRIPTS_ROOT).replace(/\/+$/, "");
  return `${dir}/ops/${script}`;
}

function run(fn: string, root: unknown, script: string, args: string[]): string {
  return shellJoin(["bash", scriptPath(fn, root, script), ...args]);
}

function projectArgs(name: string | undefined): string[] {
  return name === undefined ? [] : ["--project-name", name];
}

export interface CertbotDirs {
  /** certbot --config-dir (default /etc/letsencrypt; renewal hooks are installed under it). */
  configDir?: string;
  /** certbot --work-dir (default /var/lib/letsencrypt). */
  workDir?: string;
  /** certbot --logs-dir (default /var/log/letsencrypt). */
  logsDir?: string;
}

function certbotDirArgs(fn: string, dirs: CertbotDirs | undefined): string[] {
  if (dirs === undefined) return [];
  const out: string[] = [];
  if (dirs.configDir !== undefined) out.push("--config-dir", absPath(fn, "certbotDirs.configDir", dirs.configDir, "/etc/letsencrypt"));
  if (dirs.workDir !== undefined) out.push("--work-dir", absPath(fn, "certbotDirs.workDir", dirs.workDir, "/var/lib/letsencrypt"));
  if (dirs.logsDir !== undefined) out.push("--logs-dir", absPath(fn, "certbotDirs.logsDir", dirs.logsDir, "/var/log/letsencrypt"));
  return out;
}

// ---- commands ---------------------------------------------------------------------------------------------------

interface ComposeTarget {
  /** Absolute path of the compose project directory on the host. */
  dir: string;
  /** docker compose -p; default: compose's own (the directory name). */
  projectName?: string;
  /** Where scripts/ was copied on the host (default /opt/lazarus/scripts). */
  scriptsRoot?: string;
}

const EXAMPLE_DIR = "/root/Kro/kro-devops/production";

/** `--dir DIR [--project-name NAME]`: the compose project every compose script acts on, checked. */
function targetArgs(fn: string, o: ComposeTarget): string[] {
  return ["--dir", absPath(fn, "dir", o.dir, EXAMPLE_DIR), ...projectArgs(project(fn, o.projectName))];
}

export interface ComposeUpOptions extends ComposeTarget {
  /** How long `docker compose up --wait` waits for health checks (default 300 in the script). */
  waitTimeoutSeconds?: number;
  /**
   * Service → paths relative to the project directory that it mounts (lib/inventory projectFileMounts): the script
   * restarts a service whose files changed since its last successful run (compose alone would not).
   */
  watch?: Record<string, readonly string[]>;
}

/** `docker compose up -d --wait --remove-orphans` in the project directory, reporting every service's state. */
export function composeUpCommand(o: ComposeUpOptions): string {
  const fn = "composeUpCommand";
  const args = targetArgs(fn, o);
  const wait = seconds(fn, "waitTimeoutSeconds", o.waitTimeoutSeconds, 1);
  if (wait !== undefined) args.push("--wait-timeout", String(wait));
  for (const [name, paths] of Object.entries(o.watch ?? {})) {
    service(fn, "watch", name);
    if (!paths.length) fail(fn, `watch.${name}`, paths, "a non-empty list of paths", '["production.json"]');
    for (const p of paths) {
      if (!/^[A-Za-z0-9_.][A-Za-z0-9_./-]*$/.test(p) || p.includes("..")) fail(fn, `watch.${name}`, p, "a path relative to the project directory", "monitoring/prometheus");
    }
    args.push("--watch", `${name}=${paths.join(",")}`);
  }
  return run(fn, o.scriptsRoot, "compose-up.sh", args);
}

export interface ComposeShutdownOptions extends ComposeTarget {
  /** Services in the order to stop them (from the service inventory: dependents first). At least one, no repeats. */
  stopOrder: readonly string[];
  /** Seconds each service gets to stop before SIGKILL (default 30 in the script). */
  stopTimeoutSeconds?: number;
}

/** Graceful shutdown: stop the services one by one in stopOrder, then `docker compose down`. */
export function composeShutdownCommand(o: ComposeShutdownOptions): string {
  const fn = "composeShutdownCommand";
  const args = targetArgs(fn, o);
  const timeout = seconds(fn, "stopTimeoutSeconds", o.stopTimeoutSeconds, 0);
  if (timeout !== undefined) args.push("--timeout", String(timeout));
  if (!Array.isArray(o.stopOrder) || o.stopOrder.length === 0) {
    fail(fn, "stopOrder", o.stopOrder, "a non-empty list of services", '["nginx", "frontend", "backend"]');
  }
  const seen = new Set<string>();
  for (const [i, s] of o.stopOrder.entries()) {
    service(fn, `stopOrder[${i}]`, s);
    if (seen.has(s)) fail(fn, `stopOrder[${i}]`, s, "a service not already in the order", '["nginx", "backend"]');
    seen.add(s);
  }
  return run(fn, o.scriptsRoot, "compose-shutdown.sh", [...args, "--", ...o.stopOrder]);
}

export type ServiceAction = "stop" | "start" | "restart";

export interface ComposeServiceOptions extends ComposeTarget {
  action: ServiceAction;
  service: string;
  /** After start/restart, wait until the service is running and healthy (not allowed with stop). */
  wait?: boolean;
  waitTimeoutSeconds?: number;
  /** Seconds to stop before SIGKILL, for stop and restart (default 30 in the script). */
  stopTimeoutSeconds?: number;
}

/** Stop, start or restart one service of the compose project. */
export function composeServiceCommand(o: ComposeServiceOptions): string {
  const fn = "composeServiceCommand";
  const args = targetArgs(fn, o);
  if (o.action !== "stop" && o.action !== "start" && o.action !== "restart") {
    fail(fn, "action", o.action, "one of stop, start, restart", "restart");
  }
  const name = service(fn, "service", o.service);
  const timeout = seconds(fn, "stopTimeoutSeconds", o.stopTimeoutSeconds, 0);
  if (timeout !== undefined) {
    if (o.action === "start") fail(fn, "stopTimeoutSeconds", timeout, "set for a start (it applies to stop and restart)", "omit it");
    args.push("--timeout", String(timeout));
  }
  if (o.wait !== undefined && typeof o.wait !== "boolean") fail(fn, "wait", o.wait, "a boolean", "true");
  const waitTimeout = seconds(fn, "waitTimeoutSeconds", o.waitTimeoutSeconds, 1);
  if (o.wait === true) {
    if (o.action === "stop") fail(fn, "wait", o.wait, "allowed with stop (it waits for health after start/restart)", "false");
    args.push("--wait");
    if (waitTimeout !== undefined) args.push("--wait-timeout", String(waitTimeout));
  } else if (waitTimeout !== undefined) {
    fail(fn, "waitTimeoutSeconds", waitTimeout, "used without wait: true", "wait: true, waitTimeoutSeconds: 120");
  }
  return run(fn, o.scriptsRoot, "compose-service.sh", [...args, "--", o.action, name]);
}

export interface ComposeRecoverOptions extends ComposeTarget {
  waitTimeoutSeconds?: number;
}

/** Recovery after a reboot: start what did not come back, restart what is unhealthy, fail if anything still is. */
export function composeRecoverCommand(o: ComposeRecoverOptions): string {
  const fn = "composeRecoverCommand";
  const args = targetArgs(fn, o);
  const wait = seconds(fn, "waitTimeoutSeconds", o.waitTimeoutSeconds, 1);
  if (wait !== undefined) args.push("--wait-timeout", String(wait));
  return run(fn, o.scriptsRoot, "compose-recover.sh", args);
}

export interface CertIssueOptions {
  /** Names on the certificate; the first names the lineage unless certName is set. */
  domains: readonly string[];
  /** ACME account contact. */
  email: string;
  /** Directory nginx serves under /.well-known/acme-challenge/ on port 80. */
  webroot: string;
  /** Compose project whose nginx service is restarted after issuance and after every renewal. */
  composeDir?: string;
  nginxService?: string;
  projectName?: string;
  /** Instead of a compose service: the systemd unit of an nginx running on the host itself (e.g. "nginx"). */
  systemdUnit?: string;
  certName?: string;
  /** ACME directory URL; default certbot's (Let's Encrypt production). */
  acmeServer?: string;
  certbotDirs?: CertbotDirs;
  /** How long nginx may take to be running and healthy after its restart (default 120 in the script). */
  nginxWaitTimeoutSeconds?: number;
  scriptsRoot?: string;
}

/** systemd's rule for a unit name (the part before ".service"). */
const SYSTEMD_UNIT = /^[A-Za-z0-9][A-Za-z0-9@._:-]*$/;

/** The nginx the cert scripts restart: a compose service (dir, service, project) or a systemd unit, never both. */
function edgeArgs(fn: string, o: { composeDir?: string; nginxService?: string; projectName?: string; systemdUnit?: string }): string[] {
  if (o.systemdUnit !== undefined) {
    if (o.composeDir !== undefined || o.nginxService !== undefined || o.projectName !== undefined) {
      fail(fn, "systemdUnit", o.systemdUnit, "set together with composeDir/nginxService/projectName (one nginx: a unit or a compose service)", "nginx");
    }
    if (typeof o.systemdUnit !== "string" || !SYSTEMD_UNIT.test(o.systemdUnit)) fail(fn, "systemdUnit", o.systemdUnit, "a systemd unit name", "nginx");
    return ["--systemd-unit", o.systemdUnit];
  }
  return [
    "--compose-dir", absPath(fn, "composeDir", o.composeDir, EXAMPLE_DIR),
    "--nginx-service", service(fn, "nginxService", o.nginxService),
    ...projectArgs(project(fn, o.projectName)),
  ];
}

/** certbot certonly --webroot (idempotent), plus a deploy hook that restarts nginx after every renewal. */
export function certIssueCommand(o: CertIssueOptions): string {
  const fn = "certIssueCommand";
  if (!Array.isArray(o.domains) || o.domains.length === 0) fail(fn, "domains", o.domains, "a non-empty list of domain names", '["kro.example.org"]');
  const args: string[] = [];
  const seen = new Set<string>();
  for (const [i, d] of o.domains.entries()) {
    if (typeof d !== "string" || !DOMAIN_NAME.test(d)) fail(fn, `domains[${i}]`, d, "a lowercase DNS name", "kro.example.org");
    if (seen.has(d)) fail(fn, `domains[${i}]`, d, "a domain not already listed", '["kro.example.org", "www.kro.example.org"]');
    seen.add(d);
    args.push("--domain", d);
  }
  if (typeof o.email !== "string" || !EMAIL_ADDRESS.test(o.email)) fail(fn, "email", o.email, "an email address", "ops@example.org");
  args.push("--email", o.email);
  args.push("--webroot", absPath(fn, "webroot", o.webroot, "/var/www/certbot"));
  args.push(...edgeArgs(fn, o));
  const name = certName(fn, o.certName);
  if (name !== undefined) args.push("--cert-name", name);
  const server = acmeServer(fn, o.acmeServer);
  if (server !== undefined) args.push("--server", server);
  args.push(...certbotDirArgs(fn, o.certbotDirs));
  const wait = seconds(fn, "nginxWaitTimeoutSeconds", o.nginxWaitTimeoutSeconds, 1);
  if (wait !== undefined) args.push("--wait-timeout", String(wait));
  return run(fn, o.scriptsRoot, "cert-issue.sh", args);
}

export interface CertRenewOptions {
  /** certbot --force-renewal: renew even when not due (the runbook's "Certificate Renewal Recovery"). */
  force: boolean;
  composeDir?: string;
  nginxService?: string;
  projectName?: string;
  /** Instead of a compose service: the systemd unit of an nginx running on the host itself (e.g. "nginx"). */
  systemdUnit?: string;
  /** Renew only this lineage (default: all). */
  certName?: string;
  acmeServer?: string;
  certbotDirs?: CertbotDirs;
  /** How long nginx may take to be running and healthy after its restart (default 120 in the script). */
  nginxWaitTimeoutSeconds?: number;
  scriptsRoot?: string;
}

/** certbot renew (forced when force), then restart the nginx service once and check it is running and healthy. */
export function certRenewCommand(o: CertRenewOptions): string {
  const fn = "certRenewCommand";
  if (typeof o.force !== "boolean") fail(fn, "force", o.force, "a boolean", "true");
  const args = edgeArgs(fn, o);
  if (o.force) args.push("--force");
  const name = certName(fn, o.certName);
  if (name !== undefined) args.push("--cert-name", name);
  const server = acmeServer(fn, o.acmeServer);
  if (server !== undefined) args.push("--server", server);
  args.push(...certbotDirArgs(fn, o.certbotDirs));
  const wait = seconds(fn, "nginxWaitTimeoutSeconds", o.nginxWaitTimeoutSeconds, 1);
  if (wait !== undefined) args.push("--wait-timeout", String(wait));
  return run(fn, o.scriptsRoot, "cert-renew.sh", args);
}
