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
# An unreadable repository (a wrong key or secret, the endpoint or TLS refused, pgBackRest's status "other") is an
# error, not "no backup": falling back to the day-old dump while the repository holds backups would lose a day of
# writes unnoticed. `--route logical` is the deliberate way past it.
# Exit codes: 0 a route was chosen (written to FILE); 64 usage; 65 --route physical and the repository has no backup;
#   69 the repository could not be read (nothing written to FILE); 73 FILE cannot be written.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

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
elif ! info=$(pgbackrest ${config:+"--config=$config"} --stanza="$stanza" --log-level-console=off --log-level-stderr=off --log-level-file=off info --output=json 2>&1); then
  reason="the repository could not be read: $(tr '\n' ' ' <<<"$info" | cut -c1-300)"
else
  code=$(jq -r '.[0].status.code // "?"' <<<"$info" 2>/dev/null || echo "?")
  backups=$(jq -r '.[0].backup // [] | length' <<<"$info" 2>/dev/null || echo 0)
  # pgBackRest's stanza status: 0 ok, 1 missing stanza path, 2 no valid backups, 3 missing stanza data (a stanza never
  # fully created), 6 a backup/expire running: readable (as pitr-archive-check.sh reads them); anything else (4 repos
  # differ, 5 database mismatch, 99 other: a refused request) is not "no backup". pgbackrest info exits 0 even when
  # every request was refused: only this code tells.
  if [[ $code != 0 && $code != 1 && $code != 2 && $code != 3 && $code != 6 ]]; then
    # The stanza's message is only "other"; each repository's own status carries what it answered.
    # An S3 refusal is a long dump of the request: keep its HTTP status and S3 error code.
    message=$(jq -r '[.[0].status.message // "no status"] + [.[0].repo[]? | select(.status.code != 0) | .status.message as $m
        | "repo\(.key): " + ([$m | scan("HTTP request failed with [0-9]+ \\([^)]*\\)|<Code>[^<]+</Code>")] | join(" ") | if . == "" then $m[0:200] else . end)]
        | join("; ")' <<<"$info" 2>/dev/null | tr '\n' ' ' | cut -c1-400)
    die "$EX_UNAVAILABLE" "the pgBackRest repository of stanza $stanza could not be read (status $code: $message); check its key, secret, endpoint and certificate in ${config:-the default pgbackrest.conf}, or pass --route logical to restore the newest pg_dump backup instead and accept its RPO"
  fi
  if [[ $code == 0 || $code == 6 ]] && ((backups > 0)); then
    route=physical
    newest_label=$(jq -r '.[0].backup[-1].label' <<<"$info")
    newest_stop=$(date -u -d "@$(jq -r '.[0].backup[-1].timestamp.stop' <<<"$info")" +%Y-%m-%dT%H:%M:%SZ)
    reason="the repository has $backups backup(s) of stanza $stanza, the newest $newest_label (ended $newest_stop), and its archived WAL"
  else
    reason="the repository has no backup of stanza $stanza ($(jq -r '.[0].status.message // "no status"' <<<"$info" 2>/dev/null))"
  fi
fi
if [[ $want == physical && $route != physical ]]; then
  die "$EX_DATAERR" "--route physical, but $reason"
fi
log "route: $route ($reason)"
{ printf '%s\n' "$route" >"$out.tmp" && mv -f -- "$out.tmp" "$out"; } 2>/dev/null || die "$EX_CANTCREAT" "cannot write the route to $out"
emit_result ok 0 --arg route "$route" --arg reason "$reason" --argjson backups "$backups" \
  --arg newest_label "$newest_label" --arg newest_stop "$newest_stop" --arg out "$out"
