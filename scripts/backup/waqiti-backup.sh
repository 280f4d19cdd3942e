#!/usr/bin/env bash
# waqiti-backup.sh -- Waqiti's backup job (the Kubernetes CronJob `waqiti-backup`): PostgreSQL and Redis dumped,
# encrypted so that the seed's own restore commands read them, uploaded to the backup bucket, then a manifest.
#
# What lands in the bucket (S3_URL, e.g. s3://waqiti-backups-prod/), in this order:
#   postgresql/waqiti-postgresql-<UTC stamp>.sql.gz.enc   pg_dump (plain SQL) | gzip | openssl enc
#   redis/waqiti-redis-<UTC stamp>.rdb.enc                 redis-cli --rdb | openssl enc
#   manifests/waqiti-<UTC stamp>.json                      keys, sha256s, and the row counts of the verification
#                                                          tables taken in the dump's own snapshot; written last, so
#                                                          a manifest means a complete backup
# The seed finds the newest with `aws s3 ls ... --recursive | grep postgresql | sort | tail -1` (and `grep redis`):
# only the dumps' keys contain those words, so neither grep can pick a manifest or the other store's dump.
#
# Encryption: `openssl enc -aes-256-cbc -salt -md sha256 -pass file:KEY`. The seed decrypts with
# `openssl enc -aes-256-cbc -d -in F -out F2 -pass file:/etc/waqiti/backup-encryption.key`: no -pbkdf2, so the key
# is derived with OpenSSL's EVP_BytesToKey and its default digest, sha256 since OpenSSL 1.1.0. Encrypting with -pbkdf2
# (as pg-backup.sh does) would make that command fail with "bad decrypt". The old derivation is one hash round, so the
# key file must be a random key (openssl rand -base64 32), never a word a person chose.
#
# Usage: waqiti-backup.sh [--postgres-only | --redis-only]
# Environment:
#   PGHOST, PGPORT (5432), PGUSER (postgres), PGDATABASE (waqiti); PG_PASSWORD_FILE: the password, read from this file
#     into the process only (never the container's environment)
#   REDIS_HOST, REDIS_PORT (6379)
#   BACKUP_KEY_FILE (default /etc/waqiti/backup-encryption.key)
#   S3_URL (s3://bucket/), S3_ENDPOINT, S3_REGION, S3_NO_SSL, S3CMD_CONFIG (the credentials file): see lib-pg.sh s3_upload
#   VERIFY_TABLES (default users,transactions,wallets): counted in the dump's snapshot for the restore's check
#   WORK_DIR (scratch, default TMPDIR or /tmp), RESULT_FILE
# Output: one JSON line: {manifest, postgres: {key, bytes, sha256, counts}, redis: {key, bytes, sha256, keys}, ...}.
# Exit codes: 0 ok; 64 usage; 66 key file missing; 69 PostgreSQL, Redis or a tool unavailable; 70 a dump or the
# encryption failed; 73 no space in WORK_DIR; 75 the upload failed (nothing is reported complete).
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$SCRIPT_DIR/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pg.sh
. "$SCRIPT_DIR/lib-pg.sh"

usage() { echo "usage: waqiti-backup.sh [--postgres-only | --redis-only]"; }
DO_PG=1
DO_REDIS=1
while (($#)); do
  case "$1" in
    --postgres-only) DO_REDIS=0; shift ;;
    --redis-only) DO_PG=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done

export PGUSER=${PGUSER:-postgres} PGDATABASE=${PGDATABASE:-waqiti}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
KEY_FILE=${BACKUP_KEY_FILE:-/etc/waqiti/backup-encryption.key}
VERIFY_TABLES=${VERIFY_TABLES:-users,transactions,wallets}
WORK=${WORK_DIR:-${TMPDIR:-/tmp}}
[[ -n "${S3_URL:-}" ]] || die "$EX_USAGE" "S3_URL is not set (example: s3://waqiti-backups-prod/)"
[[ -f "$KEY_FILE" ]] || die "$EX_NOINPUT" "encryption key file not found: $KEY_FILE"
require_cmd jq openssl gzip s3cmd
((DO_PG)) && require_cmd psql pg_dump
((DO_REDIS)) && require_cmd redis-cli
if [[ -n "${PG_PASSWORD_FILE:-}" ]]; then
  [[ -r "$PG_PASSWORD_FILE" ]] || die "$EX_NOINPUT" "password file not readable: $PG_PASSWORD_FILE"
  PGPASSWORD=$(<"$PG_PASSWORD_FILE")
  export PGPASSWORD
fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
TMP=$(mktemp -d "$WORK/waqiti-backup.XXXXXX") || die "$EX_CANTCREAT" "cannot create a scratch directory in $WORK"
SNAP_PID=""
cleanup() {
  local rc=$?
  stop_stoppable # a dump, an encryption or an upload still running (stopped by SIGTERM): ended before TMP goes
  [[ -n "$SNAP_PID" ]] && kill "$SNAP_PID" 2>/dev/null
  rm -rf -- "$TMP"
  emit_result_on_exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

encrypt() { openssl enc -aes-256-cbc -salt -md sha256 -pass "file:$KEY_FILE" -out "$1"; }

# The long steps (dump, snapshot, encryption, upload) run through run_stoppable (common.sh), never in the foreground or
# in $(...): so a SIGTERM at the job's deadline ends them and the run at once, with its result line, instead of after
# them (bash defers traps during a foreground command) and then by SIGKILL with no result line.
dump_postgres() { pg_dump --snapshot="$SNAPSHOT" --no-password "$PGDATABASE" | gzip -6 | encrypt "$PG_FILE"; }
snapshot_redis() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" --rdb "$RDB"; }
encrypt_redis() { encrypt "$REDIS_FILE" <"$RDB"; }

upload() { # upload FILE PREFIX; s3_upload's temporary s3cmd config goes in TMP, removed even when the upload is stopped
  S3_URL="${S3_URL%/}/$2" WORK_DIR="$TMP" run_stoppable s3_upload "$1" || die "$EX_TEMPFAIL" "upload of $(basename "$1") to ${S3_URL%/}/$2 failed; no manifest written, so this backup is not complete"
}

PG_JSON=null
if ((DO_PG)); then
  psql -X -q -A -t -c 'select 1' >/dev/null 2>&1 || die "$EX_UNAVAILABLE" "PostgreSQL unreachable at ${PGHOST:-local}:${PGPORT:-5432} database $PGDATABASE"
  # One snapshot for the dump and the counts: a session exports it and holds it open while pg_dump uses it.
  coproc SNAP { psql -X -q -A -t -v ON_ERROR_STOP=1 2>&1; }
  printf 'BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT pg_export_snapshot();\n' >&"${SNAP[1]}"
  read -r -t 60 SNAPSHOT <&"${SNAP[0]}" || die "$EX_UNAVAILABLE" "could not export a snapshot"
  [[ "$SNAPSHOT" =~ ^[0-9A-F-]+$ ]] || die "$EX_UNAVAILABLE" "could not export a snapshot: $SNAPSHOT"
  COUNTS='{}'
  IFS=, read -ra tables <<<"$VERIFY_TABLES"
  for t in "${tables[@]}"; do
    [[ "$t" =~ ^[a-z_][a-z0-9_]*$ ]] || die "$EX_USAGE" "not a table name in VERIFY_TABLES: $t"
    printf "SELECT CASE WHEN to_regclass('public.%s') IS NULL THEN 'missing' ELSE (xpath('/row/c/text()', query_to_xml('select count(*) as c from public.%s', false, true, '')))[1]::text END;\n" "$t" "$t" >&"${SNAP[1]}"
    read -r -t 600 n <&"${SNAP[0]}" || die "$EX_UNAVAILABLE" "could not count $t"
    if [[ "$n" == missing ]]; then
      log "warning: verification table $t does not exist; its count is not recorded"
      continue
    fi
    [[ "$n" =~ ^[0-9]+$ ]] || die "$EX_UNAVAILABLE" "could not count $t: $n"
    COUNTS=$(jq -c --arg t "$t" --argjson n "$n" '. + {($t): $n}' <<<"$COUNTS")
  done
  PG_KEY="postgresql/waqiti-postgresql-$STAMP.sql.gz.enc"
  PG_FILE="$TMP/$(basename "$PG_KEY")"
  log "dumping $PGDATABASE (snapshot $SNAPSHOT)"
  if ! run_stoppable dump_postgres 2>"$TMP/dump.err"; then
    err=$(<"$TMP/dump.err")
    die_if_full "$TMP" 1 "the PostgreSQL dump" "$err"
    die "$EX_SOFTWARE" "pg_dump | gzip | openssl failed: $err"
  fi
  printf 'COMMIT;\n' >&"${SNAP[1]}"
  eval "exec ${SNAP[1]}>&-"
  wait "$SNAP_PID" 2>/dev/null || true
  SNAP_PID=""
  PG_SHA=$(sha256_of "$PG_FILE")
  upload "$PG_FILE" postgresql/
  PG_JSON=$(jq -cn --arg key "$PG_KEY" --arg sha256 "$PG_SHA" --argjson bytes "$(stat -c %s "$PG_FILE")" --argjson counts "$COUNTS" '{key: $key, sha256: $sha256, bytes: $bytes, counts: $counts}')
fi

REDIS_JSON=null
if ((DO_REDIS)); then
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1 || die "$EX_UNAVAILABLE" "Redis unreachable at $REDIS_HOST:$REDIS_PORT"
  KEYS=$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" dbsize)
  RDB="$TMP/dump.rdb"
  if ! run_stoppable snapshot_redis >/dev/null 2>"$TMP/rdb.err"; then
    err=$(<"$TMP/rdb.err")
    die_if_full "$TMP" 1 "the Redis snapshot" "$err"
    die "$EX_SOFTWARE" "redis-cli --rdb failed: $err"
  fi
  REDIS_KEY="redis/waqiti-redis-$STAMP.rdb.enc"
  REDIS_FILE="$TMP/$(basename "$REDIS_KEY")"
  run_stoppable encrypt_redis || die "$EX_SOFTWARE" "openssl failed to encrypt the Redis snapshot"
  REDIS_SHA=$(sha256_of "$REDIS_FILE")
  upload "$REDIS_FILE" redis/
  REDIS_JSON=$(jq -cn --arg key "$REDIS_KEY" --arg sha256 "$REDIS_SHA" --argjson bytes "$(stat -c %s "$REDIS_FILE")" --argjson keys "${KEYS:-0}" '{key: $key, sha256: $sha256, bytes: $bytes, keys: $keys}')
fi

MANIFEST="$TMP/waqiti-$STAMP.json"
jq -n --arg stamp "$STAMP" --argjson postgres "$PG_JSON" --argjson redis "$REDIS_JSON" '{stamp: $stamp, postgres: $postgres, redis: $redis}' >"$MANIFEST"
upload "$MANIFEST" manifests/
emit_result ok 0 --arg manifest "manifests/$(basename "$MANIFEST")" --argjson postgres "$PG_JSON" --argjson redis "$REDIS_JSON"
