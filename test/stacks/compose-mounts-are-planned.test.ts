// Every prod and staging stack's compose project, brought up on the host model (test/support/hostModel.ts): a fresh
// host, every file writer and prepare step of the plan applied to it, then `docker compose up -d --wait` of the REAL
// rendered compose file. Every bind mount must be a file or directory the plan writes (Docker would create a missing
// source as an empty root-owned directory) and readable by the user the service's image runs as (lib/imageFacts.ts);
// every health check and exec may call only what the image ships; named volumes and depends_on must hold.
// What only a real Docker engine shows is listed in the model's header.
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../cli/planner";
import { runPlanOnHosts, type HostRun } from "../support/hostModel";
import { planFor } from "../support/stacks";

const STACKS = ["prod", "staging"] as const;

describe.each(STACKS)("the %s stack on the host model", (stack) => {
  let plan: Plan;
  let runs: HostRun[];
  beforeAll(async () => {
    plan = await planFor(stack);
    runs = runPlanOnHosts(plan);
  });

  it("has a compose project for KRO, GoodGo and DBIS (on prod, DBIS's standby too)", () => {
    const dbisStandby = stack === "prod" ? [`dbis-${stack}-standby-software`] : [];
    expect(runs.map((r) => r.host).sort()).toEqual([`dbis-${stack}-software`, ...dbisStandby, `goodgo-${stack}-software`, `kro-${stack}-software`]);
  });

  // One case per service, so a failure names it; a dependency's failure is reported on the dependency alone.
  const servicesOf = (host: string) => () => {
    const run = runs.find((r) => r.host === host)!;
    return Object.keys((parse(plan.files.find((f) => f.path === run.composePath)!.content!) as { services: object }).services);
  };
  for (const platform of ["kro", "goodgo", "dbis"]) {
    const host = `${platform}-${stack}-software`;
    it(`${platform}: every service's mounts exist, are readable by its user, and its health check's programs are in its image`, () => {
      const run = runs.find((r) => r.host === host)!;
      const own = Object.entries(run.up.failures)
        .map(([service, problems]) => [service, problems.filter((p) => !p.startsWith("dependency failed to start"))] as const)
        .filter(([, problems]) => problems.length);
      expect(Object.fromEntries(own), `${stack}: ${host}`).toEqual({});
    });

    it(`${platform}: \`up --wait\` brings every service up, dependencies first, and every exec finds its program`, () => {
      const run = runs.find((r) => r.host === host)!;
      expect(run.up.failures).toEqual({});
      expect([...run.up.started].sort()).toEqual(servicesOf(host)().sort());
      expect(run.execProblems).toEqual([]);
    });
  }
});
