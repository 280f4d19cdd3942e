#!/usr/bin/env bash
# Docker Compose helpers for the operation scripts in scripts/ops/. Sourced (after ../lib/common.sh), never executed.
# Depends on bash, coreutils, jq and the `docker compose` v2 plugin.
#
# A compose project is identified by its directory (holding compose.yaml / docker-compose.yml) and optionally a
# project name (docker compose -p). Every docker call runs from inside that directory, so relative paths in the
# compose file resolve exactly as they do for an operator who `cd`s there and types `docker compose ...`.
#
# Environment:
#   LAZARUS_WAIT_INTERVAL  seconds between health polls while waiting (default 2)

COMPOSE_DIR=""
COMPOSE_PROJECT=""
COMPOSE_FILE=""
COMPOSE_SERVICES=()

# Service names as docker compose accepts them.
readonly COMPOSE_SERVICE_RE='^[a-zA-Z0-9][a-zA-Z0-9_.-]*$'
readonly COMPOSE_PROJECT_RE='^[a-z0-9][a-z0-9_-]*$'

# is_uint VALUE -- true when VALUE is a non-negative decimal integer (no leading zeros, at most 9 digits).
is_uint() { [[ $1 =~ ^(0|[1-9][0-9]{0,8})$ ]]; }

# compose_project_args ARGS... -- the arguments compose-up.sh and compose-recover.sh share: --dir, --project-name,
# --wait-timeout (default 300), -h. Sets dir, project and wait_timeout; the caller defines usage().
# shellcheck disable=SC2034 # dir, project and wait_timeout are the caller's
compose_project_args() {
  dir="" project="" wait_timeout=300
  while (($#)); do
    case $1 in
      --dir) dir=${2-}; shift 2 || die "$EX_USAGE" "--dir needs a value" ;;
      --project-name) project=${2-}; shift 2 || die "$EX_USAGE" "--project-name needs a value" ;;
      --wait-timeout) wait_timeout=${2-}; shift 2 || die "$EX_USAGE" "--wait-timeout needs a value" ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
    esac
  done
  if ! is_uint "$wait_timeout" || ((wait_timeout == 0)); then
    die "$EX_USAGE" "--wait-timeout must be a positive integer, got: $wait_timeout"
  fi
}

# compose_init DIR [PROJECT] -- checks the project directory and the docker compose plugin, then loads the service list.
compose_init() {
  local dir=$1 project=${2:-} f
  [[ -n "$dir" ]] || die "$EX_USAGE" "--dir is required"
  [[ "$dir" == /* ]] || die "$EX_USAGE" "--dir must be an absolute path, got: $dir"
  [[ -d "$dir" ]] || die "$EX_NOINPUT" "compose directory not found: $dir"
  for f in compose.yaml compose.yml docker-compose.yaml docker-compose.yml; do
    if [[ -f "$dir/$f" ]]; then
      COMPOSE_FILE="$dir/$f"
      break
    fi
  done
  [[ -n "$COMPOSE_FILE" ]] || die "$EX_NOINPUT" "no compose file (compose.yaml or docker-compose.yml) in $dir"
  if [[ -n "$project" && ! "$project" =~ $COMPOSE_PROJECT_RE ]]; then
    die "$EX_USAGE" "invalid --project-name: $project (lowercase letters, digits, '-' and '_')"
  fi
  require_cmd docker jq
  COMPOSE_DIR=$dir
  COMPOSE_PROJECT=$project
  (cd "$dir" && docker compose version) >/dev/null 2>&1 || die "$EX_UNAVAILABLE" "the docker compose plugin is not installed (docker compose version failed)"
  local out err
  if ! out=$(compose config --services 2>/dev/null); then
    err=$(compose config --services 2>&1 >/dev/null) || true
    die "$EX_DATAERR" "docker compose config failed for $COMPOSE_FILE: $err"
  fi
  mapfile -t COMPOSE_SERVICES < <(printf '%s\n' "$out" | sed '/^$/d')
  ((${#COMPOSE_SERVICES[@]})) || die "$EX_DATAERR" "the compose file declares no services: $COMPOSE_FILE"
}

# compose ARGS... -- runs `docker compose [-p PROJECT] ARGS...` from the project directory.
compose() {
  local global=()
  [[ -z "$COMPOSE_PROJECT" ]] || global=(-p "$COMPOSE_PROJECT")
  (cd "$COMPOSE_DIR" && docker compose "${global[@]}" "$@")
}

# compose_run ARGS... -- like compose, but its output goes to stderr (progress), keeping stdout for the result line.
compose_run() {
  log "docker compose $*"
  compose "$@" >&2
}

# compose_check_service NAME -- dies with EX_DATAERR unless NAME is a service of the project.
compose_check_service() {
  local name=$1 s
  [[ "$name" =~ $COMPOSE_SERVICE_RE ]] || die "$EX_USAGE" "invalid service name: $name"
  for s in "${COMPOSE_SERVICES[@]}"; do
    [[ "$s" != "$name" ]] || return 0
  done
  die "$EX_DATAERR" "unknown service '$name' (services in $COMPOSE_FILE: ${COMPOSE_SERVICES[*]})"
}

# compose_states -- prints a JSON array [{service,state,health}] with one entry per service of the compose file, in
# compose file order. A service without a container is "missing". When a service has several containers, the worst
# one is reported. Reads `docker compose ps --all --format json`, both the NDJSON form (compose >= 2.21) and the
# older single-array form.
compose_states() {
  local ps
  ps=$(compose ps --all --format json) || return 1
  printf '%s\n' "$ps" | jq -cs --args '
    [ .[] | if type == "array" then .[] else . end
      | {service: (.Service // ""), state: ((.State // "") | ascii_downcase), health: ((.Health // "") | ascii_downcase)} ] as $ps
    | [ $ARGS.positional[] as $s
        | ($ps | map(select(.service == $s))) as $mine
        | ( ($mine | map(select(.state != "running")) | .[0])
            // ($mine | map(select(.health != "" and .health != "healthy")) | .[0])
            // $mine[0]
            // {service: $s, state: "missing", health: ""} ) ]' "${COMPOSE_SERVICES[@]}"
}

# compose_not_ok STATES_JSON [SERVICE...] -- prints (one per line) the services that are not running-and-healthy.
# A running service without a health check counts as healthy. Restricted to the given services when any are named.
compose_not_ok() {
  local states=$1
  shift
  jq -r --args '
    .[] | select(($ARGS.positional | length) == 0 or (.service as $s | $ARGS.positional | index($s)))
        | select(.state != "running" or (.health != "" and .health != "healthy")) | .service' "$@" <<<"$states"
}

# compose_wait_ok TIMEOUT SERVICE... -- polls until every named service is running and healthy. Returns 0 when they
# are, 1 on timeout or as soon as one of them is stopped for good (exited, dead, created, missing: nothing will
# bring it up by waiting). Leaves the last states in COMPOSE_LAST_STATES.
COMPOSE_LAST_STATES="[]"
compose_wait_ok() {
  local timeout=$1 interval=${LAZARUS_WAIT_INTERVAL:-2} deadline pending dead
  shift
  deadline=$((SECONDS + timeout))
  while :; do
    COMPOSE_LAST_STATES=$(compose_states) || return 1
    pending=$(compose_not_ok "$COMPOSE_LAST_STATES" "$@")
    [[ -n "$pending" ]] || return 0
    dead=$(jq -r --args '.[] | select(.service as $s | $ARGS.positional | index($s))
      | select(.state == "exited" or .state == "dead" or .state == "created" or .state == "missing") | .service' \
      "$@" <<<"$COMPOSE_LAST_STATES")
    if [[ -n "$dead" ]]; then
      log "not running: $(tr '\n' ' ' <<<"$dead")"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "still not healthy after ${timeout}s: $(tr '\n' ' ' <<<"$pending")"
      return 1
    fi
    sleep "$interval"
  done
}

# compose_restart_checked SERVICE TIMEOUT -- `docker compose restart SERVICE`, then waits up to TIMEOUT seconds for it
# to be running and healthy. Leaves the service's {service,state,health} in COMPOSE_SERVICE_ENTRY. Returns 0 when
# healthy, 1 when the restart failed, 2 when the service is not running and healthy afterwards (compose's restart
# skips a service that has no container: that shows here as state "missing").
COMPOSE_SERVICE_ENTRY="null"
compose_restart_checked() {
  local service=$1 timeout=$2 rc=0
  COMPOSE_SERVICE_ENTRY="null"
  compose_run restart "$service" || return 1
  compose_wait_ok "$timeout" "$service" || rc=2
  # shellcheck disable=SC2034  # read by the scripts that source this file
  COMPOSE_SERVICE_ENTRY=$(jq -c --arg s "$service" '.[] | select(.service == $s)' <<<"$COMPOSE_LAST_STATES")
  return "$rc"
}

# json_array VALUE... -- prints the values (none containing a newline) as a JSON array of strings. The values go
# through stdin rather than jq --args, which would take a value such as --force for one of its own options.
json_array() {
  if (($#)); then
    printf '%s\n' "$@" | jq -Rcs 'split("\n") | .[:-1]'
  else
    echo '[]'
  fi
}
