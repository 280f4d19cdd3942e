// The DR drill's scratch copy on the engine test stack (test/engine/goodgoStack.ts): GoodGo alone on the loopback sshd
// host, a REAL PostgreSQL 15 holding the goodgo database and a real Redis behind `docker compose exec`
// (test/support/fake-docker-exec), and the drill file (lib/dr/drill.ts DRILL_FILE) saying where the data host is and how
// an empty one comes back (test/support/drillTarget.ts). Shared by test/engine/dr-drill.test.ts and bench/dr-drill.ts.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { DRILL_FILE } from "../../lib/dr/drill";
import { emptyPostgresScript } from "../support/drillTarget";
import { startPlanHost, type PlanHost } from "../support/planOverSsh";
import { startPostgres, type PostgresServer } from "../support/postgres";
import { startRedis, type RedisServer } from "../support/redis";
import { GOODGO_SENTINEL_SECRETS } from "../support/stacks";
import { GOODGO_SANDBOXED, goodgoOnHostConfig, goodgoSecrets, openGoodgoStack, writeGoodgoComposeExec, type GoodgoEngineStack } from "./goodgoStack";

const PASSPHRASE = "lazarus-engine-test";

export interface DrillStack {
  /** The scratch project: runDrill's workDir (stack "staging"). */
  projectDir: string;
  pg: PostgresServer;
  redis: RedisServer;
  host: PlanHost;
  goodgo: GoodgoEngineStack;
  /** What the pg-backup container sees as /backups. */
  backupsDir: string;
  /** The drill file's `replace`: an empty PostgreSQL back at the same address. */
  replaceScript: string;
  stop(): Promise<void>;
}

export async function openDrillStack(writer: { rowsBeforeBackup: number; rowsAfterBackup: number }): Promise<DrillStack> {
  const side = mkdtempSync(join(tmpdir(), "lazarus-engine-drill-"));
  chmodSync(side, 0o755);
  const backupsDir = join(side, "backups");
  mkdirSync(backupsDir);
  const pg = await startPostgres({ extraConf: ["synchronous_commit = on"] });
  pg.sql("CREATE DATABASE goodgo");
  const redis = await startRedis({ password: GOODGO_SENTINEL_SECRETS["lazarus:goodgoRedisPassword"] });
  const composeExec = join(side, "compose-exec");
  const host = await startPlanHost({ sandboxed: GOODGO_SANDBOXED, composeExec });
  const deployDir = join(host.root, "srv", "goodgo");
  writeGoodgoComposeExec({ side, composeExec, host, deployDir, pg, redis, backupsDir, backupDirInEnv: true });
  const goodgo = await openGoodgoStack(goodgoOnHostConfig(host.ssh, deployDir), goodgoSecrets(readFileSync(host.ssh.keyFile, "utf8")), PASSPHRASE);
  const passphraseFile = join(side, "passphrase");
  writeFileSync(passphraseFile, PASSPHRASE, { mode: 0o600 });
  const replaceScript = emptyPostgresScript(pg, join(side, "replace"), "goodgo");
  writeFileSync(
    join(goodgo.projectDir, DRILL_FILE),
    stringify({
      stack: "staging",
      backendDir: goodgo.stack.backendDir,
      passphraseFile,
      dataHost: { postgres: { host: pg.host, port: pg.port, user: pg.user, database: "goodgo", dataDir: pg.dataDir }, replace: [replaceScript] },
      writer,
    }),
  );
  return {
    projectDir: goodgo.projectDir,
    pg,
    redis,
    host,
    goodgo,
    backupsDir,
    replaceScript,
    async stop() {
      await host.stop();
      pg.destroy();
      redis.destroy();
      goodgo.remove();
      rmSync(side, { recursive: true, force: true });
    },
  };
}
