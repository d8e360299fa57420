#!/usr/bin/env bash
# Build Prometheus (`prometheus` and `promtool`) from its source on the Go module proxy into
# .cache/prometheus-<version>/bin/ of this repository: the release the Docker Compose demo and
# k8s/prometheus run, so the tests check the rules and queries with what ships. Nothing is
# installed and no service starts; source and dependencies land in Go's usual module and build
# caches, which every clone on the machine shares (a second clone builds in seconds).
#
# Needs Go 1.23 or newer. The first build on a machine downloads the dependencies and compiles
# them: 2-3 minutes on 2 cores, ~1.4 GB each of module and build cache. Idempotent and quick when
# already built. Prints the bin directory on stdout; progress and errors go to stderr. Exits
# non-zero with a message saying what failed.
set -euo pipefail

# The image tag in docker-compose.yaml and k8s/prometheus/statefulset.yaml (a test keeps them equal).
PROMETHEUS_VERSION=3.5.0
# Prometheus 3.x.y is published as Go module version v0.(300+x).y: 3.5.0 is v0.305.0.
PROMETHEUS_MODULE_VERSION=v0.305.0
MODULE=github.com/prometheus/prometheus

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="$repo_root/.cache"
target="$cache_dir/prometheus-$PROMETHEUS_VERSION"
bin_dir="$target/bin"

fail() {
  echo "build-prometheus: $*" >&2
  exit 1
}

# The binary runs and reports the expected release (a build of another version does not count).
reports_version() {
  local banner
  banner="$("$1" --version 2>&1)" || return 1
  [[ "${banner%%$'\n'*}" == *"version $PROMETHEUS_VERSION "* ]]
}
is_ready() {
  [[ -x "$bin_dir/prometheus" && -x "$bin_dir/promtool" ]] \
    && reports_version "$bin_dir/prometheus" && reports_version "$bin_dir/promtool"
}

if is_ready; then
  echo "$bin_dir"
  exit 0
fi

command -v go >/dev/null 2>&1 || fail "go not found: install Go 1.23 or newer (https://go.dev/dl/), or put prometheus and promtool $PROMETHEUS_VERSION into $bin_dir yourself"

mkdir -p "$cache_dir"
# Parallel runs (several test workers, two terminals) wait for one another instead of racing.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache_dir/prometheus-$PROMETHEUS_VERSION.lock"
  flock 9
  if is_ready; then
    echo "$bin_dir"
    exit 0
  fi
  # Holding the lock, no other run is building: whatever a killed run left behind can go.
  chmod -R u+w "$cache_dir"/prometheus-build.* 2>/dev/null || true
  rm -rf "$cache_dir"/prometheus-build.*
fi

work=""
child=""
cleanup() {
  if [[ -n "$child" ]]; then
    kill "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [[ -n "$work" ]]; then
    chmod -R u+w "$work" 2>/dev/null || true
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
# The slow steps run in the background and are waited for, so a signal stops them and cleans up
# at once rather than after minutes of compiling.
long_step() {
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=""
  return "$status"
}

work="$(mktemp -d "$cache_dir/prometheus-build.XXXXXX")"

echo "build-prometheus: downloading $MODULE@$PROMETHEUS_MODULE_VERSION (Prometheus $PROMETHEUS_VERSION)..." >&2
# Run from the temp dir, and without any go.work above it, so nothing around changes what `go` resolves.
cd "$work"
export GOWORK=off
long_step go mod download "$MODULE@$PROMETHEUS_MODULE_VERSION" || fail "go mod download $MODULE@$PROMETHEUS_MODULE_VERSION failed (is the Go module proxy, $(go env GOPROXY), reachable?)"
module_dir="$(go list -m -f '{{.Dir}}' "$MODULE@$PROMETHEUS_MODULE_VERSION")" \
  || fail "go list could not locate $MODULE@$PROMETHEUS_MODULE_VERSION in the module cache"
[[ "$(cat "$module_dir/VERSION" 2>/dev/null)" == "$PROMETHEUS_VERSION" ]] \
  || fail "$MODULE@$PROMETHEUS_MODULE_VERSION is not Prometheus $PROMETHEUS_VERSION (its VERSION file says '$(cat "$module_dir/VERSION" 2>/dev/null)'): fix the two versions at the top of this script"

# Its go.mod has replace/exclude directives, which `go install module@version` refuses: build
# it as the main module from a writable copy instead.
cp -R "$module_dir" "$work/src" || fail "copying $module_dir failed"
chmod -R u+w "$work/src"

# The flags of Prometheus' own release build (.promu.yml), except the `builtinassets` tag: the
# web UI's compiled assets are not part of the module, and the HTTP API the tests use does not
# need them. The proxy records no git commit, so the module version stands in as the revision.
version_pkg=github.com/prometheus/common/version
ldflags="-X $version_pkg.Version=$PROMETHEUS_VERSION"
ldflags+=" -X $version_pkg.Revision=$PROMETHEUS_MODULE_VERSION"
ldflags+=" -X $version_pkg.Branch=HEAD"
ldflags+=" -X $version_pkg.BuildUser=$(id -un 2>/dev/null || echo unknown)@$(hostname 2>/dev/null || echo unknown)"
ldflags+=" -X $version_pkg.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)"

echo "build-prometheus: compiling prometheus and promtool $PROMETHEUS_VERSION with $(go env GOVERSION) (the first build on this machine takes minutes)..." >&2
mkdir -p "$work/out/bin"
# -trimpath keeps the temp dir out of the build cache keys, so later builds reuse compiled packages.
long_step env CGO_ENABLED=0 go build -C "$work/src" -trimpath -buildvcs=false -tags netgo -ldflags "$ldflags" \
  -o "$work/out/bin/" ./cmd/prometheus ./cmd/promtool \
  || fail "go build of ./cmd/prometheus and ./cmd/promtool in $MODULE@$PROMETHEUS_MODULE_VERSION failed (output above)"

for binary in prometheus promtool; do
  reports_version "$work/out/bin/$binary" \
    || fail "the built $binary does not report version $PROMETHEUS_VERSION: $("$work/out/bin/$binary" --version 2>&1 | head -n 1 || true)"
done

# Move the finished tree into place, so an interrupted run never leaves a half tree that looks ready.
rm -rf "$target"
mv "$work/out" "$target"

is_ready || fail "$bin_dir/promtool does not run after moving it into place"
echo "build-prometheus: $("$bin_dir/prometheus" --version 2>&1 | head -n 1)" >&2
echo "$bin_dir"
