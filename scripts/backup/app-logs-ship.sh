#!/usr/bin/env bash
# app-logs-ship.sh -- ships an application's rotated log files (the runbook's `logs/application-*.log`) to S3-compatible
# storage with s3cmd, gzipped, under <S3_URL>/<source>/, where a lifecycle rule expires them (DBIS: 30 days).
# A file is rotated when it has not been written for --min-age-minutes (the file being written is left for a later
# run). Each shipped file's name and sha256 are recorded in --state only after its upload succeeded, so an unchanged
# file is never uploaded twice, a file written again after it was shipped is uploaded again (the bucket's versioning
# keeps the earlier copy), and a failed upload is retried by the next run.
#
# Usage: app-logs-ship.sh --dir DIR --s3-url URL (--source NAME | --source-file FILE) [--state FILE]
#                         [--pattern GLOB] [--min-age-minutes N]
#   --dir DIR              where the application writes its logs (read only is enough)
#   --s3-url URL           s3://bucket/prefix/ (env APP_LOGS_S3_URL)
#   --source NAME          the server the logs come from, a path segment of the keys (two servers never overwrite
#                          each other's files of the same day)
#   --source-file FILE     read NAME from FILE (the host's /etc/hostname, mounted into a container)
#   --state FILE           the record of shipped files (env APP_LOGS_STATE, default /backups/app-logs-shipped.tsv)
#   --pattern GLOB         file names to ship (default application-*.log*: plain or gzipped by the rotator)
#   --min-age-minutes N    not written for N minutes counts as rotated (default 60)
# Upload settings as pg-backup.sh's (S3CMD_CONFIG, S3_ENDPOINT, S3_HOST_BUCKET, S3_REGION, S3_NO_SSL).
# Other environment: RESULT_FILE, WORK_DIR (where files are gzipped before upload, default TMPDIR).
#
# Output: one JSON line: {shipped: [{file, key, bytes, sha256}], unchanged, active, source, s3_url}.
# Exit codes: 0 ok (nothing to ship included); 64 usage; 66 no such log directory; 73 the state or a gzipped copy
# cannot be written (disk full included); 75 an upload failed (the files before it are shipped and recorded).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$SCRIPT_DIR/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pg.sh
. "$SCRIPT_DIR/lib-pg.sh"

usage() {
  echo "usage: app-logs-ship.sh --dir DIR --s3-url URL (--source NAME | --source-file FILE) [--state FILE] [--pattern GLOB] [--min-age-minutes N]"
}

LOG_DIR=""
S3_URL=${APP_LOGS_S3_URL:-}
SOURCE=""
SOURCE_FILE=""
STATE=${APP_LOGS_STATE:-/backups/app-logs-shipped.tsv}
PATTERN="application-*.log*"
MIN_AGE=60
while (($#)); do
  case "$1" in
    --dir) LOG_DIR=${2:?}; shift 2 ;;
    --s3-url) S3_URL=${2:?}; shift 2 ;;
    --source) SOURCE=${2:?}; shift 2 ;;
    --source-file) SOURCE_FILE=${2:?}; shift 2 ;;
    --state) STATE=${2:?}; shift 2 ;;
    --pattern) PATTERN=${2:?}; shift 2 ;;
    --min-age-minutes) MIN_AGE=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done

[[ -n $LOG_DIR ]] || { usage >&2; die "$EX_USAGE" "--dir is required"; }
[[ $S3_URL =~ ^s3://[a-z0-9][a-z0-9.-]*/([A-Za-z0-9._/-]*/)?$ ]] || { usage >&2; die "$EX_USAGE" "--s3-url must be s3://bucket/prefix/ ending in /, got: ${S3_URL:-nothing}"; }
[[ $MIN_AGE =~ ^[0-9]+$ ]] || die "$EX_USAGE" "--min-age-minutes must be a whole number of minutes, got: $MIN_AGE"
if [[ -n $SOURCE_FILE ]]; then
  [[ -r $SOURCE_FILE ]] || die "$EX_NOINPUT" "--source-file $SOURCE_FILE cannot be read"
  SOURCE=$(head -n 1 -- "$SOURCE_FILE" | tr -d '[:space:]')
fi
[[ $SOURCE =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "$EX_USAGE" "the source must be a host name (letters, digits, . _ -), got: ${SOURCE:-nothing}"
[[ -d $LOG_DIR ]] || die "$EX_NOINPUT" "no log directory $LOG_DIR"
require_cmd gzip
require_cmd sha256sum

WORK=$(mktemp -d "${WORK_DIR:-${TMPDIR:-/tmp}}/app-logs.XXXXXX") || die "$EX_CANTCREAT" "cannot create a work directory"
trap 'rc=$?; rm -rf -- "$WORK" "${S3_EMPTY_CFG:-}"; emit_result_on_exit "$rc"' EXIT
touch -- "$STATE" 2>/dev/null || die "$EX_CANTCREAT" "cannot write the state file $STATE"

URL="${S3_URL}${SOURCE}/"
shipped='[]'
unchanged=0
active=0
mapfile -d '' files < <(find "$LOG_DIR" -maxdepth 1 -type f -name "$PATTERN" -print0 | LC_ALL=C sort -z)
for f in "${files[@]}"; do
  name=$(basename -- "$f")
  if [[ -n $(find "$f" -maxdepth 0 -mmin "-$MIN_AGE") ]]; then
    active=$((active + 1))
    continue
  fi
  sum=$(sha256sum -- "$f" | cut -d' ' -f1)
  if grep -qxF -- "$name	$sum" "$STATE"; then
    unchanged=$((unchanged + 1))
    continue
  fi
  if [[ $name == *.gz ]]; then
    gzip -t -- "$f" 2>/dev/null || die "$EX_DATAERR" "$name is not a valid gzip file; not shipped"
    out="$WORK/$name"
    cp -- "$f" "$out" 2>/dev/null || die "$EX_CANTCREAT" "cannot copy $name to $WORK (disk full?)"
  else
    out="$WORK/$name.gz"
    gzip -c -- "$f" >"$out" 2>/dev/null || { rm -f -- "$out"; die "$EX_CANTCREAT" "cannot gzip $name into $WORK (disk full?)"; }
  fi
  S3_URL=$URL s3_upload "$out" || die "$EX_TEMPFAIL" "upload of $name to $URL failed; $(jq -r 'length' <<<"$shipped") file(s) shipped before it"
  key="${URL#s3://*/}$(basename -- "$out")"
  # Recorded once uploaded: the next run skips it while it stays the same.
  if ! { awk -F'\t' -v n="$name" '$1 != n' "$STATE" && printf '%s\t%s\n' "$name" "$sum"; } >"$STATE.tmp" 2>/dev/null || ! mv -f -- "$STATE.tmp" "$STATE"; then
    die "$EX_CANTCREAT" "cannot update the state file $STATE (disk full?); $name was uploaded and will be uploaded again"
  fi
  shipped=$(jq -c --arg file "$name" --arg key "$key" --argjson bytes "$(stat -c %s -- "$out")" --arg sha256 "$sum" '. + [{file: $file, key: $key, bytes: $bytes, sha256: $sha256}]' <<<"$shipped")
  rm -f -- "$out"
done

log "shipped $(jq -r 'length' <<<"$shipped") file(s) to $URL; $unchanged unchanged, $active still being written"
emit_result ok 0 --argjson shipped "$shipped" --argjson unchanged "$unchanged" --argjson active "$active" --arg source "$SOURCE" --arg s3_url "$URL"
