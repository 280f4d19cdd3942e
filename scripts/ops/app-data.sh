#!/usr/bin/env bash
# app-data.sh -- the runbook's database and cache operations for an app whose connections live in its .env
# (runbook 003, Bunty: `psql "$DATABASE_URL" ...`, `redis-cli -a "$REDIS_PASSWORD" ...`). The connections are read
# from the .env (DATABASE_URL, REDIS_URL, REDIS_PASSWORD) and handed to the clients as libpq variables (PGPASSWORD)
# and REDISCLI_AUTH, never on a command line, where `ps` would show them (the runbook's `redis-cli -a` does).
#
#   flush-cache        FLUSHDB on the app's Redis database (REDIS_URL's /N, default 0; rediss:// over TLS): every cached value and every
#                      session or rate-limit counter the app keeps there is gone; the app rebuilds them on demand
#   terminate PID      pg_terminate_backend(PID), only for a session of the app's own database and never this one
#   analyze            ANALYZE
#   vacuum-analyze     VACUUM ANALYZE
#   reindex            REINDEX DATABASE <the app's database> (locks each table while its indexes are rebuilt)
#   backup             pg-backup.sh into --backup-dir (checksummed, `latest` pointer, retention); with --plain-copy NAME
#                      also --backup-dir/NAME, the same backup as gzipped plain SQL (the runbook's Data Recovery reads
#                      /var/backups/bunty/bunty-latest.sql.gz with `gunzip < ... | psql`), replaced only when complete
#   verify             pg-verify.sh on --backup-dir's latest backup: restored into a temporary database (the app's role
#                      needs CREATEDB) and compared with the live one; non-zero on any mismatch
#   restore-beside B   pg-restore.sh of backup B (a file name in --backup-dir, or `latest`) into a NEW database
#                      <db>_restore_<ts> beside the live one, with its completion proof; the live database untouched
#   swap-in NAME       pg-restore.sh --swap-in NAME: the restored copy takes the live name in one transaction (the
#                      app's sessions are ended; the old database stays as <db>_pre_restore_<ts> until dropped)
#                      Both run as the app's role: it owns both databases and needs CREATEDB (pg-host-setup.sh --createdb).
#   migrate FILE       a backup first (the runbook's "Backup database first"; no backup, no migration), then FILE in ONE
#                      transaction with ON_ERROR_STOP (a failing migration changes nothing), then the tables listed
#
# Usage: app-data.sh --env-file FILE [--backup-dir DIR] [--backup-prefix NAME] [--retention-days N] [--plain-copy NAME]
#                    ACTION [ARG]
# Environment: RESULT_FILE; PGSSLROOTCERT and the other libpq variables are passed through.
# Output: one JSON line: {"script","status","exit_code","action","database", ...what the action measured}
# Exit codes: 0 done; 64 bad arguments; 65 the .env's DATABASE_URL/REDIS_URL is not a URL this script reads; 66 the .env,
#   the migration file or the backend (no such pid on the app's database) is missing; 69 PostgreSQL or Redis unavailable
#   or refused the command; 70 the migration failed (rolled back); 73, 75 as pg-backup.sh (the migration not run).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

usage() { echo "usage: app-data.sh --env-file FILE [--backup-dir DIR] [--backup-prefix NAME] [--retention-days N] [--plain-copy NAME] flush-cache|terminate PID|analyze|vacuum-analyze|reindex|backup|verify|restore-beside BACKUP|swap-in NAME|migrate FILE"; }

env_file="" backup_dir="" backup_prefix="" retention_days="" plain_copy="" action="" arg=""
while (($#)); do
  case $1 in
    --env-file) env_file=${2-}; shift 2 || die "$EX_USAGE" "--env-file needs a value" ;;
    --backup-dir) backup_dir=${2-}; shift 2 || die "$EX_USAGE" "--backup-dir needs a value" ;;
    --backup-prefix) backup_prefix=${2-}; shift 2 || die "$EX_USAGE" "--backup-prefix needs a value" ;;
    --retention-days) retention_days=${2-}; shift 2 || die "$EX_USAGE" "--retention-days needs a value" ;;
    --plain-copy) plain_copy=${2-}; shift 2 || die "$EX_USAGE" "--plain-copy needs a value" ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "$EX_USAGE" "unknown option: $1" ;;
    *)
      [[ -z "$action" ]] || { usage >&2; die "$EX_USAGE" "unexpected argument: $1"; }
      action=$1; shift
      if [[ "$action" == terminate || "$action" == migrate || "$action" == restore-beside || "$action" == swap-in ]]; then
        arg=${1-}; shift || die "$EX_USAGE" "$action needs an argument (terminate PID, migrate FILE, restore-beside BACKUP, swap-in NAME)"
      fi
      ;;
  esac
done
case "$action" in
  flush-cache | analyze | vacuum-analyze | reindex | backup | verify | migrate | terminate | restore-beside | swap-in) ;;
  "") usage >&2; die "$EX_USAGE" "no action given" ;;
  *) usage >&2; die "$EX_USAGE" "unknown action: $action" ;;
esac
[[ -n "$env_file" ]] || die "$EX_USAGE" "--env-file is required (example: --env-file /var/www/bunty-backend/.env)"
[[ -r "$env_file" ]] || die "$EX_NOINPUT" "cannot read the app's env file $env_file"
[[ "$action" != terminate || "$arg" =~ ^[1-9][0-9]{0,9}$ ]] || die "$EX_USAGE" "terminate needs a backend pid such as 12345, got: '$arg'"
[[ -z "$plain_copy" || "$plain_copy" =~ ^[A-Za-z0-9._-]+\.sql\.gz$ ]] || die "$EX_USAGE" "--plain-copy must be a file name ending in .sql.gz (example: bunty-latest.sql.gz), got: '$plain_copy'"
[[ "$action" != restore-beside || "$arg" =~ ^[A-Za-z0-9._-]+$ ]] || die "$EX_USAGE" "restore-beside needs a backup file name in the backup directory or 'latest', got: '$arg'"
[[ "$action" != swap-in || "$arg" =~ ^[a-z_][a-z0-9_]*_restore_[0-9]{14}$ ]] || die "$EX_USAGE" "swap-in needs the restored database's name (<db>_restore_<timestamp>, from restore-beside's result), got: '$arg'"
if [[ "$action" == backup || "$action" == migrate || "$action" == verify || "$action" == restore-beside ]]; then
  [[ "$backup_dir" == /* ]] || die "$EX_USAGE" "$action needs --backup-dir, an absolute path (example: --backup-dir /var/backups/bunty)"
fi
[[ -z "$retention_days" || "$retention_days" =~ ^[1-9][0-9]*$ ]] || die "$EX_USAGE" "--retention-days must be a positive count such as 7, got: '$retention_days'"

# env_value NAME -- the value of NAME in the .env as renderers/envFile.ts writes it: plain, '...' (literal), or "..."
# (with \" for "). Empty when absent.
env_value() {
  local line value
  line=$(grep -m1 "^$1=" "$env_file" || true)
  value=${line#*=}
  if [[ "$value" == \'*\' && ${#value} -ge 2 ]]; then
    value=${value:1:${#value}-2}
  elif [[ "$value" == \"*\" && ${#value} -ge 2 ]]; then
    value=${value:1:${#value}-2}
    value=${value//\\\"/\"}
  fi
  printf '%s' "$value"
}

urldecode() {
  local s=${1//+/ }
  printf '%b' "${s//%/\\x}"
}

# postgres_env -- exports PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (and PGSSLMODE) from DATABASE_URL.
postgres_env() {
  local url re
  url=$(env_value DATABASE_URL)
  [[ -n "$url" ]] || die "$EX_DATAERR" "$env_file has no DATABASE_URL"
  re='^postgres(ql)?://([^:@/]+)(:([^@/]*))?@([^:/?]+)(:([0-9]+))?/([^?]+)(\?(.*))?$'
  [[ "$url" =~ $re ]] || die "$EX_DATAERR" "DATABASE_URL in $env_file is not postgresql://user:password@host:port/database[?sslmode=...]"
  export PGUSER PGPASSWORD PGHOST PGPORT PGDATABASE
  PGUSER=$(urldecode "${BASH_REMATCH[2]}")
  PGPASSWORD=$(urldecode "${BASH_REMATCH[4]}")
  PGHOST=${BASH_REMATCH[5]}
  PGPORT=${BASH_REMATCH[7]:-5432}
  PGDATABASE=$(urldecode "${BASH_REMATCH[8]}")
  local query=${BASH_REMATCH[10]}
  if [[ "$query" =~ (^|&)sslmode=([a-z-]+) ]]; then export PGSSLMODE=${BASH_REMATCH[2]}; fi
  require_cmd psql
  psql -X -q -At -c 'SELECT 1' >/dev/null 2>&1 || die "$EX_UNAVAILABLE" "PostgreSQL at $PGHOST:$PGPORT (database $PGDATABASE) is unavailable"
}

sql() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

run_backup() {
  local out code
  out=$(bash "$here/../backup/pg-backup.sh" -d "$PGDATABASE" -o "$backup_dir" ${backup_prefix:+--prefix "$backup_prefix"} \
    ${retention_days:+--retention-days "$retention_days"} </dev/null) && code=0 || code=$?
  backup_result=$(tail -n1 <<<"$out")
  jq -e . >/dev/null 2>&1 <<<"$backup_result" || backup_result='{}'
  ((code == 0)) || die "$code" "the backup failed ($(jq -r '.error // "no result"' <<<"$backup_result")); nothing else was done"
}

case "$action" in
  flush-cache)
    url=$(env_value REDIS_URL)
    # rediss:// is a managed cluster (TLS, the system's CA store)
    re='^(rediss?)://([^:/]+)(:([0-9]+))?(/([0-9]+))?$'
    [[ "$url" =~ $re ]] || die "$EX_DATAERR" "REDIS_URL in $env_file is not redis[s]://host:port[/db] (the password is REDIS_PASSWORD)"
    host=${BASH_REMATCH[2]} port=${BASH_REMATCH[4]:-6379} db=${BASH_REMATCH[6]:-0}
    tls=()
    [[ "${BASH_REMATCH[1]}" == rediss ]] && tls=(--tls)
    require_cmd redis-cli
    REDISCLI_AUTH=$(env_value REDIS_PASSWORD)
    export REDISCLI_AUTH
    before=$(redis-cli "${tls[@]}" --no-auth-warning -h "$host" -p "$port" -n "$db" DBSIZE 2>&1 || true)
    [[ "$before" =~ ^[0-9]+$ ]] || die "$EX_UNAVAILABLE" "Redis at $host:$port is unavailable or refused: $before"
    reply=$(redis-cli "${tls[@]}" --no-auth-warning -h "$host" -p "$port" -n "$db" FLUSHDB 2>&1)
    [[ "$reply" == OK ]] || die "$EX_UNAVAILABLE" "FLUSHDB refused: $reply"
    after=$(redis-cli "${tls[@]}" --no-auth-warning -h "$host" -p "$port" -n "$db" DBSIZE)
    log "flushed Redis database $db at $host:$port: $before keys before, $after after"
    emit_result ok 0 --arg action "$action" --argjson db "$db" --argjson keys_before "$before" --argjson keys_after "$after"
    ;;
  terminate)
    postgres_env
    found=$(sql "SELECT usename || ' ' || coalesce(state, '') FROM pg_stat_activity WHERE pid = $arg AND datname = current_database() AND pid <> pg_backend_pid()") ||
      die "$EX_UNAVAILABLE" "cannot read pg_stat_activity"
    [[ -n "$found" ]] || die "$EX_NOINPUT" "no session with pid $arg on database $PGDATABASE (list them: SELECT pid, now() - query_start, query FROM pg_stat_activity WHERE state = 'active')"
    done=$(sql "SELECT pg_terminate_backend($arg)") || die "$EX_UNAVAILABLE" "pg_terminate_backend($arg) failed"
    [[ "$done" == t ]] || die "$EX_UNAVAILABLE" "pg_terminate_backend($arg) returned $done (not allowed to signal it?)"
    log "terminated backend $arg ($found) on $PGDATABASE"
    emit_result ok 0 --arg action "$action" --arg database "$PGDATABASE" --argjson pid "$arg" --arg session "$found"
    ;;
  analyze | vacuum-analyze | reindex)
    postgres_env
    case "$action" in
      analyze) statement="ANALYZE" ;;
      vacuum-analyze) statement="VACUUM ANALYZE" ;;
      reindex) statement="REINDEX DATABASE $(sql "SELECT quote_ident(current_database())")" ;;
    esac
    started=$(date +%s)
    err=$(sql "$statement" 2>&1 >/dev/null) || die "$EX_UNAVAILABLE" "$statement failed: $err"
    log "$statement on $PGDATABASE took $(($(date +%s) - started)) s"
    emit_result ok 0 --arg action "$action" --arg database "$PGDATABASE" --arg statement "$statement" --argjson duration_s "$(($(date +%s) - started))"
    ;;
  backup)
    postgres_env
    run_backup
    plain=null
    if [[ -n "$plain_copy" ]]; then
      require_cmd pg_restore gzip
      archive=$(jq -r .file <<<"$backup_result")
      # pg_restore -f - turns the archive into the plain SQL the runbook's `gunzip < ... | psql` expects; a .dump.zst
      # (pg-backup.sh's default) reaches it through zstd, read in order as pg_restore does without -j.
      unpack() { if [[ "$archive" == *.zst ]]; then zstd -q -d -c -- "$archive"; else cat -- "$archive"; fi; }
      [[ "$archive" == *.zst ]] && require_cmd zstd
      if ! { unpack | pg_restore -f - | gzip >"$backup_dir/$plain_copy.tmp"; } 2>/dev/null; then
        rm -f "$backup_dir/$plain_copy.tmp"
        die_if_full "$backup_dir" 1 "$plain_copy" ""
        die "$EX_SOFTWARE" "cannot write the plain copy $backup_dir/$plain_copy of $archive (the backup itself is complete)"
      fi
      mv -f "$backup_dir/$plain_copy.tmp" "$backup_dir/$plain_copy"
      plain=$(jq -cn --arg f "$backup_dir/$plain_copy" --argjson b "$(stat -c %s "$backup_dir/$plain_copy")" '{file: $f, bytes: $b}')
    fi
    emit_result ok 0 --arg action "$action" --arg database "$PGDATABASE" --argjson backup "$backup_result" --argjson plain_copy "$plain"
    ;;
  verify)
    postgres_env
    out=$(bash "$here/../backup/pg-verify.sh" -d "$PGDATABASE" "$backup_dir" </dev/null) && code=0 || code=$?
    report=$(tail -n1 <<<"$out")
    jq -e . >/dev/null 2>&1 <<<"$report" || report='{}'
    ((code == 0)) || die "$code" "the backup in $backup_dir did not verify: $(jq -c '.error // .failures // "no result"' <<<"$report")"
    emit_result ok 0 --arg action "$action" --arg database "$PGDATABASE" --argjson verify "$report"
    ;;
  restore-beside | swap-in)
    postgres_env
    if [[ "$action" == restore-beside ]]; then
      args=(-d "$PGDATABASE" "$backup_dir/$arg")
    else
      args=(-d "$PGDATABASE" --swap-in "$arg")
    fi
    out=$(bash "$here/../backup/pg-restore.sh" "${args[@]}" </dev/null) && code=0 || code=$?
    report=$(tail -n1 <<<"$out")
    jq -e . >/dev/null 2>&1 <<<"$report" || report='{}'
    ((code == 0)) || die "$code" "$action failed: $(jq -r '.error // "no result"' <<<"$report")"
    emit_result ok 0 --arg action "$action" --arg database "$PGDATABASE" --argjson restore "$report"
    ;;
  migrate)
    [[ -r "$arg" ]] || die "$EX_NOINPUT" "cannot read the migration file $arg"
    postgres_env
    run_backup
    err=$(psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f "$arg" 2>&1 >/dev/null) ||
      die "$EX_SOFTWARE" "the migration $arg failed and was rolled back (backup $(jq -r .file <<<"$backup_result")): $err"
    tables=$(psql -X -q -At -c "SELECT coalesce(json_agg(schemaname || '.' || tablename ORDER BY schemaname, tablename), '[]') FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
    log "migration $arg applied to $PGDATABASE after backup $(jq -r .file <<<"$backup_result")"
    emit_result ok 0 --arg action "$action" --arg database "$PGDATABASE" --arg migration "$arg" --argjson backup "$backup_result" --argjson tables "$tables"
    ;;
esac
