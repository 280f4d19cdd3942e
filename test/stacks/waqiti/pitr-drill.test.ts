// Waqiti's PITR drill on what its plan declares (backups.pitr of Pulumi.staging.yaml, rpoSeconds set to 20 so the
// drill is short, and recovery.database.pointInTime): the ConfigMap's pgbackrest.conf (S3 repository, encryption,
// async archiving, retention; the live and the restored stanza), the live StatefulSet's archive settings (its `-c`
// arguments), the pgBackRest include file of the Secret (the same renderer declare.ts fills, test values), the
// CronJob's pitr-backup.sh command line, the restored StatefulSet's init-container script and its server arguments,
// and the first-full Job's command line. They run against real PostgreSQL 15 and pgBackRest on loopback; only where
// things are is changed (test/support/pgbackrest.ts adaptRenderedPgBackRest: paths, port, user, and a posix repository
// in a temp dir, because pgBackRest's S3 driver needs HTTPS and test/support/s3Stub.ts speaks plain HTTP without
// multipart uploads). The restored cluster lives in another directory and port than the pod's one path: pgBackRest
// is told with its own PGBACKREST_PG1_* variables. A writer inserts a row every 100 ms; the server is killed and its
// data directory deleted; the init container's script restores the latest point and the restored server replays and
// promotes (RPO and restore time measured and printed); then a named time.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { archiveSettingsFromServerArgs } from "../../../lib/postgresPitr";
import { renderPgBackRestSecretsConf } from "../../../renderers/pgbackrest";
import { waqiti } from "../../../stacks/waqiti";
import { waqitiManifests, type PlannedManifest } from "../../../stacks/waqiti/manifests";
import { freePort } from "../../support/ports";
import { PG_BIN } from "../../support/postgres";
import { chownToServerUser, restoredSql, runAsServerUser, startDrillWriter, startPitrCluster, type DrillWriter, type PitrCluster } from "../../support/pgbackrest";
import { rawStack } from "../../support/stacks";

const RPO_SECONDS = 20; // the shortest the stack accepts: archive_timeout 10 s
const WRITE_FOR_MS = 25_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function planned(pointInTime: string) {
  const raw = rawStack("staging", {
    patch: (c) => {
      c["lazarus:waqiti"].backups.pitr.rpoSeconds = RPO_SECONDS;
      c["lazarus:waqiti"].recovery = { database: { label: "r1", pointInTime } };
    },
  });
  const cfg = platformConfig(loadStackConfig(raw, { allowMissingSecrets: true }), waqiti)!;
  const { manifests } = waqitiManifests({ config: cfg, stack: "staging" });
  const get = (kind: string, name: string): any => {
    const m = manifests.find((x: PlannedManifest) => x.kind === kind && x.manifest.metadata.name === name);
    if (!m) throw new Error(`the plan has no ${kind} ${name}`);
    return m;
  };
  const live = get("StatefulSet", "postgres").manifest.spec.template.spec;
  const restored = get("StatefulSet", "postgres-r1").manifest.spec.template.spec;
  const toConf = (args: string[]) => Object.entries(archiveSettingsFromServerArgs(args)).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`).join("\n") + "\n";
  const secret = get("Secret", "waqiti-pgbackrest-secrets").secretValues["secrets.conf"].pgbackrestSecrets;
  expect(secret).toEqual({ cipherPass: "waqitiPgbackrestCipherPass", s3Key: "waqitiBackupAccessKey", s3KeySecret: "waqitiBackupSecretKey" });
  const afterGosu = (argv: string[]) => argv.slice(argv.indexOf("gosu") + 2); // ["bash", script, ...args]
  return {
    pgbackrestConf: get("ConfigMap", "waqiti-pgbackrest").manifest.data["pgbackrest.conf"] as string,
    archiveConf: toConf(live.containers[0].args),
    restoredArgs: restored.containers[0].args as string[],
    restoreScript: restored.initContainers[0].command[2] as string,
    fullBackup: afterGosu(get("CronJob", "waqiti-pitr-full").manifest.spec.jobTemplate.spec.template.spec.containers[0].command),
    verifyScript: get("Job", "restore-postgres-r1").manifest.spec.template.spec.containers[0].command[2] as string,
    firstFull: afterGosu(get("Job", "pitr-first-full-r1").manifest.spec.template.spec.containers[0].command),
    // the include file declare.ts renders from those three secrets, with test values
    secretsConf: renderPgBackRestSecretsConf({ cipherPass: "test-only-waqiti-cipher", s3Key: "test-only-key", s3KeySecret: "test-only-secret" }),
  };
}

/** A restored data directory started as the restored StatefulSet's container starts it (its `-c` arguments), on loopback. */
function startRestored(c: PitrCluster, dataDir: string, port: number, args: string[], env: NodeJS.ProcessEnv): void {
  const settings = archiveSettingsFromServerArgs(args);
  const opts = [`-p ${port}`, `-k ${c.root}`, "-c listen_addresses=127.0.0.1", ...Object.entries(settings).map(([k, v]) => `-c ${k}='${v}'`)];
  const adapted = opts.map((o) => o.replace("--config=/etc/pgbackrest/conf/pgbackrest.conf", `--config=${c.confFile}`).replace("--config-include-path=/etc/pgbackrest/conf.d", `--config-include-path=${join(c.root, "conf.d")}`));
  const r = runAsServerUser(join(PG_BIN, "pg_ctl"), ["-D", dataDir, "-l", `${dataDir}.log`, "-o", adapted.join(" "), "-w", "-t", "120", "start"], env);
  if (r.code !== 0) throw new Error(`restored server did not start: ${r.stderr}${r.stdout}`);
}

async function waitOutOfRecovery(port: number, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if (restoredSql(port, "select pg_is_in_recovery()") === "f") return;
    } catch {
      // starting
    }
    await sleep(200);
  }
  throw new Error("the restored server did not leave recovery");
}

describe("Waqiti PITR drill on the rendered pgBackRest config (the plan's ConfigMap, Secret, arguments and scripts)", () => {
  let c: PitrCluster;
  let writer: DrillWriter | undefined;
  const latest = planned("latest");
  const stops: string[] = [];
  // The restored cluster's own location for pgBackRest (the pod's one path and port are the live one's in the conf).
  const at = (dataDir: string, port: number) => ({ PGBACKREST_PG1_PATH: dataDir, PGBACKREST_PG1_PORT: String(port), PGBACKREST_PG1_SOCKET_PATH: c.root, PGDATA: dataDir, PGBACKREST_CONFIG: c.confFile, PGBACKREST_CONFIG_INCLUDE_PATH: join(c.root, "conf.d") });

  beforeAll(async () => {
    delete process.env.PGBACKREST_REPO1_CIPHER_PASS;
    c = await startPitrCluster({ stanza: "waqiti", rendered: latest, secretsConf: latest.secretsConf });
    c.pg.sql("create table drill (id bigint primary key, ts timestamptz not null default clock_timestamp())");
    // the seed's three verification tables, with known counts
    c.pg.sql("create table users as select g as id from generate_series(1, 10) g; create table wallets as select g as id from generate_series(1, 12) g; create table transactions as select g as id from generate_series(1, 50) g");
  });
  afterAll(() => {
    writer?.stop();
    for (const d of stops) if (existsSync(join(d, "postmaster.pid"))) runAsServerUser(join(PG_BIN, "pg_ctl"), ["-D", d, "-m", "immediate", "-w", "stop"]);
    c?.destroy();
  });

  it("runs the rendered settings: the stack's archive_timeout, encrypted repository, async archiving, both stanzas", () => {
    expect(c.pg.sql("show archive_timeout")).toBe(`${RPO_SECONDS / 2}s`);
    expect(c.pg.sql("show archive_command")).toContain("--stanza=waqiti archive-push %p");
    expect(c.confText).toMatch(/^repo1-cipher-type=aes-256-cbc$/m);
    expect(c.confText).toMatch(/^archive-async=y$/m);
    expect(c.confText).toMatch(/^\[waqiti-r1\]$/m);
    expect(latest.pgbackrestConf).toMatch(/^repo1-type=s3$/m);
    expect(latest.pgbackrestConf).not.toContain("test-only-");
    expect(latest.fullBackup).toEqual(["bash", "/opt/lazarus/scripts/backup/pitr-backup.sh", "--stanza", "waqiti", "--type", "full"]);
    const bare = runAsServerUser("pgbackrest", [`--config=${c.confFile}`, "--stanza=waqiti", "--log-level-console=error", "info"]);
    expect(bare.stdout + bare.stderr).toContain("requires option: repo1-cipher-pass");
  });

  it("loses the data directory under a writer, restores the latest point by the init container's script, then a named time", async () => {
    const backup = c.script("pitr-backup.sh", latest.fullBackup.slice(2));
    expect(backup.code, backup.stderr).toBe(0);

    writer = startDrillWriter(c.pg, "drill");
    await sleep(WRITE_FOR_MS / 2);
    const named = writer.last();
    await sleep(WRITE_FOR_MS / 2);
    c.pg.stop("immediate"); // the pod dies without a shutdown checkpoint
    await sleep(300);
    const last = writer.last();
    const committed = writer.committed();
    writer.stop();
    expect(last).toBeDefined();
    expect(named).toBeDefined();
    rmSync(c.pg.dataDir, { recursive: true, force: true }); // and its volume is gone

    // postgres-r1: the init container's script into an empty data directory, then the container's server arguments
    const dataDir = join(c.mkdir("r1"), "pgdata");
    const port = await freePort();
    // A wrong passphrase (fault): the init container fails, nothing is restored or marked, and the pod would not start.
    const wrongKeys = c.mkdir("wrong-keys");
    const wrongFile = join(wrongKeys, "secrets.conf");
    writeFileSync(wrongFile, renderPgBackRestSecretsConf({ cipherPass: "not-the-passphrase", s3Key: "k", s3KeySecret: "s" }), { mode: 0o600 });
    chownToServerUser(wrongFile);
    const wrong = runAsServerUser("bash", ["-c", latest.restoreScript], { ...at(dataDir, port), PGBACKREST_CONFIG_INCLUDE_PATH: wrongKeys });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout + wrong.stderr).toMatch(/cipher|decrypt|passphrase|format/i);
    expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(false);
    const t0 = Date.now();
    const restore = runAsServerUser("bash", ["-c", latest.restoreScript], at(dataDir, port));
    expect(restore.code, restore.stderr + restore.stdout).toBe(0);
    startRestored(c, dataDir, port, latest.restoredArgs, at(dataDir, port));
    stops.push(dataDir);
    await waitOutOfRecovery(port);
    const restoreSeconds = (Date.now() - t0) / 1000;
    const [rows, maxId] = restoredSql(port, "select count(*), max(id) from drill").split("|").map(Number);
    const rpo = Number(restoredSql(port, `select extract(epoch from ('${last!.ts}'::timestamptz - max(ts))) from drill`));
    console.log(
      `Waqiti PITR drill (rendered config, rpoSeconds ${RPO_SECONDS}, archive_timeout ${RPO_SECONDS / 2}s): writer committed ${committed} rows (last id ${last!.id}); ` +
        `restored ${rows} rows (last id ${maxId}); RPO = ${rpo.toFixed(1)} s (${last!.id - maxId!} rows lost); restore (init container + replay + promote) took ${restoreSeconds.toFixed(1)} s`,
    );
    expect(rows).toBe(maxId);
    expect(rpo).toBeGreaterThanOrEqual(0);
    expect(rpo).toBeLessThan(RPO_SECONDS * 1.5);
    // Job restore-postgres-r1's script: out of recovery, the seed's three counts
    const pwFile = join(c.root, "pw");
    writeFileSync(pwFile, "unused: the drill's server trusts loopback\n");
    const verify = spawnSync("bash", ["-c", latest.verifyScript], { env: { ...process.env, PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "postgres", PGDATABASE: "postgres", PG_PASSWORD_FILE: pwFile }, encoding: "utf8" });
    expect(verify.status, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout.trim().split("\n").pop()!)).toMatchObject({ status: "ok", counts: { users: 10, transactions: 50, wallets: 12 } });
    // The restored database archives to its own stanza once its first full backup (the Job after the restore) made it.
    const first = runAsServerUser("bash", [join(__dirname, "../../../scripts/backup/pitr-backup.sh"), ...latest.firstFull.slice(2)], { ...at(dataDir, port), PG_BIN });
    expect(first.code, first.stderr).toBe(0);
    expect(first.result).toMatchObject({ status: "ok", stanza: "waqiti-r1", type: "full" });
    // the init container does nothing on a second start (a restarted pod starts what it has)
    const again = runAsServerUser("bash", ["-c", latest.restoreScript], at(dataDir, port));
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("not restored again");
    // a data directory with something in it and no finished restore is refused, not restored over
    const other = join(c.mkdir("r9"), "pgdata");
    c.mkdir("r9/pgdata");
    writeFileSync(join(other, "PG_VERSION"), "15\n");
    const refused = runAsServerUser("bash", ["-c", latest.restoreScript], at(other, port));
    expect(refused.code).toBe(73);
    expect(refused.stderr).toContain("no restore finished here");

    // A named time: the moment a row was committed halfway through (recovery.database.pointInTime as the stack file says it).
    const target = named!.ts.replace(" ", "T").replace(/\+00(:00)?$/, "Z");
    expect(target, "the drill's session runs in UTC").toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/);
    const timed = planned(target);
    expect(timed.restoreScript).toContain("--type=time");
    const dir2 = join(c.mkdir("r2"), "pgdata");
    const port2 = await freePort();
    const t1 = Date.now();
    const r2 = runAsServerUser("bash", ["-c", timed.restoreScript], at(dir2, port2));
    expect(r2.code, r2.stderr + r2.stdout).toBe(0);
    startRestored(c, dir2, port2, timed.restoredArgs, at(dir2, port2));
    stops.push(dir2);
    await waitOutOfRecovery(port2);
    const namedSeconds = (Date.now() - t1) / 1000;
    const after = Number(restoredSql(port2, `select count(*) from drill where ts > '${named!.ts}'`));
    const [namedRows, namedMax] = restoredSql(port2, "select count(*), max(id) from drill").split("|").map(Number);
    console.log(`Waqiti PITR drill: restored to ${target}: ${namedRows} rows (last id ${namedMax}), took ${namedSeconds.toFixed(1)} s`);
    expect(after).toBe(0);
    expect(namedRows).toBe(namedMax);
    expect(namedMax!).toBeLessThanOrEqual(named!.id);
    expect(namedMax!).toBeGreaterThan(0);
  }, 300_000);
});
