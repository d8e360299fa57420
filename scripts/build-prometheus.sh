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

label=build-prometheus
# shellcheck source=lib/go-release-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-release-build.sh"

go_release_ready_or_lock "prometheus-$PROMETHEUS_VERSION"
go_release_source prometheus "$MODULE" "$PROMETHEUS_MODULE_VERSION" "$PROMETHEUS_VERSION"

# The flags of Prometheus' own release build (.promu.yml), except the `builtinassets` tag: the
# web UI's compiled assets are not part of the module, and the HTTP API the tests use does not
# need them.
ldflags="$(go_release_ldflags "$PROMETHEUS_VERSION" "$PROMETHEUS_MODULE_VERSION")"

echo "build-prometheus: compiling prometheus and promtool $PROMETHEUS_VERSION with $(go env GOVERSION) (the first build on this machine takes minutes)..." >&2
# -trimpath keeps the temp dir out of the build cache keys, so later builds reuse compiled packages.
long_step env CGO_ENABLED=0 go build -C "$work/src" -trimpath -buildvcs=false -tags netgo -ldflags "$ldflags" \
  -o "$work/out/bin/" ./cmd/prometheus ./cmd/promtool \
  || fail "go build of ./cmd/prometheus and ./cmd/promtool in $MODULE@$PROMETHEUS_MODULE_VERSION failed (output above)"

for binary in prometheus promtool; do
  reports_version "$work/out/bin/$binary" \
    || fail "the built $binary does not report version $PROMETHEUS_VERSION: $("$work/out/bin/$binary" --version 2>&1 | head -n 1 || true)"
done

go_release_install
echo "build-prometheus: $("$bin_dir/prometheus" --version 2>&1 | head -n 1)" >&2
echo "$bin_dir"
