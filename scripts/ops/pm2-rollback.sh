#!/usr/bin/env bash
# pm2-rollback.sh -- the runbook's Emergency Rollback as a swap: the live release directory DIR and DIR-previous trade
# places, then the PM2 app restarts from DIR (runbook 003: `mv bunty-backend bunty-backend-broken; mv
# bunty-backend-previous bunty-backend; pm2 restart bunty-backend`). The seed's moves nest on a second run (the second
# `mv bunty-backend bunty-backend-broken` moves INTO the first -broken directory) and lose the way back; a swap keeps
# the broken release as DIR-previous, and running it again rolls forward, as often as needed, never nesting
# (`mv -T` never moves into a directory).
# The live `.env` (rendered from Pulumi secrets, the current credentials) is copied into the release that becomes live
# first, with its mode and owner: an old release's `.env` may hold rotated-out secrets.
#
# Usage: pm2-rollback.sh --dir DIR --user USER --ecosystem FILE --app NAME [--wait-timeout SECONDS]
# Environment: RESULT_FILE; PM2_BIN.
# Output: one JSON line: {"script","status","exit_code","dir","live_release","previous_release","app":{...}}
#   (a release is named by its RELEASE file when it has one, else by its package.json version, else "unknown")
# Exit codes: 0 swapped and the app online; 64 bad arguments; 66 DIR or DIR-previous missing; 69 the swap or the
#   restart failed (a failed restart leaves the swap in place: run again to swap back).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

usage() { echo "usage: pm2-rollback.sh --dir DIR --user USER --ecosystem FILE --app NAME [--wait-timeout SECONDS]"; }

dir="" user="" ecosystem="" app="" wait_timeout=30
while (($#)); do
  case $1 in
    --dir) dir=${2-}; shift 2 || die "$EX_USAGE" "--dir needs a value" ;;
    --user) user=${2-}; shift 2 || die "$EX_USAGE" "--user needs a value" ;;
    --ecosystem) ecosystem=${2-}; shift 2 || die "$EX_USAGE" "--ecosystem needs a value" ;;
    --app) app=${2-}; shift 2 || die "$EX_USAGE" "--app needs a value" ;;
    --wait-timeout) wait_timeout=${2-}; shift 2 || die "$EX_USAGE" "--wait-timeout needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ "$dir" == /* && "$dir" != */ ]] || die "$EX_USAGE" "--dir must be an absolute path without a trailing slash, got: '$dir'"
previous="$dir-previous"
[[ -d "$dir" && ! -L "$dir" ]] || die "$EX_NOINPUT" "no live release directory at $dir"
[[ -d "$previous" && ! -L "$previous" ]] || die "$EX_NOINPUT" "no previous release at $previous: nothing to roll back to"

release_name() {
  if [[ -f "$1/RELEASE" ]]; then head -n1 "$1/RELEASE"
  elif [[ -f "$1/package.json" ]]; then jq -r '.version // "unknown"' "$1/package.json" 2>/dev/null || echo unknown
  else echo unknown; fi
}

if [[ -f "$dir/.env" ]]; then
  { cp -p "$dir/.env" "$previous/.env.lazarus-tmp" && mv -f "$previous/.env.lazarus-tmp" "$previous/.env"; } ||
    die "$EX_UNAVAILABLE" "cannot carry the live .env into $previous"
fi
swap="$dir-swap.$$"
mv -T "$dir" "$swap" || die "$EX_UNAVAILABLE" "cannot move $dir aside"
if ! mv -T "$previous" "$dir"; then
  mv -T "$swap" "$dir" || true
  die "$EX_UNAVAILABLE" "cannot move $previous to $dir (the live release is back in place)"
fi
mv -T "$swap" "$previous" || die "$EX_UNAVAILABLE" "swapped, but cannot move the old live release to $previous (it is at $swap)"
log "$dir now holds $(release_name "$dir"); $previous holds $(release_name "$previous")"

rc=0
out=$(bash "$here/pm2-app.sh" --user "$user" --ecosystem "$ecosystem" --app "$app" --wait-timeout "$wait_timeout" restart) || rc=$?
entry=$(jq -c '.app // null' <<<"${out:-null}" 2>/dev/null || echo null)
result=(--arg dir "$dir" --arg live_release "$(release_name "$dir")" --arg previous_release "$(release_name "$previous")" --argjson app "$entry")
if ((rc != 0)); then
  log "error: swapped, but $app did not come back online (run again to swap back)"
  emit_result error "$EX_UNAVAILABLE" "${result[@]}" --arg error "$app is not online after the rollback"
  exit "$EX_UNAVAILABLE"
fi
emit_result ok 0 "${result[@]}"
