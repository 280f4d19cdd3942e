#!/usr/bin/env bash
# compose-service.sh -- stop, start or restart one service of a docker compose project
# (runbook: "Restart a Single Service", "Stop individual services").
#
# Usage: compose-service.sh --dir DIR [--project-name NAME] [--timeout SECONDS] [--wait] [--wait-timeout SECONDS]
#                           stop|start|restart SERVICE
#   --dir DIR               absolute path of the compose project directory
#   --project-name NAME     docker compose project name (-p)
#   --timeout SECONDS       stop timeout before SIGKILL for stop/restart (default 30)
#   --wait                  after start/restart, poll `docker compose ps` until the service is running and healthy
#   --wait-timeout SECONDS  how long --wait waits (default 300)
#   ACTION SERVICE          the action and a service of the compose file
#
# Environment: RESULT_FILE (also write the JSON result line there); LAZARUS_WAIT_INTERVAL (poll interval, default 2).
# Output: one JSON line: {"script","status","exit_code","dir","action","service","state","health","waited"}
# Exit codes: 0 done (and healthy when --wait); 64 bad arguments; 65 unknown service or invalid compose file;
#   66 no such directory / compose file; 69 docker compose missing, the action failed, or not healthy in time.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-compose.sh
source "$here/lib-compose.sh"

usage() {
  echo "usage: compose-service.sh --dir DIR [--project-name NAME] [--timeout SECONDS] [--wait] [--wait-timeout SECONDS] stop|start|restart SERVICE"
}

dir="" project="" timeout=30 wait=false wait_timeout=300 positional=()
while (($#)); do
  case $1 in
    --dir) dir=${2-}; shift 2 || die "$EX_USAGE" "--dir needs a value" ;;
    --project-name) project=${2-}; shift 2 || die "$EX_USAGE" "--project-name needs a value" ;;
    --timeout) timeout=${2-}; shift 2 || die "$EX_USAGE" "--timeout needs a value" ;;
    --wait) wait=true; shift ;;
    --wait-timeout) wait_timeout=${2-}; shift 2 || die "$EX_USAGE" "--wait-timeout needs a value" ;;
    -h | --help) usage; exit 0 ;;
    --) shift; positional+=("$@"); break ;;
    -*) usage >&2; die "$EX_USAGE" "unknown option: $1" ;;
    *) positional+=("$1"); shift ;;
  esac
done
((${#positional[@]} == 2)) || { usage >&2; die "$EX_USAGE" "expected ACTION SERVICE, got ${#positional[@]} arguments"; }
action=${positional[0]} service=${positional[1]}
case $action in
  stop | start | restart) ;;
  *) usage >&2; die "$EX_USAGE" "unknown action: $action (expected stop, start or restart)" ;;
esac
is_uint "$timeout" || die "$EX_USAGE" "--timeout must be a non-negative integer, got: $timeout"
if ! is_uint "$wait_timeout" || ((wait_timeout == 0)); then
  die "$EX_USAGE" "--wait-timeout must be a positive integer, got: $wait_timeout"
fi
[[ "$action" != stop || "$wait" == false ]] || die "$EX_USAGE" "--wait applies to start and restart, not stop"
[[ "$service" =~ $COMPOSE_SERVICE_RE ]] || die "$EX_USAGE" "invalid service name: $service"
compose_init "$dir" "$project"
compose_check_service "$service"

case $action in
  stop) cmd=(stop -t "$timeout" "$service") ;;
  start) cmd=(start "$service") ;;
  restart) cmd=(restart -t "$timeout" "$service") ;;
esac
compose_run "${cmd[@]}" || die "$EX_UNAVAILABLE" "docker compose $action $service failed"

healthy=true
if [[ "$wait" == true ]]; then
  compose_wait_ok "$wait_timeout" "$service" || healthy=false
  states=$COMPOSE_LAST_STATES
else
  states=$(compose_states) || die "$EX_UNAVAILABLE" "docker compose ps failed after $action"
fi
entry=$(jq -c --arg s "$service" '.[] | select(.service == $s)' <<<"$states")
result_args=(--arg dir "$dir" --arg action "$action" --arg service "$service"
  --arg state "$(jq -r .state <<<"$entry")" --arg health "$(jq -r .health <<<"$entry")" --argjson waited "$wait")
if [[ "$healthy" != true ]]; then
  msg="$service is not running and healthy after $action ($(jq -r '.state + (if .health != "" then "/" + .health else "" end)' <<<"$entry"))"
  log "error: $msg"
  emit_result error "$EX_UNAVAILABLE" "${result_args[@]}" --arg error "$msg"
  exit "$EX_UNAVAILABLE"
fi
log "$action $service: done ($(jq -r '.state + (if .health != "" then "/" + .health else "" end)' <<<"$entry"))"
emit_result ok 0 "${result_args[@]}"
