// The policy pack's rules over the offline plan of both real stacks (they pass) and over mutated plans (each rule fails
// with its own message). A mutation edits the captured plan, not the stack file: the config checks would refuse most of
// these before a resource exists, and the policy is the second line that must catch them anyway. What the rules see is
// what the CrossGuard pack sees under the engine (resource inputs), except secret-ness (see policy/index.ts).
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../cli/planner";
import { checkPlan } from "../../policy/rules";
import type { DeclaredResource } from "../../lib/runtime/capture";
import { one, planFor, rawStack, T } from "../support/stacks";

let prod: Plan;
let staging: Plan;

beforeAll(async () => {
  prod = await planFor("prod");
  staging = await planFor("staging");
});

/** A deep copy of the plan with `change` applied to one resource. */
function mutated(plan: Plan, type: string, name: string, change: (r: DeclaredResource) => void): Plan {
  const copy = structuredClone(plan);
  change(one(copy, type, name));
  return copy;
}

const composeWriter = (stack: string) => `goodgo-${stack}-software-file-root-goodgo-docker-compose-prod-yml`;

describe("the real stacks", () => {
  it.each(["prod", "staging"])("%s passes every policy", (stack) => {
    expect(checkPlan(stack === "prod" ? prod : staging, rawStack(stack))).toEqual([]);
  });
});

describe("no-public-data-ports", () => {
  it("fails a cloud firewall that opens PostgreSQL to 0.0.0.0/0", () => {
    const plan = mutated(prod, T.firewall, "goodgo-prod-host-firewall", (r) => {
      (r.inputs.inboundRules as unknown[]).push({ protocol: "tcp", portRange: "5432", sourceAddresses: ["0.0.0.0/0"] });
    });
    const found = checkPlan(plan, rawStack("prod"));
    expect(found.map((v) => v.policy)).toEqual(["no-public-data-ports"]);
    expect(found[0].message).toBe(
      "goodgo-prod-host-firewall: inbound tcp 5432 is open to 0.0.0.0/0, exposing PostgreSQL 5432; admit only environment.adminCidrs (or the droplets that need it), or use 127.0.0.1 and an SSH tunnel",
    );
  });

  it("fails a range that covers a metrics port, and the admin port compose publishes, opened to ::/0", () => {
    const plan = mutated(prod, T.firewall, "goodgo-prod-host-firewall", (r) => {
      (r.inputs.inboundRules as unknown[]).push({ protocol: "tcp", portRange: "3000-3010", sourceAddresses: ["::/0"] });
      (r.inputs.inboundRules as unknown[]).push({ protocol: "tcp", portRange: "9090", sourceAddresses: ["::/0"] });
    });
    const messages = checkPlan(plan, rawStack("prod")).map((v) => v.message);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain("exposing grafana (published in /root/goodgo/docker-compose.prod.yml) 3002");
    expect(messages[1]).toContain("exposing Prometheus 9090");
  });

  it("fails a database firewall that admits the world", () => {
    const plan = mutated(prod, T.dbFirewall, "kro-prod-db-firewall", (r) => {
      (r.inputs.rules as unknown[]).push({ type: "ip_addr", value: "0.0.0.0/0" });
    });
    expect(checkPlan(plan, rawStack("prod")).map((v) => v.message)).toEqual([
      "kro-prod-db-firewall: admits 0.0.0.0/0 to the database cluster; admit the host by droplet (type: droplet) or by its address",
    ]);
  });

  it("fails a compose file that publishes Redis on every address, and accepts it on loopback", () => {
    const publish = (ports: string) =>
      mutated(staging, T.command, composeWriter("staging"), (r) => {
        r.inputs.stdin = (r.inputs.stdin as string).replace(/^( {2}redis:\n)/m, `$1    ports:\n      - "${ports}"\n`);
      });
    expect(checkPlan(publish("6379:6379"), rawStack("staging")).map((v) => v.message)).toEqual([
      '/root/goodgo/docker-compose.prod.yml: service redis (redis:7-alpine) publishes "6379:6379" on every address of the host; a data or metrics port is published on loopback only (example: "127.0.0.1:6379:6379")',
    ]);
    expect(checkPlan(publish("127.0.0.1:6379:6379"), rawStack("staging"))).toEqual([]);
  });
});

describe("prod-stateful-protected", () => {
  it("fails an unprotected cluster on prod, and not on staging", () => {
    const unprotect = (r: DeclaredResource) => (r.protect = false);
    const found = checkPlan(mutated(prod, T.cluster, "kro-prod-db", unprotect), rawStack("prod"));
    expect(found.map((v) => `${v.policy}: ${v.message}`)).toEqual([
      "prod-stateful-protected: kro-prod-db: a database cluster on stack prod is not protected, so a later `pulumi up` may delete or replace it; declare it with protect: true (lazarus:environment.protect)",
    ]);
    expect(checkPlan(mutated(staging, T.cluster, "kro-staging-db", unprotect), rawStack("staging"))).toEqual([]);
  });

  it.each([
    [T.droplet, "goodgo-prod-host"],
    [T.reservedIp, "kro-prod-host-ip"],
    [T.spacesBucket, "goodgo-prod-offsite-backups"],
    [T.db, "kro-prod-db-db-kro"],
    [T.dbUser, "kro-prod-db-user-kro"],
  ])("fails an unprotected %s", (type, name) => {
    const found = checkPlan(mutated(prod, type, name, (r) => (r.protect = false)), rawStack("prod"));
    expect(found.map((v) => v.policy)).toEqual(["prod-stateful-protected"]);
    expect(found[0].message).toMatch(new RegExp(`^${name}: .* on stack prod is not protected`));
  });
});

describe("images-pinned", () => {
  it.each([
    ["nginx:latest", 'image "nginx:latest" is tagged latest'],
    ["nginx", 'image "nginx" has no tag (Docker pulls latest)'],
    ["${EDGE_IMAGE}", 'image "${EDGE_IMAGE}" takes part of its name from an environment variable without a pinned default'],
  ])("fails a compose image %s", (image, why) => {
    const plan = mutated(prod, T.command, composeWriter("prod"), (r) => {
      r.inputs.stdin = (r.inputs.stdin as string).replace("image: nginx:1.27-alpine", `image: ${image}`);
    });
    expect(checkPlan(plan, rawStack("prod")).map((v) => `${v.policy}: ${v.message}`)).toEqual([
      `images-pinned: /root/goodgo/docker-compose.prod.yml: service nginx ${why}; pin a version (example: nginx:1.27-alpine)`,
    ]);
  });

  it("accepts a pinned default behind an environment variable, and a digest", () => {
    const plan = mutated(prod, T.command, composeWriter("prod"), (r) => {
      r.inputs.stdin = (r.inputs.stdin as string).replace("image: nginx:1.27-alpine", `image: nginx@sha256:${"a".repeat(64)}`);
    });
    expect(checkPlan(plan, rawStack("prod"))).toEqual([]);
    expect(one(prod, T.command, composeWriter("prod")).inputs.stdin).toContain("${IMAGE_TAG:-8f3c2a1}");
  });
});

describe("destructive-confirmed", () => {
  const shutdownOnProd = () =>
    planFor("prod", {
      patch: (c) => (c["lazarus:kro"].operations = [{ id: "2026-11-23-shutdown", action: "graceful-shutdown", confirm: "prod/kro/graceful-shutdown" }]),
    });

  it("passes a confirmed graceful shutdown on prod, and fails it when the stack file carries no confirmation", async () => {
    const plan = await shutdownOnProd();
    expect(checkPlan(plan, rawStack("prod", { patch: (c) => (c["lazarus:kro"].operations = [{ id: "2026-11-23-shutdown", action: "graceful-shutdown", confirm: "prod/kro/graceful-shutdown" }]) }))).toEqual([]);
    expect(checkPlan(plan, rawStack("prod")).map((v) => `${v.policy}: ${v.message}`)).toEqual([
      'destructive-confirmed: kro-prod-op-2026-11-23-shutdown: takes the whole project offline on stack prod without a confirmation in Pulumi.prod.yaml; its switch or operation needs confirm: "prod/kro/graceful-shutdown"',
    ]);
  });

  it("fails an operation that stops a service on prod without a confirmation", async () => {
    const plan = mutated(await shutdownOnProd(), T.command, "kro-prod-op-2026-11-23-shutdown", (r) => {
      r.inputs.create = "bash /opt/lazarus/scripts/ops/compose-service.sh --dir /root/Kro/kro-devops/production -- stop nginx";
    });
    expect(checkPlan(plan, rawStack("prod")).map((v) => v.message)).toEqual([
      'kro-prod-op-2026-11-23-shutdown: stops a service (takes it offline) on stack prod without a confirmation in Pulumi.prod.yaml; its switch or operation needs confirm: "prod/kro/stop-service"',
    ]);
  });

  it("fails GoodGo's host recovery chain (restore with cutover, FLUSHALL, snapshot droplet) without its confirmation", async () => {
    const recovery = { host: { label: "r1", fromSnapshot: "187654321", backup: "latest", confirm: "prod/goodgo/recover-host" } };
    const plan = await planFor("prod", { patch: (c) => (c["lazarus:goodgo"].recovery = recovery) });
    const destructive = (raw: ReturnType<typeof rawStack>) => checkPlan(plan, raw).filter((v) => v.policy === "destructive-confirmed");
    expect(destructive(rawStack("prod", { patch: (c) => (c["lazarus:goodgo"].recovery = recovery) }))).toEqual([]);
    expect(destructive(rawStack("prod")).map((v) => v.message.split(":")[0]).sort()).toEqual([
      "goodgo-prod-host",
      "goodgo-prod-recover-host-r1-flush-redis",
      "goodgo-prod-recover-host-r1-restore-database",
    ]);
  });
});

describe("destructive-confirmed on Bunty's JWT rotation", () => {
  it("fails a JWT secret generation on prod whose confirmation names another generation, or none", async () => {
    const rotate = (confirm?: string) => (c: Record<string, any>) => (c["lazarus:bunty"].rotateJwt = { generation: 3, secretSha256: "0123456789abcdef", confirm });
    const plan = await planFor("prod", { patch: rotate("prod/bunty/rotate-jwt-3") });
    expect(checkPlan(plan, rawStack("prod", { patch: rotate("prod/bunty/rotate-jwt-3") }))).toEqual([]);
    for (const raw of [rawStack("prod"), rawStack("prod", { patch: rotate("prod/bunty/rotate-jwt-2") })]) {
      expect(checkPlan(plan, raw).map((v) => `${v.policy}: ${v.message}`)).toEqual([
        'destructive-confirmed: bunty-prod-jwt-generation-3: rolls out a new JWT secret (every user is logged out) on stack prod without a confirmation in Pulumi.prod.yaml; its switch or operation needs confirm: "prod/bunty/rotate-jwt-3"',
      ]);
    }
  });
});

describe("secrets-not-plain", () => {
  it("fails a secret file's content, an SSH private key and a Slack webhook given as plain inputs", () => {
    const writer = "kro-prod-software-file-root-Kro-kro-devops-production-production-json";
    let plan = mutated(prod, T.command, writer, (r) => (r.inputs.stdin = '{"port": 3000}'));
    plan = mutated(plan, T.command, "kro-prod-compose-up", (r) => {
      r.inputs.connection = { host: "203.0.113.7", user: "root", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n" };
    });
    plan = mutated(plan, T.command, "kro-prod-certificate", (r) => (r.inputs.environment = { SLACK: "https://hooks.slack.com/services/T0/B0/x", PGPASSWORD: "hunter2" }));
    expect(checkPlan(plan, rawStack("prod")).map((v) => `${v.policy}: ${v.message}`)).toEqual([
      "secrets-not-plain: kro-prod-certificate: input environment.SLACK holds a Slack webhook URL in plain text; pass it as a Pulumi secret (pulumi.secret(...) or a config secret) so state and previews show [secret]",
      "secrets-not-plain: kro-prod-certificate: input environment.PGPASSWORD is a credential in plain text; pass it as a Pulumi secret (pulumi.secret(...) or a config secret) so state and previews show [secret]",
      "secrets-not-plain: kro-prod-compose-up: input connection.privateKey holds a PEM private key in plain text; pass it as a Pulumi secret (pulumi.secret(...) or a config secret) so state and previews show [secret]",
      `secrets-not-plain: ${writer}: input stdin (the content of a 0600 file) is in plain text; pass it as a Pulumi secret (pulumi.secret(...) or a config secret) so state and previews show [secret]`,
    ]);
  });
});

describe("prod-stateful-protected during a confirmed rebuild", () => {
  const rebuild = (confirm?: string) =>
    rawStack("prod", { patch: (c) => (c["lazarus:kro"].recovery = { host: { fromSnapshot: "187654321", ...(confirm ? { confirm } : {}) } }) });

  it("lets the droplet of a confirmed rebuild be replaceable for that up, and nothing else", async () => {
    const plan = await planFor("prod", { patch: (c) => (c["lazarus:kro"].recovery = { host: { fromSnapshot: "187654321", confirm: "prod/kro/rebuild-host" } }) });
    expect(one(plan, T.droplet, "kro-prod-host").protect).toBe(false);
    expect(checkPlan(plan, rebuild("prod/kro/rebuild-host"))).toEqual([]);
    // The same unprotected droplet without the confirmation in the stack file is a violation of both rules.
    expect(checkPlan(plan, rebuild()).map((v) => v.policy).sort()).toEqual(["destructive-confirmed", "prod-stateful-protected"]);
  });
});

describe("the rules on Kubernetes resources (Waqiti)", () => {
  const k8s = (plan: Plan, kind: string, name: string) => {
    const r = plan.resources.find((x) => x.type.startsWith("kubernetes:") && x.name === `waqiti-prod-${kind.toLowerCase()}-${name}`);
    if (!r) throw new Error(`no ${kind} ${name}`);
    return r;
  };
  const mutate = (kind: string, name: string, change: (r: DeclaredResource) => void) => {
    const copy = structuredClone(prod);
    change(k8s(copy, kind, name));
    return checkPlan(copy, rawStack("prod"));
  };

  it("images-pinned fails a container image without a version, in a pod template or an init container", () => {
    const found = mutate("Deployment", "payment-service", (r) => {
      ((r.inputs.spec as any).template.spec.containers[0] as { image: string }).image = "registry.example.com/waqiti/payment-service:latest";
    });
    expect(found.map((v) => [v.policy, v.message])).toEqual([
      ["images-pinned", 'waqiti-prod-deployment-payment-service: container payment-service image "registry.example.com/waqiti/payment-service:latest" is tagged latest; pin a version (example: postgres:15.10)'],
    ]);
  });

  it("no-public-data-ports fails a LoadBalancer Service for PostgreSQL open to the world, and accepts one narrowed to admin networks", () => {
    const found = mutate("Service", "postgres", (r) => ((r.inputs.spec as any).type = "LoadBalancer"));
    expect(found.map((v) => v.policy)).toEqual(["no-public-data-ports"]);
    expect(found[0].message).toMatch(/a LoadBalancer Service exposes PostgreSQL 5432 outside the cluster/);
    expect(mutate("Service", "postgres", (r) => Object.assign(r.inputs.spec as object, { type: "LoadBalancer", loadBalancerSourceRanges: ["203.0.113.10/32"] }))).toEqual([]);
  });

  it("prod-stateful-protected fails an unprotected namespace or StatefulSet on prod", () => {
    expect(mutate("Namespace", "waqiti", (r) => (r.protect = false)).map((v) => v.policy)).toEqual(["prod-stateful-protected"]);
    expect(mutate("StatefulSet", "postgres", (r) => (r.protect = false)).map((v) => v.policy)).toEqual(["prod-stateful-protected"]);
  });

  it("destructive-confirmed fails a Deployment scaled to 0 and a claim deletion without their confirmations on prod", () => {
    const scaled = mutate("Deployment", "api-gateway", (r) => ((r.inputs.spec as any).replicas = 0));
    expect(scaled.map((v) => v.message)).toEqual([
      'waqiti-prod-deployment-api-gateway: scales a Deployment to 0 (takes the service offline) on stack prod without a confirmation in Pulumi.prod.yaml; its switch or operation needs confirm: "prod/waqiti/scale-down"',
    ]);
    const deleting = mutate("CronJob", "waqiti-backup", (r) => {
      const c = (r.inputs.spec as any).jobTemplate.spec.template.spec.containers[0];
      c.command = ["kubectl", "delete", "pvc", "data-postgres-0"];
    });
    expect(deleting.map((v) => v.message)).toEqual([
      'waqiti-prod-cronjob-waqiti-backup: deletes a volume claim and the data on it on stack prod without a confirmation in Pulumi.prod.yaml; its switch or operation needs confirm: "prod/waqiti/delete-claim/data-postgres-0"',
    ]);
  });
});
