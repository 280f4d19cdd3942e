// The offline replace rules for Kubernetes kinds are dotted paths (pulumi-kubernetes diff.go forceNewProperties): a
// change below a rule's path replaces, a change beside it updates in place. Limits: the real provider also replaces
// what the API server refuses to patch at apply time; only `pulumi preview` against a cluster shows that.
import { describe, expect, it } from "vitest";
import { replaceVerdict } from "../../cli/replaceRules";

describe("replace rules known offline", () => {
  it("a Deployment's replicas or image are an update; its selector or name replace it", () => {
    expect(replaceVerdict("kubernetes:apps/v1:Deployment", ["spec.replicas"], []).kind).toBe("update");
    expect(replaceVerdict("kubernetes:apps/v1:Deployment", ["spec.template.spec.containers[0].image"], []).kind).toBe("update");
    expect(replaceVerdict("kubernetes:apps/v1:Deployment", ["spec.selector.matchLabels.app"], []).kind).toBe("replace");
    expect(replaceVerdict("kubernetes:apps/v1:Deployment", ["metadata.name"], []).kind).toBe("replace");
    expect(replaceVerdict("kubernetes:apps/v1:Deployment", ["metadata.labels.tier"], []).kind).toBe("update");
  });

  it("a StatefulSet's volume claim templates, a ConfigMap's data and a Secret's data replace them", () => {
    expect(replaceVerdict("kubernetes:apps/v1:StatefulSet", ["spec.volumeClaimTemplates[0].spec.resources.requests.storage"], []).kind).toBe("replace");
    expect(replaceVerdict("kubernetes:core/v1:ConfigMap", ["data.SPRING_PROFILES_ACTIVE"], []).kind).toBe("replace");
    expect(replaceVerdict("kubernetes:core/v1:Secret", ["stringData.password"], []).kind).toBe("replace");
  });

  it("top-level rules still cover their nested inputs (DigitalOcean, command)", () => {
    expect(replaceVerdict("digitalocean:index/vpc:Vpc", ["ipRange"], []).kind).toBe("replace");
    expect(replaceVerdict("command:remote:Command", ["triggers[0]"], []).kind).toBe("replace");
    expect(replaceVerdict("command:remote:Command", ["stdin"], []).kind).toBe("update");
  });

  it("a kubernetes provider with a new kubeconfig may replace everything it manages: preview decides", () => {
    expect(replaceVerdict("pulumi:providers:kubernetes", ["kubeconfig"], []).kind).toBe("maybe-replace");
    expect(replaceVerdict("pulumi:providers:kubernetes", ["context"], []).kind).toBe("replace");
  });
});
