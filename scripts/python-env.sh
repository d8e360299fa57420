#!/usr/bin/env bash
# A Python virtual environment in .cache/python-env of this repository with the clients the tests
# run against the sidecar (test/python/requirements.txt: boto3), from PyPI. Nothing outside the
# repository changes. Idempotent: a second run with the same requirements returns at once (the
# file's hash is kept beside the environment). Prints the environment's python on stdout; progress
# and errors go to stderr; exits non-zero with a message saying what failed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$repo_root/test/python/requirements.txt"
target="$repo_root/.cache/python-env"
stamp="$target/.requirements.sha256"
python="$target/bin/python"

fail() {
  echo "python-env: $*" >&2
  exit 1
}

command -v python3 >/dev/null || fail "python3 is not installed"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ -x "$python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "$python"
  exit 0
fi

rm -rf "$target"
python3 -m venv "$target" >&2 || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
"$python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements" >&2 || fail "pip install -r test/python/requirements.txt failed"
"$python" -c 'import boto3' || fail "boto3 does not import after the install"
echo "$wanted" >"$stamp"
echo "$python"
