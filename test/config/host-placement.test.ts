// The `host` key of a host-based platform: a droplet block or an existing server. Errors are formatted as the stack
// loader formats them (config/errors.ts), inside a platform-like schema, so each message is what an operator reads.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { formatIssues } from "../../config/errors";
import { hostPlacementSchema, isExistingHost } from "../../config/shared";

const platform = z.strictObject({ host: hostPlacementSchema });

function problems(host: unknown): string[] {
  const r = platform.safeParse({ host }, { reportInput: true });
  return r.success ? [] : formatIssues("Pulumi.prod.yaml", "lazarus:kro", platform, r.error);
}

function parsed(host: unknown) {
  return platform.parse({ host }).host;
}

describe("an existing server", () => {
  it("defaults to root on port 22: the host steps write root-owned files, like the droplet login", () => {
    const h = parsed({ existing: { address: "203.0.113.20" } });
    expect(h).toEqual({ existing: { address: "203.0.113.20", user: "root", port: 22 } });
    expect(isExistingHost(h)).toBe(true);
  });

  it.each(["203.0.113.20", "2001:db8::20", "::1", "kro-dr.example.org", "backup01", "KRO-DR.internal"])("accepts the address %s", (address) => {
    expect(problems({ existing: { address, user: "deploy", port: 2222 } })).toEqual([]);
  });

  const addressMessage = "is not an IPv4 address, IPv6 address or DNS name (example: 203.0.113.20, 2001:db8::20 or kro-dr.example.org)";
  it.each(["10.0.0.300", "kro dr", "203.0.113.20:22", "[2001:db8::20]", "-kro.example.org", "kro_dr.example.org", ""])(
    "refuses the address %j with an example",
    (address) => {
      expect(problems({ existing: { address } })).toEqual([`Pulumi.prod.yaml: lazarus:kro.host.existing.address: ${JSON.stringify(address)} ${addressMessage}`]);
    },
  );

  it.each([
    [0, "0 is not a port number between 1 and 65535 (example: 3000)"],
    [65536, "65536 is not a port number between 1 and 65535 (example: 3000)"],
    [22.5, "22.5 is not a port number (example: 3000)"],
    ["22", '"22" is not a port number (example: 3000)'],
  ])("refuses the port %j", (port, message) => {
    expect(problems({ existing: { address: "203.0.113.20", port } })).toEqual([`Pulumi.prod.yaml: lazarus:kro.host.existing.port: ${message}`]);
  });

  it("refuses a user name that is not a login", () => {
    expect(problems({ existing: { address: "203.0.113.20", user: "Deploy User" } })).toEqual([
      'Pulumi.prod.yaml: lazarus:kro.host.existing.user: "Deploy User" is not a Unix user name (example: root)',
    ]);
  });

  it("names a misspelt key inside existing", () => {
    expect(problems({ existing: { adress: "203.0.113.20" } })).toEqual([
      "Pulumi.prod.yaml: lazarus:kro.host.existing.address: is required but missing (expected a string)",
      'Pulumi.prod.yaml: lazarus:kro.host.existing.adress: unknown key "adress" (did you mean "address"?); known keys: address, user, port',
    ]);
  });

  it("needs a mapping under existing", () => {
    expect(problems({ existing: null })).toEqual(["Pulumi.prod.yaml: lazarus:kro.host.existing: null is not a mapping of keys to values"]);
  });
});

describe("a value mixing both shapes", () => {
  it("names each droplet key set beside existing, and says how to fix it", () => {
    expect(problems({ existing: { address: "203.0.113.20" }, size: "s-2vcpu-4gb", backups: true })).toEqual([
      'Pulumi.prod.yaml: lazarus:kro.host.size: "s-2vcpu-4gb" is a droplet setting (one of size, image, backups, monitoring, alerts, resizeConfirm), but "existing" says the server already exists; remove it, or remove "existing" to declare a droplet',
      'Pulumi.prod.yaml: lazarus:kro.host.backups: true is a droplet setting (one of size, image, backups, monitoring, alerts, resizeConfirm), but "existing" says the server already exists; remove it, or remove "existing" to declare a droplet',
    ]);
  });
});

describe("a droplet", () => {
  it("is today's host block, defaults and all", () => {
    const h = parsed({ size: "s-2vcpu-4gb" });
    expect(isExistingHost(h)).toBe(false);
    expect(h).toMatchObject({ size: "s-2vcpu-4gb", image: "ubuntu-24-04-x64", backups: true, monitoring: true });
  });

  it("keeps its own messages, not zod's union error", () => {
    expect(problems({ size: "s-2vcpu-4g" })).toEqual(['Pulumi.prod.yaml: lazarus:kro.host.size: "s-2vcpu-4g" is not a droplet size slug (example: s-2vcpu-4gb)']);
    expect(problems({ size: "s-2vcpu-4gb", backups: "yes" })).toEqual(['Pulumi.prod.yaml: lazarus:kro.host.backups: "yes" is not true or false']);
    expect(problems({ sise: "s-2vcpu-4gb" })).toEqual([
      "Pulumi.prod.yaml: lazarus:kro.host.size: is required but missing (expected a string)",
      'Pulumi.prod.yaml: lazarus:kro.host.sise: unknown key "sise" (did you mean "size"?); known keys: existing, size, image, backups, monitoring, alerts, resizeConfirm',
    ]);
    expect(problems("s-2vcpu-4gb")).toEqual(['Pulumi.prod.yaml: lazarus:kro.host: "s-2vcpu-4gb" is not a mapping of keys to values']);
  });
});
