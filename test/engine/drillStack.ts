// The DR drill's scratch copy on the engine test stack (test/engine/goodgoStack.ts): GoodGo alone on the loopback sshd
// host, a REAL PostgreSQL 15 holding the goodgo database and a real Redis behind `docker compose exec`
// (test/support/fake-docker-exec), and the drill file (lib/dr/drill.ts DRILL_FILE) saying where the data host is and how
// an empty one comes back (test/support/drillTarget.ts). Shared by test/engine/dr-drill.test.ts, bench/dr-drill.ts and,
// with `physical`, test/engine/dr-drill-physical.test.ts.
//
// `physical`: the server archives WAL with real pgBackRest on GoodGo's RENDERED files: the archive settings of the
// postgres service's command (goodgoPostgresCommand: archive_mode, archive_command with the stanza, the stack's
// archive_timeout) and the pgbackrest.conf the plan ships (goodgoPgbackrestConf: an S3 repository in the off-site bucket
// under backups.pitr.repoPath, aes-256-cbc, async push with a spool, retention), with the secrets include file the plan
// ships (goodgoContainerSecretFiles: the passphrase and the Spaces key). The repository is on the S3 stand-in over HTTPS
// (test/support/s3StubProcess.ts, its certificate trusted through repo1-storage-ca-file, so TLS is verified): the
// rendered config has an S3 repository only (GoodGo's repository IS the off-site bucket), and a repository outside the
// data host is what survives the host's loss, as the bucket would. Changed, and only this, is where things are:
// pg1-path/port/socket/user (the test server), spool, log and lock paths (a temp dir), the endpoint (localhost, its port,
// path-style: "<bucket>.localhost" resolves nowhere) and the CA file; the containers' default config paths
// (/etc/pgbackrest/...) are given to pgBackRest as PGBACKREST_CONFIG / PGBACKREST_CONFIG_INCLUDE_PATH in the
// compose-exec environment and as --config/--config-include-path in archive_command. The drill file loses the spool
// with the data directory (dataHost.alsoLost), and the empty host comes back with an empty spool, as the image makes it.
// A recovery that changes the stanza (recovery.host: goodgo-<label>) changes those rendered files; before every exec the
// server and config follow them (test/engine/drillPitrFollow.ts, what compose up's recreated containers would run).
// Both routes: the application role (database.user, which the postgis entrypoint creates as POSTGRES_USER on an empty
// volume, and the replacement server gets too) and the API image's `compose run` stand-in (fake-compose-run.ts), which
// recovery.host's reindex runs.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { DRILL_FILE } from "../../lib/dr/drill";
import { archiveSettingsFromServerArgs } from "../../lib/postgresPitr";
import { goodgoSchema, type GoodgoConfig } from "../../stacks/goodgo/config";
import { GOODGO_ENV_SECRET_SOURCES, goodgoContainerSecretFiles, type GoodgoStackSecrets } from "../../stacks/goodgo/env";
import { goodgoPgbackrestConf, goodgoPostgresCommand, goodgoStanza } from "../../stacks/goodgo/pitr";
import { emptyPostgresScript } from "../support/drillTarget";
import { adaptRenderedArchiveConf, chownToServerUser, runAsServerUser } from "../support/pgbackrest";
import { startPlanHost, type PlanHost } from "../support/planOverSsh";
import { toDrillLocation, type DrillPitrLocation } from "./drillPitrFollow";
import { REPO_ROOT } from "../../lib/engine/install";
import { PG_BIN, startPostgres, type PostgresServer } from "../support/postgres";
import { startRedis, type RedisServer } from "../support/redis";
import { startS3StubProcess, type S3StubProcess } from "../support/s3StubProcess";
import { GOODGO_SENTINEL_SECRETS } from "../support/stacks";
import { GOODGO_SANDBOXED, goodgoOnHostConfig, goodgoSecrets, openGoodgoStack, writeGoodgoComposeExec, writeGoodgoComposeRun, type GoodgoEngineStack } from "./goodgoStack";

const PASSPHRASE = "lazarus-engine-test";

/** The physical route's pieces: the rendered files, where the drill put them, and the repository on the S3 stand-in. */
export interface DrillPitr {
  cfg: GoodgoConfig;
  /** What the plan renders (before the drill's location changes): pgbackrest.conf and the secrets include file. */
  rendered: { pgbackrestConf: string; secretsConf: string };
  /** The adapted pgbackrest.conf the drill runs, its include dir, the spool the loss removes. */
  confFile: string;
  includeDir: string;
  spoolDir: string;
  s3: S3StubProcess;
  /** `pgbackrest info --output=json` of the stanza (default: the base stanza, goodgo), as the server's OS user. */
  info(stanza?: string): any;
}

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
  /** With `physical`: WAL archiving and the repository. */
  pitr?: DrillPitr;
  stop(): Promise<void>;
}

/** GoodGo's secrets as its renderers take them, from the sentinels the stack sets. */
function sentinelGoodgoSecrets(): GoodgoStackSecrets {
  return Object.fromEntries(Object.entries(GOODGO_ENV_SECRET_SOURCES).map(([k, name]) => [k, GOODGO_SENTINEL_SECRETS[`lazarus:${name}`]])) as unknown as GoodgoStackSecrets;
}

export async function openDrillStack(
  writer: { rowsBeforeBackup: number; rowsAfterBackup: number; everyMs?: number },
  o: { physical?: { archiveTimeoutSeconds: number } } = {},
): Promise<DrillStack> {
  const side = mkdtempSync(join(tmpdir(), "lazarus-engine-drill-"));
  chmodSync(side, 0o755);
  const backupsDir = join(side, "backups");
  mkdirSync(backupsDir);
  const redis = await startRedis({ password: GOODGO_SENTINEL_SECRETS["lazarus:goodgoRedisPassword"] });
  const composeExec = join(side, "compose-exec");
  const composeRun = join(side, "compose-run");
  const host = await startPlanHost({ sandboxed: GOODGO_SANDBOXED, composeExec, composeRun });
  const deployDir = join(host.root, "srv", "goodgo");
  const config = goodgoOnHostConfig(host.ssh, deployDir, (g) => {
    // The stack's own key, as an operator would set it: the shortest archive_timeout it accepts keeps the drill short.
    if (o.physical) g.backups.pitr = { ...(g.backups.pitr ?? {}), archiveTimeoutSeconds: o.physical.archiveTimeoutSeconds };
  });

  let pg: PostgresServer;
  let pitr: DrillPitr | undefined;
  let extraEnv: Record<string, string> = {};
  let location: DrillPitrLocation | undefined;
  if (o.physical) {
    const cfg = goodgoSchema.parse(config["lazarus:goodgo"]);
    const s3 = await startS3StubProcess({ accessKey: GOODGO_SENTINEL_SECRETS["lazarus:goodgoSpacesAccessKey"]!, secretKey: GOODGO_SENTINEL_SECRETS["lazarus:goodgoSpacesSecretKey"]! });
    const root = join(side, "pgbackrest");
    const [spoolDir, log, lock, includeDir] = ["spool", "log", "lock", "conf.d"].map((d) => join(root, d)) as [string, string, string, string];
    for (const d of [root, spoolDir, log, lock, includeDir]) {
      mkdirSync(d, { recursive: true });
      chownToServerUser(d);
    }
    const confFile = join(root, "pgbackrest.conf");
    const rendered = { pgbackrestConf: goodgoPgbackrestConf(cfg), secretsConf: goodgoContainerSecretFiles(cfg, sentinelGoodgoSecrets()).pgbackrestSecrets };
    const secretsFile = join(includeDir, "secrets.conf");
    writeFileSync(secretsFile, rendered.secretsConf, { mode: 0o600 });
    chownToServerUser(secretsFile);
    // The archive settings exactly as the postgres service's command carries them, with the drill's config paths.
    const archiveConf = Object.entries(archiveSettingsFromServerArgs(goodgoPostgresCommand(cfg)))
      .map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`)
      .join("\n");
    pg = await startPostgres({ extraConf: ["synchronous_commit = on", ...adaptRenderedArchiveConf(archiveConf, confFile, includeDir).split("\n")] });
    location = {
      deployDir,
      pg: { host: pg.host, port: pg.port, user: pg.user, dataDir: pg.dataDir, socketDir: pg.baseDir },
      spool: spoolDir,
      log,
      lock,
      s3: { host: s3.host, port: s3.port, caFile: s3.caFile },
      confFile,
      includeDir,
    };
    writeFileSync(confFile, toDrillLocation(rendered.pgbackrestConf, location), { mode: 0o640 });
    chownToServerUser(confFile);
    const stanza = goodgoStanza(cfg);
    pitr = {
      cfg,
      rendered,
      confFile,
      includeDir,
      spoolDir,
      s3,
      info(of = stanza) {
        const r = runAsServerUser("pgbackrest", [`--config=${confFile}`, `--config-include-path=${includeDir}`, `--stanza=${of}`, "--log-level-console=error", "info", "--output=json"]);
        return JSON.parse(r.stdout)[0];
      },
    };
    // pg-backup's environment for the physical route (PITR_RUN_AS as the compose file renders it; PITR_STANZA is the
    // compose file's at each exec, drillPitrFollow.ts), and where pgBackRest's config is here (the container uses its
    // default paths).
    extraEnv = { PITR_RUN_AS: "postgres", PGBACKREST_CONFIG: confFile, PGBACKREST_CONFIG_INCLUDE_PATH: includeDir, PG_BIN };
  } else {
    pg = await startPostgres({ extraConf: ["synchronous_commit = on"] });
  }
  // The application's role, which the postgis image's entrypoint creates as POSTGRES_USER on every empty volume (the
  // API's DATABASE_URL logs in as it: fake-compose-run.ts checks that it answers).
  const dbUser = goodgoSchema.parse(config["lazarus:goodgo"]).database.user;
  const createRole = `CREATE ROLE "${dbUser}" LOGIN SUPERUSER`;
  pg.sql(createRole);
  pg.sql("CREATE DATABASE goodgo");
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  if (location) {
    // Before each exec, the server and config follow the deploy directory's rendered files, and PITR_STANZA is the
    // compose file's (drillPitrFollow.ts: what compose up's recreated containers would run, e.g. after recovery.host).
    const inner = `${composeExec}-inner`;
    const follow = join(side, "follow.json");
    writeFileSync(follow, JSON.stringify(location));
    writeGoodgoComposeExec({ side, composeExec: inner, host, deployDir, pg, redis, backupsDir, backupDirInEnv: true, extraEnv });
    writeFileSync(
      composeExec,
      ["#!/bin/sh", "set -e", `stanza=$(${q(join(REPO_ROOT, "node_modules/.bin/tsx"))} ${q(join(REPO_ROOT, "test/engine/drillPitrFollow.ts"))} ${q(follow)})`, `PITR_STANZA=$stanza exec ${q(inner)} "$@"`, ""].join("\n"),
      { mode: 0o755 },
    );
  } else {
    writeGoodgoComposeExec({ side, composeExec, host, deployDir, pg, redis, backupsDir, backupDirInEnv: true, extraEnv });
  }
  // The API image's migrate and reindex (recovery.host runs the reindex): test/support/fake-compose-run.ts.
  writeGoodgoComposeRun({ side, composeRun, pg });
  const goodgo = await openGoodgoStack(config, goodgoSecrets(readFileSync(host.ssh.keyFile, "utf8")), PASSPHRASE);
  const passphraseFile = join(side, "passphrase");
  writeFileSync(passphraseFile, PASSPHRASE, { mode: 0o600 });
  const emptyServer = emptyPostgresScript(pg, join(side, "replace"), "goodgo", pitr ? { emptyDirs: [pitr.spoolDir] } : {});
  const replaceScript = join(side, "replace", "empty-postgres-with-role.sh");
  writeFileSync(
    replaceScript,
    ["#!/bin/bash", "set -euo pipefail", q(emptyServer), `PGHOST=${q(pg.host)} PGPORT=${pg.port} PGUSER=${q(pg.user)} psql -X -q -v ON_ERROR_STOP=1 -d postgres -c ${q(createRole)}`, ""].join("\n"),
    { mode: 0o755 },
  );
  writeFileSync(
    join(goodgo.projectDir, DRILL_FILE),
    stringify({
      stack: "staging",
      backendDir: goodgo.stack.backendDir,
      passphraseFile,
      ...(pitr ? { route: "physical" } : {}),
      dataHost: {
        postgres: { host: pg.host, port: pg.port, user: pg.user, database: "goodgo", dataDir: pg.dataDir },
        ...(pitr ? { alsoLost: [pitr.spoolDir] } : {}),
        replace: [replaceScript],
      },
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
    ...(pitr ? { pitr } : {}),
    async stop() {
      await host.stop();
      pg.destroy();
      redis.destroy();
      pitr?.s3.close();
      goodgo.remove();
      rmSync(side, { recursive: true, force: true });
    },
  };
}
