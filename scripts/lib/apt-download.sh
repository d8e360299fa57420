# shellcheck shell=bash
# Sourced by the fetch-*.sh scripts. The caller defines `fail MESSAGE` (print and exit).
#
# apt_download WORK LABEL PACKAGE...: download Debian packages into WORK with `apt-get download`
# (nothing is installed, no service starts). Missing or stale package lists show up as "Unable to
# locate package", "no installation candidate" or a 404 for a version the archive has since
# replaced: only then are the lists refreshed, once, and the download retried.
apt_download() {
  local work="$1" label="$2"
  shift 2
  echo "$label: downloading Debian packages: $*..." >&2
  if apt_download_once "$work" "$@"; then return 0; fi
  if ! grep -qiE "unable to locate package|no installation candidate|can't select candidate|404 +not found|failed to fetch" "$work/apt.log"; then
    cat "$work/apt.log" >&2
    fail "apt-get download $* failed"
  fi
  echo "$label: package lists missing or stale, running apt-get update..." >&2
  apt-get update -q >"$work/update.log" 2>&1 || {
    cat "$work/update.log" >&2
    fail "apt-get update failed (needs root and access to the Debian archive)"
  }
  apt_download_once "$work" "$@" || {
    cat "$work/apt.log" >&2
    fail "apt-get download $* failed even after apt-get update"
  }
}

# `apt-get download` writes into the current directory. As root apt warns that its sandbox user
# cannot write there; downloading as root into our own cache is what we want, so say so.
apt_download_once() {
  local work="$1"
  shift
  (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$@") >"$work/apt.log" 2>&1
}
