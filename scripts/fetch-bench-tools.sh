#!/usr/bin/env bash
# Fetch Debian's `wrk` (load generator) and `nginx-light` (reverse proxy, the benchmark's floor of
# what a proxy costs) and unpack them into .cache/bench-tools/ of this repository, without
# installing them: no service starts, nothing outside the repo changes (except apt's package
# lists, refreshed only when a download fails for want of them).
#
# On bookworm `nginx-light` is a transitional package whose binary lives in `nginx`; the shared
# libraries the machine lacks (LuaJIT for wrk) are fetched too, and `ldd` proves nothing is
# missing. Wrappers in .cache/bench-tools/bin/ set LD_LIBRARY_PATH into the cache and run the
# real binaries; `make bench` uses them.
#
# Idempotent and quick when already fetched. Prints the two wrapper paths on stdout (wrk first,
# then nginx); progress and errors go to stderr. Exits non-zero with a message saying what failed.
set -euo pipefail

# Packages whose files we need. nginx-common only for its licence/config files: our nginx.conf is
# written by the benchmark and includes nothing from /etc/nginx.
PACKAGES=(wrk libluajit-5.1-2 nginx-light nginx nginx-common)
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="$repo_root/.cache"
target="$cache_dir/bench-tools"
bin_dir="$target/bin"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"

fail() {
  echo "fetch-bench-tools: $*" >&2
  exit 1
}

is_ready() {
  [[ -x "$bin_dir/wrk" && -x "$bin_dir/nginx" ]] || return 1
  # `wrk --version` prints its banner and exits 1, so judge it by what it prints.
  local banner
  banner="$("$bin_dir/wrk" --version 2>&1 || true)"
  [[ "$banner" == wrk\ * ]] && "$bin_dir/nginx" -v >/dev/null 2>&1
}

print_paths() {
  echo "$bin_dir/wrk"
  echo "$bin_dir/nginx"
}

if is_ready; then
  print_paths
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: this script needs a Debian-based machine (or put wrk and nginx wrappers into $bin_dir yourself)"
command -v dpkg >/dev/null 2>&1 || fail "dpkg not found: this script needs a Debian-based machine"
command -v ldd >/dev/null 2>&1 || fail "ldd not found: needed to check the unpacked binaries' shared libraries"

mkdir -p "$cache_dir"
# Parallel runs wait for one another instead of racing.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache_dir/bench-tools.lock"
  flock 9
  if is_ready; then
    print_paths
    exit 0
  fi
fi
work="$(mktemp -d "$cache_dir/bench-tools-fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# `apt-get download` writes into the current directory. As root apt warns that its sandbox user
# cannot write there; downloading as root into our own cache is what we want, so say so.
download() {
  (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "${PACKAGES[@]}") >"$work/apt.log" 2>&1
}

# Missing or stale package lists show up as "Unable to locate package", "no installation
# candidate" or a 404 for a version the archive has since replaced: only then refresh the lists.
lists_problem() {
  grep -qiE "unable to locate package|no installation candidate|can't select candidate|404 +not found|failed to fetch" "$work/apt.log"
}

echo "fetch-bench-tools: downloading Debian packages: ${PACKAGES[*]}..." >&2
if ! download; then
  if lists_problem; then
    echo "fetch-bench-tools: package lists missing or stale, running apt-get update..." >&2
    apt-get update -q >"$work/update.log" 2>&1 || {
      cat "$work/update.log" >&2
      fail "apt-get update failed (needs root and access to the Debian archive)"
    }
    download || {
      cat "$work/apt.log" >&2
      fail "apt-get download ${PACKAGES[*]} failed even after apt-get update"
    }
  else
    cat "$work/apt.log" >&2
    fail "apt-get download ${PACKAGES[*]} failed"
  fi
fi

shopt -s nullglob
for package in "${PACKAGES[@]}"; do
  debs=("$work"/"${package}"_*.deb)
  [[ ${#debs[@]} -eq 1 ]] || fail "expected one ${package}_*.deb after apt-get download, found ${#debs[@]}"
  echo "fetch-bench-tools: unpacking $(basename "${debs[0]}")" >&2
  dpkg -x "${debs[0]}" "$work/root" || fail "dpkg -x ${debs[0]} failed"
done
shopt -u nullglob

real_wrk="$work/root/usr/bin/wrk"
real_nginx="$work/root/usr/sbin/nginx"
[[ -x "$real_wrk" ]] || fail "the wrk package did not contain usr/bin/wrk"
[[ -x "$real_nginx" ]] || fail "the nginx packages did not contain usr/sbin/nginx"

# Every shared library must resolve from the machine or from the cache.
lib_path="$work/root/usr/lib/$multiarch:$work/root/lib/$multiarch"
for binary in "$real_wrk" "$real_nginx"; do
  missing="$(LD_LIBRARY_PATH="$lib_path" ldd "$binary" | awk '/not found/ {print $1}' || true)"
  [[ -z "$missing" ]] || fail "$(basename "$binary") needs shared libraries that are neither on this machine nor fetched: $(echo "$missing" | tr '\n' ' ')(add their Debian packages to PACKAGES in $0)"
done

# Unpack beside the target and move it into place, so an interrupted run never leaves a
# half-unpacked tree that looks ready. Wrappers refer to the final location.
final_lib_path="$target/root/usr/lib/$multiarch:$target/root/lib/$multiarch"
mkdir -p "$work/bin"
write_wrapper() {
  local name="$1" real="$2"
  cat >"$work/bin/$name" <<EOF
#!/usr/bin/env bash
# Generated by scripts/fetch-bench-tools.sh: runs Debian's $name from the cache with its libraries.
export LD_LIBRARY_PATH="$final_lib_path\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "$real" "\$@"
EOF
  chmod +x "$work/bin/$name"
}
write_wrapper wrk "$target/root/usr/bin/wrk"
write_wrapper nginx "$target/root/usr/sbin/nginx"

rm -rf "$target"
mkdir -p "$target"
mv "$work/root" "$target/root"
mv "$work/bin" "$target/bin"

is_ready || fail "the unpacked wrk or nginx does not run (try: $bin_dir/wrk --version; $bin_dir/nginx -v)"
wrk_banner="$("$bin_dir/wrk" --version 2>&1 || true)"
echo "fetch-bench-tools: ${wrk_banner%%$'\n'*}; $("$bin_dir/nginx" -v 2>&1)" >&2
print_paths
