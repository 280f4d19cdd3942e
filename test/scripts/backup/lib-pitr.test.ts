// scripts/backup/lib-pitr.sh, the one reader of `pgbackrest info --output=json` behind the five pitr-*.sh scripts, on
// what a REAL pgBackRest 2.45 answers (no hand-written JSON): a posix repository of a real PostgreSQL 15 cluster with
// no stanza, a stanza with no backup, a stanza never fully created (status 3: stanza-create writes archive.info, then
// backup.info; here backup.info is taken away: stanza-create then refuses to finish it), a backup; archive.info missing
// beside backup.info (status 99, not 3); an encrypted repository read with the wrong passphrase; `info` itself failing;
// and the S3 stand-in over verified HTTPS refusing a wrong secret and a wrong key id (status 99 while `info` exits 0),
// alone and as the second repository beside a readable one (status 4: pitr-backup.sh's multi-repository rule).
// Asserted: the code, the reading of lib-pitr.sh's table (backup / none / unreadable) and the one-line detail every
// script puts in its refusal.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCRIPTS_DIR, chownToServerUser, runAsServerUser, s3StubRepoConf, startPitrCluster, type PitrCluster } from "../../support/pgbackrest";
import { startS3StubProcess, type S3StubProcess } from "../../support/s3StubProcess";

const ACCESS_KEY = "DO00LIBPITRTESTKEY";
const SECRET_KEY = "lib-pitr-test-secret";
const STANZA = "libpitr";

interface Read {
  rc: string;
  code: string;
  state: string;
  message: string;
  backups: number;
  detail: string;
  repos: string;
}

/** pitr_info on `pgbackrest --config=CONFIG --stanza=STANZA`, as the server's OS user, and what the library made of it. */
function read(config: string, env: NodeJS.ProcessEnv = {}): Read {
  const script = [
    "set -euo pipefail",
    `source ${join(SCRIPTS_DIR, "../lib/common.sh")}`,
    `source ${join(SCRIPTS_DIR, "lib-pitr.sh")}`,
    'pitr_info pgbackrest --config="$1" --stanza="$2" --log-level-console=off --log-level-stderr=off --log-level-file=off',
    'jq -cn --arg rc "$PITR_INFO_RC" --arg code "$PITR_CODE" --arg state "$PITR_STATE" --arg message "$PITR_MESSAGE" --argjson backups "$PITR_BACKUPS" --arg detail "$(pitr_unreadable_detail)" --arg repos "$(pitr_repo_states)" \'$ARGS.named\'',
  ].join("\n");
  const r = runAsServerUser("bash", ["-c", script, "lib-pitr-test", config, STANZA], env);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Read;
}

describe("lib-pitr.sh reads what real pgBackRest answers, one way for every pitr script", () => {
  let c: PitrCluster;
  let s3: S3StubProcess;
  let dir: string;
  const s3Conf = (o: { secret?: string; key?: string; name: string }) =>
    s3StubRepoConf(dir, s3, { bucket: "libpitr", accessKey: o.key ?? ACCESS_KEY, secretKey: o.secret ?? SECRET_KEY, name: o.name });
  const pgbackrest = (...args: string[]) => runAsServerUser("pgbackrest", [`--config=${c.confFile}`, `--stanza=${STANZA}`, "--log-level-console=warn", ...args]);
  const backupDir = () => join(c.repoPath, "backup", STANZA);
  const archiveDir = () => join(c.repoPath, "archive", STANZA);
  /** Moves FILE and FILE.copy aside while `fn` runs (what an interrupted stanza-create, or a lost file, leaves). */
  const without = <T>(dirOf: () => string, file: string, fn: () => T): T => {
    const names = [file, `${file}.copy`];
    for (const n of names) renameSync(join(dirOf(), n), join(dirOf(), `${n}.aside`));
    try {
      return fn();
    } finally {
      for (const n of names) renameSync(join(dirOf(), `${n}.aside`), join(dirOf(), n));
    }
  };

  beforeAll(async () => {
    s3 = await startS3StubProcess({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
    dir = mkdtempSync(join(tmpdir(), "lazarus-lib-pitr-"));
    chmodSync(dir, 0o755);
    chownToServerUser(dir);
    c = await startPitrCluster({ stanza: STANZA, archiveTimeoutSeconds: 10 });
  }, 180_000);
  afterAll(() => {
    c?.destroy();
    s3?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is shellcheck-clean", () => {
    const sc = spawnSync("shellcheck", ["-x", "-s", "bash", join(SCRIPTS_DIR, "lib-pitr.sh")], { encoding: "utf8" });
    expect(sc.stdout + sc.stderr).toBe("");
    expect(sc.status).toBe(0);
  });

  it("no stanza: 1, readable with no backup (posix and S3 alike)", () => {
    for (const config of [c.confFile, s3Conf({ name: "right" })]) {
      const r = read(config);
      expect(r).toMatchObject({ rc: "0", code: "1", state: "none", message: "missing stanza path", backups: 0, repos: "1 1 none" });
      expect(r.detail).toBe("status 1: missing stanza path; repo1: missing stanza path");
    }
  });

  it("a stanza with no backup: 2, readable with no backup", () => {
    const create = pgbackrest("stanza-create");
    expect(create.code, create.stderr + create.stdout).toBe(0);
    expect(read(c.confFile)).toMatchObject({ rc: "0", code: "2", state: "none", message: "no valid backups", backups: 0, repos: "1 2 none" });
  });

  it("a stanza never fully created (backup.info missing): 3, readable with no backup; archive.info missing beside backup.info: 99, unreadable", () => {
    const [three, create, backup, restore] = without(backupDir, "backup.info", () =>
      [read(c.confFile), pgbackrest("stanza-create"), c.script("pitr-backup.sh", ["--stanza", STANZA]),
        c.script("pitr-restore.sh", ["--stanza", STANZA, "--target-dir", join(c.mkdir("restore-3"), "data"), "--port", "1"])] as const);
    // nothing to restore from it: the same "no backup" (66) as status 2, not an unreadable repository
    expect(restore.code, restore.stderr).toBe(66);
    expect(restore.result.error).toMatch(/has no backup in the repository: it was never fully created \(status 3: missing stanza data\)/);
    // stanza-create does not finish it, so pitr-backup.sh refuses it (69) rather than trying
    expect(create.code).toBe(55);
    expect(create.stdout + create.stderr).toContain("archive.info exists but backup.info is missing on repo1");
    expect(backup.code, backup.stderr).toBe(69);
    expect(backup.result.error).toBe(`repository for stanza '${STANZA}' is not usable: status 3: missing stanza data; repo1: missing stanza data`);
    expect(three).toMatchObject({ rc: "0", code: "3", state: "none", message: "missing stanza data", backups: 0, repos: "1 3 none" });
    expect(three.detail).toBe("status 3: missing stanza data; repo1: missing stanza data");
    const noArchiveInfo = without(archiveDir, "archive.info", () => read(c.confFile));
    expect(noArchiveInfo).toMatchObject({ rc: "0", code: "99", state: "unreadable", message: "other", repos: "1 99 unreadable" });
    expect(noArchiveInfo.detail).toMatch(/^status 99: other; repo1: \[FileMissingError\] unable to load info file '[^']*\/archive\.info': FileMissingError: unable to open missing file/);
    expect(noArchiveInfo.detail.length).toBeLessThanOrEqual(400);
  });

  it("a backup: 0, readable with a backup", () => {
    const full = c.script("pitr-backup.sh", ["--stanza", STANZA, "--type", "full"]);
    expect(full.code, full.stderr).toBe(0);
    const r = read(c.confFile);
    expect(r).toMatchObject({ rc: "0", code: "0", state: "backup", message: "ok", backups: 1, repos: "1 0 backup" });
    expect(r.detail).toBe("status 0: ok");
  }, 120_000);

  it("a request refused for a wrong secret or key id: 99 while info exits 0, unreadable, the S3 error code in the detail", () => {
    const secret = read(s3Conf({ secret: "not-the-secret", name: "wrong-secret" }));
    expect(secret).toMatchObject({ rc: "0", code: "99", state: "unreadable", message: "other", backups: 0, repos: "1 99 unreadable" });
    expect(secret.detail).toMatch(/^status 99: other; repo1: \[\w+Error\] HTTP request failed with 403 \(Forbidden\) SignatureDoesNotMatch$/);
    const key = read(s3Conf({ key: "DO00NOTTHEKEY", name: "wrong-key" }));
    expect(key).toMatchObject({ rc: "0", code: "99", state: "unreadable" });
    expect(key.detail).toMatch(/^status 99: other; repo1: \[\w+Error\] HTTP request failed with 403 \(Forbidden\) InvalidAccessKeyId$/);
  });

  it("two repositories, the second refusing: 4 as a whole, each read by the table; pitr-backup.sh refuses before any backup", () => {
    const wrong = s3Conf({ secret: "not-the-secret", name: "repo2-wrong" });
    const repo2 = readFileSync(wrong, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("repo1-"))
      .map((l) => l.replace(/^repo1-/, "repo2-"));
    const both = join(dir, "pgbackrest-two-repos.conf");
    writeFileSync(both, c.confText.replace(/^\[global\]$/m, ["[global]", ...repo2].join("\n")), { mode: 0o600 });
    chownToServerUser(both);
    const r = read(both);
    expect(r).toMatchObject({ rc: "0", code: "4", state: "unreadable", message: "different across repos", repos: "1 0 backup\n2 99 unreadable" });
    expect(r.detail).toMatch(/^status 4: different across repos; repo2: \[\w+Error\] HTTP request failed with 403 \(Forbidden\) SignatureDoesNotMatch$/);
    const b = c.script("pitr-backup.sh", ["--stanza", STANZA, "--type", "full", "--config", both]);
    expect(b.code, b.stderr).toBe(69);
    expect(String(b.result.error)).toBe(`repository for stanza '${STANZA}' is not usable: ${r.detail}`);
  });

  it("an encrypted repository read with the wrong passphrase: unreadable, pgBackRest's own words in the detail", () => {
    const repo = join(dir, "encrypted-repo");
    runAsServerUser("mkdir", ["-p", repo]);
    const conf = join(dir, "pgbackrest-encrypted.conf");
    writeFileSync(conf, c.confText.replace(/^repo1-path=.*$/m, `repo1-path=${repo}\nrepo1-cipher-type=aes-256-cbc`), { mode: 0o600 });
    chownToServerUser(conf);
    const create = runAsServerUser("pgbackrest", [`--config=${conf}`, `--stanza=${STANZA}`, "stanza-create"], { PGBACKREST_REPO1_CIPHER_PASS: "the-passphrase" });
    expect(create.code, create.stderr + create.stdout).toBe(0);
    expect(read(conf, { PGBACKREST_REPO1_CIPHER_PASS: "the-passphrase" })).toMatchObject({ code: "2", state: "none" });
    // The wrong key decrypts to garbage (CryptoError) or to text that is no ini file (FormatError), whose bytes may be
    // no valid JSON: either way unreadable, with pgBackRest's error type and the file it could not load.
    const wrong = read(conf, { PGBACKREST_REPO1_CIPHER_PASS: "not-the-passphrase" });
    expect(wrong).toMatchObject({ rc: "0", state: "unreadable" });
    expect(wrong.detail).toMatch(/^(status 99: other; repo1: |pgbackrest info printed no JSON: repo1 \(status 99\): )\[(CryptoError|FormatError)\] unable to load info file '[^']*\/backup\.info'/);
    expect(wrong.detail.length).toBeLessThanOrEqual(400);
  });

  it("info itself failing (a config file that is not there): unreadable, code ?, the exit code in the detail", () => {
    const r = read(join(dir, "no-such.conf"));
    expect(r).toMatchObject({ code: "?", state: "unreadable", backups: 0, repos: "" });
    expect(r.rc).not.toBe("0");
    // a config error is printed even with the console log off
    expect(r.detail).toBe(`pgbackrest info failed (exit ${r.rc}): ERROR: [055]: unable to open missing file '${join(dir, "no-such.conf")}' for read`);
  });
});

