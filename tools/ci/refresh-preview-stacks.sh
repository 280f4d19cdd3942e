#!/usr/bin/env bash
# Runs `pulumi refresh --preview-only` on every stack and keeps the engine's events, for drift detection
# (.github/workflows/drift.yml; `npm run drift -- --events-dir OUT_DIR` reads them, lib/drift.ts says how).
#   bash tools/ci/refresh-preview-stacks.sh PROJECT_DIR OUT_DIR
# The stacks are PROJECT_DIR's Pulumi.<stack>.yaml files. For each: OUT_DIR/<stack>.jsonl (one engine event per line,
# PULUMI_ENABLE_STREAMING_JSON_PREVIEW) and OUT_DIR/<stack>.err (the CLI's stderr, kept when it has anything to say).
# A preview only: nothing is written to the stacks' state or to any resource. Needs `pulumi` on PATH, logged in to the
# state backend, and the providers' credentials (read-only ones suffice). Exits 0; the events say how each went.
set -euo pipefail
project="$(cd "${1:?usage: refresh-preview-stacks.sh PROJECT_DIR OUT_DIR}" && pwd)"
mkdir -p "${2:?usage: refresh-preview-stacks.sh PROJECT_DIR OUT_DIR}"
out="$(cd "$2" && pwd)"
cd "$project"
shopt -s nullglob
for file in Pulumi.*.yaml; do
  stack="${file#Pulumi.}"
  stack="${stack%.yaml}"
  rc=0
  PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true pulumi refresh --preview-only --json --non-interactive --stack "$stack" \
    >"$out/$stack.jsonl" 2>"$out/$stack.err" || rc=$?
  echo "refresh-preview-stacks: $stack: pulumi exited $rc, $(wc -l <"$out/$stack.jsonl") engine events"
  [ -s "$out/$stack.err" ] || rm -f "$out/$stack.err"
done
