// bullmq-retry-failed.cjs -- run by bullmq-retry-failed.sh with node --env-file=<a service's .env> and NODE_PATH at the
// application's node_modules, so it uses the BullMQ the application itself runs. Moves every failed job of one queue
// back to waiting (Queue.retryJobs) and prints one JSON object: the counts before and after.
// Arguments: --queue NAME --prefix PREFIX. Connection: REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_DB from the env.
"use strict";
const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
(async () => {
  const { Queue } = require("bullmq");
  const connection = {
    host: process.env.REDIS_HOST || "127.0.0.1",
    port: Number(process.env.REDIS_PORT || 6379),
    db: Number(process.env.REDIS_DB || 0),
    password: process.env.REDIS_PASSWORD || undefined,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: () => null,
  };
  const queue = new Queue(arg("--queue"), { connection, prefix: arg("--prefix") });
  try {
    const before = await queue.getJobCounts("failed", "waiting", "delayed");
    await queue.retryJobs({ state: "failed", count: 1000 });
    const after = await queue.getJobCounts("failed", "waiting", "delayed");
    process.stdout.write(JSON.stringify({ failed_before: before.failed, retried: before.failed - after.failed, failed_after: after.failed, waiting_after: after.waiting }) + "\n");
  } finally {
    await queue.close();
  }
})().catch((e) => {
  process.stderr.write(`bullmq-retry-failed.cjs: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
