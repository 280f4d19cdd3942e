#!/usr/bin/env bash
# How the pitr-*.sh scripts read a pgBackRest repository: `pgbackrest info --output=json` run, classified and, when it
# cannot be read, reported in one way for pitr-route.sh, pitr-archive-check.sh, pitr-backup.sh, pitr-restore.sh and
# pitr-server-restore.sh. Sourced after ../lib/common.sh, never executed. Depends on bash, coreutils, grep, sed and jq.
#
# pgBackRest 2.45's status codes (the stanza's in .[0].status.code; each repository's own in .[0].repo[].status, which
# is never 4 or 5) and what Lazarus reads each as (PITR_STATE; every script reads them so):
#   code  pgBackRest's message            PITR_STATE  reading
#   0     ok                              backup      readable, with a backup (a backup or expire running is still 0:
#                                                     status.lock.backup.held says so)
#   1     missing stanza path             none        readable, no backup: no stanza (stanza-create makes it)
#   2     no valid backups                none        readable, no backup: the stanza exists, its database system known
#   3     missing stanza data             none        readable, no backup: a stanza never fully created (backup.info
#                                                     missing: stanza-create stopped after archive.info; it refuses
#                                                     to finish one, so pitr-backup.sh stops there). Commit 125d6aa:
#                                                     not an unreadable repository
#   4     different across repos          unreadable  as a whole; with several repositories each one's own status is
#                                                     read by this table (pitr_repo_states: pitr-backup.sh's rule)
#   5     database mismatch across repos  unreadable
#   6     requested backup not found      unreadable  only reported for `info --set`, which no script passes
#   99    other                           unreadable  a request refused (a wrong key or secret, the endpoint or TLS), a
#                                                     wrong passphrase, archive.info missing beside backup.info: `info`
#                                                     exits 0 then too, only this code tells; each repository's message
#                                                     says what it answered
#   `info` failed (PITR_INFO_RC not 0), or printed no JSON: unreadable, PITR_CODE "?"
# "No backup" and "unreadable" are never confused: falling back to a day-old dump because a repository that holds
# backups refused the request would lose a day of writes unnoticed. What each script does with a state (and with a
# code, where it needs more than the state) is in its own header.

# pb_error TEXT: the first ERROR line (with its HINTs) of a pgBackRest command's output, on one line, without the log
# prefix; the last lines when there is no ERROR line.
pb_error() { { grep -A3 -E '^(ERROR|.*ERROR:)' <<<"$1" || tail -n 3 <<<"$1"; } | sed -E 's/^[0-9-]+ [0-9:.]+ P[0-9]+ +//' | tr '\n' ' ' | sed 's/  */ /g'; }

# pitr_info CMD [ARGS...]: runs `CMD ARGS info --output=json` (CMD: pgbackrest, or what runs it with the config, the
# stanza, the repository and the log options: a function, runuser) and classifies the answer (pitr_classify). Sets
# PITR_INFO (the output, stderr included), PITR_INFO_RC (the exit code) and what pitr_classify sets. Always returns 0.
# A system identifier is a 64-bit integer: jq 1.6 (the images') would round it as a double, so it is quoted here.
pitr_info() {
  PITR_INFO_RC=0
  PITR_INFO=$("$@" info --output=json 2>&1) || PITR_INFO_RC=$?
  PITR_INFO=$(sed -E 's/"system-id":([0-9]+)/"system-id":"\1"/g' <<<"$PITR_INFO")
  pitr_classify
}

# pitr_state_of CODE [BACKUPS]: a status code's reading in the table above (backup, none or unreadable).
pitr_state_of() {
  case $1 in
    0) if [[ ${2:-1} == 0 ]]; then echo none; else echo backup; fi ;;
    1 | 2 | 3) echo none ;;
    *) echo unreadable ;;
  esac
}

# pitr_classify: reads PITR_INFO and PITR_INFO_RC; sets PITR_CODE (the stanza's status code, "?" when there is none),
# PITR_STATE (the table's reading), PITR_MESSAGE (the stanza's status message) and PITR_BACKUPS (backup sets listed).
# shellcheck disable=SC2034 # PITR_STATE and PITR_MESSAGE are read by the scripts that source this file
pitr_classify() {
  PITR_CODE="?" PITR_STATE=unreadable PITR_MESSAGE="" PITR_BACKUPS=0
  [[ ${PITR_INFO_RC:-1} == 0 ]] || return 0
  local line
  line=$(jq -r '.[0] | "\(.status.code // "?") \(.backup // [] | length) \(.status.message // "")"' <<<"$PITR_INFO" 2>/dev/null) || return 0
  read -r PITR_CODE PITR_BACKUPS PITR_MESSAGE <<<"$line"
  PITR_STATE=$(pitr_state_of "$PITR_CODE" "$PITR_BACKUPS")
}

# pitr_repo_states: one line "KEY CODE STATE" per repository in PITR_INFO (each repository's own status, read by the
# table above); nothing when there is no JSON.
pitr_repo_states() {
  local lines key code
  lines=$(jq -r '.[0].repo[]? | "\(.key) \(.status.code)"' <<<"$PITR_INFO" 2>/dev/null) || return 0
  while read -r key code; do
    [[ -n $key ]] || continue
    printf '%s %s %s\n' "$key" "$code" "$(pitr_state_of "$code")"
  done <<<"$lines"
}

# pitr_unreadable_detail: what the repository answered, on one line of at most 400 characters, the same in every
# script that refuses it: "status CODE: MESSAGE; repoN: MESSAGE" for the stanza and each repository not ok. An S3
# refusal (a long dump of the request) is cut to its error type, HTTP status and S3 error code ("repo1: [ProtocolError]
# HTTP request failed with 403 (Forbidden) SignatureDoesNotMatch"), any other message to 200 characters (an info file
# named once, not with its .copy beside it: "unable to load info file 'X':" names the file, then says why). When `info`
# failed: its exit code and ERROR lines (pb_error); when it printed no JSON (an undecryptable info file puts bytes JSON
# does not allow into a message), the repositories' messages found in the text, else the text.
pitr_unreadable_detail() {
  local text=""
  if [[ ${PITR_INFO_RC:-1} != 0 ]]; then
    if [[ -n ${PITR_INFO//[[:space:]]/} ]]; then
      text="pgbackrest info failed (exit ${PITR_INFO_RC:-?}): $(pb_error "$PITR_INFO")"
    else
      text="pgbackrest info failed (exit ${PITR_INFO_RC:-?}) and printed nothing"
    fi
  elif ! text=$(jq -r '.[0] | "status \(.status.code // "?"): \(.status.message // "no status")" + ([.repo[]? | select(.status.code != 0)
      | (.status.message | gsub("\u0027 or \u0027[^\u0027]*\\.copy\u0027"; "\u0027")) as $m | ([$m | scan("HTTP request failed with [0-9]+ \\([^)]*\\)")] + [$m | scan("<Code>([^<]+)</Code>") | .[0]]) as $s
      | "; repo\(.key): " + (if ($s | length) == 0 then $m[0:200] else ([$m | scan("^\\[[A-Za-z]+\\]")] + $s | join(" ")) end)] | join(""))' \
    <<<"$PITR_INFO" 2>/dev/null); then
    text=$(grep -oE '"key":[0-9]+,"status":\{"code":[0-9]+,"message":"([^"\\]|\\.){0,200}' <<<"$PITR_INFO" |
      sed -E 's/^"key":([0-9]+),"status":\{"code":([0-9]+),"message":"/repo\1 (status \2): /' | paste -sd ';' -) || true
    [[ -n $text ]] || text=$PITR_INFO
    text="pgbackrest info printed no JSON: $text"
  fi
  tr -c '[:print:]' ' ' <<<"$text" | sed -E 's/  +/ /g; s/ +$//' | cut -c1-400
}
