#!/usr/bin/env bash
# compose-up.sh -- bring a docker compose project up and wait until every service is running and healthy.
# Runs `docker compose up -d --wait --wait-timeout N --remove-orphans` in the project directory, then reports the
# state of every service. Safe to run again: compose only recreates what changed.
# Compose recreates a container when its configuration changes, not when a file it mounts does; and a file replaced
# by rename (as Lazarus ships them) stays the old file inside a container that bind-mounts it. So each --watch names
# a service and the files or directories (relative to DIR) it mounts: after a successful up, a service whose watched
# content differs from the last successful run's is restarted and waited for. The first run only records the content.
#
# Usage: compose-up.sh --dir DIR [--project-name NAME] [--wait-timeout SECONDS] [--watch SERVICE=PATH[,PATH...]]...
#   --dir DIR              absolute path of the compose project directory (holds compose.yaml / docker-compose.yml)
#   --project-name NAME    docker compose project name (-p); default: compose's own (the directory name)
#   --wait-timeout SECONDS how long `up --wait` (and each restart) may wait for health checks (default 300)
#   --watch SERVICE=PATHS  restart SERVICE when the content under PATHS changed since the last successful run
#                          (records under DIR/.lazarus/watch/, mode 0700)
#
# Environment: RESULT_FILE (also write the JSON result line there).
# Output: one JSON line on stdout: {"script","status","exit_code","dir","services":[{service,state,health}],
#   "restarted":[services restarted for changed files]}
# Exit codes: 0 all services up and healthy; 64 bad arguments; 66 no such directory / no compose file;
#   65 compose file invalid, or --watch names a service it lacks; 69 docker compose missing, up failed, services not
#   healthy in time, or a service restarted for changed files not healthy again (its change then counts as not applied,
#   so the next run restarts it again).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-compose.sh
source "$here/lib-compose.sh"

usage() { echo "usage: compose-up.sh --dir DIR [--project-name NAME] [--wait-timeout SECONDS] [--watch SERVICE=PATH[,PATH...]]..."; }

# --watch is this script's own; the rest are the arguments every compose script shares.
watches=() rest=()
while (($#)); do
  if [[ $1 == --watch ]]; then
    (($# >= 2)) || die "$EX_USAGE" "--watch needs a value"
    watches+=("$2")
    shift 2
  else
    rest+=("$1")
    shift
  fi
done
compose_project_args "${rest[@]}"
compose_init "$dir" "$project"

watch_services=() watch_paths=()
for w in "${watches[@]}"; do
  svc=${w%%=*} paths=${w#*=}
  [[ $w == *=?* && $svc =~ $COMPOSE_SERVICE_RE ]] || die "$EX_USAGE" "--watch takes SERVICE=PATH[,PATH...], got: $w"
  compose_check_service "$svc"
  [[ " ${watch_services[*]} " != *" $svc "* ]] || die "$EX_USAGE" "--watch $svc given twice; list all its paths in one --watch"
  IFS=, read -ra list <<<"$paths"
  for p in "${list[@]}"; do
    [[ -n $p && $p != /* && $p != *..* ]] || die "$EX_USAGE" "--watch paths are relative to --dir without '..', got: $p"
  done
  watch_services+=("$svc") watch_paths+=("$paths")
done

# watch_digest PATHS: one sha256 over every file under the comma-separated PATHS (a missing path counts as missing).
watch_digest() {
  local p
  IFS=, read -ra list <<<"$1"
  for p in "${list[@]}"; do
    if [[ -d $p ]]; then
      find "$p" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum --
    elif [[ -e $p ]]; then
      sha256sum -- "$p"
    else
      echo "missing $p"
    fi
  done | sha256sum | cut -d' ' -f1
}

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

# Services whose watched files changed since the last successful run: restart them, then record what they now run with.
stamps="$dir/.lazarus/watch"
restarted=() digests=()
for i in "${!watch_services[@]}"; do
  svc=${watch_services[i]}
  digests[i]=$(cd "$dir" && watch_digest "${watch_paths[i]}")
  previous=$(cat "$stamps/$svc" 2>/dev/null || true)
  if [[ -n $previous && $previous != "${digests[i]}" ]]; then
    log "restarting $svc: files it mounts changed (${watch_paths[i]})"
    if ! compose_restart_checked "$svc" "$wait_timeout"; then
      msg="$svc did not come back running and healthy after a restart for its changed files"
      log "error: $msg"
      emit_result error "$EX_UNAVAILABLE" --arg dir "$dir" --argjson services "$(compose_states || echo '[]')" \
        --argjson unhealthy "$(json_array "$svc")" --argjson restarted "$(json_array "${restarted[@]}" "$svc")" --arg error "$msg"
      exit "$EX_UNAVAILABLE"
    fi
    restarted+=("$svc")
  fi
done
if ((${#watch_services[@]})); then
  (umask 077 && mkdir -p "$stamps")
  for i in "${!watch_services[@]}"; do
    printf '%s\n' "${digests[i]}" >"$stamps/${watch_services[i]}.tmp" && mv -f "$stamps/${watch_services[i]}.tmp" "$stamps/${watch_services[i]}"
  done
fi
((${#restarted[@]} == 0)) || states=$(compose_states) || die "$EX_UNAVAILABLE" "docker compose ps failed after the restarts"
log "all ${#COMPOSE_SERVICES[@]} services running and healthy${restarted[*]:+ (restarted for changed files: ${restarted[*]})}"
emit_result ok 0 --arg dir "$dir" --argjson services "$states" --argjson restarted "$(json_array "${restarted[@]}")"
