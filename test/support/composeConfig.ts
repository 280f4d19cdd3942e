// A service's environment as its container would get it: docker-compose v1 (`config`) renders the REAL compose file
// with the project directory's .env, environment and env_file merged into one map. Used by the stand-ins that run a
// command "in" a container (test/support/fake-compose-run.ts) and by the tests that point fake-docker-exec at it.
import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import { parse } from "yaml";

export function renderedServiceEnvironment(composeFile: string, service: string): Record<string, string> {
  const r = spawnSync("docker-compose", ["-f", composeFile, "config"], { cwd: dirname(composeFile), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`docker-compose -f ${composeFile} config: ${r.stderr}`);
  const services = (parse(r.stdout) as { services: Record<string, { environment?: Record<string, string | null> }> }).services;
  if (!services[service]) throw new Error(`${composeFile}: no service ${service}`);
  return Object.fromEntries(Object.entries(services[service].environment ?? {}).map(([k, v]) => [k, v ?? ""]));
}
