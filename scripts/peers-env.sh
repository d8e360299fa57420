#!/usr/bin/env bash
# The peers `make bench ARGS=--peers` measures beside the sidecar, installed into .cache/peers/ of
# this repository from the package registries at pinned versions:
#   litellm  LiteLLM proxy (PyPI litellm[proxy], bench/peers/litellm/requirements.txt and
#            constraints.txt) in a virtual environment at .cache/peers/litellm
#   portkey  Portkey gateway (npm @portkey-ai/gateway, bench/peers/portkey/package-lock.json)
#            with `npm ci` at .cache/peers/portkey
# Nothing outside the repository changes. Each peer is built in a .partial folder and moved into
# place only once it imports or its entry exists, so a failed or interrupted install never leaves
# a peer that looks installed. Idempotent: a peer whose pinned files are unchanged (their hash is
# kept beside it) returns at once.
#
# usage: scripts/peers-env.sh [litellm] [portkey]     (no argument: both)
# stdout: one line per peer, tab-separated: `<peer> ok <what to run>` or `<peer> failed <why>`.
# Progress and install logs go to stderr. Exits 1 when any peer failed; the others still install.
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers_dir="$repo_root/bench/peers"
cache_dir="$repo_root/.cache/peers"
ALL_PEERS=(litellm portkey)

# Prints the hash of the files a peer's install is made from, plus the tool versions that shape it.
fingerprint() {
  local peer="$1"
  case "$peer" in
    litellm) { cat "$peers_dir/litellm/requirements.txt" "$peers_dir/litellm/constraints.txt"; python3 --version 2>&1; } | sha256sum | cut -d' ' -f1 ;;
    portkey) { cat "$peers_dir/portkey/package.json" "$peers_dir/portkey/package-lock.json"; node --version; } | sha256sum | cut -d' ' -f1 ;;
  esac
}

# What the bench runs for a peer, relative to nothing: an absolute path.
entry_of() {
  case "$1" in
    litellm) echo "$cache_dir/litellm/bin/python" ;;
    portkey) echo "$cache_dir/portkey/node_modules/@portkey-ai/gateway/build/start-server.js" ;;
  esac
}

is_ready() {
  local peer="$1"
  local stamp="$cache_dir/$peer/.installed.sha256"
  [[ -f "$stamp" && -e "$(entry_of "$peer")" && "$(cat "$stamp")" == "$(fingerprint "$peer")" ]]
}

# Builds litellm into $1 (the .partial folder); returns non-zero with the reason on stdout.
build_litellm() {
  local dir="$1" log="$1.log"
  command -v python3 >/dev/null || { echo "python3 is not installed"; return 1; }
  python3 -m venv "$dir" >"$log" 2>&1 || { echo "python3 -m venv failed (Debian: apt-get install python3-venv): $(tail -n 1 "$log")"; return 1; }
  echo "peers-env: pip install litellm[proxy] (a minute or two the first time)" >&2
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "$peers_dir/litellm/requirements.txt" -c "$peers_dir/litellm/constraints.txt" >>"$log" 2>&1 ||
    { echo "pip install -r bench/peers/litellm/requirements.txt failed: $(grep -m 1 '^ERROR' "$log" || tail -n 1 "$log")"; return 1; }
  # LITELLM_LOCAL_MODEL_COST_MAP: importing litellm otherwise tries to download its price table.
  LITELLM_LOCAL_MODEL_COST_MAP=True "$dir/bin/python" -c 'import litellm.proxy.proxy_cli, prometheus_client' >>"$log" 2>&1 ||
    { echo "litellm.proxy does not import after the install: $(tail -n 1 "$log")"; return 1; }
}

# Builds portkey into $1 (the .partial folder); returns non-zero with the reason on stdout.
build_portkey() {
  local dir="$1" log="$1.log"
  command -v npm >/dev/null || { echo "npm is not installed"; return 1; }
  mkdir -p "$dir" && cp "$peers_dir/portkey/package.json" "$peers_dir/portkey/package-lock.json" "$dir/"
  echo "peers-env: npm ci @portkey-ai/gateway" >&2
  # --ignore-scripts: its only install script is patch-package, which has no patches to apply
  # from the published package.
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >"$log" 2>&1 ||
    { echo "npm ci in bench/peers/portkey failed: $(grep -m 2 'npm error' "$log" | tr '\n' ' ' || tail -n 1 "$log")"; return 1; }
  [[ -f "$dir/node_modules/@portkey-ai/gateway/build/start-server.js" ]] || { echo "npm ci did not install build/start-server.js"; return 1; }
}

install_peer() {
  local peer="$1" target="$cache_dir/$1" partial="$cache_dir/$1.partial" reason
  if is_ready "$peer"; then
    printf '%s\tok\t%s\n' "$peer" "$(entry_of "$peer")"
    return 0
  fi
  rm -rf "$partial" "$partial.log"
  if reason="$("build_$peer" "$partial")"; then
    # The venv's python and the node modules find their files relative to themselves, so the
    # folder can move into place whole.
    rm -rf "$target" && mv "$partial" "$target" && fingerprint "$peer" >"$target/.installed.sha256" && rm -f "$partial.log"
    if is_ready "$peer"; then
      printf '%s\tok\t%s\n' "$peer" "$(entry_of "$peer")"
      return 0
    fi
    reason="installed, but $(entry_of "$peer") is missing after moving it into place"
  fi
  [[ -f "$partial.log" ]] && tail -n 20 "$partial.log" >&2
  rm -rf "$partial" "$partial.log" "$target"
  reason="${reason//$'\n'/ }"
  # One line the bench can show: pip's "from versions: ..." list alone runs to kilobytes.
  [[ ${#reason} -le 300 ]] || reason="${reason:0:297}..."
  printf '%s\tfailed\t%s\n' "$peer" "$reason"
  return 1
}

peers=("$@")
[[ ${#peers[@]} -gt 0 ]] || peers=("${ALL_PEERS[@]}")
for peer in "${peers[@]}"; do
  [[ " ${ALL_PEERS[*]} " == *" $peer "* ]] || { echo "peers-env: unknown peer '$peer' (known: ${ALL_PEERS[*]})" >&2; exit 2; }
done

mkdir -p "$cache_dir"
# Parallel runs wait for one another instead of racing over the same folders.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache_dir/install.lock"
  flock 9
fi
status=0
for peer in "${peers[@]}"; do
  install_peer "$peer" || status=1
done
exit "$status"
