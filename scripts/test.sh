#!/usr/bin/env bash
# Runs every test: creates .venv with pyzmq (real libzmq) for the interop tests, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import zmq' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'pyzmq>=26'
fi
export ZMTP_PYTHON="$PWD/.venv/bin/python"
cargo test --workspace --release -- --test-threads=2 "$@"
