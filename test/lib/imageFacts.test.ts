// The image-facts table: how an image reference finds its entry, and what a missing entry says.
import { describe, expect, it } from "vitest";
import { IMAGE_FACTS, imageFacts, imageRepository, secretFileOwner } from "../../lib/imageFacts";

describe("image facts", () => {
  it("keys an image by its repository, whatever its tag, digest or Compose default", () => {
    expect(imageRepository("prom/alertmanager:v0.27.0")).toBe("prom/alertmanager");
    expect(imageRepository("redis:7-alpine")).toBe("redis");
    expect(imageRepository("docker.io/library/nginx:1.27-alpine@sha256:abc")).toBe("nginx");
    expect(imageRepository("localhost:5000/app")).toBe("localhost:5000/app");
    expect(imageRepository("${REGISTRY_URL:-ghcr.io/goodgo}/goodgo-api:${IMAGE_TAG:-8f3c2a1}")).toBe("ghcr.io/goodgo/goodgo-api");
  });

  it("gives the owner a secret file mounted into the image needs", () => {
    expect(secretFileOwner({ image: "prom/alertmanager:v0.27.0" })).toBe("65534:65534");
    expect(secretFileOwner({ image: "edoburu/pgbouncer:1.23.1-p2" })).toBe("70:70");
  });

  it("names the table, the repository and an example entry for an image it does not know", () => {
    expect(() => imageFacts("acme/unknown:1.0")).toThrow(/lib\/imageFacts\.ts: no facts for image "acme\/unknown:1\.0" \(repository "acme\/unknown"\).*e\.g\./);
  });

  it("says where every fact comes from", () => {
    for (const [repo, facts] of Object.entries(IMAGE_FACTS)) expect(facts.source, repo).toMatch(/https:\/\/|not verifiable here/);
  });
});
