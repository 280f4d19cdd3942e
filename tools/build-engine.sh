#!/usr/bin/env bash
# Builds the real Pulumi engine from Go modules, once per machine, into a cache outside the repository:
#   ${LAZARUS_ENGINE_DIR:-$HOME/.cache/lazarus-engine}/<versions>/bin   pulumi, pulumi-language-nodejs[, pulumi-resource-command]
#   ${LAZARUS_ENGINE_DIR:-$HOME/.cache/lazarus-engine}/<versions>/home  PULUMI_HOME (plugins installed here)
#   ${LAZARUS_ENGINE_DIR:-$HOME/.cache/lazarus-engine}/<versions>/engine.json  what was built, and what is blocked and why
# Versions are pinned in tools/engine/versions.env; each binary is built from a wrapper module in tools/engine/<name>/
# whose committed go.mod/go.sum pin every dependency. A component already built at the pinned version is skipped, so a
# second run takes a second. A cold build takes minutes on two cores (see README). Needs Go >= 1.26 and the Go module
# proxy. A component whose module the proxy does not serve is reported BLOCKED and the rest still lands (exit 0); any
# other failure exits non-zero.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=tools/engine/versions.env
source "$repo/tools/engine/versions.env"

go_bin="${GO:-$(command -v go || true)}"
[ -n "$go_bin" ] || go_bin=/usr/local/go/bin/go
if [ ! -x "$go_bin" ]; then
  echo "build-engine: no Go toolchain (looked for go on PATH and /usr/local/go/bin/go); cannot build the engine" >&2
  exit 1
fi
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -trimpath"
export GOTOOLCHAIN=local

key="pulumi-${PULUMI_VERSION}_nodejs-${NODEJS_HOST_VERSION}_command-${COMMAND_VERSION}"
root="${LAZARUS_ENGINE_DIR:-$HOME/.cache/lazarus-engine}"
dir="$root/$key"
mkdir -p "$dir/bin" "$dir/home"
manifest="$dir/engine.json"
status_dir="$dir/.status"
mkdir -p "$status_dir"

say() { echo "build-engine: $*"; }
started=$SECONDS

sdk_version_var=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

# build NAME WRAPPER_DIR PACKAGE VERSION VERSION_VARIABLE [GONOSUMDB]
build() {
  local name="$1" wrapper="$2" pkg="$3" version="$4" version_var="$5" nosumdb="${6:-}"
  local out="$dir/bin/$name" stamp="$status_dir/$name"
  if [ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "built $version" ]; then
    say "$name $version present"
    return 0
  fi
  say "building $name $version from $pkg (wrapper module tools/engine/$wrapper; a cold build takes minutes)..."
  local t0=$SECONDS
  (
    cd "$repo/tools/engine/$wrapper"
    GONOSUMDB="$nosumdb" "$go_bin" build -ldflags "-s -w -X $version_var=v$version" \
      -o "$out.tmp" "$pkg"
  )
  mv -f "$out.tmp" "$out"
  echo "built $version" >"$stamp"
  say "$name $version built in $((SECONDS - t0))s"
}

build pulumi cli github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$PULUMI_VERSION" "$sdk_version_var"
build pulumi-language-nodejs nodejs github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 "$NODEJS_HOST_VERSION" \
  "$sdk_version_var" "$NODEJS_HOST_NOSUMDB"

# The command provider: built and installed as a plugin when its module is served; otherwise reported blocked.
command_module=github.com/pulumi/pulumi-command/provider
command_status="$status_dir/pulumi-resource-command"
if [ -x "$dir/bin/pulumi-resource-command" ] && [ "$(cat "$command_status" 2>/dev/null)" = "built $COMMAND_VERSION" ]; then
  say "pulumi-resource-command $COMMAND_VERSION present"
elif [ -f "$repo/tools/engine/command/go.mod" ]; then
  # The provider's own version variable (not the SDK's) names the plugin version.
  build pulumi-resource-command command "$command_module/cmd/pulumi-resource-command" "$COMMAND_VERSION" \
    "$command_module/pkg/version.Version"
  say "installing plugin resource command $COMMAND_VERSION into $dir/home"
  PULUMI_HOME="$dir/home" PULUMI_SKIP_UPDATE_CHECK=true \
    "$dir/bin/pulumi" plugin install resource command "$COMMAND_VERSION" --file "$dir/bin/pulumi-resource-command" --reinstall
else
  probe="$(cd "$repo/tools/engine/cli" || exit 0; "$go_bin" mod download -json "$command_module@$COMMAND_MODULE_VERSION" 2>&1 || true)"
  if grep -q '"Zip"' <<<"$probe"; then
    reason="$command_module@$COMMAND_MODULE_VERSION is served now, but tools/engine/command (its wrapper module) is not written yet"
  else
    reason="$command_module@$COMMAND_MODULE_VERSION (tag v$COMMAND_VERSION) is not served by the Go module proxy: $(grep -o '[0-9][0-9][0-9] [A-Za-z ]*' <<<"$probe" | head -1)"
  fi
  echo "blocked $reason" >"$command_status"
  say "BLOCKED: pulumi-resource-command $COMMAND_VERSION: $reason"
  # One built by hand from the provider's tagged source may be installed in PULUMI_HOME (README: "The real engine");
  # the engine tests run whenever one is (test/engine/engineGate.ts).
  if [ -x "$dir/home/plugins/resource-command-v$COMMAND_VERSION/pulumi-resource-command" ] && [ ! -e "$dir/home/plugins/resource-command-v$COMMAND_VERSION.partial" ]; then
    say "a command $COMMAND_VERSION plugin installed by hand is present in $dir/home/plugins: the command engine tests will run"
  else
    say "no command $COMMAND_VERSION plugin in $dir/home/plugins: the command engine tests will be skipped"
  fi
fi

command_state="$(cat "$command_status")"
if [[ "$command_state" == blocked* ]]; then
  command_json="{\"version\": \"$COMMAND_VERSION\", \"module\": \"$command_module@$COMMAND_MODULE_VERSION\", \"status\": \"blocked\", \"reason\": $(printf '%s' "${command_state#blocked }" | node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0,"utf8")))')}"
else
  command_json="{\"version\": \"$COMMAND_VERSION\", \"module\": \"$command_module@$COMMAND_MODULE_VERSION\", \"status\": \"built\"}"
fi
cat >"$manifest.tmp" <<EOF
{
  "key": "$key",
  "bin": "$dir/bin",
  "pulumiHome": "$dir/home",
  "pulumi": {"version": "$PULUMI_VERSION", "module": "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION", "status": "built"},
  "nodejsHost": {"version": "$NODEJS_HOST_VERSION", "module": "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@$NODEJS_HOST_MODULE_VERSION", "status": "built"},
  "command": $command_json
}
EOF
mv -f "$manifest.tmp" "$manifest"
say "engine ready in $dir ($((SECONDS - started))s): $("$dir/bin/pulumi" version 2>/dev/null || echo '?')"
