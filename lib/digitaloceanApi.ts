// Calls to the DigitalOcean API that the provider does not offer as resources (promoting a database replica), as
// command lines for a `command.local.Command`. Pure. The token never appears in the command: curl reads the
// Authorization header from stdin (`-H @-`), which the command resource fills from a Pulumi secret.
import { shellCommand, shq } from "./shell";
import { refuseField } from "../renderers/renderInputError";

export const DIGITALOCEAN_API = "https://api.digitalocean.com";

/** What the command's stdin must hold: the header curl reads with `-H @-`. */
export function bearerHeader(token: string): string {
  return `Authorization: Bearer ${token.trim()}\n`;
}

/**
 * `PUT /v2/databases/{cluster}/replicas/{replica}/promote` (no body; 204 No Content on success): the replica leaves
 * replication and becomes a standalone primary cluster. Irreversible: `warning` is printed first so the preview and
 * the log say so. Fails (non-zero) on any HTTP status but 204.
 */
export function promoteReplicaCommand(o: { clusterId: string; replicaName: string; warning: string; apiBase?: string }): string {
  const fn = "promoteReplicaCommand";
  if (!/^[A-Za-z0-9-]+$/.test(o.clusterId)) refuseField(fn, "clusterId", `${JSON.stringify(o.clusterId)} is not a cluster id (example: 9cc10173-e9ea-4176-9dbc-a4cee4c4ff30)`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(o.replicaName)) refuseField(fn, "replicaName", `${JSON.stringify(o.replicaName)} is not a replica name (example: dbis-prod-db-replica)`);
  const base = (o.apiBase ?? DIGITALOCEAN_API).replace(/\/+$/, "");
  if (!/^https?:\/\/[^\s/]+$/.test(base)) refuseField(fn, "apiBase", `${JSON.stringify(base)} is not an API base URL (example: ${DIGITALOCEAN_API})`);
  const url = `${base}/v2/databases/${o.clusterId}/replicas/${o.replicaName}/promote`;
  const curl = shellCommand("curl", "-sS", "-X", "PUT", "-H", "@-", "-o", "/dev/null", "-w", "%{http_code}", url);
  return [
    "set -eu",
    `echo ${shq(o.warning)} >&2`,
    `status=$(${curl})`,
    `[ "$status" = 204 ] || { echo "promote failed: HTTP $status" >&2; exit 1; }`,
    `echo ${shq(`promoted ${o.replicaName}`)}`,
  ].join("; ");
}
