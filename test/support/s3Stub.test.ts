// The S3 stand-in (test/support/s3Stub.ts) refuses what DigitalOcean Spaces refuses about authentication: every
// request must carry a valid AWS Signature Version 4 made with the stand-in's one secret key. Its clients are the real
// ones: s3cmd 2.3 (plain HTTP, in process) and pgBackRest 2.45 (HTTPS, the stand-in in its own process, its
// certificate trusted). Requests the real clients never send (a skewed clock, a body that is not the signed one,
// UNSIGNED-PAYLOAD) are signed by s3cmd's own signing code (its S3.Crypto module, a fixed clock patched in), and the
// verification is also checked against the example signature AWS publishes for S3 (GET /test.txt, 2013-05-24), so
// the stand-in is not only agreeing with itself. What the stand-in cannot check is listed in its header (region,
// virtual-host addressing, chunked uploads, presigned URLs, ACLs).
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chownToServerUser, runAsServerUser, s3StubRepoConf } from "./pgbackrest";
import { startS3Stub, type S3Stub } from "./s3Stub";
import { startS3StubProcess, type S3StubProcess } from "./s3StubProcess";

const ACCESS_KEY = "DO00STUBTESTKEY";
const SECRET_KEY = "stub-test-secret/with+odd=chars";

/** A command run without blocking this process (the in-process stand-in must keep answering). */
function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      res({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

/** A raw HTTP request to the stand-in: status and body. */
function send(endpoint: string, o: { method: string; path: string; headers: Record<string, string>; body?: Buffer }): Promise<{ status: number; body: string }> {
  const [host, port] = endpoint.split(":");
  return new Promise((res, rej) => {
    const r = request({ host, port: Number(port), method: o.method, path: o.path, headers: o.headers }, (resp) => {
      let body = "";
      resp.on("data", (d: Buffer) => (body += d.toString()));
      resp.on("end", () => res({ status: resp.statusCode ?? 0, body }));
    });
    r.on("error", rej);
    r.end(o.body);
  });
}

const code = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

/**
 * Headers for a request signed by s3cmd's own SigV4 code (Debian's s3cmd, S3/Crypto.py) with its clock moved by
 * `shiftMinutes`; `unsigned` makes it declare UNSIGNED-PAYLOAD (s3cmd itself always hashes the body).
 */
function s3cmdSigned(o: { method: string; host: string; path: string; body: Buffer; secret?: string; shiftMinutes?: number; unsigned?: boolean; extra?: Record<string, string> }): Record<string, string> {
  const py = `
import sys, json, hashlib, datetime as real
from S3 import Crypto, Config
from S3.SortedDict import SortedDict
a = json.load(sys.stdin)
cfg = Config.Config()
cfg.access_key, cfg.secret_key = a["key"], a["secret"]
class Shifted(real.datetime):
    @classmethod
    def utcnow(cls): return real.datetime.utcnow() + real.timedelta(minutes=a["shift"])
Crypto.datetime = type("clock", (), {"datetime": Shifted})
body = bytes.fromhex(a["body"])
if a["unsigned"]:
    class Unsigned:
        def hexdigest(self): return "UNSIGNED-PAYLOAD"
    # only sign_request_v4's type probe passes b"" itself; hmac calls sha256() with no argument
    Crypto.sha256 = lambda *args: Unsigned() if args == (b"",) else hashlib.sha256(*args)
    body = Unsigned()
h = Crypto.sign_request_v4(a["method"], a["host"], a["path"], {}, "fra1", SortedDict(a["extra"], ignore_case=True), body)
print(json.dumps(dict(h)))
`;
  const input = { key: ACCESS_KEY, secret: o.secret ?? SECRET_KEY, shift: o.shiftMinutes ?? 0, unsigned: o.unsigned ?? false, method: o.method, host: o.host, path: o.path, body: o.body.toString("hex"), extra: { "content-length": String(o.body.length), ...o.extra } };
  const r = spawnSync("/usr/bin/python3", ["-c", py], { input: JSON.stringify(input), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`s3cmd's signer failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}

describe("the S3 stand-in verifies AWS Signature Version 4 (s3cmd, in process, plain HTTP)", () => {
  let s3: S3Stub;
  let dir: string;
  const s3cmd = (cfg: string, ...args: string[]) => run("s3cmd", ["-c", join(dir, cfg), "--no-progress", `--host=${s3.endpoint}`, `--host-bucket=${s3.endpoint}`, "--no-ssl", "--region=fra1", ...args]);

  beforeAll(async () => {
    s3 = await startS3Stub({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
    dir = mkdtempSync(join(tmpdir(), "lazarus-s3stub-test-"));
    const cfg = (key: string, secret: string) => `[default]\naccess_key = ${key}\nsecret_key = ${secret}\n`;
    writeFileSync(join(dir, "right.cfg"), cfg(ACCESS_KEY, SECRET_KEY), { mode: 0o600 });
    writeFileSync(join(dir, "wrong-secret.cfg"), cfg(ACCESS_KEY, "not-the-secret"), { mode: 0o600 });
    writeFileSync(join(dir, "wrong-key.cfg"), cfg("DO00SOMEONEELSE", SECRET_KEY), { mode: 0o600 });
    writeFileSync(join(dir, "small"), "a small object\n");
    // over s3cmd's 15 MB multipart threshold: initiate, two parts, complete, each signed with its own payload hash
    writeFileSync(join(dir, "big"), Buffer.alloc(16 * 1024 * 1024, 7));
  });
  afterAll(async () => {
    await s3?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("accepts s3cmd signing with the right secret: put (single and multipart), ls, get, del; keys with spaces and symbols", async () => {
    for (const [file, key] of [["small", "dir/a file+x=(1)~.txt"], ["big", "dir/big"]] as const) {
      const put = await s3cmd("right.cfg", "put", join(dir, file), `s3://bkt/${key}`);
      expect(put.code, put.out).toBe(0);
    }
    expect(s3.objects.get("/bkt/dir/big")?.length).toBe(16 * 1024 * 1024);
    const ls = await s3cmd("right.cfg", "ls", "s3://bkt/dir/");
    expect(ls.code, ls.out).toBe(0);
    expect(ls.out).toContain("s3://bkt/dir/a file+x=(1)~.txt");
    const get = await s3cmd("right.cfg", "get", "--force", "s3://bkt/dir/a file+x=(1)~.txt", join(dir, "back"));
    expect(get.code, get.out).toBe(0);
    const del = await s3cmd("right.cfg", "del", "s3://bkt/dir/big");
    expect(del.code, del.out).toBe(0);
    expect(s3.requests.filter((q) => q.refused)).toEqual([]);
  });

  it("refuses s3cmd signing with a wrong secret: 403 SignatureDoesNotMatch, nothing stored", async () => {
    const before = s3.requests.length;
    const put = await s3cmd("wrong-secret.cfg", "put", join(dir, "small"), "s3://bkt/wrong/small");
    expect(put.code).not.toBe(0);
    expect(put.out).toContain("403 (SignatureDoesNotMatch)");
    expect(s3.objects.has("/bkt/wrong/small")).toBe(false);
    const ls = await s3cmd("wrong-secret.cfg", "ls", "s3://bkt/dir/");
    expect(ls.out).toContain("403 (SignatureDoesNotMatch)");
    const seen = s3.requests.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((q) => q.refused === "SignatureDoesNotMatch")).toBe(true);
  });

  it("refuses another access key id: 403 InvalidAccessKeyId", async () => {
    const put = await s3cmd("wrong-key.cfg", "put", join(dir, "small"), "s3://bkt/wrong/small");
    expect(put.code).not.toBe(0);
    expect(put.out).toContain("403 (InvalidAccessKeyId)");
  });

  it("refuses Signature Version 2 (s3cmd --signature-v2) with 400 InvalidRequest naming why; a stand-in told to accept V2 verifies it", async () => {
    const v2 = await s3cmd("right.cfg", "--signature-v2", "put", join(dir, "small"), "s3://bkt/v2/small");
    expect(v2.code).not.toBe(0);
    expect(v2.out).toContain("400 (InvalidRequest): The S3 stand-in refuses Signature Version 2");
    const lenient = await startS3Stub({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY, acceptSigV2: true });
    try {
      const at = (cfg: string, ...args: string[]) => run("s3cmd", ["-c", join(dir, cfg), "--no-progress", `--host=${lenient.endpoint}`, `--host-bucket=${lenient.endpoint}`, "--no-ssl", "--signature-v2", ...args]);
      const ok = await at("right.cfg", "put", join(dir, "small"), "s3://bkt/v2/a file+x");
      expect(ok.code, ok.out).toBe(0);
      expect((await at("right.cfg", "ls", "s3://bkt/v2/")).out).toContain("s3://bkt/v2/a file+x");
      const wrong = await at("wrong-secret.cfg", "put", join(dir, "small"), "s3://bkt/v2/wrong");
      expect(wrong.out).toContain("403 (SignatureDoesNotMatch)");
      expect(lenient.objects.has("/bkt/v2/wrong")).toBe(false);
    } finally {
      await lenient.close();
    }
  });

  it("agrees with AWS's published example signature (GET /test.txt): the signature is accepted, then its 2013 date refused as RequestTimeTooSkewed; one changed character is SignatureDoesNotMatch", async () => {
    const aws = await startS3Stub({ accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" });
    try {
      const signature = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
      const headers = (sig: string) => ({
        host: "examplebucket.s3.amazonaws.com",
        range: "bytes=0-9",
        "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-amz-date": "20130524T000000Z",
        authorization: `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=${sig}`,
      });
      const valid = await send(aws.endpoint, { method: "GET", path: "/test.txt", headers: headers(signature) });
      expect(valid.status).toBe(403);
      expect(code(valid.body)).toBe("RequestTimeTooSkewed");
      expect(valid.body).toContain("<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>");
      const altered = await send(aws.endpoint, { method: "GET", path: "/test.txt", headers: headers(`${signature.slice(0, -1)}0`) });
      expect(altered.status).toBe(403);
      expect(code(altered.body)).toBe("SignatureDoesNotMatch");
      // S3 shows what it signed, so a client's author can compare
      expect(altered.body).toContain("<CanonicalRequest>GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n");
    } finally {
      await aws.close();
    }
  });

  it("refuses a body that is not the one signed: 400 XAmzContentSHA256Mismatch, nothing stored; the signed body is accepted", async () => {
    const body = Buffer.from("the signed body\n");
    const headers = s3cmdSigned({ method: "PUT", host: s3.endpoint, path: "/bkt/tamper/obj", body });
    const tampered = await send(s3.endpoint, { method: "PUT", path: "/bkt/tamper/obj", headers, body: Buffer.from("the forged body\n") });
    expect(tampered.status).toBe(400);
    expect(code(tampered.body)).toBe("XAmzContentSHA256Mismatch");
    expect(s3.objects.has("/bkt/tamper/obj")).toBe(false);
    const honest = await send(s3.endpoint, { method: "PUT", path: "/bkt/tamper/obj", headers, body });
    expect(honest.status, honest.body).toBe(200);
    expect(s3.objects.get("/bkt/tamper/obj")?.toString()).toBe("the signed body\n");
  });

  it("refuses an x-amz-date 16 minutes off either way (403 RequestTimeTooSkewed) and accepts one 14 minutes off", async () => {
    const body = Buffer.from("x");
    const at = async (shiftMinutes: number) => {
      const headers = s3cmdSigned({ method: "PUT", host: s3.endpoint, path: "/bkt/clock/obj", body, shiftMinutes });
      return send(s3.endpoint, { method: "PUT", path: "/bkt/clock/obj", headers, body });
    };
    for (const shift of [16, -16]) {
      const r = await at(shift);
      expect(r.status, `${shift} min`).toBe(403);
      expect(code(r.body)).toBe("RequestTimeTooSkewed");
    }
    for (const shift of [14, -14]) expect((await at(shift)).status, `${shift} min`).toBe(200);
  });

  it("accepts UNSIGNED-PAYLOAD as S3 does (the body then unchecked) and refuses what S3 refuses around it", async () => {
    const body = Buffer.from("not hashed by the client");
    const unsigned = s3cmdSigned({ method: "PUT", host: s3.endpoint, path: "/bkt/unsigned/obj", body, unsigned: true });
    expect(unsigned["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
    expect((await send(s3.endpoint, { method: "PUT", path: "/bkt/unsigned/obj", headers: unsigned, body })).status).toBe(200);
    // ... with a wrong secret it is still a wrong signature
    const wrong = s3cmdSigned({ method: "PUT", host: s3.endpoint, path: "/bkt/unsigned/obj2", body, unsigned: true, secret: "not-the-secret" });
    expect(code((await send(s3.endpoint, { method: "PUT", path: "/bkt/unsigned/obj2", headers: wrong, body })).body)).toBe("SignatureDoesNotMatch");
    // an x-amz-* header sent but left out of SignedHeaders
    const signed = s3cmdSigned({ method: "PUT", host: s3.endpoint, path: "/bkt/h/obj", body });
    const smuggled = await send(s3.endpoint, { method: "PUT", path: "/bkt/h/obj", headers: { ...signed, "x-amz-acl": "public-read" }, body });
    expect([smuggled.status, code(smuggled.body)]).toEqual([403, "AccessDenied"]);
    expect(smuggled.body).toContain("<HeadersNotSigned>x-amz-acl</HeadersNotSigned>");
    // the path changed after signing
    const changed = await send(s3.endpoint, { method: "PUT", path: "/bkt/h/other", headers: signed, body });
    expect(code(changed.body)).toBe("SignatureDoesNotMatch");
    // no x-amz-content-sha256 at all, no Authorization at all, a chunked upload the stand-in cannot verify
    const { "x-amz-content-sha256": _dropped, ...noHash } = signed;
    expect(code((await send(s3.endpoint, { method: "PUT", path: "/bkt/h/obj", headers: noHash, body })).body)).toBe("InvalidRequest");
    expect(code((await send(s3.endpoint, { method: "GET", path: "/bkt/h/obj", headers: {} })).body)).toBe("AccessDenied");
    const streaming = s3cmdSigned({ method: "PUT", host: s3.endpoint, path: "/bkt/h/obj", body });
    const r = await send(s3.endpoint, { method: "PUT", path: "/bkt/h/obj", headers: { ...streaming, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" }, body });
    expect([r.status, code(r.body)]).toEqual([501, "NotImplemented"]);
  });
});

describe("the S3 stand-in over HTTPS refuses pgBackRest's requests signed with a wrong secret", () => {
  let s3: S3StubProcess;
  let dir: string;
  const conf = (secret: string) =>
    `--config=${s3StubRepoConf(dir, s3, { bucket: "offsite", accessKey: ACCESS_KEY, secretKey: secret, name: secret === SECRET_KEY ? "right" : "wrong" })}`;

  beforeAll(async () => {
    s3 = await startS3StubProcess({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY });
    dir = mkdtempSync(join(tmpdir(), "lazarus-s3stub-pgbr-"));
    chmodSync(dir, 0o755);
    chownToServerUser(dir);
  }, 30_000);
  afterAll(() => {
    s3?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("with the right secret pgBackRest writes, lists and reads; with a wrong one each command is refused 403 SignatureDoesNotMatch", () => {
    const right = conf(SECRET_KEY);
    const put = spawnSync("bash", ["-c", `printf 'repo content\\n' | ${process.getuid?.() === 0 ? "runuser -u postgres -- " : ""}pgbackrest "$0" repo-put probe/file.txt`, right], { encoding: "utf8" });
    expect(put.status, put.stderr + put.stdout).toBe(0);
    const ls = runAsServerUser("pgbackrest", [right, "repo-ls", "--recurse"]);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.split("\n")).toContain("probe/file.txt");
    const get = runAsServerUser("pgbackrest", [right, "repo-get", "probe/file.txt"]);
    expect(get.stdout).toBe("repo content\n");

    const wrong = conf("not-the-secret");
    for (const args of [["repo-ls", "--recurse"], ["repo-get", "probe/file.txt"]]) {
      const r = runAsServerUser("pgbackrest", [wrong, ...args]);
      expect(r.code, args.join(" ")).not.toBe(0);
      // (repo-ls starts with a HEAD, whose answer has no body: the stand-in's refusal header names the code)
      expect(r.stdout + r.stderr, args.join(" ")).toMatch(/<Code>SignatureDoesNotMatch<\/Code>|x-s3stub-refused: SignatureDoesNotMatch/);
    }
    // `info` exits 0 even so (pgBackRest 2.45): the repository's status in its JSON carries the refusal
    const info = runAsServerUser("pgbackrest", [wrong, "info", "--output=json"]);
    expect(info.code, info.stderr).toBe(0);
    const repo = (JSON.parse(info.stdout) as { repo: { status: { code: number; message: string } }[] }[])[0]!.repo[0]!;
    expect(repo.status.code).toBe(99);
    expect(repo.status.message).toContain("<Code>SignatureDoesNotMatch</Code>");
  });
});
