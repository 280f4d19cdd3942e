// The backup CronJob as the staging stack declares it, run for real: its scripts laid out exactly as the ConfigMap
// volume's items place them, its Secrets' files (the s3cmd config built from the bucket's keys, the encryption key at
// the seed's path) where its mounts put them, its command and environment as declared. Only what a cluster would
// provide is replaced: the Service names `postgres`/`redis` by loopback servers, the bucket endpoint by the S3 stub
// (plain HTTP), and container paths by a temp root. Then the restore Job's container, declared by recovery.database,
// restores what the backup wrote into an empty PostgreSQL.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../../cli/planner";
import type { DeclaredResource } from "../../../lib/runtime/capture";
import { startPostgres, type PostgresServer } from "../../support/postgres";
import { startRedis, type RedisServer } from "../../support/redis";
import { startS3Stub, type S3Stub } from "../../support/s3Stub";
import { scriptRun, type ScriptRun } from "../../support/scriptRun";
import { ALL_SENTINEL_SECRETS, keepOnlyPlatforms, planFor } from "../../support/stacks";

let plan: Plan;
let pg: PostgresServer;
let target: PostgresServer;
let redis: RedisServer;
let s3: S3Stub;
let root: string;

const obj = (r: DeclaredResource) => r.rawInputs as Record<string, any>;
const find = (kind: string, name: string) => plan.resources.find((r) => r.type.startsWith("kubernetes:") && obj(r).kind === kind && obj(r).metadata.name === name)!;

/** Lays the pod's volumes out under `root` as the kubelet would mount them, and runs its container. */
function runContainer(pod: Record<string, any>, containerName: string, overrides: Record<string, string>): Promise<ScriptRun> {
  const container = [...(pod.initContainers ?? []), ...pod.containers].find((c: { name: string }) => c.name === containerName);
  const at = (p: string) => join(root, p);
  for (const m of container.volumeMounts as { name: string; mountPath: string; subPath?: string }[]) {
    const v = (pod.volumes as Record<string, any>[]).find((x) => x.name === m.name)!;
    const files: Record<string, string> = {};
    if (v.configMap) {
      const data = obj(find("ConfigMap", v.configMap.name)).data as Record<string, string>;
      for (const item of v.configMap.items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) files[item.path] = data[item.key];
    } else if (v.secret) {
      const data = obj(find("Secret", v.secret.secretName)).stringData as Record<string, string>;
      for (const item of v.secret.items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) files[item.path] = data[item.key];
    } else {
      mkdirSync(at(m.mountPath), { recursive: true });
      continue;
    }
    for (const [path, content] of Object.entries(files)) {
      if (m.subPath && path !== m.subPath) continue;
      const target = m.subPath ? at(m.mountPath) : join(at(m.mountPath), path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content, { mode: 0o600 });
    }
  }
  const env: Record<string, string> = { PATH: process.env.PATH! };
  for (const e of container.env as { name: string; value: string }[]) env[e.name] = e.value.startsWith("/") ? at(e.value) : e.value;
  Object.assign(env, overrides);
  const [cmd, script] = container.command as string[];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [at(script), ...(container.args ?? [])], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve(scriptRun({ status, stdout, stderr, pid: 0, output: [], signal: null })));
  });
}

beforeAll(async () => {
  plan = await planFor("staging", {
    secrets: { ...ALL_SENTINEL_SECRETS, "lazarus:waqitiBackupEncryptionKey": "c2VudGluZWwta2V5LW5vdC1mb3ItdXNl+random/32bytes=" },
    patch: (c) => (keepOnlyPlatforms(c, ["waqiti"]), (c["lazarus:waqiti"].recovery = { database: { label: "r1" } })),
  });
  root = mkdtempSync(join(tmpdir(), "lazarus-waqiti-pod-"));
  [pg, target, redis, s3] = await Promise.all([startPostgres(), startPostgres(), startRedis({ appendonly: false }), startS3Stub({ accessKey: ALL_SENTINEL_SECRETS["lazarus:waqitiBackupAccessKey"]!, secretKey: ALL_SENTINEL_SECRETS["lazarus:waqitiBackupSecretKey"]! })]);
  pg.sql("CREATE DATABASE waqiti");
  pg.sql("CREATE TABLE users (id int); CREATE TABLE wallets (id int); CREATE TABLE transactions (id int); INSERT INTO users SELECT generate_series(1, 7); INSERT INTO wallets SELECT generate_series(1, 7); INSERT INTO transactions SELECT generate_series(1, 70)", "waqiti");
  target.sql("CREATE DATABASE waqiti");
  redis.cli("SET", "k", "v");
});

afterAll(async () => {
  pg?.destroy();
  target?.destroy();
  redis?.destroy();
  await s3?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const cluster = () => ({ S3_ENDPOINT: s3.endpoint, S3_NO_SSL: "1" });

describe("the declared backup CronJob's container", () => {
  it("backs up PostgreSQL and Redis into the stack's bucket with the credentials from its s3cmd config Secret", async () => {
    const pod = obj(find("CronJob", "waqiti-backup")).spec.jobTemplate.spec.template.spec;
    const r = await runContainer(pod, "backup", { ...cluster(), PGHOST: pg.host, PGPORT: String(pg.port), REDIS_HOST: redis.host, REDIS_PORT: String(redis.port) });
    expect(r.code, r.stderr).toBe(0);
    expect([...s3.objects.keys()].map((k) => k.split("/").slice(1, 3).join("/"))).toEqual(expect.arrayContaining(["waqiti-backups-staging/postgresql", "waqiti-backups-staging/redis", "waqiti-backups-staging/manifests"]));
    // The access key the Secret's s3cmd config carries signed the uploads.
    expect(s3.requests.some((q) => q.authorization?.includes(ALL_SENTINEL_SECRETS["lazarus:waqitiBackupAccessKey"]))).toBe(true);
  });

  it("is restored by the declared restore Job's container into the new, empty database, counts checked", async () => {
    const pod = obj(find("Job", "restore-postgres-r1")).spec.template.spec;
    const r = await runContainer(pod, "restore", { ...cluster(), PGHOST: target.host, PGPORT: String(target.port) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ restored: true, counts: { users: 7, wallets: 7, transactions: 70 } });
  });
});
