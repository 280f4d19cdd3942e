#!/usr/bin/env bash
# pg-verify.sh -- proves a logical backup restorable and faithful: checks its sha256 sidecar and that pg_restore can
# read its table of contents, restores it into a temporary database (dropped in every case), then compares it with
# the live database as GoodGo's runbook (section 9) lists: tables present, row counts, checksums of named critical
# tables (row count and the sum of 64-bit hashes of the rows' text), extensions (PostGIS), index and enum counts.
#
# Usage: pg-verify.sh [options] [BACKUP_FILE|BACKUP_DIR]
#   BACKUP_FILE|BACKUP_DIR    archive to verify; a directory means its `latest` (default: BACKUP_DIR, else /backups)
#   -d, --dbname DB           live database to compare with (env PGDATABASE; default: the dump's own database name)
#   -t, --critical-tables L   comma-separated tables to checksum, `table` (schema public) or `schema.table`; the checksum
#                             is "<rows>:<sum of hashtextextended(row text, 0) over all rows>" (order-independent)
#                             (env VERIFY_CRITICAL_TABLES; default none)
#   -j, --jobs N              parallel pg_restore jobs (env VERIFY_JOBS, default: number of CPUs)
#       --report FILE         where the JSON report is written too (env REPORT_FILE, default <backup dir>/verify-latest.json)
#       --no-compare          only restore and report; no live database to compare with (e.g. a DR host)
#       --maintenance-db DB   database to connect to for CREATE/DROP DATABASE (default postgres)
#       --identity FILE       age identity for .age archives (env AGE_IDENTITY_FILE)
#       --key-file FILE       passphrase file for .enc archives (env BACKUP_KEY_FILE)
#   -h, --help
# Connection: libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD or PGPASSFILE, PGSSLMODE, ...) or the flags
# --host, --port, --username (and -d); the password only ever from PGPASSWORD/PGPASSFILE, never argv.
# Other environment: WORK_DIR (scratch: the decrypted or decompressed archive, TOC; default TMPDIR or /tmp),
# RESTORE_MAINTENANCE_WORK_MEM (index builds during the restore, default 256MB).
#
# Output: one JSON line on stdout and in the report file: {status, backup, sha256, database, dump_database,
# temp_database, restore_s, verify_s, checks{...}, failures[]}.
#
# Exit codes: 0 every check passed; 64 usage; 65 bad archive (checksum, empty, TOC, wrong key) or any mismatch;
# 66 backup or key file missing, or no live database to compare with; 69 server or a tool unavailable;
# 70 the restore into the temporary database failed; 73 no space in WORK_DIR (path and bytes needed in the error, never
# reported as a bad archive); 130/143 interrupted/SIGTERM (the result line is still printed). Table: README "Proven backups".
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$SCRIPT_DIR/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pg.sh
. "$SCRIPT_DIR/lib-pg.sh"

usage() {
  echo "usage: pg-verify.sh [-d LIVE_DB] [-t table1,schema.table2] [-j N] [--report FILE] [--no-compare] [BACKUP_FILE|BACKUP_DIR]"
}

LIVE_DB=${PGDATABASE:-}
CRITICAL=${VERIFY_CRITICAL_TABLES:-}
JOBS=${VERIFY_JOBS:-$(nproc 2>/dev/null || echo 2)}
REPORT=${REPORT_FILE:-}
COMPARE=1
MAINT_DB=postgres
TARGET=""

while (($#)); do
  case "$1" in
    -d | --dbname) LIVE_DB=${2:?}; shift 2 ;;
    -t | --critical-tables) CRITICAL=${2:?}; shift 2 ;;
    -j | --jobs) JOBS=${2:?}; shift 2 ;;
    --report) REPORT=${2:?}; shift 2 ;;
    --no-compare) COMPARE=0; shift ;;
    --maintenance-db) MAINT_DB=${2:?}; shift 2 ;;
    --identity) AGE_IDENTITY_FILE=${2:?}; shift 2 ;;
    --key-file) BACKUP_KEY_FILE=${2:?}; shift 2 ;;
    --host) export PGHOST=${2:?}; shift 2 ;;
    --port) export PGPORT=${2:?}; shift 2 ;;
    --username) export PGUSER=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "$EX_USAGE" "unknown option: $1" ;;
    *) [[ -z "$TARGET" ]] || { usage >&2; die "$EX_USAGE" "only one backup may be given"; }; TARGET=$1; shift ;;
  esac
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "$EX_USAGE" "jobs must be a positive number: $JOBS"
TARGET=${TARGET:-${BACKUP_DIR:-/backups}}
[[ -d "$TARGET" && ! -e "$TARGET/latest" ]] && die "$EX_NOINPUT" "no 'latest' backup pointer in $TARGET"
BACKUP=$(resolve_backup_path "$TARGET")
RESULT_FILE=${REPORT:-$(dirname "$BACKUP")/verify-latest.json}
# A report nobody can write must not turn the real exit code into a write error.
if [[ -d "$(dirname "$RESULT_FILE")" ]]; then export RESULT_FILE; else unset RESULT_FILE; fi
WORK_DIR=${WORK_DIR:-${TMPDIR:-/tmp}}

require_cmd pg_restore psql sha256sum jq
unset PGDATABASE
TEMP_DB=""
UNPACKED_FILE=""
TOC_FILE=""
LIVE_FACTS=""
LIVE_PID=""
cleanup() {
  local rc=$?
  set +e # best effort from here: every step runs even when one fails
  stop_pg_restore
  [[ -n "$LIVE_PID" ]] && kill "$LIVE_PID" 2>/dev/null
  if [[ -n "$TEMP_DB" ]]; then
    if psql_q "$MAINT_DB" "DROP DATABASE IF EXISTS $(sql_ident "$TEMP_DB") WITH (FORCE)" >/dev/null 2>&1; then
      log "dropped temporary database $TEMP_DB"
    else
      log "warning: could not drop temporary database $TEMP_DB (server unreachable?); drop it by hand"
    fi
  fi
  rm -f -- "${UNPACKED_FILE:-}" "${TOC_FILE:-}" "${TOC_FILE:+$TOC_FILE.use}" "${LIVE_FACTS:-}" "${LIVE_FACTS:+$LIVE_FACTS.err}"
  emit_result_on_exit "$rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

T0=$(date +%s.%N)

# facts DB: one JSON object with the tables and their exact row counts, extensions, index and enum counts.
facts_sql="
WITH t AS (
  SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
    AND n.nspname NOT LIKE 'pg_temp%')
SELECT json_build_object(
  'tables', (SELECT coalesce(json_object_agg(quote_ident(nspname) || '.' || quote_ident(relname),
      (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', nspname, relname), false, true, '')))[1]::text::bigint
      ORDER BY nspname, relname), '{}'::json) FROM t),
  'extensions', (SELECT coalesce(json_object_agg(extname, extversion ORDER BY extname), '{}'::json) FROM pg_extension),
  'indexes', (SELECT count(*) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')),
  'enums', (SELECT count(*) FROM pg_type ty JOIN pg_namespace n ON n.oid = ty.typnamespace
            WHERE ty.typtype = 'e' AND n.nspname NOT IN ('pg_catalog', 'information_schema')))"

# checksum_one DB NAME: a checksum of the rows' text of one table, or "missing" when it does not exist.
checksum_one() {
  local db=$1 name=$2 schema table reg
  if [[ "$name" == *.* ]]; then schema=${name%%.*}; table=${name#*.}; else schema=public; table=$name; fi
  schema=${schema//\"/}
  table=${table//\"/}
  reg=$(psql_q "$db" "SELECT to_regclass(quote_ident($(sql_literal "$schema")) || '.' || quote_ident($(sql_literal "$table")))")
  if [[ -z "$reg" ]]; then echo "missing"; return 0; fi
  # Order-independent (a table has no row order) and parallel-safe, so big tables are summed by parallel workers:
  # the row count plus the sum of each row's 64-bit text hash (hashtextextended, stable across releases because hash
  # partitioning depends on it; md5 costs 40% more here for no gain in detecting damage).
  psql_q "$db" "SELECT count(*) || ':' || coalesce(sum(hashtextextended(x::text, 0)), 0) FROM $reg x"
}

# all_facts DB OUT: facts plus critical checksums, as one JSON object in OUT.
all_facts() {
  local db=$1 out=$2 facts sums='{}' name sum
  facts=$(psql_q "$db" "$facts_sql")
  if [[ -n "$CRITICAL" ]]; then
    local -a names
    IFS=',' read -r -a names <<<"$CRITICAL"
    for name in "${names[@]}"; do
      name=$(printf '%s' "$name" | tr -d '[:space:]')
      [[ -n "$name" ]] || continue
      sum=$(checksum_one "$db" "$name")
      sums=$(jq -c --arg k "$name" --arg v "$sum" '. + {($k): $v}' <<<"$sums")
    done
  fi
  jq -c --argjson sums "$sums" '. + {checksums: $sums}' <<<"$facts" >"$out"
}

# start_live_facts: gathers the live database's facts in the background (read-only), overlapping the checksum and
# the restore, which read other things.
start_live_facts() {
  server_reachable "$MAINT_DB" || die "$EX_UNAVAILABLE" "cannot connect to the server (${PGHOST:-local socket}:${PGPORT:-5432}, database $MAINT_DB)"
  ((COMPARE)) || return 0
  [[ "$(psql_q "$MAINT_DB" "SELECT count(*) FROM pg_database WHERE datname = $(sql_literal "$LIVE_DB")")" == 1 ]] ||
    die "$EX_NOINPUT" "live database '$LIVE_DB' does not exist; name it with -d or use --no-compare"
  LIVE_FACTS=$(mktemp "$WORK_DIR/live-facts.XXXXXX")
  all_facts "$LIVE_DB" "$LIVE_FACTS" 2>"$LIVE_FACTS.err" &
  LIVE_PID=$!
}

# The instant refusals first; then, when the live database is named, its facts start while the archive is checked.
backup_check_presence "$BACKUP"
[[ -n "$LIVE_DB" ]] && start_live_facts
backup_prepare "$BACKUP"
if [[ -z "$LIVE_DB" ]]; then
  LIVE_DB=$TOC_DBNAME
  start_live_facts
fi

STAMP=$(date -u +%Y%m%d%H%M%S)
TEMP_DB="${LIVE_DB:0:30}_verify_${STAMP}_$$"
log "restoring into temporary database $TEMP_DB with $JOBS jobs"
psql_q "$MAINT_DB" "CREATE DATABASE $(sql_ident "$TEMP_DB") TEMPLATE template0" >/dev/null ||
  { TEMP_DB=""; die "$EX_UNAVAILABLE" "cannot create the temporary database (permissions or server state)"; }
# COMMENT ON EXTENSION needs extension ownership, which a non-superuser restore lacks; skip those entries.
scratch_write "$TOC_FILE.use" "$(grep -v ' COMMENT - EXTENSION ' "$TOC_FILE")"
R0=$(date +%s.%N)
# The temporary database is dropped after the comparison, so autovacuum stays off on it (no reenable_autovacuum).
restore_archive "$TEMP_DB" "$ARCHIVE" "$TOC_FILE.use" "$JOBS" --no-owner --no-privileges || {
  server_reachable "$MAINT_DB" || die "$EX_UNAVAILABLE" "server went away during the verification restore: $(printf '%s' "$RESTORE_ERR" | tail -c 300 | tr '\n' ' ')"
  die "$EX_SOFTWARE" "restore into $TEMP_DB failed: $(printf '%s' "$RESTORE_ERR" | tail -c 400 | tr '\n' ' ')"
}
R1=$(date +%s.%N)
RESTORE_S=$(awk -v a="$R0" -v b="$R1" 'BEGIN{printf "%.3f", b-a}')
log "restored in ${RESTORE_S}s; comparing"

RESTORED_FACTS=$(mktemp "$WORK_DIR/restored-facts.XXXXXX")
all_facts "$TEMP_DB" "$RESTORED_FACTS" || { rm -f -- "$RESTORED_FACTS"; die "$EX_SOFTWARE" "could not read the restored database"; }
RESTORED=$(cat "$RESTORED_FACTS")
rm -f -- "$RESTORED_FACTS"
if ((COMPARE)); then
  if ! wait "$LIVE_PID"; then
    LIVE_PID=""
    die "$EX_SOFTWARE" "could not read the live database '$LIVE_DB': $(head -c 300 "$LIVE_FACTS.err")"
  fi
  LIVE_PID=""
  LIVE=$(cat "$LIVE_FACTS")
else
  LIVE=$RESTORED
fi

CHECKS=$(jq -cn --argjson live "$LIVE" --argjson restored "$RESTORED" --argjson compare "$COMPARE" '
  ($live.tables | keys) as $lt | ($restored.tables | keys) as $rt |
  {
    checksum: "ok",
    toc: "ok",
    tables: { ok: (($lt - $rt) == [] and ($rt - $lt) == []), live: ($lt | length), restored: ($rt | length),
              missing: ($lt - $rt), extra: ($rt - $lt) },
    row_counts: ( [ $lt[] | select($restored.tables[.] != null) | {table: ., live: $live.tables[.], restored: $restored.tables[.]} ] as $rows |
                  { ok: ([ $rows[] | select(.live != .restored) ] == []), compared: ($rows | length),
                    mismatches: [ $rows[] | select(.live != .restored) ], restored_rows: ([ $restored.tables[] ] | add // 0) } ),
    critical_checksums: ( [ $live.checksums | to_entries[] | {table: .key, live: .value, restored: $restored.checksums[.key],
                            match: (.value != "missing" and .value == $restored.checksums[.key])} ] as $c |
                          { ok: ([ $c[] | select(.match | not) ] == []), tables: $c } ),
    extensions: { ok: ($live.extensions == $restored.extensions), live: $live.extensions, restored: $restored.extensions,
                  postgis: ($restored.extensions.postgis != null), postgis_live: ($live.extensions.postgis != null) },
    indexes: { ok: ($live.indexes == $restored.indexes), live: $live.indexes, restored: $restored.indexes },
    enums: { ok: ($live.enums == $restored.enums), live: $live.enums, restored: $restored.enums },
    compared_with_live: ($compare == 1)
  }')
FAILURES=$(jq -c '
  [ (if .tables.ok then empty else "tables differ: missing \(.tables.missing), extra \(.tables.extra)" end),
    (.row_counts.mismatches[] | "row count of \(.table): live \(.live), restored \(.restored)"),
    (.critical_checksums.tables[] | select(.match | not) | "checksum of \(.table): live \(.live), restored \(.restored)"),
    (if .extensions.ok then empty else "extensions differ: live \(.extensions.live), restored \(.extensions.restored)" end),
    (if .extensions.postgis_live and (.extensions.postgis | not) then "PostGIS missing from the restored database" else empty end),
    (if .indexes.ok then empty else "index count: live \(.indexes.live), restored \(.indexes.restored)" end),
    (if .enums.ok then empty else "enum count: live \(.enums.live), restored \(.enums.restored)" end) ]' <<<"$CHECKS")
T1=$(date +%s.%N)
VERIFY_S=$(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.3f", b-a}')

result_args=(--arg backup "$BACKUP" --arg sha256 "$BACKUP_SHA256" --arg database "$LIVE_DB" --arg dump_database "$TOC_DBNAME"
  --arg temp_database "$TEMP_DB" --argjson restore_s "$RESTORE_S" --argjson verify_s "$VERIFY_S" --argjson checks "$CHECKS"
  --argjson failures "$FAILURES" --arg encryption "$ENCRYPTION")
if [[ "$(jq 'length' <<<"$FAILURES")" -gt 0 ]]; then
  log "error: verification failed: $(jq -r 'join("; ")' <<<"$FAILURES")"
  emit_result error "$EX_DATAERR" "${result_args[@]}" --arg error "verification failed: $(jq -r 'join("; ")' <<<"$FAILURES")"
  exit "$EX_DATAERR"
fi
log "verification passed: $(jq -r '"\(.tables.restored) tables, \(.row_counts.restored_rows) rows, \(.indexes.restored) indexes, \(.enums.restored) enums"' <<<"$CHECKS")"
emit_result ok 0 "${result_args[@]}"
