// A real local ACME server for certbot tests: Debian's pebble on loopback, doing real HTTP-01 validation against a
// real nginx that serves the webroot certbot writes challenges into. All in a temp dir, on free ports, stopped and
// removed by stop().
//
//   - pebble's own HTTPS listener needs a certificate. Debian's package ships none (no test/certs/ in
//     /usr/share/doc/pebble), so a throwaway CA and a localhost/127.0.0.1 certificate are made here with openssl;
//     certbot trusts that CA through REQUESTS_CA_BUNDLE (see `env`).
//   - Names are resolved by pebble-challtestsrv as a DNS server only (`pebble -dnsserver`): every name has an A record
//     127.0.0.1 and no AAAA record, so a test domain such as kro.test reaches the loopback nginx without touching
//     /etc/hosts. Its HTTP-01/TLS-ALPN responders are disabled: the challenge is answered by nginx from the webroot.
//   - PEBBLE_VA_NOSLEEP=1 (no random validation delays) and PEBBLE_WFE_NONCEREJECT=0 (pebble otherwise rejects 5% of
//     valid nonces on purpose, which would make a test flaky). Validation is real: PEBBLE_VA_ALWAYS_VALID is not set.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports";

export interface PebbleServer {
  /** The ACME directory URL for certbot --server. */
  directoryUrl: string;
  /** PEM file of the CA that signed pebble's HTTPS certificate (for REQUESTS_CA_BUNDLE). */
  tlsCaFile: string;
  /** Environment for certbot: REQUESTS_CA_BUNDLE. */
  env: Record<string, string>;
  /** The directory nginx serves at http://<any name>:<httpPort>/.well-known/acme-challenge/. */
  webroot: string;
  /** The port pebble validates HTTP-01 on (nginx listens there on 127.0.0.1). */
  httpPort: number;
  baseDir: string;
  /** nginx's access log: pebble's validation requests show up here. */
  nginxAccessLog(): string;
  /** pebble's log. */
  log(): string;
  /** The root certificate pebble issues under (PEM), from its management interface. */
  rootCertificate(): Promise<string>;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** Webroot to serve (created if missing); default: a dir inside the temp dir. */
  webroot?: string;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`timeout: ${url}`)));
    req.end();
  });
}

interface Proc {
  name: string;
  proc: ChildProcess;
  output: () => string;
  exited: () => boolean;
}

function startProc(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let exited = false;
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  proc.on("exit", () => (exited = true));
  return { name, proc, output: () => out, exited: () => exited };
}

async function stopProc(p: Proc): Promise<void> {
  if (p.exited()) return;
  const done = new Promise<void>((resolve) => p.proc.once("exit", () => resolve()));
  p.proc.kill("SIGTERM");
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
  if (!p.exited()) {
    p.proc.kill("SIGKILL");
    await done;
  }
}

async function waitFor(what: string, procs: Proc[], check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const dead = procs.find((p) => p.exited());
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}:\n${dead.output()}`);
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function startPebble(options: PebbleOptions = {}): Promise<PebbleServer> {
  const baseDir = mkdtempSync(join(tmpdir(), "lazarus-pebble-"));
  chmodSync(baseDir, 0o755);
  const procs: Proc[] = [];
  const cleanup = async () => {
    for (const p of procs.reverse()) await stopProc(p);
    rmSync(baseDir, { recursive: true, force: true });
  };
  try {
    // A throwaway CA and pebble's HTTPS certificate for localhost / 127.0.0.1.
    const caKey = join(baseDir, "tls-ca.key");
    const tlsCaFile = join(baseDir, "tls-ca.pem");
    const key = join(baseDir, "pebble.key");
    const csr = join(baseDir, "pebble.csr");
    const cert = join(baseDir, "pebble.pem");
    const ext = join(baseDir, "pebble.ext");
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run("openssl", ["req", "-x509", ...ec, "-keyout", caKey, "-out", tlsCaFile, "-days", "2", "-subj", "/CN=Lazarus test ACME TLS CA"]);
    run("openssl", ["req", ...ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"]);
    writeFileSync(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
    run("openssl", ["x509", "-req", "-in", csr, "-CA", tlsCaFile, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext]);
    rmSync(caKey);
    const ca = readFileSync(tlsCaFile, "utf8");

    const [acmePort, mgmtPort, httpPort, tlsPort, dnsPort, dnsMgmtPort] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    if (new Set([acmePort, mgmtPort, httpPort, tlsPort, dnsPort, dnsMgmtPort]).size !== 6) {
      throw new Error("freePort returned the same port twice; retry");
    }

    // nginx answers HTTP-01 from the webroot.
    const webroot = options.webroot ?? join(baseDir, "webroot");
    mkdirSync(webroot, { recursive: true });
    const ngx = join(baseDir, "nginx");
    mkdirSync(ngx);
    const accessLog = join(ngx, "access.log");
    const nginxConf = join(ngx, "nginx.conf");
    writeFileSync(
      nginxConf,
      [
        "daemon off;",
        // One process (no workers switching to another user), so the webroot needs no extra permissions.
        "master_process off;",
        `pid ${ngx}/nginx.pid;`,
        `error_log ${ngx}/error.log;`,
        "events { worker_connections 64; }",
        "http {",
        `  access_log ${accessLog};`,
        ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${ngx}/${t}_temp;`),
        "  server {",
        `    listen 127.0.0.1:${httpPort};`,
        `    location /.well-known/acme-challenge/ { root ${webroot}; default_type text/plain; }`,
        "    location / { return 404; }",
        "  }",
        "}",
        "",
      ].join("\n"),
    );
    writeFileSync(accessLog, "");
    run("nginx", ["-t", "-q", "-c", nginxConf, "-p", ngx]);
    const nginx = startProc("nginx", "nginx", ["-c", nginxConf, "-p", ngx]);
    procs.push(nginx);

    // pebble-challtestsrv as DNS only: A 127.0.0.1 for every name, no AAAA.
    const dns = startProc("pebble-challtestsrv", "pebble-challtestsrv", [
      "-dns01", `127.0.0.1:${dnsPort}`,
      "-http01", "",
      "-https01", "",
      "-tlsalpn01", "",
      "-management", `127.0.0.1:${dnsMgmtPort}`,
      "-defaultIPv4", "127.0.0.1",
      "-defaultIPv6", "",
    ]);
    procs.push(dns);

    const config = join(baseDir, "pebble-config.json");
    writeFileSync(
      config,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${mgmtPort}`,
          certificate: cert,
          privateKey: key,
          httpPort,
          tlsPort,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    const pebble = startProc("pebble", "pebble", ["-config", config, "-dnsserver", `127.0.0.1:${dnsPort}`], {
      PEBBLE_VA_NOSLEEP: "1",
      PEBBLE_WFE_NONCEREJECT: "0",
    });
    procs.push(pebble);

    const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
    await waitFor("pebble's ACME directory", procs, async () => (await httpsGet(directoryUrl, ca)).status === 200);
    await waitFor("pebble-challtestsrv's DNS", procs, async () => dns.output().includes("Starting challenge servers"));
    await waitFor("nginx", procs, async () => {
      const r = spawnSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${httpPort}`]);
      return r.status === 0;
    });

    return {
      directoryUrl,
      tlsCaFile,
      env: { REQUESTS_CA_BUNDLE: tlsCaFile },
      webroot,
      httpPort,
      baseDir,
      nginxAccessLog: () => readFileSync(accessLog, "utf8"),
      log: () => pebble.output(),
      async rootCertificate() {
        const r = await httpsGet(`https://127.0.0.1:${mgmtPort}/roots/0`, ca);
        if (r.status !== 200) throw new Error(`pebble /roots/0: HTTP ${r.status}`);
        return r.body;
      },
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
