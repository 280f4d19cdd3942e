#!/usr/bin/env bash
# Writes the offline plan of every stack of a checkout as JSON, for the pull-request diff (.github/workflows/pr-preview.yml).
#   bash tools/ci/plan-stacks.sh CHECKOUT OUT_DIR
# The stacks are the checkout's own Pulumi.<stack>.yaml files. For each: OUT_DIR/<stack>.json when `npm run plan`
# planned it (exit 0, or 3: planned with policy violations, which the JSON lists), else OUT_DIR/<stack>.err with its
# messages (exit 2: an invalid stack file, which declares nothing). The head's copy of this script runs on the base
# checkout too, so the base needs nothing but `npm run plan -- --json`. Exits 0 when every stack was planned, 1 if not.
set -euo pipefail
checkout="$(cd "${1:?usage: plan-stacks.sh CHECKOUT OUT_DIR}" && pwd)"
mkdir -p "${2:?usage: plan-stacks.sh CHECKOUT OUT_DIR}"
out="$(cd "$2" && pwd)"
cd "$checkout"
shopt -s nullglob
files=(Pulumi.*.yaml)
if ((${#files[@]} == 0)); then
  echo "plan-stacks: no Pulumi.<stack>.yaml in $checkout" >&2
  exit 1
fi
failed=0
for file in "${files[@]}"; do
  stack="${file#Pulumi.}"
  stack="${stack%.yaml}"
  rc=0
  npm run --silent plan -- --stack "$stack" --json >"$out/$stack.json" 2>"$out/$stack.stderr" || rc=$?
  if [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]; then
    echo "plan-stacks: $stack planned (exit $rc)"
    rm -f "$out/$stack.stderr"
  else
    echo "plan-stacks: $stack NOT planned (exit $rc): $(head -n 3 "$out/$stack.stderr")" >&2
    mv "$out/$stack.stderr" "$out/$stack.err"
    rm -f "$out/$stack.json"
    failed=1
  fi
done
exit "$failed"
