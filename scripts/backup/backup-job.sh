#!/usr/bin/env bash
# backup-job.sh -- one scheduled pg-backup job: runs pg-backup.sh (backup) or pg-verify.sh (verify) and then writes
# the Prometheus textfiles of the backup metrics contract (stacks/goodgo/monitoring/backupMetrics.ts, GOODGO_BACKUP_METRICS), which
# node_exporter's textfile collector exposes for the BackupTooOld and BackupVerificationFailed alerts.
#
# Usage: backup-job.sh backup|verify|pitr-full|pitr-diff [-- EXTRA_ARGS...]
#   backup   pg-backup.sh (retention BACKUP_RETENTION_DAYS; off-site copy to S3-compatible storage when S3_URL is set,
#            with pg-backup.sh's own upload: S3_ENDPOINT, S3_REGION, S3_NO_SSL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
#   verify   pg-verify.sh on BACKUP_DIR's latest backup, or on VERIFY_TARGET (a backup file) when set
#            (VERIFY_CRITICAL_TABLES: the tables to checksum); its report goes to
#            BACKUP_DIR/verify-latest.json, which this job rewrites for every run, also when pg-verify.sh could not run
#   pitr-full, pitr-diff
#            pitr-backup.sh --stanza PITR_STANZA --type full|diff (the physical route's weekly full and daily
#            differential, lib/postgresPitr.ts; PITR_REPO=2: to the off-site repo2, metrics files *_repo2*.prom and
#            a repo label), run as PITR_RUN_AS (default postgres: pgBackRest must run as the
#            server's OS user) when this job runs as root
#   EXTRA_ARGS are passed to the wrapped script. A pitr-* run that pitr-backup.sh skipped (-- --if-no-backup: the
#   repository already holds a backup of the timeline) writes no metrics: nothing ran.
#   -h, --help
# Environment: the libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE) and everything the wrapped script
# reads; BACKUP_DIR (default /backups); METRICS_DIR (default $BACKUP_DIR/metrics); RESULT_FILE (this job's result line).
#
# Metrics (each file written to a temp name in METRICS_DIR, then renamed, so a reader never sees half a file):
#   pg_backup.prom      ONLY after a backup whose archive is complete (exit 0, or 75 = complete locally but the
#                       off-site copy failed): goodgo_backup_last_success_timestamp_seconds (the result's finished_at)
#                       and goodgo_backup_last_size_bytes. A failed backup leaves it untouched, so the timestamp ages
#                       and BackupTooOld fires 25 h after the last good backup.
#   pg_verify.prom      after EVERY verify run: goodgo_backup_verify_success (1 only when pg-verify.sh passed) and
#                       goodgo_backup_verify_last_run_timestamp_seconds.
#   pg_backup_job.prom  after every backup run (beyond the contract, for dashboards and the runbook):
#                       goodgo_backup_last_run_success (1/0), goodgo_backup_last_run_timestamp_seconds,
#                       goodgo_backup_last_failure_timestamp_seconds (the latest failed run; kept across successes),
#                       goodgo_backup_offsite_upload_success (1/0, only when S3_URL is set).
#   pgbackrest_<type>.prom  ONLY after a pgBackRest backup that succeeded, labelled {stanza, type}:
#                       pgbackrest_backup_last_success_timestamp_seconds (the backup set's stop time) and
#                       pgbackrest_backup_last_repo_bytes (its size in the repository); PitrBackupTooOld reads the first.
#   pgbackrest_<type>_job.prom  after every pgBackRest run: pgbackrest_backup_last_run_success (1/0) and
#                       pgbackrest_backup_last_run_timestamp_seconds, labelled {stanza, type}.
#
# Output: the wrapped script's JSON result line, then this job's own line {job, wrapped_exit_code, metrics[]}.
# Exit codes: the wrapped script's exit code (0 ok; see pg-backup.sh / pg-verify.sh); 64 usage; 73 the metrics
# directory cannot be written (the backup itself may have succeeded: see the wrapped result line).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../lib/common.sh
. "$SCRIPT_DIR/../lib/common.sh"

usage() {
  echo "usage: backup-job.sh backup|verify|pitr-full|pitr-diff [-- EXTRA_ARGS...]"
}

JOB=${1:-}
case "$JOB" in
  -h | --help) usage; exit 0 ;;
  backup | verify | pitr-full | pitr-diff) shift ;;
  *) usage >&2; die "$EX_USAGE" "first argument must be backup, verify, pitr-full or pitr-diff, got '${JOB}'" ;;
esac
if (($#)); then
  [[ "$1" == "--" ]] || { usage >&2; die "$EX_USAGE" "extra arguments for the wrapped script go after --"; }
  shift
fi
EXTRA=("$@")

BACKUP_DIR=${BACKUP_DIR:-/backups}
METRICS_DIR=${METRICS_DIR:-$BACKUP_DIR/metrics}
export BACKUP_DIR
require_cmd jq date

mkdir -p -- "$METRICS_DIR" 2>/dev/null || die "$EX_CANTCREAT" "cannot create the metrics directory $METRICS_DIR"
[[ -w "$METRICS_DIR" ]] || die "$EX_CANTCREAT" "metrics directory is not writable: $METRICS_DIR"

# gauge NAME HELP VALUE: one gauge in the text exposition format (as renderBackupSuccessMetrics writes it).
gauge() {
  printf '# HELP %s %s\n# TYPE %s gauge\n%s %s\n' "$1" "$2" "$1" "$1" "$3"
}

# publish FILE: stdin to FILE through a temp file in the same directory and a rename.
publish() {
  local file=$1 tmp
  tmp="$(dirname "$file")/.$(basename "$file").$$.tmp"
  if ! cat >"$tmp" || ! mv -f -- "$tmp" "$file"; then
    rm -f -- "$tmp"
    return 1
  fi
}

# gauge_l NAME HELP LABELS VALUE: a gauge with labels ('stanza="goodgo",type="full"').
gauge_l() {
  printf '# HELP %s %s\n# TYPE %s gauge\n%s{%s} %s\n' "$1" "$2" "$1" "$1" "$3" "$4"
}

# prom_value FILE METRIC: the value of an unlabelled metric in a textfile, or nothing.
prom_value() {
  [[ -f "$1" ]] || return 0
  awk -v m="$2" '$1 == m { v = $2 } END { if (v != "") print v }' "$1"
}

# to_unix ISO8601: seconds since the epoch (falls back to now for an unparseable stamp).
to_unix() {
  date -u -d "$1" +%s 2>/dev/null || date -u +%s
}

# run_wrapped SCRIPT ARGS...: runs it with stdout captured; sets WRAPPED_RC and WRAPPED_RESULT (its last JSON line).
run_wrapped() {
  local out
  out=$(mktemp "${TMPDIR:-/tmp}/backup-job.XXXXXX")
  set +e
  # The wrapped script's own RESULT_FILE would be this job's; it reports on stdout (and verify to --report) instead.
  env -u RESULT_FILE "$@" >"$out"
  WRAPPED_RC=$?
  set -e
  WRAPPED_RESULT=$(grep '^{' "$out" | tail -n 1 || true)
  rm -f -- "$out"
  if [[ -n "$WRAPPED_RESULT" ]] && ! jq -e . >/dev/null 2>&1 <<<"$WRAPPED_RESULT"; then WRAPPED_RESULT=""; fi
  if [[ -n "$WRAPPED_RESULT" ]]; then printf '%s\n' "$WRAPPED_RESULT"; fi
}

METRICS_WRITTEN=()
metrics_failed() {
  die "$EX_CANTCREAT" "$JOB finished with exit code $WRAPPED_RC but $1 could not be written in $METRICS_DIR"
}

NOW=$(date -u +%s)
if [[ "$JOB" == pitr-* ]]; then
  TYPE=${JOB#pitr-}
  STANZA=${PITR_STANZA:-}
  [[ "$STANZA" =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]] || die "$EX_USAGE" "PITR_STANZA must name the pgBackRest stanza (letters, digits, '_' or '-'), got '$STANZA'"
  RUN_AS=()
  if ((EUID == 0)); then
    RUN_AS=(runuser -u "${PITR_RUN_AS:-postgres}" --)
    command -v runuser >/dev/null 2>&1 || RUN_AS=(gosu "${PITR_RUN_AS:-postgres}")
  fi
  # PITR_REPO: the repository of a config with more than one (2: the off-site copy); its metrics carry repo="2" and go
  # to their own files, so the two repositories' backups age separately.
  REPO=${PITR_REPO:-}
  [[ -z "$REPO" || "$REPO" =~ ^[1-4]$ ]] || die "$EX_USAGE" "PITR_REPO must be a repository number 1-4, got '$REPO'"
  log "running pitr-backup.sh --stanza $STANZA --type $TYPE${REPO:+ --repo $REPO}${RUN_AS:+ as ${PITR_RUN_AS:-postgres}}"
  run_wrapped "${RUN_AS[@]}" bash "$SCRIPT_DIR/pitr-backup.sh" --stanza "$STANZA" --type "$TYPE" ${REPO:+--repo "$REPO"} "${EXTRA[@]}"
  LABELS="stanza=\"$STANZA\",type=\"$TYPE\"${REPO:+,repo=\"$REPO\"}"
  STOPPED=$(jq -r '.stopped_at // empty' <<<"${WRAPPED_RESULT:-null}")
  REPO_BYTES=$(jq -r '.repo_bytes // empty' <<<"${WRAPPED_RESULT:-null}")
  SKIPPED=$(jq -r '.skipped // false' <<<"${WRAPPED_RESULT:-null}")
  RUN_OK=0
  if ((WRAPPED_RC == 0)) && [[ -n "$STOPPED" && "$REPO_BYTES" =~ ^[0-9]+$ ]]; then RUN_OK=1; fi
  if ((WRAPPED_RC == 0)) && [[ "$SKIPPED" == true ]]; then
    # pitr-backup.sh --if-no-backup found a backup already: no run took place, so no metric changes.
    log "no $TYPE backup needed (the repository already holds one of this timeline): metrics left as they were"
  elif ((RUN_OK)); then
    {
      gauge_l pgbackrest_backup_last_success_timestamp_seconds "Unix time the last successful pgBackRest backup of this type ended." "$LABELS" "$(to_unix "$STOPPED")"
      gauge_l pgbackrest_backup_last_repo_bytes "Size in the repository of the last successful pgBackRest backup of this type." "$LABELS" "$REPO_BYTES"
    } | publish "$METRICS_DIR/pgbackrest_$TYPE${REPO:+_repo$REPO}.prom" || metrics_failed "pgbackrest_$TYPE${REPO:+_repo$REPO}.prom"
    METRICS_WRITTEN+=("pgbackrest_$TYPE${REPO:+_repo$REPO}.prom")
  else
    log "pgBackRest $TYPE backup failed (exit $WRAPPED_RC): pgbackrest_$TYPE${REPO:+_repo$REPO}.prom left as it was, so its timestamp keeps ageing"
  fi
  if ! ((WRAPPED_RC == 0)) || [[ "$SKIPPED" != true ]]; then
    {
      gauge_l pgbackrest_backup_last_run_success "1 if the last pgBackRest backup run of this type succeeded, 0 if it failed." "$LABELS" "$RUN_OK"
      gauge_l pgbackrest_backup_last_run_timestamp_seconds "Unix time the last pgBackRest backup run of this type ended." "$LABELS" "$NOW"
    } | publish "$METRICS_DIR/pgbackrest_${TYPE}${REPO:+_repo$REPO}_job.prom" || metrics_failed "pgbackrest_${TYPE}${REPO:+_repo$REPO}_job.prom"
    METRICS_WRITTEN+=("pgbackrest_${TYPE}${REPO:+_repo$REPO}_job.prom")
  fi
elif [[ "$JOB" == backup ]]; then
  log "running pg-backup.sh into $BACKUP_DIR${S3_URL:+ with an off-site copy to $S3_URL}"
  run_wrapped "$SCRIPT_DIR/pg-backup.sh" -o "$BACKUP_DIR" "${EXTRA[@]}"
  FILE=$(jq -r '.file // empty' <<<"${WRAPPED_RESULT:-null}")
  BYTES=$(jq -r '.bytes // empty' <<<"${WRAPPED_RESULT:-null}")
  FINISHED=$(jq -r '.finished_at // empty' <<<"${WRAPPED_RESULT:-null}")
  LOCAL_OK=0
  # 75 with a file means: the archive is complete locally, only the off-site copy failed.
  if [[ -n "$FILE" && -f "$FILE" && "$BYTES" =~ ^[0-9]+$ ]] && ((WRAPPED_RC == 0 || WRAPPED_RC == EX_TEMPFAIL)); then LOCAL_OK=1; fi
  if ((LOCAL_OK)); then
    {
      gauge goodgo_backup_last_success_timestamp_seconds "Unix time the last successful pg-backup finished." "$(to_unix "${FINISHED:-now}")"
      gauge goodgo_backup_last_size_bytes "Size in bytes of the last successful backup file." "$BYTES"
    } | publish "$METRICS_DIR/pg_backup.prom" || metrics_failed pg_backup.prom
    METRICS_WRITTEN+=(pg_backup.prom)
  else
    log "backup failed (exit $WRAPPED_RC): pg_backup.prom left as it was, so the last success timestamp keeps ageing"
  fi
  JOB_FILE="$METRICS_DIR/pg_backup_job.prom"
  LAST_FAILURE=$(prom_value "$JOB_FILE" goodgo_backup_last_failure_timestamp_seconds)
  RUN_OK=0
  ((WRAPPED_RC == 0)) && RUN_OK=1
  ((RUN_OK)) || LAST_FAILURE=$NOW
  {
    gauge goodgo_backup_last_run_success "1 if the last pg-backup run succeeded completely (off-site copy included), 0 if it failed." "$RUN_OK"
    gauge goodgo_backup_last_run_timestamp_seconds "Unix time the last pg-backup run ended." "$NOW"
    if [[ -n "$LAST_FAILURE" ]]; then
      gauge goodgo_backup_last_failure_timestamp_seconds "Unix time of the last failed pg-backup run." "$LAST_FAILURE"
    fi
    if [[ -n "${S3_URL:-}" ]]; then
      UPLOADED=$(jq -r 'if .uploaded == true then 1 else 0 end' <<<"${WRAPPED_RESULT:-null}")
      gauge goodgo_backup_offsite_upload_success "1 if the last backup was copied off-site, 0 if not." "$UPLOADED"
    fi
  } | publish "$JOB_FILE" || metrics_failed pg_backup_job.prom
  METRICS_WRITTEN+=(pg_backup_job.prom)
else
  REPORT="$BACKUP_DIR/verify-latest.json"
  log "running pg-verify.sh on the latest backup in $BACKUP_DIR (report $REPORT)"
  run_wrapped "$SCRIPT_DIR/pg-verify.sh" --report "$REPORT" "${EXTRA[@]}" "${VERIFY_TARGET:-$BACKUP_DIR}"
  # pg-verify.sh writes the report itself once it has found the backup; when it stops earlier (no backup, bad
  # arguments) or dies without a result, the report would still describe the previous run. Rewrite it for this run.
  LINE=$WRAPPED_RESULT
  if [[ -z "$LINE" ]]; then
    LINE=$(jq -cn --arg script pg-verify.sh --argjson exit_code "$WRAPPED_RC" --arg finished_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      '{script: $script, status: "error", exit_code: $exit_code, finished_at: $finished_at, error: "pg-verify.sh ended without a result line"}')
  fi
  if [[ -d "$BACKUP_DIR" ]]; then
    printf '%s\n' "$LINE" | publish "$REPORT" || metrics_failed verify-latest.json
  fi
  PASSED=0
  if ((WRAPPED_RC == 0)) && [[ "$(jq -r '.status' <<<"$LINE")" == ok ]]; then PASSED=1; fi
  ((PASSED)) || log "verification failed (exit $WRAPPED_RC): goodgo_backup_verify_success 0"
  {
    gauge goodgo_backup_verify_success "1 if the last backup verification passed, 0 if it failed." "$PASSED"
    gauge goodgo_backup_verify_last_run_timestamp_seconds "Unix time the last backup verification finished." "$(to_unix "$(jq -r '.finished_at // "now"' <<<"$LINE")")"
  } | publish "$METRICS_DIR/pg_verify.prom" || metrics_failed pg_verify.prom
  METRICS_WRITTEN+=(pg_verify.prom)
fi

metrics_json='[]'
if ((${#METRICS_WRITTEN[@]})); then metrics_json=$(printf '%s\n' "${METRICS_WRITTEN[@]}" | jq -R . | jq -cs .); fi
if ((WRAPPED_RC == 0)); then
  emit_result ok 0 --arg job "$JOB" --argjson wrapped_exit_code "$WRAPPED_RC" --argjson metrics "$metrics_json"
else
  emit_result error "$WRAPPED_RC" --arg job "$JOB" --argjson wrapped_exit_code "$WRAPPED_RC" --argjson metrics "$metrics_json" \
    --arg error "$JOB failed: $(jq -r '.error // "no result line"' <<<"${WRAPPED_RESULT:-null}")"
fi
exit "$WRAPPED_RC"
