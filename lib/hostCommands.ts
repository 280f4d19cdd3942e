// Command lines for the file and bootstrap steps components run on hosts. Pure: no Pulumi imports.
import type { HostProvisions } from "../renderers/cloudInit";
import { shellJoin, shq } from "./shell";

/**
 * Writes stdin to `path` atomically with the given mode: the content arrives over the SSH session's stdin, so a secret
 * never sits in a local file, in argv or in the command text (which Pulumi records in state and shows in previews).
 * Directories it creates are 0755: containers mount them and often run as non-root users (lib/imageFacts.ts), so they
 * must be able to traverse them; a secret is kept private by its own 0600 mode and owner, never by its directory. The
 * content itself lands under umask 077, so no one else can read it before its mode and owner are set.
 */
export function writeFileCommand(path: string, mode: "0600" | "0640" | "0644" | "0755", owner = "root:root"): string {
  const dir = path.replace(/\/[^/]*$/, "") || "/";
  const tmp = `${path}.lazarus-tmp`;
  return [
    "set -eu",
    "umask 022",
    `mkdir -p ${shq(dir)}`,
    "umask 077",
    `cat > ${shq(tmp)}`,
    `chmod ${mode} ${shq(tmp)}`,
    `chown ${shq(owner)} ${shq(tmp)}`,
    `mv -f ${shq(tmp)} ${shq(path)}`,
  ].join("; ");
}

/** Waits for cloud-init to finish first boot (Docker and the deploy directory exist after it). */
export function waitForCloudInitCommand(timeoutSeconds = 900): string {
  // Exit code 2 means "done, with recoverable errors" (cloud-init >= 23.4): still a usable host, reported in the log.
  return `rc=0; timeout ${timeoutSeconds} cloud-init status --wait >/dev/null || rc=$?; if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then cloud-init status --long; exit 1; fi`;
}

/**
 * Checks a server Lazarus did not boot for what cloud-init would have given it (scripts/ops/host-preflight.sh, copied
 * to scriptsRoot): the same commands, and the same directories, created when missing.
 */
export function hostPreflightCommand(provisions: HostProvisions, scriptsRoot: string): string {
  return shellJoin([
    "bash",
    `${scriptsRoot}/ops/host-preflight.sh`,
    ...provisions.commands.flatMap((c) => ["--command", c]),
    ...provisions.directories.flatMap((d) => ["--dir", `${d.mode}:${d.path}`]),
  ]);
}

/**
 * TLS for an nginx container fronted by the host's certbot. nginx reads `<tlsDir>/<certName>/{fullchain,privkey}.pem`,
 * where `<tlsDir>/<certName>` is a symlink: first to a self-signed placeholder (so nginx can start and answer the
 * ACME challenge), then to certbot's live directory, whose own links follow every renewal.
 */
export interface TlsLinkPaths {
  tlsDir: string;
  certName: string;
  /** certbot's config dir (default /etc/letsencrypt). */
  letsencryptDir?: string;
}

/** Creates the placeholder certificate and points the link at it, unless the link already exists. */
export function tlsBootstrapCommand(p: TlsLinkPaths, commonName: string): string {
  const link = `${p.tlsDir}/${p.certName}`;
  const boot = `${p.tlsDir}/${p.certName}-bootstrap`;
  return [
    "set -eu",
    `if [ -e ${shq(link)} ]; then echo 'certificate link present'; exit 0; fi`,
    `install -d -m 0755 ${shq(p.tlsDir)}`,
    `install -d -m 0700 ${shq(boot)}`,
    `openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj ${shq(`/CN=${commonName}`)} -keyout ${shq(`${boot}/privkey.pem`)} -out ${shq(`${boot}/fullchain.pem`)} 2>/dev/null`,
    `ln -sfn ${shq(boot)} ${shq(link)}`,
    "echo 'placeholder certificate linked'",
  ].join("; ");
}

/**
 * Points the link at certbot's live directory once the certificate is issued and restarts nginx (`restartCommand`)
 * when the link changed. Fails if certbot has no certificate for certName.
 */
export function tlsActivateCommand(p: TlsLinkPaths, restartCommand: string): string {
  const link = `${p.tlsDir}/${p.certName}`;
  const live = `${p.letsencryptDir ?? "/etc/letsencrypt"}/live/${p.certName}`;
  return [
    "set -eu",
    `[ -s ${shq(`${live}/fullchain.pem`)} ] || { echo ${shq(`no certificate at ${live}: was it issued?`)} >&2; exit 66; }`,
    `if [ "$(readlink ${shq(link)} || true)" = ${shq(live)} ]; then echo 'issued certificate already active'; exit 0; fi`,
    `ln -sfn ${shq(live)} ${shq(link)}`,
    restartCommand,
  ].join("; ");
}
