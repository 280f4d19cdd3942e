#!/usr/bin/env bash
# redis-restore.sh -- put an RDB backup back into a Redis server and prove the key count.
#
# Usage: redis-restore.sh --start-cmd CMD [--stop-cmd CMD] [--data-dir DIR] [--dbfilename NAME]
#                         [--aof yes|no] [--appenddirname NAME] [--appendfilename NAME] [--timeout SECONDS]
#                         [--no-checksum] BACKUP.rdb
#
# Before anything is touched: the backup must exist, match its sha256 sidecar (BACKUP.rdb.sha256, as
# redis-backup.sh writes it) and pass redis-check-rdb; the key count it holds is recorded as the expectation.
# Then: learn the server's layout (CONFIG GET dir, dbfilename, appendonly, appenddirname, appendfilename; flags
# override, and are required when the server is already down), stop it (SHUTDOWN NOSAVE by default), move the
# current dump and AOF aside into DIR/pre-restore-<stamp>/ (kept for rollback, never deleted here), place the
# backup as the dump, and when AOF is on make the backup what loads: Redis 7's multi-part AOF gets a fresh
# appenddirname/ whose manifest names the backup as its RDB base file; a single-file AOF (Redis < 7) becomes a copy
# of the RDB, which Redis loads as an RDB preamble. Then start the server, wait for loading to end and compare
# the key count over all databases with the expectation. Keys with a TTL may expire in between, so the count
# passes when expected - volatile <= actual <= expected.
#
# Arguments:
#   BACKUP.rdb              the backup file (a <prefix>_latest.rdb symlink is followed)
#   --start-cmd CMD         shell command that starts Redis (docker compose start redis, systemctl start ..., ...)
#   --stop-cmd CMD          shell command that stops it (default: redis-cli SHUTDOWN NOSAVE)
#   --data-dir DIR          Redis's dir as seen from here (default: CONFIG GET dir)
#   --dbfilename NAME       default: CONFIG GET dbfilename, or dump.rdb
#   --aof yes|no            whether the server runs with appendonly (default: CONFIG GET appendonly)
#   --appenddirname NAME    Redis 7 AOF directory (default: CONFIG GET appenddirname, or appendonlydir)
#   --appendfilename NAME   AOF base name (default: CONFIG GET appendfilename, or appendonly.aof)
#   --timeout SECONDS       for the stop and the start (default 300)
#   --no-checksum           accept a backup without a sidecar (e.g. one just decrypted); logged as a warning
# Environment: REDIS_HOST (127.0.0.1), REDIS_PORT (6379), REDISCLI_AUTH (password, never argv), REDIS_USER (ACL
#   user; default: the default user), RESULT_FILE.
# Exit codes: 0 restored and the key count matches; 64 usage; 65 checksum mismatch, RDB fails redis-check-rdb,
#   or the key count after the restore does not match; 66 backup, sidecar or the data dir missing; 69 Redis unreachable and
#   its layout not given, stop or start failed or timed out; 73 cannot write the data dir.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() {
  echo "usage: redis-restore.sh --start-cmd CMD [--stop-cmd CMD] [--data-dir DIR] [--dbfilename NAME] [--aof yes|no] [--appenddirname NAME] [--appendfilename NAME] [--timeout SECONDS] [--no-checksum] BACKUP.rdb"
}

start_cmd="" stop_cmd="" data_dir="" dbfilename="" aof="" appenddirname="" appendfilename="" timeout=300
no_checksum=0 backup=""
while (($#)); do
  case $1 in
    --start-cmd) start_cmd=${2:-}; shift 2 ;;
    --stop-cmd) stop_cmd=${2:-}; shift 2 ;;
    --data-dir) data_dir=${2:-}; shift 2 ;;
    --dbfilename) dbfilename=${2:-}; shift 2 ;;
    --aof) aof=${2:-}; shift 2 ;;
    --appenddirname) appenddirname=${2:-}; shift 2 ;;
    --appendfilename) appendfilename=${2:-}; shift 2 ;;
    --timeout) timeout=${2:-}; shift 2 ;;
    --no-checksum) no_checksum=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "$EX_USAGE" "unknown option: $1" ;;
    *) [[ -z $backup ]] || { usage >&2; die "$EX_USAGE" "only one backup file may be given"; }; backup=$1; shift ;;
  esac
done
[[ -n $backup ]] || { usage >&2; die "$EX_USAGE" "the backup file argument is required"; }
[[ -n $start_cmd ]] || { usage >&2; die "$EX_USAGE" "--start-cmd is required (how Redis is started on this host)"; }
[[ -z $aof || $aof == yes || $aof == no ]] || die "$EX_USAGE" "--aof must be yes or no, got '$aof'"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "$EX_USAGE" "--timeout must be a positive number of seconds, got '$timeout'"
require_cmd redis-cli redis-check-rdb sha256sum jq

REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
REDIS_USER=${REDIS_USER:-}
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ${REDIS_USER:+--user "$REDIS_USER"} --no-auth-warning "$@"; }
config_get() { rcli CONFIG GET "$1" | sed -n 2p; }
# is_up: something answers on the port (redis-cli exits non-zero only when it cannot connect).
is_up() { rcli PING >/dev/null 2>&1; }
started=$(date +%s)

# 1. The backup: present, checksum, structure. Nothing on the server is touched until all three pass.
[[ -e $backup ]] || die "$EX_NOINPUT" "backup file not found: $backup"
backup=$(readlink -f "$backup")
[[ -f $backup ]] || die "$EX_NOINPUT" "backup is not a regular file: $backup"
[[ -s $backup ]] || die "$EX_DATAERR" "backup file is empty: $backup"
sum=$(sha256sum "$backup" | cut -d' ' -f1)
if ((no_checksum)); then
  log "warning: --no-checksum given; not comparing $backup with a sidecar"
else
  [[ -f $backup.sha256 ]] || die "$EX_NOINPUT" "checksum sidecar not found: $backup.sha256 (pass --no-checksum to accept the file as it is)"
  want=$(cut -d' ' -f1 "$backup.sha256")
  [[ $sum == "$want" ]] || die "$EX_DATAERR" "checksum mismatch for $backup: file has sha256 $sum, sidecar says $want"
fi
check_out=$(redis-check-rdb "$backup" 2>&1) ||
  die "$EX_DATAERR" "backup $backup fails redis-check-rdb: $(grep -v '^\[offset' <<<"$check_out" | tail -n 3 | tr '\n' ' ')"
keys_read=$(sed -n 's/^\[info\] \([0-9]*\) keys read.*/\1/p' <<<"$check_out")
volatile=$(sed -n 's/^\[info\] \([0-9]*\) expires.*/\1/p' <<<"$check_out")
already_expired=$(sed -n 's/^\[info\] \([0-9]*\) already expired.*/\1/p' <<<"$check_out")
expected=$((${keys_read:-0} - ${already_expired:-0}))
log "backup $backup verified: sha256 $sum, $expected keys expected ($volatile with a TTL)"

# 2. The server's layout, from the running server unless given. A server that answers but refuses us (wrong
#    REDISCLI_AUTH) is not "down": its files are never touched while it runs.
if is_up; then
  pong=$(rcli PING 2>&1 | tr "\n" " " | sed "s/ *$//" || true)
  [[ $pong == PONG ]] || die "$EX_UNAVAILABLE" "Redis at $REDIS_HOST:$REDIS_PORT answers but not to us: $pong (check REDISCLI_AUTH); nothing was changed"
  [[ -n $data_dir ]] || data_dir=$(config_get dir)
  [[ -n $dbfilename ]] || dbfilename=$(config_get dbfilename)
  [[ -n $aof ]] || aof=$(config_get appendonly)
  [[ -n $appenddirname ]] || appenddirname=$(config_get appenddirname)
  [[ -n $appendfilename ]] || appendfilename=$(config_get appendfilename)
  multipart=$([[ -n $(config_get appenddirname) ]] && echo 1 || echo 0)
else
  [[ -n $data_dir && -n $aof ]] ||
    die "$EX_UNAVAILABLE" "Redis at $REDIS_HOST:$REDIS_PORT is not answering; give --data-dir and --aof to restore into a stopped server"
  # A stopped server: Redis 7's multi-part layout unless only a single-file AOF (Redis < 7) is there.
  multipart=1
  if [[ -f $data_dir/${appendfilename:-appendonly.aof} && ! -d $data_dir/${appenddirname:-appendonlydir} ]]; then multipart=0; fi
fi
dbfilename=${dbfilename:-dump.rdb}
appenddirname=${appenddirname:-appendonlydir}
appendfilename=${appendfilename:-appendonly.aof}
[[ -n $data_dir && -d $data_dir ]] || die "$EX_NOINPUT" "Redis data dir not found here: '${data_dir}' (pass --data-dir with the path as this host sees it)"
[[ -w $data_dir ]] || die "$EX_CANTCREAT" "Redis data dir $data_dir is not writable"
[[ $aof == yes || $aof == no ]] || die "$EX_UNAVAILABLE" "could not tell whether AOF is on (got '$aof'); pass --aof yes|no"

# Copy into the data dir first (a full disk fails here, before the server is stopped).
staged=$data_dir/.restore-$$.rdb
trap 'rm -f "$staged"' EXIT
cp "$backup" "$staged" 2>/dev/null || die "$EX_CANTCREAT" "cannot copy the backup into $data_dir (disk full or not writable?)"
[[ $(sha256sum "$staged" | cut -d' ' -f1) == "$sum" ]] || die "$EX_CANTCREAT" "the copy in $data_dir does not match the backup"
# Files keep the owner Redis runs as.
owner_ref=$data_dir
[[ -e $data_dir/$dbfilename ]] && owner_ref=$data_dir/$dbfilename
chown --reference="$owner_ref" "$staged" 2>/dev/null || true

# 3. Stop.
if is_up; then
  log "stopping Redis at $REDIS_HOST:$REDIS_PORT"
  if [[ -n $stop_cmd ]]; then
    bash -c "$stop_cmd" >&2 || die "$EX_UNAVAILABLE" "stop command failed: $stop_cmd"
  else
    rcli SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  fi
  deadline=$(($(date +%s) + timeout))
  while is_up; do
    (($(date +%s) < deadline)) || die "$EX_UNAVAILABLE" "Redis still answers ${timeout}s after the stop command; nothing was changed"
    sleep 0.2
  done
fi

# 4. Move the current data aside and place the backup.
aside=$data_dir/pre-restore-$(date -u +%Y%m%dT%H%M%SZ)-$$
mkdir "$aside"
moved=()
for f in "$dbfilename" "$appenddirname" "$appendfilename"; do
  if [[ -e $data_dir/$f ]]; then
    mv "$data_dir/$f" "$aside/" && moved+=("$f")
  fi
done
log "previous data moved aside to $aside: ${moved[*]:-nothing}"
if [[ $aof == yes ]]; then
  if ((multipart)); then
    mkdir "$data_dir/$appenddirname"
    base=$appendfilename.1.base.rdb
    cp "$staged" "$data_dir/$appenddirname/$base"
    printf 'file %s seq 1 type b\n' "$base" >"$data_dir/$appenddirname/$appendfilename.manifest"
    chown -R --reference="$staged" "$data_dir/$appenddirname" 2>/dev/null || true
    log "AOF is on: $appenddirname/ rebuilt with the backup as its base, so the backup is what loads"
  else
    cp "$staged" "$data_dir/$appendfilename"
    chown --reference="$staged" "$data_dir/$appendfilename" 2>/dev/null || true
    log "AOF is on (single file): $appendfilename replaced by the backup (loaded as an RDB preamble)"
  fi
fi
mv -f "$staged" "$data_dir/$dbfilename"

# 5. Start and wait until the dataset is loaded.
log "starting Redis: $start_cmd"
bash -c "$start_cmd" >&2 || die "$EX_UNAVAILABLE" "start command failed: $start_cmd (previous data kept in $aside)"
deadline=$(($(date +%s) + timeout))
until [[ $(rcli PING 2>/dev/null) == PONG && $(rcli INFO persistence | tr -d '\r' | sed -n 's/^loading://p') == 0 ]]; do
  (($(date +%s) < deadline)) || die "$EX_UNAVAILABLE" "Redis did not come up within ${timeout}s after the start command (previous data kept in $aside)"
  sleep 0.2
done

# 6. Compare the key count.
actual=$(rcli INFO keyspace | tr -d '\r' | sed -n 's/^db[0-9]*:keys=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
result_args=(--arg file "$backup" --arg sha256 "$sum" --argjson expected_keys "$expected" --argjson actual_keys "$actual"
  --argjson volatile_keys "${volatile:-0}" --arg aside_dir "$aside" --arg data_dir "$data_dir" --arg aof "$aof"
  --argjson duration_seconds "$(($(date +%s) - started))")
if ((actual > expected || actual < expected - ${volatile:-0})); then
  log "error: key count mismatch: the backup holds $expected keys, Redis has $actual after the restore (previous data in $aside)"
  emit_result error "$EX_DATAERR" --arg error "key count mismatch: expected $expected, found $actual" "${result_args[@]}"
  exit "$EX_DATAERR"
fi
log "restored: $actual keys (expected $expected); previous data kept in $aside"
emit_result ok 0 "${result_args[@]}"
