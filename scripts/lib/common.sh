#!/usr/bin/env bash
# Shared helpers for the scripts Lazarus runs on hosts, in backup containers and in Kubernetes jobs.
# Sourced, never executed. Depends only on bash, coreutils and jq.
#
# Conventions every script follows:
#   - a usage line on --help and on bad arguments (exit 64, EX_USAGE);
#   - human-readable progress on stderr, prefixed with the script name;
#   - exactly one machine-readable JSON result line on stdout at the end (and in RESULT_FILE when set),
#     with at least {"script","status","exit_code"}; status is "ok" or "error", also on SIGTERM/SIGINT
#     (emit_result_on_exit in the EXIT trap);
#   - exit codes with one meaning each (the table in README "Proven backups"): 65 only for refused input, 73 for any
#     output that cannot be created, a full disk included, so a full disk is never reported as a bad backup.

# shellcheck disable=SC2034  # exit codes are read by the scripts that source this file
readonly EX_OK=0 EX_FAIL=1 EX_USAGE=64 EX_DATAERR=65 EX_NOINPUT=66 EX_UNAVAILABLE=69 EX_SOFTWARE=70 EX_CANTCREAT=73 EX_TEMPFAIL=75

LAZARUS_SCRIPT=${LAZARUS_SCRIPT:-$(basename "${BASH_SOURCE[1]:-$0}")}

log() { printf '%s: %s\n' "$LAZARUS_SCRIPT" "$*" >&2; }

# emit_result STATUS EXIT_CODE [JQ_ARGS...] -- prints the JSON result line built from jq --arg/--argjson pairs.
# Example: emit_result ok 0 --arg file "$f" --argjson bytes "$n"
emit_result() {
  local status=$1 code=$2
  shift 2
  local line
  line=$(jq -cn --arg script "$LAZARUS_SCRIPT" --arg status "$status" --argjson exit_code "$code" \
    --arg finished_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$@" \
    '$ARGS.named + {script: $script, status: $status, exit_code: $exit_code, finished_at: $finished_at}')
  printf '%s\n' "$line"
  RESULT_EMITTED=1
  # Best effort: a RESULT_FILE that cannot be written must not replace the script's own exit code.
  if [[ -n "${RESULT_FILE:-}" ]]; then
    if ! { printf '%s\n' "$line" >"$RESULT_FILE.tmp" && mv -f "$RESULT_FILE.tmp" "$RESULT_FILE"; } 2>/dev/null; then
      log "warning: could not write RESULT_FILE $RESULT_FILE"
    fi
  fi
}

# die EXIT_CODE MESSAGE -- logs the message, emits an error result carrying it, exits.
die() {
  local code=$1
  shift
  log "error: $*"
  emit_result error "$code" --arg error "$*"
  exit "$code"
}

# emit_result_on_exit CODE: for an EXIT trap; when the script ends (e.g. on SIGTERM) before printing its result line,
# prints an error one, so every run ends with exactly one.
emit_result_on_exit() {
  local code=$1
  [[ "${RESULT_EMITTED:-0}" == 1 ]] && return 0
  case "$code" in
    143) emit_result error "$code" --arg error "stopped by SIGTERM before finishing" ;;
    130) emit_result error "$code" --arg error "interrupted (SIGINT) before finishing" ;;
    0) emit_result error "$EX_SOFTWARE" --arg error "ended without a result (a bug)" ;;
    *) emit_result error "$code" --arg error "ended with exit code $code before printing a result" ;;
  esac
}

# free_kib DIR: free space in DIR's filesystem, in KiB.
free_kib() {
  df -Pk -- "$1" 2>/dev/null | awk 'NR==2{print $4}'
}

# require_space DIR BYTES WHAT: exits 73 (EX_CANTCREAT) when DIR's filesystem has less than BYTES free for WHAT.
require_space() {
  local dir=$1 bytes=$2 what=$3 avail
  avail=$(free_kib "$dir")
  [[ -z "$avail" ]] && return 0
  ((avail * 1024 >= bytes)) ||
    die "$EX_CANTCREAT" "no space for $what in $dir: needs $bytes bytes, $((avail * 1024)) free (free space there or set WORK_DIR)"
}

# die_if_full DIR NEED WHAT DETAIL: after a failed write into DIR, exits 73 when the cause is a full filesystem
# (the tool said so, or less than NEED bytes are free), so a full disk is never reported as bad input.
die_if_full() {
  local dir=$1 need=$2 what=$3 detail=${4:-} avail full=0
  avail=$(free_kib "$dir")
  [[ "$detail" == *"No space left"* || "$detail" == *ENOSPC* ]] && full=1
  [[ -n "$avail" ]] && ((avail * 1024 < need)) && full=1
  ((full)) || return 0
  die "$EX_CANTCREAT" "no space for $what in $dir: needs $need bytes, $((${avail:-0} * 1024)) free (free space there or set WORK_DIR)${detail:+; the tool said: $detail}"
}

require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "$EX_UNAVAILABLE" "required command not found: $c"
  done
}

# run_stoppable CMD [ARGS...]: runs CMD (a command, or a function holding a pipeline) in the background, in its own
# process group, and waits for it; returns its exit code. Why: bash runs a trap only when the foreground command ends,
# so a SIGTERM (Kubernetes at activeDeadlineSeconds) sent while pg_dump or s3cmd runs in the foreground would wait for
# it; `wait` is interrupted at once. The caller's EXIT trap calls stop_stoppable, which ends the whole group (every
# stage of a pipeline). Redirect the call (e.g. 2>"$err") rather than capturing it with $(...): a command
# substitution is a foreground subshell again.
STOPPABLE_PGID=""
run_stoppable() {
  local rc=0
  set -m # only for the next `&`: a new process group, so one kill reaches every process of the pipeline
  "$@" &
  STOPPABLE_PGID=$!
  set +m
  wait "$STOPPABLE_PGID" || rc=$?
  STOPPABLE_PGID=""
  return "$rc"
}

# stop_stoppable: for EXIT traps; ends the process group run_stoppable started, if it still runs, and reaps it.
stop_stoppable() {
  [[ -n "${STOPPABLE_PGID:-}" ]] || return 0
  # `|| true`: under set -e a failing kill or wait (143, the group just ended) would end the EXIT trap early
  kill -TERM -- "-$STOPPABLE_PGID" 2>/dev/null || true
  wait "$STOPPABLE_PGID" 2>/dev/null || true
  STOPPABLE_PGID=""
}
