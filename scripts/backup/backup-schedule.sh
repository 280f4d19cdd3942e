#!/usr/bin/env bash
# backup-schedule.sh -- the pg-backup container's entrypoint: a minimal cron for the crontab that
# renderers/backupSchedule.ts renders (backup 02:00 UTC, verification 04:00 UTC, each through backup-job.sh).
#
# Why a loop and not cron: the postgis/postgis:16-3.4 image has no cron daemon, and cron starts its jobs with an empty
# environment, so PGPASSWORD and the S3 keys would have to be written to disk for it. This loop runs as PID 1, passes
# the container's environment to the jobs, logs to the container's stdout/stderr, and on SIGTERM (docker stop) forwards
# the signal to a running job and waits for it (pg-backup.sh removes its partial file), then exits 0. (The image lacks
# jq and s3cmd too, which the jobs need: see the preflight below.)
#
# Usage: backup-schedule.sh [--crontab FILE] [--check]
#   --crontab FILE   the crontab to run (env BACKUP_CRONTAB, default /etc/lazarus/backup.crontab; when neither is given
#                    and that file does not exist, the two daily lines are built from BACKUP_AT and VERIFY_AT, "HH:MM"
#                    UTC, exactly as renderBackupCrontab writes them, for the backup-job.sh beside this script)
#   --check          parse the crontab, print its jobs as one JSON line and exit (nothing is run)
#   -h, --help
# Crontab subset accepted (what renderBackupCrontab writes; anything else is refused at start, exit 65):
#   comment and blank lines; `MIN HOUR * * DOW COMMAND [ARGS...]` with MIN/HOUR a number or a comma list of numbers,
#   DOW `*` or a comma list of days of the week 0-6 (0 = Sunday, as cron; the weekly full pgBackRest backup), COMMAND an absolute path, arguments plain words (no quotes, $, ;, &, |, <, >, backquotes); a trailing `# comment`.
# Times are UTC (date -u). Each job runs at most once per matching minute, in the background; a job still running when
# its next minute comes is not started twice.
# Environment: BACKUP_CRONTAB; BACKUP_AT, VERIFY_AT (see --crontab); BACKUP_APT_INSTALL=1 (install missing tools with
# apt-get at start, see preflight below); S3_URL (s3cmd is then required); SCHEDULE_TICK_SECONDS (how often the clock is read, default 20);
# SCHEDULE_CLOCK_FILE (tests only: a file holding the current UTC time as YYYY-mm-ddTHH:MM, read instead of the clock).
# Exit codes: 0 stopped by SIGTERM/SIGINT after the running job ended (or --check passed); 64 usage (a malformed
# BACKUP_AT/VERIFY_AT included); 69 a tool the jobs need is missing (jq, flock, pg_dump, ..., s3cmd with S3_URL); 65 the crontab has
# a line outside the subset or no job; 66 the crontab file is missing.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Preflight, before common.sh (whose results need jq): the jobs need jq, flock, zstd (the archives' codec), the
# PostgreSQL client tools, and s3cmd for the off-site copy. The postgis/postgis image has the PostgreSQL tools but not
# jq, zstd or s3cmd (Lazarus's pgBackRest image adds jq and zstd). With
# BACKUP_APT_INSTALL=1 the missing ones are installed with apt-get at start (Debian images); otherwise the script
# stops here naming them (exit 69), so the container's log says what its image lacks.
preflight() {
  local c missing=() pkgs=()
  local need=(jq flock sha256sum zstd pg_dump pg_restore psql)
  [[ -n "${S3_URL:-}" ]] && need+=(s3cmd)
  for c in "${need[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  ((${#missing[@]})) || return 0
  if [[ "${BACKUP_APT_INSTALL:-0}" == 1 ]] && command -v apt-get >/dev/null 2>&1; then
    for c in "${missing[@]}"; do
      case "$c" in
        flock) pkgs+=(util-linux) ;;
        sha256sum) pkgs+=(coreutils) ;;
        pg_dump | pg_restore | psql) pkgs+=(postgresql-client) ;;
        *) pkgs+=("$c") ;;
      esac
    done
    printf 'backup-schedule.sh: installing %s (BACKUP_APT_INSTALL=1)\n' "${pkgs[*]}" >&2
    if apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2; then
      missing=()
      for c in "${need[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
      ((${#missing[@]})) || return 0
    fi
  fi
  printf 'backup-schedule.sh: error: required commands missing from this image: %s (set BACKUP_APT_INSTALL=1 or use an image that has them)\n' "${missing[*]}" >&2
  printf '{"script":"backup-schedule.sh","status":"error","exit_code":69,"error":"required commands missing: %s"}\n' "${missing[*]}"
  exit 69
}
preflight

# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$SCRIPT_DIR/../lib/common.sh"

usage() {
  echo "usage: backup-schedule.sh [--crontab FILE] [--check]"
}

CRONTAB=${BACKUP_CRONTAB:-}
CHECK=0
while (($#)); do
  case "$1" in
    --crontab) CRONTAB=${2:?}; shift 2 ;;
    --check) CHECK=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done
TICK=${SCHEDULE_TICK_SECONDS:-20}
[[ "$TICK" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$EX_USAGE" "SCHEDULE_TICK_SECONDS must be a number of seconds: $TICK"
require_cmd jq date

# Without a crontab named, the default file; without that, the same two lines renderBackupCrontab writes, built from
# BACKUP_AT / VERIFY_AT (HH:MM UTC) for this script's own backup-job.sh.
GENERATED=""
if [[ -z "$CRONTAB" ]]; then
  CRONTAB=/etc/lazarus/backup.crontab
  if [[ ! -e "$CRONTAB" && -n "${BACKUP_AT:-}${VERIFY_AT:-}" ]]; then
    for v in BACKUP_AT VERIFY_AT; do
      [[ "${!v:-}" =~ ^([01][0-9]|2[0-3]):[0-5][0-9]$ ]] || die "$EX_USAGE" "$v must be a UTC time HH:MM (example: 02:00), got '${!v:-}'"
    done
    GENERATED=$(mktemp "${TMPDIR:-/tmp}/backup-crontab.XXXXXX")
    trap 'rm -f -- "$GENERATED"' EXIT
    {
      echo "# from BACKUP_AT=$BACKUP_AT VERIFY_AT=$VERIFY_AT"
      printf '%d %d * * * %s backup\n' "$((10#${BACKUP_AT#*:}))" "$((10#${BACKUP_AT%%:*}))" "$SCRIPT_DIR/backup-job.sh"
      printf '%d %d * * * %s verify\n' "$((10#${VERIFY_AT#*:}))" "$((10#${VERIFY_AT%%:*}))" "$SCRIPT_DIR/backup-job.sh"
    } >"$GENERATED"
    CRONTAB=$GENERATED
  fi
fi
[[ -f "$CRONTAB" && -r "$CRONTAB" ]] || die "$EX_NOINPUT" "crontab not found or not readable: $CRONTAB (or set BACKUP_AT and VERIFY_AT)"

# field_ok FIELD MAX: a number 0..MAX or a comma list of them.
field_ok() {
  local f=$1 max=$2 n
  [[ "$f" =~ ^[0-9]{1,2}(,[0-9]{1,2})*$ ]] || return 1
  for n in ${f//,/ }; do ((10#$n <= max)) || return 1; done
}

# field_has FIELD VALUE: the list contains the number.
field_has() {
  local n
  for n in ${1//,/ }; do ((10#$n == 10#$2)) && return 0; done
  return 1
}

JOB_MIN=()
JOB_HOUR=()
JOB_DOW=()
JOB_CMD=()
lineno=0
while IFS= read -r line || [[ -n "$line" ]]; do
  lineno=$((lineno + 1))
  trimmed=${line#"${line%%[![:space:]]*}"}
  [[ -z "$trimmed" || "$trimmed" == \#* ]] && continue
  # A trailing comment is dropped (as /bin/sh would ignore it).
  body=$(sed -E 's/[[:space:]]+#.*$//' <<<"$trimmed")
  read -r -a f <<<"$body"
  if ((${#f[@]} < 6)); then die "$EX_DATAERR" "$CRONTAB line $lineno: expected 'MIN HOUR * * * COMMAND', got: $line"; fi
  field_ok "${f[0]}" 59 || die "$EX_DATAERR" "$CRONTAB line $lineno: minute must be 0-59 or a list of them, got '${f[0]}'"
  field_ok "${f[1]}" 23 || die "$EX_DATAERR" "$CRONTAB line $lineno: hour must be 0-23 or a list of them, got '${f[1]}'"
  if [[ "${f[2]}" != "*" || "${f[3]}" != "*" ]]; then
    die "$EX_DATAERR" "$CRONTAB line $lineno: day of month and month must be '*' (daily or weekly jobs only), got '${f[2]} ${f[3]}'"
  fi
  [[ "${f[4]}" == "*" ]] || field_ok "${f[4]}" 6 ||
    die "$EX_DATAERR" "$CRONTAB line $lineno: day of week must be '*' or 0-6 (0 = Sunday) or a list of them, got '${f[4]}'"
  [[ "${f[5]}" == /* ]] || die "$EX_DATAERR" "$CRONTAB line $lineno: the command must be an absolute path, got '${f[5]}'"
  cmd=("${f[@]:5}")
  for w in "${cmd[@]}"; do
    if [[ "$w" =~ [\'\"\$\;\&\|\<\>\`\\] ]]; then die "$EX_DATAERR" "$CRONTAB line $lineno: shell syntax is not supported in commands, got '$w'"; fi
  done
  JOB_MIN+=("${f[0]}")
  JOB_HOUR+=("${f[1]}")
  JOB_DOW+=("${f[4]}")
  JOB_CMD+=("${cmd[*]}")
done <"$CRONTAB"
((${#JOB_CMD[@]})) || die "$EX_DATAERR" "$CRONTAB has no job lines"

jobs_json() {
  local i
  for i in "${!JOB_CMD[@]}"; do
    jq -cn --arg minute "${JOB_MIN[$i]}" --arg hour "${JOB_HOUR[$i]}" --arg dow "${JOB_DOW[$i]}" --arg command "${JOB_CMD[$i]}" '{minute: $minute, hour: $hour, day_of_week: $dow, command: $command}'
  done | jq -cs .
}

if ((CHECK)); then
  emit_result ok 0 --arg crontab "$CRONTAB" --argjson jobs "$(jobs_json)"
  exit 0
fi

for i in "${!JOB_CMD[@]}"; do
  days=daily
  [[ "${JOB_DOW[$i]}" == "*" ]] || days="on day(s) ${JOB_DOW[$i]} of the week (0 = Sunday)"
  log "scheduled: ${JOB_CMD[$i]} at minute ${JOB_MIN[$i]} of hour ${JOB_HOUR[$i]} UTC, $days"
done

# now_minute: the current UTC minute as YYYY-mm-ddTHH:MM.
now_minute() {
  if [[ -n "${SCHEDULE_CLOCK_FILE:-}" ]]; then
    local t
    t=$(head -n 1 "$SCHEDULE_CLOCK_FILE" 2>/dev/null || true)
    [[ "$t" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$ ]] && { printf '%s\n' "$t"; return; }
    log "warning: $SCHEDULE_CLOCK_FILE does not hold YYYY-mm-ddTHH:MM; using the real clock"
  fi
  date -u +%Y-%m-%dT%H:%M
}

declare -A LAST_RUN=() RUNNING=()
STOPPING=0
# shellcheck disable=SC2317  # invoked by the trap below
on_stop() {
  STOPPING=1
  local pid
  for pid in "${RUNNING[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
}
trap on_stop TERM INT

reap() {
  local i pid rc
  for i in "${!RUNNING[@]}"; do
    pid=${RUNNING[$i]}
    if ! kill -0 "$pid" 2>/dev/null; then
      rc=0
      wait "$pid" || rc=$?
      log "job ended: ${JOB_CMD[$i]} (exit $rc)"
      unset "RUNNING[$i]"
    fi
  done
}

while ((!STOPPING)); do
  reap
  minute=$(now_minute)
  H=${minute:11:2}
  M=${minute:14:2}
  DOW=$(date -u -d "${minute:0:10}" +%w)
  for i in "${!JOB_CMD[@]}"; do
    if ! field_has "${JOB_MIN[$i]}" "$M" || ! field_has "${JOB_HOUR[$i]}" "$H"; then continue; fi
    if [[ "${JOB_DOW[$i]}" != "*" ]] && ! field_has "${JOB_DOW[$i]}" "$DOW"; then continue; fi
    [[ "${LAST_RUN[$i]:-}" == "$minute" ]] && continue
    LAST_RUN[$i]=$minute
    if [[ -n "${RUNNING[$i]:-}" ]]; then
      log "skipped: ${JOB_CMD[$i]} is still running from an earlier minute"
      continue
    fi
    read -r -a argv <<<"${JOB_CMD[$i]}"
    log "starting at $minute UTC: ${JOB_CMD[$i]}"
    "${argv[@]}" &
    RUNNING[$i]=$!
  done
  # sleep in the background so the TERM trap runs at once.
  sleep "$TICK" &
  wait $! 2>/dev/null || true
done

log "stopping: waiting for running jobs"
for i in "${!RUNNING[@]}"; do
  rc=0
  wait "${RUNNING[$i]}" || rc=$?
  log "job ended: ${JOB_CMD[$i]} (exit $rc)"
done
log "stopped"
exit 0
