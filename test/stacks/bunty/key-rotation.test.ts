// Bunty's Rotating API Keys (Plaid, Stripe), declared from the real Pulumi.prod.yaml under mocks with given secret
// values: a rotated key rewrites the .env (rendered, never edited by hand as the seed's `nano .env` does) and, through
// the .env's content, re-runs the app's start step, which reloads the app under PM2 with the new .env.
// The JWT rotation logs every user out: it rolls out only with rotateJwt's next generation (confirmed on prod), and a
// secret changed without one is refused by the loader, which a real preview gives the decrypted secret (the tests give
// it the way the engine does: as a secret config value).
import { describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { ConfigError } from "../../../config/errors";
import { checkPlan } from "../../../policy/rules";
import { buntyJwtFingerprint } from "../../../stacks/bunty/config";
import { ALL_SENTINEL_SECRETS, T, byType, one, planFor, rawStack } from "../../support/stacks";

const envText = (plan: Plan) => String(byType(plan, T.command).find((r) => r.name === "bunty-prod-software-file-var-www-bunty-backend-env")!.rawInputs.stdin);
const startTriggers = (plan: Plan) => JSON.stringify(one(plan, T.command, "bunty-prod-pm2-start").rawInputs.triggers);

describe("Bunty key rotation", () => {
  it("a new Plaid or Stripe secret rewrites the .env and re-runs the app's start, which reloads it", async () => {
    const before = await planFor("prod", { secrets: { "lazarus:buntyPlaidSecret": "plaid-old", "lazarus:buntyStripeSecretKey": "sk_live_old" } });
    const plaid = await planFor("prod", { secrets: { "lazarus:buntyPlaidSecret": "plaid-new", "lazarus:buntyStripeSecretKey": "sk_live_old" } });
    const stripe = await planFor("prod", { secrets: { "lazarus:buntyPlaidSecret": "plaid-old", "lazarus:buntyStripeSecretKey": "sk_live_new" } });
    expect(envText(before)).toContain("PLAID_SECRET=plaid-old");
    expect(envText(plaid)).toContain("PLAID_SECRET=plaid-new");
    expect(envText(stripe)).toContain("STRIPE_SECRET_KEY=sk_live_new");
    expect(startTriggers(plaid)).not.toBe(startTriggers(before));
    expect(startTriggers(stripe)).not.toBe(startTriggers(before));
    expect(one(plaid, T.command, "bunty-prod-pm2-start").inputs.create).toMatch(/pm2-app\.sh .* start$/);
  });
});

describe("Bunty JWT rotation", () => {
  const OLD = "jwt-generation-one-secret";
  const NEW = "jwt-generation-two-secret";
  const withJwt = (jwt: string) => ({ ...ALL_SENTINEL_SECRETS, "lazarus:buntyJwtSecret": jwt });
  const rotate = (r: Record<string, unknown>) => (c: Record<string, any>) => (c["lazarus:bunty"].rotateJwt = r);
  const refusal = (p: Promise<unknown>) => p.then(() => "", (e) => (expect(e).toBeInstanceOf(ConfigError), String(e.message)));

  it("refuses a JWT secret changed without a new generation, giving the next generation's lines to write", async () => {
    const patch = rotate({ generation: 1, secretSha256: buntyJwtFingerprint(1, OLD) });
    await expect(planFor("prod", { secrets: withJwt(OLD), patch })).resolves.toBeDefined();
    const msg = await refusal(planFor("prod", { secrets: withJwt(NEW), patch }));
    expect(msg).toContain("lazarus:bunty.rotateJwt.secretSha256: is generation 1's JWT secret, but lazarus:buntyJwtSecret holds another one: a new JWT secret logs every user out");
    expect(msg).toContain(`rotateJwt: {generation: 2, secretSha256: "${buntyJwtFingerprint(2, NEW)}", confirm: "prod/bunty/rotate-jwt-2"}`);
    expect(msg).not.toContain(NEW);
  });

  it("refuses generation 2 on prod without its confirmation and without the fingerprint of the secret it rolls out", async () => {
    const msg = await refusal(planFor("prod", { secrets: withJwt(NEW), patch: rotate({ generation: 2 }) }));
    expect(msg).toContain('lazarus:bunty.rotateJwt.confirm: is missing: JWT secret generation 2 invalidates every session signed with the previous secret: every user is logged out on stack prod; to proceed set it to "prod/bunty/rotate-jwt-2"');
    expect(msg).toContain(`lazarus:bunty.rotateJwt.secretSha256: is missing: generation 2 must name the secret it rolls out`);
    expect(msg).toContain(`secretSha256: "${buntyJwtFingerprint(2, NEW)}"`);
    // A confirmation of an earlier generation does not approve this one.
    const stale = await refusal(planFor("prod", { secrets: withJwt(NEW), patch: rotate({ generation: 3, secretSha256: buntyJwtFingerprint(3, NEW), confirm: "prod/bunty/rotate-jwt-2" }) }));
    expect(stale).toContain('"prod/bunty/rotate-jwt-2" is not the confirmation');
  });

  it("rolls the confirmed generation out: the .env carries the new secret, the app restarts on it, and a once-step records the generation", async () => {
    const r = { generation: 2, secretSha256: buntyJwtFingerprint(2, NEW), confirm: "prod/bunty/rotate-jwt-2" };
    const before = await planFor("prod", { secrets: withJwt(OLD), patch: rotate({ generation: 1, secretSha256: buntyJwtFingerprint(1, OLD) }) });
    const after = await planFor("prod", { secrets: withJwt(NEW), patch: rotate(r) });
    expect(envText(after)).toContain(`JWT_SECRET=${NEW}`);
    expect(startTriggers(after)).not.toBe(startTriggers(before));
    expect(byType(before, T.command).map((c) => c.name)).not.toContain("bunty-prod-jwt-generation-2");
    const recorded = one(after, T.command, "bunty-prod-jwt-generation-2");
    expect(recorded.dependencies).toContain(one(after, T.command, "bunty-prod-pm2-start").urn);
    expect(String(recorded.inputs.create)).toMatch(/ jwt-rotation \/etc\/bunty\/jwt-generation 2$/);
    expect(JSON.stringify(recorded.inputs)).not.toContain(NEW);
    // The pack passes it confirmed and refuses it when the stack file's confirmation is gone.
    expect(checkPlan(after, rawStack("prod", { patch: rotate(r) }))).toEqual([]);
    const unconfirmed = checkPlan(after, rawStack("prod", { patch: rotate({ ...r, confirm: undefined }) }));
    expect(unconfirmed.map((v) => v.message)).toEqual([expect.stringContaining('bunty-prod-jwt-generation-2: rolls out a new JWT secret (every user is logged out) on stack prod without a confirmation in Pulumi.prod.yaml; its switch or operation needs confirm: "prod/bunty/rotate-jwt-2"')]);
  });

  it("checks the fingerprint only where the secret is decrypted: the offline plan passes a recorded one, staging needs no confirmation", async () => {
    await expect(planFor("prod", { patch: rotate({ generation: 2, secretSha256: "0123456789abcdef", confirm: "prod/bunty/rotate-jwt-2" }) })).resolves.toBeDefined();
    const staging = await planFor("staging", { secrets: withJwt(NEW), patch: rotate({ generation: 2 }) });
    expect(byType(staging, T.command).map((c) => c.name)).toContain("bunty-staging-jwt-generation-2");
  });
});
