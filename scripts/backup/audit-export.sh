#!/usr/bin/env bash
# audit-export.sh -- DBIS's compliance export of the audit log table to a dated, gzipped CSV (with a header row) for
# long retention (7-10 years): written under a temporary name, gzip-tested, checksummed (sha256 sidecar) and renamed
# only when complete; optionally uploaded to S3-compatible storage with s3cmd (same settings as pg-backup.sh).
#
# Usage: audit-export.sh [options]
#   -d, --dbname DB         database (env PGDATABASE)
#   -o, --dir DIR           output directory (env AUDIT_EXPORT_DIR, default /backups/audit)
#       --table NAME        table, `table` or `schema.table` (env AUDIT_TABLE, default audit_logs)
#       --ts-column COL     timestamp column used for the range and the order (env AUDIT_TS_COLUMN, default timestamp)
#       --from DATE         first day included, YYYY-MM-DD (UTC)
#       --to DATE           day after the last one included, YYYY-MM-DD (UTC); --from/--to together or alone
#       --day DATE          one day: same as --from DATE --to DATE+1; `--day yesterday` is the previous UTC day (what
#                           the daily job exports, so every day lands in exactly one file)
#       --s3-url URL        upload the export and its sidecar (env S3_URL)
#   -h, --help
# File name: <table>_<YYYY-MM-DD>.csv.gz for a full export (today's UTC date) or a single --day,
# <table>_<from>_to_<to>.csv.gz for a range (open ends written as "start"/"now").
# Connection: libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD or PGPASSFILE, PGSSLMODE, ...) or the flags
# --host, --port, --username (and -d); the password only ever from PGPASSWORD/PGPASSFILE, never argv.
# Other environment: RESULT_FILE, WORK_DIR.
#
# Output: one JSON line: {file, rows, bytes, sha256, table, from, to, duration_s, uploaded, ...}.
# Exit codes: 0 ok; 64 usage (bad date or name); 66 table or column missing; 69 server unavailable;
# 73 output cannot be written (disk full included; no partial file is left); 70 the export failed otherwise;
# 75 the upload failed (the local export is complete).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$SCRIPT_DIR/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pg.sh
. "$SCRIPT_DIR/lib-pg.sh"

usage() {
  echo "usage: audit-export.sh [-d DB] [-o DIR] [--table audit_logs] [--ts-column timestamp] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--day YYYY-MM-DD] [--s3-url URL]"
}

DBNAME=${PGDATABASE:-}
OUT_DIR=${AUDIT_EXPORT_DIR:-/backups/audit}
TABLE=${AUDIT_TABLE:-audit_logs}
TS_COL=${AUDIT_TS_COLUMN:-timestamp}
FROM=""
TO=""
DAY=""
S3_URL=${S3_URL:-}
while (($#)); do
  case "$1" in
    -d | --dbname) DBNAME=${2:?}; shift 2 ;;
    -o | --dir) OUT_DIR=${2:?}; shift 2 ;;
    --table) TABLE=${2:?}; shift 2 ;;
    --ts-column) TS_COL=${2:?}; shift 2 ;;
    --from) FROM=${2:?}; shift 2 ;;
    --to) TO=${2:?}; shift 2 ;;
    --day) DAY=${2:?}; shift 2 ;;
    --s3-url) S3_URL=${2:?}; shift 2 ;;
    --host) export PGHOST=${2:?}; shift 2 ;;
    --port) export PGPORT=${2:?}; shift 2 ;;
    --username) export PGUSER=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ -n "$DBNAME" ]] || { usage >&2; die "$EX_USAGE" "no database given (-d or PGDATABASE)"; }
export PGDATABASE=$DBNAME
ident_re='^[A-Za-z_][A-Za-z0-9_$]*$'
if [[ "$TABLE" == *.* ]]; then SCHEMA=${TABLE%%.*}; TNAME=${TABLE#*.}; else SCHEMA=public; TNAME=$TABLE; fi
[[ "$SCHEMA" =~ $ident_re && "$TNAME" =~ $ident_re && "$TS_COL" =~ $ident_re ]] ||
  die "$EX_USAGE" "table and column must be plain identifiers (letters, digits, _): $TABLE / $TS_COL"

valid_date() { [[ "$1" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] && date -u -d "$1" +%F >/dev/null 2>&1 && [[ "$(date -u -d "$1" +%F)" == "$1" ]]; }
if [[ -n "$DAY" ]]; then
  [[ -z "$FROM$TO" ]] || die "$EX_USAGE" "--day excludes --from/--to"
  [[ "$DAY" != yesterday ]] || DAY=$(date -u -d yesterday +%F)
  valid_date "$DAY" || die "$EX_USAGE" "not a date (YYYY-MM-DD): $DAY"
  FROM=$DAY
  TO=$(date -u -d "$DAY + 1 day" +%F)
fi
[[ -z "$FROM" ]] || valid_date "$FROM" || die "$EX_USAGE" "not a date (YYYY-MM-DD): $FROM"
[[ -z "$TO" ]] || valid_date "$TO" || die "$EX_USAGE" "not a date (YYYY-MM-DD): $TO"
if [[ -n "$FROM" && -n "$TO" && ! "$FROM" < "$TO" ]]; then die "$EX_USAGE" "--from $FROM must be before --to $TO"; fi

if [[ -n "$DAY" ]]; then NAME="${TNAME}_${DAY}.csv.gz"
elif [[ -n "$FROM$TO" ]]; then NAME="${TNAME}_${FROM:-start}_to_${TO:-now}.csv.gz"
else NAME="${TNAME}_$(date -u +%F).csv.gz"; fi

require_cmd psql gzip sha256sum jq
mkdir -p -- "$OUT_DIR" 2>/dev/null || die "$EX_CANTCREAT" "cannot create output directory: $OUT_DIR"
[[ -w "$OUT_DIR" ]] || die "$EX_CANTCREAT" "output directory is not writable: $OUT_DIR"
[[ "$OUT_DIR" != *"'"* ]] || die "$EX_USAGE" "output directory may not contain a single quote: $OUT_DIR"
WORK_DIR=${WORK_DIR:-${TMPDIR:-/tmp}}
server_reachable "$DBNAME" || die "$EX_UNAVAILABLE" "cannot connect to database '$DBNAME' on ${PGHOST:-local socket}:${PGPORT:-5432}"

QTABLE="$(sql_ident "$SCHEMA").$(sql_ident "$TNAME")"
[[ -n "$(psql_q "$DBNAME" "SELECT to_regclass($(sql_literal "$QTABLE"))")" ]] || die "$EX_NOINPUT" "table $SCHEMA.$TNAME not found in '$DBNAME'"
[[ "$(psql_q "$DBNAME" "SELECT count(*) FROM pg_attribute WHERE attrelid = $(sql_literal "$QTABLE")::regclass AND attname = $(sql_literal "$TS_COL") AND NOT attisdropped")" == 1 ]] ||
  die "$EX_NOINPUT" "column $TS_COL not found in $SCHEMA.$TNAME"

# A second export of the same period never overwrites the first.
[[ ! -e "$OUT_DIR/$NAME" ]] || NAME="${NAME%.csv.gz}_$(date -u +%H%M%SZ).csv.gz"
FINAL="$OUT_DIR/$NAME"
PARTIAL="$OUT_DIR/.$NAME.partial"
ERR=$(mktemp "$WORK_DIR/audit-export.err.XXXXXX")
COMPLETE=0
cleanup() {
  local rc=$?
  set +e # best effort from here: every step runs even when one fails
  ((COMPLETE)) || rm -f -- "$PARTIAL" "$FINAL.sha256" "$OUT_DIR/.$NAME.sha256.tmp"
  rm -f -- "$ERR" "${S3_EMPTY_CFG:-}"
  emit_result_on_exit "$rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

where="TRUE"
[[ -n "$FROM" ]] && where+=" AND $(sql_ident "$TS_COL") >= '$FROM 00:00:00+00'"
[[ -n "$TO" ]] && where+=" AND $(sql_ident "$TS_COL") < '$TO 00:00:00+00'"
# \copy ... TO PROGRAM runs gzip on this host; psql prints "COPY <rows>" when it is done. Output in UTC ISO form.
copy_cmd="\\copy (SELECT * FROM $QTABLE WHERE $where ORDER BY $(sql_ident "$TS_COL")) TO PROGRAM 'gzip -6 > ''$PARTIAL''' WITH (FORMAT csv, HEADER)"
START=$(date +%s.%N)
log "exporting $SCHEMA.$TNAME (${FROM:-start} .. ${TO:-now}) to $FINAL"
(umask 027 && : >"$PARTIAL") || die "$EX_CANTCREAT" "cannot create $PARTIAL"
if ! OUT=$(PGOPTIONS="${PGOPTIONS:-} -c TimeZone=UTC -c DateStyle=ISO" psql -X -v ON_ERROR_STOP=1 -d "$DBNAME" -c "$copy_cmd" 2>"$ERR"); then
  if grep -qiE 'no space left|could not write|write error|broken pipe|exit code' "$ERR"; then
    die "$EX_CANTCREAT" "writing $PARTIAL failed (disk full or unwritable); partial file removed: $(head -c 300 "$ERR" | tr '\n' ' ')"
  fi
  die "$EX_SOFTWARE" "export failed: $(head -c 300 "$ERR" | tr '\n' ' ')"
fi
ROWS=$(sed -n 's/^COPY \([0-9][0-9]*\)$/\1/p' <<<"$OUT" | tail -n1)
[[ -n "$ROWS" ]] || die "$EX_SOFTWARE" "psql did not report the number of rows copied"
gzip -t -- "$PARTIAL" 2>"$ERR" || die "$EX_CANTCREAT" "the export is not a complete gzip stream (disk full?): $(head -c 200 "$ERR")"
sync -- "$PARTIAL" 2>/dev/null || die "$EX_CANTCREAT" "fsync of $PARTIAL failed"
SUM=$(sha256_of "$PARTIAL")
if ! { printf '%s  %s\n' "$SUM" "$NAME" >"$OUT_DIR/.$NAME.sha256.tmp" && mv -f -- "$OUT_DIR/.$NAME.sha256.tmp" "$FINAL.sha256"; } 2>"$ERR"; then
  die "$EX_CANTCREAT" "writing the checksum sidecar failed: $(head -c 200 "$ERR")"
fi
mv -f -- "$PARTIAL" "$FINAL"
COMPLETE=1
BYTES=$(stat -c %s -- "$FINAL")
DURATION=$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN{printf "%.3f", b-a}')
log "exported $ROWS rows to $FINAL ($BYTES bytes, sha256 $SUM)"

UPLOADED=false
result_args=(--arg file "$FINAL" --argjson rows "$ROWS" --argjson bytes "$BYTES" --arg sha256 "$SUM" --arg table "$SCHEMA.$TNAME"
  --arg from "$FROM" --arg to "$TO" --argjson duration_s "$DURATION" --arg database "$DBNAME")
if [[ -n "$S3_URL" ]]; then
  if ! s3_upload "$FINAL" "$FINAL.sha256"; then
    emit_result error "$EX_TEMPFAIL" "${result_args[@]}" --argjson uploaded false --arg error "upload to $S3_URL failed; local export complete"
    exit "$EX_TEMPFAIL"
  fi
  [[ "${S3_DRY_RUN:-0}" == 1 ]] || UPLOADED=true
fi
emit_result ok 0 "${result_args[@]}" --argjson uploaded "$UPLOADED"
