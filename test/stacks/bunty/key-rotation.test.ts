// Bunty's Rotating API Keys (Plaid, Stripe), declared from the real Pulumi.prod.yaml under mocks with given secret
// values: a rotated key rewrites the .env (rendered, never edited by hand as the seed's `nano .env` does) and, through
// the .env's content, re-runs the app's start step, which reloads the app under PM2 with the new .env.
// Not here: the JWT rotation's confirmation (stacks/bunty/README.md, "Not declared yet").
import { describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import { T, byType, one, planFor } from "../../support/stacks";

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
