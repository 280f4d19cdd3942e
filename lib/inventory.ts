// The service inventory of a compose host: one typed record per service (image, ports, limits, health check,
// dependencies, role). It is the single source of truth the compose file, the start/stop/rolling-restart orders,
// the operator docs and the monitoring targets derive from (DESIGN.md, principle 2). Pure data and pure functions:
// no Pulumi, no I/O.
//
// String fields (image, command, environment values, health-check commands, volume sources) are Compose strings:
// `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$VAR` are interpolated by Compose from the shell and the
// project's `.env`; a literal `$` (for the container's own shell, e.g. `pg_isready -U $${POSTGRES_USER}`) is `$$`.
// Validation rejects malformed interpolation before Compose would.

import { refuseProblems } from "../renderers/renderInputError";

export type ServiceRole = "data" | "app" | "edge" | "monitoring" | "backup";
export const SERVICE_ROLES: readonly ServiceRole[] = ["data", "app", "edge", "monitoring", "backup"];

/** healthy: the dependency's health check passes; started: its container runs; completed: it exited 0 (one-shot jobs). */
export type DependencyCondition = "healthy" | "started" | "completed";

export interface Dependency {
  service: string;
  condition: DependencyCondition;
}

export type Protocol = "tcp" | "udp";

export interface PortSpec {
  /** Port the process listens on inside the container. */
  container: number;
  /** Host port to publish it on; absent means internal only (reachable from the compose network, `expose`). */
  published?: number;
  protocol?: Protocol;
  /** Host address to bind the published port to (default: every address, IPv4 and IPv6). 127.0.0.1 for host-local. */
  bind?: string;
  /** What this port is for (docs only), e.g. "MinIO console". */
  description?: string;
}

/** A value taken from the host's env file / shell at compose time. */
export interface EnvRef {
  fromEnv: string;
  /** Fail `docker compose` with a clear message when the variable is unset or empty. */
  required?: boolean;
  /** Value used when unset or empty (ignored when required). */
  default?: string;
}
export type EnvValue = string | number | boolean | EnvRef;

export interface VolumeMount {
  /** "volume": a named volume declared at the project's top level; "bind": a host path (absolute or ./relative). */
  kind: "volume" | "bind";
  source: string;
  target: string;
  readOnly?: boolean;
}

export type HealthTest = { exec: string[] } | { shell: string };

export interface HealthCheck {
  /** exec: the argv, run without a shell (rendered ["CMD", ...argv]; a leading "CMD" is tolerated);
   *  shell: a command for /bin/sh in the container (rendered ["CMD-SHELL", command]). */
  test: HealthTest;
  /** Compose durations: "10s", "1m30s", "500ms". */
  interval?: string;
  timeout?: string;
  retries?: number;
  startPeriod?: string;
}

export type RestartPolicy = "no" | "always" | "on-failure" | "unless-stopped";

export interface LogRotation {
  /** json-file max-size per file, e.g. "10m". */
  maxSize: string;
  /** json-file max-file: how many rotated files are kept. */
  maxFile: number;
}

export interface ResourceLimits {
  /** CPU cores (fractions allowed). */
  cpus: number;
  /** Memory ceiling in MiB. */
  memoryMb: number;
}

export interface ServiceSpec {
  name: string;
  /** e.g. "postgis/postgis:16-3.4" or "${REGISTRY_URL}/goodgo-api:${IMAGE_TAG}". */
  image: string;
  /**
   * Built on the host from a Dockerfile the plan ships (context relative to the deploy directory) and tagged `image`;
   * compose builds it instead of pulling (pull_policy build: a locally built tag is never looked up in a registry).
   */
  build?: { context: string; dockerfile?: string };
  role: ServiceRole;
  tags?: string[];
  description?: string;
  /** Fixed container name (the runbooks `docker exec goodgo-postgres ...`). */
  containerName?: string;
  /** A string is run by the image's shell form; an array is exec form. */
  command?: string | string[];
  entrypoint?: string | string[];
  user?: string;
  workingDir?: string;
  ports?: PortSpec[];
  environment?: Record<string, EnvValue>;
  /** Env files (paths relative to the deploy directory), loaded into the container's environment. */
  envFile?: string[];
  volumes?: VolumeMount[];
  limits?: ResourceLimits;
  /** /dev/shm size in MiB (PostgreSQL parallel queries need more than Docker's 64 MiB default). */
  shmSizeMb?: number;
  healthcheck?: HealthCheck;
  /** Default "unless-stopped" (a host reboot brings the service back unless an operator stopped it). */
  restart?: RestartPolicy;
  /** Default json-file rotation of the renderer (10m x 3) when absent. */
  logging?: LogRotation;
  dependsOn?: Dependency[];
  labels?: Record<string, string>;
  /** Networks declared at the project's top level; absent means the project's default network. */
  networks?: string[];
  /** Time allowed for a graceful stop before SIGKILL, e.g. "30s". */
  stopGracePeriod?: string;
}

export interface ServiceInventory {
  /** In declaration order; names are unique and every dependency resolves (checked by defineInventory). */
  readonly services: readonly ServiceSpec[];
}

const SERVICE_NAME = /^[a-z0-9][a-z0-9_.-]*$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const DURATION = /^(\d+h)?(\d+m(?!s))?(\d+s)?(\d+ms)?$/;
const SIZE = /^\d+[kmg]$/;
const RESTARTS: readonly RestartPolicy[] = ["no", "always", "on-failure", "unless-stopped"];
const CONDITIONS: readonly DependencyCondition[] = ["healthy", "started", "completed"];

export interface VariableReference {
  name: string;
  /** `${VAR:?msg}` / `${VAR?msg}`: Compose refuses to run without it. */
  required: boolean;
  /** `${VAR:-x}` / `${VAR-x}`: has a fallback. */
  hasDefault: boolean;
}

/**
 * Parses Compose interpolation in one string and returns the variables it references.
 * Throws on syntax Compose would reject (a lone `$`, `${` without `}`, an invalid name).
 */
export function interpolationReferences(text: string): VariableReference[] {
  const refs: VariableReference[] = [];
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf("$", i);
    if (at < 0) break;
    const next = text[at + 1];
    if (next === "$") {
      i = at + 2;
      continue;
    }
    if (next === "{") {
      const close = text.indexOf("}", at + 2);
      if (close < 0) throw new Error(`unterminated "\${" in ${JSON.stringify(text)}`);
      const body = text.slice(at + 2, close);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?$/s.exec(body);
      if (!m) throw new Error(`invalid interpolation "\${${body}}" in ${JSON.stringify(text)} (a literal $ is written $$)`);
      const op = m[2] ?? "";
      refs.push({ name: m[1]!, required: op.endsWith("?"), hasDefault: op.endsWith("-") });
      i = close + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at + 1));
    if (!m) throw new Error(`lone "$" in ${JSON.stringify(text)} (a literal $ is written $$)`);
    refs.push({ name: m[0], required: false, hasDefault: false });
    i = at + 1 + m[0].length;
  }
  return refs;
}

function envRefProblems(where: string, ref: EnvRef): string[] {
  const out: string[] = [];
  if (!VAR_NAME.test(ref.fromEnv)) out.push(`${where}: "${ref.fromEnv}" is not a valid variable name (example: DATABASE_URL)`);
  if (ref.default !== undefined && /[}$]/.test(ref.default)) out.push(`${where}: default value may not contain "$" or "}"`);
  return out;
}

export function isEnvRef(v: EnvValue): v is EnvRef {
  return typeof v === "object" && v !== null && "fromEnv" in v;
}

/** Every Compose string of a service, with where it sits (for interpolation checks and variable collection). */
function composeStrings(s: ServiceSpec): Array<[string, string]> {
  const out: Array<[string, string]> = [[`${s.name}.image`, s.image]];
  const list = (where: string, v: string | string[] | undefined) => {
    if (v === undefined) return;
    (Array.isArray(v) ? v : [v]).forEach((x, i) => out.push([Array.isArray(v) ? `${where}[${i}]` : where, x]));
  };
  list(`${s.name}.command`, s.command);
  list(`${s.name}.entrypoint`, s.entrypoint);
  for (const [k, v] of Object.entries(s.environment ?? {})) {
    if (typeof v === "string") out.push([`${s.name}.environment.${k}`, v]);
  }
  for (const [i, v] of (s.volumes ?? []).entries()) out.push([`${s.name}.volumes[${i}].source`, v.source]);
  if (s.healthcheck) {
    const t = s.healthcheck.test;
    if ("exec" in t) list(`${s.name}.healthcheck.test`, t.exec);
    else out.push([`${s.name}.healthcheck.test`, t.shell]);
  }
  for (const [k, v] of Object.entries(s.labels ?? {})) out.push([`${s.name}.labels.${k}`, v]);
  return out;
}

function portProblems(s: ServiceSpec): string[] {
  const out: string[] = [];
  for (const [i, p] of (s.ports ?? []).entries()) {
    const where = `${s.name}.ports[${i}]`;
    const okPort = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
    if (!okPort(p.container)) out.push(`${where}.container: ${p.container} is not a port (1-65535)`);
    if (p.published !== undefined && !okPort(p.published)) out.push(`${where}.published: ${p.published} is not a port (1-65535)`);
    if (p.protocol !== undefined && p.protocol !== "tcp" && p.protocol !== "udp") out.push(`${where}.protocol: "${p.protocol}" is not tcp or udp`);
    if (p.bind !== undefined) {
      if (p.published === undefined) out.push(`${where}.bind: a bind address needs a published port`);
      if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(p.bind)) out.push(`${where}.bind: "${p.bind}" is not an IPv4 address (example: 127.0.0.1)`);
    }
  }
  return out;
}

function serviceProblems(s: ServiceSpec): string[] {
  const out: string[] = [];
  const n = s.name;
  if (!SERVICE_NAME.test(n)) out.push(`service name "${n}" must match ${SERVICE_NAME} (example: ai-services)`);
  if (!s.image || !s.image.trim()) out.push(`${n}.image is empty`);
  if (!SERVICE_ROLES.includes(s.role)) out.push(`${n}.role: "${s.role}" is not one of ${SERVICE_ROLES.join(", ")}`);
  if (s.containerName !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s.containerName)) {
    out.push(`${n}.containerName: "${s.containerName}" is not a valid container name`);
  }
  for (const [where, text] of composeStrings(s)) {
    try {
      interpolationReferences(text);
    } catch (e) {
      out.push(`${where}: ${(e as Error).message}`);
    }
  }
  for (const [k, v] of Object.entries(s.environment ?? {})) {
    if (!VAR_NAME.test(k)) out.push(`${n}.environment: "${k}" is not a valid variable name`);
    if (isEnvRef(v)) out.push(...envRefProblems(`${n}.environment.${k}`, v));
  }
  for (const f of s.envFile ?? []) if (!f.trim() || f.includes("$")) out.push(`${n}.envFile: "${f}" is not a plain path`);
  out.push(...portProblems(s));
  for (const [i, v] of (s.volumes ?? []).entries()) {
    const where = `${n}.volumes[${i}]`;
    if (!v.target.startsWith("/")) out.push(`${where}.target: "${v.target}" must be an absolute container path`);
    if (v.kind === "volume" && !VOLUME_NAME.test(v.source)) out.push(`${where}.source: "${v.source}" is not a volume name (example: pgdata)`);
    if (v.kind === "bind" && !/^(\/|\.\/|\.\.\/|\$\{)/.test(v.source)) {
      out.push(`${where}.source: bind mount "${v.source}" must be an absolute path or start with ./`);
    }
    if (v.kind !== "volume" && v.kind !== "bind") out.push(`${where}.kind: "${v.kind}" is not volume or bind`);
  }
  const targets = (s.volumes ?? []).map((v) => v.target);
  for (const t of new Set(targets.filter((t, i) => targets.indexOf(t) !== i))) out.push(`${n}.volumes: "${t}" is mounted twice`);
  if (s.limits) {
    if (!(s.limits.cpus > 0)) out.push(`${n}.limits.cpus: ${s.limits.cpus} must be > 0 (example: 0.5)`);
    if (!(Number.isInteger(s.limits.memoryMb) && s.limits.memoryMb >= 6)) {
      out.push(`${n}.limits.memoryMb: ${s.limits.memoryMb} must be a whole number of MiB >= 6 (example: 512)`);
    }
  }
  if (s.shmSizeMb !== undefined && !(Number.isInteger(s.shmSizeMb) && s.shmSizeMb > 0)) {
    out.push(`${n}.shmSizeMb: ${s.shmSizeMb} must be a positive whole number of MiB (example: 256)`);
  }
  const h = s.healthcheck;
  if (h) {
    if ("exec" in h.test && (h.test.exec.length === 0 || (h.test.exec.length === 1 && h.test.exec[0] === "CMD"))) {
      out.push(`${n}.healthcheck.test.exec is empty`);
    }
    if ("exec" in h.test && ["CMD-SHELL", "NONE"].includes(h.test.exec[0] ?? "")) {
      out.push(`${n}.healthcheck.test.exec starts with ${h.test.exec[0]}: write a shell command as { shell: "..." }`);
    }
    if ("shell" in h.test && !h.test.shell.trim()) out.push(`${n}.healthcheck.test.shell is empty`);
    for (const k of ["interval", "timeout", "startPeriod"] as const) {
      const d = h[k];
      if (d !== undefined && (!d || !DURATION.test(d))) out.push(`${n}.healthcheck.${k}: "${d}" is not a duration (example: 30s, 1m30s)`);
    }
    if (h.retries !== undefined && !(Number.isInteger(h.retries) && h.retries >= 1)) out.push(`${n}.healthcheck.retries: ${h.retries} must be a whole number >= 1`);
  }
  if (s.restart !== undefined && !RESTARTS.includes(s.restart)) out.push(`${n}.restart: "${s.restart}" is not one of ${RESTARTS.join(", ")}`);
  if (s.logging) {
    if (!SIZE.test(s.logging.maxSize)) out.push(`${n}.logging.maxSize: "${s.logging.maxSize}" is not a size (example: 10m)`);
    if (!(Number.isInteger(s.logging.maxFile) && s.logging.maxFile >= 1)) out.push(`${n}.logging.maxFile: ${s.logging.maxFile} must be a whole number >= 1`);
  }
  if (s.stopGracePeriod !== undefined && (!s.stopGracePeriod || !DURATION.test(s.stopGracePeriod))) {
    out.push(`${n}.stopGracePeriod: "${s.stopGracePeriod}" is not a duration (example: 30s)`);
  }
  for (const d of s.dependsOn ?? []) {
    if (!CONDITIONS.includes(d.condition)) out.push(`${n}.dependsOn.${d.service}: condition "${d.condition}" is not one of ${CONDITIONS.join(", ")}`);
    if (d.service === n) out.push(`${n}.dependsOn: a service cannot depend on itself`);
  }
  const deps = (s.dependsOn ?? []).map((d) => d.service);
  for (const d of new Set(deps.filter((x, i) => deps.indexOf(x) !== i))) out.push(`${n}.dependsOn: "${d}" is listed twice`);
  return out;
}

/** Finds dependency cycles; each is returned as a closed path, e.g. ["a", "b", "a"]. Deterministic. */
export function findCycles(specs: readonly ServiceSpec[]): string[][] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const state = new Map<string, "visiting" | "done">();
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const stack: string[] = [];
  const visit = (name: string) => {
    state.set(name, "visiting");
    stack.push(name);
    const deps = [...(byName.get(name)?.dependsOn ?? [])].map((d) => d.service).sort();
    for (const d of deps) {
      if (!byName.has(d) || d === name) continue;
      const st = state.get(d);
      if (st === "visiting") {
        const cycle = [...stack.slice(stack.indexOf(d)), d];
        // The same cycle found from another entry point is reported once (keyed by its member set).
        const key = [...new Set(cycle)].sort().join(",");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (st === undefined) {
        visit(d);
      }
    }
    stack.pop();
    state.set(name, "done");
  };
  for (const name of [...byName.keys()].sort()) if (!state.has(name)) visit(name);
  return cycles;
}

/** Every problem with a list of services, each naming the service and field. Empty means valid. */
export function validateInventory(specs: readonly ServiceSpec[]): string[] {
  const problems: string[] = [];
  const names = specs.map((s) => s.name);
  for (const d of new Set(names.filter((n, i) => names.indexOf(n) !== i))) problems.push(`duplicate service name "${d}"`);
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const s of specs) {
    problems.push(...serviceProblems(s));
    for (const d of s.dependsOn ?? []) {
      const target = byName.get(d.service);
      if (!target) {
        const known = [...byName.keys()].sort().join(", ");
        problems.push(`${s.name}.dependsOn: unknown service "${d.service}" (known: ${known})`);
      } else if (d.condition === "healthy" && !target.healthcheck) {
        problems.push(`${s.name}.dependsOn.${d.service}: condition "healthy" but ${d.service} has no healthcheck (use "started")`);
      }
    }
  }
  const containers = specs.filter((s) => s.containerName).map((s) => s.containerName!);
  for (const c of new Set(containers.filter((n, i) => containers.indexOf(n) !== i))) problems.push(`duplicate containerName "${c}"`);

  // Two services cannot publish the same host port on overlapping addresses (unbound overlaps every address).
  const where = (bind: string) => (bind === "0.0.0.0" ? "all addresses" : bind);
  const published: Array<{ svc: string; port: number; proto: Protocol; bind: string }> = [];
  for (const s of specs) {
    for (const p of s.ports ?? []) {
      if (p.published === undefined) continue;
      const cur = { svc: s.name, port: p.published, proto: p.protocol ?? "tcp", bind: p.bind ?? "0.0.0.0" };
      const clash = published.find(
        (o) => o.port === cur.port && o.proto === cur.proto && (o.bind === cur.bind || o.bind === "0.0.0.0" || cur.bind === "0.0.0.0"),
      );
      if (clash) {
        problems.push(
          `duplicate published port ${cur.port}/${cur.proto}: ${clash.svc} (${where(clash.bind)}) and ${cur.svc} (${where(cur.bind)})`,
        );
      }
      published.push(cur);
    }
  }
  for (const c of findCycles(specs)) problems.push(`dependency cycle: ${c.join(" -> ")}`);
  return problems;
}

/** Validates and freezes an inventory; throws RenderInputError listing every problem at once. */
export function defineInventory(specs: readonly ServiceSpec[]): ServiceInventory {
  const problems = validateInventory(specs);
  refuseProblems("service inventory", problems);
  return Object.freeze({ services: Object.freeze([...specs]) });
}

export function getService(inv: ServiceInventory, name: string): ServiceSpec {
  const s = inv.services.find((x) => x.name === name);
  if (!s) throw new Error(`unknown service "${name}" (known: ${inv.services.map((x) => x.name).sort().join(", ")})`);
  return s;
}

/**
 * Topological layers: layer 0 has no dependencies; a service sits one layer after its deepest dependency, so
 * everything in a layer can start together once the previous layers are up. Sorted by name within a layer.
 */
export function startOrder(inv: ServiceInventory): string[][] {
  const byName = new Map(inv.services.map((s) => [s.name, s]));
  const depth = new Map<string, number>();
  const depthOf = (name: string, path: string[]): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (path.includes(name)) throw new Error(`dependency cycle: ${[...path.slice(path.indexOf(name)), name].join(" -> ")}`);
    const deps = byName.get(name)?.dependsOn ?? [];
    const d = deps.length ? 1 + Math.max(...deps.map((x) => depthOf(x.service, [...path, name]))) : 0;
    depth.set(name, d);
    return d;
  };
  const layers: string[][] = [];
  for (const s of inv.services) {
    const d = depthOf(s.name, []);
    (layers[d] ??= []).push(s.name);
  }
  return layers.map((l) => l.sort());
}

/** Reverse of startOrder: dependents stop before what they depend on. */
export function stopOrder(inv: ServiceInventory): string[][] {
  return startOrder(inv).reverse().map((l) => [...l]);
}

export interface RollingRestartOptions {
  /** Only services with these roles (default: all). Excluded services stay up; order among the rest is kept. */
  roles?: ServiceRole[];
  /** Services left out (e.g. the database itself, which a rolling restart does not bounce). */
  exclude?: string[];
}

/**
 * One service at a time, dependencies before dependents (start order flattened), so each service comes back
 * healthy before anything that uses it is restarted. The runbooks' hand-kept "redis, typesense, sleep, pgbouncer,
 * sleep, api, web" becomes this list with `up -d --no-deps --wait` per entry.
 */
export function rollingRestartOrder(inv: ServiceInventory, opts: RollingRestartOptions = {}): string[] {
  for (const x of opts.exclude ?? []) getService(inv, x);
  const keep = (n: string) => {
    const s = getService(inv, n);
    return (!opts.roles || opts.roles.includes(s.role)) && !(opts.exclude ?? []).includes(n);
  };
  return startOrder(inv).flat().filter(keep);
}

/** Direct dependencies of a service. */
export function directDependencies(inv: ServiceInventory, service: string): string[] {
  return (getService(inv, service).dependsOn ?? []).map((d) => d.service).sort();
}

/**
 * Everything that (transitively) depends on a service: what must be restarted after it so no dependent keeps a
 * stale connection. Returned in start order (layer by layer, sorted within a layer).
 */
export function dependentsOf(inv: ServiceInventory, service: string): string[] {
  getService(inv, service);
  const found = new Set<string>();
  const queue = [service];
  while (queue.length) {
    const cur = queue.shift()!;
    for (const s of inv.services) {
      if ((s.dependsOn ?? []).some((d) => d.service === cur) && !found.has(s.name)) {
        found.add(s.name);
        queue.push(s.name);
      }
    }
  }
  return startOrder(inv).flat().filter((n) => found.has(n));
}

/** Everything a service (transitively) needs, in start order. */
export function dependenciesOf(inv: ServiceInventory, service: string): string[] {
  const found = new Set<string>();
  const walk = (n: string) => {
    for (const d of getService(inv, n).dependsOn ?? []) {
      if (!found.has(d.service)) {
        found.add(d.service);
        walk(d.service);
      }
    }
  };
  walk(service);
  return startOrder(inv).flat().filter((n) => found.has(n));
}

/**
 * Every variable the inventory asks Compose to interpolate (image tags, env references, ...), sorted by name.
 * A variable is required when any use of it is `${X:?..}` and has a default when every use has one.
 */
export function referencedVariables(inv: ServiceInventory): VariableReference[] {
  const acc = new Map<string, { required: boolean; allDefault: boolean }>();
  const add = (r: VariableReference) => {
    const cur = acc.get(r.name) ?? { required: false, allDefault: true };
    acc.set(r.name, { required: cur.required || r.required, allDefault: cur.allDefault && r.hasDefault });
  };
  for (const s of inv.services) {
    for (const [, text] of composeStrings(s)) interpolationReferences(text).forEach(add);
    for (const v of Object.values(s.environment ?? {})) {
      if (isEnvRef(v)) add({ name: v.fromEnv, required: !!v.required, hasDefault: !v.required && v.default !== undefined });
    }
  }
  return [...acc.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, v]) => ({ name, required: v.required, hasDefault: v.allDefault }));
}

/**
 * For each service (in start order), the paths inside the project directory it bind-mounts ("./x" → "x"): what
 * compose-up.sh --watch restarts it for when their content changes, since compose itself recreates a container only
 * when its configuration changes. Services that mount nothing from the project directory are left out.
 */
export function projectFileMounts(inv: ServiceInventory): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of startOrder(inv).flat()) {
    const paths = (getService(inv, name).volumes ?? [])
      .filter((v) => v.kind === "bind" && v.source.startsWith("./"))
      .map((v) => v.source.slice(2).replace(/\/+$/, ""));
    if (paths.length) out[name] = [...new Set(paths)];
  }
  return out;
}

/** Named volumes the services mount, sorted. */
export function namedVolumes(inv: ServiceInventory): string[] {
  return [...new Set(inv.services.flatMap((s) => (s.volumes ?? []).filter((v) => v.kind === "volume").map((v) => v.source)))].sort();
}

/** Sum of the limits (a ceiling, not a reservation): what the host would need if every service hit its limit. */
export function totalLimits(inv: ServiceInventory): ResourceLimits {
  return inv.services.reduce(
    (acc, s) => ({ cpus: acc.cpus + (s.limits?.cpus ?? 0), memoryMb: acc.memoryMb + (s.limits?.memoryMb ?? 0) }),
    { cpus: 0, memoryMb: 0 },
  );
}

/** The dependency graph as a Mermaid flowchart (for generated operator docs). Edges point to what a service needs. */
export function mermaidGraph(inv: ServiceInventory): string {
  const id = (n: string) => n.replace(/[^A-Za-z0-9_]/g, "_");
  const lines = ["flowchart LR"];
  for (const s of [...inv.services].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    lines.push(`  ${id(s.name)}["${s.name}"]`);
  }
  for (const s of [...inv.services].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    for (const d of [...(s.dependsOn ?? [])].sort((a, b) => (a.service < b.service ? -1 : 1))) {
      lines.push(`  ${id(s.name)} -->|${d.condition}| ${id(d.service)}`);
    }
  }
  return lines.join("\n") + "\n";
}
