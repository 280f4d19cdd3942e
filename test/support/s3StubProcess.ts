// The S3 stand-in (s3Stub.ts) in its own process, for clients the test runs synchronously (pgBackRest through
// spawnSync blocks the test's event loop, which would then never answer the stand-in's requests), over HTTPS with a
// certificate made here for "localhost" that the client must trust (pgBackRest verifies it: repo-storage-ca-file).
// Run as a program (LAZARUS_S3STUB_OPTIONS='<options json>' tsx test/support/s3StubProcess.ts) it prints {"endpoint": ...} and serves until
// its stdin closes.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startS3Stub, type S3StubOptions } from "./s3Stub";

export interface S3StubProcess {
  /** "localhost" (the certificate's name). */
  host: string;
  port: number;
  /** The CA file a client trusts the stand-in's certificate with (it is self-signed). */
  caFile: string;
  close(): void;
}

/** Starts the stand-in over HTTPS in a child process; the key pair (and acceptSigV2) as in S3StubOptions. */
export async function startS3StubProcess(o: Omit<S3StubOptions, "tls">): Promise<S3StubProcess> {
  const dir = mkdtempSync(join(tmpdir(), "lazarus-s3stub-"));
  const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  const r = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", cert],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  // the client may run as another user (pgBackRest as postgres): the certificate is public, the key is not
  chmodSync(dir, 0o755);
  chmodSync(cert, 0o644);
  const options: S3StubOptions = { ...o, tls: { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") } };
  const tsx = resolve(__dirname, "../../node_modules/.bin/tsx");
  // the options (the secret key among them) through the environment, not argv, where `ps` would show them
  const child: ChildProcess = spawn(tsx, [__filename], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, LAZARUS_S3STUB_OPTIONS: JSON.stringify(options) } });
  const endpoint = await new Promise<string>((res, rej) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"endpoint":"([^"]+)"/.exec(out);
      if (m) res(m[1]!);
    });
    child.on("exit", (code) => rej(new Error(`the S3 stand-in exited with ${code} before listening`)));
  });
  return {
    host: "localhost",
    port: Number(endpoint.split(":")[1]),
    caFile: cert,
    close() {
      child.stdin!.end();
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(__filename)) {
  void startS3Stub(JSON.parse(process.env.LAZARUS_S3STUB_OPTIONS ?? "{}") as S3StubOptions).then((s3) => {
    process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint })}\n`);
    process.stdin.on("end", () => void s3.close().then(() => process.exit(0)));
    process.stdin.resume();
  });
}
