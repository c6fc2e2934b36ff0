#!/usr/bin/env bash
# The seed demo end to end: a broker with 4 worker processes and 3 clients, then a clean stop.
# Ports: the seed's 5570 (frontend) and 5580 (backend), or DEMO_FRONTEND / DEMO_BACKEND.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bins
bin=target/release
front=${DEMO_FRONTEND:-tcp://127.0.0.1:5570}
back=${DEMO_BACKEND:-tcp://127.0.0.1:5580}
export RUST_LOG=${RUST_LOG:-warn}

echo "== broker 4: frontend $front (ROUTER), backend $back (DEALER), 4 workers =="
"$bin/broker" 4 --frontend "$front" --backend "$back" --work-ms 100 &
broker=$!
trap 'kill -TERM $broker 2>/dev/null || true' EXIT
sleep 0.5
kill -0 $broker 2>/dev/null || { echo "demo: broker did not start" >&2; exit 1; }

echo "== 3 clients, 4 requests each =="
pids=()
for c in client1 client2 client3; do
  "$bin/client" "$c" --connect "$front" --requests 4 --timeout-ms 10000 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done

echo "== stopping the broker (SIGTERM) =="
kill -TERM $broker
wait $broker || status=1
trap - EXIT
if [ $status -eq 0 ]; then echo "== demo ok: every client got its own replies =="; else echo "== demo FAILED ==" >&2; fi
exit $status
