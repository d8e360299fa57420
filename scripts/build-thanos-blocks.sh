#!/usr/bin/env bash
# Build thanos-blocks (test/tools/thanos-blocks: writes a raw block as a Receive replica would and
# downsamples a block with Thanos' own code, for test/integration/thanosDownsample.test.ts) into
#   .cache/thanos-blocks/<first 16 hex digits of sha256(this script + the module's files)>/thanos-blocks
# Changed sources get a new directory; unchanged ones are reused at once. The module requires
# github.com/thanos-io/thanos at the release scripts/build-thanos.sh builds, so after that build
# its dependencies are already in Go's module and build caches and this takes seconds.
#
# Prints the directory holding the binary on stdout (as build-thanos.sh prints its bin directory);
# progress and errors go to stderr. Exits non-zero with a message saying what failed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source_dir="$repo_root/test/tools/thanos-blocks"
cache_dir="$repo_root/.cache/thanos-blocks"

fail() {
  echo "build-thanos-blocks: $*" >&2
  exit 1
}

[[ -f "$source_dir/go.mod" ]] || fail "missing $source_dir/go.mod"
mapfile -t go_files < <(cd "$source_dir" && LC_ALL=C ls -- *.go)
key="$(cd "$source_dir" && cat "$repo_root/scripts/build-thanos-blocks.sh" go.mod go.sum "${go_files[@]}" | sha256sum | cut -c1-16)"
target="$cache_dir/$key"
bin_dir="$target"
binary="$target/thanos-blocks"

is_ready() {
  [[ -x "$binary" ]] && "$binary" help >/dev/null 2>&1
}

label=build-thanos-blocks
# shellcheck source=lib/go-release-build.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-release-build.sh"

go_release_ready_or_lock thanos-blocks

work="$(mktemp -d "$cache_dir/thanos-blocks-build.XXXXXX")"
mkdir -p "$work/out"
echo "build-thanos-blocks: compiling $source_dir with $(go env GOVERSION)..." >&2
started=$SECONDS
# Thanos' build tags (see build-thanos.sh); GOWORK=off so no go.work above changes what resolves.
long_step env CGO_ENABLED=0 GOWORK=off go build -C "$source_dir" -mod=readonly -trimpath -buildvcs=false \
  -tags netgo,slicelabels -o "$work/out/thanos-blocks" . \
  || fail "go build in $source_dir failed (output above)"

go_release_install
# Builds of earlier sources are never used again.
find "$cache_dir" -mindepth 1 -maxdepth 1 -type d -regextype egrep -regex '.*/[0-9a-f]{16}' ! -name "$key" -exec rm -rf {} +
echo "build-thanos-blocks: built in $((SECONDS - started)) s" >&2
echo "$bin_dir"
