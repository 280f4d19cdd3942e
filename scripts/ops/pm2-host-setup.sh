#!/usr/bin/env bash
# pm2-host-setup.sh -- prepares a host to run a Node app under PM2 as an unprivileged user (runbook 003, Bunty):
#   1. the user (created with a home and bash when missing) and the app directory (owned by it, 0750);
#   2. PM2 at an exact version, installed globally with npm (skipped when that version is already there);
#   3. pm2-logrotate at an exact version with the given settings (read back from PM2 and checked);
#   4. PM2 started at boot: `pm2 startup systemd` for the user (unit pm2-<user>), enabled.
# Idempotent: a re-run with the same arguments changes nothing (no install, no `pm2 set`, so the module is not restarted).
#
# pm2-logrotate is installed as a PM2 *tarball module* (`pm2 install <file>.tar.gz`: unpacked, no npm), from
# MODULE_CACHE/pm2-logrotate-<version>.tar.gz. When that bundle is missing it is built once, here, with npm (the
# package and its production dependencies, `pm2` and `pmx` pinned: the package asks for "latest" of both). Why not
# `pm2 install pm2-logrotate` (the runbook's line): PM2 runs `npm install --prefix ~/.pm2/modules/...`, and with a
# --prefix npm reads its global config from <prefix>/etc/npmrc, so the host's own registry mirror, proxy or CA file
# (/etc/npmrc, or /usr/etc/npmrc) is silently ignored; npm then retries every package with backoff (about 70 s each
# for the 110 packages) and looks hung for hours. The build here passes the host's global config explicitly, prefers
# the npm cache and fails after one retry. An air-gapped host gets the bundle dropped into MODULE_CACHE (built
# anywhere with this script, or by `pm2 package`): then no network and no npm are needed at all.
#
# Usage: pm2-host-setup.sh --user USER --app-dir DIR --pm2-version X.Y.Z --logrotate-version X.Y.Z
#                          --logrotate-max-size SIZE --logrotate-retain N --logrotate-compress true|false
#                          [--module-cache DIR] [--no-startup]
#   --module-cache DIR  where module bundles are kept (default /var/cache/lazarus/pm2-modules)
#   --no-startup        skip the boot unit (for hosts without systemd, e.g. tests)
#
# Environment: RESULT_FILE (also write the JSON result line there); PM2_BIN (the pm2 to use; default: the one on PATH
#   after the install); NPM_CONFIG_* as npm reads them.
# Output: one JSON line: {"script","status","exit_code","user","app_dir","pm2_version","logrotate":{max_size,retain,compress},
#   "logrotate_bundle","changed","startup"}
# Exit codes: 0 ready; 64 bad arguments; 69 npm, pm2 or systemd failed (the registry unreachable without a bundle),
#   or the logrotate settings did not stick; 73 the module cache is not writable.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-pm2.sh
source "$here/lib-pm2.sh"

usage() {
  echo "usage: pm2-host-setup.sh --user USER --app-dir DIR --pm2-version X.Y.Z --logrotate-version X.Y.Z" \
    "--logrotate-max-size SIZE --logrotate-retain N --logrotate-compress true|false [--module-cache DIR] [--no-startup]"
}

user="" app_dir="" pm2_version="" lr_version="" lr_size="" lr_retain="" lr_compress="" startup=true
module_cache=/var/cache/lazarus/pm2-modules
while (($#)); do
  case $1 in
    --user) user=${2-}; shift 2 || die "$EX_USAGE" "--user needs a value" ;;
    --app-dir) app_dir=${2-}; shift 2 || die "$EX_USAGE" "--app-dir needs a value" ;;
    --pm2-version) pm2_version=${2-}; shift 2 || die "$EX_USAGE" "--pm2-version needs a value" ;;
    --logrotate-version) lr_version=${2-}; shift 2 || die "$EX_USAGE" "--logrotate-version needs a value" ;;
    --logrotate-max-size) lr_size=${2-}; shift 2 || die "$EX_USAGE" "--logrotate-max-size needs a value" ;;
    --logrotate-retain) lr_retain=${2-}; shift 2 || die "$EX_USAGE" "--logrotate-retain needs a value" ;;
    --logrotate-compress) lr_compress=${2-}; shift 2 || die "$EX_USAGE" "--logrotate-compress needs a value" ;;
    --module-cache) module_cache=${2-}; shift 2 || die "$EX_USAGE" "--module-cache needs a value" ;;
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
[[ "$module_cache" == /* ]] || die "$EX_USAGE" "--module-cache must be an absolute path, got: '$module_cache'"

stage=""
trap 'code=$?; [[ -n "$stage" ]] && rm -rf "$stage"; emit_result_on_exit "$code"' EXIT

# npm with the host's global config (registry mirror, proxy, CA file), the cache first, one retry: a host without
# network fails in seconds with a message instead of retrying every package for minutes.
npm_host() {
  local global_config
  global_config=$(npm config get globalconfig 2>/dev/null) || global_config=""
  npm_config_globalconfig=$global_config npm_config_prefer_offline=true npm_config_fetch_retries=1 \
    npm_config_fetch_retry_maxtimeout=10000 npm_config_fetch_timeout=60000 npm_config_audit=false npm_config_fund=false \
    npm_config_update_notifier=false npm "$@" </dev/null
}

# build_logrotate_bundle FILE -- pm2-logrotate@lr_version with its production dependencies as a PM2 tarball module
# (one top folder, `module/`, holding package.json and node_modules), written to FILE only when complete.
build_logrotate_bundle() {
  local out=$1
  require_cmd npm tar
  stage=$(mktemp -d) || die "$EX_CANTCREAT" "cannot create a temporary directory"
  log "building the pm2-logrotate@$lr_version bundle with npm (pm2 pinned to $pm2_version)"
  (cd "$stage" && npm_host pack "pm2-logrotate@$lr_version" --silent >/dev/null) ||
    die "$EX_UNAVAILABLE" "npm pack pm2-logrotate@$lr_version failed (registry unreachable?); on a host without network put a bundle at $out"
  mkdir "$stage/module" || die "$EX_CANTCREAT" "cannot create $stage/module"
  tar xzf "$stage/pm2-logrotate-$lr_version.tgz" -C "$stage/module" --strip-components 1 ||
    die "$EX_UNAVAILABLE" "cannot unpack pm2-logrotate-$lr_version.tgz"
  # The package asks for "latest" of pm2 and pmx: pin them, so a rebuild next year installs the same code.
  (cd "$stage/module" && npm_host pkg set "dependencies.pm2=$pm2_version" "dependencies.pmx=1.6.8" &&
    npm_host install --omit=dev --no-package-lock --silent >&2) ||
    die "$EX_UNAVAILABLE" "npm install of pm2-logrotate@$lr_version's dependencies failed (registry unreachable?); on a host without network put a bundle at $out"
  tar czf "$stage/bundle.tar.gz" -C "$stage" module || die "$EX_CANTCREAT" "cannot write the bundle in $stage"
  # Written under a temporary name and renamed: an interrupted build never leaves a bundle that looks complete.
  if ! { install -m 0644 "$stage/bundle.tar.gz" "$out.tmp" && mv -f "$out.tmp" "$out"; }; then
    die "$EX_CANTCREAT" "cannot write $out"
  fi
}

if ! id "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user" || die "$EX_UNAVAILABLE" "cannot create user $user"
  log "created user $user"
fi
install -d -m 0750 -o "$user" -g "$(id -gn "$user")" "$app_dir" || die "$EX_UNAVAILABLE" "cannot create $app_dir"

if [[ -z "${PM2_BIN:-}" ]]; then
  if [[ "$(pm2 --version 2>/dev/null | tail -n1 || true)" != "$pm2_version" ]]; then
    require_cmd npm
    log "npm install -g pm2@$pm2_version"
    npm_host install -g "pm2@$pm2_version" >&2 || die "$EX_UNAVAILABLE" "npm install -g pm2@$pm2_version failed"
  fi
  PM2_BIN=$(command -v pm2) || die "$EX_UNAVAILABLE" "pm2 is not on PATH after its install"
fi
pm2_init "$user"
pm2_daemon

# pm2-logrotate: a tarball module of the user's PM2 (a module is a PM2 process of that user), then configured.
changed=false
bundle="$module_cache/pm2-logrotate-$lr_version.tar.gz"
installed=$(pm2_as_user jlist | jq -r '[.[] | select(.name == "pm2-logrotate") | .pm2_env.version] | first // ""')
if [[ "$installed" != "$lr_version" ]]; then
  install -d -m 0755 "$module_cache" || die "$EX_CANTCREAT" "cannot create $module_cache"
  [[ -s "$bundle" ]] || build_logrotate_bundle "$bundle"
  if [[ -n "$installed" ]]; then
    log "pm2 uninstall pm2-logrotate (installed: $installed, wanted: $lr_version)"
    pm2_as_user uninstall pm2-logrotate </dev/null >&2 || die "$EX_UNAVAILABLE" "pm2 uninstall pm2-logrotate failed"
  fi
  log "pm2 install $bundle"
  pm2_as_user install "$bundle" </dev/null >&2 || die "$EX_UNAVAILABLE" "pm2 install $bundle failed"
  changed=true
fi
# `pm2 set` restarts the module: only what differs is set.
current=$(pm2_logrotate_settings)
for kv in "max_size=$lr_size" "retain=$lr_retain" "compress=$lr_compress"; do
  key=${kv%%=*} value=${kv#*=}
  if [[ "$(jq -r --arg k "$key" '.[$k]' <<<"$current")" != "$value" ]]; then
    pm2_as_user set "pm2-logrotate:$key" "$value" </dev/null >&2 || die "$EX_UNAVAILABLE" "pm2 set pm2-logrotate:$key failed"
    changed=true
  fi
done
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
  --argjson logrotate "$settings" --arg logrotate_bundle "$bundle" --argjson changed "$changed" --arg startup "$startup_state"
