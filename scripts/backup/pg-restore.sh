#!/usr/bin/env bash
# pg-restore.sh -- restores a logical backup into a NEW database beside the live one, never over it.
# Before touching anything it refuses a backup whose sha256 sidecar or table of contents (pg_restore -l) does not
# verify, that cannot be decrypted, or that is a dump of another database (unless --allow-other-db). It then restores
# into <db>_restore_<timestamp> with parallel pg_restore -j. Only with --cutover does it swap names: connections to the
# live database's sessions are terminated and, in that same ONE transaction, the live database becomes
# <db>_pre_restore_<timestamp> and the restored one takes the live name (no connection flag is ever stored, so a
# kill -9 at any point leaves either the old or the new state, both accepting connections). The previous database
# stays as the rollback point until an explicit `--drop-previous NAME`. A finished restore carries its proof (a
# "lazarus-restore-complete" comment naming the backup and its sha256); `--swap-in` refuses a copy without it, such
# as the leftover of a killed run.
#
# Usage: pg-restore.sh [options] BACKUP_FILE|BACKUP_DIR
#        pg-restore.sh --swap-in <db>_restore_<ts> [-d DB]
#        pg-restore.sh --drop-previous NAME
#   BACKUP_FILE|BACKUP_DIR    archive to restore; a directory means its `latest`. A plain SQL dump (pg_dump -Fp,
#                             unencrypted) is accepted too: it needs -d, must be complete (pg_dump's closing line) and
#                             must not leave the new database (no \connect or CREATE/DROP DATABASE, i.e. not made with
#                             -C); psql loads it in one transaction, stopping at the first error
#   -d, --dbname DB           the live database name the restore is for (env PGDATABASE; default: the dump's database;
#                             required with --cutover, so a mixed-up backup directory cannot replace another database)
#       --allow-other-db      accept a dump whose database name differs from DB
#   -j, --jobs N              parallel pg_restore jobs (env RESTORE_JOBS, default: number of CPUs)
#       --cutover             after a successful restore, swap it in for the live database (see above)
#       --terminate-timeout S seconds to wait for the live database's sessions to end at cutover (default 30)
#       --no-owner            do not restore object ownership (pg_restore --no-owner --no-privileges)
#       --no-analyze          skip ANALYZE of the restored database
#       --swap-in NAME        cut over to an earlier run's restored copy <db>_restore_<ts>, no backup; refused (65) unless
#                             the copy carries the completion proof of a finished restore; refused (64) when it is not
#                             a copy of DB (-d or PGDATABASE, when given)
#       --drop-previous NAME  drop a rollback point (<db>_pre_restore_<ts>) or a leftover <db>_restore_<ts>; nothing else
#       --maintenance-db DB   database to connect to for CREATE/ALTER/DROP DATABASE (default postgres)
#       --identity FILE       age identity for .age archives (env AGE_IDENTITY_FILE)
#       --key-file FILE       passphrase file for .enc archives (env BACKUP_KEY_FILE)
#   -h, --help
# Connection: libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD or PGPASSFILE, PGSSLMODE, ...) or the flags
# --host, --port, --username (and -d); the password only ever from PGPASSWORD/PGPASSFILE, never argv.
# Other environment: RESULT_FILE (also write the JSON result there), WORK_DIR (scratch: the decrypted or decompressed
# archive, TOC; a .dump.zst needs room for pg_dump's uncompressed archive there, typically 2-3x the file),
# RESTORE_MAINTENANCE_WORK_MEM (index builds during the restore, default 256MB).
#
# Output: one JSON line: {status, backup, sha256, database, dump_database, restored_database, previous_database,
# cutover, restore_s, phases, ...}; phases is where the time went, in seconds: checksum_s, decrypt_s (encrypted
# archives, their decompression included), decompress_s (an unencrypted .dump.zst, beside the checksum), toc_s,
# pre_data_s, autovacuum_off_s, data_indexes_s (one parallel run: an index starts as soon as its table is loaded),
# autovacuum_on_s, analyze_s (schema_data_indexes_s instead of the three restore phases on a
# wal_level=minimal server, which restores in one run). restore_s counts from the new database's restore to its proof,
# so the checks before it (checksum, toc) are not in it. or {status:"error", error}, also when stopped by SIGTERM (exit 143).
#
# Exit codes: 0 ok; 64 usage (including --cutover without -d, a --swap-in copy of another database than -d, and
# --drop-previous of a name that is not a restore database); 65 the backup or the --swap-in copy is refused (empty,
# checksum, TOC, wrong key, another database's dump, no completion proof); 66 backup, key or named database missing;
# 69 server unavailable (including stopped mid-restore: the live database is untouched); 70 the restore failed (the new
# database is dropped, the live one untouched); 73 no space in WORK_DIR (path and bytes needed in the error);
# 75 cutover could not get the live database to itself (nothing renamed); 130/143 interrupted/SIGTERM. One meaning per
# code across the scripts: the table in README "Proven backups".
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$SCRIPT_DIR/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pg.sh
. "$SCRIPT_DIR/lib-pg.sh"

usage() {
  echo "usage: pg-restore.sh [-d DB] [--allow-other-db] [-j N] [--cutover] [--no-owner] BACKUP_FILE|BACKUP_DIR | pg-restore.sh --drop-previous NAME"
}

LIVE_DB=${PGDATABASE:-}
ALLOW_OTHER=0
JOBS=${RESTORE_JOBS:-$(nproc 2>/dev/null || echo 2)}
CUTOVER=0
TERM_TIMEOUT=30
NO_OWNER=0
ANALYZE=1
DROP_PREVIOUS=""
SWAP_IN=""
MAINT_DB=postgres
TARGET=""

while (($#)); do
  case "$1" in
    -d | --dbname) LIVE_DB=${2:?}; shift 2 ;;
    --allow-other-db) ALLOW_OTHER=1; shift ;;
    -j | --jobs) JOBS=${2:?}; shift 2 ;;
    --cutover) CUTOVER=1; shift ;;
    --terminate-timeout) TERM_TIMEOUT=${2:?}; shift 2 ;;
    --no-owner) NO_OWNER=1; shift ;;
    --no-analyze) ANALYZE=0; shift ;;
    --drop-previous) DROP_PREVIOUS=${2:?}; shift 2 ;;
    --swap-in) SWAP_IN=${2:?}; shift 2 ;;
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
[[ "$TERM_TIMEOUT" =~ ^[0-9]+$ ]] || die "$EX_USAGE" "terminate timeout must be whole seconds: $TERM_TIMEOUT"
require_cmd psql pg_restore vacuumdb sha256sum jq
unset PGDATABASE
WORK_DIR=${WORK_DIR:-${TMPDIR:-/tmp}}

db_exists() {
  [[ "$(psql_q "$MAINT_DB" "SELECT count(*) FROM pg_database WHERE datname = $(sql_literal "$1")")" == 1 ]]
}

# --drop-previous: the explicit end of a rollback point. Only restore-made names are accepted.
if [[ -n "$DROP_PREVIOUS" ]]; then
  [[ -z "$TARGET" && "$CUTOVER" == 0 ]] || die "$EX_USAGE" "--drop-previous is an action on its own; give no backup and no --cutover"
  [[ "$DROP_PREVIOUS" =~ _(pre_restore|restore)_[0-9]{14}$ ]] ||
    die "$EX_USAGE" "refusing to drop '$DROP_PREVIOUS': only <db>_pre_restore_<timestamp> or <db>_restore_<timestamp> databases made by this script can be dropped"
  server_reachable "$MAINT_DB" || die "$EX_UNAVAILABLE" "cannot connect to the server (${PGHOST:-local socket}:${PGPORT:-5432})"
  db_exists "$DROP_PREVIOUS" || die "$EX_NOINPUT" "no database named '$DROP_PREVIOUS'"
  log "dropping $DROP_PREVIOUS"
  psql_q "$MAINT_DB" "DROP DATABASE $(sql_ident "$DROP_PREVIOUS") WITH (FORCE)" >/dev/null ||
    die "$EX_SOFTWARE" "could not drop '$DROP_PREVIOUS'"
  emit_result ok 0 --arg dropped "$DROP_PREVIOUS"
  exit 0
fi

if [[ -n "$SWAP_IN" ]]; then
  [[ -z "$TARGET" ]] || die "$EX_USAGE" "--swap-in takes no backup"
  [[ "$SWAP_IN" =~ _restore_[0-9]{14}$ && ! "$SWAP_IN" =~ _pre_restore_[0-9]{14}$ ]] ||
    die "$EX_USAGE" "--swap-in takes a <db>_restore_<timestamp> database made by this script, not '$SWAP_IN'"
  LIVE_DB=${LIVE_DB:-${SWAP_IN%_restore_*}}
  # A copy of another database would go live under this one's name (-d, or a stray PGDATABASE): refused.
  is_restored_copy_of "$LIVE_DB" "$SWAP_IN" ||
    die "$EX_USAGE" "--swap-in '$SWAP_IN' is not a restored copy of '$LIVE_DB' ($(restored_copy_prefix "$LIVE_DB")<timestamp>); name the copy the restore of '$LIVE_DB' made"
  CUTOVER=1
else
  [[ -n "$TARGET" ]] || { usage >&2; die "$EX_USAGE" "no backup given"; }
  # The dump's own name is not enough to replace a live database: a mixed-up directory would cut over the wrong one.
  [[ "$CUTOVER" == 0 || -n "$LIVE_DB" ]] ||
    die "$EX_USAGE" "--cutover needs the live database's name: add -d DB (e.g. -d app); the dump's name is not trusted for a cutover"
  BACKUP=$(resolve_backup_path "$TARGET")
fi

NEW_DB=""
KEEP_NEW=0
UNPACKED_FILE=""
TOC_FILE=""
cleanup() {
  local rc=$?
  set +e # best effort from here: every step runs even when one fails
  stop_pg_restore
  if [[ -n "$NEW_DB" && "$KEEP_NEW" == 0 ]]; then
    if psql_q "$MAINT_DB" "DROP DATABASE IF EXISTS $(sql_ident "$NEW_DB") WITH (FORCE)" >/dev/null 2>&1; then
      log "dropped the incomplete database $NEW_DB"
    else
      log "warning: could not drop the incomplete database $NEW_DB; when the server is back: pg-restore.sh --drop-previous $NEW_DB"
    fi
  fi
  rm -f -- "${UNPACKED_FILE:-}" "${TOC_FILE:-}" "${TOC_FILE:+$TOC_FILE.use}"
  emit_result_on_exit "$rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

STAMP=$(date -u +%Y%m%d%H%M%S)
if [[ -n "$SWAP_IN" ]]; then
  server_reachable "$MAINT_DB" || die "$EX_UNAVAILABLE" "cannot connect to the server (${PGHOST:-local socket}:${PGPORT:-5432}, database $MAINT_DB)"
  db_exists "$SWAP_IN" || die "$EX_NOINPUT" "no database named '$SWAP_IN'"
  # Only a copy that finished (restore, autovacuum back on, analyze) carries the proof; a killed run's leftover has
  # the same name but not the proof.
  proof=$(psql_q "$MAINT_DB" "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $(sql_literal "$SWAP_IN")")
  proof_json=${proof#"$RESTORE_PROOF_TAG "}
  if [[ "$proof" != "$RESTORE_PROOF_TAG "* ]] || ! jq -e '(.sha256 | test("^[0-9a-f]{64}$")) and (.backup | length > 0)' <<<"$proof_json" >/dev/null 2>&1; then
    die "$EX_DATAERR" "refusing to swap in '$SWAP_IN': it carries no proof of a finished restore (a killed or failed run's leftover?); drop it with pg-restore.sh --drop-previous $SWAP_IN and restore again"
  fi
  NEW_DB=$SWAP_IN
  KEEP_NEW=1
  LIVE_EXISTS=0
  db_exists "$LIVE_DB" && LIVE_EXISTS=1
  result_args=(--arg database "$LIVE_DB" --arg swapped_in "$SWAP_IN" --arg backup "$(jq -r .backup <<<"$proof_json")"
    --arg sha256 "$(jq -r .sha256 <<<"$proof_json")")
else
  # 1. Refusals, before any connection that changes something.
  FORMAT=custom
  if backup_is_plain_sql "$BACKUP"; then
    # A plain dump (pg_dump -Fp) does not name its database, so the restore is told which one it is for.
    [[ -n "$LIVE_DB" ]] || die "$EX_USAGE" "$BACKUP is a plain SQL dump, which does not name its database: add -d DB (e.g. -d app)"
    backup_prepare_plain "$BACKUP"
    TOC_DBNAME=$LIVE_DB FORMAT=plain
  else
    backup_prepare "$BACKUP"
  fi
  LIVE_DB=${LIVE_DB:-$TOC_DBNAME}
  if [[ "$TOC_DBNAME" != "$LIVE_DB" && "$ALLOW_OTHER" == 0 ]]; then
    die "$EX_DATAERR" "backup is a dump of database '$TOC_DBNAME', not '$LIVE_DB'; refusing (pass --allow-other-db to restore it as '$LIVE_DB')"
  fi
  server_reachable "$MAINT_DB" || die "$EX_UNAVAILABLE" "cannot connect to the server (${PGHOST:-local socket}:${PGPORT:-5432}, database $MAINT_DB)"

  # 2. A new database beside the live one, with the live one's owner, encoding and locale when it exists.
  NEW_NAME="$(restored_copy_prefix "$LIVE_DB")${STAMP}"
  db_exists "$NEW_NAME" && die "$EX_TEMPFAIL" "database $NEW_NAME already exists (another restore this second?)"
  create_sql="CREATE DATABASE $(sql_ident "$NEW_NAME") TEMPLATE template0"
  LIVE_EXISTS=0
  if db_exists "$LIVE_DB"; then
    LIVE_EXISTS=1
    create_sql+=$(psql_q "$MAINT_DB" "SELECT format(' OWNER %I ENCODING %L LC_COLLATE %L LC_CTYPE %L', pg_get_userbyid(datdba),
        pg_encoding_to_char(encoding), datcollate, datctype) FROM pg_database WHERE datname = $(sql_literal "$LIVE_DB")")
  fi
  log "creating $NEW_NAME beside '$LIVE_DB' (live database exists: $LIVE_EXISTS)"
  psql_q "$MAINT_DB" "$create_sql" >/dev/null || die "$EX_SOFTWARE" "could not create $NEW_NAME"
  NEW_DB=$NEW_NAME

  # 3. Parallel restore with bulk-load session settings (a plain dump: psql, one transaction).
  R0=$(date +%s.%N)
  if [[ "$FORMAT" == plain ]]; then
    ((NO_OWNER)) && log "warning: --no-owner does not apply to a plain dump: its ALTER ... OWNER statements run as written"
    log "restoring the plain dump $BACKUP into $NEW_DB with psql in one transaction"
    restored() { restore_plain "$NEW_DB" "$ARCHIVE"; }
  else
    scratch_write "$TOC_FILE.use" "$(grep -v ' COMMENT - EXTENSION ' "$TOC_FILE")"
    restore_args=()
    ((NO_OWNER)) && restore_args+=(--no-owner --no-privileges)
    log "restoring $BACKUP into $NEW_DB with $JOBS jobs"
    restored() { restore_archive "$NEW_DB" "$ARCHIVE" "$TOC_FILE.use" "$JOBS" "${restore_args[@]}"; }
  fi
  if ! restored; then
    # The first error and its DETAIL say what broke (a worker's key violation, say); pg_restore's last lines only say
    # that a worker died.
    detail=$(printf '%s\n' "$RESTORE_ERR" | grep -m1 -A1 'ERROR:' | head -c 400 | tr '\n' ' ' || true)
    [[ -n "$detail" ]] || detail=$(printf '%s' "$RESTORE_ERR" | tail -c 400 | tr '\n' ' ')
    if ! server_reachable "$MAINT_DB"; then
      die "$EX_UNAVAILABLE" "the server stopped or became unreachable during the restore into $NEW_DB; the live database '$LIVE_DB' was not touched. Once the server is back, drop the partial copy with: pg-restore.sh --drop-previous $NEW_DB. pg_restore said: $detail"
    fi
    die "$EX_SOFTWARE" "restore into $NEW_DB failed (the archive's data is damaged or does not load); $NEW_DB dropped, live database '$LIVE_DB' untouched: $detail"
  fi
  # A copy left without autovacuum would bloat and age unseen, so failing to switch it back fails the restore.
  t_phase=$(phase_mark)
  if ! reenable_autovacuum "$NEW_DB"; then
    server_reachable "$MAINT_DB" || die "$EX_UNAVAILABLE" "the server became unreachable after the restore; live database '$LIVE_DB' untouched"
    die "$EX_SOFTWARE" "could not switch autovacuum back on in $NEW_DB after the restore; $NEW_DB dropped, live database '$LIVE_DB' untouched"
  fi
  phase_add autovacuum_on_s "$t_phase"
  if ((ANALYZE)); then
    # Planner statistics before anyone queries the copy; one table per job, like the restore itself. Only the tables
    # the restore made (the copy is new, so every table outside the system schemas): a whole-database vacuumdb also
    # analyzes the ~60 system catalogs, one round trip each, which the copy's queries do not need sooner than
    # autovacuum gives them.
    t_phase=$(phase_mark)
    analyze_targets=()
    if tables=$(psql_q "$NEW_DB" "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%' ORDER BY c.relpages DESC" 2>/dev/null); then
      while IFS= read -r t; do [[ -n "$t" ]] && analyze_targets+=(--table="$t"); done <<<"$tables"
    else
      server_reachable "$MAINT_DB" || die "$EX_UNAVAILABLE" "the server became unreachable after the restore; live database '$LIVE_DB' untouched"
    fi
    log "analyzing the ${#analyze_targets[@]} restored tables of $NEW_DB with $JOBS jobs"
    if ((${#analyze_targets[@]})); then
      vacuumdb --analyze-only --jobs="$JOBS" --quiet --dbname="$NEW_DB" "${analyze_targets[@]}" >/dev/null 2>&1 || server_reachable "$MAINT_DB" ||
        die "$EX_UNAVAILABLE" "the server became unreachable after the restore; live database '$LIVE_DB' untouched"
    fi
    phase_add analyze_s "$t_phase"
  fi
  # The proof of completion, written last: --swap-in accepts only a copy that has it.
  proof_json=$(jq -cn --arg backup "$BACKUP" --arg sha256 "$BACKUP_SHA256" --arg dump_database "$TOC_DBNAME" \
    --arg restored_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '$ARGS.named')
  psql_q "$MAINT_DB" "COMMENT ON DATABASE $(sql_ident "$NEW_DB") IS $(sql_literal "$RESTORE_PROOF_TAG $proof_json")" >/dev/null || {
    server_reachable "$MAINT_DB" || die "$EX_UNAVAILABLE" "the server became unreachable after the restore; live database '$LIVE_DB' untouched"
    die "$EX_SOFTWARE" "could not record the completion proof on $NEW_DB; $NEW_DB dropped, live database '$LIVE_DB' untouched"
  }
  R1=$(date +%s.%N)
  RESTORE_S=$(awk -v a="$R0" -v b="$R1" 'BEGIN{printf "%.3f", b-a}')
  log "restored into $NEW_DB in ${RESTORE_S}s"

  result_args=(--arg backup "$BACKUP" --arg sha256 "$BACKUP_SHA256" --arg database "$LIVE_DB" --arg dump_database "$TOC_DBNAME"
    --argjson restore_s "$RESTORE_S" --argjson jobs "$JOBS" --arg encryption "$ENCRYPTION" --argjson phases "$(phases_json)" --arg format "$FORMAT")

fi

if ((CUTOVER == 0)); then
  KEEP_NEW=1
  log "live database '$LIVE_DB' untouched; swap the restored copy in with: pg-restore.sh --swap-in $NEW_DB"
  emit_result ok 0 "${result_args[@]}" --arg restored_database "$NEW_DB" --argjson cutover false
  exit 0
fi

PRE_NAME=$(rollback_name "$LIVE_DB" "$STAMP")
# 4. Cutover, in ONE transaction with no flag stored anywhere: end the sessions on both databases, then rename both.
# RENAME locks the database (new connections wait, then find the name taken by the restored copy) and waits up to 5 s
# for the terminated sessions to exit; a session that sneaks in before the lock fails the transaction, which is
# simply retried until the timeout. A kill -9 anywhere leaves the old or the new state, never a refusing database.
swap_sql="BEGIN;"
swap_sql+=" SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN ($(sql_literal "$LIVE_DB"), $(sql_literal "$NEW_DB")) AND pid <> pg_backend_pid();"
((LIVE_EXISTS)) && swap_sql+=" ALTER DATABASE $(sql_ident "$LIVE_DB") RENAME TO $(sql_ident "$PRE_NAME");"
swap_sql+=" ALTER DATABASE $(sql_ident "$NEW_DB") RENAME TO $(sql_ident "$LIVE_DB"); COMMIT;"
KEEP_NEW=1
log "cutover: terminating the sessions on '$LIVE_DB' and swapping names in one transaction"
deadline=$(($(date +%s) + TERM_TIMEOUT))
while ! SWAP_ERR=$(psql -X -q -v ON_ERROR_STOP=1 -d "$MAINT_DB" -c "$swap_sql" 2>&1 >/dev/null); do
  if [[ "$SWAP_ERR" != *"being accessed by other users"* ]]; then
    server_reachable "$MAINT_DB" || die "$EX_UNAVAILABLE" "the server became unreachable during the cutover; the name swap is one transaction, so either nothing was renamed or it is complete: check for $PRE_NAME"
    die "$EX_TEMPFAIL" "name swap failed, rolled back (live database '$LIVE_DB' unchanged, restored copy kept as $NEW_DB): $(printf '%s' "$SWAP_ERR" | head -c 300)"
  fi
  (($(date +%s) < deadline)) ||
    die "$EX_TEMPFAIL" "sessions on '$LIVE_DB' did not end within ${TERM_TIMEOUT}s; nothing renamed, restored copy kept as $NEW_DB"
  sleep 0.2
done
PREVIOUS=""
((LIVE_EXISTS)) && PREVIOUS=$PRE_NAME
log "cutover done: '$LIVE_DB' is the restored database${PREVIOUS:+; the previous one is kept as $PREVIOUS (drop it with --drop-previous $PREVIOUS)}"
emit_result ok 0 "${result_args[@]}" --arg restored_database "$LIVE_DB" --arg previous_database "$PREVIOUS" --argjson cutover true \
  --arg cutover_mode "one transaction (terminate and rename), no connection flag"
