#!/usr/bin/env bash
# pm2-fleet.sh -- runs a fleet of Node services under PM2 in the order their dependency graph gives (runbook 000,
# Pencom: "Starting Up Services", "Shutting Down Services", `pm2 status`). The fleet file (JSON, rendered from the
# platform's service inventory, no secrets) names the PM2 user, the ecosystem file, the start tiers, and per service
# its readiness URL, its env file, its definition digest, the stores it needs and the ones whose outage only degrades it.
#   deploy     converges the fleet on the files just shipped, tier by tier: starts a service PM2 does not know,
#              recreates one whose ecosystem definition changed (digest LAZARUS_DEFINITION), restarts one whose env file
#              is newer than its process; leaves a service an operator stopped stopped. Each tier waits until every
#              service of the previous tiers answers its readiness URL (the seed's `sleep 5` made a check).
#   start-all  the same, and also starts the stopped and errored services.
#   stop-all   the reverse tiers with `pm2 stop` (public entry points first, core last): PM2 would respawn what the
#              seed's `pkill` kills. Each tier is stopped before the next is asked to stop.
#   start|restart|stop SERVICE   one service (start and restart wait for its readiness).
#   status     per service: PM2 status, readiness, and which of its stores accept TCP connections; a service that is
#              ready while a store it uses is down is "degraded" (e.g. the read-only Oracle for external-integrations).
# Every action that changes the process list ends with `pm2 save`, the list `pm2 startup` resurrects at boot. Before a
# service starts, every store it needs must accept connections (TCP); a degrading store is never waited for.
#
# Usage: pm2-fleet.sh --fleet FILE [--user USER] deploy|start-all|stop-all|status
#        pm2-fleet.sh --fleet FILE [--user USER] start|restart|stop SERVICE
#   --user USER   run PM2 as USER instead of the fleet file's user (tests)
# Environment: RESULT_FILE; PM2_BIN (default: pm2 on PATH); FLEET_POLL_SECONDS (readiness poll interval, default 0.5).
# Output: one JSON line: {"script","status","exit_code","action","services":{NAME:{status,ready,state,did,unreachable}},
#   "stores":{KEY:reachable}} (status adds "down" and "degraded": the services in those states).
# Exit codes: 0 done (status: nothing down); 64 bad arguments or unknown service; 65 the fleet file is not a fleet;
#   66 fleet or ecosystem file missing; 69 pm2 failed, a store a service needs refuses connections, a service is not
#   ready within the fleet's readyTimeoutSeconds, or (status) a service is down.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-pm2.sh
source "$here/lib-pm2.sh"

usage() { echo "usage: pm2-fleet.sh --fleet FILE [--user USER] deploy|start-all|stop-all|status | start|restart|stop SERVICE"; }

fleet_file="" user_override="" action="" service=""
while (($#)); do
  case $1 in
    --fleet) fleet_file=${2-}; shift 2 || die "$EX_USAGE" "--fleet needs a value" ;;
    --user) user_override=${2-}; shift 2 || die "$EX_USAGE" "--user needs a value" ;;
    deploy | start-all | stop-all | status) [[ -z "$action" ]] || die "$EX_USAGE" "one action only"; action=$1; shift ;;
    start | restart | stop)
      [[ -z "$action" ]] || die "$EX_USAGE" "one action only"
      action=$1 service=${2-}
      shift 2 || die "$EX_USAGE" "$action needs a service name" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ -n "$action" ]] || { usage >&2; die "$EX_USAGE" "an action is required: deploy, start-all, stop-all, status, start, restart or stop"; }
[[ "$fleet_file" == /* ]] || die "$EX_USAGE" "--fleet must be an absolute path, got: '$fleet_file'"
require_cmd jq curl timeout
[[ -r "$fleet_file" ]] || die "$EX_NOINPUT" "fleet file not found: $fleet_file"
jq -e '(.user | type == "string") and (.ecosystem | type == "string") and (.tiers | type == "array") and (.services | type == "object")
  and (.stores | type == "object") and ([.tiers[][]] | sort) == (.services | keys)' "$fleet_file" >/dev/null 2>&1 ||
  die "$EX_DATAERR" "$fleet_file is not a fleet file: it needs user, ecosystem, tiers (every service once), services and stores"
ecosystem=$(jq -r .ecosystem "$fleet_file")
ready_timeout=$(jq -r '.readyTimeoutSeconds // 60' "$fleet_file")
poll=${FLEET_POLL_SECONDS:-0.5}
[[ -r "$ecosystem" ]] || die "$EX_NOINPUT" "ecosystem file not found: $ecosystem"
if [[ -n "$service" ]]; then
  jq -e --arg s "$service" '.services | has($s)' "$fleet_file" >/dev/null ||
    die "$EX_USAGE" "unknown service '$service' (known: $(jq -r '[.tiers[][]] | join(", ")' "$fleet_file"))"
fi
pm2_init "${user_override:-$(jq -r .user "$fleet_file")}"
pm2_daemon

svc() { jq -r --arg s "$1" ".services[\$s].$2" "$fleet_file"; }
now_ms() { date +%s%3N; }

# The fleet's processes as PM2 lists them: {NAME: {status, pid, uptime (ms of the last start), definition}}.
processes() {
  pm2_as_user jlist 2>/dev/null | jq -c 'map({key: .name, value: {status: .pm2_env.status, pid,
    uptime: (.pm2_env.pm_uptime // 0), definition: (.pm2_env.LAZARUS_DEFINITION // .pm2_env.env.LAZARUS_DEFINITION // "")}}) | from_entries'
}
field() { jq -r --arg s "$2" ".[\$s].$3 // \"\"" <<<"$1"; }

# store_reachable KEY: the store accepts a TCP connection within 3 s.
store_reachable() {
  local address port
  address=$(jq -r --arg k "$1" '.stores[$k].address' "$fleet_file")
  port=$(jq -r --arg k "$1" '.stores[$k].port' "$fleet_file")
  # shellcheck disable=SC2016 # $0 and $1 are the inner bash's arguments
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$address" "$port" 2>/dev/null
}

# require_needs SERVICE: every store it needs accepts connections (its degrading stores are not waited for).
require_needs() {
  local s=$1 k
  for k in $(jq -r --arg s "$s" '.services[$s].needs[]' "$fleet_file"); do
    store_reachable "$k" ||
      die "$EX_UNAVAILABLE" "$s needs $(jq -r --arg k "$k" '.stores[$k] | "\(.title) at \(.address):\(.port)"' "$fleet_file"), which does not accept connections; $s not started"
  done
}

is_ready() { curl -fsS -m 2 -o /dev/null "$(svc "$1" ready)" 2>/dev/null; }

# wait_ready SERVICE...: each must be online in PM2 and answer its readiness URL within the timeout.
wait_ready() {
  local deadline s status
  deadline=$(($(date +%s) + ready_timeout))
  local checked
  for s in "$@"; do
    checked=0
    while ! is_ready "$s"; do
      # PM2's view costs a node start (pm2 jlist): asked every 2 s, not on every poll.
      if (($(date +%s) - checked >= 2)); then
        checked=$(date +%s)
        status=$(field "$(processes)" "$s" status)
        [[ "$status" == online || "$status" == launching ]] ||
          die "$EX_UNAVAILABLE" "$s is $status in PM2 (not online) while waiting for it to be ready; see pm2 logs $s"
      fi
      (($(date +%s) < deadline)) ||
        die "$EX_UNAVAILABLE" "$s did not answer $(svc "$s" ready) within ${ready_timeout}s; see pm2 logs $s"
      sleep "$poll"
    done
    log "$s ready"
  done
}

# wait_status SERVICE STATUS: PM2 reports it (stop waits for the process to exit, this confirms it).
wait_status() {
  local deadline
  deadline=$(($(date +%s) + ready_timeout))
  until [[ "$(field "$(processes)" "$1" status)" == "$2" ]]; do
    (($(date +%s) < deadline)) || die "$EX_UNAVAILABLE" "$1 is not $2 after ${ready_timeout}s"
    sleep "$poll"
  done
}

did='{}'
record() { did=$(jq -c --arg s "$1" --arg d "$2" '.[$s] = $d' <<<"$did"); }
pm2_do() { pm2_as_user "$@" </dev/null >&2 || die "$EX_UNAVAILABLE" "pm2 $* failed"; }
start_from_ecosystem() { pm2_do start "$ecosystem" --only "$1"; }

# converge SERVICE MODE(deploy|start-all) PROCESSES: what the service needs done (PROCESSES: PM2's list, taken once per
# tier: each converge acts on its own service only); prints nothing, records it.
converge() {
  local s=$1 mode=$2 procs=$3 status definition uptime env_file env_ms
  status=$(field "$procs" "$s" status)
  definition=$(field "$procs" "$s" definition)
  uptime=$(field "$procs" "$s" uptime)
  env_file=$(svc "$s" envFile)
  if [[ -z "$status" ]]; then
    require_needs "$s"
    start_from_ecosystem "$s"
    record "$s" started
  elif [[ "$definition" != "$(svc "$s" definition)" ]]; then
    # A changed definition (script, arguments, env file path) is only read by a new start from the ecosystem file.
    require_needs "$s"
    pm2_do delete "$s"
    start_from_ecosystem "$s"
    record "$s" recreated
  elif [[ "$status" == stopped && "$mode" == deploy ]]; then
    log "$s was stopped by an operator: left stopped (start-all or start $s brings it back)"
    record "$s" "left stopped"
  elif [[ "$status" != online ]]; then
    require_needs "$s"
    pm2_do restart "$s"
    record "$s" started
  else
    env_ms=0
    [[ -e "$env_file" ]] && env_ms=$(date -r "$env_file" +%s%3N)
    if ((env_ms > uptime)); then
      # node reads --env-file when it starts: a restart is what makes a rewritten .env count.
      pm2_do restart "$s"
      record "$s" "restarted (env file changed)"
    else
      record "$s" unchanged
    fi
  fi
}

# The services of a tier that should be running after this action (not those left stopped).
running_in() {
  local s
  for s in "$@"; do [[ "$(jq -r --arg s "$s" '.[$s] // ""' <<<"$did")" == "left stopped" ]] || printf '%s\n' "$s"; done
}

summary() {
  local procs s ready state unreachable k out='{}' stores='{}'
  procs=$(processes)
  for k in $(jq -r '.stores | keys[]' "$fleet_file"); do
    if store_reachable "$k"; then stores=$(jq -c --arg k "$k" '.[$k] = true' <<<"$stores"); else stores=$(jq -c --arg k "$k" '.[$k] = false' <<<"$stores"); fi
  done
  for s in $(jq -r '.tiers[][]' "$fleet_file"); do
    ready=false
    # One probe slower than its 2 s (a loaded host) is not an outage: asked once more before a service counts as down.
    if is_ready "$s" || { sleep 1 && is_ready "$s"; }; then ready=true; fi
    unreachable=$(jq -c --arg s "$s" --argjson st "$stores" --slurpfile f "$fleet_file" \
      '[$f[0].services[$s] | (.needs + .degradesWithout)[] | select($st[.] == false)]' <<<null)
    if [[ "$(field "$procs" "$s" status)" != online || "$ready" != true ]]; then state=down
    elif [[ "$unreachable" != "[]" ]]; then state=degraded
    else state=ok; fi
    out=$(jq -c --arg s "$s" --arg status "$(field "$procs" "$s" status)" --argjson ready "$ready" --arg state "$state" \
      --argjson unreachable "$unreachable" --arg did "$(jq -r --arg s "$s" '.[$s] // ""' <<<"$did")" \
      '.[$s] = {status: (if $status == "" then "missing" else $status end), ready: $ready, state: $state, unreachable: $unreachable} + (if $did == "" then {} else {did: $did} end)' <<<"$out")
  done
  SERVICES=$out STORES=$stores
}

case $action in
  deploy | start-all)
    mapfile -t tiers < <(jq -c '.tiers[]' "$fleet_file")
    for tier in "${tiers[@]}"; do
      mapfile -t members < <(jq -r '.[]' <<<"$tier")
      log "tier: ${members[*]}"
      procs=$(processes)
      for s in "${members[@]}"; do converge "$s" "$action" "$procs"; done
      mapfile -t up < <(running_in "${members[@]}")
      ((${#up[@]} == 0)) || wait_ready "${up[@]}"
    done
    pm2_do save --force ;;
  stop-all)
    mapfile -t tiers < <(jq -c '.tiers | reverse[]' "$fleet_file")
    for tier in "${tiers[@]}"; do
      mapfile -t members < <(jq -r '.[]' <<<"$tier")
      log "stopping tier: ${members[*]}"
      procs=$(processes)
      for s in "${members[@]}"; do
        if [[ -n "$(field "$procs" "$s" status)" ]]; then pm2_do stop "$s"; record "$s" stopped; else record "$s" "not in PM2"; fi
      done
      for s in "${members[@]}"; do [[ -z "$(field "$procs" "$s" status)" ]] || wait_status "$s" stopped; done
    done
    pm2_do save --force ;;
  start | restart)
    require_needs "$service"
    if [[ -z "$(field "$(processes)" "$service" status)" ]]; then start_from_ecosystem "$service"
    elif [[ "$action" == start && "$(field "$(processes)" "$service" status)" == online ]]; then :
    else pm2_do restart "$service"; fi
    record "$service" "${action}ed"
    wait_ready "$service"
    pm2_do save --force ;;
  stop)
    pm2_do stop "$service"
    wait_status "$service" stopped
    record "$service" stopped
    pm2_do save --force ;;
  status) ;;
esac

summary
if [[ "$action" == status ]]; then
  down=$(jq -c '[to_entries[] | select(.value.state == "down") | .key]' <<<"$SERVICES")
  degraded=$(jq -c '[to_entries[] | select(.value.state == "degraded") | .key]' <<<"$SERVICES")
  log "down: $down; degraded: $degraded"
  if [[ "$down" != "[]" ]]; then
    emit_result error "$EX_UNAVAILABLE" --arg action status --argjson services "$SERVICES" --argjson stores "$STORES" \
      --argjson down "$down" --argjson degraded "$degraded" --arg error "services down: $(jq -r 'join(", ")' <<<"$down")"
    exit "$EX_UNAVAILABLE"
  fi
  emit_result ok 0 --arg action status --argjson services "$SERVICES" --argjson stores "$STORES" --argjson down "$down" --argjson degraded "$degraded"
  exit 0
fi
log "$action done"
emit_result ok 0 --arg action "$action" --argjson services "$SERVICES" --argjson stores "$STORES"
