// The host model refuses what a real host refuses: each defect of issue 8 it exists for (1: a mount of a file the plan
// writes elsewhere; 2: configs under directories their container user cannot traverse; 4: a health check calling a
// program the image lacks), reconstructed from the real plan where the code has since been fixed, plus the Compose
// rules it enforces (named volumes, depends_on conditions, exec programs).
import { parse, stringify } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../cli/planner";
import { shq } from "../../lib/shell";
import { composeTarget, flushRedisCommand, reindexTypesenseCommand, composeExec, backupNowCommand } from "../../stacks/goodgo/commands";
import { goodgo } from "../../stacks/goodgo";
import { applyFileCommand, composeExecProblems, composeUpWait, freshHost, programsInShell, runPlanOnHosts } from "./hostModel";
import { T, planFor, stackPlatformConfig } from "./stacks";

let prod: Plan;
beforeAll(async () => {
  prod = await planFor("prod");
});

const KRO_DIR = "/root/Kro/kro-devops/production";
const GOODGO_COMPOSE = "/root/goodgo/docker-compose.prod.yml";

/** The plan with every command's text passed through `edit` (a reconstruction of code that has since changed). */
function withCommands(plan: Plan, edit: (name: string, create: string) => string): Plan {
  return {
    ...plan,
    resources: plan.resources.map((r) =>
      r.type === T.command ? { ...r, inputs: { ...r.inputs, create: edit(r.name, String(r.inputs.create ?? "")) } } : r,
    ),
  };
}

/** The plan with GoodGo's compose file changed by `edit`. */
function withGoodgoCompose(plan: Plan, edit: (compose: { services: Record<string, any> }) => void): Plan {
  return {
    ...plan,
    files: plan.files.map((f) => {
      if (f.path !== GOODGO_COMPOSE) return f;
      const compose = parse(f.content!);
      edit(compose);
      return { ...f, content: stringify(compose) };
    }),
  };
}

const run = (plan: Plan, platform: string) => runPlanOnHosts(plan).find((r) => r.host === `${platform}-prod-software`)!;

describe("defect 1: KRO's nginx mounted ./nginx.conf while the plan wrote nginx/nginx.conf", () => {
  it("refuses the unfixed plan: Docker creates the missing source as a directory, nginx never starts", () => {
    const unfixed = withCommands(prod, (name, create) =>
      name === "kro-prod-software-file-root-Kro-kro-devops-production-nginx-conf" ? create.replaceAll(`${KRO_DIR}/nginx.conf`, `${KRO_DIR}/nginx/nginx.conf`).replace(`mkdir -p ${KRO_DIR}`, `mkdir -p ${KRO_DIR}/nginx`)
        : create,
    );
    const kro = run(unfixed, "kro");
    expect(kro.fs.get(`${KRO_DIR}/nginx/nginx.conf`)?.kind).toBe("file");
    expect(kro.up.failures.nginx).toEqual([expect.stringContaining(`bind source ${KRO_DIR}/nginx.conf does not exist`)]);
  });

  it("accepts the plan as it is: the file is where compose mounts it", () => {
    expect(run(prod, "kro").up.failures).toEqual({});
  });
});

describe("defect 2: GoodGo's monitoring containers could not read their configs", () => {
  const MONITORING = ["prometheus", "alertmanager", "grafana", "postgres-exporter"];
  // The writer as it was: `umask 077; mkdir -p` made every parent it created drwx------ root.
  const unfixedWriter = (create: string) => {
    const dir = /mkdir -p (\S+);/.exec(create)![1];
    const rest = create.slice(create.indexOf("; cat > "));
    return `set -eu; umask 077; mkdir -p ${dir}${rest}`;
  };

  it("refuses the unfixed writers: uid 65534 and 472 cannot list the 0700 root directories they mount", () => {
    const unfixed = withCommands(prod, (name, create) => (name.includes("-software-file-") ? unfixedWriter(create) : create));
    const { failures } = run(unfixed, "goodgo").up;
    for (const service of MONITORING) expect(failures[service], service).toEqual(expect.arrayContaining([expect.stringMatching(/cannot list .* \(d0700 0:0\).*permission denied/)]));
    expect(failures.alertmanager).toEqual(expect.arrayContaining([expect.stringContaining("/root/goodgo/monitoring/alertmanager/secrets (d0700 0:0)")]));
  });

  it("accepts the plan as it is: each can list its directories and read its files, the webhook only Alertmanager", () => {
    const goodgoRun = run(prod, "goodgo");
    for (const service of MONITORING) expect(goodgoRun.up.failures[service], service).toBeUndefined();
    const webhook = goodgoRun.fs.get("/root/goodgo/monitoring/alertmanager/secrets/slack_webhook_url")!;
    expect(webhook).toMatchObject({ kind: "file", mode: 0o600, uid: 65534 });
    expect(goodgoRun.fs.get("/root/goodgo/monitoring/alertmanager/secrets")).toMatchObject({ kind: "dir", mode: 0o755 });
  });
});

describe("defect 4: Typesense's health check ran curl, which its image does not ship", () => {
  it("refuses a curl health check on the typesense image, and everything waiting on it", () => {
    const curl = withGoodgoCompose(prod, (c) => {
      c.services.typesense.healthcheck.test = ["CMD-SHELL", "curl -sf http://127.0.0.1:8108/health || exit 1"];
    });
    const { failures } = run(curl, "goodgo").up;
    expect(failures.typesense).toEqual([expect.stringContaining("health check runs curl, which typesense/typesense")]);
    expect(failures.api).toEqual(expect.arrayContaining(["dependency failed to start: typesense"]));
  });

  it("accepts a health check made of what the image has (bash and its /dev/tcp)", () => {
    const bash = withGoodgoCompose(prod, (c) => {
      c.services.typesense.healthcheck.test = ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8108"];
    });
    expect(run(bash, "goodgo").up.failures.typesense).toBeUndefined();
  });
});

describe("the Compose rules it enforces", () => {
  const compose = (services: Record<string, unknown>, volumes: Record<string, unknown> = {}) => stringify({ services, volumes });
  const fs = () => freshHost("/srv/app");

  it("a named volume must be declared", () => {
    const r = composeUpWait(fs(), "/srv/app/compose.yaml", compose({ cache: { image: "redis:7-alpine", volumes: ["data:/data"] } }));
    expect(r.failures.cache).toEqual(["service refers to undefined volume data"]);
  });

  it("service_healthy needs a health check on the dependency, and the dependent starts after it", () => {
    const text = compose({
      db: { image: "postgis/postgis:16-3.4" },
      app: { image: "redis:7-alpine", depends_on: { db: { condition: "service_healthy" } } },
      web: { image: "nginx:1.27-alpine", depends_on: { app: { condition: "service_started" } } },
    });
    const r = composeUpWait(fs(), "/srv/app/compose.yaml", text);
    expect(r.failures.app).toEqual(["dependency db has no healthcheck configured (condition service_healthy)"]);
    expect(r.failures.web).toEqual(["dependency failed to start: app"]);
    expect(r.started).toEqual(["db"]);
  });

  it("a directory cannot be mounted onto a file, and a 0600 root file is not readable by a non-root image", () => {
    const host = fs();
    applyFileCommand(host, "set -eu; umask 077; mkdir -p /srv/app/conf.d; cat > /srv/app/secret.txt; chmod 0600 /srv/app/secret.txt");
    const r = composeUpWait(host, "/srv/app/compose.yaml", compose({
      web: { image: "nginx:1.27-alpine", volumes: ["./conf.d:/etc/nginx/nginx.conf:ro"] },
      am: { image: "prom/alertmanager:v0.27.0", volumes: ["./secret.txt:/etc/secret.txt:ro"] },
    }));
    expect(r.failures.web).toEqual([expect.stringContaining("is a directory mounted onto the file /etc/nginx/nginx.conf")]);
    expect(r.failures.am).toEqual([expect.stringContaining("uid 65534 cannot read /srv/app/secret.txt (-0600 0:0)")]);
  });

  it("every exec and run in GoodGo's command lines calls a program its image has; a missing one is refused", () => {
    const cfg = stackPlatformConfig("prod", goodgo);
    const t = composeTarget(cfg);
    const text = prod.files.find((f) => f.path === GOODGO_COMPOSE)!.content!;
    for (const command of [flushRedisCommand(t), reindexTypesenseCommand(t), reindexTypesenseCommand(t, false), backupNowCommand(t, true)]) {
      expect(composeExecProblems(text, command), command).toEqual([]);
    }
    expect(composeExecProblems(text, composeExec(t, "typesense", ["curl", "-s", "http://127.0.0.1:8108/health"]))).toEqual([
      "exec typesense runs curl, which typesense/typesense:27.1 does not have",
    ]);
    expect(composeExecProblems(text, composeExec(t, "redis-exporter", ["sh", "-c", `wget -qO- ${shq("http://127.0.0.1:9121/metrics")}`]))).toEqual([
      "exec redis-exporter runs sh, wget, which oliver006/redis_exporter:v1.58.0 does not have",
    ]);
  });

  it("finds the programs of a shell script, not its builtins, variables or strings", () => {
    expect(programsInShell('redis-cli FLUSHALL && n=$(redis-cli DBSIZE) && echo "keys: $n" && [ "$n" = 0 ]')).toEqual(["redis-cli", "redis-cli"]);
    expect(programsInShell('pg_isready -U "$${POSTGRES_USER}" -d "$${POSTGRES_DB}"')).toEqual(["pg_isready"]);
    expect(programsInShell("curl -sf http://127.0.0.1:8108/health || exit 1")).toEqual(["curl"]);
  });
});
