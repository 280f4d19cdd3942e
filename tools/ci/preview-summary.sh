#!/usr/bin/env bash
# The summary of a `pulumi preview` that joins the pull-request comment (.github/workflows/pr-preview.yml): the lines
# that change something, the engine's resource counts, policy results and errors, in a collapsed block.
#   pulumi preview --diff ... | bash tools/ci/preview-summary.sh STACK OUTCOME > preview/STACK.md
# The engine masks secrets as [secret] in its output; nothing else is added here. At most 200 lines are kept.
set -euo pipefail
stack="${1:?usage: preview-summary.sh STACK OUTCOME < preview-output}"
outcome="${2:?usage: preview-summary.sh STACK OUTCOME < preview-output}"
lines="$(grep -E '^\s*[-+~]|\((create|update|replace|delete|create-replacement|delete-replaced)\)|^Resources:|^\s+[0-9]+ (to |unchanged)|^Policies:|^\s*(error|warning): ' | head -n 200 || true)"
echo "<details><summary><code>pulumi preview</code> of ${stack}: ${outcome}</summary>"
echo
echo '```'
printf '%s\n' "${lines:-(no output)}"
echo '```'
echo
echo "</details>"
