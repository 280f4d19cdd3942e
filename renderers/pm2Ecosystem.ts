// A PM2 ecosystem file (`pm2 start ecosystem.config.js`) from a typed model. Pure: no Pulumi, no I/O. The file is plain
// data (a JSON object behind `module.exports =`), so it holds no code and no secret: secrets stay in the app's 0600
// `.env`, which Node reads itself (`node_args: --env-file=...`), never in PM2's process list (`pm2 env` shows `env`).
import { refuseProblems } from "./renderInputError";

const RENDERER = "pm2 ecosystem";

export interface Pm2App {
  /** The name operators type: `pm2 restart <name>`, `pm2 logs <name>`. */
  name: string;
  /** Entry point, relative to cwd or absolute (e.g. dist/index.js). */
  script: string;
  /** Absolute working directory; the app's release directory. */
  cwd: string;
  /** Number of processes; more than 1 runs in cluster mode. Default 1. */
  instances?: number;
  /** PM2 restarts a process above this memory ("512M", "1G"). */
  maxMemoryRestart?: string;
  /** Arguments to node itself (e.g. --env-file=/var/www/app/.env). */
  nodeArgs?: string[];
  /** Non-secret environment (NODE_ENV, PORT). Secrets go in the .env file. */
  env?: Record<string, string>;
  /** Log files; PM2's defaults under ~/.pm2/logs when absent. */
  outFile?: string;
  errorFile?: string;
  /** Milliseconds PM2 waits for a graceful stop before SIGKILL. Default 1600 (PM2's). */
  killTimeoutMs?: number;
}

export interface Pm2EcosystemInput {
  apps: Pm2App[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MEMORY = /^\d+[KMG]$/;
const SECRET_NAME = /(SECRET|PASSWORD|TOKEN|PRIVATE|_KEY$|API_KEY)/i;

function problems(input: Pm2EcosystemInput): string[] {
  const p: string[] = [];
  if (!input || !Array.isArray(input.apps) || input.apps.length === 0) return ["apps: expected at least one app (example: [{name: api, script: dist/index.js, cwd: /srv/api}])"];
  const seen = new Set<string>();
  input.apps.forEach((a, i) => {
    const at = `apps[${i}]`;
    if (typeof a.name !== "string" || !NAME.test(a.name)) p.push(`${at}.name: ${JSON.stringify(a.name)} is not a PM2 app name (example: bunty-backend)`);
    else if (seen.has(a.name)) p.push(`${at}.name: "${a.name}" is listed twice; PM2 would address both by one name`);
    else seen.add(a.name);
    if (typeof a.script !== "string" || a.script === "" || /\s/.test(a.script)) p.push(`${at}.script: ${JSON.stringify(a.script)} is not a script path (example: dist/index.js)`);
    if (typeof a.cwd !== "string" || !/^\/[^\0\s]*$/.test(a.cwd)) p.push(`${at}.cwd: ${JSON.stringify(a.cwd)} is not an absolute directory (example: /var/www/bunty-backend)`);
    if (a.instances !== undefined && !(Number.isInteger(a.instances) && a.instances >= 1)) p.push(`${at}.instances: ${JSON.stringify(a.instances)} is not a process count (example: 2)`);
    if (a.maxMemoryRestart !== undefined && !MEMORY.test(a.maxMemoryRestart)) p.push(`${at}.maxMemoryRestart: ${JSON.stringify(a.maxMemoryRestart)} is not a PM2 memory size (example: 1G)`);
    if (a.killTimeoutMs !== undefined && !(Number.isInteger(a.killTimeoutMs) && a.killTimeoutMs > 0)) p.push(`${at}.killTimeoutMs: ${JSON.stringify(a.killTimeoutMs)} is not a number of milliseconds (example: 10000)`);
    for (const f of ["outFile", "errorFile"] as const) {
      const v = a[f];
      if (v !== undefined && !/^\/[^\0\s]*$/.test(v)) p.push(`${at}.${f}: ${JSON.stringify(v)} is not an absolute file path (example: /var/log/app/out.log)`);
    }
    for (const [k, v] of Object.entries(a.env ?? {})) {
      if (!ENV_NAME.test(k)) p.push(`${at}.env.${k}: is not a variable name (example: NODE_ENV)`);
      else if (SECRET_NAME.test(k)) p.push(`${at}.env.${k}: looks like a secret; PM2 shows env to anyone running pm2 env, so put it in the app's 0600 .env`);
      if (typeof v !== "string") p.push(`${at}.env.${k}: is not a string (example: "production")`);
    }
    (a.nodeArgs ?? []).forEach((n, j) => {
      if (typeof n !== "string" || !/^--?[A-Za-z0-9][A-Za-z0-9_=./:-]*$/.test(n)) p.push(`${at}.nodeArgs[${j}]: ${JSON.stringify(n)} is not a node option (example: --env-file=/var/www/app/.env)`);
    });
  });
  return p;
}

/** The ecosystem.config.js text. Throws RenderInputError listing every problem. */
export function renderPm2Ecosystem(input: Pm2EcosystemInput): string {
  refuseProblems(RENDERER, problems(input));
  const apps = input.apps.map((a) => {
    const instances = a.instances ?? 1;
    return {
      name: a.name,
      script: a.script,
      cwd: a.cwd,
      instances,
      // Cluster mode shares one port across processes; fork mode is PM2's default for one.
      exec_mode: instances > 1 ? "cluster" : "fork",
      autorestart: true,
      ...(a.maxMemoryRestart ? { max_memory_restart: a.maxMemoryRestart } : {}),
      ...(a.nodeArgs?.length ? { node_args: a.nodeArgs } : {}),
      ...(a.outFile ? { out_file: a.outFile } : {}),
      ...(a.errorFile ? { error_file: a.errorFile } : {}),
      ...(a.killTimeoutMs ? { kill_timeout: a.killTimeoutMs } : {}),
      merge_logs: true,
      time: true,
      env: a.env ?? {},
    };
  });
  return `// Generated by Lazarus from the stack config; do not edit on the host.\nmodule.exports = ${JSON.stringify({ apps }, null, 2)};\n`;
}
