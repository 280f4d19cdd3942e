#!/usr/bin/env bash
# mongo-restore-beside.sh -- restores a mongodump archive of one database into a NEW database beside it, never over it
# (runbook 000, Pencom: "MongoDB restore (notifications)"). The archive's sha256 sidecar must verify; the new database
# must not exist yet (a second restore takes a new name); mongorestore renames the namespaces (--nsFrom/--nsTo) and
# stops at the first error; afterwards every restored collection is counted and the restore must report no failed
# document. The application is pointed at the new database by a separate step (its .env), never by this script.
# The password arrives on stdin (one line) and reaches mongorestore only through a 0600 --config file and mongosh
# only through its environment: never a command line.
#
# Usage: mongo-restore-beside.sh --host HOST --port PORT --username USER --auth-db DB --from-db DB --to-db DB ARCHIVE
#   ARCHIVE   `mongodump --archive=FILE --gzip` output, with FILE.sha256 (`sha256sum` format) beside it
# Environment: RESULT_FILE; WORK_DIR (where the 0600 config file is made; default TMPDIR or /tmp).
# Output: one JSON line: {"script","status","exit_code","from_db","to_db","archive","sha256","documents","collections"}
# Exit codes: 0 restored; 64 bad arguments (including --to-db equal to --from-db); 65 the archive is refused (empty,
#   checksum) or the new database already exists; 66 archive or sidecar missing; 69 mongorestore/mongosh missing or the
#   server unreachable; 70 mongorestore failed or reported failed documents.
# MongoDB does not run in Lazarus's tests: this script is shellchecked and its refusals before any connection are run;
# the restore itself is not (stacks/pencom/README.md).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=../backup/lib-pg.sh
source "$here/../backup/lib-pg.sh"

usage() { echo "usage: mongo-restore-beside.sh --host HOST --port PORT --username USER --auth-db DB --from-db DB --to-db DB ARCHIVE"; }

host="" port="" user="" auth_db="" from_db="" to_db="" archive=""
while (($#)); do
  case $1 in
    --host) host=${2-}; shift 2 || die "$EX_USAGE" "--host needs a value" ;;
    --port) port=${2-}; shift 2 || die "$EX_USAGE" "--port needs a value" ;;
    --username) user=${2-}; shift 2 || die "$EX_USAGE" "--username needs a value" ;;
    --auth-db) auth_db=${2-}; shift 2 || die "$EX_USAGE" "--auth-db needs a value" ;;
    --from-db) from_db=${2-}; shift 2 || die "$EX_USAGE" "--from-db needs a value" ;;
    --to-db) to_db=${2-}; shift 2 || die "$EX_USAGE" "--to-db needs a value" ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "$EX_USAGE" "unknown option: $1" ;;
    *) [[ -z "$archive" ]] || die "$EX_USAGE" "only one archive may be given"; archive=$1; shift ;;
  esac
done
name_re='^[A-Za-z0-9_-]{1,63}$'
[[ -n "$host" && "$port" =~ ^[0-9]{1,5}$ && -n "$user" ]] || die "$EX_USAGE" "--host, --port and --username are required"
[[ "$from_db" =~ $name_re && "$to_db" =~ $name_re && "$auth_db" =~ $name_re ]] || die "$EX_USAGE" "--from-db, --to-db and --auth-db must be MongoDB database names"
[[ "$from_db" != "$to_db" ]] || die "$EX_USAGE" "--to-db must differ from --from-db: the restore goes beside the live database, never over it"
[[ -n "$archive" ]] || { usage >&2; die "$EX_USAGE" "no archive given"; }
backup_check_file "$archive"
require_cmd mongorestore mongosh jq
IFS= read -r password || [[ -n "${password:-}" ]] || die "$EX_USAGE" "the password is read from stdin (one line); none arrived"

WORK_DIR=${WORK_DIR:-${TMPDIR:-/tmp}}
config=$(umask 077 && mktemp "$WORK_DIR/mongorestore.XXXXXX.yaml") || die "$EX_CANTCREAT" "cannot create the config file in $WORK_DIR"
trap 'rm -f -- "$config"; emit_result_on_exit $?' EXIT
escaped=${password//\\/\\\\}
printf 'password: "%s"\n' "${escaped//\"/\\\"}" >"$config"

# mongosh_eval JS: runs JS against the server with `target` bound to the new database; credentials from the environment.
mongosh_eval() {
  MONGO_USER=$user MONGO_PASSWORD=$password MONGO_ADDR="$host:$port" MONGO_AUTH_DB=$auth_db MONGO_DB=$to_db \
    mongosh --nodb --quiet --eval "
      const c = connect('mongodb://' + encodeURIComponent(process.env.MONGO_USER) + ':' + encodeURIComponent(process.env.MONGO_PASSWORD)
        + '@' + process.env.MONGO_ADDR + '/admin?authSource=' + process.env.MONGO_AUTH_DB);
      const target = c.getSiblingDB(process.env.MONGO_DB);
      $1"
}

existing=$(mongosh_eval 'print(target.getCollectionNames().length)' 2>/dev/null) ||
  die "$EX_UNAVAILABLE" "cannot reach MongoDB at $host:$port as $user (auth database $auth_db)"
[[ "$existing" == 0 ]] || die "$EX_DATAERR" "database $to_db already exists with $existing collections; restore under a new name (a new label)"

log "restoring $archive ($from_db) into $to_db beside the live database"
if ! out=$(mongorestore --config="$config" --host="$host" --port="$port" --username="$user" --authenticationDatabase="$auth_db" \
  --archive="$archive" --gzip --nsInclude="$from_db.*" --nsFrom="$from_db.*" --nsTo="$to_db.*" --stopOnError 2>&1); then
  die "$EX_SOFTWARE" "mongorestore failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
fi
summary=$(grep -Eo '[0-9]+ document\(s\) restored successfully\. [0-9]+ document\(s\) failed to restore' <<<"$out" | tail -n 1 || true)
restored=$(sed -E 's/^([0-9]+) .*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) document\(s\) failed.*/\1/' <<<"$summary")
[[ -n "$summary" && "$failed" == 0 ]] || die "$EX_SOFTWARE" "mongorestore reported failed documents or no summary: ${summary:-none}"
counts=$(mongosh_eval 'print(JSON.stringify(Object.fromEntries(target.getCollectionNames().map((n) => [n, target.getCollection(n).countDocuments()]))))') ||
  die "$EX_UNAVAILABLE" "the restore finished but $to_db cannot be counted"
total=$(jq '[.[]] | add // 0' <<<"$counts")
((total == restored)) || die "$EX_SOFTWARE" "$to_db holds $total documents, mongorestore reported $restored"
log "restored $restored documents into $to_db; $from_db untouched"
emit_result ok 0 --arg from_db "$from_db" --arg to_db "$to_db" --arg archive "$archive" --arg sha256 "$BACKUP_SHA256" \
  --argjson documents "$restored" --argjson collections "$counts"
