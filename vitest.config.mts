import { defineConfig } from "vitest/config";

// Tests that start real servers (PostgreSQL, sshd, pebble) need generous timeouts; the machine has two cores,
// so files run in at most two worker processes.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
