// Every shape `pulumi config set` writes into Pulumi.<stack>.yaml, through the offline plan CLI: each plans (exit 0) or
// is refused with a message naming the file and key (exit 2); none ends in an unhandled error. The shapes, from the
// CLI's reference (`pulumi config set`): a plain string; `--type bool|int|float` (a typed YAML scalar at the top level);
// `--secret` (`{secure: v1:...}`, which the offline plan cannot decrypt); `--path` (maps and lists inside a key, where
// "true"/"false" become booleans and integers numbers); `--path --secret` (`{secure: ...}` inside a map); and the
// secrets-provider keys (`secretsprovider`, `encryptedkey`, `encryptionsalt`) beside `config:`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runPlanCli } from "../../cli/plan";
import { patchedProject, stackConfigMap } from "../support/stacks";

// What `--secret` writes: ciphertext the offline plan has no key for.
const secure = (tag: string) => ({ secure: `v1:${Buffer.from(`ciphertext-${tag}`).toString("base64")}` });

/** A project dir holding a prod stack file with the given top-level keys beside the patched `config:`. */
function stackFile(patch: (config: Record<string, any>) => void, topLevel: Record<string, unknown> = {}): string {
  const dir = patchedProject("prod", () => {});
  const config = stackConfigMap("prod");
  patch(config);
  writeFileSync(join(dir, "Pulumi.prod.yaml"), stringify({ ...topLevel, config }));
  return dir;
}

const plan = (dir: string) => runPlanCli(["--stack", "prod", "--project-dir", dir]);

describe("the offline plan of every stack-file shape pulumi config set writes", () => {
  it("plans encrypted secrets (--secret), kroProductionJson included, with placeholders", async () => {
    const dir = stackFile((c) => {
      c["lazarus:kroProductionJson"] = secure("production-json");
      c["lazarus:kroSshPrivateKey"] = secure("ssh");
      c["lazarus:alertSlackWebhook"] = secure("slack");
    });
    const r = await plan(dir);
    expect(r.stderr).not.toMatch(/not valid JSON|at .*\.ts:\d+/);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("ciphertext");
    // The encrypted ones are set: only GoodGo's secrets remain in the warning.
    expect(r.stderr).not.toContain("lazarus:kroProductionJson");
  });

  it("plans with the secrets provider's keys beside config:", async () => {
    const dir = stackFile((c) => (c["lazarus:kroProductionJson"] = secure("production-json")), {
      secretsprovider: "awskms://alias/lazarus-prod?region=eu-central-1",
      encryptedkey: Buffer.from("wrapped-data-key").toString("base64"),
      encryptionsalt: "v1:c2FsdA==:v1:aXY=:Y2lwaGVy",
    });
    expect((await plan(dir)).code).toBe(0);
  });

  it("plans values set with --path (a map member and a list item) and typed scalars it writes", async () => {
    const dir = stackFile((c) => {
      c["lazarus:kro"].app.imageTag = "v2"; // pulumi config set --path 'lazarus:kro.app.imageTag' v2
      c["lazarus:kro"].app.sites[0].serverName = "kro2.example.org"; // --path 'lazarus:kro.app.sites[0].serverName'
      c["lazarus:kro"].host.backups = false; // --path 'lazarus:kro.host.backups' false: a boolean
      c["lazarus:kro"].database.nodeCount = 3; // --path 'lazarus:kro.database.nodeCount' 3: a number
    });
    const r = await runPlanCli(["--stack", "prod", "--project-dir", dir, "--json"]);
    expect(r.code).toBe(0);
    const steps = JSON.parse(r.stdout).steps as { urn: string; newState: { type: string; inputs: Record<string, unknown> } }[];
    const cluster = steps.find((s) => s.newState.type === "digitalocean:index/databaseCluster:DatabaseCluster" && s.newState.inputs.name === "kro-prod-db")!;
    expect(cluster.newState.inputs.nodeCount).toBe(3);
  });

  it("refuses a secret written as a plain string (no --secret), with the line that sets it (exit 2)", async () => {
    const r = await plan(stackFile((c) => (c["lazarus:alertSlackWebhook"] = "https://hooks.slack.com/services/T0/B0/plain")));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Pulumi.prod.yaml: lazarus:alertSlackWebhook: is stored in plain text; it must be a secret.");
    expect(r.stderr).not.toContain("/plain");
  });

  it("refuses a typed top-level scalar where a block belongs (--type bool), naming the key (exit 2)", async () => {
    const r = await plan(stackFile((c) => (c["lazarus:kro"] = false)));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Pulumi.prod.yaml: lazarus:kro");
  });

  it("refuses a setting encrypted inside a block (--path --secret), naming the key and the plain-text fix (exit 2)", async () => {
    const r = await plan(stackFile((c) => (c["lazarus:kro"].app.imageTag = secure("tag"))));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "Pulumi.prod.yaml: lazarus:kro.app.imageTag: is encrypted (secure:), but it is a setting, not one of the secrets Lazarus reads from their own keys; the offline plan cannot decrypt it and a preview would hide it: set it in plain text (example: pulumi config set --stack prod --path 'lazarus:kro.app.imageTag' <value>)",
    );
    expect(r.stderr).not.toContain("ciphertext");
  });

  it("refuses a whole settings block encrypted with --secret, naming it (exit 2)", async () => {
    const r = await plan(stackFile((c) => (c["lazarus:kro"] = secure("block"))));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Pulumi.prod.yaml: lazarus:kro: is encrypted (secure:), but it is a setting");
  });

  it("plans a secret whose value is a map with encrypted members (--path --secret on a secret key)", async () => {
    const dir = stackFile((c) => (c["lazarus:kroProductionJson"] = { port: 3000, jwtSecret: secure("jwt") }));
    expect((await plan(dir)).code).toBe(0);
  });
});
