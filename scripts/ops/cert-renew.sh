#!/usr/bin/env bash
# cert-renew.sh -- renew certificates and restart nginx (runbook: "Certificate Renewal Recovery":
# `certbot renew --force-renewal` then `docker compose restart nginx`).
# Runs `certbot renew` (with --force-renewal when --force), then restarts the nginx service once, also when nothing
# was due: the recovery's point is that nginx serves the current certificate. Deploy hooks installed by
# cert-issue.sh see LAZARUS_CERT_RENEW_DEFER_FILE and leave the restart to this script, so nginx restarts once.
#
# Usage: cert-renew.sh --compose-dir DIR --nginx-service SERVICE [--project-name NAME] [--force] [--cert-name NAME]
#                      [--server URL] [--config-dir DIR] [--work-dir DIR] [--logs-dir DIR] [--wait-timeout SECONDS]
#   --compose-dir DIR        absolute path of the compose project directory
#   --nginx-service SERVICE  compose service to restart
#   --systemd-unit UNIT      instead of --compose-dir/--nginx-service/--project-name: the systemd unit of a host nginx
#   --project-name NAME      docker compose project name (-p)
#   --force                  renew even when not due (certbot --force-renewal)
#   --cert-name NAME         renew only this lineage (default: all)
#   --server URL             ACME directory URL (https) overriding the one recorded at issuance
#   --config-dir/--work-dir/--logs-dir DIR   certbot's directories (defaults as certbot's)
#   --wait-timeout SECONDS   how long nginx may take to be running and healthy after its restart (default 120)
#
# Environment: RESULT_FILE (also write the JSON result line there); REQUESTS_CA_BUNDLE (certbot's trust store).
# Output: one JSON line: {"script","status","exit_code","forced","renewed":[{cert_name,serial_before,serial}],
#   "lineages","nginx_restarted","nginx":{service,state,health}}
# Exit codes: 0 renewed (or nothing due) and nginx restarted; 64 bad arguments; 65 unknown nginx service or invalid
#   compose file; 66 no compose dir/file or no such lineage; 69 certbot renew failed (nginx is still restarted when
#   anything was renewed), the nginx restart failed, or nginx is not running and healthy after it.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-compose.sh
source "$here/lib-compose.sh"
# shellcheck source=lib-cert.sh
source "$here/lib-cert.sh"

usage() {
  echo "usage: cert-renew.sh (--compose-dir DIR --nginx-service SERVICE [--project-name NAME] | --systemd-unit UNIT) [--force]" \
    "[--cert-name NAME] [--server URL] [--config-dir DIR] [--work-dir DIR] [--logs-dir DIR] [--wait-timeout SECONDS]"
}

dir="" service="" project="" unit="" force=false cert_name="" server="" wait_timeout=120
while (($#)); do
  case $1 in
    --compose-dir) dir=${2-}; shift 2 || die "$EX_USAGE" "--compose-dir needs a value" ;;
    --nginx-service) service=${2-}; shift 2 || die "$EX_USAGE" "--nginx-service needs a value" ;;
    --project-name) project=${2-}; shift 2 || die "$EX_USAGE" "--project-name needs a value" ;;
    --systemd-unit) unit=${2-}; shift 2 || die "$EX_USAGE" "--systemd-unit needs a value" ;;
    --force) force=true; shift ;;
    --cert-name) cert_name=${2-}; shift 2 || die "$EX_USAGE" "--cert-name needs a value" ;;
    --server) server=${2-}; shift 2 || die "$EX_USAGE" "--server needs a value" ;;
    --config-dir) CERTBOT_CONFIG_DIR=${2-}; shift 2 || die "$EX_USAGE" "--config-dir needs a value" ;;
    --work-dir) CERTBOT_WORK_DIR=${2-}; shift 2 || die "$EX_USAGE" "--work-dir needs a value" ;;
    --logs-dir) CERTBOT_LOGS_DIR=${2-}; shift 2 || die "$EX_USAGE" "--logs-dir needs a value" ;;
    --wait-timeout) wait_timeout=${2-}; shift 2 || die "$EX_USAGE" "--wait-timeout needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ -z "$cert_name" || "$cert_name" =~ $CERT_NAME_RE ]] || die "$EX_USAGE" "invalid --cert-name: '$cert_name'"
[[ -z "$server" || "$server" =~ ^https://[^[:space:]]+$ ]] || die "$EX_USAGE" "--server must be an https:// ACME directory URL, got: '$server'"
check_abs_path_arg --config-dir "$CERTBOT_CONFIG_DIR"
check_abs_path_arg --work-dir "$CERTBOT_WORK_DIR"
check_abs_path_arg --logs-dir "$CERTBOT_LOGS_DIR"
if ! is_uint "$wait_timeout" || ((wait_timeout == 0)); then
  die "$EX_USAGE" "--wait-timeout must be a positive integer, got: $wait_timeout"
fi
edge_init "$dir" "$project" "$service" "$unit"
require_cmd certbot openssl
certbot_dir_args
if [[ -n "$cert_name" && -z "$(cert_serial "$cert_name")" ]]; then
  die "$EX_NOINPUT" "no certificate lineage named $cert_name in $CERTBOT_CONFIG_DIR/live"
fi

mapfile -t lineages < <(cert_lineages)
[[ -z "$cert_name" ]] || lineages=("$cert_name")
declare -A before=()
for l in "${lineages[@]}"; do before[$l]=$(cert_serial "$l"); done

defer_file=$(mktemp)
trap 'rm -f "$defer_file"' EXIT
# An operator's recovery runs now: no random delay (certbot adds up to 8 minutes to non-interactive renewals so that
# timers across the world do not hit the CA at once).
args=(renew --non-interactive --no-random-sleep-on-renew "${CERTBOT_DIR_ARGS[@]}")
[[ "$force" == false ]] || args+=(--force-renewal)
[[ -z "$cert_name" ]] || args+=(--cert-name "$cert_name")
[[ -z "$server" ]] || args+=(--server "$server")
log "certbot ${args[*]}"
certbot_rc=0
LAZARUS_CERT_RENEW_DEFER_FILE=$defer_file certbot "${args[@]}" >&2 || certbot_rc=$?

renewed="[]"
for l in "${lineages[@]}"; do
  now=$(cert_serial "$l")
  if [[ "$now" != "${before[$l]}" ]]; then
    renewed=$(jq -c --arg c "$l" --arg b "${before[$l]}" --arg s "$now" '. + [{cert_name: $c, serial_before: $b, serial: $s}]' <<<"$renewed")
  fi
done
result_args=(--argjson forced "$force" --argjson renewed "$renewed" --argjson lineages "$(json_array "${lineages[@]}")")

if ((certbot_rc != 0)) && [[ "$renewed" == "[]" ]]; then
  die "$EX_UNAVAILABLE" "certbot renew exited $certbot_rc and renewed nothing (see $CERTBOT_LOGS_DIR/letsencrypt.log)"
fi
rc=0
edge_restart_checked "$wait_timeout" || rc=$?
if ((rc != 0)); then
  msg="the restart of $EDGE_NAME failed"
  ((rc == 1)) || msg="$EDGE_NAME is not running and healthy after its restart ($(edge_state))"
  ((certbot_rc == 0)) || msg+="; certbot renew also exited $certbot_rc"
  log "error: $msg"
  emit_result error "$EX_UNAVAILABLE" "${result_args[@]}" --argjson nginx_restarted "$([[ $rc == 2 ]] && echo true || echo false)" \
    --argjson nginx "$EDGE_ENTRY" --arg error "$msg"
  exit "$EX_UNAVAILABLE"
fi
if ((certbot_rc != 0)); then
  msg="certbot renew exited $certbot_rc (some lineages were renewed and $EDGE_NAME was restarted)"
  log "error: $msg"
  emit_result error "$EX_UNAVAILABLE" "${result_args[@]}" --argjson nginx_restarted true --argjson nginx "$EDGE_ENTRY" --arg error "$msg"
  exit "$EX_UNAVAILABLE"
fi
log "renewed $(jq -r 'map(.cert_name) | join(" ") | if . == "" then "nothing" else . end' <<<"$renewed"); restarted $EDGE_NAME"
emit_result ok 0 "${result_args[@]}" --argjson nginx_restarted true --argjson nginx "$EDGE_ENTRY"
