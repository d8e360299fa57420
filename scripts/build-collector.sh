#!/usr/bin/env bash
# Build genai-sidecar's collector distribution (collector/builder-config.yaml) with the
# OpenTelemetry Collector Builder, from the Go module proxy, into
#   .cache/otelcol/<first 16 hex digits of sha256(builder-config.yaml)>/otelcol-genai
# A changed manifest gets a new directory; an unchanged one is reused at once. Go's own module and
# build caches stay where `go env` puts them, so every clone on a machine shares the downloads.
#
# Prints the binary's path on stdout; progress and errors go to stderr. Exits non-zero with a
# message saying what failed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="$repo_root/collector/builder-config.yaml"
cache_dir="$repo_root/.cache/otelcol"

fail() {
  echo "build-collector: $*" >&2
  exit 1
}

[[ -f "$manifest" ]] || fail "missing $manifest"
command -v go >/dev/null 2>&1 || fail "go not found on PATH: the collector is built from source (Go 1.25 or newer)"

# The builder must be the release the manifest pins its collector modules at (the beta v0.x line).
release="$(grep -oE 'go\.opentelemetry\.io/collector/receiver/otlpreceiver v0\.[0-9]+\.[0-9]+' "$manifest" | awk '{print $2}')"
[[ -n "$release" ]] || fail "could not read the collector release from $manifest (otlpreceiver's version)"

key="$(sha256sum "$manifest" | cut -c1-16)"
target="$cache_dir/$key"
binary="$target/otelcol-genai"

is_ready() {
  [[ -x "$binary" ]] && "$binary" --version >/dev/null 2>&1
}

if is_ready; then
  echo "$binary"
  exit 0
fi

mkdir -p "$cache_dir"
# Parallel runs wait for one another instead of building twice.
exec 9>"$cache_dir/build.lock"
flock 9
if is_ready; then
  echo "$binary"
  exit 0
fi

builder_dir="$cache_dir/builder-$release"
if [[ ! -x "$builder_dir/builder" ]]; then
  echo "build-collector: installing the collector builder $release..." >&2
  GOBIN="$builder_dir" go install "go.opentelemetry.io/collector/cmd/builder@$release" \
    || fail "go install go.opentelemetry.io/collector/cmd/builder@$release failed"
fi

work="$(mktemp -d "$cache_dir/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$manifest" "$work/builder-config.yaml"
echo "build-collector: building otelcol-genai ($release) from $manifest; a cold build downloads and compiles for a few minutes..." >&2
started=$SECONDS
if ! (cd "$work" && CGO_ENABLED=0 "$builder_dir/builder" --config builder-config.yaml >"$work/build.log" 2>&1); then
  tail -n 40 "$work/build.log" >&2
  fail "the collector builder failed (full log above, last 40 lines)"
fi
[[ -x "$work/_build/otelcol-genai" ]] || fail "the builder finished but $work/_build/otelcol-genai is missing"

# Move into place only once complete, so an interrupted build never looks ready.
mkdir -p "$work/out"
mv "$work/_build/otelcol-genai" "$work/out/otelcol-genai"
rm -rf "$target"
mv "$work/out" "$target"
is_ready || fail "$binary does not run after building"
# Builds of earlier manifests are never used again.
find "$cache_dir" -mindepth 1 -maxdepth 1 -type d -regextype egrep -regex '.*/[0-9a-f]{16}' ! -name "$key" -exec rm -rf {} +
echo "build-collector: $("$binary" --version) in $((SECONDS - started)) s" >&2
echo "$binary"
