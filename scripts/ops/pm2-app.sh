#!/usr/bin/env bash
# pm2-app.sh -- starts, restarts or stops a Node app under PM2 from its ecosystem file, as the app's user, and checks
# the result with `pm2 jlist` (runbook 003: `pm2 restart bunty-backend`, `pm2 stop bunty-backend`).
#   start    `pm2 startOrReload ECOSYSTEM --only APP --update-env`, then `pm2 save` (the list PM2 resurrects at boot)
#   restart  `pm2 restart APP --update-env` (started from the ecosystem file when PM2 does not know it)
#   stop     `pm2 stop APP`, then `pm2 save`, so a reboot does not bring it back behind a maintenance page
# After start/restart the app must be "online" within --wait-timeout seconds; after stop, "stopped".
#
# Usage: pm2-app.sh --user USER --ecosystem FILE --app NAME [--wait-timeout SECONDS] start|restart|stop
# Environment: RESULT_FILE; PM2_BIN (default: pm2 on PATH).
# Output: one JSON line: {"script","status","exit_code","action","app":{name,status,pid,restarts,pm_cwd}|null}
# Exit codes: 0 done; 64 bad arguments; 66 no such user or ecosystem file; 69 pm2 failed or the app is not in the
#   expected state afterwards.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-pm2.sh
source "$here/lib-pm2.sh"

usage() { echo "usage: pm2-app.sh --user USER --ecosystem FILE --app NAME [--wait-timeout SECONDS] start|restart|stop"; }

user="" ecosystem="" app="" action="" wait_timeout=30
while (($#)); do
  case $1 in
    --user) user=${2-}; shift 2 || die "$EX_USAGE" "--user needs a value" ;;
    --ecosystem) ecosystem=${2-}; shift 2 || die "$EX_USAGE" "--ecosystem needs a value" ;;
    --app) app=${2-}; shift 2 || die "$EX_USAGE" "--app needs a value" ;;
    --wait-timeout) wait_timeout=${2-}; shift 2 || die "$EX_USAGE" "--wait-timeout needs a value" ;;
    start | restart | stop) [[ -z "$action" ]] || die "$EX_USAGE" "one action only"; action=$1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ -n "$action" ]] || { usage >&2; die "$EX_USAGE" "an action is required: start, restart or stop"; }
[[ "$app" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "$EX_USAGE" "--app must be a PM2 app name, got: '$app'"
[[ "$ecosystem" == /* ]] || die "$EX_USAGE" "--ecosystem must be an absolute path, got: '$ecosystem'"
[[ "$wait_timeout" =~ ^[1-9][0-9]{0,5}$ ]] || die "$EX_USAGE" "--wait-timeout must be a positive number of seconds, got: '$wait_timeout'"
[[ -r "$ecosystem" ]] || die "$EX_NOINPUT" "ecosystem file not found: $ecosystem"
pm2_init "$user"
pm2_daemon

case $action in
  start)
    pm2_as_user startOrReload "$ecosystem" --only "$app" --update-env >&2 || die "$EX_UNAVAILABLE" "pm2 startOrReload $ecosystem --only $app failed"
    want=online ;;
  restart)
    if [[ "$(pm2_app_entry "$app")" == null ]]; then
      pm2_as_user start "$ecosystem" --only "$app" >&2 || die "$EX_UNAVAILABLE" "pm2 start $ecosystem --only $app failed"
    else
      pm2_as_user restart "$app" --update-env >&2 || die "$EX_UNAVAILABLE" "pm2 restart $app failed"
    fi
    want=online ;;
  stop)
    pm2_as_user stop "$app" >&2 || die "$EX_UNAVAILABLE" "pm2 stop $app failed"
    want=stopped ;;
esac
pm2_as_user save --force >&2 || die "$EX_UNAVAILABLE" "pm2 save failed"

waited=0
entry=$(pm2_app_entry "$app")
while [[ "$(jq -r '.status // ""' <<<"$entry")" != "$want" ]] && ((waited < wait_timeout)); do
  sleep 1
  waited=$((waited + 1))
  entry=$(pm2_app_entry "$app")
done
if [[ "$(jq -r '.status // ""' <<<"$entry")" != "$want" ]]; then
  log "error: $app is $(jq -r '.status // "missing"' <<<"$entry") after $action, expected $want"
  emit_result error "$EX_UNAVAILABLE" --arg action "$action" --argjson app "$entry" --arg error "$app is not $want after $action"
  exit "$EX_UNAVAILABLE"
fi
log "$app $want after $action"
emit_result ok 0 --arg action "$action" --argjson app "$entry"
