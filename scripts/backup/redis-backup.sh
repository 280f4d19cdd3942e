#!/usr/bin/env bash
# redis-backup.sh -- snapshot a running Redis with BGSAVE and keep a dated, checksummed copy of the RDB.
#
# Usage: redis-backup.sh --out-dir DIR [--rdb-path PATH] [--prefix NAME] [--retention-days N] [--timeout SECONDS]
#
# What it does:
#   1. BGSAVE (BGSAVE SCHEDULE, so a running AOF rewrite does not make it fail; a save already in progress is
#      waited for and then a fresh one is started, so the snapshot is never older than this run);
#   2. waits until the save counter (rdb_saves, or LASTSAVE on Redis < 7) advances and rdb_bgsave_in_progress:0,
#      then requires rdb_last_bgsave_status:ok;
#   3. copies the RDB (found with CONFIG GET dir/dbfilename, or --rdb-path when the server's path is not this
#      host's, e.g. a container volume) under a temporary name, checks the copy with redis-check-rdb, writes a
#      sha256 sidecar (`sha256sum -c` format) and renames both to <prefix>_<UTC stamp>.rdb only when complete;
#   4. points <prefix>_latest.rdb (a relative symlink) at it, only after all of the above succeeded;
#   5. deletes <prefix>_*.rdb (and sidecars) older than the retention; the backup just made is never deleted.
#
# Arguments:
#   --out-dir DIR         where backups go (env BACKUP_DIR); created if missing
#   --rdb-path PATH       the server's RDB file as seen from here (default: CONFIG GET dir + dbfilename)
#   --prefix NAME         file name prefix (default: redis)
#   --retention-days N    delete backups older than N days (env RETENTION_DAYS, default 7; 0 keeps everything)
#   --timeout SECONDS     how long to wait for BGSAVE (default 600)
# Environment:
#   REDIS_HOST (default 127.0.0.1), REDIS_PORT (default 6379), REDISCLI_AUTH (password; read by redis-cli, never
#   put in argv), REDIS_USER (an ACL user, e.g. one allowed only BGSAVE/INFO/CONFIG GET/LASTSAVE/PING), RESULT_FILE (also write the JSON result line there).
# Output: one JSON line on stdout: {status, file, sha256, bytes, keys, expires, rdb_source, deleted, ...}.
# Exit codes: 0 ok; 64 usage; 65 the snapshot fails redis-check-rdb; 66 the RDB file is not where it should be;
#   69 Redis unreachable or a tool missing; 73 cannot write the output directory; 75 BGSAVE failed or timed out.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() { echo "usage: redis-backup.sh --out-dir DIR [--rdb-path PATH] [--prefix NAME] [--retention-days N] [--timeout SECONDS]"; }

out_dir=${BACKUP_DIR:-}
rdb_path=""
prefix=redis
retention_days=${RETENTION_DAYS:-7}
timeout=600
while (($#)); do
  case $1 in
    --out-dir) out_dir=${2:-}; shift 2 ;;
    --rdb-path) rdb_path=${2:-}; shift 2 ;;
    --prefix) prefix=${2:-}; shift 2 ;;
    --retention-days) retention_days=${2:-}; shift 2 ;;
    --timeout) timeout=${2:-}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ -n $out_dir ]] || { usage >&2; die "$EX_USAGE" "--out-dir (or BACKUP_DIR) is required"; }
[[ $retention_days =~ ^[0-9]+$ ]] || die "$EX_USAGE" "--retention-days must be a whole number of days, got '$retention_days'"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "$EX_USAGE" "--timeout must be a positive number of seconds, got '$timeout'"
[[ $prefix =~ ^[A-Za-z0-9._-]+$ ]] || die "$EX_USAGE" "--prefix may only hold letters, digits, '.', '_' and '-', got '$prefix'"
require_cmd redis-cli redis-check-rdb sha256sum jq

REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
REDIS_USER=${REDIS_USER:-}
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ${REDIS_USER:+--user "$REDIS_USER"} --no-auth-warning "$@"; }
# info_field SECTION NAME -- one field of INFO SECTION (empty when absent)
info_field() { rcli INFO "$1" | tr -d '\r' | sed -n "s/^$2://p"; }

started=$(date +%s)
pong=$(rcli PING 2>&1 || true)
[[ $pong == PONG ]] || die "$EX_UNAVAILABLE" "cannot reach Redis at $REDIS_HOST:$REDIS_PORT: ${pong:-no answer}"

if [[ -z $rdb_path ]]; then
  dir=$(rcli CONFIG GET dir | sed -n 2p)
  dbfilename=$(rcli CONFIG GET dbfilename | sed -n 2p)
  [[ -n $dir && -n $dbfilename ]] ||
    die "$EX_UNAVAILABLE" "CONFIG GET dir/dbfilename gave nothing (CONFIG renamed or disabled?); pass --rdb-path"
  rdb_path=$dir/$dbfilename
fi

mkdir -p "$out_dir" 2>/dev/null || die "$EX_CANTCREAT" "cannot create output directory $out_dir"
[[ -w $out_dir ]] || die "$EX_CANTCREAT" "output directory $out_dir is not writable"

# The save counter: rdb_saves (Redis >= 7) counts every snapshot; older servers only have LASTSAVE (1 s resolution).
save_counter() {
  local n
  n=$(info_field persistence rdb_saves)
  if [[ -n $n ]]; then echo "$n"; else rcli LASTSAVE; fi
}
if [[ -z $(info_field persistence rdb_saves) ]]; then
  # LASTSAVE has 1 s resolution: make sure our save lands in a later second than the previous one.
  while [[ $(rcli LASTSAVE) -ge $(date +%s) ]]; do sleep 0.2; done
fi

deadline=$((started + timeout))
before=""
while :; do
  (($(date +%s) < deadline)) || die "$EX_TEMPFAIL" "could not start BGSAVE within ${timeout}s"
  before=$(save_counter)
  reply=$(rcli BGSAVE SCHEDULE 2>&1 || true)
  case $reply in
    "Background saving started" | "Background saving scheduled") break ;;
    *"already in progress"*)
      log "a BGSAVE is already running; waiting for it, then starting a fresh one"
      while [[ $(info_field persistence rdb_bgsave_in_progress) == 1 ]] && (($(date +%s) < deadline)); do sleep 0.2; done
      ;;
    *) die "$EX_TEMPFAIL" "BGSAVE refused: $reply" ;;
  esac
done
log "BGSAVE started; waiting for it to finish (up to ${timeout}s)"
while :; do
  in_progress=$(info_field persistence rdb_bgsave_in_progress)
  status=$(info_field persistence rdb_last_bgsave_status)
  now=$(save_counter)
  if [[ $in_progress == 0 && $now != "$before" ]]; then
    [[ $status == ok ]] || die "$EX_TEMPFAIL" "BGSAVE failed (rdb_last_bgsave_status:$status); see the Redis log"
    break
  fi
  if [[ $in_progress == 0 && $status == err ]]; then
    die "$EX_TEMPFAIL" "BGSAVE failed (rdb_last_bgsave_status:err); see the Redis log"
  fi
  (($(date +%s) < deadline)) || die "$EX_TEMPFAIL" "BGSAVE did not finish within ${timeout}s"
  sleep 0.2
done

[[ -f $rdb_path ]] || die "$EX_NOINPUT" "RDB file not found at $rdb_path after BGSAVE (pass --rdb-path if the server's dir is not this host's path)"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
name=${prefix}_${stamp}.rdb
[[ ! -e $out_dir/$name ]] || name=${prefix}_${stamp}-$$.rdb
partial=$out_dir/.$name.partial
cleanup() { rm -f "$partial" "$partial.sha256"; }
trap cleanup EXIT

# Redis replaces the RDB by rename, so the open file we copy stays one consistent snapshot.
cp "$rdb_path" "$partial" 2>/dev/null || die "$EX_CANTCREAT" "cannot copy $rdb_path to $out_dir (disk full or not writable?)"
check_out=$(redis-check-rdb "$partial" 2>&1) ||
  die "$EX_DATAERR" "the snapshot copied from $rdb_path fails redis-check-rdb: $(grep -v '^\[offset' <<<"$check_out" | tail -n 3 | tr '\n' ' ')"
keys=$(sed -n 's/^\[info\] \([0-9]*\) keys read.*/\1/p' <<<"$check_out")
expires=$(sed -n 's/^\[info\] \([0-9]*\) expires.*/\1/p' <<<"$check_out")
sum=$(sha256sum "$partial" | cut -d' ' -f1)
bytes=$(stat -c %s "$partial")
printf '%s  %s\n' "$sum" "$name" >"$partial.sha256" || die "$EX_CANTCREAT" "cannot write the checksum sidecar in $out_dir"
sync -f "$partial" 2>/dev/null || true
mv -f "$partial" "$out_dir/$name"
mv -f "$partial.sha256" "$out_dir/$name.sha256"
ln -sfn "$name" "$out_dir/.${prefix}_latest.tmp"
mv -Tf "$out_dir/.${prefix}_latest.tmp" "$out_dir/${prefix}_latest.rdb"
log "wrote $out_dir/$name ($bytes bytes, ${keys:-0} keys, sha256 $sum)"

deleted=()
if ((retention_days > 0)); then
  while IFS= read -r -d '' old; do
    [[ $(basename "$old") == "$name" ]] && continue
    rm -f "$old" "$old.sha256"
    deleted+=("$(basename "$old")")
  done < <(find "$out_dir" -maxdepth 1 -type f -name "${prefix}_*.rdb" -mmin +$((retention_days * 1440)) -print0)
fi
((${#deleted[@]} == 0)) || log "retention (${retention_days} days) deleted: ${deleted[*]}"

emit_result ok 0 \
  --arg file "$out_dir/$name" --arg sha256 "$sum" --argjson bytes "$bytes" \
  --argjson keys "${keys:-0}" --argjson expires "${expires:-0}" --arg rdb_source "$rdb_path" \
  --arg latest "$out_dir/${prefix}_latest.rdb" \
  --argjson deleted "$(printf '%s\n' "${deleted[@]}" | jq -Rsc 'split("\n") | map(select(length > 0))')" \
  --argjson duration_seconds "$(($(date +%s) - started))"
