// Pencom's operation retry-failed-jobs (the seed's Redis Recovery: "re-trigger any critical background jobs") against a
// real Redis 7 with a password and the real bullmq package (the same major the application would ship): the plan's
// command, with core's .env as pencomEnvFile composes it, moves every failed job of the named queue back to waiting;
// a worker then completes them. Jobs of other queues are left alone; a wrong password exits 69 and retries nothing.
// What a stand-in cannot show: the application's own job handlers and queue names (the stack file names the queue).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, QueueEvents, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pencom } from "../../../stacks/pencom";
import { pencomEnvFile, planPencom } from "../../../stacks/pencom/plan";
import { startRedis, type RedisServer } from "../../support/redis";
import { REPO, parseResult } from "../../support/testHost";
import { stackPlatformConfig } from "../../support/stacks";

const PASSWORD = "redis-pw-7c2";
let redis: RedisServer;
let dir: string;
const base = stackPlatformConfig("prod", pencom);
const connection = () => ({ host: "127.0.0.1", port: redis.port, password: PASSWORD });

function retryCommand(queue: string, password = PASSWORD) {
  const cfg = { ...base, redis: { ...base.redis, host: "127.0.0.1", port: redis.port }, operations: [{ id: "2026-12-01-retry", action: "retry-failed-jobs" as const, queue }] };
  const command = planPencom(cfg, { stack: "prod", stackFile: "Pulumi.prod.yaml", environment: {} as never }).operations[0]!.command;
  const envFile = join(dir, `core-${password}.env`);
  writeFileSync(envFile, pencomEnvFile(cfg, "core", { coreDbPassword: "x", integrationsDbPassword: "x", mongoPassword: "x", redisPassword: password, oraclePassword: "x", appEnv: "" }), { mode: 0o600 });
  const run = command
    .replace("/opt/lazarus/scripts", join(REPO, "scripts"))
    .replace("/etc/pencom/env/core.env", envFile)
    .replace(`${cfg.app.dir}/node_modules`, join(REPO, "node_modules"));
  const r = spawnSync("bash", ["-c", run], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stderr: r.stderr, json: parseResult(r.stdout) };
}

async function failJobs(name: string, n: number) {
  const queue = new Queue(name, { connection: connection(), prefix: base.redis.queuePrefix });
  const events = new QueueEvents(name, { connection: connection(), prefix: base.redis.queuePrefix });
  await events.waitUntilReady();
  for (let i = 0; i < n; i++) await queue.add("settle", { i });
  const worker = new Worker(name, async () => { throw new Error("Redis went away mid-job"); }, { connection: connection(), prefix: base.redis.queuePrefix });
  await expect.poll(async () => (await queue.getJobCounts("failed")).failed, { timeout: 10_000 }).toBe(n);
  await worker.close();
  await events.close();
  return queue;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lazarus-pencom-bullmq-"));
  redis = await startRedis({ password: PASSWORD });
}, 30_000);

afterAll(() => {
  redis?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("retry-failed-jobs", () => {
  it("moves every failed job of the named queue back to waiting, and a worker then completes them", async () => {
    const payments = await failJobs("payments", 3);
    const other = await failJobs("notifications", 2);
    const r = retryCommand("payments");
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ status: "ok", queue: "payments", failed_before: 3, retried: 3, failed_after: 0, waiting_after: 3 });
    expect((await other.getJobCounts("failed")).failed).toBe(2);
    const worker = new Worker("payments", async () => "settled", { connection: connection(), prefix: base.redis.queuePrefix });
    await expect.poll(async () => (await payments.getJobCounts("completed")).completed, { timeout: 10_000 }).toBe(3);
    await worker.close();
    await payments.close();
    await other.close();
  }, 60_000);

  it("exits 69 with a wrong Redis password and retries nothing", async () => {
    const q = await failJobs("audit", 1);
    const r = retryCommand("audit", "not-the-password");
    expect(r.code).toBe(69);
    expect(r.json).toMatchObject({ status: "error" });
    expect((await q.getJobCounts("failed")).failed).toBe(1);
    await q.close();
  }, 60_000);
});
