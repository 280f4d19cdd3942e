#!/usr/bin/env bash
# waqiti-restore.sh -- restores a Waqiti backup (made by waqiti-backup.sh) the way the seed does, with its checks:
#
#   waqiti-restore.sh postgres --backup latest|KEY   into the (new, empty) PostgreSQL at PGHOST: the seed's
#       `openssl enc -aes-256-cbc -d ... -pass file:KEY`, `gunzip`, `psql -d waqiti < file`, then the seed's
#       SELECT COUNT(*) of the verification tables, each held to the count the backup recorded in its own snapshot.
#       A database that already holds tables is refused (a restore never writes over data), unless it carries this
#       backup's completion proof, which makes a second run a no-op.
#   waqiti-restore.sh redis --backup latest|KEY --data-dir DIR --label L   into Redis's data directory, while Redis
#       is STOPPED (an init container before redis-server starts): the seed's `kubectl cp` of dump.rdb into a running
#       Redis is overwritten by Redis's own save at shutdown. The RDB is checked with redis-check-rdb, the previous
#       dump.rdb kept as dump.rdb.before-L, and a marker .lazarus-restored-L makes later pod starts leave data alone.
#
# `latest` is the newest manifest under manifests/ (a manifest is written only after both dumps were uploaded).
# Environment: S3_URL (s3://bucket/), S3_ENDPOINT, S3_REGION, S3_NO_SSL, S3CMD_CONFIG; BACKUP_KEY_FILE (default
# /etc/waqiti/backup-encryption.key); PGHOST, PGPORT, PGUSER (postgres), PGDATABASE (waqiti), PG_PASSWORD_FILE;
# WAIT_SECONDS (how long to wait for PostgreSQL, default 300); WORK_DIR; RESULT_FILE.
# Output: one JSON line: {store, backup, sha256, counts | keys_file, ...}.
# Exit codes: 0 ok (or already restored); 64 usage; 65 refused: checksum, wrong key, not an RDB, counts differ, target
# database not empty; 66 backup, manifest or key file missing; 69 PostgreSQL or a tool unavailable; 70 psql failed while
# loading; 73 no space; 75 the download failed.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$SCRIPT_DIR/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pg.sh
. "$SCRIPT_DIR/lib-pg.sh"

usage() { echo "usage: waqiti-restore.sh postgres|redis --backup latest|KEY [--data-dir DIR --label L]"; }
STORE=${1:-}
[[ "$STORE" == postgres || "$STORE" == redis ]] || { usage >&2; die "$EX_USAGE" "first argument must be postgres or redis"; }
shift
BACKUP=""
DATA_DIR=""
LABEL=""
while (($#)); do
  case "$1" in
    --backup) BACKUP=${2:?}; shift 2 ;;
    --data-dir) DATA_DIR=${2:?}; shift 2 ;;
    --label) LABEL=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ -n "$BACKUP" ]] || die "$EX_USAGE" "--backup is required (latest or a key)"
[[ -n "${S3_URL:-}" ]] || die "$EX_USAGE" "S3_URL is not set (example: s3://waqiti-backups-prod/)"
if [[ "$STORE" == redis ]]; then
  [[ -n "$DATA_DIR" && "$LABEL" =~ ^[a-z0-9-]+$ ]] || die "$EX_USAGE" "redis needs --data-dir DIR and --label L"
fi
KEY_FILE=${BACKUP_KEY_FILE:-/etc/waqiti/backup-encryption.key}
[[ -f "$KEY_FILE" ]] || die "$EX_NOINPUT" "encryption key file not found: $KEY_FILE"
require_cmd jq openssl s3cmd gunzip
export PGUSER=${PGUSER:-postgres} PGDATABASE=${PGDATABASE:-waqiti}
if [[ -n "${PG_PASSWORD_FILE:-}" ]]; then
  [[ -r "$PG_PASSWORD_FILE" ]] || die "$EX_NOINPUT" "password file not readable: $PG_PASSWORD_FILE"
  PGPASSWORD=$(<"$PG_PASSWORD_FILE")
  export PGPASSWORD
fi

if [[ "$STORE" == redis && -f "$DATA_DIR/.lazarus-restored-$LABEL" ]]; then
  emit_result ok 0 --arg store redis --arg label "$LABEL" --arg note "already restored ($DATA_DIR/.lazarus-restored-$LABEL): data left alone" --argjson restored false
  exit 0
fi

WORK=${WORK_DIR:-${TMPDIR:-/tmp}}
TMP=$(mktemp -d "$WORK/waqiti-restore.XXXXXX") || die "$EX_CANTCREAT" "cannot create a scratch directory in $WORK"
trap 'rc=$?; rm -rf -- "$TMP"; emit_result_on_exit "$rc"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

S3=(s3cmd --no-progress)
# s3cmd needs a config file; credentials then come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
if [[ -n "${S3CMD_CONFIG:-}" ]]; then S3+=(-c "$S3CMD_CONFIG"); else : >"$TMP/s3cfg"; S3+=(-c "$TMP/s3cfg"); fi
[[ -n "${S3_ENDPOINT:-}" ]] && S3+=("--host=$S3_ENDPOINT" "--host-bucket=${S3_HOST_BUCKET:-$S3_ENDPOINT}")
[[ "${S3_NO_SSL:-0}" == 1 ]] && S3+=(--no-ssl)
[[ -n "${S3_REGION:-}" ]] && S3+=("--region=$S3_REGION")
BUCKET_URL=${S3_URL%/}/

fetch() { # fetch KEY FILE
  local rc=0
  "${S3[@]}" get --force -- "$BUCKET_URL$1" "$2" >/dev/null 2>"$TMP/s3.err" || rc=$?
  ((rc == 0)) && return 0
  # s3cmd exits 12 (EX_NOTFOUND) for a missing object.
  if ((rc == 12)) || grep -q -e 404 -e NoSuchKey -e 'does not exist' "$TMP/s3.err"; then die "$EX_NOINPUT" "not in the bucket: $BUCKET_URL$1"; fi
  die "$EX_TEMPFAIL" "download of $BUCKET_URL$1 failed: $(tr '\n' ' ' <"$TMP/s3.err")"
}

# The manifest: the newest, or the one written with the named dump (same stamp).
if [[ "$BACKUP" == latest ]]; then
  MANIFEST_KEY=$("${S3[@]}" ls -- "${BUCKET_URL}manifests/" 2>"$TMP/s3.err" | awk '{print $4}' | sed "s|^${BUCKET_URL}||" | grep -E '^manifests/waqiti-[0-9]{8}T[0-9]{6}Z\.json$' | sort | tail -1) || true
  [[ -n "$MANIFEST_KEY" ]] || die "$EX_NOINPUT" "no backup manifest under ${BUCKET_URL}manifests/ (no complete backup yet)"
else
  [[ "$BACKUP" =~ ([0-9]{8}T[0-9]{6}Z) ]] || die "$EX_USAGE" "cannot tell the backup's time from its key: $BACKUP"
  MANIFEST_KEY="manifests/waqiti-${BASH_REMATCH[1]}.json"
fi
fetch "$MANIFEST_KEY" "$TMP/manifest.json"
ENTRY=$(jq -c --arg s "$([[ $STORE == postgres ]] && echo postgres || echo redis)" '.[$s]' "$TMP/manifest.json")
[[ "$ENTRY" != null ]] || die "$EX_NOINPUT" "$MANIFEST_KEY has no $STORE dump"
KEY=$(jq -r .key <<<"$ENTRY")
[[ "$BACKUP" == latest || "$BACKUP" == "$KEY" ]] || die "$EX_DATAERR" "$MANIFEST_KEY names $KEY, not $BACKUP"
ENC="$TMP/$(basename "$KEY")"
log "downloading $KEY"
fetch "$KEY" "$ENC"
[[ "$(sha256_of "$ENC")" == "$(jq -r .sha256 <<<"$ENTRY")" ]] || die "$EX_DATAERR" "$KEY does not match the sha256 its manifest recorded (damaged or replaced)"

# The seed's decrypt command, exactly (its default key derivation is the one waqiti-backup.sh encrypts with).
OUT="$TMP/decrypted"
if ! err=$(openssl enc -aes-256-cbc -d -in "$ENC" -out "$OUT" -pass "file:$KEY_FILE" 2>&1); then
  die_if_full "$TMP" 1 "the decrypted backup" "$err"
  die "$EX_DATAERR" "cannot decrypt $KEY with $KEY_FILE (wrong key?): $(tr '\n' ' ' <<<"$err")"
fi

if [[ "$STORE" == redis ]]; then
  require_cmd redis-check-rdb
  redis-check-rdb "$OUT" >"$TMP/check.out" 2>&1 || die "$EX_DATAERR" "$KEY decrypted to something redis-check-rdb refuses (wrong key?): $(tail -2 "$TMP/check.out" | tr '\n' ' ')"
  mkdir -p -- "$DATA_DIR"
  cp -- "$OUT" "$DATA_DIR/.dump.rdb.lazarus-tmp" 2>"$TMP/cp.err" || { die_if_full "$DATA_DIR" "$(stat -c %s "$OUT")" "the restored RDB" "$(cat "$TMP/cp.err")"; die "$EX_CANTCREAT" "cannot write $DATA_DIR: $(cat "$TMP/cp.err")"; }
  sync -f "$DATA_DIR/.dump.rdb.lazarus-tmp" 2>/dev/null || true
  [[ -f "$DATA_DIR/dump.rdb" ]] && mv -f -- "$DATA_DIR/dump.rdb" "$DATA_DIR/dump.rdb.before-$LABEL"
  mv -f -- "$DATA_DIR/.dump.rdb.lazarus-tmp" "$DATA_DIR/dump.rdb"
  jq -cn --arg key "$KEY" --arg at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '{backup: $key, restored_at: $at}' >"$DATA_DIR/.lazarus-restored-$LABEL"
  emit_result ok 0 --arg store redis --arg label "$LABEL" --arg backup "$KEY" --argjson restored true --argjson keys_at_backup "$(jq .keys <<<"$ENTRY")"
  exit 0
fi

require_cmd psql
waited=0
until psql -X -q -A -t -c 'select 1' >/dev/null 2>&1; do
  ((waited >= ${WAIT_SECONDS:-300})) && die "$EX_UNAVAILABLE" "PostgreSQL at ${PGHOST:-local}:${PGPORT:-5432} did not answer within ${WAIT_SECONDS:-300} s"
  sleep 2
  waited=$((waited + 2))
done
PROOF=$(psql -X -q -A -t -c "select coalesce(shobj_description(oid, 'pg_database'), '') from pg_database where datname = current_database()")
if [[ "$PROOF" == "$RESTORE_PROOF_TAG "* ]] && [[ "$(jq -r .backup <<<"${PROOF#"$RESTORE_PROOF_TAG "}")" == "$KEY" ]]; then
  emit_result ok 0 --arg store postgres --arg backup "$KEY" --argjson restored false --arg note "already restored: the database carries this backup's completion proof"
  exit 0
fi
TABLES=$(psql -X -q -A -t -c "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')")
((TABLES == 0)) || die "$EX_DATAERR" "database $PGDATABASE at ${PGHOST:-local} already holds $TABLES tables; a restore goes into a new, empty database (refusing to write over data)"

gunzip -c -- "$OUT" >"$TMP/restore.sql" 2>"$TMP/gunzip.err" || { die_if_full "$TMP" 1 "the decompressed dump" "$(cat "$TMP/gunzip.err")"; die "$EX_DATAERR" "$KEY is not a gzip file after decryption: $(cat "$TMP/gunzip.err")"; }
rm -f -- "$OUT"
log "loading $KEY into $PGDATABASE at ${PGHOST:-local}"
psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f "$TMP/restore.sql" >/dev/null 2>"$TMP/psql.err" || die "$EX_SOFTWARE" "psql failed loading $KEY (nothing kept: one transaction): $(tail -3 "$TMP/psql.err" | tr '\n' ' ')"

# The seed's verification: SELECT COUNT(*) of each table, against the counts taken in the dump's own snapshot.
EXPECTED=$(jq -c '.counts // {}' <<<"$ENTRY")
ACTUAL='{}'
for t in $(jq -r 'keys[]' <<<"$EXPECTED"); do
  n=$(psql -X -q -A -t -c "SELECT COUNT(*) FROM public.\"$t\";")
  ACTUAL=$(jq -c --arg t "$t" --argjson n "$n" '. + {($t): $n}' <<<"$ACTUAL")
done
[[ "$(jq -S . <<<"$EXPECTED")" == "$(jq -S . <<<"$ACTUAL")" ]] || die "$EX_DATAERR" "row counts differ from the backup's: expected $EXPECTED, restored $ACTUAL"
DB_IDENT=$(psql -X -q -A -t -c "select quote_ident(current_database())")
PROOF_JSON=$(jq -cn --arg backup "$KEY" --argjson counts "$ACTUAL" '{backup: $backup, counts: $counts}')
# psql interpolates :'proof' (quoted as a literal) only in what it reads, not in -c.
printf "COMMENT ON DATABASE %s IS :'proof';\n" "$DB_IDENT" | psql -X -q -v ON_ERROR_STOP=1 -v proof="$RESTORE_PROOF_TAG $PROOF_JSON" >/dev/null
emit_result ok 0 --arg store postgres --arg backup "$KEY" --argjson restored true --argjson counts "$ACTUAL"
