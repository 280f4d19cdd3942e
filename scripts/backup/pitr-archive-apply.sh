#!/usr/bin/env bash
# pitr-archive-apply.sh -- put WAL archiving settings that were just written to a running PostgreSQL cluster's
# configuration (a conf.d file) into effect, restarting the cluster ONLY when archiving cannot work without a restart.
#
# Usage: pitr-archive-apply.sh --service UNIT --port PORT --socket-dir DIR --archive-command CMD
#                              --archive-timeout SECONDS [--user USER]
#
# Why not simply restart: the setup that calls this runs again whenever its files or the server's identity change
# (Pencom's recovery.postgresServer switch marked done or removed, a changed retention, a new off-site repository),
# and on a production server every restart is an outage. So the running server is asked what is in effect:
#   - archive_mode off, or wal_level minimal: archiving needs a server start -> `systemctl restart UNIT`;
#   - otherwise, archive_command or archive_timeout not the rendered ones (both are reloadable) -> pg_reload_conf();
#   - otherwise nothing.
# Restarts pending for other parameters (pg_settings.pending_restart, e.g. an edit of the infrastructure team's, or a
# wal_level of logical lowered to replica, which archives just as well) are reported, not acted on: they are the
# owner's to schedule. Afterwards the settings are read again; when another file overrides them (postgresql.auto.conf
# from ALTER SYSTEM, a later include) the file and line are named and it fails, since WAL would not reach pgBackRest.
# A cluster that does not answer is refused (never started here: it may be down on purpose). Run as root (systemctl;
# psql runs as USER over the cluster's socket).
#
# Arguments:
#   --service UNIT          the cluster's systemd unit (Debian: postgresql@<version>-<cluster>)
#   --port PORT, --socket-dir DIR   where the cluster answers (Debian: 5432, /var/run/postgresql)
#   --archive-command CMD   the rendered archive_command
#   --archive-timeout SECONDS   the rendered archive_timeout, in seconds
#   --user USER             the server's OS user (default postgres)
# Output: one JSON line {status, action: "restart"|"reload"|"none", reason, started_before, started_after,
#   pending_restart[]}; started_* are pg_postmaster_start_time() before and after.
# Exit codes: 0 in effect; 64 usage or not root; 69 a tool missing or the cluster does not answer; 70 the restart
#   failed, or the settings are still not in effect afterwards (overridden elsewhere).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() { echo "usage: pitr-archive-apply.sh --service UNIT --port PORT --socket-dir DIR --archive-command CMD --archive-timeout SECONDS [--user USER]"; }

unit="" port="" socket="" want_command="" want_timeout="" user=postgres
while (($#)); do
  case $1 in
    --service) unit=${2:-}; shift 2 ;;
    --port) port=${2:-}; shift 2 ;;
    --socket-dir) socket=${2:-}; shift 2 ;;
    --archive-command) want_command=${2:-}; shift 2 ;;
    --archive-timeout) want_timeout=${2:-}; shift 2 ;;
    --user) user=${2:-}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ $unit =~ ^[A-Za-z0-9@._-]+$ ]] || die "$EX_USAGE" "--service must be a systemd unit name, got '$unit'"
[[ $port =~ ^[0-9]+$ ]] || die "$EX_USAGE" "--port must be a number, got '$port'"
[[ $socket == /* ]] || die "$EX_USAGE" "--socket-dir must be an absolute path, got '$socket'"
[[ -n $want_command ]] || die "$EX_USAGE" "--archive-command is required (the rendered archive_command)"
[[ $want_timeout =~ ^[0-9]+$ ]] || die "$EX_USAGE" "--archive-timeout must be a number of seconds, got '$want_timeout'"
((EUID == 0)) || die "$EX_USAGE" "run as root (it may restart $unit; psql runs as $user)"
require_cmd psql jq runuser systemctl
cd /

sql() { runuser -u "$user" -- psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$socket" -p "$port" -d postgres -c "$1"; }
setting() { sql "select setting from pg_settings where name = '$1'"; }
read_settings() {
  mode=$(setting archive_mode)
  level=$(setting wal_level)
  command=$(setting archive_command)
  timeout=$(setting archive_timeout) # in seconds, pg_settings' unit for it
  started=$(sql "select to_char(pg_postmaster_start_time() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
}
# where_set NAME: the file and line the running value comes from (pg_settings.sourcefile), for an error message.
where_set() { sql "select coalesce(sourcefile || ':' || sourceline, source) from pg_settings where name = '$1'" 2>/dev/null || echo "unknown"; }

if ! answer=$(sql "select 1" 2>&1); then
  die "$EX_UNAVAILABLE" "the cluster of $unit does not answer on $socket port $port (postgres.port), so what is in effect cannot be read; it is not started here: start it (systemctl start $unit) and run this again ($answer)"
fi
read_settings
started_before=$started
pending=$(sql "select coalesce(string_agg(name, ',' order by name), '') from pg_settings where pending_restart")

if [[ $mode == off || $level == minimal ]]; then
  action=restart reason="archive_mode is $mode and wal_level $level: archiving starts only with the server"
elif [[ $command != "$want_command" || $timeout != "$want_timeout" ]]; then
  action=reload reason="archive_command or archive_timeout differ from the rendered ones; both are reloadable"
else
  action=none reason="archive_mode $mode, wal_level $level, archive_command and archive_timeout as rendered"
fi
log "$action: $reason"
[[ -z $pending ]] || log "a restart is pending for $pending; left to the server's owner (archiving does not need it)"

case $action in
  restart)
    systemctl restart "$unit" || die "$EX_SOFTWARE" "systemctl restart $unit failed (journalctl -u $unit)"
    # systemd returns once the unit has started; the cluster may still be opening its socket
    for _ in $(seq 1 60); do sql "select 1" >/dev/null 2>&1 && break; sleep 1; done
    ;;
  reload)
    sql "select pg_reload_conf()" >/dev/null
    # pg_reload_conf() only signals the postmaster; a new session sees the values once it has re-read the files
    for _ in $(seq 1 20); do
      [[ $(setting archive_command) == "$want_command" && $(setting archive_timeout) == "$want_timeout" ]] && break
      sleep 0.5
    done
    ;;
esac

sql "select 1" >/dev/null 2>&1 || die "$EX_SOFTWARE" "the cluster of $unit does not answer on $socket port $port after the $action (journalctl -u $unit)"
read_settings
if [[ $mode == off || $level == minimal ]]; then
  die "$EX_SOFTWARE" "archive_mode is still $mode (wal_level $level) after the $action: $(where_set archive_mode) sets it after the rendered file; remove it there"
fi
if [[ $command != "$want_command" ]]; then
  die "$EX_SOFTWARE" "archive_command is '$command' after the $action, not the rendered one: $(where_set archive_command) overrides it (ALTER SYSTEM RESET archive_command, or remove it from that file), else WAL does not reach pgBackRest"
fi
if [[ $timeout != "$want_timeout" ]]; then
  die "$EX_SOFTWARE" "archive_timeout is ${timeout}s after the $action, not ${want_timeout}s: $(where_set archive_timeout) overrides it"
fi
emit_result ok 0 --arg action "$action" --arg reason "$reason" --arg service "$unit" \
  --arg started_before "$started_before" --arg started_after "$started" \
  --argjson pending_restart "$(jq -cn --arg p "$pending" '$p | split(",") | map(select(. != ""))')"
