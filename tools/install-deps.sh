#!/usr/bin/env bash
# Installs everything the tests need: the Debian packages of the real servers and validators the tests drive,
# then the npm packages from package-lock.json, then the real Pulumi engine built from Go modules (tools/build-engine.sh,
# once per machine into a cache outside the repository). Safe to run again; it skips apt when everything is present and
# the engine build when the pinned versions are already built.
set -euo pipefail
cd "$(dirname "$0")/.."

# One package per line, with what needs it.
debian_packages=(
  postgresql-15 postgresql-15-postgis-3 postgresql-client-15  # real PostgreSQL + PostGIS for backup/restore tests
  pgbackrest                                                  # WAL archiving and point-in-time recovery
  pgbouncer                                                   # GoodGo's pooler config is checked by the real daemon
  redis-server redis-tools                                    # Redis backup/restore/AOF tests
  openssh-server openssh-client                               # operation scripts run over a real SSH login on loopback
  certbot pebble                                              # certificate issuance and forced renewal against a local ACME server
  nginx-light                                                 # nginx -t on rendered configs
  shellcheck                                                  # every shipped script is shellcheck-clean
  docker-compose                                              # docker-compose config on rendered compose files
  prometheus prometheus-alertmanager                          # promtool and amtool on rendered monitoring configs
  cloud-init                                                  # cloud-init schema check on rendered user-data
  python3-jsonschema python3-yaml                             # schema checks driven from tests
  age openssl                                                 # backup encryption
  zstd                                                        # pg-backup.sh's archives (.dump.zst) and pgBackRest's repositories
  s3cmd                                                       # pg-backup.sh/audit-export.sh upload to S3-compatible storage (DO Spaces)
  jq coreutils util-linux procps iproute2                     # used by the scripts and the harness
  curl                                                        # pm2-fleet.sh's readiness checks (Pencom), the nginx tests' requests, the
                                                              # DigitalOcean API calls (DBIS promotion, GIV's App Platform) against a loopback API stand-in
  time                                                        # GNU time: peak memory (max RSS) in bench/backup/physical.ts
  cmark-gfm                                                   # GitHub's Markdown renderer: the PR diff comment and the drift issue
  systemd                                                     # systemd-analyze verify/calendar on rendered timer units (Bunty's backups and pgBackRest schedule)
)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${#missing[@]} Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all ${#debian_packages[@]} Debian packages present"
fi

npm ci --no-audit --no-fund --loglevel=error

bash tools/build-engine.sh

bash tools/build-actionlint.sh   # checks .github/workflows/ (test/github/workflows.test.ts)
