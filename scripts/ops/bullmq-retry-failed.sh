#!/usr/bin/env bash
# bullmq-retry-failed.sh -- re-queues the failed jobs of one BullMQ queue (runbook 000, Pencom, "Redis Recovery":
# "in-flight jobs in BullMQ queues will be lost; re-trigger any critical background jobs manually after Redis
# restarts"). Jobs that were in flight when Redis was lost are gone and cannot be found here; what this does is move
# every job BullMQ recorded as failed (for instance, failed while Redis was away) back to waiting, so the workers run it
# again. It uses the application's own BullMQ (NODE_PATH at its node_modules) and a service's .env for the Redis
# connection, read by node itself (--env-file): the password never appears in a command line.
#
# Usage: bullmq-retry-failed.sh --env-file FILE --node-modules DIR --queue NAME [--prefix PREFIX]
#   --env-file FILE      a service's .env with REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_DB
#   --node-modules DIR   the application's node_modules (must contain bullmq)
#   --queue NAME         the queue whose failed jobs to retry
#   --prefix PREFIX      BullMQ's key prefix (default: bull, BullMQ's own default)
# Environment: RESULT_FILE.
# Output: one JSON line: {"script","status","exit_code","queue","failed_before","retried","failed_after","waiting_after"}
# Exit codes: 0 done (also when nothing had failed); 64 bad arguments; 66 env file or node_modules missing; 69 node or
#   bullmq missing, or Redis unreachable or refusing the password.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

usage() { echo "usage: bullmq-retry-failed.sh --env-file FILE --node-modules DIR --queue NAME [--prefix PREFIX]"; }

env_file="" node_modules="" queue="" prefix=bull
while (($#)); do
  case $1 in
    --env-file) env_file=${2-}; shift 2 || die "$EX_USAGE" "--env-file needs a value" ;;
    --node-modules) node_modules=${2-}; shift 2 || die "$EX_USAGE" "--node-modules needs a value" ;;
    --queue) queue=${2-}; shift 2 || die "$EX_USAGE" "--queue needs a value" ;;
    --prefix) prefix=${2-}; shift 2 || die "$EX_USAGE" "--prefix needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
[[ "$queue" =~ ^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$ ]] || die "$EX_USAGE" "--queue must be a BullMQ queue name, got: '$queue'"
[[ "$prefix" =~ ^[A-Za-z0-9_:-]{1,32}$ ]] || die "$EX_USAGE" "--prefix must be a BullMQ prefix such as bull, got: '$prefix'"
[[ "$env_file" == /* && "$node_modules" == /* ]] || die "$EX_USAGE" "--env-file and --node-modules must be absolute paths"
require_cmd node jq
[[ -r "$env_file" ]] || die "$EX_NOINPUT" "env file not found or not readable: $env_file"
[[ -d "$node_modules" ]] || die "$EX_NOINPUT" "node_modules not found: $node_modules"
[[ -d "$node_modules/bullmq" ]] || die "$EX_UNAVAILABLE" "bullmq is not installed in $node_modules (the application's own BullMQ is used)"

log "retrying the failed jobs of queue $queue (prefix $prefix)"
if ! out=$(NODE_PATH=$node_modules node --env-file="$env_file" "$here/bullmq-retry-failed.cjs" --queue "$queue" --prefix "$prefix" </dev/null); then
  die "$EX_UNAVAILABLE" "could not retry the failed jobs of $queue (Redis unreachable or refusing the password?); see the message above"
fi
jq -e 'has("retried")' <<<"$out" >/dev/null 2>&1 || die "$EX_SOFTWARE" "unexpected output from bullmq-retry-failed.cjs: $out"
log "queue $queue: $(jq -r '"\(.retried) of \(.failed_before) failed jobs back to waiting"' <<<"$out")"
emit_result ok 0 --arg queue "$queue" --argjson failed_before "$(jq .failed_before <<<"$out")" --argjson retried "$(jq .retried <<<"$out")" \
  --argjson failed_after "$(jq .failed_after <<<"$out")" --argjson waiting_after "$(jq .waiting_after <<<"$out")"
