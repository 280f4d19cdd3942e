#!/usr/bin/env bash
# pitr-server-restore.sh -- the loss of the PostgreSQL server: on its replacement (PostgreSQL and pgBackRest
# installed, the cluster created and EMPTY), restore the WHOLE cluster from one pgBackRest repository (the off-site
# one: the server's own repository was lost with it) to the latest point or a named time, and start it in place.
#
# Usage: pitr-server-restore.sh --stanza NAME --repo N --data-dir DIR --service UNIT --port PORT --socket-dir DIR
#                               [--target-time TIME] [--config FILE] [--user USER] [--timeout SECONDS]
#
# Whole cluster, not a dump restored beside: there is nothing live to keep beside, and the cluster brings back every
# database (both of Pencom's), the roles and their passwords, and the WAL after the backup, in one step.
# Refused before anything is touched: the cluster in DIR holding a database other than postgres/template0/template1
# (this is for an empty replacement, never a live server: recovery.coreDatabase.pointInTime restores beside one), a
# cluster that does not answer (its content cannot be checked), a repository that cannot be read (a wrong passphrase
# or key is named) or holds no backup. Then: UNIT stopped, DIR moved aside to DIR.replaced-<UTC stamp> (kept),
# `pgbackrest --repo=N restore` into DIR (to TIME, or the end of the archived WAL; then promote), UNIT started, and
# this waits until the cluster has left recovery. Run as root (systemctl; pgBackRest runs as USER).
#
# Arguments:
#   --stanza NAME      the stanza in the repository
#   --repo N           the repository to restore from (pgBackRest's repo number in the config: 2 for the off-site copy)
#   --data-dir DIR     the cluster's data directory (Debian: /var/lib/postgresql/<version>/<cluster>)
#   --service UNIT     its systemd unit (Debian: postgresql@<version>-<cluster>)
#   --port PORT, --socket-dir DIR   where the cluster answers (checks before, and the wait after)
#   --target-time TIME an ISO 8601 UTC time (2026-11-23T02:00:00Z); default: the latest point
#   --config FILE      pgbackrest.conf (default /etc/pgbackrest/pgbackrest.conf); --config-include-path is
#                      PGBACKREST_CONFIG_INCLUDE_PATH when set
#   --user USER        the server's OS user (default postgres)
#   --timeout SECONDS  for the recovery (default 1800)
# Output: one JSON line {status, stanza, repo, target, backup_set, replaced_dir, databases, restore_seconds}.
# Exit codes: 0 restored; 64 usage or not root; 69 a tool missing, the cluster does not answer, or the repository
#   cannot be read; 66 no backup in the repository; 73 the cluster holds databases (not an empty replacement);
#   70 the restore or the start failed; 75 still in recovery at the timeout.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pitr.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-pitr.sh"

usage() { echo "usage: pitr-server-restore.sh --stanza NAME --repo N --data-dir DIR --service UNIT --port PORT --socket-dir DIR [--target-time TIME] [--config FILE] [--user USER] [--timeout SECONDS]"; }

stanza="" repo="" data="" unit="" port="" socket="" target="" config=/etc/pgbackrest/pgbackrest.conf user=postgres timeout=1800
while (($#)); do
  case $1 in
    --stanza) stanza=${2:-}; shift 2 ;;
    --repo) repo=${2:-}; shift 2 ;;
    --data-dir) data=${2:-}; shift 2 ;;
    --service) unit=${2:-}; shift 2 ;;
    --port) port=${2:-}; shift 2 ;;
    --socket-dir) socket=${2:-}; shift 2 ;;
    --target-time) target=${2:-}; shift 2 ;;
    --config) config=${2:-}; shift 2 ;;
    --user) user=${2:-}; shift 2 ;;
    --timeout) timeout=${2:-}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ $stanza =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || die "$EX_USAGE" "--stanza must be letters, digits, '_' or '-', got '$stanza'"
[[ $repo =~ ^[1-4]$ ]] || die "$EX_USAGE" "--repo must be a repository number 1-4, got '$repo'"
[[ $data == /* && $data != / ]] || die "$EX_USAGE" "--data-dir must be an absolute path, got '$data'"
data=${data%/}
[[ $unit =~ ^[A-Za-z0-9@._-]+$ ]] || die "$EX_USAGE" "--service must be a systemd unit name, got '$unit'"
[[ $port =~ ^[0-9]+$ ]] || die "$EX_USAGE" "--port must be a number, got '$port'"
[[ $socket == /* ]] || die "$EX_USAGE" "--socket-dir must be an absolute path, got '$socket'"
[[ -z $target || $target =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$ ]] || die "$EX_USAGE" "--target-time must be an ISO 8601 UTC time such as 2026-11-23T02:00:00Z, got '$target'"
[[ $timeout =~ ^[0-9]+$ ]] || die "$EX_USAGE" "--timeout must be a number of seconds, got '$timeout'"
((EUID == 0)) || die "$EX_USAGE" "run as root (it stops and starts $unit; pgBackRest runs as $user)"
require_cmd pgbackrest psql jq runuser systemctl
[[ -r $config ]] || die "$EX_NOINPUT" "pgBackRest config not readable: $config"

as_user() { runuser -u "$user" -- "$@"; }
pb() { as_user pgbackrest --config="$config" ${PGBACKREST_CONFIG_INCLUDE_PATH:+"--config-include-path=$PGBACKREST_CONFIG_INCLUDE_PATH"} --stanza="$stanza" --repo="$repo" --log-level-console=warn --log-level-stderr=off "$@"; }
sql() { as_user psql -X -A -t -q -h "$socket" -p "$port" -d postgres -c "$1"; }

# 1. The cluster there must be the replacement's empty one.
if ! dbs=$(sql "select string_agg(datname, ',' order by datname) from pg_database where datname not in ('postgres', 'template0', 'template1')" 2>&1); then
  die "$EX_UNAVAILABLE" "the cluster of $unit does not answer on $socket port $port, so its content cannot be checked: start it (systemctl start $unit) or recreate it empty (pg_createcluster), then run this again ($dbs)"
fi
[[ -z $dbs ]] || die "$EX_CANTCREAT" "the cluster in $data holds databases ($dbs): this restore replaces a LOST server's cluster on an empty replacement and never overwrites one in use; to undo a mistake on a live server use recovery.coreDatabase.pointInTime (beside the live database)"

# 2. The repository must be readable and hold a backup (lib-pitr.sh's table: unreadable is 69, anything else without a
# backup 66). A wrong passphrase does not fail `info`: it reports the repository's status as an error whose text may
# hold bytes JSON does not allow, so the text is classified as it is.
pitr_info pb
# What the repository said: its own messages (the stanza's is a summary, "other"), else the whole output.
said=$PITR_INFO
if [[ $PITR_CODE != "?" ]]; then
  said=$(jq -r '(.[0].repo // []) | map(.status.message) | join("; ")' <<<"$PITR_INFO")
  [[ -n $said ]] || said=$PITR_MESSAGE
fi
if [[ $PITR_STATE == unreadable ]]; then
  # A wrong passphrase fails the decryption (CryptoError) or decrypts to text that is no ini file (FormatError).
  if grep -qiE 'cipher|crypto|decrypt|FormatError' <<<"$said"; then
    die "$EX_UNAVAILABLE" "repo$repo cannot be decrypted: the passphrase (repo$repo-cipher-pass) does not match the repository's (or its info files are damaged); nothing was changed ($(pitr_unreadable_detail))"
  fi
  die "$EX_UNAVAILABLE" "repo$repo cannot be read (its bucket, keys or endpoint): nothing was changed ($(pitr_unreadable_detail))"
fi
[[ $PITR_STATE == backup ]] || die "$EX_NOINPUT" "repo$repo has no usable backup of stanza '$stanza' ($said): nothing was changed"
info=$PITR_INFO
set_label=$(jq -r '.[0].backup[-1].label' <<<"$info")
log "repo$repo: newest backup set $set_label"

# 3. Stop, move the empty cluster aside, restore, start.
started=$(date +%s)
log "systemctl stop $unit"
systemctl stop "$unit"
replaced="$data.replaced-$(date -u +%Y%m%dT%H%M%SZ)"
mv -- "$data" "$replaced"
install -d -o "$user" -g "$(id -gn "$user")" -m 0700 "$data"
log "pgbackrest --repo=$repo restore${target:+ --type=time --target=$target} into $data (the empty cluster is kept in $replaced)"
# latest: recovery to the end of the archived WAL, then promotion (pgBackRest's default type)
restore_args=()
[[ -z $target ]] || restore_args=(--type=time "--target=$(date -u -d "$target" '+%Y-%m-%d %H:%M:%S.%6N+00')" --target-action=promote)
out=$(pb restore ${restore_args[@]+"${restore_args[@]}"} 2>&1) || die "$EX_SOFTWARE" "pgbackrest restore from repo$repo failed: $(pb_error "$out") (the replacement's empty cluster is in $replaced)"
log "systemctl start $unit"
systemctl start "$unit" || die "$EX_SOFTWARE" "$unit did not start on the restored data directory: see journalctl -u $unit"

deadline=$((SECONDS + timeout))
while :; do
  state=$(sql "select pg_is_in_recovery()" 2>/dev/null || true)
  [[ $state == f ]] && break
  ((SECONDS < deadline)) || die "$EX_TEMPFAIL" "$unit is still recovering from repo$repo after ${timeout}s (state '${state:-no answer}'): it goes on; see its log"
  sleep 1
done
databases=$(sql "select coalesce(json_agg(datname order by datname), '[]') from pg_database where not datistemplate and datname <> 'postgres'")
log "restored from repo$repo and promoted: $databases"
emit_result ok 0 --arg stanza "$stanza" --arg repo "$repo" --arg target "${target:-latest}" --arg backup_set "$set_label" \
  --arg replaced_dir "$replaced" --argjson databases "$databases" --argjson restore_seconds "$(($(date +%s) - started))"
