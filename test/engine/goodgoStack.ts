// The engine test stack: the REAL Lazarus program (index.ts → stacks/) with GoodGo alone on an existing server, which
// is a loopback sshd in a private mount namespace (test/support/planOverSsh.ts: the docker CLI with an engine stand-in
// and fake-docker for compose), run by the real engine and the real command provider through lib/engine/driver.ts.
// Shared by test/engine/goodgo-existing-host.test.ts and bench/engine-preview.ts.
//
// The stack file is Pulumi.staging.yaml's GoodGo block with: the host `existing` (the test sshd), exposure "direct" (no
// certbot: issuance needs a real ACME server and DNS, see test/scripts/ops/certificates-against-pebble.test.ts), the
// off-site bucket `existing` (so no DigitalOcean resource at all), the deploy dir in the test's temp dir, every other
// platform removed, and the DigitalOcean settings of lazarus:environment removed (not needed by such a stack).
// Every secret is a sentinel (test/support/stacks.ts) except the SSH key, which is the test sshd's.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { EngineStack } from "../../lib/engine/driver";
import { REPO_ROOT } from "../../lib/engine/install";
import { GOODGO_SECRET_MOUNTS } from "../../stacks/goodgo/services";
import type { PlanHost } from "../support/planOverSsh";
import type { PostgresServer } from "../support/postgres";
import type { RedisServer } from "../support/redis";
import { GOODGO_SENTINEL_SECRETS, keepOnlyPlatforms, stackConfigMap } from "../support/stacks";
import { scratchProject } from "./engineGate";

export const ENGINE_STACK = "staging";
export const GOODGO_PREFIX = `goodgo-${ENGINE_STACK}`;
/** Host paths outside the deploy dir the stack writes (kept in the plan host's private mount namespace). */
export const GOODGO_SANDBOXED = ["/opt/lazarus", "/etc/ssl/lazarus", "/etc/letsencrypt", "/var/www/certbot"];

type ConfigMap = Record<string, any>;

/** How the stack logs in to the host (a PlanHost's `ssh`, or any address for a preview that connects to nothing). */
export interface HostLogin {
  host: string;
  user: string;
  port: number;
}

/** The stack file's config for GoodGo on the server at `login`, deploying into `deployDir`; `change` edits the GoodGo block. */
export function goodgoOnHostConfig(login: HostLogin, deployDir: string, change: (goodgo: ConfigMap) => void = () => {}): ConfigMap {
  const c = stackConfigMap(ENGINE_STACK);
  keepOnlyPlatforms(c, ["goodgo"]);
  for (const k of ["region", "project", "vpc", "sshKeys", "adminCidrs"]) delete c["lazarus:environment"][k];
  const g = c["lazarus:goodgo"];
  g.host = { existing: { address: login.host, user: login.user, port: login.port } };
  g.app.deployDir = deployDir;
  g.app.exposure = "direct";
  delete g.tls;
  g.backups.offsite.existing = true;
  change(g);
  return c;
}

/** The secrets the stack sets: GoodGo's sentinels, and the SSH key for the login (the test sshd's real key). */
export function goodgoSecrets(sshPrivateKey: string): Record<string, string> {
  return { ...GOODGO_SENTINEL_SECRETS, "lazarus:goodgoSshPrivateKey": sshPrivateKey };
}

/** The real program opened as stack "staging" (any platforms the config keeps: GoodGo here, Pencom in its engine test). */
export interface ProgramStack {
  stack: EngineStack;
  /** The scratch project directory (holds Pulumi.staging.yaml). */
  projectDir: string;
  /** Rewrites the stack file's plain settings (secrets and the encryption salt kept). */
  writeConfig(config: ConfigMap): void;
  /** Removes the scratch project and the state backend (a file backend's directory; a bucket is the caller's). */
  remove(): void;
}

export type GoodgoEngineStack = ProgramStack;

/**
 * Opens the real program as stack "staging" with `config` and `secrets` (e.g. goodgoSecrets) set; `backend`: its state
 * on that backend URL, with that environment for the engine (credentials), instead of a file backend in a temp dir.
 */
export async function openProgramStack(
  config: ConfigMap,
  secrets: Record<string, string>,
  passphrase = "lazarus-engine-test",
  backend?: { url: string; env: Record<string, string> },
): Promise<ProgramStack> {
  const project = scratchProject("lazarus");
  const file = join(project.dir, `Pulumi.${ENGINE_STACK}.yaml`);
  const writeConfig = (plain: ConfigMap) => {
    // Keep what the CLI wrote (encryptionsalt, the encrypted secrets); replace the plain settings.
    let current: { config?: ConfigMap; [k: string]: unknown } = {};
    try {
      current = (parse(readFileSync(file, "utf8")) as typeof current) ?? {};
    } catch {
      /* first write */
    }
    const secrets = Object.fromEntries(Object.entries(current.config ?? {}).filter(([, v]) => typeof v === "object" && v !== null && "secure" in v));
    writeFileSync(file, stringify({ ...current, config: { ...plain, ...secrets } }));
  };
  writeConfig(config);
  const stack = await EngineStack.open({ workDir: project.dir, stackName: ENGINE_STACK, passphrase, ...(backend ? { backendUrl: backend.url, env: backend.env } : {}) });
  await stack.setAllConfig(Object.fromEntries(Object.entries(secrets).map(([k, value]) => [k, { value, secret: true }])));
  return {
    stack,
    projectDir: project.dir,
    writeConfig,
    remove() {
      project.remove();
      if (stack.fileBackendDir !== undefined) rmSync(stack.fileBackendDir, { recursive: true, force: true });
    },
  };
}

export const openGoodgoStack = openProgramStack;

/**
 * `docker compose exec` as GoodGo's containers would run it (test/support/fake-docker-exec), pointed at the real
 * PostgreSQL and Redis: the secret files at the host paths the compose file mounts them from, /backups mapped to
 * `backupsDir`. Writes the redis-cli shim and the compose-exec script for a plan host started with `composeExec`.
 * `backupDirInEnv`: also BACKUP_DIR (backup-job.sh reads /backups from its environment, which fake-docker-exec maps in
 * arguments only). `extraEnv`: more of the container's environment (e.g. pg-backup's S3 settings pointed at the S3
 * stand-in, PITR_STANZA, PGBACKREST_CONFIG), after the rest.
 */
export function writeGoodgoComposeExec(o: {
  side: string;
  composeExec: string;
  host: PlanHost;
  deployDir: string;
  pg: PostgresServer;
  redis: RedisServer;
  backupsDir: string;
  backupDirInEnv?: boolean;
  extraEnv?: Record<string, string>;
}): void {
  const bin = join(o.side, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "redis-cli"), `#!/bin/sh\nexec /usr/bin/redis-cli -h 127.0.0.1 -p ${o.redis.port} "$@"\n`, { mode: 0o755 });
  // (The services the stack execs into: pg-backup and redis; redis-exporter's REDIS_PASSWORD_FILE is another file.)
  const secretFiles = Object.values(GOODGO_SECRET_MOUNTS)
    .filter((m) => ["pg-backup", "redis"].includes(m.service) && /^[A-Z0-9_]+$/.test(m.via))
    .map((m) => `${m.via}=${join(o.deployDir, m.host)}`);
  const containerEnv = [
    `PATH=${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    `HOME=${o.side}`,
    `PGHOST=${o.pg.host}`,
    `PGPORT=${o.pg.port}`,
    `PGUSER=${o.pg.user}`,
    "PGDATABASE=goodgo",
    `POSTGRES_USER=${o.pg.user}`,
    "POSTGRES_DB=goodgo",
    ...(o.backupDirInEnv ? [`BACKUP_DIR=${o.backupsDir}`] : []),
    ...secretFiles.filter((kv) => !kv.startsWith("PGPASSFILE=")),
    `FAKE_SCRIPTS=${join(REPO_ROOT, "scripts")}`,
    `FAKE_BACKUPS=${o.backupsDir}`,
    `FAKE_DOCKER_STATE=${join(o.host.dockerHome, "state.txt")}`,
    `FAKE_DOCKER_LOG=${join(o.side, "exec.log")}`,
    ...Object.entries(o.extraEnv ?? {}).map(([k, v]) => `${k}=${v}`),
  ];
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(o.composeExec, ["#!/bin/sh", `exec env ${containerEnv.map(q).join(" ")} bash ${q(join(REPO_ROOT, "test/support/fake-docker-exec"))} "$@"`, ""].join("\n"), { mode: 0o755 });
}

/**
 * `docker compose ... run --rm --no-deps api ...` (the API image's migrate and reindex) as test/support/fake-compose-run.ts
 * takes it: strict about the call, checking the database the api's environment names answers on `pg`. Writes the
 * script for a plan host started with `composeRun`; each run is logged to <side>/exec.log-run.jsonl.
 */
export function writeGoodgoComposeRun(o: { side: string; composeRun: string; pg: PostgresServer }): void {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const env = [`FAKE_RUN_PG_HOST=${o.pg.host}`, `FAKE_RUN_PG_PORT=${o.pg.port}`, `FAKE_DOCKER_LOG=${join(o.side, "exec.log")}`, `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`];
  writeFileSync(
    o.composeRun,
    ["#!/bin/sh", `exec env ${env.map(q).join(" ")} ${q(join(REPO_ROOT, "node_modules/.bin/tsx"))} ${q(join(REPO_ROOT, "test/support/fake-compose-run.ts"))} "$@"`, ""].join("\n"),
    { mode: 0o755 },
  );
}
