#!/usr/bin/env bash
# Build Thanos (the one `thanos` binary: receive, query, compact, store, sidecar, ...) from its
# source on the Go module proxy into .cache/thanos-<version>/bin/thanos of this repository, for
# tests that run a real Receive/Query/Compactor/Store. Nothing is installed and no service starts;
# source and dependencies land in Go's usual module and build caches, which every clone on the
# machine shares (a second clone builds in seconds).
#
# Needs Go 1.26 or newer (Thanos v0.42's go.mod says go 1.26.0). The first build on a machine
# downloads the dependencies and compiles them: about 2 minutes on 2 cores with empty Go caches,
# ~1.4 GB of module cache and ~1.1 GB of build cache (the binary itself is 130 MB); a few seconds
# when another clone already built it. Idempotent and instant when already built. Prints the bin
# directory on stdout; progress and errors go to stderr. Exits non-zero with a message saying
# what failed.
#
# Why v0.42.4: the proxy serves v0.36.0, v0.40.1, v0.41.0 and v0.42.0-v0.42.5 (no v0.37-v0.39).
# The newest, v0.42.5, says `go 1.26.10` in its go.mod, and with Go 1.26.8 and GOTOOLCHAIN=local
# `go mod download github.com/thanos-io/thanos@v0.42.5` already stops with
#   go: github.com/thanos-io/thanos@v0.42.5 requires go >= 1.26.10 (running go 1.26.8; GOTOOLCHAIN=local)
# It would need GOTOOLCHAIN=go1.27.3 (a second toolchain download, and a build cache of its own).
# v0.42.4 (go 1.26.0) builds with the machine's Go and every module it needs is served.
#
# How: Thanos' go.mod has `replace` directives (gomemcache, kuberesolver, galaxycache, kingpin,
# capnp, go-util), which `go install module@version` refuses. Rather than a wrapper module that
# repeats them (and has to resolve and record its own go.sum, which can drift from upstream's),
# it builds a writable copy of the downloaded module as the main module, so its own go.mod and
# go.sum apply unchanged: the same dependency versions as the upstream release.
set -euo pipefail

THANOS_VERSION=0.42.4
THANOS_MODULE_VERSION=v$THANOS_VERSION
MODULE=github.com/thanos-io/thanos

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="$repo_root/.cache"
target="$cache_dir/thanos-$THANOS_VERSION"
bin_dir="$target/bin"

fail() {
  echo "build-thanos: $*" >&2
  exit 1
}

# The binary runs and reports the expected release (a build of another version does not count).
# Its first line reads "thanos, version 0.42.4 (branch: HEAD, revision: v0.42.4)".
reports_version() {
  local banner
  banner="$("$1" --version 2>&1)" || return 1
  [[ "${banner%%$'\n'*}" == *"version $THANOS_VERSION "* ]]
}
is_ready() {
  [[ -x "$bin_dir/thanos" ]] && reports_version "$bin_dir/thanos"
}

if is_ready; then
  echo "$bin_dir"
  exit 0
fi

command -v go >/dev/null 2>&1 || fail "go not found: install Go 1.26 or newer (https://go.dev/dl/), or put thanos $THANOS_VERSION into $bin_dir yourself"

mkdir -p "$cache_dir"
# Parallel runs (several test workers, two terminals) wait for one another instead of racing.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache_dir/thanos-$THANOS_VERSION.lock"
  flock 9
  if is_ready; then
    echo "$bin_dir"
    exit 0
  fi
  # Holding the lock, no other run is building: whatever a killed run left behind can go.
  chmod -R u+w "$cache_dir"/thanos-build.* 2>/dev/null || true
  rm -rf "$cache_dir"/thanos-build.*
fi

work=""
child=""
cleanup() {
  if [[ -n "$child" ]]; then
    # Interrupt the whole process group: a killed `go` leaves its compile and link children
    # running and its /tmp/go-build* dir behind, an interrupted one stops them and tidies up.
    kill -INT -- "-$child" 2>/dev/null || kill "$child" 2>/dev/null || true
    local _
    for _ in {1..50}; do
      kill -0 "$child" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$child" 2>/dev/null || true
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
# at once rather than after minutes of compiling. With setsid each runs in a process group of its
# own (its id is the child's), which cleanup stops as a whole.
long_step() {
  if command -v setsid >/dev/null 2>&1; then
    setsid "$@" &
  else
    "$@" &
  fi
  child=$!
  local status=0
  wait "$child" || status=$?
  child=""
  return "$status"
}

work="$(mktemp -d "$cache_dir/thanos-build.XXXXXX")"

echo "build-thanos: downloading $MODULE@$THANOS_MODULE_VERSION..." >&2
# Run from the temp dir, and without any go.work above it, so nothing around changes what `go` resolves.
cd "$work"
export GOWORK=off
long_step go mod download "$MODULE@$THANOS_MODULE_VERSION" \
  || fail "go mod download $MODULE@$THANOS_MODULE_VERSION failed (is the Go module proxy, $(go env GOPROXY), reachable? is $(go env GOVERSION) at least the go line of its go.mod?)"
module_dir="$(go list -m -f '{{.Dir}}' "$MODULE@$THANOS_MODULE_VERSION")" \
  || fail "go list could not locate $MODULE@$THANOS_MODULE_VERSION in the module cache"
[[ "$(cat "$module_dir/VERSION" 2>/dev/null)" == "$THANOS_VERSION" ]] \
  || fail "$MODULE@$THANOS_MODULE_VERSION is not Thanos $THANOS_VERSION (its VERSION file says '$(cat "$module_dir/VERSION" 2>/dev/null)'): fix the versions at the top of this script"

# The module cache is read-only: build a writable copy as the main module (see the header).
cp -R "$module_dir" "$work/src" || fail "copying $module_dir failed"
chmod -R u+w "$work/src"

# The flags of Thanos' own release build (.promu.yml): tags netgo and slicelabels (the labels
# implementation Thanos is built and tested with), the version variables of prometheus/common.
# The web UI's assets are embedded from the module (pkg/ui/static/react). The proxy records no
# git commit, so the module version stands in as the revision.
version_pkg=github.com/prometheus/common/version
ldflags="-X $version_pkg.Version=$THANOS_VERSION"
ldflags+=" -X $version_pkg.Revision=$THANOS_MODULE_VERSION"
ldflags+=" -X $version_pkg.Branch=HEAD"
ldflags+=" -X $version_pkg.BuildUser=$(id -un 2>/dev/null || echo unknown)@$(hostname 2>/dev/null || echo unknown)"
ldflags+=" -X $version_pkg.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)"

echo "build-thanos: compiling thanos $THANOS_VERSION with $(go env GOVERSION) (the first build on this machine takes minutes)..." >&2
mkdir -p "$work/out/bin"
# -trimpath keeps the temp dir out of the build cache keys, so later builds reuse compiled packages.
long_step env CGO_ENABLED=0 go build -C "$work/src" -trimpath -buildvcs=false -tags netgo,slicelabels \
  -ldflags "$ldflags" -o "$work/out/bin/thanos" ./cmd/thanos \
  || fail "go build of ./cmd/thanos in $MODULE@$THANOS_MODULE_VERSION failed (output above)"

reports_version "$work/out/bin/thanos" \
  || fail "the built thanos does not report version $THANOS_VERSION: $("$work/out/bin/thanos" --version 2>&1 | head -n 1 || true)"

# Move the finished tree into place, so an interrupted run never leaves a half tree that looks ready.
rm -rf "$target"
mv "$work/out" "$target"

is_ready || fail "$bin_dir/thanos does not run after moving it into place"
echo "build-thanos: $("$bin_dir/thanos" --version 2>&1 | head -n 1)" >&2
echo "$bin_dir"
