// Renders a complete nginx.conf for an nginx container that fronts a compose host's services: TLS termination with
// certificates from the host's certbot, ACME HTTP-01 challenges served from the webroot certbot writes to, an
// HTTP->HTTPS redirect, modern TLS, security headers, proxy headers and timeouts that ride out a restarting upstream.
// Pure: typed data in, text out.
//
// Choices:
// - A full nginx.conf, not a conf.d snippet: the container mounts this one file as /etc/nginx/nginx.conf, so what
//   `nginx -t` checks in the tests is everything nginx will run with (no image default conf.d/default.conf that
//   could shadow a server name or add a listener).
// - No `user`, `pid` or temp-path directives: the compiled-in defaults of the official image apply in the container,
//   and tests can pass `-g "pid ...;"` and keep every path in temp dirs.
// - Upstream resolution. "dynamic" (default): `resolver 127.0.0.11` (Docker's embedded DNS) and proxy_pass through
//   variables, so names are looked up at request time. nginx then starts even while a backend container is down
//   (a static `upstream` with an unresolvable name makes nginx refuse to start, taking every site down with one
//   service) and follows a container that `docker compose up -d` recreated with a new address. "static": `upstream`
//   blocks resolved once at start, with keepalive connections; use it when names are stable (or IPs).
// - Certificates from Let's Encrypt: no OCSP stapling (Let's Encrypt ended its OCSP service in 2025).
// - `listen 443 ssl http2` (not `http2 on;`): understood by nginx 1.22 (the validator here) and by newer images,
//   where it only logs a deprecation notice.

import { refuseProblems } from "./renderInputError";

export interface NginxUpstream {
  /** Identifier used by routes (letters, digits, underscore). */
  name: string;
  /** Host name (compose service name) or IP address. */
  host: string;
  port: number;
  /** Idle keepalive connections to keep per worker (static mode only). Default 16. */
  keepalive?: number;
}

export interface NginxRoute {
  /** Location prefix, e.g. "/" or "/api/". */
  path: string;
  upstream: string;
  /** Exact match (`location = path`) instead of prefix. */
  exact?: boolean;
  /** A WebSocket route: long-lived connections (read/send timeout 1 h unless readTimeoutSeconds says otherwise).
   *  Upgrade/Connection headers are forwarded on every route (via $connection_upgrade), so upgrades work anywhere;
   *  this flag only stops nginx from closing quiet sockets after the normal 60 s. */
  websocket?: boolean;
  /** Remove the path prefix before proxying ("/api/users" -> "/users"). */
  stripPrefix?: boolean;
  clientMaxBodySize?: string;
  /** Seconds to wait for the upstream's response (default 60; websocket routes 3600). */
  readTimeoutSeconds?: number;
}

export type NginxTls = { certPath: string; keyPath: string } | "none";

export interface NginxSite {
  serverNames: string[];
  routes: NginxRoute[];
  tls: NginxTls;
  /** With TLS: answer plain HTTP with a 301 to https (ACME challenges excepted). Default true. */
  httpToHttps?: boolean;
  /** Strict-Transport-Security max-age in seconds (TLS sites only). Default 31536000; 0 disables. */
  hstsMaxAge?: number;
  /** Add includeSubDomains to HSTS (only when every subdomain of these names serves HTTPS). Default false. */
  hstsIncludeSubdomains?: boolean;
  clientMaxBodySize?: string;
  /**
   * A static page served with status 503 whenever the upstream cannot answer (502/503/504: stopped, restarting), so an
   * emergency shutdown of the application shows it while nginx keeps running. `root` is the directory holding `page`.
   */
  maintenance?: { root: string; page: string };
  /**
   * Paths of the upstream the public name never serves (404), such as an app's own /metrics that only Prometheus on
   * the host network reads. Matched as an Express-style router would resolve them: case-insensitive, with or without
   * a trailing slash (nginx decodes %XX and merges slashes before matching, so /%6detrics and //metrics match too).
   */
  hiddenPaths?: string[];
}

export type UpstreamResolution = { mode: "static" } | { mode: "dynamic"; resolver?: string; valid?: string };

export interface NginxConfInput {
  sites: NginxSite[];
  upstreams: NginxUpstream[];
  /** Directory (as the nginx container sees it) certbot --webroot writes challenges to. */
  acmeWebroot: string;
  resolution?: UpstreamResolution;
  /** Default 80 / 443. */
  httpPort?: number;
  httpsPort?: number;
  /** Address to listen on (default: all). Tests use 127.0.0.1. */
  listenAddress?: string;
  /** Path the default server answers 200 on over plain HTTP, for the container health check. Default "/healthz". */
  healthPath?: string;
  /** Default request body limit. Default "10m". */
  clientMaxBodySize?: string;
  workerConnections?: number;
  /** Default "/etc/nginx/mime.types". */
  mimeTypesPath?: string;
}

/** One site with its upstreams: the shape of the brief (serverNames, upstreams, routes, tls, acmeWebroot, ...). */
export type NginxSiteInput = NginxSite & Omit<NginxConfInput, "sites">;

const SAFE_PATH = /^\/[A-Za-z0-9._\/-]*$/;
const SERVER_NAME = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const SIZE = /^\d+[kKmMgG]?$/;

export function nginxInputProblems(input: NginxConfInput): string[] {
  const p: string[] = [];
  const names = new Set<string>();
  for (const [i, u] of input.upstreams.entries()) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(u.name)) p.push(`upstreams[${i}].name: "${u.name}" must be letters, digits or _ (example: admin_frontend)`);
    if (names.has(u.name)) p.push(`upstreams[${i}].name: "${u.name}" is declared twice`);
    names.add(u.name);
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(u.host)) p.push(`upstreams[${i}].host: "${u.host}" is not a host name or IPv4 address`);
    if (!(Number.isInteger(u.port) && u.port >= 1 && u.port <= 65535)) p.push(`upstreams[${i}].port: ${u.port} is not a port`);
    if (u.keepalive !== undefined && !(Number.isInteger(u.keepalive) && u.keepalive >= 0)) p.push(`upstreams[${i}].keepalive: must be a whole number >= 0`);
  }
  if (!input.sites.length) p.push("sites: at least one site is needed");
  const seenNames = new Map<string, number>();
  for (const [i, s] of input.sites.entries()) {
    const at = `sites[${i}]`;
    if (s.maintenance) {
      if (!SAFE_PATH.test(s.maintenance.root)) p.push(`${at}.maintenance.root: "${s.maintenance.root}" is not an absolute directory of safe characters (example: /var/www/maintenance)`);
      if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*\.html$/.test(s.maintenance.page)) p.push(`${at}.maintenance.page: "${s.maintenance.page}" is not an .html file name (example: maintenance.html)`);
    }
    if (!s.serverNames.length) p.push(`${at}.serverNames: at least one name is needed (example: example.com)`);
    for (const n of s.serverNames) {
      if (!SERVER_NAME.test(n)) p.push(`${at}.serverNames: "${n}" is not a host name (example: www.example.com)`);
      if (seenNames.has(n)) p.push(`${at}.serverNames: "${n}" is also served by sites[${seenNames.get(n)}]`);
      seenNames.set(n, i);
    }
    if (!s.routes.length) p.push(`${at}.routes: at least one route is needed`);
    for (const [j, h] of (s.hiddenPaths ?? []).entries()) {
      if (!/^\/[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(h)) p.push(`${at}.hiddenPaths[${j}]: "${h}" must be a path of letters, digits, _ and - segments without a trailing slash (example: /metrics)`);
    }
    const paths = new Set<string>();
    for (const [j, r] of s.routes.entries()) {
      const rat = `${at}.routes[${j}]`;
      if (!SAFE_PATH.test(r.path)) p.push(`${rat}.path: "${r.path}" must start with / and contain only letters, digits, . _ - /`);
      const key = `${r.exact ? "=" : ""}${r.path}`;
      if (paths.has(key)) p.push(`${rat}.path: "${r.path}" is routed twice`);
      paths.add(key);
      if (!names.has(r.upstream)) p.push(`${rat}.upstream: unknown upstream "${r.upstream}" (known: ${[...names].sort().join(", ")})`);
      if (r.path.startsWith("/.well-known/acme-challenge")) p.push(`${rat}.path: /.well-known/acme-challenge/ is reserved for certbot`);
      if (r.clientMaxBodySize !== undefined && !SIZE.test(r.clientMaxBodySize)) p.push(`${rat}.clientMaxBodySize: "${r.clientMaxBodySize}" is not a size (example: 25m)`);
      if (r.readTimeoutSeconds !== undefined && !(Number.isInteger(r.readTimeoutSeconds) && r.readTimeoutSeconds > 0)) {
        p.push(`${rat}.readTimeoutSeconds: must be a whole number > 0`);
      }
      if (r.stripPrefix && (r.path === "/" || !r.path.endsWith("/"))) p.push(`${rat}.stripPrefix: needs a path ending in / other than / (example: /api/)`);
    }
    if (s.tls !== "none") {
      if (!SAFE_PATH.test(s.tls.certPath)) p.push(`${at}.tls.certPath: "${s.tls.certPath}" is not an absolute path`);
      if (!SAFE_PATH.test(s.tls.keyPath)) p.push(`${at}.tls.keyPath: "${s.tls.keyPath}" is not an absolute path`);
    } else if (s.httpToHttps) {
      p.push(`${at}.httpToHttps: a site without TLS cannot redirect to HTTPS`);
    }
    if (s.clientMaxBodySize !== undefined && !SIZE.test(s.clientMaxBodySize)) p.push(`${at}.clientMaxBodySize: "${s.clientMaxBodySize}" is not a size (example: 25m)`);
    if (s.hstsMaxAge !== undefined && !(Number.isInteger(s.hstsMaxAge) && s.hstsMaxAge >= 0)) p.push(`${at}.hstsMaxAge: must be a whole number of seconds >= 0`);
  }
  if (!SAFE_PATH.test(input.acmeWebroot)) p.push(`acmeWebroot: "${input.acmeWebroot}" is not an absolute path (example: /var/www/certbot)`);
  for (const k of ["httpPort", "httpsPort"] as const) {
    const v = input[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= 65535)) p.push(`${k}: ${v} is not a port`);
  }
  if (input.listenAddress !== undefined && !/^(\d{1,3}\.){3}\d{1,3}$/.test(input.listenAddress)) p.push(`listenAddress: "${input.listenAddress}" is not an IPv4 address`);
  if (input.healthPath !== undefined && !SAFE_PATH.test(input.healthPath)) p.push(`healthPath: "${input.healthPath}" is not a path`);
  if (input.clientMaxBodySize !== undefined && !SIZE.test(input.clientMaxBodySize)) p.push(`clientMaxBodySize: "${input.clientMaxBodySize}" is not a size (example: 10m)`);
  const r = input.resolution;
  if (r?.mode === "dynamic" && r.resolver !== undefined && !/^[A-Za-z0-9.:\[\]-]+$/.test(r.resolver)) p.push(`resolution.resolver: "${r.resolver}" is not an address`);
  if (r?.mode === "dynamic" && r.valid !== undefined && !/^\d+[smh]?$/.test(r.valid)) p.push(`resolution.valid: "${r.valid}" is not a time (example: 10s)`);
  return p;
}

const PROXY_HEADERS = [
  "proxy_http_version 1.1;",
  "proxy_set_header Host $host;",
  "proxy_set_header X-Real-IP $remote_addr;",
  "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
  "proxy_set_header X-Forwarded-Proto $scheme;",
  "proxy_set_header X-Forwarded-Host $host;",
  "proxy_set_header X-Forwarded-Port $server_port;",
  "proxy_set_header Upgrade $http_upgrade;",
  "proxy_set_header Connection $connection_upgrade;",
];

function indent(lines: string[], n: number): string[] {
  const pad = " ".repeat(n);
  return lines.map((l) => (l ? pad + l : l));
}

function listen(input: NginxConfInput, port: number, extra: string): string {
  const addr = input.listenAddress ? `${input.listenAddress}:${port}` : String(port);
  return `listen ${addr}${extra};`;
}

function location(route: NginxRoute, input: NginxConfInput, dynamic: boolean): string[] {
  const up = input.upstreams.find((u) => u.name === route.upstream)!;
  const body: string[] = [];
  if (route.clientMaxBodySize) body.push(`client_max_body_size ${route.clientMaxBodySize};`);
  const read = route.readTimeoutSeconds ?? (route.websocket ? 3600 : 60);
  body.push(`proxy_read_timeout ${read}s;`, `proxy_send_timeout ${read}s;`);
  // A variable in proxy_pass makes nginx resolve the name per request through `resolver`; without a URI part the
  // request URI is passed unchanged (or as rewritten). `set` must come before `rewrite ... break`, which ends the
  // rewrite phase (a `set` after it would never run and leave the variable empty).
  if (dynamic) body.push(`set $upstream_${up.name} ${up.host}:${up.port};`);
  if (route.stripPrefix) body.push(`rewrite ^${route.path}(.*)$ /$1 break;`);
  body.push(dynamic ? `proxy_pass http://$upstream_${up.name};` : `proxy_pass http://${up.name};`);
  return [`location ${route.exact ? "= " : ""}${route.path} {`, ...indent(body, 2), "}"];
}

function acmeLocation(input: NginxConfInput): string[] {
  return [
    "location ^~ /.well-known/acme-challenge/ {",
    `  root ${input.acmeWebroot};`,
    "  default_type text/plain;",
    "  try_files $uri =404;",
    "}",
  ];
}

function securityHeaders(tls: boolean, hstsMaxAge: number, subdomains: boolean): string[] {
  const h = [
    'add_header X-Content-Type-Options "nosniff" always;',
    'add_header X-Frame-Options "SAMEORIGIN" always;',
    'add_header Referrer-Policy "strict-origin-when-cross-origin" always;',
    'add_header Permissions-Policy "camera=(), microphone=(), geolocation=()" always;',
  ];
  if (tls && hstsMaxAge > 0) {
    h.unshift(`add_header Strict-Transport-Security "max-age=${hstsMaxAge}${subdomains ? "; includeSubDomains" : ""}" always;`);
  }
  return h;
}

/** The complete nginx.conf. Throws RenderInputError listing every problem with the input. */
export function renderNginxConf(input: NginxConfInput): string {
  const problems = nginxInputProblems(input);
  refuseProblems("nginx", problems);
  const res = input.resolution ?? { mode: "dynamic" };
  const dynamic = res.mode === "dynamic";
  const httpPort = input.httpPort ?? 80;
  const httpsPort = input.httpsPort ?? 443;
  const healthPath = input.healthPath ?? "/healthz";
  const anyTls = input.sites.some((s) => s.tls !== "none");

  const http: string[] = [
    `include ${input.mimeTypesPath ?? "/etc/nginx/mime.types"};`,
    "default_type application/octet-stream;",
    "server_tokens off;",
    "sendfile on;",
    "tcp_nopush on;",
    "keepalive_timeout 65s;",
    `client_max_body_size ${input.clientMaxBodySize ?? "10m"};`,
    "",
    "log_format main '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent '",
    "                '\"$http_referer\" \"$http_user_agent\" rt=$request_time urt=$upstream_response_time';",
    "access_log /dev/stdout main;",
    "",
    "# WebSocket upgrade when the client asks for it; otherwise an empty Connection header keeps upstream keepalive.",
    "map $http_upgrade $connection_upgrade {",
    "  default upgrade;",
    "  '' '';",
    "}",
    "",
    "# Upstream timeouts: fail fast on connect (a restarting container refuses at once), wait for slow responses,",
    "# and retry another attempt only for errors that happen before a request reached the upstream.",
    "proxy_connect_timeout 5s;",
    "proxy_next_upstream error timeout;",
    "proxy_next_upstream_tries 2;",
    "proxy_buffering on;",
    "proxy_buffers 16 16k;",
    "proxy_buffer_size 16k;",
  ];
  if (dynamic) {
    http.push("", `resolver ${res.resolver ?? "127.0.0.11"} valid=${res.valid ?? "10s"} ipv6=off;`, "resolver_timeout 5s;");
  } else {
    for (const u of input.upstreams) {
      http.push("", `upstream ${u.name} {`, `  server ${u.host}:${u.port} max_fails=3 fail_timeout=10s;`, `  keepalive ${u.keepalive ?? 16};`, "}");
    }
  }
  if (anyTls) {
    http.push(
      "",
      "# Mozilla \"intermediate\" TLS settings.",
      "ssl_protocols TLSv1.2 TLSv1.3;",
      "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384;",
      "ssl_prefer_server_ciphers off;",
      "ssl_session_cache shared:SSL:10m;",
      "ssl_session_timeout 1d;",
      "ssl_session_tickets off;",
    );
  }

  // Default servers: unknown Host names get nothing, but ACME challenges and the container health check work.
  http.push(
    "",
    "server {",
    ...indent(
      [
        listen(input, httpPort, " default_server"),
        "server_name _;",
        ...acmeLocation(input),
        `location = ${healthPath} {`,
        "  access_log off;",
        "  default_type text/plain;",
        '  return 200 "ok\\n";',
        "}",
        "location / {",
        "  return 444;",
        "}",
      ],
      2,
    ),
    "}",
  );
  if (anyTls) {
    http.push("", "server {", ...indent([listen(input, httpsPort, " ssl default_server"), "server_name _;", "ssl_reject_handshake on;"], 2), "}");
  }

  for (const site of input.sites) {
    const tls = site.tls !== "none";
    const names = `server_name ${site.serverNames.join(" ")};`;
    const maintenance = site.maintenance
      ? [
          // nginx's own 502/504 (upstream refused or timed out) and a 503 become the page, with status 503.
          `error_page 502 503 504 =503 /${site.maintenance.page};`,
          `location = /${site.maintenance.page} {`,
          `  root ${site.maintenance.root};`,
          "  internal;",
          "  default_type text/html;",
          '  add_header Retry-After "300" always;',
          '  add_header Cache-Control "no-store" always;',
          "}",
        ]
      : [];
    // Regex locations win over every prefix route (none of which is ^~), so a hidden path never reaches the upstream.
    const hidden = (site.hiddenPaths ?? []).flatMap((h) => [`location ~* ^${h}/?$ {`, "  return 404;", "}"]);
    const locations = [...hidden, ...site.routes.flatMap((r) => location(r, input, dynamic)), ...maintenance];
    const headers = securityHeaders(tls, site.hstsMaxAge ?? 31536000, site.hstsIncludeSubdomains ?? false);
    const bodySize = site.clientMaxBodySize ? [`client_max_body_size ${site.clientMaxBodySize};`] : [];
    const redirect = tls && site.httpToHttps !== false;
    const httpPortSuffix = httpsPort === 443 ? "" : `:${httpsPort}`;
    // HTTP server: challenges always; then either the redirect or the routes.
    http.push(
      "",
      "server {",
      ...indent(
        [
          listen(input, httpPort, ""),
          names,
          ...acmeLocation(input),
          ...(redirect
            ? ["location / {", `  return 301 https://$host${httpPortSuffix}$request_uri;`, "}"]
            : [...(tls ? [] : headers), ...bodySize, ...PROXY_HEADERS, ...locations]),
        ],
        2,
      ),
      "}",
    );
    if (tls) {
      const t = site.tls as { certPath: string; keyPath: string };
      http.push(
        "",
        "server {",
        ...indent(
          [
            listen(input, httpsPort, " ssl http2"),
            names,
            `ssl_certificate ${t.certPath};`,
            `ssl_certificate_key ${t.keyPath};`,
            ...headers,
            ...bodySize,
            ...PROXY_HEADERS,
            ...locations,
          ],
          2,
        ),
        "}",
      );
    }
  }

  const lines = [
    "# Generated from the service inventory and site config; do not edit on the host.",
    "worker_processes auto;",
    "error_log stderr warn;",
    "",
    "events {",
    `  worker_connections ${input.workerConnections ?? 1024};`,
    "}",
    "",
    "http {",
    ...indent(http, 2),
    "}",
  ];
  return lines.join("\n") + "\n";
}

/** One site's nginx.conf (the brief's shape); several sites go through renderNginxConf. */
export function renderNginxSite(input: NginxSiteInput): string {
  const { serverNames, routes, tls, httpToHttps, hstsMaxAge, hstsIncludeSubdomains, clientMaxBodySize, ...rest } = input;
  return renderNginxConf({ ...rest, sites: [{ serverNames, routes, tls, httpToHttps, hstsMaxAge, hstsIncludeSubdomains, clientMaxBodySize }] });
}
