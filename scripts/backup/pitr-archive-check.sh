#!/usr/bin/env bash
# pitr-archive-check.sh -- can the live PostgreSQL server archive its WAL to this pgBackRest stanza? pgBackRest's
# archive-push refuses WAL of another database system than the stanza's (ArchiveMismatchError: the system identifier
# differs). A server that came back EMPTY (a new initdb on a replaced data volume: a new system identifier) then fails
# archive_command for good: WAL piles up in pg_wal until the disk is full, and the repository gets no more WAL (the RPO
# grows unnoticed). A restore of the database onto such a server brings the data back but not the archiving, so this
# runs BEFORE it (GoodGo's recovery.database chain, its first step), cheaply: the server's system identifier
# (pg_control_system()) against the stanza's current database in the repository (pgbackrest info), no WAL switched.
#
# Usage: pitr-archive-check.sh --stanza NAME [--config FILE] [--hint TEXT]
#   --stanza NAME   the stanza the server's archive_command pushes to
#   --config FILE   pgbackrest.conf (default: PGBACKREST_CONFIG, else pgBackRest's default)
#   --hint TEXT     what to do instead, appended to the refusal (the platform's switch for a replaced server)
# The live server is reached through libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSFILE, PGDATABASE). pgBackRest
# runs as PITR_RUN_AS (default postgres) when this runs as root (its log, lock and secrets include files are that
# user's), else as the current user.
# Output: one JSON line {stanza, live_system_id, live_version, stanza_system_id, stanza_version, reason}.
# The repository is read as lib-pitr.sh's table of pgBackRest's status codes says. A repository without the stanza
# (or with a stanza never fully created: backup.info missing) passes: there is no database system to mismatch; the
# stanza-create of the next backup adopts the server, and a restore from it fails in its own step (no backup).
# A stanza with no backup yet but created (stanza-create ran) has its database system: that is compared.
# Exit codes: 0 the server is the stanza's database system, or the repository has no such stanza; 64 usage;
#   65 the server is another database system than the stanza's (refused: its WAL cannot be archived there);
#   69 the server or the repository could not be read (psql or pgbackrest failed, a refused request).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pitr.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-pitr.sh"

usage() { echo "usage: pitr-archive-check.sh --stanza NAME [--config FILE] [--hint TEXT]"; }

stanza="" config=${PGBACKREST_CONFIG:-} hint=""
while (($#)); do
  case $1 in
    --stanza) stanza=${2:-}; shift 2 ;;
    --config) config=${2:-}; shift 2 ;;
    --hint) hint=${2:-}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ $stanza =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || { usage >&2; die "$EX_USAGE" "--stanza must be letters, digits, '_' or '-', got '$stanza'"; }
require_cmd jq psql pgbackrest

as=()
if ((EUID == 0)); then
  as=(runuser -u "${PITR_RUN_AS:-postgres}" --)
  command -v runuser >/dev/null 2>&1 || as=(gosu "${PITR_RUN_AS:-postgres}")
fi

# 1. The live server's database system.
if ! live=$(psql -X -At -v ON_ERROR_STOP=1 -c "SELECT system_identifier || ' ' || current_setting('server_version_num')::int / 10000 FROM pg_control_system()" 2>&1); then
  die "$EX_UNAVAILABLE" "cannot ask the live PostgreSQL server for its system identifier (${PGHOST:-local socket}:${PGPORT:-5432}): $(tr '\n' ' ' <<<"$live" | cut -c1-300)"
fi
read -r live_id live_version <<<"$live"
[[ $live_id =~ ^[0-9]+$ ]] || die "$EX_UNAVAILABLE" "the live server answered '$live' for its system identifier"

# 2. The stanza's database system in the repository (every repository's current one), read by lib-pitr.sh's table:
# unreadable (a refused request: pgbackrest info exits 0 then too, or info failing) is refused; no stanza (1) or a
# stanza never fully created (3) has no database system to mismatch; a stanza with or without a backup (0, 2) has its
# database system: compared.
pitr_info "${as[@]}" pgbackrest ${config:+"--config=$config"} --stanza="$stanza" --log-level-console=off --log-level-stderr=off --log-level-file=off
if [[ $PITR_STATE == unreadable ]]; then
  die "$EX_UNAVAILABLE" "the pgBackRest repository of stanza $stanza could not be read ($(pitr_unreadable_detail)); check its key, secret and endpoint in ${config:-the default pgbackrest.conf}"
fi
info=$PITR_INFO # system ids quoted by pitr_info (jq 1.6 would round them)
case $PITR_CODE in
  1 | 3)
    reason="the repository has no stanza $stanza yet ($PITR_MESSAGE): nothing to mismatch"
    log "ok: $reason"
    emit_result ok 0 --arg stanza "$stanza" --arg live_system_id "$live_id" --arg live_version "$live_version" --arg stanza_system_id "" --arg stanza_version "" --arg reason "$reason"
    exit 0
    ;;
esac
# The current database of each repository: the highest id (older ones stay after a stanza-upgrade).
current=$(jq -r '[.[0].db // [] | group_by(.["repo-key"])[] | max_by(.id) | "\(.["system-id"]) \(.version)"] | unique | .[]' <<<"$info")
[[ -n $current ]] || {
  reason="stanza $stanza lists no database system: nothing to mismatch"
  log "ok: $reason"
  emit_result ok 0 --arg stanza "$stanza" --arg live_system_id "$live_id" --arg live_version "$live_version" --arg stanza_system_id "" --arg stanza_version "" --arg reason "$reason"
  exit 0
}
mismatch="" stanza_id="" stanza_version=""
while read -r id version; do
  stanza_id=${stanza_id:-$id} stanza_version=${stanza_version:-$version}
  [[ $id == "$live_id" ]] || { mismatch=$id; stanza_id=$id; stanza_version=$version; }
done <<<"$current"

if [[ -n $mismatch ]]; then
  die "$EX_DATAERR" "the live server is another database system (PostgreSQL $live_version, system id $live_id) than stanza $stanza's (PostgreSQL $stanza_version, system id $stanza_id): a replaced, empty server (a new initdb). pgBackRest refuses its WAL for stanza $stanza (ArchiveMismatchError), so archive_command fails and WAL is piling up in pg_wal; a database restore would not fix that.${hint:+ $hint}"
fi
reason="the live server is stanza $stanza's database system (PostgreSQL $live_version, system id $live_id): it archives there"
log "ok: $reason"
emit_result ok 0 --arg stanza "$stanza" --arg live_system_id "$live_id" --arg live_version "$live_version" \
  --arg stanza_system_id "$stanza_id" --arg stanza_version "$stanza_version" --arg reason "$reason"
