#!/usr/bin/env bash
# compose-recover.sh -- full recovery after a server restart (runbook: "Full Recovery After Server Restart").
# Containers normally come back by themselves (restart: unless-stopped). This checks that they did, from
# `docker compose ps --all --format json`, and brings back the ones that did not:
#   - services not running (exited, created, dead, no container): `docker compose up -d --wait --no-recreate SERVICE...`
#   - services running but unhealthy: `docker compose restart SERVICE...`, then wait for their health checks;
#   - services still starting: waited for.
# Then it checks again and fails when any service is still not running and healthy.
#
# Usage: compose-recover.sh --dir DIR [--project-name NAME] [--wait-timeout SECONDS]
#   --dir DIR               absolute path of the compose project directory
#   --project-name NAME     docker compose project name (-p)
#   --wait-timeout SECONDS  how long to wait for health checks (default 300)
#
# Environment: RESULT_FILE (also write the JSON result line there); LAZARUS_WAIT_INTERVAL (poll interval, default 2).
# Output: one JSON line: {"script","status","exit_code","dir","before":[{service,state,health}],"started":[...],
#   "restarted":[...],"after":[...],"unhealthy":[...]} -- "started" were down, "restarted" were running but unhealthy.
# Exit codes: 0 every service running and healthy; 64 bad arguments; 65 invalid compose file;
#   66 no such directory / compose file; 69 docker compose missing, or services still not healthy.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-compose.sh
source "$here/lib-compose.sh"

usage() { echo "usage: compose-recover.sh --dir DIR [--project-name NAME] [--wait-timeout SECONDS]"; }

compose_project_args "$@"
compose_init "$dir" "$project"

before=$(compose_states) || die "$EX_UNAVAILABLE" "docker compose ps failed"
mapfile -t down < <(jq -r '.[] | select(.state != "running" and .state != "restarting") | .service' <<<"$before")
mapfile -t unhealthy < <(jq -r '.[] | select(.state == "running" and .health == "unhealthy") | .service' <<<"$before")
mapfile -t not_ok < <(compose_not_ok "$before")
log "before: $(jq -r 'map(.service + "=" + .state + (if .health != "" then "/" + .health else "" end)) | join(" ")' <<<"$before")"

if ((${#down[@]})); then
  compose_run up -d --wait --wait-timeout "$wait_timeout" --no-recreate "${down[@]}" ||
    log "docker compose up did not bring every service up healthy; checking again"
fi
if ((${#unhealthy[@]})); then
  compose_run restart "${unhealthy[@]}" || log "docker compose restart failed; checking again"
fi

still=()
if ((${#not_ok[@]})); then
  compose_wait_ok "$wait_timeout" "${not_ok[@]}" || true
  after=$COMPOSE_LAST_STATES
  mapfile -t still < <(compose_not_ok "$after")
else
  after=$before
fi

result_args=(--arg dir "$dir" --argjson before "$before" --argjson started "$(json_array "${down[@]}")"
  --argjson restarted "$(json_array "${unhealthy[@]}")" --argjson after "$after"
  --argjson unhealthy "$(json_array "${still[@]}")")
if ((${#still[@]})); then
  msg="still not running and healthy: ${still[*]}"
  log "error: $msg"
  emit_result error "$EX_UNAVAILABLE" "${result_args[@]}" --arg error "$msg"
  exit "$EX_UNAVAILABLE"
fi
if ((${#not_ok[@]})); then
  log "recovered: ${not_ok[*]}"
else
  log "all ${#COMPOSE_SERVICES[@]} services came back by themselves"
fi
emit_result ok 0 "${result_args[@]}"
