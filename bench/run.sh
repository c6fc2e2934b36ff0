#!/usr/bin/env bash
# Builds and runs the cross-implementation benchmarks (issue #5). Not run by CI.
#   bench/run.sh --quick            # 1 round, quarter-size workloads (~10 min)
#   bench/run.sh --full             # 5 interleaved rounds (default)
#   bench/run.sh --full --conns 10000
#   bench/run.sh --quick --cells reqrep,pubsub     # any subset of the cells
# Any zbench option passes through (see `bench/target/release/zbench --help`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The mem and brokermem cells hold thousands of connections (10 000 in one process for
# brokermem); the binary also raises its own limit as far as the hard limit lets it.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
# Our broker binary (the `ours` broker), from the root workspace, if it exists yet.
if [ -f "$here/../src/bin/broker.rs" ]; then
  (cd "$here/.." && nice -n 10 cargo build --release --bin broker) || echo "warning: broker binary did not build; the 'ours' broker is skipped" >&2
fi
# The curve cell's libzmq column is pyzmq's wheel (libzmq with libsodium), from .venv.
"$here/../scripts/venv.sh" || echo "warning: no .venv with pyzmq; the curve cell has no libzmq column" >&2
(cd "$here" && nice -n 10 cargo build --release)
exec "$here/target/release/zbench" "$@"
