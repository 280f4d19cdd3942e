// Pencom's PostgreSQL server lost, for real (issue 14): a real PostgreSQL 15 archiving with real pgBackRest 2.45 on the
// RENDERED pgbackrest.conf and archive settings of the staging stack (postgres.pitr.offsite set): repo1 the posix
// repository on the server, repo2 the off-site bucket on the S3 stand-in over HTTPS (its certificate trusted through
// repo2-storage-ca-file, so TLS is verified), encrypted with the rendered secrets include file. A writer runs; the
// server dies, its data directory AND its local repository and spool are deleted; a new empty cluster stands in for
// the replacement server's; then the switch's own command (recovery.postgresServer) restores the whole cluster from
// repo2; then the plan's own setup runs for real (pgServerStandIn.ts maps its paths): a full backup into both
// repositories (the restored cluster is on a new timeline) and no restart (archiving is on); run again, as it is when
// the switch is marked done or removed, it restarts nothing and backs nothing up. What the test adapts, and only this: where things are (test/support/pgbackrest.ts: data dir, port, socket,
// repo1 path, spool, log, lock; here: repo2's endpoint localhost, its port and CA file, path-style addressing, since
// "pencom-staging-pgbackrest.localhost" resolves nowhere) and the paths in the command (scripts, config, secrets).
// Stand-ins and what they cannot check: systemctl (pgServerStandIn.ts) starts, stops and restarts this one cluster
// with pg_ctl as postgres (refusing any other unit); it cannot show Debian's postgresql@15-main unit or pg_ctlcluster,
// nor the timers firing. The S3 stand-in (test/support/s3Stub.ts) verifies each request's SigV4 signature with the
// Spaces key pair (not the region), keeps objects in memory, and answers none of Spaces' rate limits or eventual listing.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig, platformConfig } from "../../../config/load";
import { renderPgBackRestSecretsConf } from "../../../renderers/pgbackrest";
import { pencom } from "../../../stacks/pencom";
import { PENCOM_PITR_PATHS, pencomArchiveConfPath, pencomPitr, pencomServerRestoreCommand } from "../../../stacks/pencom/pitr";
import { chownToServerUser, runAsServerUser, startDrillWriter, startPitrCluster, type DrillWriter, type PitrCluster } from "../../support/pgbackrest";
import { PG_BIN } from "../../support/postgres";
import { PG_UNIT, mappedPencomSetup, postmasterIdentity, runSetup, writeSystemctlStandIn } from "./pgServerStandIn";
import { startS3StubProcess, type S3StubProcess } from "../../support/s3StubProcess";
import { keepOnlyPlatforms, rawStack } from "../../support/stacks";
import { REPO, parseResult } from "../../support/testHost";

const ARCHIVE_TIMEOUT_S = 10;
const WRITE_FOR_MS = 15_000;
const ACCESS_KEY = "DO00PENCOMTESTKEY";
const SPACES_SECRET = "pencom-spaces-secret";
const CIPHER_PASS = "pencom-test-cipher-pass";
const UNIT = PG_UNIT;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function drillConfig() {
  const raw = rawStack("staging", {
    patch: (c) => {
      keepOnlyPlatforms(c, ["pencom"]);
      c["lazarus:pencom"].postgres.pitr.archiveTimeoutSeconds = ARCHIVE_TIMEOUT_S;
    },
  });
  return platformConfig(loadStackConfig(raw, { allowMissingSecrets: true }), pencom)!;
}

/** repo2 at the stand-in: its host, port and CA; path-style. Everything else in the file is as rendered. */
function toStandIn(conf: string, s3: S3StubProcess): string {
  const out = conf
    .replace(/^repo2-s3-endpoint=.*$/m, `repo2-s3-endpoint=${s3.host}`)
    .replace(/^repo2-s3-uri-style=host$/m, `repo2-s3-uri-style=path\nrepo2-storage-port=${s3.port}\nrepo2-storage-ca-file=${s3.caFile}`);
  if (!/repo2-storage-port=/.test(out)) throw new Error("the rendered pgbackrest.conf has no repo2-s3-uri-style=host");
  return out;
}

describe("Pencom's PostgreSQL server lost: the whole cluster back from the off-site repository", () => {
  const cfg = drillConfig();
  const pitr = pencomPitr(cfg)!;
  let s3: S3StubProcess;
  let c: PitrCluster;
  let writer: DrillWriter | undefined;
  let work: string;
  let secretsPath: string;

  /** The switch's command with the drill's paths, run as root like the command resource. */
  const runSwitch = () => {
    const command = pencomServerRestoreCommand(cfg, { pointInTime: "latest" })
      .replaceAll(PENCOM_PITR_PATHS.secrets, secretsPath)
      .replaceAll(PENCOM_PITR_PATHS.includeDir, join(c.root, "conf.d"))
      .replaceAll(PENCOM_PITR_PATHS.pgbackrestConf, c.confFile)
      .replaceAll("/opt/lazarus/scripts", join(REPO, "scripts"))
      .replaceAll("/var/lib/postgresql/15/main", c.pg.dataDir)
      .replaceAll("--port 5432", `--port ${c.pg.port}`)
      .replaceAll("/var/run/postgresql", c.pg.baseDir);
    const r = spawnSync("bash", ["-c", command], { encoding: "utf8", env: { ...process.env, PATH: `${work}:${PG_BIN}:${process.env.PATH}` } });
    if (!r.stdout.trim()) throw new Error(`the switch printed no result (exit ${r.status}): ${r.stderr}`);
    return { code: r.status, stderr: r.stderr, result: parseResult(r.stdout) as Record<string, any> };
  };
  const writeSecrets = (o: { cipherPass?: string; s3Key?: string; s3KeySecret?: string }) => {
    writeFileSync(secretsPath, renderPgBackRestSecretsConf({ cipherPass: o.cipherPass ?? CIPHER_PASS, s3Key: o.s3Key ?? ACCESS_KEY, s3KeySecret: o.s3KeySecret ?? SPACES_SECRET }, 2), { mode: 0o600 });
  };
  const info = (repo: number) => {
    const r = runAsServerUser("pgbackrest", [`--config=${c.confFile}`, `--config-include-path=${join(c.root, "conf.d")}`, "--stanza=pencom", `--repo=${repo}`, "info", "--output=json"]);
    return JSON.parse(r.stdout)[0];
  };

  beforeAll(async () => {
    s3 = await startS3StubProcess({ accessKey: ACCESS_KEY, secretKey: SPACES_SECRET });
    c = await startPitrCluster({
      stanza: "pencom",
      rendered: { pgbackrestConf: toStandIn(pitr.files[PENCOM_PITR_PATHS.pgbackrestConf]!, s3), archiveConf: pitr.files[pencomArchiveConfPath(cfg)]! },
      secretsConf: renderPgBackRestSecretsConf({ cipherPass: CIPHER_PASS, s3Key: ACCESS_KEY, s3KeySecret: SPACES_SECRET }, 2),
    });
    secretsPath = join(c.root, "conf.d", "secrets.conf");
    work = mkdtempSync(join(tmpdir(), "lazarus-pencom-server-loss-"));
    chmodSync(work, 0o755);
    c.pg.sql("create database pencom_core_db2");
    c.pg.sql("create table drill (id bigint primary key, ts timestamptz not null default clock_timestamp())");
    c.pg.sql("create table payment (id int primary key, amount int not null); insert into payment select g, g * 100 from generate_series(1, 1000) g", "pencom_core_db2");
  }, 120_000);
  afterAll(() => {
    writer?.stop();
    c?.destroy();
    s3?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("renders repo2 as the Spaces bucket, encrypted, its own retention; no key in the file, the secrets as repo2-* options", () => {
    const conf = pitr.files[PENCOM_PITR_PATHS.pgbackrestConf]!;
    for (const line of ["repo1-type=posix", "repo2-type=s3", "repo2-s3-bucket=pencom-staging-pgbackrest", "repo2-s3-endpoint=fra1.digitaloceanspaces.com", "repo2-path=/pgbackrest", "repo2-retention-full=4", "repo2-cipher-type=aes-256-cbc"]) {
      expect(conf.split("\n")).toContain(line);
    }
    expect(conf).not.toMatch(/repo1-cipher|s3-key|cipher-pass/);
    expect(conf).toContain(`comes from ${PENCOM_PITR_PATHS.secrets}`.replace("comes", "come"));
    expect(pitr.files[pencomArchiveConfPath(cfg)]).toContain(`--config-include-path=${PENCOM_PITR_PATHS.includeDir}`);
    expect(readFileSync(secretsPath, "utf8").split("\n").filter(Boolean)).toEqual(["[global]", `repo2-cipher-pass=${CIPHER_PASS}`, `repo2-s3-key=${ACCESS_KEY}`, `repo2-s3-key-secret=${SPACES_SECRET}`]);
  });

  it("archives to both repositories, loses the server and its repository, and the switch's command brings every committed row back from repo2", async () => {
    for (const repo of ["1", "2"]) {
      const b = c.script("pitr-backup.sh", ["--stanza", "pencom", "--type", "full", ...(repo === "2" ? ["--repo", "2"] : [])]);
      expect(b.code, b.stderr).toBe(0);
      expect(b.result).toMatchObject({ status: "ok", repo, type: "full" });
    }
    writer = startDrillWriter(c.pg, "drill");
    await sleep(WRITE_FOR_MS);
    c.pg.stop("immediate"); // the server dies ...
    await sleep(300);
    const last = writer.last();
    const committed = writer.committed();
    writer.stop();
    expect(last, "the writer committed rows").toBeDefined();
    // WAL reached both repositories (async push: each segment to repo1 and repo2)
    const [walIn1, walIn2] = [info(1), info(2)].map((i) => String(i.archive.find((a: { max?: string }) => a.max)?.max ?? ""));
    expect(walIn1).not.toBe("");
    expect(walIn2).toBe(walIn1);
    const postgresqlConf = readFileSync(join(c.pg.dataDir, "postgresql.conf"), "utf8");
    // ... with its disk: the data directory, the local repository and the spool are gone
    for (const gone of [c.pg.dataDir, c.repoPath, join(c.root, "spool")]) rmSync(gone, { recursive: true, force: true });
    for (const d of [c.repoPath, join(c.root, "spool")]) {
      c.mkdir(d.slice(c.root.length + 1));
    }

    // The replacement server: its package's empty cluster (initdb), the same settings (the files step ships them again).
    runAsServerUser(join(PG_BIN, "initdb"), ["-D", c.pg.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
    writeFileSync(join(c.pg.dataDir, "postgresql.conf"), postgresqlConf);
    chownToServerUser(join(c.pg.dataDir, "postgresql.conf"));
    const log = join(work, "server.log");
    writeFileSync(log, "");
    chownToServerUser(log);
    const units = join(work, "units");
    mkdirSync(units);
    for (const [path, text] of Object.entries(pitr.files)) if (path.startsWith("/etc/systemd/system/")) writeFileSync(join(units, path.slice("/etc/systemd/system/".length)), text);
    const systemctl = writeSystemctlStandIn({ dir: work, dataDir: c.pg.dataDir, log, unitsDir: units });
    expect(spawnSync(join(work, "systemctl"), ["start", UNIT]).status).toBe(0);
    expect(c.pg.sql("select count(*) from pg_database where datname = 'pencom_core_db2'")).toBe("0");

    // A wrong passphrase, a wrong key id and a wrong secret key are refused by name before anything changes.
    writeSecrets({ cipherPass: "not-the-passphrase" });
    const wrongPass = runSwitch();
    expect(wrongPass.code, wrongPass.stderr).toBe(69);
    expect(wrongPass.result.error).toMatch(/^repo2 cannot be decrypted: the passphrase \(repo2-cipher-pass\) does not match the repository's \(or its info files are damaged\); nothing was changed/);
    writeSecrets({ s3Key: "DO00NOTTHEKEY" });
    const wrongKey = runSwitch();
    expect(wrongKey.code, wrongKey.stderr).toBe(69);
    expect(wrongKey.result.error).toMatch(/^repo2 cannot be read \(its bucket, keys or endpoint\): nothing was changed .*(InvalidAccessKeyId|403)/);
    writeSecrets({ s3KeySecret: "not-the-spaces-secret" });
    const wrongSecret = runSwitch();
    expect(wrongSecret.code, wrongSecret.stderr).toBe(69);
    expect(wrongSecret.result.error).toMatch(/^repo2 cannot be read \(its bucket, keys or endpoint\): nothing was changed .*(SignatureDoesNotMatch|403)/);
    expect(c.pg.sql("select count(*) from pg_database where datname = 'pencom_core_db2'")).toBe("0");

    writeSecrets({});
    const t0 = Date.now();
    const restored = runSwitch();
    const restoreSeconds = (Date.now() - t0) / 1000;
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.result).toMatchObject({ status: "ok", repo: "2", target: "latest", databases: ["pencom_core_db2"] });
    expect(existsSync(String(restored.result.replaced_dir))).toBe(true);
    expect(c.pg.sql("select pg_is_in_recovery()")).toBe("f");
    expect(c.pg.sql("select count(*), sum(amount) from payment", "pencom_core_db2")).toBe("1000|50050000");
    const [rows, maxId] = c.pg.sql("select count(*), max(id) from drill").split("|").map(Number) as [number, number];
    const rpoSeconds = Number(c.pg.sql(`select extract(epoch from ('${last!.ts}'::timestamptz - max(ts))) from drill`));
    console.log(
      `Pencom server loss (rendered config, archive_timeout ${ARCHIVE_TIMEOUT_S}s, repo2 over HTTPS): writer committed ${committed} rows (last id ${last!.id}); ` +
        `restored from repo2 ${rows} rows (last id ${maxId}); RPO = ${rpoSeconds.toFixed(1)} s (${last!.id - maxId} rows lost); the switch's restore took ${restoreSeconds.toFixed(1)} s`,
    );
    expect(rows).toBe(maxId); // a gapless prefix of what was committed
    expect(maxId).toBeLessThanOrEqual(last!.id);
    expect(rpoSeconds).toBeLessThan(ARCHIVE_TIMEOUT_S * 3);

    // Then the plan's setup for real: the new, empty repository on the server gets the stanza, both get a full backup
    // (the restored cluster is on a new timeline), and the cluster, already archiving, is not restarted.
    const setup = mappedPencomSetup(cfg, c, { backupDir: join(work, "backups"), scratchRoot: join(work, "scratch") });
    const restored1 = postmasterIdentity(c);
    const callsBefore = systemctl.calls().length;
    const first = runSetup(setup, { systemctl, c, includeSecrets: true });
    expect(first.code, first.stderr).toBe(0);
    expect(first.results.find((r) => r.script === "pitr-archive-apply.sh")).toMatchObject({ status: "ok", action: "none" });
    expect(first.results.filter((r) => r.script === "pitr-backup.sh").map((r) => [r.repo, r.type, r.skipped ?? false])).toEqual([["1", "full", false], ["2", "full", false]]);
    expect(info(1).backup.length).toBe(1);
    expect(info(2).backup.length).toBe(2);
    // Run again (the switch marked done or removed changes the machine id): no restart, no backup.
    const second = runSetup(setup, { systemctl, c, includeSecrets: true });
    expect(second.code, second.stderr).toBe(0);
    expect(second.results.filter((r) => r.script === "pitr-backup.sh").map((r) => [r.repo, r.skipped])).toEqual([["1", true], ["2", true]]);
    expect(info(1).backup.length).toBe(1);
    expect(info(2).backup.length).toBe(2);
    expect(postmasterIdentity(c)).toBe(restored1);
    expect(systemctl.calls().slice(callsBefore).filter((l) => /^(restart|stop|start) /.test(l))).toEqual([]);

    // Run again (a later up, or the wrong server), it refuses a cluster that holds databases.
    const again = runSwitch();
    expect(again.code).toBe(73);
    expect(again.result.error).toContain("holds databases (pencom_core_db2)");
  }, 240_000);
});
