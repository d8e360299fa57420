#!/usr/bin/env bash
# Fetch Debian's `prometheus` package (it ships both `prometheus` and `promtool`) and unpack it
# into .cache/prometheus/ of this repository, without installing it: no service starts, nothing
# outside the repo changes (except apt's package lists, refreshed only when they are missing).
# Tests and `make test` use .cache/prometheus/usr/bin/promtool to check and unit-test the alert
# rules, and a real Prometheus to run queries.
#
# Idempotent and quick when already fetched. Prints the bin directory on stdout; progress and
# errors go to stderr. Exits non-zero with a message saying what failed.
set -euo pipefail

PACKAGE=prometheus
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="$repo_root/.cache"
target="$cache_dir/prometheus"
bin_dir="$target/usr/bin"

fail() {
  echo "fetch-prometheus: $*" >&2
  exit 1
}
# shellcheck source=lib/apt-download.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt-download.sh"

is_ready() {
  [[ -x "$bin_dir/prometheus" && -x "$bin_dir/promtool" ]] && "$bin_dir/promtool" --version >/dev/null 2>&1
}

if is_ready; then
  echo "$bin_dir"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: this script needs a Debian-based machine (or put prometheus and promtool into $bin_dir yourself)"
command -v dpkg >/dev/null 2>&1 || fail "dpkg not found: this script needs a Debian-based machine"

mkdir -p "$cache_dir"
# Parallel runs (several test workers, two terminals) wait for one another instead of racing.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache_dir/prometheus.lock"
  flock 9
  if is_ready; then
    echo "$bin_dir"
    exit 0
  fi
fi
work="$(mktemp -d "$cache_dir/prometheus-fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

apt_download "$work" fetch-prometheus "$PACKAGE"

shopt -s nullglob
debs=("$work"/"$PACKAGE"_*.deb)
shopt -u nullglob
[[ ${#debs[@]} -eq 1 ]] || fail "expected one ${PACKAGE}_*.deb after apt-get download, found ${#debs[@]}"
echo "fetch-prometheus: unpacking $(basename "${debs[0]}")" >&2

# Unpack beside the target and move it into place, so an interrupted run never leaves a
# half-unpacked tree that looks ready.
dpkg -x "${debs[0]}" "$work/root" || fail "dpkg -x ${debs[0]} failed"
[[ -x "$work/root/usr/bin/prometheus" && -x "$work/root/usr/bin/promtool" ]] \
  || fail "the package did not contain usr/bin/prometheus and usr/bin/promtool"
rm -rf "$target"
mv "$work/root" "$target"

is_ready || fail "$bin_dir/promtool does not run after unpacking"
echo "fetch-prometheus: $("$bin_dir/promtool" --version 2>&1 | head -n 1)" >&2
echo "$bin_dir"
