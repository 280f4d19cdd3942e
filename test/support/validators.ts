// Real consumers of rendered files, wrapped for tests: docker-compose config, cloud-init schema, nginx -t.
// Each takes the file text, works in a temp dir it removes, and returns { ok, output } (output = what the tool
// printed, for assertions and for readable failures).
import { spawnSync, ChildProcess, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, existsSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, isAbsolute } from "node:path";
import { parse } from "yaml";
import { portOpen, startServerProcess } from "./process";

export interface ValidatorResult {
  ok: boolean;
  output: string;
}

/** A minimal environment for validators: no variables from the developer's shell leak into interpolation. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", HOME: process.env.HOME ?? "/root", ...extra };
}

export interface ComposeConfigResult extends ValidatorResult {
  /** docker-compose's normalized output, parsed (undefined when it failed). */
  parsed?: any;
}

/**
 * `docker-compose -f <file> config` (docker-compose 1.29, the Compose Specification schema and interpolation) on the
 * text, in a temp project directory. `env` is the whole environment interpolation sees. Env files the compose file
 * names must exist for docker-compose; missing ones are created from `envFiles` or empty. `projectFiles` (paths relative
 * to the project directory) are written beside it: a build context must exist, and only what the plan ships is there.
 */
export function composeConfig(
  text: string,
  env: Record<string, string> = {},
  opts: { envFiles?: Record<string, string>; projectFiles?: Record<string, string> } = {},
): ComposeConfigResult {
  const dir = mkdtempSync(join(tmpdir(), "lazarus-compose-"));
  try {
    const file = join(dir, "docker-compose.yml");
    writeFileSync(file, text);
    let doc: any;
    try {
      doc = parse(text);
    } catch (e) {
      return { ok: false, output: `not YAML: ${(e as Error).message}` };
    }
    // Files the project ships beside the compose file (a build context's Dockerfile: docker-compose refuses a missing one).
    for (const [rel, content] of Object.entries(opts.projectFiles ?? {})) {
      const p = join(dir, rel);
      if (!p.startsWith(dir + "/")) continue;
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, content);
    }
    const names = new Set<string>(Object.keys(opts.envFiles ?? {}));
    for (const svc of Object.values<any>(doc?.services ?? {})) {
      const ef = svc?.env_file;
      for (const f of Array.isArray(ef) ? ef : ef ? [ef] : []) if (typeof f === "string") names.add(f);
    }
    for (const f of names) {
      const p = isAbsolute(f) ? f : join(dir, f);
      if (!p.startsWith(dir)) continue; // never create files outside the temp dir
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, opts.envFiles?.[f] ?? "", { mode: 0o600 });
    }
    const r = spawnSync("docker-compose", ["-f", file, "--project-directory", dir, "config"], {
      env: cleanEnv(env),
      encoding: "utf8",
      cwd: dir,
    });
    const output = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`;
    if (r.status !== 0) return { ok: false, output };
    return { ok: true, output, parsed: parse(r.stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function cloudInitSchemaFile(): string {
  // The interpreter cloud-init itself runs with (its shebang), which may not be the first python3 on PATH.
  const cli = execFileSync("sh", ["-c", "command -v cloud-init"], { encoding: "utf8" }).trim();
  const shebang = readFileSync(cli, "utf8").split("\n")[0]!.replace(/^#!\s*/, "").split(/\s+/);
  const base = execFileSync(shebang[0]!, [...shebang.slice(1), "-c", "import cloudinit,os;print(os.path.dirname(cloudinit.__file__))"], {
    encoding: "utf8",
  }).trim();
  return join(base, "config", "schemas", "schema-cloud-config-v1.json");
}

/** Every top-level key cloud-init's schema knows (22.4's schema does not reject unknown keys itself). */
export function cloudInitKnownKeys(): Set<string> {
  const schema = JSON.parse(readFileSync(cloudInitSchemaFile(), "utf8"));
  const keys = new Set<string>();
  for (const def of Object.values<any>(schema.$defs ?? {})) for (const k of Object.keys(def?.properties ?? {})) keys.add(k);
  return keys;
}

/**
 * `cloud-init schema --config-file <file>` (re-run with --annotate on failure for a readable error), plus a check
 * that every top-level key is one cloud-init knows: a misspelt key (e.g. `package_upgarde`) would otherwise be
 * ignored silently at boot.
 */
export function cloudInitSchema(text: string): ValidatorResult {
  const dir = mkdtempSync(join(tmpdir(), "lazarus-cloudinit-"));
  try {
    const file = join(dir, "user-data");
    writeFileSync(file, text);
    const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8", env: cleanEnv() });
    let output = `${r.stdout ?? ""}${r.stderr ?? ""}`;
    if (r.status !== 0) {
      const a = spawnSync("cloud-init", ["schema", "--config-file", file, "--annotate"], { encoding: "utf8", env: cleanEnv() });
      output += `\n${a.stdout ?? ""}${a.stderr ?? ""}`;
      return { ok: false, output };
    }
    let doc: any;
    try {
      doc = parse(text);
    } catch (e) {
      return { ok: false, output: `${output}\nnot YAML: ${(e as Error).message}` };
    }
    const known = cloudInitKnownKeys();
    const unknown = Object.keys(doc ?? {}).filter((k) => !known.has(k));
    if (unknown.length) return { ok: false, output: `${output}\nunknown top-level keys: ${unknown.join(", ")}` };
    return { ok: true, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface SelfSignedCert {
  certPath: string;
  keyPath: string;
}

/** A self-signed certificate (RSA 2048, 2 days) for `names`, written into dir (key 0600). */
export function selfSignedCert(dir: string, names: string[], base = "site"): SelfSignedCert {
  const certPath = join(dir, `${base}.crt`);
  const keyPath = join(dir, `${base}.key`);
  const san = names.map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  const r = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${names[0]}`, "-addext", `subjectAltName=${san}`, "-keyout", keyPath, "-out", certPath],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  chmodSync(keyPath, 0o600);
  return { certPath, keyPath };
}

export interface NginxSandbox {
  /** Temp dir holding everything: prefix, hosts file, pid, logs, nginx's temp paths, mirrored files. */
  dir: string;
  /** nginx's stdout (the access log). */
  stdoutFile: string;
  confPath: string;
  /** The argv (after `unshare`) that runs a shell preparing the mount namespace and then `exec nginx <args>`. */
  argv(nginxArgs: string[]): string[];
  destroy(): void;
}

export interface NginxFiles {
  /** Upstream host names (compose service names) that resolve to 127.0.0.1 inside the sandbox. */
  hosts?: string[];
  /** Self-signed certificates generated at these absolute paths (e.g. /etc/letsencrypt/live/x/fullchain.pem). */
  certs?: Array<{ certPath: string; keyPath: string; names: string[] }>;
  /** Plain files made visible at these absolute paths (e.g. an ACME challenge under the webroot). */
  files?: Record<string, string>;
}

/**
 * A private mount namespace for nginx (unshare -m; needs root, which the tests have):
 * - /etc/hosts is replaced by a temp file mapping `hosts` to 127.0.0.1, so `upstream backend { server backend:3000; }`
 *   resolves exactly as it would on the compose network, without editing the machine's /etc/hosts. (The rendered
 *   config's default "dynamic" mode needs no resolution at load time; the "static" mode does, and this is how the
 *   tests check it with the real names.)
 * - Debian's compiled-in temp dir (/var/lib/nginx) is replaced by a temp dir, so nginx creates its temp paths there.
 * - Files and certificates the config names at production paths (/etc/letsencrypt/live/..., /var/www/certbot/...)
 *   are created in the upper dir of an overlay mounted on the deepest existing directory above them (its contents
 *   stay visible), so the config under test is the production config, byte for byte.
 * Nothing outside the temp dir is written; the namespace disappears with the process.
 */
export function nginxSandbox(text: string, opts: NginxFiles = {}): NginxSandbox {
  if (process.getuid?.() !== 0) throw new Error("nginxTest/nginxServe run nginx in a private mount namespace (unshare -m): run the tests as root");
  const dir = mkdtempSync(join(tmpdir(), "lazarus-nginx-"));
  const confPath = join(dir, "nginx.conf");
  writeFileSync(confPath, text);
  const hostsFile = join(dir, "hosts");
  writeFileSync(hostsFile, ["127.0.0.1 localhost", ...(opts.hosts ?? []).map((h) => `127.0.0.1 ${h}`)].join("\n") + "\n");
  const varLib = join(dir, "var-lib-nginx");
  mkdirSync(varLib);
  mkdirSync(join(dir, "logs"));
  const stdoutFile = join(dir, "logs", "stdout.log");
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

  // Files at production paths: each goes into the upper dir of an overlay mounted on the deepest existing directory
  // above it (the anchor), so the anchor's own contents stay visible and nothing is written to the real directory.
  const anchors = new Map<string, { upper: string; work: string }>();
  const place = (absPath: string): string => {
    if (!isAbsolute(absPath)) throw new Error(`sandbox path must be absolute: ${absPath}`);
    let anchor = dirname(absPath);
    while (!existsSync(anchor)) anchor = dirname(anchor);
    if (anchor === "/") throw new Error(`refusing to overlay / to place ${absPath}`);
    if (!anchors.has(anchor)) {
      const m = join(dir, "overlay", String(anchors.size));
      mkdirSync(join(m, "upper"), { recursive: true });
      mkdirSync(join(m, "work"), { recursive: true });
      anchors.set(anchor, { upper: join(m, "upper"), work: join(m, "work") });
    }
    const target = join(anchors.get(anchor)!.upper, absPath.slice(anchor.length));
    mkdirSync(dirname(target), { recursive: true });
    return target;
  };
  for (const [p, content] of Object.entries(opts.files ?? {})) writeFileSync(place(p), content);
  for (const c of opts.certs ?? []) {
    const tmp = mkdtempSync(join(dir, "cert-"));
    const made = selfSignedCert(tmp, c.names);
    writeFileSync(place(c.certPath), readFileSync(made.certPath));
    writeFileSync(place(c.keyPath), readFileSync(made.keyPath), { mode: 0o600 });
    rmSync(tmp, { recursive: true, force: true });
  }
  return {
    dir,
    confPath,
    stdoutFile,
    argv(nginxArgs: string[]) {
      const script = [
        "set -e",
        "mount --make-rprivate /",
        // Shallow overlays first, so deeper ones and the binds below land on top of them, not underneath.
        ...[...anchors]
          .sort(([a], [b]) => a.split("/").length - b.split("/").length)
          .map(([anchor, o]) => `mount -t overlay lazarus-test -o ${q(`lowerdir=${anchor},upperdir=${o.upper},workdir=${o.work}`)} ${q(anchor)}`),
        `mount --bind ${q(hostsFile)} /etc/hosts`,
        ...(existsSync("/var/lib/nginx") ? [`mount --bind ${q(varLib)} /var/lib/nginx`] : []),
        // Access logs go to /dev/stdout (the container's log); opening it fails when stdout is a socket, as the
        // test runner's pipes are, so stdout is a file in the sandbox.
        `exec nginx ${nginxArgs.map(q).join(" ")} >>${q(stdoutFile)}`,
      ].join("\n");
      return ["-m", "sh", "-c", script];
    },
    destroy() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function nginxBaseArgs(sb: NginxSandbox, extraGlobal = ""): string[] {
  return ["-c", sb.confPath, "-p", sb.dir + "/", "-e", join(sb.dir, "logs", "error.log"), "-g", `pid ${join(sb.dir, "nginx.pid")};${extraGlobal}`];
}

/** `nginx -t` as root on the text inside nginxSandbox (see there); everything it writes stays in a temp dir. */
export function nginxTest(text: string, opts: NginxFiles = {}): ValidatorResult {
  const sb = nginxSandbox(text, opts);
  try {
    const r = spawnSync("unshare", sb.argv(["-t", ...nginxBaseArgs(sb)]), { encoding: "utf8", env: cleanEnv() });
    const output = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`;
    return { ok: r.status === 0, output };
  } finally {
    sb.destroy();
  }
}

export interface RunningNginx {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs nginx for real (foreground, in the same sandbox as nginxTest) until stop(). Waits until `port` accepts
 * connections on 127.0.0.1.
 */
export async function nginxServe(text: string, port: number, opts: NginxFiles = {}): Promise<RunningNginx> {
  const sb = nginxSandbox(text, opts);
  const server = await startServerProcess(`nginx on port ${port}`, "unshare", sb.argv(nginxBaseArgs(sb, " daemon off;")), () => portOpen(port), {
    spawn: { env: cleanEnv() },
    onStop: () => sb.destroy(),
  });
  return {
    process: server.child,
    output: () => server.output() + (existsSync(sb.stdoutFile) ? readFileSync(sb.stdoutFile, "utf8") : ""),
    stop: server.stop,
  };
}
