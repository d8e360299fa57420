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

label=build-thanos
# shellcheck source=lib/go-release-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-release-build.sh"

go_release_ready_or_lock "thanos-$THANOS_VERSION"
go_release_source thanos "$MODULE" "$THANOS_MODULE_VERSION" "$THANOS_VERSION"

# The flags of Thanos' own release build (.promu.yml): tags netgo and slicelabels (the labels
# implementation Thanos is built and tested with). The web UI's assets are embedded from the
# module (pkg/ui/static/react).
ldflags="$(go_release_ldflags "$THANOS_VERSION" "$THANOS_MODULE_VERSION")"

echo "build-thanos: compiling thanos $THANOS_VERSION with $(go env GOVERSION) (the first build on this machine takes minutes)..." >&2
# -trimpath keeps the temp dir out of the build cache keys, so later builds reuse compiled packages.
long_step env CGO_ENABLED=0 go build -C "$work/src" -trimpath -buildvcs=false -tags netgo,slicelabels \
  -ldflags "$ldflags" -o "$work/out/bin/thanos" ./cmd/thanos \
  || fail "go build of ./cmd/thanos in $MODULE@$THANOS_MODULE_VERSION failed (output above)"

reports_version "$work/out/bin/thanos" \
  || fail "the built thanos does not report version $THANOS_VERSION: $("$work/out/bin/thanos" --version 2>&1 | head -n 1 || true)"

go_release_install
echo "build-thanos: $("$bin_dir/thanos" --version 2>&1 | head -n 1)" >&2
echo "$bin_dir"
