// A changed file rolls out: its writer, the prepare step that hands it to a container user (for the chowned secret
// files) and compose up re-run, and nothing else does.
//
// What re-runs a command under the real provider (pulumi-command 1.2.1, the version package.json pins): a change of
// `triggers` replaces the resource, a change of any other input (stdin, create) updates it, and its Update runs `create`
// again when no `update` is set (provider/pkg/provider/common/inputs.go:10, remote/commandController.go:76-80). So
// "what re-runs" is "what has different inputs". The mock runtime never diffs or applies an update: each test plans the
// stack twice, changing one file's content, and compares the inputs the program declares, which is what the engine's
// diff compares. It cannot show what a real engine does with those inputs beyond that (see the provider lines above).
import { GOODGO_SECRET_MOUNTS } from "../../stacks/goodgo/services";
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../cli/planner";
import { renderJson } from "../../cli/planFormat";
import { ComposeDeployment } from "../../components/composeDeployment";
import { ExistingHost } from "../../components/existingHost";
import { fileWriterName, type HostFileSpec } from "../../components/hostSoftware";
import { captureProgram, SECRET_MARK } from "../../lib/runtime/capture";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, one, planFor, type StackOptions } from "../support/stacks";

const secrets = ALL_SENTINEL_SECRETS;
let base: Plan;

beforeAll(async () => {
  base = await planFor("prod", { secrets });
});

const planWith = (options: StackOptions) => planFor("prod", { secrets, ...options });

/** Names of the resources whose inputs differ between two plans declaring the same resources, sorted. */
function rerunBetween(before: Pick<Plan, "resources">, after: Pick<Plan, "resources">): string[] {
  expect(after.resources.map((r) => r.urn)).toEqual(before.resources.map((r) => r.urn));
  const old = new Map(before.resources.map((r) => [r.urn, JSON.stringify(r.rawInputs)]));
  return after.resources.filter((r) => old.get(r.urn) !== JSON.stringify(r.rawInputs)).map((r) => r.name).sort();
}

/** Paths of the non-secret rendered files whose content differs between two plans. */
function changedFiles(before: Plan, after: Plan): string[] {
  const old = new Map(before.files.map((f) => [`${f.host}:${f.path}`, f.content]));
  return after.files.filter((f) => !f.secret && old.get(`${f.host}:${f.path}`) !== f.content).map((f) => f.path);
}

/** The one path of `platform`'s rendered files ending in `suffix`. */
const path = (platform: string, suffix: string) => {
  const found = base.files.filter((f) => f.platform === platform && f.path.endsWith(suffix)).map((f) => f.path);
  expect(found, suffix).toHaveLength(1);
  return found[0];
};

describe("changing one file re-runs exactly what depends on it", () => {
  it("KRO's nginx config (a new route): its writer and compose up", async () => {
    const after = await planWith({ patch: (c) => c["lazarus:kro"].app.sites[0].routes.unshift({ path: "/uploads/", service: "backend" }) });
    const nginx = path("kro", "nginx.conf");
    expect(changedFiles(base, after)).toEqual([nginx]);
    expect(rerunBetween(base, after)).toEqual([fileWriterName("kro-prod-software", nginx), "kro-prod-compose-up"].sort());
  });

  it("KRO's production.json (a secret): its writer and compose up, which restarts the backend", async () => {
    const after = await planWith({
      secrets: { ...secrets, "lazarus:kroProductionJson": JSON.stringify({ ...JSON.parse(secrets["lazarus:kroProductionJson"]), port: 3001 }) },
    });
    expect(changedFiles(base, after)).toEqual([]);
    expect(rerunBetween(base, after)).toEqual([fileWriterName("kro-prod-software", path("kro", "production.json")), "kro-prod-compose-up"].sort());
  });

  it("GoodGo's alert rules (the runbook URL their annotations link to): the rule files' writers and compose up", async () => {
    const after = await planWith({ patch: (c) => (c["lazarus:goodgo"].monitoring.runbookUrl = "https://wiki.example.org/goodgo/runbook") });
    const rules = changedFiles(base, after);
    expect(rules.length).toBeGreaterThan(0);
    for (const p of rules) expect(p).toMatch(/\/monitoring\/prometheus\/rules\/[^/]+\.yml$/);
    expect(rerunBetween(base, after)).toEqual([...rules.map((p) => fileWriterName("goodgo-prod-software", p)), "goodgo-prod-compose-up"].sort());
  });

  it("GoodGo's Slack webhook file (a secret Alertmanager's user reads): its writer, prepare (the chown) and compose up", async () => {
    const after = await planWith({ secrets: { ...secrets, "lazarus:goodgoSlackWebhook": "https://hooks.slack.com/services/T000/B000/SENTINEL-gg-slack-rotated" } });
    expect(rerunBetween(base, after)).toEqual(
      [fileWriterName("goodgo-prod-software", path("goodgo", "secrets/slack_webhook_url")), "goodgo-prod-prepare", "goodgo-prod-compose-up"].sort(),
    );
  });

  it("GoodGo's Redis password: the files holding it (users.acl is chowned to Redis's user), prepare and compose up", async () => {
    const after = await planWith({ secrets: { ...secrets, "lazarus:goodgoRedisPassword": "SENTINEL-gg-redis-rotated" } });
    // users.acl (its hash), .env (REDIS_URL), and the two container secret files: Redis's own and redis_exporter's.
    const files = ["redis/users.acl", "/.env", GOODGO_SECRET_MOUNTS.redisPassword.host, GOODGO_SECRET_MOUNTS.redisExporterPasswords.host];
    const writers = files.map((f) => fileWriterName("goodgo-prod-software", path("goodgo", f)));
    expect(rerunBetween(base, after)).toEqual([...writers, "goodgo-prod-prepare", "goodgo-prod-compose-up"].sort());
  });
});

describe("the triggers of secret files", () => {
  const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

  it("are secrets in the plan JSON, and no digest of a secret value or a secret file appears in it", () => {
    const json = renderJson(base, [], []);
    const secretFiles = base.files.filter((f) => f.secret);
    expect(secretFiles.length).toBeGreaterThan(0);
    const contents = secretFiles.map((f) => String(one(base, T.command, fileWriterName(`${f.platform}-prod-software`, f.path)).rawInputs.stdin));
    for (const marker of ALL_SENTINEL_MARKERS) expect(json).not.toContain(marker);
    for (const s of [...Object.values(secrets), ...contents]) {
      expect(json).not.toContain(s);
      expect(json).not.toContain(sha256(s));
    }
    // Compose up names one trigger per file, each secret file's as a secret (not the mock's id of its writer).
    for (const prefix of ["kro-prod", "goodgo-prod"]) {
      const up = one(base, T.command, `${prefix}-compose-up`);
      const ownSecretFiles = secretFiles.filter((f) => prefix.startsWith(f.platform)).length;
      expect((up.inputs.triggers as unknown[]).filter((t) => t === SECRET_MARK)).toHaveLength(ownSecretFiles);
    }
    const prepare = one(base, T.command, "goodgo-prod-prepare");
    // The Slack webhook, the Redis ACL, the PgBouncer userlist, and every container secret file.
    expect((prepare.inputs.triggers as unknown[]).filter((t) => t === SECRET_MARK)).toHaveLength(3 + Object.keys(GOODGO_SECRET_MOUNTS).length);
  });
});

describe("a file written differently without a content change", () => {
  // A new write command (another mode, or a change to lib/hostCommands' writeFileCommand) re-runs the writer too, which
  // replaces the file root-owned: the chown in prepare must follow.
  const deploy = (aclMode: HostFileSpec["mode"]) =>
    captureProgram({ stack: "test", values: {}, secretKeys: [] }, () => {
      const host = new ExistingHost("h", { address: "h.example.org", user: "root", port: 22, privateKey: "test-only-key" });
      new ComposeDeployment("d", {
        platform: "p",
        prefix: "p",
        host,
        hostNeeds: { deployDir: "/srv/p", acmeWebroot: "/var/www/certbot" },
        files: [
          { path: "/srv/p/compose.yaml", content: "services: {}\n", mode: "0644", secret: false },
          { path: "/srv/p/users.acl", content: pulumi.secret("user default on #0 ~* +@all\n"), mode: aclMode, secret: true },
        ],
        prepare: { command: "chown 999 /srv/p/users.acl", rerunWhenWritten: ["/srv/p/users.acl"] },
        up: { command: "docker compose up -d --wait" },
        operations: [],
      });
      return {};
    });

  it("re-runs its writer, prepare and compose up", async () => {
    const [before, after] = [await deploy("0600"), await deploy("0640")];
    expect(rerunBetween(before, after)).toEqual([fileWriterName("p-software", "/srv/p/users.acl"), "p-compose-up", "p-prepare"].sort());
  });
});
