#!/usr/bin/env bash
# Helpers shared by pg-backup.sh, pg-verify.sh, pg-restore.sh and audit-export.sh. Sourced after ../lib/common.sh,
# never executed. Depends on bash, coreutils, jq, the PostgreSQL client tools, zstd for .zst archives (the default)
# and, only when asked for, age, openssl and s3cmd.
#
# Backup file layout (one directory, e.g. /backups):
#   <prefix>_<YYYYmmddTHHMMSSZ>.dump[.zst][.age|.enc]
#                                                  the archive (pg_dump -Fc), zstd-compressed (.zst, the default) or
#                                                  compressed inside by pg_dump (gzip) or not at all; optionally encrypted
#   <archive>.sha256                               `sha256sum -c` compatible sidecar, written before the rename
#   latest -> <archive>                            symlink, replaced atomically only after a complete backup
#   .<archive>.partial                             a backup being written; never matched by the archive glob
#
# Encryption is chosen by the archive's extension: .age (age, AGE_RECIPIENT / AGE_RECIPIENTS_FILE to encrypt,
# AGE_IDENTITY_FILE to decrypt) or .enc (openssl enc -aes-256-cbc -pbkdf2 with BACKUP_KEY_FILE, as Waqiti does).
# Compression is chosen by the extension under it: .dump.zst is pg_dump's uncompressed archive in one zstd stream
# (pg-backup.sh's default: PostgreSQL 15's pg_dump knows only gzip, whose inflating was a fifth of a restore's CPU);
# a bare .dump carries pg_dump's own compression, readable by pg_restore as it is.

# The database comment pg-restore.sh writes on a restored copy once it is complete, followed by JSON naming the backup
# and its sha256: the proof `--swap-in` requires.
# shellcheck disable=SC2034 # read by pg-restore.sh
readonly RESTORE_PROOF_TAG=lazarus-restore-complete

# The names pg-restore.sh gives, each cut to fit PostgreSQL's 63-byte names: a restored copy is
# <the first 40 characters of DB>_restore_<UTC yyyymmddHHMMSS> (40 + 9 + 14), the live database kept as the rollback
# point <the first 36 characters of DB>_pre_restore_<same stamp> (36 + 13 + 14). The same rule in TypeScript is
# config/swapIn.ts (what a swapIn setting may name); test/lib/patterns-shared-with-shell.test.ts runs both on the same
# names and this script against a real server, so a change to one side alone fails there.
restored_copy_prefix() { printf '%s_restore_' "${1:0:40}"; }
rollback_name() { printf '%s_pre_restore_%s' "${1:0:36}" "$2"; }
# is_restored_copy_of DB NAME: NAME is what a restore of DB is named (not a rollback point, which ends the same way for a
# database named <x>_pre).
is_restored_copy_of() {
  local prefix
  prefix=$(restored_copy_prefix "$1")
  [[ "$2" == "$prefix"* && "${2#"$prefix"}" =~ ^[0-9]{14}$ && ! "$2" =~ _pre_restore_[0-9]{14}$ ]]
}

# Extension -> encryption name ("none", "age", "openssl").
pg_encryption_of() {
  case "$1" in
    *.age) echo age ;;
    *.enc) echo openssl ;;
    *) echo none ;;
  esac
}

# Extension under the encryption's -> "zstd" (a .dump.zst archive) or "none" (pg_restore reads the archive itself).
pg_codec_of() {
  local name=${1%.age}
  name=${name%.enc}
  case "$name" in
    *.zst) echo zstd ;;
    *) echo none ;;
  esac
}

# sha256_of FILE: hex sha256. openssl uses the CPU's SHA extensions where present (2-3x faster than sha256sum on
# large archives); sha256sum is the fallback. Both give the same digest, and sidecars stay `sha256sum -c` compatible.
sha256_of() {
  local out
  if command -v openssl >/dev/null 2>&1 && out=$(openssl dgst -sha256 -r -- "$1" 2>/dev/null); then
    printf '%s\n' "${out%% *}"
  else
    sha256sum -- "$1" | cut -d' ' -f1
  fi
}

# sha256_sidecar_write FILE: writes FILE.sha256 as "<hex>  <basename>" (via a temp name) and prints the hex.
sha256_sidecar_write() {
  local file=$1 dir base sum
  dir=$(dirname "$file")
  base=$(basename "$file")
  sum=$(sha256_of "$file") || return 1
  printf '%s  %s\n' "$sum" "$base" >"$dir/.$base.sha256.tmp" || return 1
  mv -f -- "$dir/.$base.sha256.tmp" "$file.sha256" || return 1
  printf '%s\n' "$sum"
}

# backup_check_presence FILE: the instant refusals, in order: missing (66), empty (65), no or malformed sidecar (65).
backup_check_presence() {
  local file=$1
  [[ -e "$file" ]] || die "$EX_NOINPUT" "backup file not found: $file"
  [[ -f "$file" ]] || die "$EX_NOINPUT" "backup path is not a regular file: $file"
  [[ -r "$file" ]] || die "$EX_NOINPUT" "backup file is not readable: $file"
  [[ -s "$file" ]] || die "$EX_DATAERR" "backup file is empty (0 bytes): $file"
  [[ -f "$file.sha256" ]] || die "$EX_DATAERR" "checksum sidecar missing: $file.sha256 (refusing an unverifiable backup)"
  [[ "$(awk 'NR==1{print $1}' "$file.sha256")" =~ ^[0-9a-f]{64}$ ]] || die "$EX_DATAERR" "checksum sidecar is malformed: $file.sha256"
}

# Phase timings (seconds, 3 decimals) of a restore, for its result line: PHASE_S[name]. phase_mark takes a clock reading;
# phase_add NAME SINCE adds the time since that reading to NAME.
declare -A PHASE_S=()
phase_mark() { date +%s.%N; }
phase_add() {
  PHASE_S[$1]=$(awk -v a="$2" -v b="$(date +%s.%N)" -v prev="${PHASE_S[$1]:-0}" 'BEGIN{printf "%.3f", prev + b - a}')
}
# phases_json: the recorded phases as one JSON object ({} when none).
phases_json() {
  local k
  for k in "${!PHASE_S[@]}"; do printf '%s\t%s\n' "$k" "${PHASE_S[$k]}"; done |
    jq -R -s -c 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): (.[1] | tonumber)}) | add // {}'
}

# backup_check_file FILE: backup_check_presence, then the checksum (65 on mismatch). Sets BACKUP_SHA256.
backup_check_file() {
  local file=$1
  backup_check_presence "$file"
  log "checking sha256 of $file"
  local t0
  t0=$(phase_mark)
  backup_checksum_verdict "$file" "$(sha256_of "$file")"
  phase_add checksum_s "$t0"
}

# backup_checksum_verdict FILE ACTUAL: 65 unless ACTUAL is the sidecar's digest. Sets BACKUP_SHA256.
backup_checksum_verdict() {
  local file=$1 actual=$2 expected
  expected=$(awk 'NR==1{print $1}' "$file.sha256")
  [[ "$actual" == "$expected" ]] ||
    die "$EX_DATAERR" "checksum mismatch for $file: sidecar says $expected, file has $actual (truncated or corrupted backup)"
  BACKUP_SHA256=$actual
}

# The checksum of an unencrypted archive runs in the background while pg_restore -l reads its table of contents
# (backup_prepare): one hashes on one core, the other reads on the second. CHECKSUM_PID and CHECKSUM_OUT are for
# stop_background_checksum, which the callers' EXIT traps reach through stop_pg_restore.
CHECKSUM_PID=""
CHECKSUM_OUT=""
stop_background_checksum() {
  [[ -n "${CHECKSUM_PID:-}" ]] && { kill -TERM "$CHECKSUM_PID" 2>/dev/null || true; wait "$CHECKSUM_PID" 2>/dev/null || true; }
  [[ -n "${CHECKSUM_OUT:-}" ]] && rm -f -- "$CHECKSUM_OUT"
  CHECKSUM_PID="" CHECKSUM_OUT=""
}

# backup_unpack FILE OUT: writes the pg_dump archive inside FILE to OUT (mode 0600): decrypted when FILE is encrypted,
# decompressed when it is a .zst, both in one pipeline. A full scratch filesystem exits 73 with the path and the space
# needed; any other decryption failure after a good checksum means the key is wrong (or of the wrong kind), so that is
# what the message says. The tools' messages are kept in memory: the scratch may be full. Returns nonzero (without
# dying) only for a .zst stream that does not decompress, so an unencrypted caller can judge its checksum first.
UNPACK_ERROR=""
backup_unpack() {
  local file=$1 out=$2 enc codec size scratch why rcs dec_rc z_rc
  enc=$(pg_encryption_of "$file")
  codec=$(pg_codec_of "$file")
  scratch=$(dirname -- "$out")
  size=$(stat -c %s -- "$file")
  UNPACK_ERROR=""
  (umask 077 && : >"$out") 2>/dev/null || die "$EX_CANTCREAT" "cannot create the unpacked archive $out"
  case "$enc" in
    age)
      require_cmd age
      [[ -n "${AGE_IDENTITY_FILE:-}" ]] || die "$EX_USAGE" "$file is age-encrypted: set AGE_IDENTITY_FILE (or --identity) to decrypt it"
      [[ -r "$AGE_IDENTITY_FILE" ]] || die "$EX_NOINPUT" "age identity file not readable: $AGE_IDENTITY_FILE"
      log "decrypting $file with age$([[ "$codec" == zstd ]] && echo ' and decompressing it with zstd')"
      ;;
    openssl)
      require_cmd openssl
      [[ -n "${BACKUP_KEY_FILE:-}" ]] || die "$EX_USAGE" "$file is openssl-encrypted: set BACKUP_KEY_FILE (or --key-file) to decrypt it"
      [[ -r "$BACKUP_KEY_FILE" ]] || die "$EX_NOINPUT" "key file not readable: $BACKUP_KEY_FILE"
      log "decrypting $file with openssl aes-256-cbc$([[ "$codec" == zstd ]] && echo ' and decompressing it with zstd')"
      ;;
    none) log "decompressing $file with zstd" ;;
  esac
  [[ "$codec" == zstd ]] && require_cmd zstd
  # The file's size is a lower bound of what the archive needs (a zstd stream written from a pipe does not record its
  # content size; pg_dump's archive is typically 2-3x it); the real need shows as ENOSPC below.
  local what="the unpacked archive"
  [[ "$codec" == zstd ]] && what="the decompressed archive (typically 2-3x the $size-byte file)"
  require_space "$scratch" "$size" "$what"
  # One pipeline, its two statuses on the last line; stderr kept in memory.
  why=$(
    {
      case "$enc" in
        age) age --decrypt -i "$AGE_IDENTITY_FILE" -- "$file" ;;
        openssl) openssl enc -d -aes-256-cbc -pbkdf2 -in "$file" -pass "file:$BACKUP_KEY_FILE" ;;
        none) cat -- "$file" ;;
      esac | if [[ "$codec" == zstd ]]; then zstd -d -q -f -o "$out"; else cat >"$out"; fi
      echo "__status ${PIPESTATUS[0]} ${PIPESTATUS[1]}"
    } 2>&1
  )
  rcs=$(printf '%s\n' "$why" | sed -n 's/^__status //p' | tail -n 1)
  why=$(printf '%s\n' "$why" | { grep -v '^__status ' || true; } | head -c 300 | tr '\n' ' ')
  dec_rc=${rcs%% *} z_rc=${rcs##* }
  if [[ "$dec_rc" != 0 || "$z_rc" != 0 ]]; then
    die_if_full "$scratch" "$size" "$what" "$why"
    rm -f -- "$out"
  fi
  # CBC has no authentication: with a wrong key openssl streams garbage, zstd refuses its first bytes and openssl then
  # fails writing into the closed pipe; so for openssl zstd's refusal is the first cause.
  [[ "$enc" == openssl && "$z_rc" != 0 ]] &&
    die "$EX_DATAERR" "cannot decrypt $file: wrong key in $BACKUP_KEY_FILE (openssl decrypted it, but the result is not a zstd stream: $why)"
  # The decryptor failing on its own (not of a broken pipe after the decompressor died) is the key's fault.
  if [[ "$dec_rc" != 0 && ( "$z_rc" == 0 || "$dec_rc" -lt 128 ) ]]; then
    case "$enc" in
      age) die "$EX_DATAERR" "cannot decrypt $file: wrong age identity for this backup (age: ${why})" ;;
      openssl) die "$EX_DATAERR" "cannot decrypt $file: wrong key in $BACKUP_KEY_FILE (openssl: bad decrypt)" ;;
      *) die "$EX_NOINPUT" "cannot read $file: $why" ;;
    esac
  fi
  if [[ "$z_rc" != 0 ]]; then
    UNPACK_ERROR="the archive's zstd stream does not decompress (zstd: ${why})"
    [[ "$enc" == none ]] && return 1
    die "$EX_DATAERR" "$file decrypts but $UNPACK_ERROR: the backup was damaged before it was encrypted"
  fi
  # CBC again: about one wrong key in 256 still yields valid padding and openssl exits 0 with garbage. A pg_dump custom
  # archive always starts with "PGDMP", so anything else is the wrong key (or, unencrypted, not a pg_dump archive).
  if [[ "$(head -c 5 -- "$out")" != PGDMP ]]; then
    rm -f -- "$out"
    [[ "$enc" == openssl ]] && die "$EX_DATAERR" "cannot decrypt $file: wrong key in $BACKUP_KEY_FILE (openssl decrypted it, but the result is not a pg_dump archive)"
    UNPACK_ERROR="what it holds is not a pg_dump custom-format archive (no PGDMP header)"
    [[ "$enc" == none ]] && return 1
    die "$EX_DATAERR" "$file decrypts but $UNPACK_ERROR"
  fi
  return 0
}

# scratch_write FILE TEXT: writes TEXT (and a newline) to FILE in the scratch directory; a failed write exits 73,
# never a wrong verdict on the backup.
scratch_write() {
  local file=$1 text=$2
  if ! printf '%s\n' "$text" >"$file" 2>/dev/null; then
    die_if_full "$(dirname -- "$file")" "$((${#text} + 1))" "$(basename -- "$file")"
    die "$EX_CANTCREAT" "cannot write $file ($((${#text} + 1)) bytes) in the scratch directory"
  fi
}

# backup_check_toc ARCHIVE: pg_restore -l must read the archive's table of contents. Sets TOC_DBNAME, TOC_ENTRIES
# and TOC_FILE (the listing, for callers that want it; removed by the caller's cleanup). The listing is read into
# memory and then written: pg_restore -l exits 0 even when its output hits a full disk, which would look like an
# archive without a header. With CHECKSUM_PID set (backup_prepare), the checksum running beside it is judged first,
# so a damaged archive is reported as a checksum mismatch, never as an unreadable table of contents.
backup_check_toc() {
  local archive=$1 err listing scratch=${WORK_DIR:-${TMPDIR:-/tmp}} toc_ok=1
  TOC_FILE=$(mktemp "$scratch/toc.XXXXXX" 2>/dev/null) || die "$EX_CANTCREAT" "cannot create a file in the scratch directory $scratch"
  listing=$(pg_restore -l -- "$archive" 2>/dev/null) || toc_ok=0
  [[ -n "${CHECKSUM_PID:-}" ]] && backup_checksum_wait "$archive"
  if ((!toc_ok)); then
    err=$(pg_restore -l -- "$archive" 2>&1 >/dev/null) || true
    die "$EX_DATAERR" "archive table of contents is unreadable (pg_restore -l): $(printf '%s' "$err" | head -c 300 | tr '\n' ' ')"
  fi
  scratch_write "$TOC_FILE" "$listing"
  TOC_DBNAME=$(sed -n 's/^;[[:space:]]*dbname: //p' <<<"$listing" | head -n1)
  TOC_ENTRIES=$(sed -n 's/^;[[:space:]]*TOC Entries: //p' <<<"$listing" | head -n1)
  [[ -n "$TOC_DBNAME" ]] || die "$EX_DATAERR" "archive table of contents has no dbname header: $archive"
  [[ "${TOC_ENTRIES:-0}" -gt 0 ]] || die "$EX_DATAERR" "archive table of contents is empty: $archive"
}

# backup_checksum_wait FILE: waits for the background checksum of FILE and judges it (backup_checksum_verdict). When
# its 64 bytes could not be written (a full scratch), the checksum is taken again here: never a verdict on a guess.
backup_checksum_wait() {
  local file=$1 actual=""
  wait "$CHECKSUM_PID" 2>/dev/null || true
  CHECKSUM_PID=""
  actual=$(head -c 64 -- "$CHECKSUM_OUT" 2>/dev/null || true)
  [[ "$actual" =~ ^[0-9a-f]{64}$ ]] || actual=$(sha256_of "$file")
  stop_background_checksum
  backup_checksum_verdict "$file" "$actual"
  phase_add checksum_s "$CHECKSUM_T0"
}

# backup_prepare FILE: checksum, unpack when needed (decrypt, decompress), TOC. Sets ARCHIVE (a pg_dump archive path
# pg_restore reads) plus everything backup_check_file and backup_check_toc set. Callers remove UNPACKED_FILE in their
# trap. An encrypted archive is checked before it is decrypted (a wrong checksum must not read as a wrong key). An
# unencrypted one is hashed on one core while the other works: beside zstd decompressing a .zst archive into the
# scratch directory, or beside pg_restore -l reading the table of contents of a .dump; the step takes the longer of the
# two rather than their sum (decompress_s or toc_s then include the wait for the checksum). The verdict on the
# checksum always comes first, so a damaged file is reported as a checksum mismatch, never as a bad stream or TOC.
backup_prepare() {
  local file=$1 scratch=${WORK_DIR:-${TMPDIR:-/tmp}} codec t0
  ENCRYPTION=$(pg_encryption_of "$file")
  codec=$(pg_codec_of "$file")
  ARCHIVE=$file
  UNPACKED_FILE=
  if [[ "$ENCRYPTION" != none ]]; then
    backup_check_file "$file"
    UNPACKED_FILE=$(mktemp "$scratch/unpacked.XXXXXX" 2>/dev/null) ||
      die "$EX_CANTCREAT" "cannot create a file in the scratch directory $scratch"
    t0=$(phase_mark)
    backup_unpack "$file" "$UNPACKED_FILE"
    phase_add decrypt_s "$t0"
    ARCHIVE=$UNPACKED_FILE
  else
    backup_check_presence "$file"
    CHECKSUM_T0=$(phase_mark)
    CHECKSUM_OUT=$(mktemp "$scratch/sha256.XXXXXX" 2>/dev/null) || CHECKSUM_OUT=/dev/null
    sha256_of "$file" >"$CHECKSUM_OUT" 2>/dev/null &
    CHECKSUM_PID=$!
    [[ "$CHECKSUM_OUT" == /dev/null ]] && CHECKSUM_OUT=""
    if [[ "$codec" == zstd ]]; then
      log "checking sha256 of $file while decompressing it"
      UNPACKED_FILE=$(mktemp "$scratch/unpacked.XXXXXX" 2>/dev/null) ||
        die "$EX_CANTCREAT" "cannot create a file in the scratch directory $scratch"
      t0=$(phase_mark)
      local unpacked=1
      backup_unpack "$file" "$UNPACKED_FILE" || unpacked=0
      backup_checksum_wait "$file"
      ((unpacked)) || die "$EX_DATAERR" "$file matches its checksum but $UNPACK_ERROR: the backup was damaged when it was written"
      phase_add decompress_s "$t0"
      ARCHIVE=$UNPACKED_FILE
    else
      log "checking sha256 of $file while reading its table of contents"
    fi
  fi
  t0=$(phase_mark)
  backup_check_toc "$ARCHIVE"
  # toc_s is the wall time of the TOC step; for an unencrypted .dump it overlaps checksum_s
  phase_add toc_s "$t0"
  log "archive ok: database '$TOC_DBNAME', $TOC_ENTRIES TOC entries, sha256 $BACKUP_SHA256"
}

# backup_is_plain_sql FILE: an unencrypted plain-format pg_dump (SQL text) rather than a custom-format archive.
backup_is_plain_sql() {
  [[ "$(pg_encryption_of "$1")" == none && "$(pg_codec_of "$1")" == none && -f "$1" && -s "$1" && "$(head -c 5 -- "$1" 2>/dev/null)" != PGDMP ]]
}

# backup_prepare_plain FILE: what stands in for the table of contents of a plain SQL dump (pg_dump -Fp): the checksum,
# pg_dump's header, its closing line (a truncated dump lacks it), and no line that leaves the database being restored
# into (\connect, CREATE/DROP DATABASE: a dump made with -C would restore into, or drop, the live database). Sets what
# backup_prepare sets, with TOC_DBNAME empty: a plain dump does not name its database.
# shellcheck disable=SC2034 # read by pg-restore.sh
backup_prepare_plain() {
  local file=$1 last bad
  backup_check_file "$file"
  head -n 20 -- "$file" | grep -q '^-- PostgreSQL database dump$' ||
    die "$EX_DATAERR" "$file is neither a pg_dump archive nor a plain pg_dump (no '-- PostgreSQL database dump' header)"
  # The line sits inside a "--" comment block; pg_dump 15.14 and later add `\unrestrict <key>` after it.
  last=$(grep -v -e '^[[:space:]]*$' -e '^--$' -e '^\\unrestrict ' -- "$file" | tail -n 1)
  [[ "$last" == "-- PostgreSQL database dump complete" ]] ||
    die "$EX_DATAERR" "$file is an incomplete plain dump: it does not end with '-- PostgreSQL database dump complete' (truncated?)"
  if bad=$(grep -n -m 1 -E '^\\(connect|c)([[:space:]]|$)|^(CREATE|DROP) DATABASE ' -- "$file"); then
    die "$EX_DATAERR" "$file leaves the database it is restored into (line ${bad%%:*}: ${bad#*:}); it was made with pg_dump -C: dump again without -C"
  fi
  ENCRYPTION=none ARCHIVE=$file UNPACKED_FILE="" TOC_FILE="" TOC_DBNAME="" TOC_ENTRIES=""
  log "plain dump ok: sha256 $BACKUP_SHA256"
}

# restore_plain DB FILE: the plain dump into DB with psql, stopping at the first error, in one transaction (all or
# nothing). Run like pg_restore (run_restore_tool), so a SIGTERM ends it at once.
restore_plain() {
  local db=$1 file=$2
  PGOPTIONS="${PGOPTIONS:-} -c synchronous_commit=off -c maintenance_work_mem=${RESTORE_MAINTENANCE_WORK_MEM:-256MB}" \
    run_restore_tool psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$db" -f "$file"
}

# resolve_backup_path PATH_OR_DIR: a directory means its `latest` pointer; the pointer itself (or any link to a
# backup) means the file it names, whose checksum sidecar sits beside it.
resolve_backup_path() {
  local p=$1 target hops=0
  if [[ -d "$p" ]]; then
    [[ -L "$p/latest" || -f "$p/latest" ]] || die "$EX_NOINPUT" "no 'latest' backup pointer in $p"
    p="$p/latest"
  fi
  while [[ -L "$p" ]]; do
    ((++hops <= 8)) || die "$EX_NOINPUT" "too many symbolic links resolving $1"
    target=$(readlink -- "$p")
    [[ "$target" == /* ]] || target="$(dirname -- "$p")/$target"
    p=$target
  done
  printf '%s\n' "$p"
}

# psql_q DB SQL: one query, unaligned tuples only, stop on error.
psql_q() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# sql_ident NAME: double-quoted identifier.
sql_ident() {
  local s=${1//\"/\"\"}
  printf '"%s"' "$s"
}

# sql_literal TEXT: single-quoted literal.
sql_literal() {
  local s=${1//\'/\'\'}
  printf "'%s'" "$s"
}

# server_reachable DB: true when the server answers a query on DB.
server_reachable() {
  psql -X -q -A -t -d "$1" -c 'select 1' >/dev/null 2>&1
}

# s3_upload FILE...: uploads files with s3cmd to S3_URL (s3://bucket/prefix/). Credentials come from the
# environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or S3CMD_CONFIG, never from argv. S3_ENDPOINT is the
# host[:port] of an S3-compatible service (e.g. fra1.digitaloceanspaces.com); S3_NO_SSL=1 for a local test endpoint.
# S3_DRY_RUN=1 prints the command instead of running it.
s3_upload() {
  local url=${S3_URL%/}/ cfg cmd f
  if [[ -n "${S3CMD_CONFIG:-}" ]]; then
    cfg=$S3CMD_CONFIG
  else
    cfg=$(mktemp "${WORK_DIR:-${TMPDIR:-/tmp}}/s3cfg.XXXXXX")
    S3_EMPTY_CFG=$cfg
  fi
  cmd=(s3cmd -c "$cfg" --no-progress)
  if [[ -n "${S3_ENDPOINT:-}" ]]; then
    cmd+=("--host=$S3_ENDPOINT" "--host-bucket=${S3_HOST_BUCKET:-$S3_ENDPOINT}")
  fi
  [[ "${S3_NO_SSL:-0}" == 1 ]] && cmd+=(--no-ssl)
  [[ -n "${S3_REGION:-}" ]] && cmd+=("--region=$S3_REGION")
  for f in "$@"; do
    if [[ "${S3_DRY_RUN:-0}" == 1 ]]; then
      log "dry run: ${cmd[*]} put $f $url$(basename "$f")"
    else
      require_cmd s3cmd
      log "uploading $(basename "$f") to $url"
      "${cmd[@]}" put -- "$f" "$url$(basename "$f")" >&2 || return 1
    fi
  done
  [[ -n "${S3_EMPTY_CFG:-}" ]] && rm -f -- "$S3_EMPTY_CFG"
  return 0
}

# run_restore_tool PROGRAM ARGS...: pg_restore or psql in the background, waited for, with its messages in RESTORE_ERR.
# A trap runs only between commands, never during a foreground command or a command substitution, so this is what lets
# a SIGTERM stop the script at once; the caller's EXIT trap ends RESTORE_PID (stop_pg_restore). Not common.sh's
# run_stoppable (a process group of its own): tried, and pg-faults' SIGTERM-mid-restore test then got no result line
# (cause not yet analysed); this mechanism is the one that test proves.
# shellcheck disable=SC2034 # RESTORE_ERR is read by the callers
run_restore_tool() {
  local err rc=0
  err=$(mktemp "${WORK_DIR:-${TMPDIR:-/tmp}}/$1.err.XXXXXX" 2>/dev/null) || err=/dev/null
  "$@" >"$err" 2>&1 &
  RESTORE_PID=$!
  wait "$RESTORE_PID" || rc=$?
  RESTORE_PID=""
  RESTORE_ERR=$(cat -- "$err" 2>/dev/null || true)
  [[ "$err" == /dev/null ]] || rm -f -- "$err"
  return "$rc"
}

run_pg_restore() { run_restore_tool pg_restore "$@"; }

# stop_pg_restore: for EXIT traps; ends a pg_restore or psql still running (pg_restore cancels its workers' queries).
stop_pg_restore() {
  stop_background_checksum
  [[ -n "${RESTORE_PID:-}" ]] || return 0
  kill -TERM "$RESTORE_PID" 2>/dev/null || true
  wait "$RESTORE_PID" 2>/dev/null || true
  RESTORE_PID=""
}

# restore_archive DB ARCHIVE LIST JOBS [PG_RESTORE_ARGS...]: pg_restore of ARCHIVE (only LIST's entries) into the new
# database DB, with bulk-load session settings, in two steps: the schema (pre-data) serially, then data and indexes
# with JOBS workers (one run when the server's wal_level is minimal, see below). Between them, autovacuum is switched
# off on the new, still empty tables: on a copy being loaded it only scans half-written tables and, when an index
# build needs the table, blocks it for deadlock_timeout before it is cancelled. Tables whose dump sets
# autovacuum_enabled keep their own setting. AUTOVACUUM_OFF holds the switched tables' oids (comma-separated) for
# reenable_autovacuum. On failure returns non-zero with pg_restore's messages in RESTORE_ERR.
# shellcheck disable=SC2034 # RESTORE_ERR and AUTOVACUUM_OFF are read by the callers
restore_archive() {
  local db=$1 archive=$2 list=$3 jobs=$4
  shift 4
  # Bulk-load session settings: no commit waits; room for index sorts; no JIT (it compiles the foreign-key checks'
  # big queries for longer than they run). With several jobs, each index build stays in its own session: parallel
  # workers on top of JOBS concurrent builds only oversubscribe the cores (measured: about 5% slower on two).
  local opts="${PGOPTIONS:-} -c synchronous_commit=off -c maintenance_work_mem=${RESTORE_MAINTENANCE_WORK_MEM:-256MB} -c jit=off"
  local data_opts=$opts
  ((jobs > 1)) && data_opts+=" -c max_parallel_maintenance_workers=0"
  AUTOVACUUM_OFF=""
  local t0 rc=0
  t0=$(phase_mark)
  if [[ "$(psql -X -q -A -t -d "$db" -c 'SHOW wal_level' 2>/dev/null)" == minimal ]]; then
    # With wal_level minimal, one pg_restore run creates each table and loads it in the same transaction, which skips
    # writing the data to WAL: worth far more than keeping autovacuum away, so no two-step run here.
    PGOPTIONS=$data_opts run_pg_restore --exit-on-error -j "$jobs" -L "$list" -d "$db" "$@" -- "$archive" || rc=$?
    phase_add schema_data_indexes_s "$t0"
    return "$rc"
  fi
  PGOPTIONS=$opts run_pg_restore --exit-on-error --section=pre-data -L "$list" -d "$db" "$@" -- "$archive" || return 1
  phase_add pre_data_s "$t0"
  t0=$(phase_mark)
  # One transaction: either every listed table is switched off or none is (e.g. when not their owner).
  if ! AUTOVACUUM_OFF=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" 2>/dev/null <<'SQL'
BEGIN;
CREATE TEMP TABLE lazarus_autovacuum_off ON COMMIT DROP AS
  SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT 1 FROM unnest(c.reloptions) o WHERE o LIKE 'autovacuum\_enabled=%');
SELECT format('ALTER TABLE %s SET (autovacuum_enabled = false)', oid::regclass) FROM lazarus_autovacuum_off \gexec
SELECT coalesce(string_agg(oid::text, ','), '') FROM lazarus_autovacuum_off;
COMMIT;
SQL
  ); then
    AUTOVACUUM_OFF=""
    log "warning: could not switch autovacuum off on the restored tables (not their owner?); it stays on during the load"
  fi
  phase_add autovacuum_off_s "$t0"
  # Data and indexes in one parallel run: an index build starts as soon as its table is loaded (splitting the
  # sections would lose that overlap), so the two are one phase here.
  t0=$(phase_mark)
  PGOPTIONS=$data_opts run_pg_restore --exit-on-error --section=data --section=post-data -j "$jobs" -L "$list" -d "$db" "$@" -- "$archive" || rc=$?
  phase_add data_indexes_s "$t0"
  return "$rc"
}

# reenable_autovacuum DB: undoes restore_archive's switch, so the restored database is maintained like any other.
reenable_autovacuum() {
  local db=$1
  [[ -n "${AUTOVACUUM_OFF:-}" ]] || return 0
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" --single-transaction >/dev/null <<SQL
SELECT format('ALTER TABLE %s RESET (autovacuum_enabled)', oid::regclass) FROM unnest('{$AUTOVACUUM_OFF}'::oid[]) AS t(oid) \gexec
SQL
}
