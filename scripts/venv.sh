#!/usr/bin/env bash
# Makes .venv at the repository's root with pyzmq (real libzmq, 4.3.5 with libsodium in its
# wheel), unless it is there already. Used by scripts/test.sh (the interop tests' peer) and
# bench/run.sh (the curve cell's libzmq column loads that wheel's libzmq).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import zmq' 2> /dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check 'pyzmq>=26'
fi
