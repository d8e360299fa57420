# shellcheck shell=bash
# Sourced by build-prometheus.sh and build-thanos.sh: building a Prometheus-family release from its
# module on the Go module proxy into .cache/<name>-<version>/bin. The caller sets `label` (for
# messages), `cache_dir`, `target`, `bin_dir`, and defines `fail MESSAGE` (print and exit) and
# `is_ready` (the binaries in bin_dir run and report the wanted version).

# Prints bin_dir and exits when the build is already there; otherwise takes the build lock:
# parallel runs (several test workers, two terminals) wait for one another instead of racing.
# Holding it, no other run is building, so whatever a killed run left behind (<name>-build.*) goes.
go_release_ready_or_lock() {
  local name="$1"
  if is_ready; then
    echo "$bin_dir"
    exit 0
  fi
  command -v go >/dev/null 2>&1 || fail "go not found: install Go (https://go.dev/dl/), or put the binaries into $bin_dir yourself"
  mkdir -p "$cache_dir"
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>"$cache_dir/$name.lock"
  flock 9
  if is_ready; then
    echo "$bin_dir"
    exit 0
  fi
  chmod -R u+w "$cache_dir/$name"-build.* 2>/dev/null || true
  rm -rf "$cache_dir/$name"-build.*
}

work=""
child=""
go_release_cleanup() {
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
trap go_release_cleanup EXIT
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

# go_release_source NAME MODULE MODULE_VERSION VERSION: a fresh work dir ($work, under cache_dir)
# holding a writable copy of the module in $work/src, checked to be release VERSION by its VERSION
# file. The module's go.mod has replace directives, which `go install module@version` refuses:
# it is built as the main module from this copy, so its own go.mod and go.sum apply unchanged.
go_release_source() {
  local name="$1" module="$2" module_version="$3" version="$4" module_dir
  work="$(mktemp -d "$cache_dir/$name-build.XXXXXX")"
  echo "$label: downloading $module@$module_version..." >&2
  # Run from the temp dir, and without any go.work above it, so nothing around changes what `go` resolves.
  cd "$work"
  export GOWORK=off
  long_step go mod download "$module@$module_version" \
    || fail "go mod download $module@$module_version failed (is the Go module proxy, $(go env GOPROXY), reachable? is $(go env GOVERSION) at least the go line of its go.mod?)"
  module_dir="$(go list -m -f '{{.Dir}}' "$module@$module_version")" \
    || fail "go list could not locate $module@$module_version in the module cache"
  [[ "$(cat "$module_dir/VERSION" 2>/dev/null)" == "$version" ]] \
    || fail "$module@$module_version is not release $version (its VERSION file says '$(cat "$module_dir/VERSION" 2>/dev/null)'): fix the versions at the top of this script"
  cp -R "$module_dir" "$work/src" || fail "copying $module_dir failed"
  chmod -R u+w "$work/src"
  mkdir -p "$work/out/bin"
}

# go_release_ldflags VERSION REVISION: the version variables of prometheus/common, as the projects'
# own release builds (.promu.yml) set them. The proxy records no git commit, so the module version
# stands in as the revision.
go_release_ldflags() {
  local version_pkg=github.com/prometheus/common/version
  local ldflags="-X $version_pkg.Version=$1"
  ldflags+=" -X $version_pkg.Revision=$2"
  ldflags+=" -X $version_pkg.Branch=HEAD"
  ldflags+=" -X $version_pkg.BuildUser=$(id -un 2>/dev/null || echo unknown)@$(hostname 2>/dev/null || echo unknown)"
  ldflags+=" -X $version_pkg.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)"
  echo "$ldflags"
}

# Moves the finished $work/out into place, so an interrupted run never leaves a half tree that
# looks ready, and checks it runs there.
go_release_install() {
  rm -rf "$target"
  mv "$work/out" "$target"
  is_ready || fail "the binaries in $bin_dir do not run after moving them into place"
}
