#!/usr/bin/env bash
# pitr-backup.sh -- a pgBackRest backup of a self-managed PostgreSQL cluster whose WAL is archived to the same
# repository (point-in-time recovery for GoodGo's postgres container, Waqiti's StatefulSet).
#
# Usage: pitr-backup.sh --stanza NAME [--type full|diff|incr] [--repo N] [--config FILE] [--no-check] [--if-no-backup]
#
# Steps: create the stanza in the repository if it has none yet (stanza-create), `pgbackrest check` (proves
# archive_command ships WAL to the repository: it forces a WAL switch and waits for the segment), then
# `pgbackrest backup --type=...` (an incr/diff with no full backup before it becomes a full one; the result
# says which type was made), then reads the new backup set from `pgbackrest info`.
# Run it as the database server's OS user (postgres): pgBackRest reads the data directory and must own what it
# writes. The configuration comes from renderers/pgbackrest.ts.
#
# Arguments:
#   --stanza NAME     the stanza (a section in pgbackrest.conf with pg1-path)
#   --type TYPE       full, diff or incr (default incr)
#   --repo N          the repository the backup goes to, when the config has more than one (repo2: an off-site copy);
#                     default pgBackRest's own (repo1)
#   --config FILE     pgbackrest.conf (default: PGBACKREST_CONFIG, else pgBackRest's default /etc/pgbackrest/...)
#   --no-check        skip `pgbackrest check` (e.g. when archiving is known to be lagging and a backup is wanted now)
#   --if-no-backup    a setup's first backup: after the check, back up only when the repository holds no backup of the
#                     cluster's current timeline (the timeline of the newest WAL the check archived there); otherwise
#                     report {skipped: true} and exit 0. A setup run again (a changed file, a recovery switch marked
#                     done or removed) then adds no full backup, while a new cluster, or one restored from a backup onto
#                     a new timeline, gets its own. Not with --no-check.
# Environment (read by pgBackRest itself, never put in argv or files):
#   PGBACKREST_REPO1_CIPHER_PASS (repository encryption passphrase), PGBACKREST_REPO1_S3_KEY,
#   PGBACKREST_REPO1_S3_KEY_SECRET (S3-compatible storage keys); RESULT_FILE (also write the JSON result there).
# Output: one JSON line: {status, stanza, label, type, requested_type, started_at, stopped_at, wal_start, wal_stop,
#   database_bytes, repo_bytes, repo_delta_bytes, ...}; skipped by --if-no-backup: {status ok, skipped: true, stanza,
#   repo, label (the newest backup of the timeline), timeline}.
# Exit codes: 0 ok; 64 usage or run as root; 66 the stanza is not configured; 69 pgbackrest missing, the repository
#   cannot be read or holds a stanza never fully created (lib-pitr.sh's table; with several repositories, any one of
#   them), or check failed (PostgreSQL unreachable, WAL not archived); 70 the backup itself failed.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pitr.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-pitr.sh"

usage() { echo "usage: pitr-backup.sh --stanza NAME [--type full|diff|incr] [--repo N] [--config FILE] [--no-check] [--if-no-backup]"; }

stanza="" type=incr config=${PGBACKREST_CONFIG:-} do_check=1 repo="" if_none=0
while (($#)); do
  case $1 in
    --stanza) stanza=${2:-}; shift 2 ;;
    --type) type=${2:-}; shift 2 ;;
    --config) config=${2:-}; shift 2 ;;
    --repo) repo=${2:-}; shift 2 ;;
    --no-check) do_check=0; shift ;;
    --if-no-backup) if_none=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ -n $stanza ]] || { usage >&2; die "$EX_USAGE" "--stanza is required"; }
[[ $stanza =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || die "$EX_USAGE" "--stanza must be letters, digits, '_' or '-', got '$stanza'"
[[ $type == full || $type == diff || $type == incr ]] || die "$EX_USAGE" "--type must be full, diff or incr, got '$type'"
[[ -z $repo || $repo =~ ^[1-4]$ ]] || die "$EX_USAGE" "--repo must be a repository number 1-4, got '$repo'"
((if_none == 0 || do_check == 1)) || die "$EX_USAGE" "--if-no-backup needs the check (it reads the current timeline from the WAL the check archives): drop --no-check"
((EUID != 0)) || die "$EX_USAGE" "run as the database server's OS user, not root (e.g. runuser -u postgres -- $0 ...)"
require_cmd pgbackrest jq
if [[ -n $config ]]; then
  [[ -r $config ]] || die "$EX_NOINPUT" "pgBackRest config not readable: $config"
fi

pb() { pgbackrest ${config:+"--config=$config"} --stanza="$stanza" --log-level-console=warn --log-level-stderr=off "$@"; }
started=$(date +%s)

# The repository, read by lib-pitr.sh's table: no stanza (1) gets one (stanza-create); a stanza with or without a backup
# (0, 2) is backed up to. A stanza never fully created (3: backup.info missing) is not usable: stanza-create refuses to
# finish it. Unreadable is refused.
pitr_info pb ${repo:+"--repo=$repo"}
code=$PITR_CODE
# With more than one repository the stanza's status is "different across repos" (4) while one of them has no
# stanza yet (a new off-site repository): each repository's own status decides.
if [[ $PITR_INFO_RC == 0 ]] && jq -e '.[0].repo | length > 1' >/dev/null 2>&1 <<<"$PITR_INFO"; then
  repos=$(pitr_repo_states) # "KEY CODE STATE" lines
  if grep -qE ' unreadable$|^[0-9]+ 3 ' <<<"$repos"; then
    die "$EX_UNAVAILABLE" "repository for stanza '$stanza' is not usable: $(pitr_unreadable_detail)"
  fi
  code=0
  if grep -qE '^[0-9]+ 1 ' <<<"$repos"; then code=1; fi
fi
if [[ $code == 1 ]]; then
  log "stanza '$stanza' has no data in the repository yet: stanza-create"
  # A server already archiving (a cluster restored beside a new, empty repository) keeps retrying archive-push into
  # it, and each try holds the stanza's archive lock for a moment, which stanza-create needs too: wait for it.
  tries=0
  while ! out=$(pb stanza-create 2>&1); do
    if grep -q 'requires option: pg1-path' <<<"$out"; then
      die "$EX_NOINPUT" "stanza '$stanza' is not configured${config:+ in $config} (no pg1-path for it): check the stanza name"
    fi
    if grep -q 'unable to acquire lock' <<<"$out" && ((++tries < 60)); then
      sleep 1
      continue
    fi
    die "$EX_UNAVAILABLE" "stanza-create failed: $(pb_error "$out")"
  done
  ((tries == 0)) || log "stanza-create waited $tries s for the archive lock (archive-push retrying into the new repository)"
elif [[ $code != 0 && $code != 2 ]]; then
  die "$EX_UNAVAILABLE" "repository for stanza '$stanza' is not usable: $(pitr_unreadable_detail)"
fi

if ((do_check)); then
  log "pgbackrest check (WAL archiving to the repository)"
  if ! out=$(pb check 2>&1); then
    if grep -q 'requires option: pg1-path' <<<"$out"; then
      die "$EX_NOINPUT" "stanza '$stanza' is not configured${config:+ in $config} (no pg1-path for it): check the stanza name"
    fi
    die "$EX_UNAVAILABLE" "pgbackrest check failed, WAL archiving is not working: $(pb_error "$out")"
  fi
fi

if ((if_none)); then
  pitr_info pb ${repo:+"--repo=$repo"}
  [[ $PITR_INFO_RC == 0 ]] || die "$EX_UNAVAILABLE" "pgbackrest info failed: $(pb_error "$PITR_INFO")"
  info=$PITR_INFO
  # Without --repo pgBackRest backs up to repo1; each entry names its repository (repo-key).
  key=${repo:-1}
  timeline=$(jq -r --argjson k "$key" '([.[0].archive[]? | select(.database["repo-key"] == $k) | .max // empty] | max // "") | .[0:8]' <<<"$info")
  newest=$(jq -r --argjson k "$key" --arg tl "$timeline" '[.[0].backup[]? | select(.database["repo-key"] == $k and .archive.start[0:8] == $tl) | .label] | last // ""' <<<"$info")
  if [[ -n $timeline && -n $newest ]]; then
    log "repo$key already holds backup $newest of timeline $timeline: no $type backup taken (--if-no-backup)"
    emit_result ok 0 --arg stanza "$stanza" --arg repo "$key" --argjson skipped true --arg label "$newest" --arg timeline "$timeline" --arg requested_type "$type"
    exit 0
  fi
fi

log "pgbackrest backup --type=$type${repo:+ --repo=$repo}"
out=$(pb backup --type="$type" ${repo:+"--repo=$repo"} 2>&1) || die "$EX_SOFTWARE" "backup failed: $(pb_error "$out")"
if grep -q 'WARN' <<<"$out"; then log "pgbackrest: $(grep WARN <<<"$out" | tr '\n' ' ')"; fi

pitr_info pb ${repo:+"--repo=$repo"}
[[ $PITR_INFO_RC == 0 ]] || die "$EX_UNAVAILABLE" "pgbackrest info failed after the backup: $(pb_error "$PITR_INFO")"
info=$PITR_INFO
last=$(jq -c '.[0].backup[-1] // empty' <<<"$info")
[[ -n $last ]] || die "$EX_SOFTWARE" "the backup reported success but pgbackrest info lists no backup set"
label=$(jq -r .label <<<"$last")
log "backup set $label done"
emit_result ok 0 \
  --arg stanza "$stanza" --arg repo "${repo:-1}" --arg label "$label" --arg type "$(jq -r .type <<<"$last")" --arg requested_type "$type" \
  --arg prior "$(jq -r '.prior // ""' <<<"$last")" \
  --arg started_at "$(date -u -d "@$(jq -r .timestamp.start <<<"$last")" +%Y-%m-%dT%H:%M:%SZ)" \
  --arg stopped_at "$(date -u -d "@$(jq -r .timestamp.stop <<<"$last")" +%Y-%m-%dT%H:%M:%SZ)" \
  --arg wal_start "$(jq -r .archive.start <<<"$last")" --arg wal_stop "$(jq -r .archive.stop <<<"$last")" \
  --argjson database_bytes "$(jq .info.size <<<"$last")" \
  --argjson repo_bytes "$(jq .info.repository.size <<<"$last")" \
  --argjson repo_delta_bytes "$(jq .info.repository.delta <<<"$last")" \
  --argjson backups "$(jq '.[0].backup | length' <<<"$info")" \
  --argjson duration_seconds "$(($(date +%s) - started))"
