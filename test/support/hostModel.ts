// A stand-in for a host running `docker compose up -d --wait`, strict where the fake `docker` (test/support/fake-docker)
// is permissive: it answers "would this plan's compose project come up on a fresh host?" from the plan alone.
//
// What it models:
//   - the host's filesystem: a fresh Ubuntu droplet after cloud-init (renderers/cloudInit.ts hostProvisions: the deploy
//     dir 0750, the ACME webroot; the system paths containers mount), then every plan command made of simple file
//     steps, run in plan order (the file writers of lib/hostCommands.ts, `prepare`): umask, mkdir -p, install -d, cat >,
//     chmod, chown, mv, ln -s, cd. A command with anything else (a script, an `if`) changes nothing here;
//   - the REAL rendered compose file: every bind-mount source must exist (Docker creates a missing one as an empty
//     root-owned directory, so a file the service reads is not there) and be a file where the target is a file; the
//     container's user (lib/imageFacts.ts; an overridden entrypoint runs as the image's USER) must be able to read every
//     mounted file and list and traverse every directory inside a mounted directory. Parents ABOVE a mount source do not
//     matter: dockerd (root) resolves them, the container sees the mount from its root down;
//   - health checks and every `docker compose exec|run` in the plan's commands may call only programs the image has
//     (lib/imageFacts.ts); a CMD-SHELL check needs a shell;
//   - named volumes must be declared; `depends_on` is honoured in start order: a service starts only after each
//     dependency reached its condition, `service_healthy` needs a health check, and a failed service fails its dependents.
// What it does not model (only a real Docker engine shows it): image pulls and registry auth, what the entrypoints and
// programs do with the files (a config they refuse), networking and ports, resource limits, timing (start periods,
// health-check retries), SELinux/AppArmor, files inside the images beyond the facts table, and commands it cannot parse.
import { parse } from "yaml";
import type { Plan } from "../../cli/planner";
import { HOST_LAYOUT } from "../../lib/hostLayout";
import { containerUser, imageFacts, type ContainerUser } from "../../lib/imageFacts";
import { hostProvisions } from "../../renderers/cloudInit";
import { T } from "./resourceTypes";

export interface HostNode {
  kind: "file" | "dir" | "socket" | "link";
  mode: number;
  uid: number;
  gid: number;
  /** For links: the target path. */
  target?: string;
}

/** A host filesystem: absolute path → node. Directories are implicit parents only when listed. */
export type HostFs = Map<string, HostNode>;

const dirNode = (mode: number, uid = 0, gid = 0): HostNode => ({ kind: "dir", mode, uid, gid });

/** A fresh Ubuntu droplet after cloud-init, with what compose services here mount from the host itself. */
export function freshHost(deployDir: string): HostFs {
  const fs: HostFs = new Map();
  for (const [path, mode] of [
    ["/", 0o755], ["/root", 0o700], ["/etc", 0o755], ["/opt", 0o755], ["/var", 0o755], ["/var/www", 0o755], ["/var/run", 0o755],
    ["/var/lib", 0o755], ["/var/lib/docker", 0o710], ["/sys", 0o555], ["/etc/letsencrypt", 0o755], ["/etc/letsencrypt/renewal-hooks", 0o755],
    ["/etc/ssl", 0o755],
    // HostSoftware's CopyToRemote ships scripts/ here (0755 directories, scripts made 0755 by the scripts-mode step).
    ["/opt/lazarus", 0o755], [HOST_LAYOUT.scriptsRoot, 0o755],
    // tls-bootstrap (`install -d -m 0755`, behind an `if` this model does not run) creates the link directory.
    [HOST_LAYOUT.tlsDir, 0o755],
  ] as const) fs.set(path, dirNode(mode));
  fs.set("/var/run/docker.sock", { kind: "socket", mode: 0o660, uid: 0, gid: 0 });
  for (const d of hostProvisions({ deployDir, acmeWebroot: HOST_LAYOUT.acmeWebroot }).directories) {
    mkdirP(fs, d.path, 0o022);
    const [uid, gid] = (("owner" in d && d.owner) || "root:root").split(":").map((n) => (n === "root" ? 0 : Number(n)));
    fs.set(d.path, dirNode(parseInt(d.mode, 8), uid, gid));
  }
  return fs;
}

function parentOf(path: string): string {
  return path.replace(/\/[^/]+$/, "") || "/";
}

function mkdirP(fs: HostFs, path: string, umask: number, mode = 0o777): void {
  if (path === "/" || fs.has(path)) return;
  mkdirP(fs, parentOf(path), umask);
  fs.set(path, dirNode(mode & ~umask));
}

/** Splits a command line into statements of words: quotes honoured, `;` and `&&` separate, anything else is a word. */
export function shellStatements(text: string): string[][] {
  const statements: string[][] = [[]];
  let word: string | undefined;
  const end = () => {
    if (word !== undefined) statements[statements.length - 1].push(word);
    word = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      word = (word ?? "") + text.slice(i + 1, close);
      i = close;
    } else if (c === '"') {
      let j = i + 1;
      let s = "";
      for (; text[j] !== '"'; j++) s += text[j] === "\\" ? text[++j] : text[j];
      word = (word ?? "") + s;
      i = j;
    } else if (c === "\\") word = (word ?? "") + text[++i];
    else if (c === ";" || (c === "&" && text[i + 1] === "&")) {
      end();
      statements.push([]);
      if (c === "&") i++;
    } else if (/\s/.test(c)) end();
    else word = (word ?? "") + c;
  }
  end();
  return statements.filter((s) => s.length > 0);
}

const FILE_STEPS = new Set(["set", "umask", "mkdir", "install", "cat", "chmod", "chown", "mv", "ln", "cd"]);

/** Applies one plan command to the filesystem if it is made only of simple file steps; returns whether it did. */
export function applyFileCommand(fs: HostFs, command: string): boolean {
  const statements = shellStatements(command);
  if (!statements.every((s) => FILE_STEPS.has(s[0]))) return false;
  let umask = 0o022;
  let cwd = "/root";
  const abs = (p: string) => (p.startsWith("/") ? p : `${cwd}/${p}`);
  for (const [cmd, ...args] of statements) {
    const operands = args.filter((a) => !a.startsWith("-"));
    if (cmd === "umask") umask = parseInt(args[0], 8);
    else if (cmd === "cd") cwd = abs(args[0]);
    else if (cmd === "mkdir") operands.forEach((p) => mkdirP(fs, abs(p), umask));
    else if (cmd === "install") {
      const mode = args[args.indexOf("-m") + 1];
      const path = abs(args[args.length - 1]);
      mkdirP(fs, path, umask);
      fs.set(path, { ...fs.get(path)!, mode: parseInt(mode, 8) });
    } else if (cmd === "cat") {
      const path = abs(args[args.indexOf(">") + 1] ?? args[0].replace(/^>/, ""));
      if (!fs.has(parentOf(path))) throw new Error(`host model: cat > ${path}: no such directory`);
      fs.set(path, { kind: "file", mode: 0o666 & ~umask, uid: 0, gid: 0 });
    } else if (cmd === "chmod") fs.set(abs(operands[1]), { ...existing(fs, abs(operands[1])), mode: parseInt(operands[0], 8) });
    else if (cmd === "chown") {
      const [user, group] = operands[0].split(":");
      const id = (n: string) => (n === "root" ? 0 : Number(n));
      const node = existing(fs, abs(operands[1]));
      fs.set(abs(operands[1]), { ...node, uid: id(user), gid: group === undefined ? node.gid : id(group) });
    } else if (cmd === "mv") {
      const [from, to] = operands.map(abs);
      fs.set(to, existing(fs, from));
      fs.delete(from);
    } else if (cmd === "ln") fs.set(abs(operands[1]), { kind: "link", mode: 0o777, uid: 0, gid: 0, target: operands[0] });
  }
  return true;
}

function existing(fs: HostFs, path: string): HostNode {
  const node = fs.get(path);
  if (!node) throw new Error(`host model: ${path}: no such file or directory`);
  return node;
}

/** Whether `user` may read (r), write (w) or search/execute (x) a node, as the kernel decides it (root reads all). */
export function may(node: HostNode, user: ContainerUser, want: "r" | "w" | "x"): boolean {
  const bit = { r: 4, w: 2, x: 1 }[want];
  if (user.uid === 0) return want !== "x" || node.kind === "dir" || (node.mode & 0o111) !== 0;
  const shift = node.uid === user.uid ? 6 : node.gid === user.gid ? 3 : 0;
  return ((node.mode >> shift) & bit) !== 0;
}

const fmt = (n: HostNode) => `${n.kind === "dir" ? "d" : "-"}${(n.mode & 0o777).toString(8).padStart(4, "0")} ${n.uid}:${n.gid}`;

interface ComposeService {
  image: string;
  user?: string;
  entrypoint?: string[] | string;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string; disable?: boolean };
}

/** The user a service's process runs as: compose `user:`, else the image's (its USER when the entrypoint is replaced). */
export function serviceUser(service: ComposeService): ContainerUser {
  return containerUser(service);
}

const SHELL_WORDS = new Set([
  "set", "cd", "echo", "exit", "trap", "command", "test", "[", "]", "true", "false", "export", "printf", "shift", "return",
  "exec", "eval", ".", "if", "then", "else", "elif", "fi", "for", "while", "do", "done", "case", "esac", "in", "!", "local", "read",
]);

/** The programs a shell script calls: the first word of every simple command (builtins, variables and strings aside). */
export function programsInShell(script: string): string[] {
  // Compose's `$$` is the container shell's `$`; quoted strings and `${VAR...}` expansions are words, never commands.
  const masked = script.replace(/\$\$/g, "$").replace(/'[^']*'/g, "''").replace(/\$\{[^}]*\}/g, "$V");
  // `!` negates a command; `!=` is test's operator, not a command boundary.
  const segments = masked.split(/;|&&|\|\||\||\$\(|`|\(|\)|\{|\}|\bthen\b|\bdo\b|\belse\b|!(?!=)/);
  const programs: string[] = [];
  for (const segment of segments) {
    const words = segment.trim().split(/\s+/).filter((w) => w && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    const first = words[0];
    if (!first || SHELL_WORDS.has(first) || /^[$"'<>0-9-]/.test(first)) continue;
    programs.push(first);
  }
  return programs;
}

/** What an argv (exec form) needs from the image: its program, and when it is `sh -c` / `bash -c`, what the script calls. */
function programsOf(argv: string[]): string[] {
  const program = argv[0].replace(/^.*\//, "");
  const c = argv.indexOf("-c");
  return ["sh", "bash"].includes(program) && c > 0 ? [program, ...programsInShell(argv[c + 1] ?? "")] : [program];
}

function missingPrograms(image: string, programs: string[]): string[] {
  const has = new Set(imageFacts(image).executables);
  return [...new Set(programs.filter((p) => !has.has(p)))];
}

export interface UpResult {
  /** Services in the order they started (each after its dependencies reached their conditions). */
  started: string[];
  /** service → why it would fail (or never start); empty when `up --wait` succeeds. */
  failures: Record<string, string[]>;
}

/**
 * `docker compose up -d --wait` of the compose file at `composePath` on a host whose filesystem is `fs`.
 * Problems are phrased as Docker and the container would report them.
 */
export function composeUpWait(fs: HostFs, composePath: string, composeText: string): UpResult {
  const project = parse(composeText) as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
  const dir = parentOf(composePath);
  const declaredVolumes = new Set(Object.keys(project.volumes ?? {}));
  const own: Record<string, string[]> = {};
  for (const [name, service] of Object.entries(project.services)) own[name] = serviceProblems(fs, dir, service, declaredVolumes);

  const failures: Record<string, string[]> = {};
  const started: string[] = [];
  const state = new Map<string, "healthy" | "running" | "failed">();
  const remaining = new Set(Object.keys(project.services));
  while (remaining.size) {
    const ready = [...remaining].filter((name) => dependencies(project.services[name]).every(([dep]) => state.has(dep) || !project.services[dep]));
    if (!ready.length) {
      for (const name of remaining) failures[name] = [`dependency cycle among ${[...remaining].join(", ")}`];
      break;
    }
    for (const name of ready) {
      remaining.delete(name);
      const problems = [...own[name]];
      for (const [dep, condition] of dependencies(project.services[name])) {
        const depService = project.services[dep];
        if (!depService) problems.push(`depends on undefined service "${dep}"`);
        else if (condition === "service_healthy" && !hasHealthcheck(depService)) problems.push(`dependency ${dep} has no healthcheck configured (condition service_healthy)`);
        else if (condition === "service_completed_successfully") problems.push(`dependency ${dep}: condition ${condition} is not modelled`);
        else if (state.get(dep) === "failed") problems.push(`dependency failed to start: ${dep}`);
      }
      if (problems.length) {
        failures[name] = problems;
        state.set(name, "failed");
      } else {
        started.push(name);
        state.set(name, hasHealthcheck(project.services[name]) ? "healthy" : "running");
      }
    }
  }
  return { started, failures };
}

function dependencies(service: ComposeService): [string, string][] {
  const d = service.depends_on ?? {};
  return Array.isArray(d) ? d.map((n) => [n, "service_started"]) : Object.entries(d).map(([n, v]) => [n, v.condition]);
}

function hasHealthcheck(service: ComposeService): boolean {
  const test = service.healthcheck?.test;
  return !!test && !service.healthcheck?.disable && !(Array.isArray(test) && test[0] === "NONE");
}

function serviceProblems(fs: HostFs, dir: string, service: ComposeService, declaredVolumes: Set<string>): string[] {
  const problems: string[] = [];
  let user: ContainerUser;
  try {
    user = serviceUser(service);
  } catch (e) {
    return [(e as Error).message];
  }
  for (const volume of service.volumes ?? []) {
    const [source, target] = volume.split(":");
    if (!source.startsWith("/") && !source.startsWith(".")) {
      if (!declaredVolumes.has(source)) problems.push(`service refers to undefined volume ${source}`);
      continue;
    }
    const path = source.startsWith("/") ? source.replace(/\/$/, "") || "/" : `${dir}/${source.replace(/^\.\//, "").replace(/\/$/, "")}`;
    problems.push(...mountProblems(fs, path, target, user));
  }
  const test = service.healthcheck?.test;
  if (test && hasHealthcheck(service)) {
    const [kind, ...rest] = Array.isArray(test) ? test : ["CMD-SHELL", test];
    const programs = kind === "CMD-SHELL" ? ["sh", ...programsInShell(rest.join(" "))] : programsOf(rest);
    const missing = missingPrograms(service.image, programs);
    if (missing.length) problems.push(`health check runs ${missing.join(", ")}, which ${service.image} does not have: never healthy`);
  }
  return problems;
}

function mountProblems(fs: HostFs, path: string, target: string, user: ContainerUser): string[] {
  const node = fs.get(path);
  if (!node) {
    return [`bind source ${path} does not exist: Docker creates it as an empty root-owned directory, and ${target} is not what the service reads`];
  }
  const resolved = node.kind === "link" ? fs.get(node.target!.startsWith("/") ? node.target! : `${parentOf(path)}/${node.target}`) : node;
  if (!resolved) return [`bind source ${path} is a dangling link`];
  if (resolved.kind === "dir" && /\.[A-Za-z0-9]+$/.test(target)) return [`bind source ${path} is a directory mounted onto the file ${target}: not a directory`];
  if (resolved.kind === "socket") return [];
  if (resolved.kind === "file") return may(resolved, user, "r") ? [] : [`uid ${user.uid} cannot read ${path} (${fmt(resolved)}): permission denied`];
  // A directory: the service lists and reads what the plan put inside it, at every depth. Host system directories
  // (/, /sys, /var/run, ...) are mounted for root-run agents; only planned contents are checked.
  const problems: string[] = [];
  const inside = [...fs.entries()].filter(([p]) => p === path || p.startsWith(`${path}/`)).sort(([a], [b]) => a.localeCompare(b));
  for (const [p, n] of inside) {
    if (n.kind === "dir" && !(may(n, user, "r") && may(n, user, "x"))) problems.push(`uid ${user.uid} cannot list ${p} (${fmt(n)}) in the mount at ${target}: permission denied`);
    if (n.kind === "file" && !may(n, user, "r")) problems.push(`uid ${user.uid} cannot read ${p} (${fmt(n)}) in the mount at ${target}: permission denied`);
  }
  return problems;
}

/** The command resources of a plan that act on one compose project, in plan order. */
export interface HostRun {
  host: string;
  composePath: string;
  fs: HostFs;
  up: UpResult;
  /** `docker compose exec|run` calls in the plan's commands whose program the service's image lacks. */
  execProblems: string[];
}

/**
 * Builds each compose host of a plan (every writer and prepare step applied to a fresh host), then runs `up --wait`
 * on its real rendered compose file and checks every exec in the plan's commands against the service's image.
 */
export function runPlanOnHosts(plan: Plan): HostRun[] {
  const composeFiles = plan.files.filter((f) => /\/(docker-compose[^/]*|compose)\.ya?ml$/.test(f.path));
  const commands = plan.resources.filter((r) => r.type === T.command);
  return composeFiles.map((compose) => {
    const dir = parentOf(compose.path);
    const prefix = compose.host.replace(/-software$/, "");
    const own = commands.filter((c) => c.name.startsWith(`${prefix}-`));
    const fs = freshHost(dir);
    for (const c of own) applyFileCommand(fs, String(c.inputs.create ?? ""));
    const execProblems = own.flatMap((c) => composeExecProblems(compose.content!, String(c.inputs.create ?? "")).map((p) => `${c.name}: ${p}`));
    return { host: compose.host, composePath: compose.path, fs, up: composeUpWait(fs, compose.path, compose.content!), execProblems };
  });
}

/** The `docker compose exec|run` calls in a command whose program the service's image (in the compose file) lacks. */
export function composeExecProblems(composeText: string, command: string): string[] {
  const services = (parse(composeText) as { services: Record<string, ComposeService> }).services;
  const problems: string[] = [];
  for (const statement of shellStatements(command)) {
    const call = composeCall(statement);
    if (!call) continue;
    const service = services[call.service];
    if (!service) {
      problems.push(`${call.verb} ${call.service}: no such service`);
      continue;
    }
    const missing = missingPrograms(service.image, programsOf(call.argv));
    if (missing.length) problems.push(`${call.verb} ${call.service} runs ${missing.join(", ")}, which ${service.image} does not have`);
  }
  return problems;
}

/** One `docker compose [global options] exec|run [options] SERVICE ARGV...` call, options kept. */
export interface ComposeCall {
  verb: string;
  /** The -f/--file value, when given. */
  file?: string;
  service: string;
  argv: string[];
  /** -e/--env K=V, in order. */
  env: string[];
  /** -u/--user. */
  user?: string;
  /** Options without a value (-T, --rm, ...). */
  flags: string[];
}

/** The compose exec|run call in one statement's words, if there is one. */
export function composeCall(words: string[]): ComposeCall | undefined {
  const at = words.findIndex((w, i) => w === "docker" && words[i + 1] === "compose");
  if (at < 0) return undefined;
  let i = at + 2;
  let file: string | undefined;
  for (; ["-p", "-f", "--project-name", "--project-directory", "--file"].includes(words[i]); i += 2) if (["-f", "--file"].includes(words[i])) file = words[i + 1];
  const verb = words[i];
  if (verb !== "exec" && verb !== "run") return undefined;
  const call: ComposeCall = { verb, file, service: "", argv: [], env: [], flags: [] };
  for (i++; words[i]?.startsWith("-"); i++) {
    const option = words[i];
    if (["-e", "--env"].includes(option)) call.env.push(words[++i]);
    else if (["-u", "--user"].includes(option)) call.user = words[++i];
    else if (["-w", "--workdir"].includes(option)) i++;
    else call.flags.push(option);
  }
  if (!words[i]) return undefined;
  return { ...call, service: words[i], argv: words.slice(i + 1) };
}

/** How Docker refuses an exec: compose's exit status and message. */
export interface ExecRefusal {
  code: number;
  message: string;
}

/**
 * What Docker answers to `docker compose exec SERVICE ARGV` before the command does anything: a service the compose file
 * lacks or that is not running, a program the image does not ship (the runtime cannot start it: 126), or one the
 * `sh -c` / `bash -c` script calls (the shell cannot find it: 127; the real shell would first run what comes before it).
 * Undefined when the exec would start.
 */
export function composeExecRefusal(composeText: string, call: Pick<ComposeCall, "service" | "argv">, running: ReadonlySet<string>): ExecRefusal | undefined {
  const service = (parse(composeText) as { services: Record<string, ComposeService> }).services[call.service];
  if (!service) return { code: 1, message: `no such service: ${call.service}` };
  if (!running.has(call.service)) return { code: 1, message: `service "${call.service}" is not running` };
  const [program, ...inScript] = programsOf(call.argv);
  if (missingPrograms(service.image, [program]).length) {
    return { code: 126, message: `OCI runtime exec failed: exec failed: unable to start container process: exec: "${call.argv[0]}": executable file not found in $PATH: unknown` };
  }
  const [missing] = missingPrograms(service.image, inScript);
  if (missing) return { code: 127, message: program === "bash" ? `bash: line 1: ${missing}: command not found` : `${program}: 1: ${missing}: not found` };
  return undefined;
}
