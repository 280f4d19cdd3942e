// GIV declared from the real Pulumi.prod.yaml / Pulumi.staging.yaml under mocks: the app, the three clusters and their
// firewalls, the restores beside the live clusters, maintenance mode, the API calls of the switches and operations,
// confirmations on prod, the policy pack, and the generated runbook. Provider outputs (hosts, passwords, ids) are the
// mock's inventions: they are compared between plans or followed as references, never asserted as values.
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { runPlanCli } from "../../../cli/plan";
import type { Plan } from "../../../cli/planner";
import { ONCE_UPDATE } from "../../../components/hostSoftware";
import { givSchema } from "../../../stacks/giv/config";
import { parseAppSecrets } from "../../../stacks/giv/declare";
import { checkPlan } from "../../../policy/rules";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, byType, one, patchedProject, planFor, rawStack, stackConfigMap } from "../../support/stacks";

const APP = "digitalocean:index/app:App";
const LOCAL = "command:local:Command";
const DEPLOYMENT = "3aa4d20e-5527-4c00-b496-601fbd22520a";
let prod: Plan;
let staging: Plan;

beforeAll(async () => {
  prod = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
  staging = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS });
});

type Env = { key: string; value?: string; type: string };
const envsOf = (plan: Plan, raw = false) => {
  const app = byType(plan, APP)[0];
  return ((raw ? app.rawInputs : app.inputs).spec as { envs: Env[] }).envs;
};
const givPatch = (patch: (g: Record<string, any>) => void) => (c: Record<string, any>) => patch(c["lazarus:giv"]);

describe("the app", () => {
  it("is one protected App Platform app on prod, in the stack's project, whose secret variables are Pulumi secrets", () => {
    const app = one(prod, APP, "giv-prod-app");
    expect(app.protect).toBe(true);
    expect(app.dependencies).toContain(one(prod, T.project, "lazarus-prod-project").urn);
    for (const e of envsOf(prod).filter((x) => x.type === "SECRET")) expect(e.value, e.key).toBe("[secret]");
    expect(envsOf(prod).find((e) => e.key === "NODE_ENV")).toMatchObject({ type: "GENERAL", value: "production" });
    expect(one(staging, APP, "giv-staging-app").protect).toBeFalsy();
  });

  it("carries each app secret from givAppSecrets, and the connections: PostgreSQL and MongoDB URLs with TLS to the app's database and user", () => {
    const raw = Object.fromEntries(envsOf(prod, true).map((e) => [e.key, e.value]));
    const secrets = JSON.parse(ALL_SENTINEL_SECRETS["lazarus:givAppSecrets"]) as Record<string, string>;
    for (const [k, v] of Object.entries(secrets)) expect(raw[k], k).toBe(v);
    expect(raw.DATABASE_URL).toMatch(/^postgresql:\/\/giv:[^@]+@[^/]+\/giv\?sslmode=require$/);
    expect(raw.MONGODB_URI).toMatch(/^mongodb\+srv:\/\/giv:[^@]+@[^/]+\/giv\?tls=true&authSource=admin$/);
  });

  it("never shows a secret in the printed plan", () => {
    for (const plan of [prod, staging]) {
      const printed = JSON.stringify(plan.resources.map((r) => r.inputs));
      for (const marker of ALL_SENTINEL_MARKERS) expect(printed).not.toContain(marker);
    }
  });
});

describe("givAppSecrets", () => {
  const keys = ["PAYSTACK_SECRET_KEY", "JWT_SECRET"];
  it("must hold exactly app.secretEnvKeys as non-empty strings; the error names the secret and the keys, never a value", () => {
    expect(parseAppSecrets('{"PAYSTACK_SECRET_KEY": "sk_x", "JWT_SECRET": "j"}', keys, "Pulumi.prod.yaml")).toEqual({ PAYSTACK_SECRET_KEY: "sk_x", JWT_SECRET: "j" });
    const cases: [string, RegExp][] = [
      ["TOPSECRET_not_json", /lazarus:givAppSecrets: is not JSON/],
      ['["TOPSECRET_array"]', /is not a JSON object/],
      ['{"PAYSTACK_SECRET_KEY": "TOPSECRET_only"}', /lacks JWT_SECRET/],
      ['{"PAYSTACK_SECRET_KEY": "TOPSECRET_a", "JWT_SECRET": "j", "EXTRA": "TOPSECRET_b"}', /has keys not in app.secretEnvKeys: EXTRA/],
      ['{"PAYSTACK_SECRET_KEY": "", "JWT_SECRET": "TOPSECRET_c"}', /PAYSTACK_SECRET_KEY must be non-empty strings/],
    ];
    for (const [text, message] of cases) {
      let error = "";
      try {
        parseAppSecrets(text, keys, "Pulumi.prod.yaml");
      } catch (e) {
        error = (e as Error).message;
      }
      expect(error, text).toMatch(message);
      expect(error).toMatch(/^Pulumi\.prod\.yaml: lazarus:givAppSecrets: /);
      expect(error).not.toMatch(/TOPSECRET/);
    }
  });
});

describe("the clusters", () => {
  it("PostgreSQL, MongoDB and Valkey, protected on prod, each behind a firewall that admits only the app", () => {
    const app = one(prod, APP, "giv-prod-app");
    expect(one(prod, T.cluster, "giv-prod-pg").inputs).toMatchObject({ engine: "pg", version: "16", nodeCount: 2 });
    expect(one(prod, T.cluster, "giv-prod-mongodb").inputs).toMatchObject({ engine: "mongodb", version: "8.0", nodeCount: 3 });
    expect(one(prod, T.cluster, "giv-prod-cache").inputs).toMatchObject({ engine: "valkey", version: "8", evictionPolicy: "allkeys_lru", nodeCount: 2 });
    for (const name of ["giv-prod-pg", "giv-prod-mongodb", "giv-prod-cache"]) {
      expect(one(prod, T.cluster, name).protect, name).toBe(true);
      const fw = one(prod, T.dbFirewall, `${name}-firewall`);
      const rules = fw.inputs.rules as { type: string; value: string }[];
      expect(rules.map((r) => r.type), name).toEqual(["app"]);
      // The rule's value is the app's id (a reference: the firewall waits for the app).
      expect(fw.dependencies, name).toContain(app.urn);
    }
    expect(one(prod, T.db, "giv-prod-mongodb-db-giv").inputs.name).toBe("giv");
    expect(one(prod, T.dbUser, "giv-prod-mongodb-user-giv").protect).toBe(true);
  });
});

describe("recovery.postgres and recovery.mongodb: restore beside the live cluster, then cut over", () => {
  const restoring = (cutover?: boolean | "back", confirm?: string) =>
    givPatch((g) => {
      g.recovery = {
        postgres: { label: "r1", pointInTime: "2026-11-30T02:00:00Z", ...(cutover === undefined ? {} : { cutover }), ...(confirm ? { confirm } : {}) },
        mongodb: { label: "r1" },
      };
    });

  it("declares new clusters from the live ones' backups beside them, protected, behind the app-only firewall; the live clusters are unchanged", async () => {
    const before = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: restoring() });
    for (const [live, restored, extra] of [
      ["giv-prod-pg", "giv-prod-pg-restore-r1", { backupCreatedAt: "2026-11-30T02:00:00Z" }],
      ["giv-prod-mongodb", "giv-prod-mongodb-restore-r1", {}],
    ] as const) {
      const r = one(plan, T.cluster, restored);
      expect(r.inputs.backupRestore).toEqual({ databaseName: live, ...extra });
      expect(r.inputs.engine).toBe(one(plan, T.cluster, live).inputs.engine);
      expect(r.protect).toBe(true);
      expect(one(plan, T.cluster, live).inputs).toEqual(one(before, T.cluster, live).inputs);
      expect((one(plan, T.dbFirewall, `${restored}-firewall`).inputs.rules as { type: string }[]).map((x) => x.type)).toEqual(["app"]);
    }
    // Without cutover, the app's connections do not move.
    expect(envsOf(plan, true)).toEqual(envsOf(before, true));
  });

  it("cutover moves DATABASE_URL (and only the PostgreSQL variables) to the restored cluster; confirmed on prod", async () => {
    const before = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: restoring() });
    const after = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: restoring(true, "prod/giv/postgres-cutover") });
    const b = Object.fromEntries(envsOf(before, true).map((e) => [e.key, e.value]));
    const a = Object.fromEntries(envsOf(after, true).map((e) => [e.key, e.value]));
    const changed = Object.keys(a).filter((k) => a[k] !== b[k]);
    expect(changed.filter((k) => k !== "DATABASE_CA_CERT")).toEqual(["DATABASE_URL"]);
    const unconfirmed = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", restoring(true))]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('Pulumi.prod.yaml: lazarus:giv.recovery.postgres.confirm: is missing: cutting over points the application at the restored cluster on stack prod; to proceed set it to "prod/giv/postgres-cutover"');
  });
});

describe("after a MongoDB cutover", () => {
  it("a confirmed cutover back returns MONGODB_URI to the live cluster and keeps the restored one protected; only a confirmed discard unprotects it", async () => {
    const live = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
    const back = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: givPatch((g) => (g.recovery = { mongodb: { label: "r1", cutover: "back", confirm: "prod/giv/mongodb-cutover-back" } })) });
    const uri = (p: Plan) => envsOf(p, true).find((e) => e.key === "MONGODB_URI")!.value;
    expect(uri(back)).toBe(uri(live));
    expect(one(back, T.cluster, "giv-prod-mongodb-restore-r1").protect).toBe(true);
    const discarded = await planFor("prod", { patch: givPatch((g) => (g.recovery = { mongodb: { label: "r1", discard: true, confirm: "prod/giv/discard-restored-mongodb" } })) });
    expect(one(discarded, T.cluster, "giv-prod-mongodb-restore-r1").protect).toBeFalsy();
    const whileOnIt = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", givPatch((g) => (g.recovery = { mongodb: { label: "r1", cutover: true, discard: true, confirm: "prod/giv/mongodb-cutover" } })))]);
    expect(whileOnIt.stderr).toContain("lazarus:giv.recovery.mongodb.discard: the application runs on the restored cluster (cutover: true); cut back first");
  });
});

describe("recovery.maintenance", () => {
  it("turns the app spec's maintenance mode on with the offline page; confirmed on prod; off again without the switch", async () => {
    const plan = await planFor("prod", { patch: givPatch((g) => (g.recovery = { maintenance: { confirm: "prod/giv/maintenance" } })) });
    expect((one(plan, APP, "giv-prod-app").inputs.spec as { maintenance: unknown }).maintenance).toEqual({ enabled: true, offlinePageUrl: "https://status.kro.example.org/giv-maintenance.html" });
    expect((one(prod, APP, "giv-prod-app").inputs.spec as { maintenance: unknown }).maintenance).toEqual({ enabled: false, offlinePageUrl: "https://status.kro.example.org/giv-maintenance.html" });
    const r = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", givPatch((g) => (g.recovery = { maintenance: {} })))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('lazarus:giv.recovery.maintenance.confirm: is missing: maintenance mode takes GIV offline');
  });
});

describe("recovery.rollback and operations: API calls from command resources", () => {
  const calling = givPatch((g) => {
    g.recovery = { rollback: { deploymentId: DEPLOYMENT, reason: "5xx after v3.2.0", confirm: "prod/giv/rollback" } };
    g.operations = [
      { id: "2026-12-01-rebuild", action: "redeploy" },
      { id: "2026-12-01-commit", action: "commit-rollback" },
    ];
  });

  it("each runs once, after the app and the call before it, with the token as secret stdin and the warning in the previewed command", async () => {
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: calling });
    const app = one(plan, APP, "giv-prod-app");
    const names = ["giv-prod-rollback-3aa4d20e", "giv-prod-op-2026-12-01-rebuild", "giv-prod-op-2026-12-01-commit"];
    let previous = app.urn;
    for (const name of names) {
      const c = one(plan, LOCAL, name);
      expect(c.inputs.stdin, name).toBe("[secret]");
      expect(String(c.rawInputs.stdin), name).toBe(`Authorization: Bearer ${ALL_SENTINEL_SECRETS["lazarus:givDigitaloceanApiToken"]}\n`);
      expect(c.inputs.update, name).toBe(ONCE_UPDATE);
      expect(c.dependencies, name).toContain(previous);
      previous = c.urn;
    }
    const rollback = String(one(plan, LOCAL, names[0]).inputs.create);
    expect(rollback).toContain("rolling back replaces the live deployment");
    expect(rollback).toMatch(/https:\/\/api\.digitalocean\.com\/v2\/apps\/\S+\/rollback\/validate/);
    expect(rollback).toContain(`"deployment_id":"${DEPLOYMENT}","skip_pin":false`);
    expect(String(one(plan, LOCAL, names[1]).inputs.create)).toContain('{"force_build":true}');
  });

  it("the rollback and a revert are confirmed on prod; commit/revert make no sense after an unpinned rollback", async () => {
    const unconfirmed = await runPlanCli(["--stack", "prod", "--project-dir", patchedProject("prod", givPatch((g) => (g.recovery = { rollback: { deploymentId: DEPLOYMENT, reason: "bad" } })))]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('lazarus:giv.recovery.rollback.confirm: is missing: rolling back replaces the live deployment with an earlier one (its code, spec and environment) on stack prod; to proceed set it to "prod/giv/rollback"');
    const unpinned = await runPlanCli(["--stack", "staging", "--project-dir", patchedProject("staging", givPatch((g) => {
      g.recovery = { rollback: { deploymentId: DEPLOYMENT, reason: "bad", pin: false } };
      g.operations = [{ id: "x-1", action: "commit-rollback" }];
    }))]);
    expect(unpinned.code).toBe(2);
    expect(unpinned.stderr).toContain("lazarus:giv.operations[0].action: commit-rollback ends a pinned rollback, but recovery.rollback says pin: false");
    // A rollback pinned from the console is committed without a switch.
    const console = await runPlanCli(["--stack", "staging", "--project-dir", patchedProject("staging", givPatch((g) => (g.operations = [{ id: "x-1", action: "commit-rollback" }])))]);
    expect(console.code, console.stderr).toBe(0);
  });

  it("the API token is required only when a call is made", async () => {
    const none = await runPlanCli(["--stack", "staging"]);
    expect(none.stderr).not.toContain("givDigitaloceanApiToken");
    const some = await runPlanCli(["--stack", "staging", "--project-dir", patchedProject("staging", givPatch((g) => (g.operations = [{ id: "x-1", action: "redeploy" }])))]);
    expect(some.stderr).toContain("lazarus:givDigitaloceanApiToken");
  });
});

describe("the policy pack", () => {
  it("passes GIV on both stacks, with every switch set and confirmed", async () => {
    const patch = givPatch((g) => {
      g.recovery = {
        maintenance: { confirm: "prod/giv/maintenance" },
        postgres: { label: "r1", cutover: true, confirm: "prod/giv/postgres-cutover" },
        mongodb: { label: "r1" },
        rollback: { deploymentId: DEPLOYMENT, reason: "bad release", confirm: "prod/giv/rollback" },
      };
      g.operations = [{ id: "2026-12-01-rebuild", action: "redeploy" }];
    });
    for (const stack of ["prod", "staging"]) {
      for (const p of [undefined, patch]) {
        const plan = await planFor(stack, { secrets: ALL_SENTINEL_SECRETS, patch: p });
        const violations = checkPlan(plan, rawStack(stack, { patch: p })).filter((v) => v.urn.includes("giv-"));
        expect(violations, stack).toEqual([]);
      }
    }
  });
});

describe("the policy pack refuses, as a second line behind the config checks", () => {
  // Mutations of the captured plan (what `pulumi preview --policy-pack policy` would see), since the config checks
  // refuse most of these before any resource exists.
  const confirmedCalls = givPatch((g) => {
    g.recovery = { maintenance: { confirm: "prod/giv/maintenance" }, rollback: { deploymentId: DEPLOYMENT, reason: "bad", confirm: "prod/giv/rollback" } };
    g.operations = [{ id: "2026-12-01-revert", action: "revert-rollback", confirm: "prod/giv/revert-rollback" }];
  });

  it("maintenance mode, a rollback and a revert on prod without their confirmations in the stack file", async () => {
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: confirmedCalls });
    const found = checkPlan(plan, rawStack("prod")).filter((v) => v.policy === "destructive-confirmed");
    expect(found.map((v) => v.message.split(" on stack")[0]).sort()).toEqual([
      "giv-prod-app: takes an App Platform app offline (maintenance mode)",
      "giv-prod-op-2026-12-01-revert: reverts an App Platform rollback",
      "giv-prod-rollback-3aa4d20e: rolls an App Platform app back to an earlier deployment",
    ]);
    expect(checkPlan(plan, rawStack("prod", { patch: confirmedCalls })).filter((v) => v.urn.includes("giv-"))).toEqual([]);
  });

  it("a credential in a GENERAL variable, a SECRET variable in plain text, and an unprotected app on prod", () => {
    const plan = structuredClone(prod);
    const app = one(plan, APP, "giv-prod-app");
    app.protect = false;
    const envs = (app.inputs.spec as { envs: Env[] }).envs;
    envs.push({ key: "PAYSTACK_SECRET_KEY_2", value: "sk_live_plain", type: "GENERAL" });
    envs.find((e) => e.key === "JWT_SECRET")!.value = "plain-jwt";
    const found = checkPlan(plan, rawStack("prod")).filter((v) => v.urn.includes("giv-"));
    expect(found.map((v) => v.policy).sort()).toEqual(["prod-stateful-protected", "secrets-not-plain", "secrets-not-plain"]);
    expect(found.map((v) => v.message).join("\n")).toContain("variable PAYSTACK_SECRET_KEY_2 at spec.envs[");
    expect(found.map((v) => v.message).join("\n")).toContain("(JWT_SECRET, type SECRET) is in plain text");
  });
});

describe("the generated runbook", () => {
  const runbook = (plan: Plan) => plan.files.find((f) => f.platform === "giv" && f.path === "/RUNBOOK.md")!.content!;

  it("has the dependency graph of the services and the clusters, the seed's GIV procedures and the incident checklist", () => {
    const text = runbook(prod);
    expect(text).toContain("# GIV (KROGiving) operator runbook — stack `prod`");
    expect(text).toContain("```mermaid\ngraph TD");
    for (const edge of ["api -->|started| postgres", "api -->|started| mongodb", "api -->|started| cache"]) expect(text).toContain(edge);
    for (const heading of ["Shutdown (Pause/Disable)", "Recovery / Redeploy", "Database Recovery (GIV)", "Rollback a Deployment", "General Incident Checklist"]) expect(text).toContain(heading);
    expect(text).toContain("invalidates every OTP not yet used");
    expect(text).toContain("cancels a deployment that is still in progress");
    expect(text).toContain("confirm: prod/giv/rollback");
  });

  it("every stack-file snippet in it is accepted by the schema when merged into the real stack file", () => {
    for (const stack of ["prod", "staging"]) {
      const text = runbook(stack === "prod" ? prod : staging);
      const snippets = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]) as { config: { "lazarus:giv": Record<string, unknown> } });
      expect(snippets.length).toBeGreaterThan(8);
      for (const s of snippets) {
        const giv = { ...stackConfigMap(stack)["lazarus:giv"], ...s.config["lazarus:giv"] };
        const parsed = givSchema.safeParse(giv);
        expect(parsed.success, JSON.stringify(s)).toBe(true);
      }
    }
  });
});
