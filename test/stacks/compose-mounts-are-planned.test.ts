// Every project-directory bind mount of every compose service in every stack is a file or directory the plan writes
// into the deploy directory. Docker creates a missing bind source as an empty root-owned directory, so a mount whose
// file is written elsewhere (KRO once wrote nginx/nginx.conf and mounted ./nginx.conf) makes `up --wait` fail on the
// real host; this catches it from the plan alone, without a Docker engine.
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../cli/planner";
import { planFor } from "../support/stacks";

const STACKS = ["prod", "staging"] as const;

describe.each(STACKS)("the %s stack's compose mounts", (stack) => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await planFor(stack);
  });

  it("name only files the plan writes into the deploy directory (or directories holding them)", () => {
    const composeFiles = plan.files.filter((f) => /\/(docker-compose[^/]*|compose)\.ya?ml$/.test(f.path));
    expect(composeFiles.length).toBeGreaterThan(0);
    for (const compose of composeFiles) {
      const dir = compose.path.replace(/\/[^/]+$/, "");
      const written = plan.files.filter((f) => f.host === compose.host).map((f) => f.path);
      const services = (parse(compose.content!) as { services: Record<string, { volumes?: string[] }> }).services;
      for (const [name, service] of Object.entries(services)) {
        for (const volume of service.volumes ?? []) {
          const source = volume.split(":")[0];
          if (!source.startsWith("./")) continue; // named volumes and host paths (certbot's, the scripts) are not project files
          const path = `${dir}/${source.slice(2).replace(/\/$/, "")}`;
          const isFile = written.includes(path);
          const isDirOfFiles = written.some((w) => w.startsWith(`${path}/`));
          expect(isFile || isDirOfFiles, `${stack}: ${compose.host}: ${name} mounts ${source}, which the plan does not write (${path})`).toBe(true);
        }
      }
    }
  });
});
