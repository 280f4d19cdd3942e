#!/usr/bin/env bash
# pg-host-setup.sh -- PostgreSQL on the application host (runbook 003 with postgres.where: host): restarts the server
# so the rendered conf.d file (shared_preload_libraries) takes effect, then creates or updates the login role with the
# password read from stdin, the database it owns, and the extensions asked for (pg_stat_statements for the runbook's
# slow-query procedure). The password never appears in argv, the command text or a log: psql reads it from its
# environment (\getenv, psql 15+; /proc/<pid>/environ is private to the process's user) and quotes it itself (:'password').
#
# Usage: pg-host-setup.sh --database NAME --user NAME [--extension NAME...] [--service UNIT] [--createdb] < password
#   --service UNIT   the systemd unit to restart (default: postgresql); "none" skips the restart (tests)
#   --createdb       grant the role CREATEDB (the weekly backup verification restores into a temporary database)
# Environment: RESULT_FILE; PSQL_AS (how to reach the server as a superuser; default: runuser -u postgres --).
# Output: one JSON line: {"script","status","exit_code","database","user","createdb","extensions":[...]}
# Exit codes: 0 ready; 64 bad arguments or an empty password; 69 the server or psql failed.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"

usage() { echo "usage: pg-host-setup.sh --database NAME --user NAME [--extension NAME...] [--service UNIT] [--createdb] < password"; }

database="" role="" extensions=() service=postgresql createdb=false
while (($#)); do
  case $1 in
    --database) database=${2-}; shift 2 || die "$EX_USAGE" "--database needs a value" ;;
    --user) role=${2-}; shift 2 || die "$EX_USAGE" "--user needs a value" ;;
    --extension) extensions+=("${2-}"); shift 2 || die "$EX_USAGE" "--extension needs a value" ;;
    --service) service=${2-}; shift 2 || die "$EX_USAGE" "--service needs a value" ;;
    --createdb) createdb=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
ident='^[a-z_][a-z0-9_]{0,62}$'
[[ "$database" =~ $ident ]] || die "$EX_USAGE" "--database must be a lowercase SQL name such as bunty_prod, got: '$database'"
[[ "$role" =~ $ident ]] || die "$EX_USAGE" "--user must be a lowercase SQL name such as bunty, got: '$role'"
for e in "${extensions[@]}"; do [[ "$e" =~ $ident ]] || die "$EX_USAGE" "invalid --extension: '$e'"; done
password=$(cat)
[[ -n "$password" ]] || die "$EX_USAGE" "no password on stdin"
read -r -a psql_as <<<"${PSQL_AS:-runuser -u postgres --}"
require_cmd psql

if [[ "$service" != none ]]; then
  systemctl restart "$service" || die "$EX_UNAVAILABLE" "systemctl restart $service failed"
fi
# runuser keeps the environment (not -l), so LAZARUS_ROLE_PASSWORD reaches psql without entering any argv.
psql_su() { "${psql_as[@]}" psql -X -v ON_ERROR_STOP=1 -q "$@"; }
for _ in $(seq 1 30); do psql_su -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done

# Role: created or its password set again (a rotated secret takes effect here).
printf '%s\n' '\getenv password LAZARUS_ROLE_PASSWORD' "SELECT format(CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') THEN 'ALTER ROLE %I LOGIN PASSWORD %L' ELSE 'CREATE ROLE %I LOGIN PASSWORD %L' END, :'role', :'password') \\gexec" |
  LAZARUS_ROLE_PASSWORD=$password psql_su -d postgres -v role="$role" >/dev/null || die "$EX_UNAVAILABLE" "cannot create or update role $role"
if [[ "$createdb" == true ]]; then
  # The weekly backup verification restores into a temporary database as this role (app-data.sh verify).
  printf '%s\n' "SELECT format('ALTER ROLE %I CREATEDB', :'role') \\gexec" | psql_su -d postgres -v role="$role" >/dev/null ||
    die "$EX_UNAVAILABLE" "cannot grant CREATEDB to $role"
fi
printf '%s\n' "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec" |
  psql_su -d postgres -v db="$database" -v role="$role" >/dev/null || die "$EX_UNAVAILABLE" "cannot create database $database"
for e in "${extensions[@]}"; do
  psql_su -d "$database" -c "CREATE EXTENSION IF NOT EXISTS $e" >/dev/null || die "$EX_UNAVAILABLE" "CREATE EXTENSION $e failed in $database"
done
log "database $database owned by $role; extensions: ${extensions[*]:-none}"
emit_result ok 0 --arg database "$database" --arg user "$role" --argjson createdb "$createdb" --argjson extensions "$(printf '%s\n' "${extensions[@]}" | jq -Rcs 'split("\n") | map(select(. != ""))')"
