// GIV's app spec against the provider's schema types (strict TypeScript: the plan's spec is the provider's own
// `digitalocean.types.input.AppSpec`, and a misnamed field does not compile) and against App Platform's rules that the
// types cannot express (lib/appPlatform.ts, from DigitalOcean's OpenAPI description of the Apps API): the real stack
// files' specs pass, and each rule refuses the spec that breaks it; bad stack-file values fail the plan with file and key.
import type * as digitalocean from "@pulumi/digitalocean";
import { describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import { loadStackConfig } from "../../../config/load";
import { appSpecProblems, type AppSpec } from "../../../lib/appPlatform";
import { giv } from "../../../stacks/giv";
import { givAppSpec, planGiv } from "../../../stacks/giv/plan";
import { patchedProject, rawStack, stackPlatformConfig } from "../../support/stacks";

function specOf(stack: string): AppSpec {
  return givAppSpec(stackPlatformConfig(stack, giv)).spec;
}

/** A copy of the staging spec with one change. */
function changed(change: (s: AppSpec) => void): AppSpec {
  const s = structuredClone(specOf("staging"));
  change(s);
  return s;
}

describe("the app spec is the provider's type", () => {
  it("compiles as digitalocean.types.input.AppSpec, and a misnamed field does not", () => {
    const spec: digitalocean.types.input.AppSpec = specOf("prod");
    // @ts-expect-error instanceSize is not a field of the provider's service spec (instanceSizeSlug is)
    const wrong: digitalocean.types.input.AppSpecService = { name: "api", instanceSize: "apps-s-1vcpu-1gb" };
    expect(spec.name).toBe("krogiving");
    expect(wrong.name).toBe("api");
  });
});

describe("App Platform's rules", () => {
  it("the prod and staging specs pass every rule", () => {
    expect(appSpecProblems(specOf("prod"))).toEqual([]);
    expect(appSpecProblems(specOf("staging"))).toEqual([]);
  });

  it("prod: two instances of a scalable size behind a health check, secrets as SECRET run-time variables, maintenance declared off", () => {
    const s = specOf("prod");
    const api = s.services![0];
    expect(api).toMatchObject({ name: "api", instanceSizeSlug: "apps-s-1vcpu-2gb", instanceCount: 2, httpPort: 8080, healthCheck: { httpPath: "/health", periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 } });
    expect(api.image).toEqual({ registryType: "DOCR", repository: "giv-api", tag: "v3.2.0", deployOnPushes: [{ enabled: false }] });
    const byKey = Object.fromEntries(s.envs!.map((e) => [e.key, e]));
    for (const k of ["PAYSTACK_SECRET_KEY", "PAYSTACK_PUBLIC_KEY", "SENDGRID_API_KEY", "TERMII_API_KEY", "JWT_SECRET", "DATABASE_URL", "MONGODB_URI", "REDIS_URL"]) {
      expect(byKey[k], k).toMatchObject({ type: "SECRET", scope: "RUN_TIME" });
      expect(byKey[k].value, k).toBeUndefined(); // filled at deploy time, as a Pulumi secret
    }
    expect(byKey.NODE_ENV).toEqual({ key: "NODE_ENV", value: "production", type: "GENERAL", scope: "RUN_TIME" });
    expect(s.maintenance).toEqual({ enabled: false, offlinePageUrl: "https://status.kro.example.org/giv-maintenance.html" });
    expect(s.alerts!.map((a) => a.rule)).toEqual(["DEPLOYMENT_FAILED", "DOMAIN_FAILED"]);
    expect(api.alerts!.map((a) => [a.rule, a.operator, a.value, a.window])).toEqual([
      ["CPU_UTILIZATION", "GREATER_THAN", 80, "FIVE_MINUTES"],
      ["MEM_UTILIZATION", "GREATER_THAN", 85, "FIVE_MINUTES"],
      ["RESTART_COUNT", "GREATER_THAN", 3, "FIVE_MINUTES"],
    ]);
  });

  const cases: [string, (s: AppSpec) => void, RegExp][] = [
    ["an instance size that is not a current slug", (s) => (s.services![0].instanceSizeSlug = "basic-xxs"), /instanceSizeSlug: "basic-xxs" is not a current instance size/],
    ["two instances of a single-instance size", (s) => Object.assign(s.services![0], { instanceSizeSlug: "apps-s-1vcpu-1gb-fixed", instanceCount: 2 }), /runs a single instance only/],
    ["zero instances", (s) => (s.services![0].instanceCount = 0), /not an instance count of at least 1.*maintenance mode/],
    ["a component name with capitals", (s) => (s.services![0].name = "Api"), /"Api" is not a component name/],
    ["a component name of 33 characters", (s) => (s.services![0].name = `a${"b".repeat(32)}`), /is not a component name/],
    ["an app name ending in a dash", (s) => (s.name = "giv-"), /name: "giv-" is not an app name/],
    ["a region that is not an App Platform region", (s) => (s.region = "fra1"), /region: "fra1" is not an App Platform region/],
    ["a health-check period over 300 s", (s) => (s.services![0].healthCheck!.periodSeconds = 301), /periodSeconds: 301 is outside 1-300/],
    ["a timeout longer than the period", (s) => Object.assign(s.services![0].healthCheck!, { timeoutSeconds: 20, periodSeconds: 10 }), /20 s is longer than the 10 s/],
    ["two PRIMARY domains", (s) => s.domainNames!.push({ name: "other.example.org", type: "PRIMARY" }), /more than one PRIMARY domain/],
    ["a domain that is not one", (s) => (s.domainNames![0].name = "not a domain"), /is not a domain name/],
    ["an app-level rule on a component", (s) => s.services![0].alerts!.push({ rule: "DEPLOYMENT_FAILED", operator: "GREATER_THAN", value: 1, window: "FIVE_MINUTES" }), /"DEPLOYMENT_FAILED" is not a rule here/],
    ["an alert window the API lacks", (s) => (s.services![0].alerts![0].window = "ONE_DAY"), /"ONE_DAY" is not a window/],
    ["an image tagged latest", (s) => (s.services![0].image!.tag = "latest"), /is latest, which moves/],
    ["a tag and a digest", (s) => (s.services![0].image!.digest = `sha256:${"a".repeat(64)}`), /has both a tag and a digest/],
    ["a DOCR image with a registry", (s) => (s.services![0].image!.registry = "someone"), /must be left empty for the DOCR registry type/],
    ["an image and a git source", (s) => (s.services![0].github = { repo: "kro/giv", branch: "main" }), /has github and image; exactly one/],
    ["a route to no component", (s) => (s.ingress!.rules![0].component!.name = "web"), /"web" is not a component of the app/],
    ["a variable name with a dash", (s) => s.envs!.push({ key: "BAD-KEY", value: "x" }), /"BAD-KEY" is not a variable name/],
    ["a variable set twice", (s) => s.envs!.push({ key: "NODE_ENV", value: "x" }), /NODE_ENV is set twice/],
    ["an offline page over http", (s) => (s.maintenance!.offlinePageUrl = "http://example.org/down.html"), /is not an https URL/],
  ];
  for (const [what, change, message] of cases) {
    it(`refuses ${what}`, () => {
      const problems = appSpecProblems(changed(change));
      expect(problems.join("\n")).toMatch(message);
    });
  }
});

describe("bad stack-file values fail the plan with file and key, before anything is declared", () => {
  const plan = (patch: (g: Record<string, any>) => void) => runPlanCli(["--stack", "staging", "--project-dir", patchedProject("staging", (c) => patch(c["lazarus:giv"]))]);

  it("an instance size, a single-instance size scaled out, two primaries, an unsupported MongoDB version, a MongoDB node count of 2", async () => {
    const r = await plan((g) => {
      g.app.services.api.instanceSize = "apps-s-1vcpu-1gb-fixd";
      g.mongodb.version = "7.0";
      g.mongodb.nodeCount = 2;
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Pulumi.staging.yaml: lazarus:giv.app.services.api.instanceSize: "apps-s-1vcpu-1gb-fixd" is not a current App Platform instance size (example: apps-s-1vcpu-1gb');
    expect(r.stderr).toContain('lazarus:giv.mongodb.version: "7.0" is not a MongoDB version DigitalOcean still supports (example: "8.0"');
    expect(r.stderr).toContain("lazarus:giv.mongodb.nodeCount: 2 is not a MongoDB node count (example: 3; one of 1, 3)");
    const scaled = await plan((g) => Object.assign(g.app.services.api, { instanceSize: "apps-s-1vcpu-0.5gb", instanceCount: 2 }));
    expect(scaled.stderr).toContain("lazarus:giv.app.services.api.instanceCount: 2 instances, but apps-s-1vcpu-0.5gb runs a single instance only");
    const period = await plan((g) => (g.app.services.api.healthCheck = { periodSeconds: 301 }));
    expect(period.stderr).toContain("lazarus:giv.app.services.api.healthCheck.periodSeconds: 301 is not a whole number from 1 to 300 (example: 10)");
    const standby = await plan((g) => Object.assign(g.cache, { size: "db-s-1vcpu-1gb", nodeCount: 2 }));
    expect(standby.stderr).toContain("lazarus:giv.cache.size: db-s-1vcpu-1gb is offered for one node only, but nodeCount is 2 (example: db-s-1vcpu-2gb)");
    const primaries = await plan((g) => g.app.domains.push({ name: "b.example.org", type: "PRIMARY" }));
    expect(primaries.stderr).toContain("lazarus:giv.app.domains: has 2 PRIMARY domains");
  });

  it("an app in another region than its clusters", async () => {
    const r = await plan((g) => (g.app.region = "nyc"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Pulumi.staging.yaml: lazarus:giv.app.region: the app spec renderer refused it: region: nyc is not where the clusters are (lazarus:environment.region ams3)");
  });

  it("a credential among the plain variables", async () => {
    const r = await plan((g) => (g.app.env.PAYSTACK_SECRET_KEY_OLD = "sk_live_in_git"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("lazarus:giv.app.env.PAYSTACK_SECRET_KEY_OLD: looks like a credential, but app.env is plain text in the stack file; list PAYSTACK_SECRET_KEY_OLD in app.secretEnvKeys");
    expect(r.stderr).not.toContain("sk_live_in_git");
  });

  it("a variable name used twice across plain, secret and connection variables", async () => {
    const r = await plan((g) => (g.app.env.DATABASE_URL = "postgres://elsewhere"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("lazarus:giv.app.connectionEnv.postgres: DATABASE_URL is already set by app.env.DATABASE_URL");
  });

  it("the plan of each stack file checks its spec (planGiv runs the rules)", () => {
    for (const stack of ["prod", "staging"]) {
      const loaded = loadStackConfig(rawStack(stack), { allowMissingSecrets: true });
      const p = planGiv(stackPlatformConfig(stack, giv), { stack, stackFile: `Pulumi.${stack}.yaml`, environment: loaded.environment });
      expect(appSpecProblems(p.spec)).toEqual([]);
    }
  });
});
