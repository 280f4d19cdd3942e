#!/usr/bin/env bash
# pm2-host-setup.sh -- prepares a host to run a Node app under PM2 as an unprivileged user (runbook 003, Bunty):
#   1. the user (created with a home and bash when missing) and the app directory (owned by it, 0750);
#   2. PM2 at an exact version, installed globally with npm (skipped when that version is already there);
#   3. pm2-logrotate at an exact version with the given settings (read back from PM2 and checked);
#   4. PM2 started at boot: `pm2 startup systemd` for the user (unit pm2-<user>), enabled.
# Idempotent: a re-run with the same arguments changes nothing.
#
# Usage: pm2-host-setup.sh --user USER --app-dir DIR --pm2-version X.Y.Z --logrotate-version X.Y.Z
#                          --logrotate-max-size SIZE --logrotate-retain N --logrotate-compress true|false [--no-startup]
#   --no-startup   skip the boot unit (for hosts without systemd, e.g. tests)
#
# Environment: RESULT_FILE (also write the JSON result line there); PM2_BIN (the pm2 to use; default: the one on PATH
#   after the install); NPM_CONFIG_* as npm reads them.
# Output: one JSON line: {"script","status","exit_code","user","app_dir","pm2_version","logrotate":{max_size,retain,compress},"startup"}
# Exit codes: 0 ready; 64 bad arguments; 69 npm, pm2 or systemd failed, or the logrotate settings did not stick.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-pm2.sh
source "$here/lib-pm2.sh"

usage() {
  echo "usage: pm2-host-setup.sh --user USER --app-dir DIR --pm2-version X.Y.Z --logrotate-version X.Y.Z" \
    "--logrotate-max-size SIZE --logrotate-retain N --logrotate-compress true|false [--no-startup]"
}

user="" app_dir="" pm2_version="" lr_version="" lr_size="" lr_retain="" lr_compress="" startup=true
while (($#)); do
  case $1 in
    --user) user=${2-}; shift 2 || die "$EX_USAGE" "--user needs a value" ;;
    --app-dir) app_dir=${2-}; shift 2 || die "$EX_USAGE" "--app-dir needs a value" ;;
    --pm2-version) pm2_version=${2-}; shift 2 || die "$EX_USAGE" "--pm2-version needs a value" ;;
    --logrotate-version) lr_version=${2-}; shift 2 || die "$EX_USAGE" "--logrotate-version needs a value" ;;
    --logrotate-max-size) lr_size=${2-}; shift 2 || die "$EX_USAGE" "--logrotate-max-size needs a value" ;;
    --logrotate-retain) lr_retain=${2-}; shift 2 || die "$EX_USAGE" "--logrotate-retain needs a value" ;;
    --logrotate-compress) lr_compress=${2-}; shift 2 || die "$EX_USAGE" "--logrotate-compress needs a value" ;;
    --no-startup) startup=false; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ "$user" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "$EX_USAGE" "--user must be a Unix user name, got: '$user'"
[[ "$app_dir" == /* ]] || die "$EX_USAGE" "--app-dir must be an absolute path, got: '$app_dir'"
[[ "$pm2_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$EX_USAGE" "--pm2-version must be an exact version such as 7.0.4, got: '$pm2_version'"
[[ "$lr_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$EX_USAGE" "--logrotate-version must be an exact version such as 3.0.0, got: '$lr_version'"
[[ "$lr_size" =~ ^[0-9]+[KMG]$ ]] || die "$EX_USAGE" "--logrotate-max-size must be a size such as 10M, got: '$lr_size'"
[[ "$lr_retain" =~ ^[1-9][0-9]*$ ]] || die "$EX_USAGE" "--logrotate-retain must be a positive count such as 7, got: '$lr_retain'"
[[ "$lr_compress" == true || "$lr_compress" == false ]] || die "$EX_USAGE" "--logrotate-compress must be true or false, got: '$lr_compress'"

if ! id "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user" || die "$EX_UNAVAILABLE" "cannot create user $user"
  log "created user $user"
fi
install -d -m 0750 -o "$user" -g "$(id -gn "$user")" "$app_dir" || die "$EX_UNAVAILABLE" "cannot create $app_dir"

if [[ -z "${PM2_BIN:-}" ]]; then
  if [[ "$(pm2 --version 2>/dev/null | tail -n1 || true)" != "$pm2_version" ]]; then
    require_cmd npm
    log "npm install -g pm2@$pm2_version"
    npm install -g --no-fund --no-audit "pm2@$pm2_version" >&2 || die "$EX_UNAVAILABLE" "npm install -g pm2@$pm2_version failed"
  fi
  PM2_BIN=$(command -v pm2) || die "$EX_UNAVAILABLE" "pm2 is not on PATH after its install"
fi
pm2_init "$user"
pm2_daemon

# pm2-logrotate: installed into the user's PM2 (a module is a PM2 process of that user), then configured.
if ! pm2_as_user jlist | jq -e '.[] | select(.name == "pm2-logrotate")' >/dev/null; then
  log "pm2 install pm2-logrotate@$lr_version"
  pm2_as_user install "pm2-logrotate@$lr_version" </dev/null >&2 || die "$EX_UNAVAILABLE" "pm2 install pm2-logrotate@$lr_version failed"
fi
pm2_as_user set pm2-logrotate:max_size "$lr_size" >&2 || die "$EX_UNAVAILABLE" "pm2 set pm2-logrotate:max_size failed"
pm2_as_user set pm2-logrotate:retain "$lr_retain" >&2 || die "$EX_UNAVAILABLE" "pm2 set pm2-logrotate:retain failed"
pm2_as_user set pm2-logrotate:compress "$lr_compress" >&2 || die "$EX_UNAVAILABLE" "pm2 set pm2-logrotate:compress failed"
settings=$(pm2_logrotate_settings)
jq -e --arg s "$lr_size" --arg r "$lr_retain" --arg c "$lr_compress" '.max_size == $s and .retain == $r and .compress == $c' <<<"$settings" >/dev/null ||
  die "$EX_UNAVAILABLE" "pm2-logrotate settings did not stick: $settings"

startup_state=skipped
if [[ "$startup" == true ]]; then
  require_cmd systemctl
  home=$(getent passwd "$user" | cut -d: -f6)
  "$PM2_BIN" startup systemd -u "$user" --hp "$home" >&2 || die "$EX_UNAVAILABLE" "pm2 startup systemd -u $user failed"
  systemctl is-enabled --quiet "pm2-$user" || die "$EX_UNAVAILABLE" "unit pm2-$user is not enabled after pm2 startup"
  startup_state="pm2-$user"
fi
log "PM2 $("$PM2_BIN" --version | tail -n1) ready for $user; pm2-logrotate $settings; boot: $startup_state"
emit_result ok 0 --arg user "$user" --arg app_dir "$app_dir" --arg pm2_version "$("$PM2_BIN" --version | tail -n1)" \
  --argjson logrotate "$settings" --arg startup "$startup_state"
