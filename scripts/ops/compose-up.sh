#!/usr/bin/env bash
# compose-up.sh -- bring a docker compose project up and wait until every service is running and healthy.
# Runs `docker compose up -d --wait --wait-timeout N --remove-orphans` in the project directory, then reports the
# state of every service. Safe to run again: compose only recreates what changed.
#
# Usage: compose-up.sh --dir DIR [--project-name NAME] [--wait-timeout SECONDS]
#   --dir DIR              absolute path of the compose project directory (holds compose.yaml / docker-compose.yml)
#   --project-name NAME    docker compose project name (-p); default: compose's own (the directory name)
#   --wait-timeout SECONDS how long `up --wait` may wait for health checks (default 300)
#
# Environment: RESULT_FILE (also write the JSON result line there).
# Output: one JSON line on stdout: {"script","status","exit_code","dir","services":[{service,state,health}],...}
# Exit codes: 0 all services up and healthy; 64 bad arguments; 66 no such directory / no compose file;
#   65 compose file invalid; 69 docker compose missing, or up failed / services not healthy in time.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-compose.sh
source "$here/lib-compose.sh"

usage() { echo "usage: compose-up.sh --dir DIR [--project-name NAME] [--wait-timeout SECONDS]"; }

compose_project_args "$@"
compose_init "$dir" "$project"

rc=0
compose_run up -d --wait --wait-timeout "$wait_timeout" --remove-orphans || rc=$?
states=$(compose_states) || die "$EX_UNAVAILABLE" "docker compose ps failed after up"
mapfile -t bad < <(compose_not_ok "$states")

if ((rc != 0 || ${#bad[@]})); then
  msg="docker compose up exited $rc"
  ((${#bad[@]} == 0)) || msg+="; not running/healthy: ${bad[*]}"
  log "error: $msg"
  emit_result error "$EX_UNAVAILABLE" --arg dir "$dir" --argjson services "$states" \
    --argjson unhealthy "$(json_array "${bad[@]}")" --arg error "$msg"
  exit "$EX_UNAVAILABLE"
fi
log "all ${#COMPOSE_SERVICES[@]} services running and healthy"
emit_result ok 0 --arg dir "$dir" --argjson services "$states"
