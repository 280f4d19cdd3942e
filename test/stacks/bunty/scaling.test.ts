// Bunty's Scaling Operations declared from the real Pulumi.prod.yaml / Pulumi.staging.yaml under mocks: a vertical
// resize is a change of host.size, shown by the preview as the droplet's size, confirmed on prod by a value that names
// the new size, and limited to CPU and memory (resizeDisk false) so it can be undone.
// What only the provider shows: that DigitalOcean resizes in place (powering the droplet off) rather than replacing it.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../config/errors";
import { ALL_SENTINEL_SECRETS, T, one, planFor } from "../../support/stacks";

describe("Bunty vertical scaling (resize)", () => {
  it("declares prod's droplet at its confirmed size, resizing CPU and memory only", async () => {
    const plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
    expect(one(plan, T.droplet, "bunty-prod-host").inputs).toMatchObject({ size: "s-2vcpu-4gb", resizeDisk: false, gracefulShutdown: true });
  });

  it("refuses a new size on prod until its own confirmation is written, saying the droplet is powered off", async () => {
    const err = await planFor("prod", { patch: (c) => (c["lazarus:bunty"].host.size = "s-4vcpu-8gb") }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const msg = String(err.message);
    expect(msg).toContain('Pulumi.prod.yaml: lazarus:bunty.host.resizeConfirm: "prod/bunty/resize-to-s-2vcpu-4gb" is not the confirmation');
    expect(msg).toContain("shuts the droplet down gracefully");
    expect(msg).toContain('to proceed set it to "prod/bunty/resize-to-s-4vcpu-8gb"');
  });

  it("resizes with the confirmation naming the new size: the droplet's size is the change the preview shows", async () => {
    const plan = await planFor("prod", {
      secrets: ALL_SENTINEL_SECRETS,
      patch: (c) => Object.assign(c["lazarus:bunty"].host, { size: "s-4vcpu-8gb", resizeConfirm: "prod/bunty/resize-to-s-4vcpu-8gb" }),
    });
    const base = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS });
    const droplet = one(plan, T.droplet, "bunty-prod-host");
    expect(droplet.inputs.size).toBe("s-4vcpu-8gb");
    // Nothing else about the droplet changes (no new image, no new user-data): a resize, not a rebuild.
    expect({ ...droplet.inputs, size: "x" }).toEqual({ ...one(base, T.droplet, "bunty-prod-host").inputs, size: "x" });
  });

  it("needs no confirmation on staging", async () => {
    const plan = await planFor("staging", { secrets: ALL_SENTINEL_SECRETS, patch: (c) => (c["lazarus:bunty"].host.size = "s-2vcpu-4gb") });
    expect(one(plan, T.droplet, "bunty-staging-host").inputs.size).toBe("s-2vcpu-4gb");
  });
});
