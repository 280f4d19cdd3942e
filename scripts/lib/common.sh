#!/usr/bin/env bash
# Shared helpers for the scripts Lazarus runs on hosts, in backup containers and in Kubernetes jobs.
# Sourced, never executed. Depends only on bash, coreutils and jq.
#
# Conventions every script follows:
#   - a usage line on --help and on bad arguments (exit 64, EX_USAGE);
#   - human-readable progress on stderr, prefixed with the script name;
#   - exactly one machine-readable JSON result line on stdout at the end (and in RESULT_FILE when set),
#     with at least {"script","status","exit_code"}; status is "ok" or "error".

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

require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "$EX_UNAVAILABLE" "required command not found: $c"
  done
}
