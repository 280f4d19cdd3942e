#!/usr/bin/env bash
# host-preflight.sh -- before anything is shipped to a server Lazarus did not boot (an existing on-prem machine, a DR
# target the operator already has), check that it has what a droplet's cloud-init would have installed, and create the
# directories cloud-init would have created. Every check runs, so one result names everything that is missing.
# What to check is the list cloud-init installs (renderers/cloudInit.ts hostProvisions), passed as arguments by
# lib/hostCommands.ts hostPreflightCommand.
#
# Usage: host-preflight.sh [--command NAME]... [--dir MODE:PATH]...
#   --command NAME    a command later steps run; it must be on PATH. For "docker" the engine must also answer
#                     (`docker version`) and `docker compose` must be compose v2 (v1 is a separate docker-compose binary)
#   --dir MODE:PATH   a directory later steps write to: created with MODE (0750 or 0755) when missing, like
#                     cloud-init's `install -d` but owned by the login user; it must be a directory the login user can write
#
# Environment: RESULT_FILE (also write the JSON result line there).
# Output: one JSON line: {"script","status","exit_code","missing","unwritable","created","docker_server","compose_version"}
#   missing: commands not on PATH, "docker-engine" (the daemon did not answer), "docker-compose-v2" (no compose v2)
# Exit codes: 0 everything present; 64 bad arguments; 69 something is missing (jq too: then the result line is
#   written without it); 73 nothing is missing but a directory cannot be created or written.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-compose.sh
source "$here/lib-compose.sh"

usage() {
  echo "usage: host-preflight.sh [--command NAME]... [--dir MODE:PATH]..."
}

# common.sh builds every result line with jq; on a host without jq this one is written by hand (fixed text, no escaping).
if ! command -v jq >/dev/null 2>&1 && [[ "${1-}" != -h && "${1-}" != --help ]]; then
  log "error: missing: jq"
  printf '{"script":"%s","status":"error","exit_code":%d,"missing":["jq"],"error":"missing: jq"}\n' "$LAZARUS_SCRIPT" "$EX_UNAVAILABLE"
  exit "$EX_UNAVAILABLE"
fi

commands=() dirs=()
while (($#)); do
  case $1 in
    --command) commands+=("${2-}"); shift 2 || die "$EX_USAGE" "--command needs a value" ;;
    --dir) dirs+=("${2-}"); shift 2 || die "$EX_USAGE" "--dir needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
((${#commands[@]} + ${#dirs[@]} > 0)) || { usage >&2; die "$EX_USAGE" "nothing to check: give --command or --dir"; }
for c in "${commands[@]}"; do
  [[ "$c" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die "$EX_USAGE" "--command must be a command name (example: certbot), got: $c"
done
for d in "${dirs[@]}"; do
  [[ "$d" =~ ^07(50|55):/ && "$d" != *$'\n'* ]] ||
    die "$EX_USAGE" "--dir must be MODE:PATH with mode 0750 or 0755 and an absolute path (example: 0750:/srv/app), got: $d"
done

missing=() unwritable=() created=() docker_server="" compose_version=""

check_docker() {
  local out
  if out=$(docker version --format '{{.Server.Version}}' 2>&1); then
    docker_server=$(tail -n 1 <<<"$out")
  else
    missing+=(docker-engine)
    log "docker engine: $(grep -v '^$' <<<"$out" | head -n 1)"
  fi
  # Compose v2 is the docker CLI plugin; it answers without the engine.
  if out=$(docker compose version 2>&1) && [[ "$out" =~ version\ v?(([0-9]+)\.[0-9]+\.[0-9][^[:space:]]*) ]] &&
    ((BASH_REMATCH[2] >= 2)); then
    compose_version=${BASH_REMATCH[1]}
  else
    missing+=(docker-compose-v2)
    log "docker compose: $(grep -v '^$' <<<"$out" | head -n 1)"
  fi
}

for c in "${commands[@]}"; do
  if ! command -v "$c" >/dev/null 2>&1; then
    missing+=("$c")
    log "command not found: $c"
  elif [[ "$c" == docker ]]; then
    check_docker
  fi
done

for d in "${dirs[@]}"; do
  mode=${d%%:*} path=${d#*:}
  if [[ ! -e "$path" ]]; then
    if install -d -m "$mode" "$path" 2>/dev/null; then
      created+=("$path")
      log "created $path ($mode)"
    else
      unwritable+=("$path")
      log "cannot create directory: $path"
      continue
    fi
  fi
  # A real write, not `test -w`: root passes that even on a read-only mount.
  if [[ -d "$path" ]] && probe=$(mktemp -p "$path" .lazarus-preflight.XXXXXX 2>/dev/null); then
    rm -f "$probe"
  else
    unwritable+=("$path")
    log "cannot write to directory: $path"
  fi
done

result=(--argjson missing "$(json_array "${missing[@]}")" --argjson unwritable "$(json_array "${unwritable[@]}")"
  --argjson created "$(json_array "${created[@]}")" --arg docker_server "$docker_server" --arg compose_version "$compose_version")
problems=()
((${#missing[@]} == 0)) || problems+=("missing: ${missing[*]}")
((${#unwritable[@]} == 0)) || problems+=("cannot create or write: ${unwritable[*]}")
if ((${#problems[@]} == 0)); then
  emit_result ok "$EX_OK" "${result[@]}"
  exit "$EX_OK"
fi
code=$EX_CANTCREAT
((${#missing[@]} == 0)) || code=$EX_UNAVAILABLE
message=$(printf '%s; ' "${problems[@]}")
log "error: ${message%; }"
emit_result error "$code" --arg error "${message%; }" "${result[@]}"
exit "$code"
