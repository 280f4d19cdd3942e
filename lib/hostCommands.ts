// Command lines for the file and bootstrap steps components run on hosts. Pure: no Pulumi imports.
import { shq } from "./shell";

/**
 * Writes stdin to `path` atomically with the given mode: the content arrives over the SSH session's stdin, so a secret
 * never sits in a local file, in argv or in the command text (which Pulumi records in state and shows in previews).
 */
export function writeFileCommand(path: string, mode: "0600" | "0640" | "0644" | "0755", owner = "root:root"): string {
  const dir = path.replace(/\/[^/]*$/, "") || "/";
  const tmp = `${path}.lazarus-tmp`;
  return [
    "set -eu",
    "umask 077",
    `mkdir -p ${shq(dir)}`,
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
 * Puts a self-signed placeholder certificate in `dir` when no certificate is there yet, so nginx can start and answer
 * the ACME challenge that replaces it. Never touches an existing certificate.
 */
export function tlsBootstrapCommand(dir: string, commonName: string): string {
  const cert = `${dir}/fullchain.pem`;
  const key = `${dir}/privkey.pem`;
  return [
    "set -eu",
    `if [ -s ${shq(cert)} ] && [ -s ${shq(key)} ]; then echo 'certificate present'; exit 0; fi`,
    `install -d -m 0750 ${shq(dir)}`,
    `openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj ${shq(`/CN=${commonName}`)} -keyout ${shq(key)} -out ${shq(cert)} 2>/dev/null`,
    `chmod 0600 ${shq(key)}`,
    "echo 'placeholder certificate created'",
  ].join("; ");
}
