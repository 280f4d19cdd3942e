// Renders a Compose file from a service inventory. Pure: typed data in, YAML text out (DESIGN.md principle 1).
//
// Format choice. The file has NO top-level `version` and follows the Compose Specification, because that is the one
// format both consumers accept without complaint:
//   - Docker Compose v2 (the host's `docker compose` plugin) implements the Compose Specification; it ignores
//     `version` and warns that it is obsolete;
//   - docker-compose 1.29 (Debian's, used by the tests' `docker-compose config`) validates files without `version`
//     against the same Compose Specification schema (support for it arrived in 1.27), and in that format it accepts
//     every key we need together: depends_on conditions (service_healthy, service_started,
//     service_completed_successfully), healthcheck with start_period, shm_size, json-file logging options and
//     deploy.resources.limits, which 1.29 applies to plain containers (project.py
//     translate_resource_keys_to_container_config) just as v2 does.
//   The legacy "2.4" format would also pass 1.29 but makes v2 print a warning on every command, and "3.x" lost
//   depends_on conditions, so neither is used.
// Limits are written only as deploy.resources.limits (not also as cpus/mem_limit) so the two engines never see two
// values for one limit. Features 1.29 rejects are avoided: the top-level `name` key (the project name is pinned
// through explicit volume names instead, see below), and the long port syntax with host_ip (ports use the short
// "ip:published:container/proto" form both accept).
// YAML is emitted with YAML 1.1 quoting rules (docker-compose 1.29 reads it with PyYAML), so "no", "on", "22:22"
// and other 1.1 look-alikes are quoted and read back as strings by both.

import { Document } from "yaml";
import {
  EnvValue,
  isEnvRef,
  LogRotation,
  RestartPolicy,
  ServiceInventory,
  ServiceSpec,
  validateInventory,
} from "../lib/inventory";
import { refuseProblems } from "./renderInputError";

export interface ComposeVolume {
  /** Docker volume name; default "<project>_<key>", the name Compose itself would give, so volumes survive a
   *  deploy directory rename or a different project name on the command line. */
  name?: string;
  /** An existing volume created outside this project. */
  external?: boolean;
  driver?: string;
  labels?: Record<string, string>;
}

export interface ComposeNetwork {
  driver?: string;
  internal?: boolean;
  name?: string;
}

export interface ComposeProject {
  /** Project name: prefixes default volume names and is recorded in the header comment. */
  name: string;
  services: ServiceInventory;
  /** Named volumes, by key. A list of keys means default options for each. */
  volumes?: Record<string, ComposeVolume> | string[];
  networks?: Record<string, ComposeNetwork>;
  /** Defaults applied to services that do not set their own. */
  defaults?: { restart?: RestartPolicy; logging?: LogRotation };
}

export const DEFAULT_RESTART: RestartPolicy = "unless-stopped";
export const DEFAULT_LOGGING: LogRotation = { maxSize: "10m", maxFile: 3 };

const CONDITION = { healthy: "service_healthy", started: "service_started", completed: "service_completed_successfully" } as const;

function envValue(v: EnvValue): string {
  if (!isEnvRef(v)) return String(v);
  if (v.required) return `\${${v.fromEnv}:?${v.fromEnv} must be set in the env file}`;
  if (v.default !== undefined) return `\${${v.fromEnv}:-${v.default}}`;
  return `\${${v.fromEnv}}`;
}

function portString(p: NonNullable<ServiceSpec["ports"]>[number]): string {
  const proto = p.protocol ?? "tcp";
  // Without a bind address Docker publishes on every address, IPv6 included ("0.0.0.0:" would mean IPv4 only).
  return `${p.bind ? `${p.bind}:` : ""}${p.published}:${p.container}/${proto}`;
}

function renderService(s: ServiceSpec, project: ComposeProject): Record<string, unknown> {
  const out: Record<string, unknown> = { image: s.image };
  if (s.build) {
    out.build = { context: s.build.context, ...(s.build.dockerfile ? { dockerfile: s.build.dockerfile } : {}) };
    out.pull_policy = "build";
  }
  if (s.containerName) out.container_name = s.containerName;
  if (s.command !== undefined) out.command = s.command;
  if (s.entrypoint !== undefined) out.entrypoint = s.entrypoint;
  if (s.user !== undefined) out.user = s.user;
  if (s.workingDir !== undefined) out.working_dir = s.workingDir;
  out.restart = s.restart ?? project.defaults?.restart ?? DEFAULT_RESTART;
  if (s.envFile?.length) out.env_file = [...s.envFile];
  if (s.environment && Object.keys(s.environment).length) {
    out.environment = Object.fromEntries(Object.entries(s.environment).map(([k, v]) => [k, envValue(v)]));
  }
  const published = (s.ports ?? []).filter((p) => p.published !== undefined);
  const internal = (s.ports ?? []).filter((p) => p.published === undefined);
  if (published.length) out.ports = published.map(portString);
  if (internal.length) out.expose = internal.map((p) => (p.protocol === "udp" ? `${p.container}/udp` : String(p.container)));
  if (s.volumes?.length) {
    out.volumes = s.volumes.map((v) => `${v.source}:${v.target}${v.readOnly ? ":ro" : ""}`);
  }
  if (s.dependsOn?.length) {
    out.depends_on = Object.fromEntries(
      [...s.dependsOn].sort((a, b) => (a.service < b.service ? -1 : 1)).map((d) => [d.service, { condition: CONDITION[d.condition] }]),
    );
  }
  if (s.healthcheck) {
    const h = s.healthcheck;
    const hc: Record<string, unknown> = {
      // exec is the argv; a leading "CMD" (Compose's own spelling) is accepted and not doubled.
      test: "exec" in h.test ? ["CMD", ...(h.test.exec[0] === "CMD" ? h.test.exec.slice(1) : h.test.exec)] : ["CMD-SHELL", h.test.shell],
    };
    if (h.interval) hc.interval = h.interval;
    if (h.timeout) hc.timeout = h.timeout;
    if (h.retries !== undefined) hc.retries = h.retries;
    if (h.startPeriod) hc.start_period = h.startPeriod;
    out.healthcheck = hc;
  }
  if (s.limits) {
    out.deploy = { resources: { limits: { cpus: String(s.limits.cpus), memory: `${s.limits.memoryMb}M` } } };
  }
  if (s.shmSizeMb !== undefined) out.shm_size = `${s.shmSizeMb}m`;
  const log = s.logging ?? project.defaults?.logging ?? DEFAULT_LOGGING;
  out.logging = { driver: "json-file", options: { "max-size": log.maxSize, "max-file": String(log.maxFile) } };
  if (s.labels && Object.keys(s.labels).length) out.labels = { ...s.labels };
  if (s.networks?.length) out.networks = [...s.networks];
  if (s.stopGracePeriod) out.stop_grace_period = s.stopGracePeriod;
  return out;
}

/** Problems with the project around the inventory (volumes and networks used but not declared, ...). */
export function composeProjectProblems(project: ComposeProject): string[] {
  const problems: string[] = [];
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(project.name)) {
    problems.push(`project name "${project.name}" must be lowercase letters, digits, "-" or "_" (example: shop)`);
  }
  const declaredVolumes = new Set(Array.isArray(project.volumes) ? project.volumes : Object.keys(project.volumes ?? {}));
  const declaredNetworks = new Set(Object.keys(project.networks ?? {}));
  for (const s of project.services.services) {
    for (const v of s.volumes ?? []) {
      if (v.kind === "volume" && !declaredVolumes.has(v.source)) {
        problems.push(`${s.name} mounts volume "${v.source}" that the project does not declare (declared: ${[...declaredVolumes].sort().join(", ") || "none"})`);
      }
    }
    for (const n of s.networks ?? []) {
      if (!declaredNetworks.has(n)) problems.push(`${s.name} joins network "${n}" that the project does not declare`);
    }
  }
  return problems;
}

/** The Compose file for a project. Throws (listing every problem) on an invalid inventory or project. */
export function renderCompose(project: ComposeProject): string {
  const problems = [...validateInventory(project.services.services), ...composeProjectProblems(project)];
  refuseProblems("compose", problems);

  const services = Object.fromEntries(project.services.services.map((s) => [s.name, renderService(s, project)]));
  const doc: Record<string, unknown> = { services };

  const volumeEntries: Array<[string, ComposeVolume]> = Array.isArray(project.volumes)
    ? project.volumes.map((k) => [k, {}])
    : Object.entries(project.volumes ?? {});
  if (volumeEntries.length) {
    doc.volumes = Object.fromEntries(
      [...volumeEntries]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => {
          const o: Record<string, unknown> = {};
          if (v.external) {
            o.external = true;
            o.name = v.name ?? k;
          } else {
            o.name = v.name ?? `${project.name}_${k}`;
            if (v.driver) o.driver = v.driver;
            if (v.labels) o.labels = { ...v.labels };
          }
          return [k, o];
        }),
    );
  }
  if (project.networks && Object.keys(project.networks).length) {
    doc.networks = Object.fromEntries(
      Object.entries(project.networks).map(([k, v]) => {
        const o: Record<string, unknown> = {};
        if (v.driver) o.driver = v.driver;
        if (v.internal) o.internal = true;
        if (v.name) o.name = v.name;
        return [k, o];
      }),
    );
  }

  const d = new Document(doc, { version: "1.1" });
  d.commentBefore =
    ` Compose project "${project.name}": generated from the service inventory; do not edit on the host.\n` +
    ` Run with: docker compose -p ${project.name} -f <this file> up -d --wait`;
  return d.toString({ lineWidth: 0 });
}
