#!/usr/bin/env bash
# Checks the files on every stack's hosts against the plan (`npm run drift:hosts`, lib/hostDrift.ts), for the drift
# workflow (.github/workflows/drift.yml). Run from the repository root:
#   bash tools/ci/check-host-files.sh OUT_DIR IDENTITY KNOWN_HOSTS
# For each Pulumi.<stack>.yaml: the hosts come from `pulumi stack output --json` (each platform's `ssh` output), the
# report goes to OUT_DIR/<stack>.hosts.md. Exits 4 when some file differs, else 5 when some stack or host could not be
# checked, else 0.
set -euo pipefail
out="${1:?usage: check-host-files.sh OUT_DIR IDENTITY KNOWN_HOSTS}"
identity="${2:?usage: check-host-files.sh OUT_DIR IDENTITY KNOWN_HOSTS}"
known_hosts="${3:?usage: check-host-files.sh OUT_DIR IDENTITY KNOWN_HOSTS}"
mkdir -p "$out"
shopt -s nullglob
differ=0
failed=0
for file in Pulumi.*.yaml; do
  stack="${file#Pulumi.}"
  stack="${stack%.yaml}"
  if ! pulumi stack output --json --stack "$stack" >"$out/$stack.outputs.json" 2>"$out/$stack.outputs.err"; then
    printf '## Files on hosts of %s\n\n- ❌ pulumi stack output failed: %s\n' "$stack" "$(head -n 1 "$out/$stack.outputs.err")" >"$out/$stack.hosts.md"
    failed=1
    continue
  fi
  rc=0
  npm run --silent drift:hosts -- --stack "$stack" --outputs "$out/$stack.outputs.json" --identity "$identity" \
    --known-hosts "$known_hosts" >"$out/$stack.hosts.md" || rc=$?
  echo "check-host-files: $stack: drift:hosts exited $rc"
  case "$rc" in
    0) ;;
    4) differ=1 ;;
    *) failed=1 ;;
  esac
done
if [ "$differ" -eq 1 ]; then exit 4; fi
if [ "$failed" -eq 1 ]; then exit 5; fi
exit 0
