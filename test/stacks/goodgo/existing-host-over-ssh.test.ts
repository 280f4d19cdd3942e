// GoodGo on an existing server, for real: the offline plan's own host steps for `host: {existing: ...}` (prod stack file,
// lazarus:kro removed, the off-site bucket marked existing, app.deployDir in a temp dir, every secret a sentinel, two
// operations added: restart-service api and a rolling restart), run over a real SSH login on loopback in the order the
// plan's dependencies give, as the command provider runs them. The runner and the machine (private mount namespace for
// /opt/lazarus, /etc/ssl/lazarus, /etc/letsencrypt, /var/www/certbot; the real docker CLI with an engine stand-in and a
// compose plugin handing calls to test/support/fake-docker) are test/support/planOverSsh.ts, whose header says what is
// real. The session runs as root, so prepare's chowns to numeric uids (65534, 999, 70) work without those users.
//
// Then the same server is given a full host recovery (recovery.host without fromSnapshot, confirmed) and that plan's
// steps run up to the chain's off-site fetch:
//   - data-services: `docker compose -p goodgo -f docker-compose.prod.yml up -d --wait <data services>`, fake-docker;
//   - restore-route: pitr-route.sh as postgres in the pg-backup "container" (fake-docker-exec), reading a real, empty
//     pgBackRest repository (PGBACKREST_CONFIG points at it: the rendered one is S3 over HTTPS, which the S3 stub does
//     not speak), so the route is the logical one and the fetch runs;
//   - fetch-backup: `docker compose ... exec -T pg-backup sh -c ...` goes to test/support/fake-docker-exec, which checks
//     it against the shipped compose file, the image facts and the services fake-docker started, then runs the
//     script here with the pg-backup container's environment as docker-compose v1 renders it from the shipped compose
//     file and .env (Spaces credentials included), the endpoint pointed at the S3 stub (test/support/s3Stub.ts), and
//     /backups mapped into a temp dir. The real s3cmd lists, picks the newest dump and fetches it with its sidecar.
//
// Not run here (asserted to be exactly these, so a new step is not skipped silently):
//   - goodgo-prod-certificate: certbot against a real ACME server (see test/scripts/ops/certificates-against-pebble.test.ts).
//     In its place the test leaves a self-signed certificate in certbot's live directory (inside the namespace), as an
//     issuance would, so tls-activate runs its success path (link switched, nginx restarted through compose-service.sh)
//     and the operations after it run as `pulumi up` would run them.
//   - The recovery chain after the fetch: restore-database (pg-restore.sh needs PostgreSQL, which would run in the postgres
//     container; fake-docker starts no containers), migrate and reindex-typesense (the application image's prisma and
//     ts-node), flush-redis (a Redis server in its container), then the recovery plan's compose-up, certificate and
//     tls-activate, which a real run only reaches after the chain. (Its tls-bootstrap depends on the files only, so it
//     runs before the chain and finds the certificate link in place.) The restore, cutover and flush
//     command lines are run against real PostgreSQL and Redis in test/stacks/goodgo/commands-run-for-real.test.ts.
// The login uses the test sshd's own key, not the plan's (a sentinel).
import { GOODGO_SECRET_MOUNTS } from "../../../stacks/goodgo/services";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Plan } from "../../../cli/planner";
import { confirmationToken } from "../../../config/checks";
import { renderedServiceEnvironment } from "../../support/composeConfig";
import { hostSteps, runHostSteps, startPlanHost, unexpectedFailures, preflightResult, shippedScriptsProblems, type PlanHost, type StepRun } from "../../support/planOverSsh";
import { startS3Stub, type S3Stub } from "../../support/s3Stub";
import { ALL_SENTINEL_MARKERS, ALL_SENTINEL_SECRETS, T, keepOnlyPlatforms, planFor } from "../../support/stacks";

const REPO = resolve(__dirname, "../../..");
const SANDBOXED = ["/opt/lazarus", "/etc/ssl/lazarus", "/etc/letsencrypt", "/var/www/certbot"];
const PREFIX = "goodgo-prod";
const CHAIN = `${PREFIX}-recover-host-r1`;
const OPERATIONS = [
  { id: "restart-api", action: "restart-service", service: "api" },
  { id: "rolling", action: "rolling-restart" },
];
const SKIPPED: Record<string, string> = {
  [`${PREFIX}-certificate`]: "certbot against a real ACME server; see test/scripts/ops/certificates-against-pebble.test.ts",
};
/** The recovery plan's steps after the fetch, not run (see the header). */
const RECOVERY_NOT_RUN = [
  `${CHAIN}-pitr-restore`,
  `${CHAIN}-restore-database`,
  `${CHAIN}-migrate`,
  `${CHAIN}-reindex-typesense`,
  `${CHAIN}-flush-redis`,
  `${CHAIN}-pitr-first-full`,
  `${PREFIX}-compose-up`,
  `${PREFIX}-certificate`,
  `${PREFIX}-tls-activate`,
];
const BACKUPS = { older: "goodgo_20261122T020000Z.dump", newest: "goodgo_20261123T020000Z.dump" };

let host: PlanHost;
let s3: S3Stub;
let side: string;
let plan: Plan;
let recoveryPlan: Plan;
let deployDir: string;
let hooksBefore: boolean;
let runs: StepRun[] = [];
let recoveryRuns: StepRun[] = [];
/** How many docker calls the first run made (the recovery's come after them). */
let firstCalls = 0;
const ran = (name: string) => runs.find((r) => r.name === name)!;
const seen = (p: string) => host.seen(p);
const commands = (p: Plan) => p.resources.filter((r) => r.type === T.command && r.name.startsWith(`${PREFIX}-`));
const writerOf = (p: Plan, path: string) => commands(p).find((r) => r.name === `${PREFIX}-software-file${path.replace(/[^A-Za-z0-9]+/g, "-")}`)!;

function patch(recovery: boolean) {
  return (c: Record<string, any>) => {
    keepOnlyPlatforms(c, ["goodgo"]);
    const g = c["lazarus:goodgo"];
    g.host = { existing: { address: host.ssh.host, user: host.ssh.user, port: host.ssh.port } };
    g.app.deployDir = deployDir;
    g.backups.offsite.existing = true;
    // An operation runs once per id: the recovery's `pulumi up` would not run them again.
    g.operations = recovery ? [] : OPERATIONS;
    if (recovery) g.recovery = { host: { label: "r1", confirm: confirmationToken("prod", "goodgo", "recover-host") } };
  };
}

beforeAll(async () => {
  hooksBefore = existsSync("/etc/letsencrypt/renewal-hooks/deploy");
  s3 = await startS3Stub({ accessKey: ALL_SENTINEL_SECRETS["lazarus:goodgoSpacesAccessKey"]!, secretKey: ALL_SENTINEL_SECRETS["lazarus:goodgoSpacesSecretKey"]! });
  side = mkdtempSync(join(tmpdir(), "lazarus-goodgo-exec-"));
  chmodSync(side, 0o755);
  const composeExec = join(side, "compose-exec");
  writeFileSync(composeExec, "#!/bin/sh\necho 'compose exec before the recovery: not expected' >&2; exit 97\n", { mode: 0o755 });
  host = await startPlanHost({ sandboxed: SANDBOXED, composeExec });
  // (cloud-init's renderer, which plans the droplet variant too, refuses a path with a space.)
  deployDir = join(host.root, "srv", "goodgo");

  plan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: patch(false) });
  runs = await runHostSteps(host, hostSteps(plan, PREFIX), {
    skipped: SKIPPED,
    standIns: {
      // What an issuance leaves: a certificate in certbot's live directory (inside the namespace).
      [`${PREFIX}-certificate`]: async (h) => {
        const live = `/etc/letsencrypt/live/${PREFIX}`;
        const r = await h.run(
          `set -eu; install -d -m 0700 ${live}; openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=goodgo.example.org -keyout ${live}/privkey.pem -out ${live}/fullchain.pem 2>/dev/null`,
        );
        if (r.code !== 0) throw new Error(`stand-in certificate: ${r.stderr}`);
      },
    },
  });
  firstCalls = host.dockerCalls().length;

  // The full host recovery on the same server, up to the off-site fetch.
  // What the pg-backup container's environment would be: docker-compose v1 renders it from the shipped file and .env.
  const environment = renderedServiceEnvironment(join(deployDir, "docker-compose.prod.yml"), "pg-backup");
  const s3Url = environment.S3_URL;
  const bucketPath = s3Url.replace(/^s3:\/\//, "/");
  for (const [name, body] of [[BACKUPS.older, "older dump"], [BACKUPS.newest, "newest dump"]]) {
    s3.objects.set(`${bucketPath}/${name}`, Buffer.from(body));
    s3.objects.set(`${bucketPath}/${name}.sha256`, Buffer.from(`${createHash("sha256").update(body).digest("hex")}  ${name}\n`));
  }
  // The secret files pg-backup reads (s3cmd's config, the pgpass) at the host paths its bind mounts map them from.
  const secretFilesOnHost = Object.fromEntries(
    Object.values(GOODGO_SECRET_MOUNTS)
      .filter((m) => m.service === "pg-backup" && /^[A-Z0-9_]+$/.test(m.via))
      .map((m) => [m.via, join(deployDir, m.host)]),
  );
  // A real pgBackRest repository without a backup, readable by the server's OS user (pitr-route.sh runs as postgres).
  const pgbr = join(side, "pgbackrest");
  for (const d of ["repo", "log", "lock"]) mkdirSync(join(pgbr, d), { recursive: true });
  writeFileSync(join(pgbr, "pgbackrest.conf"), `[global]\nrepo1-path=${pgbr}/repo\nlog-path=${pgbr}/log\nlock-path=${pgbr}/lock\n`);
  spawnSync("chown", ["-R", "postgres:postgres", pgbr]);
  chmodSync(side, 0o755);
  const containerEnv = { ...environment, ...secretFilesOnHost, S3_ENDPOINT: s3.endpoint, S3_HOST_BUCKET: s3.endpoint, S3_NO_SSL: "1", HOME: side, PGBACKREST_CONFIG: join(pgbr, "pgbackrest.conf") };
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(
    composeExec,
    [
      "#!/bin/sh",
      "# `docker compose ... exec` as the pg-backup container would run it: its environment, /backups mapped here.",
      `exec env ${Object.entries(containerEnv).map(([k, v]) => q(`${k}=${v}`)).join(" ")} FAKE_DOCKER_LOG=${q(join(side, "exec.log"))} FAKE_DOCKER_STATE=${q(join(host.dockerHome, "state.txt"))} FAKE_BACKUPS=${q(join(side, "backups"))} bash ${q(join(REPO, "test/support/fake-docker-exec"))} "$@"`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  recoveryPlan = await planFor("prod", { secrets: ALL_SENTINEL_SECRETS, patch: patch(true) });
  const steps = hostSteps(recoveryPlan, PREFIX);
  const last = steps.findIndex((s) => s.name === `${CHAIN}-fetch-backup`);
  if (last < 0) throw new Error(`no ${CHAIN}-fetch-backup among ${steps.map((s) => s.name).join(", ")}`);
  recoveryRuns = await runHostSteps(host, steps.slice(0, last + 1));
  // (About 75 SSH sessions and 60 fake-docker calls: 100 s on two busy cores.)
}, 480_000);

afterAll(async () => {
  await host?.stop();
  await s3?.close();
  if (side) rmSync(side, { recursive: true, force: true });
});

describe("GoodGo's plan for an existing server, run over SSH", () => {
  it("points every host step at the test server, and orders them copy, preflight, files, placeholder and prepare, compose up, TLS, operations", () => {
    for (const r of plan.resources.filter((x) => x.name.startsWith(`${PREFIX}-`) && x.type.startsWith("command:remote:"))) {
      expect(r.rawInputs.connection, r.name).toMatchObject({ host: "127.0.0.1", port: host.ssh.port, user: host.ssh.user });
    }
    const order = runs.map((r) => r.name.replace(`${PREFIX}-`, "").replace(/^software-file-.*/, "software-file"));
    expect([...new Set(order)]).toEqual([
      "software-scripts",
      "software-scripts-mode",
      "software-preflight",
      "software-file",
      "tls-bootstrap",
      "prepare",
      "compose-up",
      "certificate",
      "tls-activate",
      "op-restart-api",
      "op-rolling",
    ]);
    // Every file is written before prepare, which chowns some of them.
    expect(order.lastIndexOf("software-file")).toBeLessThan(order.indexOf("prepare"));
  });

  it("runs every step that can run here, and fails none", () => {
    expect(unexpectedFailures(runs)).toEqual([]);
    expect(runs.filter((r) => r.kind === "skipped").map((r) => r.name)).toEqual(Object.keys(SKIPPED));
    expect(runs).toHaveLength(hostSteps(plan, PREFIX).length);
  });

  it("ships the scripts where the commands call them", () => {
    expect(shippedScriptsProblems(seen("/opt/lazarus/scripts"))).toEqual([]);
  });

  it("passes the preflight: nothing missing, the deploy dir and the ACME webroot created", () => {
    const json = preflightResult(ran(`${PREFIX}-software-preflight`).result!);
    expect(json).toMatchObject({ script: "host-preflight.sh", status: "ok", missing: [], unwritable: [], docker_server: "26.1.3" });
    expect(json.created).toEqual(expect.arrayContaining([deployDir, "/var/www/certbot"]));
    expect(statSync(seen("/var/www/certbot")).isDirectory()).toBe(true);
  });

  it("writes every planned file with the plan's mode and content: compose, monitoring, nginx, crontab, Redis, RUNBOOK.md and every secret file", () => {
    const files = plan.files.filter((f) => f.platform === "goodgo");
    const rel = files.map((f) => f.path.slice(deployDir.length + 1));
    expect(rel).toEqual(
      expect.arrayContaining([
        "docker-compose.prod.yml",
        "nginx/nginx.conf",
        "RUNBOOK.md",
        "redis/redis.conf",
        "backup/backup.crontab",
        "monitoring/prometheus/prometheus.yml",
        "monitoring/alertmanager/alertmanager.yml",
        "monitoring/loki/loki.yml",
        ".env",
        "monitoring/alertmanager/secrets/slack_webhook_url",
        "redis/users.acl",
        "pgbouncer/userlist.txt",
      ]),
    );
    expect(files.filter((f) => f.secret).map((f) => f.path.slice(deployDir.length + 1)).sort()).toEqual(
      [".env", "monitoring/alertmanager/secrets/slack_webhook_url", "pgbouncer/userlist.txt", "redis/users.acl", ...Object.values(GOODGO_SECRET_MOUNTS).map((m) => m.host)].sort(),
    );
    // On disk now: what the recovery plan's writers wrote last (they ran again before its chain). Its files differ from
    // the first plan's only where the recovered cluster's own pgBackRest stanza (goodgo-r1) is named.
    const last = (path: string) => recoveryPlan.files.find((x) => x.path === path)!;
    for (const f of files) {
      expect(last(f.path).content?.replaceAll("goodgo-r1", "goodgo"), f.path).toBe(f.content);
    }
    for (const f of files.map((x) => last(x.path))) {
      const writer = writerOf(recoveryPlan, f.path);
      expect(writer, f.path).toBeDefined();
      const content = f.secret ? String(writer.rawInputs.stdin) : f.content!;
      expect(readFileSync(f.path, "utf8"), f.path).toBe(content);
      expect((statSync(f.path).mode & 0o777).toString(8).padStart(4, "0"), f.path).toBe(f.mode);
      expect(existsSync(`${f.path}.lazarus-tmp`), f.path).toBe(false);
    }
    // The secret files carry the secrets (the Redis password only as its SHA-256).
    const env = readFileSync(join(deployDir, ".env"), "utf8");
    expect(env).toContain("DB_PASSWORD=SENTINEL-gg-dbpass-3c4d/+=");
    expect(env).not.toContain("SENTINEL-gg-spacessecret-7c8d");
    expect(readFileSync(join(deployDir, GOODGO_SECRET_MOUNTS.pgBackupS3cfg.host), "utf8")).toContain("secret_key = SENTINEL-gg-spacessecret-7c8d");
    expect(readFileSync(join(deployDir, "monitoring/alertmanager/secrets/slack_webhook_url"), "utf8")).toBe(`${ALL_SENTINEL_SECRETS["lazarus:goodgoSlackWebhook"]}\n`);
    const acl = readFileSync(join(deployDir, "redis/users.acl"), "utf8");
    expect(acl).toContain(createHash("sha256").update(ALL_SENTINEL_SECRETS["lazarus:goodgoRedisPassword"]).digest("hex"));
    expect(acl).not.toContain("SENTINEL-gg-redis-9c0d");
    expect(readFileSync(join(deployDir, "pgbouncer/userlist.txt"), "utf8")).toContain('"goodgo"');
  });

  it("prepare links compose.yaml to the runbook's file and hands the secret files to their container users", () => {
    expect(readlinkSync(join(deployDir, "compose.yaml"))).toBe("docker-compose.prod.yml");
    const owner = (rel: string) => {
      const s = statSync(join(deployDir, rel));
      return `${s.uid}:${s.gid}`;
    };
    expect(owner("monitoring/alertmanager/secrets/slack_webhook_url")).toBe("65534:65534");
    expect(owner("redis/users.acl")).toBe("999:1000");
    expect(owner(GOODGO_SECRET_MOUNTS.grafanaAdminPassword.host)).toBe("472:0");
    expect(owner("pgbouncer/userlist.txt")).toBe("70:70");
    expect(owner(".env")).toBe("0:0");
    expect(owner("docker-compose.prod.yml")).toBe("0:0");
    // The planned prepare is what ran, with those uids.
    const prepare = commands(plan).find((r) => r.name === `${PREFIX}-prepare`)!;
    expect(String(prepare.rawInputs.create)).toMatch(/chown 65534:65534 .*chown 999:1000 .*chown 70:70 /);
  });

  it("never puts a secret in a command's text or a step's other inputs (the file writers' stdin aside)", () => {
    for (const p of [plan, recoveryPlan]) {
      const texts = commands(p).map((r) => String(r.rawInputs.create));
      for (const marker of ALL_SENTINEL_MARKERS) expect(texts.filter((t) => t.includes(marker)), marker).toEqual([]);
      for (const r of p.resources.filter((x) => x.name.startsWith(`${PREFIX}-`) && x.type.startsWith("command:remote:"))) {
        const { stdin: _stdin, connection: _connection, ...rest } = r.rawInputs;
        const text = JSON.stringify(rest);
        for (const marker of ALL_SENTINEL_MARKERS) expect(text.includes(marker), `${r.name} ${marker}`).toBe(false);
      }
    }
  });

  it("links a placeholder certificate, then switches to the issued one and restarts nginx", () => {
    expect(ran(`${PREFIX}-tls-bootstrap`).result!.stdout).toContain("placeholder certificate linked");
    expect(readFileSync(join(seen(`/etc/ssl/lazarus/${PREFIX}-bootstrap`), "fullchain.pem"), "utf8")).toContain("BEGIN CERTIFICATE");
    const link = seen(`/etc/ssl/lazarus/${PREFIX}`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(`/etc/letsencrypt/live/${PREFIX}`);
    const restarts = host.dockerCalls().slice(0, firstCalls).filter((c) => c.args.includes("restart")).map((c) => c.args.slice(-1)[0]);
    expect(restarts[0]).toBe("nginx");
  });

  it("brings GoodGo's compose project up from docker-compose.prod.yml: every one of its services running and healthy", () => {
    const r = ran(`${PREFIX}-compose-up`).result!;
    const json = JSON.parse(r.stdout.trim()) as { status: string; dir: string; services: { service: string; state: string; health: string }[] };
    expect(json.status).toBe("ok");
    expect(json.dir).toBe(deployDir);
    const composeFile = plan.files.find((f) => f.path === join(deployDir, "docker-compose.prod.yml"))!.content!;
    const services = Object.keys((parse(composeFile) as { services: Record<string, unknown> }).services).sort();
    expect(services.length).toBeGreaterThanOrEqual(14);
    expect(json.services.map((s) => `${s.service} ${s.state} ${s.health}`).sort()).toEqual(services.map((s) => `${s} running healthy`));
    const ups = host.dockerCalls().slice(0, firstCalls).filter((c) => c.args.includes("up"));
    expect(ups).toEqual([{ cwd: deployDir, args: ["compose", "-p", "goodgo", "up", "-d", "--wait", "--wait-timeout", "300", "--remove-orphans"] }]);
    // The project name is app.composeProject, in the planned command.
    expect(String(commands(plan).find((c) => c.name === `${PREFIX}-compose-up`)!.rawInputs.create)).toContain("--project-name goodgo");
  });

  it("runs the operations in the plan's order: restart api, then the rolling restart in its planned service order", () => {
    const planned = commands(plan).filter((r) => r.name.startsWith(`${PREFIX}-op-`)).map((r) => r.name);
    expect(planned).toEqual(OPERATIONS.map((o) => `${PREFIX}-op-${o.id}`));
    const order = runs.map((r) => r.name).filter((n) => n.startsWith(`${PREFIX}-op-`));
    expect(order).toEqual(planned);
    const rolling = [...String(commands(plan).find((r) => r.name === `${PREFIX}-op-rolling`)!.rawInputs.create).matchAll(/-- restart (\S+)/g)].map((m) => m[1]);
    expect(rolling).toContain("api");
    expect(rolling).not.toContain("postgres");
    const restarts = host.dockerCalls().slice(0, firstCalls).filter((c) => c.args.includes("restart"));
    expect(restarts.map((c) => c.args.slice(-1)[0])).toEqual(["nginx", "api", ...rolling]);
    for (const c of restarts) {
      expect(c.cwd).toBe(deployDir);
      expect(c.args.slice(0, 4)).toEqual(["compose", "-p", "goodgo", "restart"]);
    }
    for (const op of planned) expect(JSON.parse(ran(op).result!.stdout.trim().split("\n").pop()!)).toMatchObject({ status: "ok" });
  });

  it("recovers onto the same server up to the off-site fetch: data services up with the runbook's file, the newest backup fetched with the stack's credentials", () => {
    expect(unexpectedFailures(recoveryRuns)).toEqual([]);
    const planned = hostSteps(recoveryPlan, PREFIX).map((s) => s.name);
    const chain = planned.filter((n) => n.startsWith(`${CHAIN}-`));
    expect(chain).toEqual(["data-services", "restore-route", "fetch-backup", "pitr-restore", "restore-database", "migrate", "reindex-typesense", "flush-redis", "pitr-first-full"].map((k) => `${CHAIN}-${k}`));
    // Run: everything up to the fetch. Not run: the rest, exactly the list the header gives.
    expect(recoveryRuns.map((r) => r.name)).toEqual(planned.slice(0, planned.indexOf(`${CHAIN}-fetch-backup`) + 1));
    expect(planned.filter((n) => !recoveryRuns.some((r) => r.name === n))).toEqual(RECOVERY_NOT_RUN);

    const dataUp = host.dockerCalls().slice(firstCalls).filter((c) => c.args.includes("up"));
    const data = String(commands(recoveryPlan).find((r) => r.name === `${CHAIN}-data-services`)!.rawInputs.create).split("--wait ")[1].split(" ");
    expect(data).toEqual(expect.arrayContaining(["postgres", "redis", "pg-backup"]));
    expect(dataUp).toEqual([{ cwd: deployDir, args: ["compose", "-p", "goodgo", "-f", "docker-compose.prod.yml", "up", "-d", "--wait", ...data] }]);

    // the repository has no backup of the lost cluster: the logical route, and the step says why
    const route = JSON.parse(recoveryRuns.find((r) => r.name === `${CHAIN}-restore-route`)!.result!.stdout.trim().split("\n").pop()!);
    expect(route).toMatchObject({ status: "ok", route: "logical" });
    expect(route.reason).toMatch(/no backup of stanza goodgo/);
    const fetch = recoveryRuns.find((r) => r.name === `${CHAIN}-fetch-backup`)!.result!;
    expect(fetch.stdout).toContain(`fetched ${BACKUPS.newest}`);
    expect(readFileSync(join(side, "exec.log"), "utf8").trim().split("\n")).toEqual(["pg-backup", "pg-backup"]);
    const offsite = join(side, "backups", "offsite");
    expect(readlinkSync(join(offsite, "latest"))).toBe(BACKUPS.newest);
    expect(readFileSync(join(offsite, BACKUPS.newest), "utf8")).toBe("newest dump");
    expect(spawnSync("sha256sum", ["-c", `${BACKUPS.newest}.sha256`], { cwd: offsite }).status).toBe(0);
    // s3cmd signed with the Spaces key of its shipped config file, into the bucket and prefix of the stack file.
    const gets = s3.requests.filter((r) => r.method === "GET");
    expect(gets.length).toBeGreaterThan(0);
    for (const r of gets) expect(r.authorization).toContain("Credential=SENTINEL-gg-spacesid-5a6b/");
    expect(gets.map((r) => r.path)).toContain(`/lazarus-goodgo-prod-backups/postgres/${BACKUPS.newest}`);
  });

  it("wrote nothing outside the namespace at the host paths", () => {
    for (const p of ["/opt/lazarus", "/etc/ssl/lazarus", "/var/www/certbot", `/etc/letsencrypt/live/${PREFIX}`]) expect(existsSync(p), p).toBe(false);
    expect(existsSync("/etc/letsencrypt/renewal-hooks/deploy")).toBe(hooksBefore);
  });
});
