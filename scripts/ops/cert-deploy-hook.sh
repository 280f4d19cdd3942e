#!/usr/bin/env bash
# cert-deploy-hook.sh -- certbot deploy hook: restarts the nginx service of a compose project after certbot renewed
# the certificate it serves, so renewals by Debian's certbot timer take effect without an operator.
# cert-issue.sh installs a one-line wrapper calling this script in <config-dir>/renewal-hooks/deploy/; certbot runs
# every hook there after each successful renewal, with RENEWED_LINEAGE set to the renewed lineage's live directory.
#
# Usage: cert-deploy-hook.sh --cert-name NAME (--compose-dir DIR --nginx-service SERVICE [--project-name NAME] | --systemd-unit UNIT)
#   --cert-name NAME         the lineage this hook is for; renewals of other lineages are ignored
#   --compose-dir DIR        absolute path of the compose project directory
#   --nginx-service SERVICE  the compose service serving the certificate
#   --project-name NAME      docker compose project name (-p)
#
# Environment:
#   RENEWED_LINEAGE                  set by certbot; when unset (run by hand) the restart happens unconditionally
#   LAZARUS_CERT_RENEW_DEFER_FILE    set by cert-renew.sh, which restarts nginx itself once after all renewals: the
#                                    hook then only appends the cert name to this file instead of restarting
#   LAZARUS_HOOK_WAIT_TIMEOUT        seconds the restarted service may take to be running and healthy (default 120)
#   RESULT_FILE                      also write the JSON result line there
# Output: one JSON line: {"script","status","exit_code","cert_name","action":"restarted"|"deferred"|"skipped"}
# Exit codes: 0 done or nothing to do; 64 bad arguments; 65 unknown service; 66 no compose dir/file;
#   69 docker compose missing, the restart failed, or the service is not running and healthy after it.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-compose.sh
source "$here/lib-compose.sh"
# shellcheck source=lib-cert.sh
source "$here/lib-cert.sh"

usage() { echo "usage: cert-deploy-hook.sh --cert-name NAME (--compose-dir DIR --nginx-service SERVICE [--project-name NAME] | --systemd-unit UNIT)"; }

cert_name="" dir="" service="" project="" unit=""
while (($#)); do
  case $1 in
    --cert-name) cert_name=${2-}; shift 2 || die "$EX_USAGE" "--cert-name needs a value" ;;
    --compose-dir) dir=${2-}; shift 2 || die "$EX_USAGE" "--compose-dir needs a value" ;;
    --nginx-service) service=${2-}; shift 2 || die "$EX_USAGE" "--nginx-service needs a value" ;;
    --project-name) project=${2-}; shift 2 || die "$EX_USAGE" "--project-name needs a value" ;;
    --systemd-unit) unit=${2-}; shift 2 || die "$EX_USAGE" "--systemd-unit needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ "$cert_name" =~ $CERT_NAME_RE ]] || die "$EX_USAGE" "--cert-name is required and must be a certificate name, got: '$cert_name'"
if [[ -z "$unit" ]]; then
  [[ "$service" =~ $COMPOSE_SERVICE_RE ]] || die "$EX_USAGE" "--nginx-service (or --systemd-unit) is required and must be a service name, got: '$service'"
fi

if [[ -n "${RENEWED_LINEAGE:-}" && "$(basename "$RENEWED_LINEAGE")" != "$cert_name" ]]; then
  log "renewed lineage $(basename "$RENEWED_LINEAGE") is not $cert_name: nothing to do"
  emit_result ok 0 --arg cert_name "$cert_name" --arg action skipped
  exit 0
fi
if [[ -n "${LAZARUS_CERT_RENEW_DEFER_FILE:-}" ]]; then
  printf '%s\n' "$cert_name" >>"$LAZARUS_CERT_RENEW_DEFER_FILE"
  log "$cert_name renewed; cert-renew.sh restarts ${unit:-$service} once all renewals are done"
  emit_result ok 0 --arg cert_name "$cert_name" --arg action deferred
  exit 0
fi
edge_init "$dir" "$project" "$service" "$unit"
rc=0
edge_restart_checked "${LAZARUS_HOOK_WAIT_TIMEOUT:-120}" || rc=$?
((rc != 1)) || die "$EX_UNAVAILABLE" "the restart of $EDGE_NAME failed after renewing $cert_name"
if ((rc == 2)); then
  die "$EX_UNAVAILABLE" "$EDGE_NAME is not running and healthy after its restart for $cert_name ($(edge_state))"
fi
log "$cert_name renewed: restarted $EDGE_NAME"
emit_result ok 0 --arg cert_name "$cert_name" --arg action restarted --arg service "$EDGE_NAME" --argjson nginx "$EDGE_ENTRY"
