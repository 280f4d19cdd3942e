#!/usr/bin/env bash
# compose-shutdown.sh -- graceful shutdown of a docker compose project (runbook: "Graceful Shutdown").
# Stops the services one by one in the order given (callers compute it from the service inventory: dependents
# first, e.g. nginx before the frontends before the backend), each with a stop timeout, then runs
# `docker compose down` to remove the containers and networks. Every service is checked against the compose file
# before anything is stopped, so a typo stops nothing.
#
# Usage: compose-shutdown.sh --dir DIR [--project-name NAME] [--timeout SECONDS] [--] SERVICE...
#   --dir DIR            absolute path of the compose project directory
#   --project-name NAME  docker compose project name (-p)
#   --timeout SECONDS    stop timeout per service before SIGKILL (docker compose stop -t; default 30)
#   SERVICE...           stop order; each a service of the compose file, no duplicates, at least one
#
# Environment: RESULT_FILE (also write the JSON result line there).
# Output: one JSON line: {"script","status","exit_code","dir","stopped":[...],"unordered":[...],"down":true|false}
#   "unordered" lists services of the compose file missing from the order (stopped only by `down`).
# Exit codes: 0 stopped and removed; 64 bad arguments; 65 unknown service or invalid compose file;
#   66 no such directory / compose file; 69 docker compose missing or a stop/down failed.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-compose.sh
source "$here/lib-compose.sh"

usage() { echo "usage: compose-shutdown.sh --dir DIR [--project-name NAME] [--timeout SECONDS] [--] SERVICE..."; }

dir="" project="" timeout=30 order=()
while (($#)); do
  case $1 in
    --dir) dir=${2-}; shift 2 || die "$EX_USAGE" "--dir needs a value" ;;
    --project-name) project=${2-}; shift 2 || die "$EX_USAGE" "--project-name needs a value" ;;
    --timeout) timeout=${2-}; shift 2 || die "$EX_USAGE" "--timeout needs a value" ;;
    -h | --help) usage; exit 0 ;;
    --) shift; order+=("$@"); break ;;
    -*) usage >&2; die "$EX_USAGE" "unknown option: $1" ;;
    *) order+=("$1"); shift ;;
  esac
done
is_uint "$timeout" || die "$EX_USAGE" "--timeout must be a non-negative integer, got: $timeout"
((${#order[@]})) || { usage >&2; die "$EX_USAGE" "no services given: pass the stop order"; }
declare -A seen=()
for s in "${order[@]}"; do
  [[ "$s" =~ $COMPOSE_SERVICE_RE ]] || die "$EX_USAGE" "invalid service name: $s"
  [[ -z "${seen[$s]:-}" ]] || die "$EX_USAGE" "service listed twice in the stop order: $s"
  seen[$s]=1
done
compose_init "$dir" "$project"
for s in "${order[@]}"; do compose_check_service "$s"; done
unordered=()
for s in "${COMPOSE_SERVICES[@]}"; do
  [[ -n "${seen[$s]:-}" ]] || unordered+=("$s")
done
((${#unordered[@]} == 0)) || log "not in the stop order (stopped by down): ${unordered[*]}"

stopped=()
for s in "${order[@]}"; do
  if ! compose_run stop -t "$timeout" "$s"; then
    msg="docker compose stop $s failed"
    log "error: $msg"
    emit_result error "$EX_UNAVAILABLE" --arg dir "$dir" --argjson stopped "$(json_array "${stopped[@]}")" \
      --argjson unordered "$(json_array "${unordered[@]}")" --argjson down false --arg error "$msg"
    exit "$EX_UNAVAILABLE"
  fi
  stopped+=("$s")
done
if ! compose_run down --timeout "$timeout"; then
  msg="docker compose down failed"
  log "error: $msg"
  emit_result error "$EX_UNAVAILABLE" --arg dir "$dir" --argjson stopped "$(json_array "${stopped[@]}")" \
    --argjson unordered "$(json_array "${unordered[@]}")" --argjson down false --arg error "$msg"
  exit "$EX_UNAVAILABLE"
fi
log "stopped ${stopped[*]} and removed the project's containers"
emit_result ok 0 --arg dir "$dir" --argjson stopped "$(json_array "${stopped[@]}")" \
  --argjson unordered "$(json_array "${unordered[@]}")" --argjson down true
