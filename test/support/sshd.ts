// A real OpenSSH server for tests: Debian's /usr/sbin/sshd in the foreground (-D -e) on 127.0.0.1 and a free port,
// with its own host key, config and authorized ed25519 key generated here, in a temp dir removed by stop().
// sshExec runs a command over a real SSH login as the current user (root in CI: PermitRootLogin prohibit-password),
// exactly as `command.remote.Command` does on a real host: the remote user's shell runs the command string.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { shellQuote } from "../../lib/opsCommands";
import { freePort } from "./ports";

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SshExecOptions {
  /** Variables exported in the remote shell before the command runs (e.g. PATH with a test bin dir first). */
  env?: Record<string, string>;
  /** Data written to the remote command's stdin. */
  input?: string;
  /** Kill the ssh client and fail after this many milliseconds (default 300000), so a hung command cannot hang a test. */
  timeoutMs?: number;
}

export interface SshServer {
  host: string;
  port: number;
  user: string;
  baseDir: string;
  /** The client's private key (ed25519, no passphrase), authorized for `user`. */
  keyFile: string;
  /** The ssh client arguments to reach this server (without the remote command). */
  sshArgs: string[];
  sshExec(command: string, options?: SshExecOptions): Promise<SshResult>;
  /** sshd's own log (its stderr, thanks to -e). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartSshdOptions {
  /**
   * The sshd to run (default: $SSHD_BIN, else /usr/sbin/sshd), e.g. a wrapper that starts it in a private mount
   * namespace (test/support/planOverSsh.ts). Read when the server starts, not when this module loads.
   */
  sshdBin?: string;
  /**
   * Variables sshd sets in every session's environment (sshd_config `SetEnv`), standing for the host's own environment:
   * what a client that cannot export them first (the command provider, which sends only the command text) still sees.
   */
  setEnv?: Record<string, string>;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
}

export async function startSshd(options: StartSshdOptions = {}): Promise<SshServer> {
  const SSHD = options.sshdBin ?? process.env.SSHD_BIN ?? "/usr/sbin/sshd";
  const baseDir = mkdtempSync(join(tmpdir(), "lazarus-sshd-"));
  chmodSync(baseDir, 0o700);
  const port = await freePort();
  const user = userInfo().username;
  const hostKey = join(baseDir, "ssh_host_ed25519_key");
  const keyFile = join(baseDir, "client_ed25519");
  const authorizedKeys = join(baseDir, "authorized_keys");
  const config = join(baseDir, "sshd_config");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "lazarus-test-host", "-f", hostKey]);
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "lazarus-test-client", "-f", keyFile]);
  writeFileSync(authorizedKeys, readFileSync(`${keyFile}.pub`), { mode: 0o600 });
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(baseDir, "sshd.pid")}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      "PermitRootLogin prohibit-password",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      // PAM would try to open a login session (loginuid, limits) that a test container may refuse.
      "UsePAM no",
      // The key files live under /tmp, which StrictModes rejects as a world-writable path component.
      "StrictModes no",
      "PrintMotd no",
      // What Debian's own sshd_config enables: the command provider's CopyToRemote copies over SFTP.
      "Subsystem sftp internal-sftp",
      "LogLevel VERBOSE",
      // One SetEnv line: sshd keeps only the first line of a keyword.
      ...(options.setEnv && Object.keys(options.setEnv).length
        ? [
            `SetEnv ${Object.entries(options.setEnv)
              .map(([k, v]) => {
                if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || /["\s]/.test(v)) throw new Error(`SetEnv cannot carry ${k}=${v}`);
                return `${k}=${v}`;
              })
              .join(" ")}`,
          ]
        : []),
      "",
    ].join("\n"),
  );
  // sshd refuses to start without its privilege separation directory, which systemd normally creates.
  if (!existsSync("/run/sshd")) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  run(SSHD, ["-t", "-f", config]);

  let log = "";
  const proc: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  proc.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  let exited = false;
  proc.on("exit", () => {
    exited = true;
  });

  const sshArgs = [
    "-i", keyFile,
    "-p", String(port),
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=10",
    `${user}@127.0.0.1`,
  ];

  const sshExec = (command: string, options: SshExecOptions = {}): Promise<SshResult> =>
    new Promise((resolve, reject) => {
      const exports = Object.entries(options.env ?? {})
        .map(([k, v]) => {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad environment variable name: ${k}`);
          return `export ${k}=${shellQuote(v)}; `;
        })
        .join("");
      const child = spawn("ssh", [...sshArgs, exports + command], { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`ssh command timed out after ${options.timeoutMs ?? 300_000} ms: ${command}\nstderr so far:\n${stderr}`));
      }, options.timeoutMs ?? 300_000);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      // A command that exits without reading its input (or a session refused early) closes the pipe first: that is
      // the command's result, reported by "close", not an error of the harness.
      child.stdin.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code !== "EPIPE") reject(e);
      });
      child.stdin.end(options.input ?? "");
    });

  const server: SshServer = {
    host: "127.0.0.1",
    port,
    user,
    baseDir,
    keyFile,
    sshArgs,
    sshExec,
    log: () => log,
    async stop() {
      if (!exited) {
        const done = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
        proc.kill("SIGTERM");
        await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
        if (!exited) proc.kill("SIGKILL");
      }
      rmSync(baseDir, { recursive: true, force: true });
    },
  };

  // Ready when a real login succeeds.
  for (let attempt = 0; ; attempt++) {
    if (exited) {
      rmSync(baseDir, { recursive: true, force: true });
      throw new Error(`sshd exited during startup: ${log}`);
    }
    const r = await sshExec("true");
    if (r.code === 0) break;
    if (attempt >= 50) {
      await server.stop();
      throw new Error(`could not log in to the test sshd on port ${port}: ${r.stderr}\nsshd log:\n${log}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return server;
}
