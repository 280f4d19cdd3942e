#!/usr/bin/env bash
# cert-issue.sh -- obtain the TLS certificate nginx serves, with certbot's webroot plugin, and make renewals restart
# nginx. Idempotent: while the certificate is not due for renewal, a re-run changes nothing (--keep-until-expiring).
#   1. checks every argument and that the nginx service exists in the compose project (nothing is touched otherwise);
#   2. certbot certonly --webroot --non-interactive --agree-tos (optionally --server for another ACME directory);
#   3. installs a deploy hook in <config-dir>/renewal-hooks/deploy/ that runs cert-deploy-hook.sh, so every renewal
#      (also by Debian's certbot.timer) restarts the nginx service of the compose project;
#   4. restarts nginx when a new certificate was issued, so it serves it.
#
# Usage: cert-issue.sh --domain DOMAIN [--domain DOMAIN...] --email EMAIL --webroot DIR --compose-dir DIR
#                      --nginx-service SERVICE [--project-name NAME] [--cert-name NAME] [--server URL]
#        (or --systemd-unit UNIT in place of --compose-dir DIR --nginx-service SERVICE [--project-name NAME])
#                      [--config-dir DIR] [--work-dir DIR] [--logs-dir DIR] [--wait-timeout SECONDS]
#   --domain DOMAIN          a name on the certificate (repeatable; the first names the lineage unless --cert-name)
#   --email EMAIL            ACME account contact
#   --webroot DIR            directory nginx serves under /.well-known/acme-challenge/ (must exist)
#   --compose-dir DIR        absolute path of the compose project directory
#   --nginx-service SERVICE  compose service to restart after issuance and renewals
#   --systemd-unit UNIT      instead of --compose-dir/--nginx-service/--project-name: the systemd unit of an nginx that
#                            runs on the host itself (restarted with systemctl, checked with systemctl is-active)
#   --project-name NAME      docker compose project name (-p)
#   --cert-name NAME         certbot lineage name (default: the first domain)
#   --server URL             ACME directory URL (https); default: certbot's (Let's Encrypt production)
#   --config-dir/--work-dir/--logs-dir DIR   certbot's directories (default /etc/letsencrypt, /var/lib/letsencrypt,
#                            /var/log/letsencrypt)
#   --wait-timeout SECONDS   how long nginx may take to be running and healthy after its restart (default 120)
#
# Environment: RESULT_FILE (also write the JSON result line there); REQUESTS_CA_BUNDLE (certbot's trust store for the
#   ACME server, e.g. a test CA).
# Output: one JSON line: {"script","status","exit_code","cert_name","domains","issued","serial","not_after",
#   "fullchain","privkey","hook","hook_changed","nginx_restarted","nginx":{service,state,health}|null}
# Exit codes: 0 certificate present and hook installed (and nginx running and healthy when restarted); 64 bad
#   arguments; 65 unknown nginx service or unit, or invalid compose file; 66 missing webroot / compose dir / compose file;
#   69 certbot or docker compose failed, or nginx is not running and healthy after its restart;
#   73 the deploy hook could not be written.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=lib-compose.sh
source "$here/lib-compose.sh"
# shellcheck source=lib-cert.sh
source "$here/lib-cert.sh"

usage() {
  echo "usage: cert-issue.sh --domain DOMAIN [--domain DOMAIN...] --email EMAIL --webroot DIR --compose-dir DIR" \
    "--nginx-service SERVICE [--project-name NAME] | --systemd-unit UNIT [--cert-name NAME] [--server URL]" \
    "[--config-dir DIR] [--work-dir DIR] [--logs-dir DIR] [--wait-timeout SECONDS]"
}

domains=() email="" webroot="" dir="" service="" project="" unit="" cert_name="" server="" wait_timeout=120
while (($#)); do
  case $1 in
    --domain) domains+=("${2-}"); shift 2 || die "$EX_USAGE" "--domain needs a value" ;;
    --email) email=${2-}; shift 2 || die "$EX_USAGE" "--email needs a value" ;;
    --webroot) webroot=${2-}; shift 2 || die "$EX_USAGE" "--webroot needs a value" ;;
    --compose-dir) dir=${2-}; shift 2 || die "$EX_USAGE" "--compose-dir needs a value" ;;
    --nginx-service) service=${2-}; shift 2 || die "$EX_USAGE" "--nginx-service needs a value" ;;
    --project-name) project=${2-}; shift 2 || die "$EX_USAGE" "--project-name needs a value" ;;
    --systemd-unit) unit=${2-}; shift 2 || die "$EX_USAGE" "--systemd-unit needs a value" ;;
    --cert-name) cert_name=${2-}; shift 2 || die "$EX_USAGE" "--cert-name needs a value" ;;
    --server) server=${2-}; shift 2 || die "$EX_USAGE" "--server needs a value" ;;
    --config-dir) CERTBOT_CONFIG_DIR=${2-}; shift 2 || die "$EX_USAGE" "--config-dir needs a value" ;;
    --work-dir) CERTBOT_WORK_DIR=${2-}; shift 2 || die "$EX_USAGE" "--work-dir needs a value" ;;
    --logs-dir) CERTBOT_LOGS_DIR=${2-}; shift 2 || die "$EX_USAGE" "--logs-dir needs a value" ;;
    --wait-timeout) wait_timeout=${2-}; shift 2 || die "$EX_USAGE" "--wait-timeout needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "$EX_USAGE" "unknown argument: $1" ;;
  esac
done

((${#domains[@]})) || { usage >&2; die "$EX_USAGE" "at least one --domain is required"; }
for d in "${domains[@]}"; do
  [[ "$d" =~ $CERT_DOMAIN_RE ]] || die "$EX_USAGE" "invalid --domain: '$d' (a lowercase DNS name such as example.com)"
done
[[ "$email" =~ $CERT_EMAIL_RE ]] || die "$EX_USAGE" "--email is required and must be an address, got: '$email'"
[[ -n "$webroot" ]] || die "$EX_USAGE" "--webroot is required"
check_abs_path_arg --webroot "$webroot"
cert_name=${cert_name:-${domains[0]}}
[[ "$cert_name" =~ $CERT_NAME_RE ]] || die "$EX_USAGE" "invalid --cert-name: '$cert_name'"
[[ -z "$server" || "$server" =~ ^https://[^[:space:]]+$ ]] || die "$EX_USAGE" "--server must be an https:// ACME directory URL, got: '$server'"
check_abs_path_arg --config-dir "$CERTBOT_CONFIG_DIR"
check_abs_path_arg --work-dir "$CERTBOT_WORK_DIR"
check_abs_path_arg --logs-dir "$CERTBOT_LOGS_DIR"
if ! is_uint "$wait_timeout" || ((wait_timeout == 0)); then
  die "$EX_USAGE" "--wait-timeout must be a positive integer, got: $wait_timeout"
fi
[[ -d "$webroot" ]] || die "$EX_NOINPUT" "webroot directory not found: $webroot (nginx must serve it under /.well-known/acme-challenge/)"
edge_init "$dir" "$project" "$service" "$unit"
require_cmd certbot openssl
certbot_dir_args

serial_before=$(cert_serial "$cert_name")
args=(certonly --webroot -w "$webroot" --cert-name "$cert_name" --non-interactive --agree-tos -m "$email"
  --keep-until-expiring "${CERTBOT_DIR_ARGS[@]}")
for d in "${domains[@]}"; do args+=(-d "$d"); done
[[ -z "$server" ]] || args+=(--server "$server")
log "certbot ${args[*]}"
certbot "${args[@]}" >&2 || die "$EX_UNAVAILABLE" "certbot certonly failed for ${domains[*]} (see $CERTBOT_LOGS_DIR/letsencrypt.log)"
serial=$(cert_serial "$cert_name")
[[ -n "$serial" ]] || die "$EX_SOFTWARE" "certbot succeeded but $CERTBOT_CONFIG_DIR/live/$cert_name/cert.pem is missing"
issued=false
[[ "$serial" == "$serial_before" ]] || issued=true

# The deploy hook: a wrapper with this installation's arguments around cert-deploy-hook.sh. Rewritten only when it
# differs, so re-runs report hook_changed=false.
hook_dir="$CERTBOT_CONFIG_DIR/renewal-hooks/deploy"
hook="$hook_dir/lazarus-$cert_name-restart-$EDGE_NAME.sh"
hook_args=(--cert-name "$cert_name" "${EDGE_ARGS[@]}")
hook_text=$(printf '#!/usr/bin/env bash\n# Installed by Lazarus cert-issue.sh: restart %s %s after certbot renews %s.\nexec bash %q' \
  "$([[ $EDGE_MODE == systemd ]] && echo "systemd unit" || echo "compose service")" "$EDGE_NAME" "$cert_name" "$here/cert-deploy-hook.sh"; printf ' %q' "${hook_args[@]}")
hook_changed=false
if [[ ! -f "$hook" || "$(cat "$hook")" != "$hook_text" ]]; then
  mkdir -p "$hook_dir" || die "$EX_CANTCREAT" "cannot create $hook_dir"
  { printf '%s\n' "$hook_text" >"$hook.tmp" && chmod 0755 "$hook.tmp" && mv -f "$hook.tmp" "$hook"; } ||
    die "$EX_CANTCREAT" "cannot write the deploy hook $hook"
  hook_changed=true
  log "installed deploy hook $hook"
fi

result_args=(--arg cert_name "$cert_name" --argjson domains "$(json_array "${domains[@]}")"
  --argjson issued "$issued" --arg serial "$serial" --arg not_after "$(cert_not_after "$cert_name")"
  --arg fullchain "$CERTBOT_CONFIG_DIR/live/$cert_name/fullchain.pem" --arg privkey "$CERTBOT_CONFIG_DIR/live/$cert_name/privkey.pem"
  --arg hook "$hook" --argjson hook_changed "$hook_changed")
if [[ "$issued" == true ]]; then
  rc=0
  edge_restart_checked "$wait_timeout" || rc=$?
  if ((rc != 0)); then
    msg="certificate issued, but the restart of $EDGE_NAME failed"
    ((rc == 1)) || msg="certificate issued, but $EDGE_NAME is not running and healthy after its restart ($(edge_state))"
    log "error: $msg"
    emit_result error "$EX_UNAVAILABLE" "${result_args[@]}" --argjson nginx_restarted "$([[ $rc == 2 ]] && echo true || echo false)" \
      --argjson nginx "$EDGE_ENTRY" --arg error "$msg"
    exit "$EX_UNAVAILABLE"
  fi
  log "certificate $cert_name: serial $serial, newly issued; restarted $EDGE_NAME"
  emit_result ok 0 "${result_args[@]}" --argjson nginx_restarted true --argjson nginx "$EDGE_ENTRY"
else
  log "certificate $cert_name: serial $serial, unchanged"
  emit_result ok 0 "${result_args[@]}" --argjson nginx_restarted false --argjson nginx null
fi
