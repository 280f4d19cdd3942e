#!/usr/bin/env bash
# redis-aof-check.sh -- check a Redis append-only file with redis-check-aof, and fix it as GoodGo's runbook
# (section 3.2, "If AOF is corrupted") does: stop Redis, `redis-check-aof --fix`, start Redis.
#
# Usage: redis-aof-check.sh [--fix] [--backup-dir DIR] PATH
#
# PATH may be Redis's data dir, a Redis 7 AOF directory (appendonlydir/), its manifest, or a single-file
# appendonly.aof (Redis < 7). The runbook's /data/appendonly.aof is understood on Redis 7 too: when that file does
# not exist but appendonlydir/appendonly.aof.manifest does beside it, the manifest is checked (Redis 7 keeps the
# AOF as a base file plus incremental files listed in a manifest, and redis-check-aof takes the manifest).
#
# --fix truncates the AOF at the first bad command (what redis-check-aof --fix does; the commands after it are
# lost, which the result reports as bytes_dropped). Before fixing, the whole AOF (the directory, or the single
# file) is copied to DIR/aof-backup-<stamp>/ and the copy compared with the original; nothing is changed if the
# copy fails. Run it with Redis stopped (Redis holds the AOF open and would keep appending).
#
# Arguments:
#   PATH               see above
#   --fix              repair a damaged AOF (after the backup copy); without it the script only checks
#   --backup-dir DIR   where the pre-fix copy goes (default: the directory that holds the AOF)
# Environment: RESULT_FILE (also write the JSON result line there).
# Output: one JSON line: {status, aof, valid, fixed, bytes_dropped, backup, ...}.
# Exit codes: 0 the AOF is valid (or was fixed and now checks valid); 64 usage; 65 the AOF is damaged (without
#   --fix), or could not be fixed (e.g. a damaged base file); 66 no AOF at PATH; 73 the backup copy failed.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

usage() { echo "usage: redis-aof-check.sh [--fix] [--backup-dir DIR] PATH"; }

fix=0 backup_dir="" path=""
while (($#)); do
  case $1 in
    --fix) fix=1; shift ;;
    --backup-dir) backup_dir=${2:-}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "$EX_USAGE" "unknown option: $1" ;;
    *) [[ -z $path ]] || { usage >&2; die "$EX_USAGE" "only one PATH may be given"; }; path=$1; shift ;;
  esac
done
[[ -n $path ]] || { usage >&2; die "$EX_USAGE" "PATH is required"; }
require_cmd redis-check-aof sha256sum jq

# Resolve PATH to what redis-check-aof takes (a manifest or a single file) and to what a backup must copy.
first_manifest() { find "$1" -maxdepth 1 -type f -name '*.manifest' -print -quit 2>/dev/null || true; }
target="" copy_src=""
if [[ -d $path ]]; then
  m=$(first_manifest "$path")
  if [[ -n $m ]]; then
    target=$m copy_src=$path
  else
    m=$(first_manifest "$path/appendonlydir")
    if [[ -n $m ]]; then
      target=$m copy_src=$path/appendonlydir
    elif [[ -f $path/appendonly.aof ]]; then
      target=$path/appendonly.aof copy_src=$target
    fi
  fi
elif [[ -f $path && $path == *.manifest ]]; then
  target=$path copy_src=$(dirname "$path")
elif [[ -f $path ]]; then
  target=$path copy_src=$path
else
  m=$(first_manifest "$(dirname "$path")/appendonlydir")
  if [[ -n $m ]]; then
    log "$path does not exist; Redis 7 keeps the AOF in $(dirname "$m")/, checking $m"
    target=$m copy_src=$(dirname "$m")
  fi
fi
[[ -n $target ]] || die "$EX_NOINPUT" "no AOF found at $path (expected appendonlydir/*.manifest or appendonly.aof)"

check() { redis-check-aof "$target" 2>&1; }
summary() { { grep -E 'not valid|Bad file format|Invalid|Expected|Unexpected|corrupt|Cannot|Fail|fail|error|ERROR' <<<"$1" || true; } | tail -n 3 | tr '\n' ' '; }

if out=$(check); then
  log "AOF $target is valid"
  emit_result ok 0 --arg aof "$target" --argjson valid true --argjson fixed false --argjson bytes_dropped 0
  exit 0
fi
problem=$(summary "$out")
if ((!fix)); then
  log "AOF $target is damaged: $problem"
  emit_result error "$EX_DATAERR" --arg aof "$target" --argjson valid false --argjson fixed false \
    --arg error "AOF is damaged: $problem (stop Redis and run again with --fix; a copy is kept first)"
  exit "$EX_DATAERR"
fi

# --fix: copy first, compare the copy, then let redis-check-aof truncate.
stamp=$(date -u +%Y%m%dT%H%M%SZ)
backup_dir=${backup_dir:-$(dirname "$copy_src")}
dest=$backup_dir/aof-backup-$stamp-$$
mkdir -p "$dest" 2>/dev/null || die "$EX_CANTCREAT" "cannot create backup directory $dest"
cp -a "$copy_src" "$dest/" 2>/dev/null || { rm -rf "$dest"; die "$EX_CANTCREAT" "cannot copy $copy_src to $dest (disk full?); nothing was changed"; }
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }
if [[ -d $copy_src ]]; then
  [[ $(sums "$copy_src") == "$(sums "$dest/$(basename "$copy_src")")" ]] ||
    die "$EX_CANTCREAT" "the copy in $dest differs from $copy_src; nothing was changed"
else
  [[ $(sha256sum <"$copy_src") == "$(sha256sum <"$dest/$(basename "$copy_src")")" ]] ||
    die "$EX_CANTCREAT" "the copy in $dest differs from $copy_src; nothing was changed"
fi
log "AOF copied to $dest before fixing"

fix_out=$(printf 'y\n' | redis-check-aof --fix "$target" 2>&1) || true
dropped=$(sed -n 's/.*from [0-9]* bytes, with \([0-9]*\) bytes, to [0-9]* bytes.*/\1/p' <<<"$fix_out" | awk '{s += $1} END {print s + 0}')
if out=$(check); then
  log "AOF fixed: $dropped bytes dropped at the damaged tail; the original is in $dest"
  emit_result ok 0 --arg aof "$target" --argjson valid true --argjson fixed true --argjson bytes_dropped "$dropped" \
    --arg backup "$dest"
  exit 0
fi
log "error: AOF could not be fixed: $(summary "$out")"
emit_result error "$EX_DATAERR" --arg aof "$target" --argjson valid false --argjson fixed false --arg backup "$dest" \
  --arg error "AOF could not be fixed by truncation: $(summary "$out$fix_out") (a damaged base file cannot be truncated; restore from a backup, the original is in $dest)"
exit "$EX_DATAERR"
