#!/usr/bin/env bash
# pitr-route.sh -- which route a full recovery of a self-managed PostgreSQL takes: "physical" when the pgBackRest
# repository has a backup of the stanza (restore it plus the archived WAL to the latest point: an RPO of seconds), else
# "logical" (the newest pg_dump backup: an RPO of up to a day). Writes the route to --out for the recovery's next
# steps to read, and says why in its result line.
#
# Usage: pitr-route.sh --stanza NAME --out FILE [--config FILE] [--route auto|physical|logical]
#   --stanza NAME   the stanza in the repository
#   --out FILE      where the route ("physical" or "logical", one line) is written (its directory must exist)
#   --config FILE   pgbackrest.conf (default: PGBACKREST_CONFIG, else pgBackRest's default)
#   --route R       auto (default) decides from the repository; physical refuses (65) a repository with no backup
#                   instead of falling back; logical skips the repository
# Run as the database server's OS user (pgBackRest's files and the secrets include file are its own).
# Output: one JSON line {route, reason, backups, newest_label, newest_stop}.
# The repository is read as lib-pitr.sh's table of pgBackRest's status codes says: no stanza, no valid backup or a
# stanza never fully created is "no backup" (logical); an unreadable repository (a wrong key or secret, the endpoint or
# TLS refused, pgBackRest's status "other", or `pgbackrest info` itself failing on its configuration) is an error, not
# "no backup": falling back to the day-old dump while the repository holds backups would lose a day of writes
# unnoticed. `--route logical` is the deliberate way past it.
# Exit codes: 0 a route was chosen (written to FILE); 64 usage; 65 --route physical and the repository has no backup;
#   69 the repository could not be read (nothing written to FILE); 73 FILE cannot be written.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=SCRIPTDIR/lib-pitr.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-pitr.sh"

usage() { echo "usage: pitr-route.sh --stanza NAME --out FILE [--config FILE] [--route auto|physical|logical]"; }

stanza="" out="" config=${PGBACKREST_CONFIG:-} want=auto
while (($#)); do
  case $1 in
    --stanza) stanza=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --config) config=${2:-}; shift 2 ;;
    --route) want=${2:-}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ $stanza =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || { usage >&2; die "$EX_USAGE" "--stanza must be letters, digits, '_' or '-', got '$stanza'"; }
[[ -n $out ]] || { usage >&2; die "$EX_USAGE" "--out is required"; }
[[ $want == auto || $want == physical || $want == logical ]] || die "$EX_USAGE" "--route must be auto, physical or logical, got '$want'"
require_cmd jq

route=logical reason="" backups=0 newest_label="" newest_stop=""
if [[ $want == logical ]]; then
  reason="logical route asked for (--route logical)"
elif ! command -v pgbackrest >/dev/null 2>&1; then
  reason="pgbackrest is not installed here"
else
  pitr_info pgbackrest ${config:+"--config=$config"} --stanza="$stanza" --log-level-console=off --log-level-stderr=off --log-level-file=off
  # lib-pitr.sh's table: "unreadable" (a refused request among them: pgbackrest info exits 0 then too; or info failing)
  # is not "no backup"; "none" (no stanza, no valid backup, a stanza never fully created) is.
  if [[ $PITR_STATE == unreadable ]]; then
    die "$EX_UNAVAILABLE" "the pgBackRest repository of stanza $stanza could not be read ($(pitr_unreadable_detail)); check its key, secret, endpoint and certificate in ${config:-the default pgbackrest.conf}, or pass --route logical to restore the newest pg_dump backup instead and accept its RPO"
  fi
  backups=$PITR_BACKUPS
  if [[ $PITR_STATE == backup ]]; then
    route=physical
    newest_label=$(jq -r '.[0].backup[-1].label' <<<"$PITR_INFO")
    newest_stop=$(date -u -d "@$(jq -r '.[0].backup[-1].timestamp.stop' <<<"$PITR_INFO")" +%Y-%m-%dT%H:%M:%SZ)
    reason="the repository has $backups backup(s) of stanza $stanza, the newest $newest_label (ended $newest_stop), and its archived WAL"
  else
    reason="the repository has no backup of stanza $stanza (${PITR_MESSAGE:-no status})"
  fi
fi
if [[ $want == physical && $route != physical ]]; then
  die "$EX_DATAERR" "--route physical, but $reason"
fi
log "route: $route ($reason)"
{ printf '%s\n' "$route" >"$out.tmp" && mv -f -- "$out.tmp" "$out"; } 2>/dev/null || die "$EX_CANTCREAT" "cannot write the route to $out"
emit_result ok 0 --arg route "$route" --arg reason "$reason" --argjson backups "$backups" \
  --arg newest_label "$newest_label" --arg newest_stop "$newest_stop" --arg out "$out"
