// pitr-route.sh decides a full recovery's route from the pgBackRest repository. A repository that has no backup of the
// stanza means the logical route (the newest dump); a repository that cannot be READ (a wrong secret, here) must not
// mean the same: that silent fallback would restore a day-old dump while the repository holds backups and WAL up to
// seconds before the loss. Real pgBackRest 2.45 against the S3 stand-in over verified HTTPS (it checks SigV4 as Spaces
// does; what it does not check is in test/support/s3Stub.ts's header).
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chownToServerUser, runAsServerUser, s3StubRepoConf } from "../../support/pgbackrest";
import { startS3StubProcess, type S3StubProcess } from "../../support/s3StubProcess";

const SCRIPT = resolve(__dirname, "../../../scripts/backup/pitr-route.sh");
const ACCESS_KEY = "DO00ROUTETESTKEY";
const SECRET_KEY = "route-test-secret";

describe("pitr-route.sh: no backup means the logical route, an unreadable repository means an error", () => {
  let s3: S3StubProcess;
  let dir: string;
  const conf = (secret: string) => s3StubRepoConf(dir, s3, { bucket: "offsite", accessKey: ACCESS_KEY, secretKey: secret, name: secret === SECRET_KEY ? "right" : "wrong" });
  const route = (config: string, out: string, extra: string[] = []) => {
    const r = runAsServerUser("bash", [SCRIPT, "--stanza", "goodgo", "--out", out, "--config", config, ...extra]);
    const last = r.stdout.trim().split("\n").pop() ?? "";
    return { ...r, result: last.startsWith("{") ? (JSON.parse(last) as Record<string, unknown>) : undefined };
  };

  beforeAll(async () => {
    s3 = await startS3StubProcess({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
    dir = mkdtempSync(join(tmpdir(), "lazarus-pitr-route-"));
    chmodSync(dir, 0o755);
    chownToServerUser(dir);
  }, 30_000);
  afterAll(() => {
    s3?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("takes the logical route, and says why, when the readable repository has no backup of the stanza", () => {
    const out = join(dir, "route-empty");
    const r = route(conf(SECRET_KEY), out);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("logical\n");
    expect(r.result).toMatchObject({ status: "ok", route: "logical", backups: 0 });
    expect(String(r.result!.reason)).toContain("the repository has no backup of stanza goodgo");
  });

  it("refuses (69) a repository it cannot read, writes no route, and names what to check and the deliberate way past it", () => {
    const out = join(dir, "route-wrong-secret");
    const r = route(conf("not-the-secret"), out);
    expect(r.code, r.stdout + r.stderr).toBe(69);
    expect(existsSync(out)).toBe(false);
    expect(r.result).toMatchObject({ status: "error" });
    const error = String(r.result!.error);
    expect(error).toContain("the pgBackRest repository of stanza goodgo could not be read (status 99");
    expect(error).toContain("SignatureDoesNotMatch");
    expect(error).toContain("--route logical");
  });

  it("refuses (69) when pgbackrest info itself fails on its configuration, rather than taking the day-old dump", () => {
    const out = join(dir, "route-bad-config");
    const r = route(join(dir, "no-such-pgbackrest.conf"), out);
    expect(r.code, r.stdout + r.stderr).toBe(69);
    expect(existsSync(out)).toBe(false);
    expect(String(r.result!.error)).toMatch(/could not be read \(pgbackrest info failed \(exit \d+\): .*no-such-pgbackrest\.conf/);
  });

  it("takes the logical route past an unreadable repository only when asked (--route logical)", () => {
    const out = join(dir, "route-asked");
    const r = route(conf("not-the-secret"), out, ["--route", "logical"]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toBe("logical\n");
    expect(String(r.result!.reason)).toBe("logical route asked for (--route logical)");
  });
});
