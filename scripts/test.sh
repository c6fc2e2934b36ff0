#!/usr/bin/env bash
# Runs every test: creates .venv with pyzmq (real libzmq) for the interop tests, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import zmq' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'pyzmq>=26'
fi
export ZMTP_PYTHON="$PWD/.venv/bin/python"
# zeromq.js (Node.js, libzmq inside) for tests/zeromqjs.rs: the original demo's roles in node.
if [ ! -d tests/js/node_modules/zeromq ]; then
  if [ -f tests/js/package-lock.json ]; then
    (cd tests/js && npm ci --silent --no-audit --no-fund)
  else
    (cd tests/js && npm install --silent --no-audit --no-fund)
  fi
fi
cargo test --workspace --release -- --test-threads=2 "$@"
