#!/usr/bin/env bash
# pitr-restore.sh -- restore a pgBackRest backup plus archived WAL, to the latest point or to a target time,
# into a NEW data directory beside the live cluster, start it on its own port and report how far it recovered.
#
# Usage: pitr-restore.sh --stanza NAME --target-dir DIR --port PORT [--target-time TIME] [--set LABEL]
#                        [--target-action promote|pause] [--config FILE] [--pg-bin DIR] [--socket-dir DIR]
#                        [--conf-file FILE] [--keep-archiving] [--no-start] [--timeout SECONDS]
#                        [--dump-database DB --dump-dir DIR]
#
# Never restores over a live cluster: DIR must not exist or be an empty directory (anything else is refused
# before pgBackRest runs), and the port must be free. Recovery: with no --target-time, to the end of the
# archived WAL (the latest point; the cluster then promotes itself); with --target-time, up to that moment,
# then promote (default) or pause for inspection. The restored cluster is started with archive_mode=off for this
# start only, so a copy beside the live cluster never pushes its new timeline into the live cluster's archive
# (--keep-archiving to start it with the archiving it was backed up with, e.g. when it replaces the old one).
# Connections go over the socket in --socket-dir as the OS user this runs as (or PGUSER).
# Run it as the database server's OS user (postgres).
#
# Arguments:
#   --stanza NAME          the stanza in the repository
#   --target-dir DIR       the new data directory (must not exist, or be empty); its parent must exist
#   --port PORT            port for the restored cluster (must be free)
#   --target-time TIME     recovery target with its UTC offset, e.g. "2026-11-23 14:03:00+00", or ISO 8601 UTC
#                          "2026-11-23T14:03:00Z" (default: latest)
#   --set LABEL            restore this backup set (default: pgBackRest picks the newest one that fits the target)
#   --target-action A      promote (default) or pause, with --target-time
#   --config FILE          pgbackrest.conf (default: PGBACKREST_CONFIG, else pgBackRest's default)
#   --pg-bin DIR           PostgreSQL binaries (default: PG_BIN, else the pg_ctl on PATH, else /usr/lib/postgresql/15/bin)
#   --socket-dir DIR       Unix socket directory for the restored cluster (default: the parent of DIR)
#   --conf-file FILE       postgresql.conf to use when the backup has none in PGDATA (Debian keeps it in /etc)
#   --keep-archiving       do not turn archive_mode off for the start
#   --no-start             restore the files only
#   --timeout SECONDS      for the start and the recovery (default 600)
#   --dump-database DB     after recovery, dump DB from the restored cluster (pg_dump -Fc) into --dump-dir as
#                          DB_pitr_<UTC stamp>.dump with its sha256 sidecar and a `latest` link (what pg-restore.sh
#                          reads), then stop the restored cluster and remove its data directory: the route by which a
#                          point-in-time restore reaches a new database beside the live one (lib/postgresPitr.ts)
#   --dump-dir DIR         where the dump goes (must exist and be writable)
# Environment: PGBACKREST_REPO1_CIPHER_PASS, PGBACKREST_REPO1_S3_KEY, PGBACKREST_REPO1_S3_KEY_SECRET (read by
#   pgBackRest, also by the restored cluster's restore_command, so they must be in this environment);
#   PGBACKREST_CONFIG; PG_BIN; PGUSER; RESULT_FILE.
# Output: one JSON line: {status, stanza, target_dir, port, backup_label, recovery_type, target_time,
#   recovered_until, in_recovery, timeline, log_file, ...}. recovered_until is the commit time of the last
#   transaction replayed (pg_last_xact_replay_timestamp()). With --dump-database also dump_file, dump_sha256,
#   dump_bytes, dump_seconds (and started false: the restored cluster is gone).
# Exit codes: 0 restored (and started, and recovered); 64 usage or run as root; 65 the target time is before the
#   oldest backup, or the archive ends before the target time; 66 stanza, backup set or config file not found, or
#   no valid backup (a stanza never fully created included: lib-pitr.sh's table reads it as "no backup"); 69
#   pgbackrest/pg_ctl missing, port in use, the repository cannot be read (lib-pitr.sh's table); 70 restore or start
#   failed; 73 target dir not empty or not creatable; 75 recovery did not finish within the timeout.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pitr.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-pitr.sh"

usage() {
  echo "usage: pitr-restore.sh --stanza NAME --target-dir DIR --port PORT [--target-time TIME] [--set LABEL] [--target-action promote|pause] [--config FILE] [--pg-bin DIR] [--socket-dir DIR] [--conf-file FILE] [--keep-archiving] [--no-start] [--timeout SECONDS]"
}

stanza="" target_dir="" port="" target_time="" set_label="" target_action=promote config=${PGBACKREST_CONFIG:-}
pg_bin=${PG_BIN:-} socket_dir="" conf_file="" keep_archiving=0 start=1 timeout=600 dump_db="" dump_dir=""
while (($#)); do
  case $1 in
    --stanza) stanza=${2:-}; shift 2 ;;
    --target-dir) target_dir=${2:-}; shift 2 ;;
    --port) port=${2:-}; shift 2 ;;
    --target-time) target_time=${2:-}; shift 2 ;;
    --set) set_label=${2:-}; shift 2 ;;
    --target-action) target_action=${2:-}; shift 2 ;;
    --config) config=${2:-}; shift 2 ;;
    --pg-bin) pg_bin=${2:-}; shift 2 ;;
    --socket-dir) socket_dir=${2:-}; shift 2 ;;
    --conf-file) conf_file=${2:-}; shift 2 ;;
    --keep-archiving) keep_archiving=1; shift ;;
    --no-start) start=0; shift ;;
    --timeout) timeout=${2:-}; shift 2 ;;
    --dump-database) dump_db=${2:-}; shift 2 ;;
    --dump-dir) dump_dir=${2:-}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ -n $stanza ]] || { usage >&2; die "$EX_USAGE" "--stanza is required"; }
[[ $stanza =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || die "$EX_USAGE" "--stanza must be letters, digits, '_' or '-', got '$stanza'"
[[ -n $target_dir ]] || { usage >&2; die "$EX_USAGE" "--target-dir is required (a new, empty data directory)"; }
if ! [[ $port =~ ^[1-9][0-9]{0,4}$ ]] || ((port > 65535)); then die "$EX_USAGE" "--port must be a TCP port number, got '$port'"; fi
[[ $target_action == promote || $target_action == pause ]] || die "$EX_USAGE" "--target-action must be promote or pause, got '$target_action'"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "$EX_USAGE" "--timeout must be a positive number of seconds, got '$timeout'"
if [[ -n $dump_db || -n $dump_dir ]]; then
  [[ -n $dump_db && -n $dump_dir ]] || die "$EX_USAGE" "--dump-database and --dump-dir go together"
  [[ $dump_db =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] || die "$EX_USAGE" "--dump-database must be a plain database name, got '$dump_db'"
  ((start)) || die "$EX_USAGE" "--dump-database needs the restored cluster started (not --no-start)"
  [[ $target_action == promote ]] || die "$EX_USAGE" "--dump-database dumps a promoted cluster, not a paused one (--target-action promote)"
fi
target_epoch=""
# ISO 8601 UTC (2026-11-23T02:00:00Z, what the stack files use) into the form pgBackRest's backup-set selection takes
# ("YYYY-MM-DD HH:MM:SS[.mmm]+00"; it refuses the T and the Z); sub-millisecond digits are dropped (an earlier target).
if [[ $target_time =~ ^([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?Z$ ]]; then
  target_time="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}${BASH_REMATCH[3]:0:4}+00"
fi
if [[ -n $target_time ]]; then
  target_epoch=$(date -d "$target_time" +%s 2>/dev/null) ||
    die "$EX_USAGE" "--target-time is not a time: '$target_time' (e.g. \"2026-11-23 14:03:00+00\")"
  # PostgreSQL reads an offset-less time in its own TimeZone setting, which need not be this host's: refuse the guess.
  [[ $target_time =~ ([+-][0-9]{2}(:?[0-9]{2})?|Z| UTC)$ ]] ||
    die "$EX_USAGE" "--target-time needs an explicit UTC offset, e.g. \"$target_time+00\", got '$target_time'"
fi
((EUID != 0)) || die "$EX_USAGE" "run as the database server's OS user, not root (e.g. runuser -u postgres -- $0 ...)"
require_cmd pgbackrest jq
if [[ -z $pg_bin ]]; then
  if command -v pg_ctl >/dev/null 2>&1; then pg_bin=$(dirname "$(command -v pg_ctl)"); else pg_bin=/usr/lib/postgresql/15/bin; fi
fi
((start == 0)) || [[ -x $pg_bin/pg_ctl ]] || die "$EX_UNAVAILABLE" "pg_ctl not found in $pg_bin (pass --pg-bin)"
if [[ -n $config ]]; then [[ -r $config ]] || die "$EX_NOINPUT" "pgBackRest config not readable: $config"; fi
if [[ -n $conf_file ]]; then [[ -r $conf_file ]] || die "$EX_NOINPUT" "--conf-file not readable: $conf_file"; fi
if [[ -n $dump_dir ]]; then
  require_cmd pg_dump sha256sum
  [[ -d $dump_dir ]] || die "$EX_CANTCREAT" "--dump-dir does not exist: $dump_dir"
  [[ -w $dump_dir ]] || die "$EX_CANTCREAT" "--dump-dir is not writable by $(id -un): $dump_dir"
fi

# 1. The target: a new directory, never an existing cluster.
target_dir=$(realpath -m "$target_dir")
parent=$(dirname "$target_dir")
[[ -d $parent ]] || die "$EX_CANTCREAT" "parent directory of the target does not exist: $parent"
if [[ -e $target_dir ]]; then
  [[ -d $target_dir ]] || die "$EX_CANTCREAT" "target $target_dir exists and is not a directory"
  if [[ -e $target_dir/PG_VERSION || -e $target_dir/postmaster.pid ]]; then
    die "$EX_CANTCREAT" "refusing to restore into $target_dir: it holds a PostgreSQL data directory (restores go into a new directory, never over a cluster)"
  fi
  [[ -z $(ls -A "$target_dir") ]] || die "$EX_CANTCREAT" "refusing to restore into $target_dir: the directory is not empty"
fi
socket_dir=${socket_dir:-$parent}
if ((start)); then
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "$EX_UNAVAILABLE" "port $port is already in use on 127.0.0.1; choose a free --port for the restored cluster"
  fi
  [[ ! -e $socket_dir/.s.PGSQL.$port ]] || die "$EX_UNAVAILABLE" "a server socket already exists at $socket_dir/.s.PGSQL.$port"
fi

pb() { pgbackrest ${config:+"--config=$config"} --stanza="$stanza" --log-level-stderr=off "$@"; }
started=$(date +%s)

# 2. The repository: the stanza exists and has a backup that fits. Read by lib-pitr.sh's table: unreadable is refused
# (69); no stanza (1), no valid backup (2) and a stanza never fully created (3) are 66: nothing to restore.
pitr_info pb --log-level-console=warn
info=$PITR_INFO
case $PITR_STATE/$PITR_CODE in
  backup/*) ;;
  none/1) die "$EX_NOINPUT" "stanza '$stanza' not found in the repository ($PITR_MESSAGE): check the stanza name" ;;
  none/2) die "$EX_NOINPUT" "stanza '$stanza' has no valid backup in the repository" ;;
  none/3) die "$EX_NOINPUT" "stanza '$stanza' has no backup in the repository: it was never fully created (status 3: $PITR_MESSAGE), so there is nothing to restore from it" ;;
  *) die "$EX_UNAVAILABLE" "repository for stanza '$stanza' is not usable: $(pitr_unreadable_detail)" ;;
esac
if [[ -n $set_label ]]; then
  jq -e --arg l "$set_label" '.[0].backup | any(.label == $l)' <<<"$info" >/dev/null ||
    die "$EX_NOINPUT" "backup set '$set_label' not found for stanza '$stanza' (have: $(jq -r '[.[0].backup[].label] | join(", ")' <<<"$info"))"
fi
if [[ -n $target_epoch ]]; then
  oldest_stop=$(jq '.[0].backup | map(.timestamp.stop) | min' <<<"$info")
  ((target_epoch >= oldest_stop)) ||
    die "$EX_DATAERR" "target time $target_time is before the end of the oldest backup ($(date -u -d "@$oldest_stop" '+%Y-%m-%d %H:%M:%S+00')); nothing can be recovered to it"
fi

# 3. Restore the files.
restore_args=(--pg1-path="$target_dir")
if [[ -n $target_time ]]; then
  restore_args+=(--type=time "--target=$target_time" --target-action="$target_action")
  recovery_type="time"
else
  restore_args+=(--type=default)
  recovery_type=latest
fi
[[ -z $set_label ]] || restore_args+=(--set="$set_label")
log "restoring stanza '$stanza' into $target_dir (${recovery_type}${target_time:+ $target_time})"
out=$(pb --log-level-console=info restore "${restore_args[@]}" 2>&1) || die "$EX_SOFTWARE" "pgbackrest restore failed: $(pb_error "$out")"
backup_label=$(sed -n 's/.*restore backup set \([^,]*\),.*/\1/p' <<<"$out" | head -n1)
if [[ ! -e $target_dir/postgresql.conf ]]; then
  [[ -n $conf_file ]] ||
    die "$EX_NOINPUT" "the restored data dir has no postgresql.conf (the cluster keeps it outside PGDATA); pass --conf-file"
  cp "$conf_file" "$target_dir/postgresql.conf"
fi
chmod 700 "$target_dir"

result_base=(--arg stanza "$stanza" --arg target_dir "$target_dir" --argjson port "$port" --arg backup_label "$backup_label"
  --arg recovery_type "$recovery_type" --arg target_time "$target_time")
if ((!start)); then
  log "restored (not started): $target_dir"
  emit_result ok 0 "${result_base[@]}" --argjson started false --argjson duration_seconds "$(($(date +%s) - started))"
  exit 0
fi

# 4. Start it beside the live cluster: own port, own socket, no archiving into the live cluster's repository.
log_file=$target_dir.log
opts="-p $port -c unix_socket_directories=$socket_dir -c listen_addresses=localhost"
((keep_archiving)) || opts+=" -c archive_mode=off"
log "starting the restored cluster on port $port (log: $log_file)"
# The server's own reason (not the FATALs our polling connections get while it starts or shuts down).
fatal_reason() {
  { grep -E 'FATAL|PANIC' "$log_file" 2>/dev/null || true; } |
    { grep -vE 'the database system is (starting up|shutting down|not yet accepting connections|in recovery mode)' || true; } |
    tail -n 1 | sed 's/^.*\(FATAL\|PANIC\): *//'
}
# failed_start WHAT -- the server is down: say why, in the terms of this restore.
failed_start() {
  local reason last
  reason=$(fatal_reason)
  if grep -q 'recovery ended before configured recovery target was reached' "$log_file" 2>/dev/null; then
    last=$({ grep -o 'last completed transaction was at log time .*' "$log_file" || true; } | tail -n1 | sed 's/.*log time //')
    die "$EX_DATAERR" "the archive ends before the target time $target_time: the last transaction in it was committed at ${last:-unknown}; choose an earlier --target-time (restored files left in $target_dir)"
  fi
  die "$EX_SOFTWARE" "the restored cluster $1: ${reason:-see $log_file} (restored files left in $target_dir)"
}
if ! "$pg_bin/pg_ctl" -D "$target_dir" -l "$log_file" -w -t "$timeout" -o "$opts" start >/dev/null 2>&1; then
  "$pg_bin/pg_ctl" -D "$target_dir" status >/dev/null 2>&1 || failed_start "did not start"
  die "$EX_TEMPFAIL" "the restored cluster did not accept connections within ${timeout}s (log: $log_file)"
fi

q() { psql -X -A -t -q -h "$socket_dir" -p "$port" -d postgres -v ON_ERROR_STOP=1 -c "$1"; }
require_cmd psql
deadline=$(($(date +%s) + timeout))
while :; do
  in_recovery=$(q "select pg_is_in_recovery()" 2>/dev/null || echo "?")
  if [[ $in_recovery == f ]]; then break; fi
  if [[ $in_recovery == t && $recovery_type == time && $target_action == pause ]] &&
    [[ $(q "select pg_get_wal_replay_pause_state()" 2>/dev/null) == paused ]]; then
    break
  fi
  "$pg_bin/pg_ctl" -D "$target_dir" status >/dev/null 2>&1 || failed_start "stopped during recovery"
  (($(date +%s) < deadline)) || die "$EX_TEMPFAIL" "recovery did not finish within ${timeout}s (the cluster is still running on port $port; log: $log_file)"
  sleep 0.5
done
recovered_until=$(q "select coalesce(to_char(pg_last_xact_replay_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')")
timeline=$(q "select timeline_id from pg_control_checkpoint()")
log "restored cluster is up on port $port; recovered until ${recovered_until:-(no transaction replayed)}; in recovery: $in_recovery"
if [[ -n $dump_db ]]; then
  # The application database out of the restored cluster, in the format pg-restore.sh verifies (sidecar, latest).
  [[ $(q "select count(*) from pg_database where datname = '$dump_db'") == 1 ]] ||
    die "$EX_NOINPUT" "the restored cluster has no database '$dump_db' (have: $(q "select string_agg(datname, ', ') from pg_database where not datistemplate")); restored files left in $target_dir"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  name="${dump_db}_pitr_${stamp}.dump"
  partial="$dump_dir/.$name.partial"
  d0=$(date +%s)
  log "dumping $dump_db from the restored cluster into $dump_dir/$name"
  if ! err=$(pg_dump -h "$socket_dir" -p "$port" -d "$dump_db" -Fc -Z 1 -f "$partial" 2>&1); then
    rm -f -- "$partial"
    die_if_full "$dump_dir" 0 "the dump of $dump_db" "$err"
    die "$EX_SOFTWARE" "pg_dump of the restored $dump_db failed: $err (the restored cluster is still running on port $port)"
  fi
  sum=$(sha256sum -- "$partial" | cut -d' ' -f1)
  { printf '%s  %s\n' "$sum" "$name" >"$dump_dir/.$name.sha256.tmp" && mv -f -- "$dump_dir/.$name.sha256.tmp" "$dump_dir/$name.sha256" &&
    mv -f -- "$partial" "$dump_dir/$name" && ln -sfn -- "$name" "$dump_dir/latest"; } ||
    die "$EX_CANTCREAT" "could not write the dump's sidecar or rename it in $dump_dir"
  dump_bytes=$(stat -c %s -- "$dump_dir/$name")
  dump_seconds=$(($(date +%s) - d0))
  # The scratch cluster has done its work: stop it and give its space back (the dump is the restore's product).
  "$pg_bin/pg_ctl" -D "$target_dir" -m fast -w stop >/dev/null 2>&1 || log "warning: the restored cluster did not stop cleanly"
  rm -rf -- "$target_dir" "$log_file"
  log "dump complete: $dump_dir/$name ($dump_bytes bytes, ${dump_seconds}s); the restored cluster is stopped and removed"
  emit_result ok 0 "${result_base[@]}" --argjson started false --arg recovered_until "$recovered_until" \
    --argjson timeline "${timeline:-0}" --arg dump_file "$dump_dir/$name" --arg dump_sha256 "$sum" \
    --argjson dump_bytes "$dump_bytes" --argjson dump_seconds "$dump_seconds" --argjson duration_seconds "$(($(date +%s) - started))"
  exit 0
fi
emit_result ok 0 "${result_base[@]}" --argjson started true --arg recovered_until "$recovered_until" \
  --argjson in_recovery "$([[ $in_recovery == t ]] && echo true || echo false)" --argjson timeline "${timeline:-0}" \
  --arg log_file "$log_file" --arg socket_dir "$socket_dir" --argjson duration_seconds "$(($(date +%s) - started))"
