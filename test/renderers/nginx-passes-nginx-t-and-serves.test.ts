// The rendered nginx.conf is checked by `nginx -t` (run as root in a private mount namespace, see nginxSandbox) and
// then served for real: ACME challenges from the webroot, the HTTP->HTTPS redirect, TLS with security headers, routes
// to the right upstream with proxy headers, WebSocket upgrades, unknown hosts refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, IncomingMessage, request as httpRequest, Server } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { kroNginxInput, type KroNginxOptions } from "../../stacks/kro/inventory";
import { renderNginxConf, renderNginxSite, NginxConfInput } from "../../renderers/nginx";
import { freePort } from "../support/ports";
import { nginxServe, nginxTest, RunningNginx } from "../support/validators";
import { planFor } from "../support/stacks";
import type { Plan } from "../../cli/planner";
import { RenderInputError } from "../../renderers/renderInputError";

// The runbook's two sites: the main one (frontend at /, backend under /api/) and the admin one.
const KRO_SITES: KroNginxOptions = {
  sites: [
    { serverNames: ["kro.example.org", "www.kro.example.org"], routes: [{ path: "/api/", service: "backend", websocket: true }, { path: "/", service: "frontend" }] },
    { serverNames: ["admin.kro.example.org"], routes: [{ path: "/api/", service: "backend", websocket: true }, { path: "/", service: "admin-frontend" }] },
  ],
  tls: { certPath: "/etc/letsencrypt/live/kro-test/fullchain.pem", keyPath: "/etc/letsencrypt/live/kro-test/privkey.pem" },
  ports: { backend: 3000, frontend: 3000, "admin-frontend": 3000 },
};
const KRO_CERT = { ...KRO_SITES.tls, names: KRO_SITES.sites.flatMap((s) => s.serverNames) };
const KRO_HOSTS = ["backend", "frontend", "admin-frontend"];

/** The certificate paths a config names, each with the server names of its server block. */
function certsOf(conf: string) {
  const out: Array<{ certPath: string; keyPath: string; names: string[] }> = [];
  for (const block of conf.split(/\n  server \{/).slice(1)) {
    const cert = /ssl_certificate (\S+);/.exec(block)?.[1];
    const key = /ssl_certificate_key (\S+);/.exec(block)?.[1];
    const names = /server_name ([^;]+);/.exec(block)?.[1]?.split(/\s+/) ?? [];
    if (cert && key && !out.some((c) => c.certPath === cert)) out.push({ certPath: cert, keyPath: key, names });
  }
  return out;
}

describe("nginx -t", () => {
  it("accepts the KRO config (dynamic resolution through Docker's DNS) with its production certificate paths", () => {
    const conf = renderNginxConf(kroNginxInput(KRO_SITES));
    expect(conf).toContain("resolver 127.0.0.11 valid=10s ipv6=off;");
    const r = nginxTest(conf, { certs: [KRO_CERT] });
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toMatch(/syntax is ok[\s\S]*test is successful/);
  });

  it("accepts the static-upstream variant when the compose service names resolve", () => {
    const conf = renderNginxConf({ ...kroNginxInput(KRO_SITES), resolution: { mode: "static" } });
    expect(conf).toMatch(/upstream backend \{\n\s+server backend:3000 max_fails=3 fail_timeout=10s;\n\s+keepalive 16;/);
    const r = nginxTest(conf, { certs: [KRO_CERT], hosts: KRO_HOSTS });
    expect(r.ok, r.output).toBe(true);
  });

  it("fails when an upstream name does not resolve (why the default resolves at request time)", () => {
    const conf = renderNginxConf({ ...kroNginxInput(KRO_SITES), resolution: { mode: "static" } });
    const r = nginxTest(conf, { certs: [KRO_CERT], hosts: ["frontend", "admin-frontend"] });
    expect(r.ok).toBe(false);
    expect(r.output).toContain('host not found in upstream "backend:3000"');
  });

  it("fails when the certificate is missing", () => {
    const r = nginxTest(renderNginxConf(kroNginxInput(KRO_SITES)));
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/cannot load certificate "\/etc\/letsencrypt\/live\/kro-test\/fullchain\.pem"/);
  });

  it("fails on a broken directive", () => {
    const conf = renderNginxConf(kroNginxInput(KRO_SITES)).replace("proxy_connect_timeout 5s;", "proxy_connect_timeout 5s");
    const r = nginxTest(conf, { certs: [KRO_CERT] });
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/emerg/);
  });

  it("accepts a plain-HTTP site (no TLS, no redirect)", () => {
    const conf = renderNginxSite({
      serverNames: ["internal.example.org"],
      upstreams: [{ name: "app", host: "127.0.0.1", port: 8080 }],
      routes: [{ path: "/", upstream: "app" }],
      tls: "none",
      acmeWebroot: "/var/www/certbot",
    });
    expect(conf).not.toContain("ssl_");
    expect(conf).not.toContain("Strict-Transport-Security");
    const r = nginxTest(conf);
    expect(r.ok, r.output).toBe(true);
  });

  describe("as the KRO stack renders it (real Pulumi.<stack>.yaml, offline plan)", () => {
    let plans: Record<string, Plan>;
    beforeAll(async () => {
      plans = { prod: await planFor("prod"), staging: await planFor("staging") };
    });
    for (const stack of ["prod", "staging"]) {
      it(`${stack}: the nginx.conf shipped to the host passes nginx -t`, () => {
        const files = plans[stack]!.files.filter((f) => f.platform === "kro" && f.path.endsWith("nginx.conf"));
        expect(files.length).toBe(1);
        const conf = files[0]!.content!;
        const certs = certsOf(conf);
        expect(certs.length).toBeGreaterThan(0);
        const r = nginxTest(conf, { certs });
        expect(r.ok, r.output).toBe(true);
      });
    }
  });
});

describe("input validation", () => {
  it("lists every problem with the field and an example", () => {
    const bad: NginxConfInput = {
      upstreams: [
        { name: "admin-frontend", host: "admin frontend", port: 0 },
        { name: "api", host: "api", port: 3000 },
        { name: "api", host: "api", port: 3000 },
      ],
      sites: [
        { serverNames: ["ok.example.org", "bad name"], tls: "none", httpToHttps: true, routes: [{ path: "api", upstream: "nope" }] },
        { serverNames: ["ok.example.org"], tls: { certPath: "relative.pem", keyPath: "/k.pem" }, routes: [{ path: "/.well-known/acme-challenge/x", upstream: "api" }] },
      ],
      acmeWebroot: "var/www",
      clientMaxBodySize: "10 MB",
    };
    let err: unknown;
    try {
      renderNginxConf(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RenderInputError);
    expect((err as RenderInputError).renderer).toBe("nginx");
    const problems = (err as RenderInputError).problems;
    for (const e of [
      'upstreams[0].name: "admin-frontend" must be letters, digits or _ (example: admin_frontend)',
      'upstreams[0].host: "admin frontend" is not a host name or IPv4 address',
      "upstreams[0].port: 0 is not a port",
      'upstreams[2].name: "api" is declared twice',
      'sites[0].serverNames: "bad name" is not a host name (example: www.example.com)',
      'sites[0].routes[0].path: "api" must start with /',
      'sites[0].routes[0].upstream: unknown upstream "nope"',
      "sites[0].httpToHttps: a site without TLS cannot redirect to HTTPS",
      'sites[1].serverNames: "ok.example.org" is also served by sites[0]',
      'sites[1].tls.certPath: "relative.pem" is not an absolute path',
      "sites[1].routes[0].path: /.well-known/acme-challenge/ is reserved for certbot",
      'acmeWebroot: "var/www" is not an absolute path (example: /var/www/certbot)',
      'clientMaxBodySize: "10 MB" is not a size (example: 10m)',
    ]) {
      expect(problems.some((p) => p.startsWith(e)), `${e}\n${problems.join("\n")}`).toBe(true);
    }
  });
});

/** A loopback HTTP server answering with its name and echoing the request headers; it also accepts upgrades. */
async function upstream(name: string): Promise<{ port: number; server: Server }> {
  const port = await freePort();
  const server = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ name, url: req.url, headers: req.headers }));
  });
  server.on("upgrade", (req, socket) => {
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `X-Upstream: ${name}\r\nX-Seen-Upgrade: ${req.headers.upgrade}\r\nX-Seen-Connection: ${req.headers.connection}\r\n\r\n`,
    );
    socket.once("data", (d) => socket.end(`echo:${d}`));
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { port, server };
}

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

function get(opts: { tls: boolean; port: number; host: string; path: string; sni?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const common = { host: "127.0.0.1", port: opts.port, path: opts.path, headers: { Host: opts.host }, agent: false as const };
    const req = opts.tls
      ? httpsRequest({ ...common, servername: opts.sni ?? opts.host, rejectUnauthorized: false })
      : httpRequest(common);
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

for (const mode of ["static", "dynamic"] as const) {
  describe(`served for real (${mode} upstreams)`, () => {
    let nginx: RunningNginx | undefined;
    let httpPort: number;
    let httpsPort: number;
    const servers: Server[] = [];
    const challenge = `token-${mode}-${process.pid}`;

    beforeAll(async () => {
      const [backend, frontend, admin] = [await upstream("backend"), await upstream("frontend"), await upstream("admin-frontend")];
      servers.push(backend.server, frontend.server, admin.server);
      httpPort = await freePort();
      httpsPort = await freePort();
      const base = kroNginxInput({ ...KRO_SITES, ports: { backend: backend.port, frontend: frontend.port, "admin-frontend": admin.port } });
      // Static mode resolves the compose names through the sandbox's hosts file; dynamic mode gets loopback IPs
      // (there is no Docker DNS here, and an IP in a proxy_pass variable needs no resolver).
      const upstreams = mode === "static" ? base.upstreams : base.upstreams.map((u) => ({ ...u, host: "127.0.0.1" }));
      // One extra route exercising prefix stripping and a per-route body limit; the admin site opts into
      // HSTS includeSubDomains.
      const sites = [
        { ...base.sites[0]!, routes: [{ path: "/legacy/", upstream: "backend", stripPrefix: true, clientMaxBodySize: "1k" }, ...base.sites[0]!.routes] },
        { ...base.sites[1]!, hstsIncludeSubdomains: true },
      ];
      const conf = renderNginxConf({ ...base, sites, upstreams, resolution: { mode }, httpPort, httpsPort, listenAddress: "127.0.0.1" });
      nginx = await nginxServe(conf, httpsPort, {
        hosts: KRO_HOSTS,
        certs: [KRO_CERT],
        files: { [`/var/www/certbot/.well-known/acme-challenge/${challenge}`]: `${challenge}.thumbprint` },
      });
    });

    afterAll(async () => {
      await nginx?.stop();
      for (const s of servers) await new Promise((r) => s.close(r));
    });

    it("serves ACME HTTP-01 challenges from the webroot over plain HTTP, for every site", async () => {
      for (const host of ["kro.example.org", "admin.kro.example.org", "unknown.example.org"]) {
        const r = await get({ tls: false, port: httpPort, host, path: `/.well-known/acme-challenge/${challenge}` });
        expect(r.status, host).toBe(200);
        expect(r.body).toBe(`${challenge}.thumbprint`);
      }
      const missing = await get({ tls: false, port: httpPort, host: "kro.example.org", path: "/.well-known/acme-challenge/nope" });
      expect(missing.status).toBe(404);
    });

    it("redirects plain HTTP to HTTPS, keeping host and path", async () => {
      const r = await get({ tls: false, port: httpPort, host: "kro.example.org", path: "/listings?page=2" });
      expect(r.status).toBe(301);
      expect(r.headers.location).toBe(`https://kro.example.org:${httpsPort}/listings?page=2`);
    });

    it("answers the container health check on the default server", async () => {
      const r = await get({ tls: false, port: httpPort, host: "127.0.0.1", path: "/healthz" });
      expect(r.status).toBe(200);
      expect(r.body).toBe("ok\n");
    });

    it("closes the connection for unknown host names (HTTP) and refuses the TLS handshake (HTTPS)", async () => {
      await expect(get({ tls: false, port: httpPort, host: "evil.example.net", path: "/" })).rejects.toThrow(/socket hang up|ECONNRESET/);
      await expect(get({ tls: true, port: httpsPort, host: "evil.example.net", path: "/" })).rejects.toThrow(/alert|handshake|ECONNRESET|socket/i);
    });

    it("routes / to the frontend and /api/ to the backend with proxy and security headers", async () => {
      const front = await get({ tls: true, port: httpsPort, host: "kro.example.org", path: "/about" });
      expect(front.status).toBe(200);
      expect(JSON.parse(front.body).name).toBe("frontend");
      const api = await get({ tls: true, port: httpsPort, host: "www.kro.example.org", path: "/api/v1/health" });
      const seen = JSON.parse(api.body);
      expect(seen.name).toBe("backend");
      expect(seen.url).toBe("/api/v1/health");
      expect(seen.headers).toMatchObject({
        host: "www.kro.example.org",
        "x-forwarded-proto": "https",
        "x-forwarded-for": "127.0.0.1",
        "x-real-ip": "127.0.0.1",
        "x-forwarded-host": "www.kro.example.org",
      });
      expect(api.headers["strict-transport-security"]).toBe("max-age=31536000");
      expect(api.headers["x-content-type-options"]).toBe("nosniff");
      expect(api.headers["x-frame-options"]).toBe("SAMEORIGIN");
      expect(api.headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
      expect(api.headers.server).toBe("nginx");
    });

    it("serves the admin site from admin-frontend", async () => {
      const r = await get({ tls: true, port: httpsPort, host: "admin.kro.example.org", path: "/" });
      expect(JSON.parse(r.body).name).toBe("admin-frontend");
      expect(r.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
    });

    it("strips a route's prefix and enforces its body limit", async () => {
      const r = await get({ tls: true, port: httpsPort, host: "kro.example.org", path: "/legacy/users?id=7" });
      expect(JSON.parse(r.body)).toMatchObject({ name: "backend", url: "/users?id=7" });
      const big = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest({
          host: "127.0.0.1",
          port: httpsPort,
          path: "/legacy/upload",
          method: "POST",
          servername: "kro.example.org",
          rejectUnauthorized: false,
          agent: false,
          headers: { Host: "kro.example.org", "content-length": 4096 },
        });
        req.on("response", (res) => (res.resume(), resolve(res.statusCode!)));
        req.on("error", reject);
        req.end("x".repeat(4096));
      });
      expect(big).toBe(413);
    });

    it("speaks only TLS 1.2 and 1.3", async () => {
      const tryVersion = (v: "TLSv1.1" | "TLSv1.2" | "TLSv1.3") =>
        new Promise<string>((resolve) => {
          // SECLEVEL=0 lets this client offer TLS 1.1 at all, so a refusal comes from the server's ssl_protocols.
          const s = tlsConnect({
            host: "127.0.0.1",
            port: httpsPort,
            servername: "kro.example.org",
            rejectUnauthorized: false,
            minVersion: v,
            maxVersion: v,
            ciphers: "DEFAULT@SECLEVEL=0",
          });
          s.once("secureConnect", () => {
            const p = s.getProtocol() ?? "none";
            s.end();
            resolve(p);
          });
          s.once("error", () => resolve("refused"));
        });
      expect(await tryVersion("TLSv1.3")).toBe("TLSv1.3");
      expect(await tryVersion("TLSv1.2")).toBe("TLSv1.2");
      expect(await tryVersion("TLSv1.1")).toBe("refused");
    });

    it("passes WebSocket upgrades through on the API route", async () => {
      const result = await new Promise<{ head: string; echo: string }>((resolve, reject) => {
        const s = tlsConnect({ host: "127.0.0.1", port: httpsPort, servername: "kro.example.org", rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] }, () => {
          s.write(
            "GET /api/socket HTTP/1.1\r\nHost: kro.example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
          );
        });
        let buf = "";
        let sent = false;
        s.on("data", (d) => {
          buf += d;
          if (!sent && buf.includes("\r\n\r\n")) {
            sent = true;
            s.write("ping");
          }
        });
        s.on("end", () => {
          const [head, echo] = buf.split("\r\n\r\n");
          resolve({ head: head!, echo: echo ?? "" });
        });
        s.on("error", reject);
      });
      expect(result.head).toMatch(/^HTTP\/1\.1 101/);
      expect(result.head).toMatch(/X-Upstream: backend/i);
      expect(result.head).toMatch(/X-Seen-Upgrade: websocket/i);
      expect(result.head).toMatch(/X-Seen-Connection: upgrade/i);
      expect(result.echo).toBe("echo:ping");
    });
  });
}
