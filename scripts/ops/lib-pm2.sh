#!/usr/bin/env bash
# PM2 helpers for pm2-*.sh. Sourced (after ../lib/common.sh), never executed. PM2 keeps its process list, logs and
# module settings under the home of the user it runs as (~/.pm2, or PM2_HOME when set); every call here runs as that
# user with its HOME.

PM2_USER=""

# pm2_init USER -- checks the user and PM2_BIN (default: pm2 on PATH).
pm2_init() {
  PM2_USER=$1
  id "$PM2_USER" >/dev/null 2>&1 || die "$EX_NOINPUT" "no such user: $PM2_USER"
  PM2_BIN=${PM2_BIN:-$(command -v pm2 || true)}
  [[ -n "$PM2_BIN" && -x "$PM2_BIN" ]] || die "$EX_UNAVAILABLE" "required command not found: pm2"
  require_cmd jq
}

# pm2_daemon -- makes sure PM2's daemon runs, started with stdio on /dev/null: a daemon spawned by a pm2 command
# inherits that command's stdout/stderr, and over SSH (a Pulumi command resource) it would hold the session's pipes
# open, so the session, and the resource, would never finish.
pm2_daemon() {
  pm2_as_user ping </dev/null >/dev/null 2>&1 || die "$EX_UNAVAILABLE" "the PM2 daemon of $PM2_USER does not start (pm2 ping failed)"
}

# pm2_as_user ARGS... -- runs pm2 as PM2_USER (directly when already that user).
pm2_as_user() {
  local home
  home=$(getent passwd "$PM2_USER" | cut -d: -f6)
  if [[ "$(id -un)" == "$PM2_USER" ]]; then
    HOME=$home "$PM2_BIN" "$@"
  else
    require_cmd runuser
    # From /, not the caller's directory: a command resource's session starts in root's home (0700), where node,
    # running as the user, cannot even read its working directory and PM2's daemon fails to start.
    (cd / && runuser -u "$PM2_USER" -- env HOME="$home" PATH="$PATH" ${PM2_HOME:+PM2_HOME="$PM2_HOME"} "$PM2_BIN" "$@")
  fi
}

# pm2_logrotate_settings -- prints {max_size,retain,compress} as PM2 stores them (module_conf.json in ~/.pm2).
pm2_logrotate_settings() {
  local home
  home=$(getent passwd "$PM2_USER" | cut -d: -f6)
  jq -c '."pm2-logrotate" // {} | {max_size: (.max_size // "" | tostring), retain: (.retain // "" | tostring), compress: (.compress // "" | tostring)}' \
    "${PM2_HOME:-$home/.pm2}/module_conf.json" 2>/dev/null || echo '{}'
}

# pm2_app_entry NAME -- prints {name,status,pid,restarts,pm_cwd} of the app from `pm2 jlist`, or null.
pm2_app_entry() {
  pm2_as_user jlist 2>/dev/null | jq -c --arg n "$1" \
    '[.[] | select(.name == $n) | {name, status: .pm2_env.status, pid, restarts: .pm2_env.restart_time, pm_cwd: .pm2_env.pm_cwd}] | first // null'
}
