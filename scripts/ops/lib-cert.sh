#!/usr/bin/env bash
# Certbot helpers for cert-issue.sh, cert-renew.sh and cert-deploy-hook.sh. Sourced (after ../lib/common.sh), never
# executed. Depends on bash, coreutils, openssl and certbot.

# shellcheck disable=SC2034  # read by the scripts that source this file
readonly CERT_DOMAIN_RE='^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
readonly CERT_NAME_RE='^[A-Za-z0-9][A-Za-z0-9._-]*$'
readonly CERT_EMAIL_RE='^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'

# Certbot's directories; /etc/letsencrypt, /var/lib/letsencrypt and /var/log/letsencrypt unless overridden (tests do).
CERTBOT_CONFIG_DIR=/etc/letsencrypt
CERTBOT_WORK_DIR=/var/lib/letsencrypt
CERTBOT_LOGS_DIR=/var/log/letsencrypt

# certbot_dir_args -- fills the array CERTBOT_DIR_ARGS with the --config-dir/--work-dir/--logs-dir options.
# shellcheck disable=SC2034  # read by the scripts that source this file
CERTBOT_DIR_ARGS=()
certbot_dir_args() {
  CERTBOT_DIR_ARGS=(--config-dir "$CERTBOT_CONFIG_DIR" --work-dir "$CERTBOT_WORK_DIR" --logs-dir "$CERTBOT_LOGS_DIR")
}

# check_abs_path_arg OPTION VALUE -- dies with EX_USAGE unless VALUE is an absolute path.
check_abs_path_arg() {
  [[ "$2" == /* ]] || die "$EX_USAGE" "$1 must be an absolute path, got: $2"
}

# cert_serial CERT_NAME -- prints the serial of the lineage's current certificate, or nothing when there is none.
cert_serial() {
  local pem="$CERTBOT_CONFIG_DIR/live/$1/cert.pem"
  [[ -f "$pem" ]] || return 0
  openssl x509 -in "$pem" -noout -serial | cut -d= -f2
}

# cert_not_after CERT_NAME -- prints the expiry of the lineage's current certificate (openssl's notAfter format).
cert_not_after() {
  local pem="$CERTBOT_CONFIG_DIR/live/$1/cert.pem"
  [[ -f "$pem" ]] || return 0
  openssl x509 -in "$pem" -noout -enddate | cut -d= -f2
}

# cert_lineages -- prints the names of all certificate lineages under the config dir, one per line.
cert_lineages() {
  local d
  for d in "$CERTBOT_CONFIG_DIR"/live/*/; do
    [[ -f "$d/cert.pem" ]] || continue
    basename "$d"
  done
}
