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

# The nginx these scripts restart after a new certificate: a compose service (--compose-dir, --nginx-service,
# --project-name) or, on a host that runs nginx itself, a systemd unit (--systemd-unit). edge_init picks and checks it;
# edge_restart_checked restarts it and waits until it runs. EDGE_NAME names it in logs; EDGE_ENTRY is its
# {service,state,health} after the last restart (null before).
readonly SYSTEMD_UNIT_RE='^[A-Za-z0-9][A-Za-z0-9@._:-]*$'
# shellcheck disable=SC2034  # read by the scripts that source this file
EDGE_MODE="" EDGE_NAME="" EDGE_ENTRY="null"
# The options that name the chosen nginx again (the deploy hook gets them).
EDGE_ARGS=()

# edge_init COMPOSE_DIR PROJECT SERVICE UNIT -- dies with EX_USAGE on a bad or mixed choice, EX_DATAERR on an unknown one.
edge_init() {
  local dir=$1 project=$2 service=$3 unit=$4
  if [[ -n "$unit" ]]; then
    [[ -z "$dir$project$service" ]] || die "$EX_USAGE" "--systemd-unit excludes --compose-dir, --nginx-service and --project-name (one nginx)"
    [[ "$unit" =~ $SYSTEMD_UNIT_RE ]] || die "$EX_USAGE" "invalid --systemd-unit: '$unit' (a unit name such as nginx)"
    require_cmd systemctl
    systemctl cat "$unit" >/dev/null 2>&1 || die "$EX_DATAERR" "no systemd unit named $unit"
    EDGE_MODE=systemd EDGE_NAME=$unit
    EDGE_ARGS=(--systemd-unit "$unit")
  else
    [[ "$service" =~ $COMPOSE_SERVICE_RE ]] || die "$EX_USAGE" "--nginx-service (or --systemd-unit) is required and must be a service name, got: '$service'"
    compose_init "$dir" "$project"
    compose_check_service "$service"
    EDGE_MODE=compose EDGE_NAME=$service
    EDGE_ARGS=(--compose-dir "$dir" --nginx-service "$service")
    [[ -z "$project" ]] || EDGE_ARGS+=(--project-name "$project")
  fi
}

# edge_restart_checked TIMEOUT -- 0 running (and healthy) after the restart, 1 the restart failed, 2 not running after it.
edge_restart_checked() {
  local timeout=$1 rc=0 state="" waited=0
  if [[ "$EDGE_MODE" == compose ]]; then
    compose_restart_checked "$EDGE_NAME" "$timeout" || rc=$?
    EDGE_ENTRY=$COMPOSE_SERVICE_ENTRY
    return "$rc"
  fi
  EDGE_ENTRY="null"
  systemctl restart "$EDGE_NAME" || return 1
  while :; do
    state=$(systemctl is-active "$EDGE_NAME" 2>/dev/null || true)
    [[ "$state" == active || "$waited" -ge "$timeout" ]] && break
    sleep 1
    waited=$((waited + 1))
  done
  EDGE_ENTRY=$(jq -cn --arg s "$EDGE_NAME" --arg st "$state" '{service: $s, state: $st, health: ""}')
  [[ "$state" == active ]] || return 2
}

# edge_state -- the state (and health) of the last restart, for error messages.
edge_state() {
  jq -r '.state + (if .health != "" then "/" + .health else "" end)' <<<"$EDGE_ENTRY"
}
