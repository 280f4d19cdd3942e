#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow checker; it runs shellcheck on every `run:` step) from its Go module,
# once per machine, into a cache outside the repository:
#   ${LAZARUS_TOOLS_DIR:-$HOME/.cache/lazarus-tools}/actionlint-<version>/actionlint
# The version is pinned in tools/actionlint.version (read by test/github/workflows.test.ts too); the module's own
# go.sum, checked against the Go checksum database, pins its dependencies. Skipped in a second when present; a cold
# build takes about 10 s. Needs Go (>= 1.24) and the Go module proxy.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
version="$(tr -d '[:space:]' <"$repo/tools/actionlint.version")"
dir="${LAZARUS_TOOLS_DIR:-$HOME/.cache/lazarus-tools}/actionlint-$version"
if [ -x "$dir/actionlint" ] && "$dir/actionlint" -version 2>/dev/null | grep -qx "v$version\|$version"; then
  echo "build-actionlint: actionlint $version present"
  exit 0
fi
go_bin="${GO:-$(command -v go || true)}"
[ -n "$go_bin" ] || go_bin=/usr/local/go/bin/go
if [ ! -x "$go_bin" ]; then
  echo "build-actionlint: no Go toolchain (looked for go on PATH and /usr/local/go/bin/go); cannot build actionlint" >&2
  exit 1
fi
mkdir -p "$dir"
echo "build-actionlint: building github.com/rhysd/actionlint/cmd/actionlint@v$version ..."
GOBIN="$dir" GOTOOLCHAIN=local GOFLAGS="-trimpath" "$go_bin" install \
  -ldflags "-s -w -X github.com/rhysd/actionlint.version=$version" "github.com/rhysd/actionlint/cmd/actionlint@v$version"
echo "build-actionlint: $("$dir/actionlint" -version | head -n 1) in $dir"
