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

// ---- App Platform ---------------------------------------------------------------------------------------------------
// The calls the provider has no resource for: a rollback to a named deployment (validated first), committing or
// reverting a pinned rollback, and a forced rebuild. Each reads the `Authorization` header from stdin once (the calls
// that need it twice keep it in a shell variable and hand it to curl through the `printf` builtin: never in argv), sends
// its JSON body with `Content-Type: application/json`, and fails on any status but the one the API documents for success.

/** A deployment id is a UUID (the stack file names it); an app id only has to be one path segment (the provider gives it). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PATH_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

function apiBase(fn: string, given?: string): string {
  const base = (given ?? DIGITALOCEAN_API).replace(/\/+$/, "");
  if (!/^https?:\/\/[^\s/]+$/.test(base)) refuseField(fn, "apiBase", `${JSON.stringify(base)} is not an API base URL (example: ${DIGITALOCEAN_API})`);
  return base;
}

function checkId(fn: string, field: string, value: string, example: string): void {
  if (!(field === "deploymentId" ? UUID : PATH_SEGMENT).test(value)) refuseField(fn, field, `${JSON.stringify(value)} is not an App Platform id (example: ${example})`);
}

/** One API call: the status must be `ok`; the response body lands in "$out" (for the log and for checks). */
function apiCall(o: { method: "GET" | "POST"; url: string; body?: unknown; ok: number; what: string }): string[] {
  const curl = shellCommand(
    "curl", "-sS", "-X", o.method, "-H", "@-",
    ...(o.body === undefined ? [] : ["-H", "Content-Type: application/json", "--data-binary", JSON.stringify(o.body)]),
    "-o", "$OUT", "-w", "%{http_code}", o.url,
  ).replace(shq("$OUT"), '"$out"');
  return [
    `status=$(printf '%s\\n' "$auth" | ${curl})`,
    `[ "$status" = ${o.ok} ] || { echo ${shq(`${o.what} failed: HTTP`)} "$status" "$(cat "$out")" >&2; exit 1; }`,
  ];
}

function script(warning: string | undefined, lines: string[]): string {
  return [
    "set -eu",
    ...(warning ? [`echo ${shq(warning)} >&2`] : []),
    // The header, from the command's stdin (a Pulumi secret), read once.
    'auth=$(cat)',
    'out=$(mktemp)',
    "trap 'rm -f \"$out\"' EXIT",
    ...lines,
  ].join("\n");
}

/**
 * Rolls an app back to one of its earlier deployments: `POST /v2/apps/{app}/rollback/validate` first (200 with
 * `{"valid": true}`; its warnings, such as an image source without a digest, are printed), then
 * `POST /v2/apps/{app}/rollback` with `{"deployment_id", "skip_pin"}` (200, the new deployment). With `pin` (skip_pin
 * false) the app stays pinned to the rollback: no deployment, from CI or from `pulumi up`, runs until the rollback is
 * committed or reverted.
 */
export function appRollbackCommand(o: { appId: string; deploymentId: string; pin: boolean; warning: string; apiBase?: string }): string {
  const fn = "appRollbackCommand";
  checkId(fn, "appId", o.appId, "fb06ad00-351f-45c8-b5eb-13523c438661");
  checkId(fn, "deploymentId", o.deploymentId, "3aa4d20e-5527-4c00-b496-601fbd22520a");
  const app = `${apiBase(fn, o.apiBase)}/v2/apps/${o.appId}`;
  return script(o.warning, [
    ...apiCall({ method: "POST", url: `${app}/rollback/validate`, body: { deployment_id: o.deploymentId }, ok: 200, what: "rollback validation" }),
    `grep -Eq '"valid"[[:space:]]*:[[:space:]]*true' "$out" || { echo ${shq(`the API refuses the rollback to ${o.deploymentId}:`)} "$(cat "$out")" >&2; exit 1; }`,
    `echo ${shq("rollback validated:")} "$(cat "$out")" >&2`,
    ...apiCall({ method: "POST", url: `${app}/rollback`, body: { deployment_id: o.deploymentId, skip_pin: !o.pin }, ok: 200, what: "rollback" }),
    `echo ${shq(`rolled back to deployment ${o.deploymentId}${o.pin ? " (pinned until committed or reverted)" : ""}`)}`,
  ]);
}

/** `POST /v2/apps/{app}/rollback/commit` (keep the rollback, unpin) or `.../rollback/revert` (back to before it, unpin); 200. */
export function appRollbackEndCommand(o: { appId: string; end: "commit" | "revert"; apiBase?: string }): string {
  const fn = "appRollbackEndCommand";
  checkId(fn, "appId", o.appId, "fb06ad00-351f-45c8-b5eb-13523c438661");
  const url = `${apiBase(fn, o.apiBase)}/v2/apps/${o.appId}/rollback/${o.end}`;
  return script(undefined, [...apiCall({ method: "POST", url, ok: 200, what: `rollback ${o.end}` }), `echo ${shq(`rollback ${o.end === "commit" ? "committed" : "reverted"}; the app is unpinned`)}`]);
}

/** `POST /v2/apps/{app}/deployments` with `{"force_build": ...}` (200, the new deployment): the seed's redeploy. */
export function appDeploymentCommand(o: { appId: string; forceBuild: boolean; apiBase?: string }): string {
  const fn = "appDeploymentCommand";
  checkId(fn, "appId", o.appId, "fb06ad00-351f-45c8-b5eb-13523c438661");
  const url = `${apiBase(fn, o.apiBase)}/v2/apps/${o.appId}/deployments`;
  return script(undefined, [
    ...apiCall({ method: "POST", url, body: { force_build: o.forceBuild }, ok: 200, what: "deployment" }),
    // Only the new deployment's id: the response also holds the app's spec, variables included (SECRET ones encrypted),
    // which has no place in a log.
    `id=$(grep -o '"id"[[:space:]]*:[[:space:]]*"[^"]*"' "$out" | head -n 1 | sed 's/.*"\\([^"]*\\)"$/\\1/')`,
    `echo ${shq(`deployment created${o.forceBuild ? " (forced rebuild)" : ""}:`)} "$id"`,
  ]);
}

/**
 * `GET /v2/apps/{app}` (200), summarised for the seed's checklist ("Check infrastructure: DO App Platform → Overview
 * (deployment status)"): live URL, maintenance mode, the active, in-progress and pinned deployments with their phase
 * and cause. Parsed by node (it runs wherever the Pulumi program does); the spec, with the app's variables, is never
 * printed. Fails when the app has no active deployment.
 */
export function appStatusCommand(o: { appId: string; apiBase?: string }): string {
  const fn = "appStatusCommand";
  checkId(fn, "appId", o.appId, "fb06ad00-351f-45c8-b5eb-13523c438661");
  const url = `${apiBase(fn, o.apiBase)}/v2/apps/${o.appId}`;
  const summary = [
    'const a = JSON.parse(require("fs").readFileSync(0, "utf8")).app || {};',
    'const d = (x) => (x && x.id ? `${x.id} ${x.phase || "?"} (${x.cause || "no cause given"}, ${x.updated_at || x.created_at || "?"})` : "none");',
    'console.log(`app ${a.spec && a.spec.name}: ${a.live_url || "no live URL"}; maintenance ${a.spec && a.spec.maintenance && a.spec.maintenance.enabled ? "ON" : "off"}`);',
    'console.log(`active deployment: ${d(a.active_deployment)}`);',
    'console.log(`in progress: ${d(a.in_progress_deployment)}`);',
    'console.log(`pinned (rollback): ${d(a.pinned_deployment)}`);',
    'if (!a.active_deployment) process.exit(1);',
  ].join(" ");
  return script(undefined, [...apiCall({ method: "GET", url, ok: 200, what: "app status" }), "# shellcheck disable=SC2016 # the ${...} are JavaScript's template literals, for node", `node -e ${shq(summary)} < "$out"`]);
}

// ---- Reserved IPs ---------------------------------------------------------------------------------------------------

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/**
 * Moves a reserved IP to a droplet: `POST /v2/reserved_ips/{ip}/actions` with `{"type": "assign", "droplet_id": N}`
 * (201, an action "in-progress"), then `GET /v2/reserved_ips/{ip}/actions/{action}` every 2 s until it is
 * "completed" (fails on "errored", or after `pollSeconds`, 120 by default). The API moves an IP that is assigned
 * elsewhere in one action: the DigitalOcean way to fail one active server over to another. `warning` is printed first.
 */
export function reservedIpAssignCommand(o: { reservedIp: string; dropletId: number; warning: string; pollSeconds?: number; apiBase?: string }): string {
  const fn = "reservedIpAssignCommand";
  if (!IPV4.test(o.reservedIp)) refuseField(fn, "reservedIp", `${JSON.stringify(o.reservedIp)} is not an IPv4 reserved IP (example: 203.0.113.10)`);
  if (!Number.isSafeInteger(o.dropletId) || o.dropletId <= 0) refuseField(fn, "dropletId", `${JSON.stringify(o.dropletId)} is not a droplet id (example: 412345678)`);
  const polls = Math.ceil((o.pollSeconds ?? 120) / 2);
  if (!(polls >= 1)) refuseField(fn, "pollSeconds", `${JSON.stringify(o.pollSeconds)} is not a number of seconds (example: 120)`);
  const ip = `${apiBase(fn, o.apiBase)}/v2/reserved_ips/${o.reservedIp}/actions`;
  const status = `grep -o '"status"[[:space:]]*:[[:space:]]*"[^"]*"' "$out" | head -n 1 | sed 's/.*"\\([^"]*\\)"$/\\1/'`;
  return script(o.warning, [
    ...apiCall({ method: "POST", url: ip, body: { type: "assign", droplet_id: o.dropletId }, ok: 201, what: `assigning ${o.reservedIp} to droplet ${o.dropletId}` }),
    `action=$(grep -o '"id"[[:space:]]*:[[:space:]]*[0-9]*' "$out" | head -n 1 | grep -o '[0-9]*$')`,
    `[ -n "$action" ] || { echo ${shq("the API answered the assign without an action id:")} "$(cat "$out")" >&2; exit 1; }`,
    `state=$(${status})`,
    `i=0`,
    `while [ "$state" != completed ]; do`,
    `  [ "$state" != errored ] || { echo ${shq(`assigning ${o.reservedIp} to droplet ${o.dropletId} errored (action`)} "$action)" >&2; exit 1; }`,
    `  i=$((i + 1)); [ "$i" -le ${polls} ] || { echo ${shq(`assigning ${o.reservedIp} did not complete in ${polls * 2} s (action`)} "$action, $state)" >&2; exit 1; }`,
    `  sleep 2`,
    ...apiCall({ method: "GET", url: `${ip}/$ACTION`, ok: 200, what: "the assign action's status" }).map((l) => `  ${l.replace(shq(`${ip}/$ACTION`), `"${ip}/$action"`)}`),
    `  state=$(${status})`,
    `done`,
    `echo ${shq(`${o.reservedIp} now points at droplet ${o.dropletId}`)}`,
  ]);
}
