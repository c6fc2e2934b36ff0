#!/usr/bin/env bash
# Runs every test: creates .venv with pyzmq (real libzmq) for the interop tests, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh
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
