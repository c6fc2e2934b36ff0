#!/usr/bin/env bash
# Soak: a broker with 4 workers and 100 clients for DURATION seconds (default 600); samples the
# broker's RSS every 10 s and counts its file descriptors before and after. Prints a CSV of
# (seconds, rss_kb) and a summary; exits non-zero if a client failed or descriptors leaked.
#   scripts/soak.sh [DURATION] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
clients=${2:-100}
cargo build --release --quiet --bins
bin=target/release
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fe="tcp://127.0.0.1:$(port)"; be="tcp://127.0.0.1:$(port)"
export RUST_LOG=warn
"$bin/broker" --workers 4 --quiet-workers --frontend "$fe" --backend "$be" > /tmp/soak-broker.out 2>&1 &
broker=$!
trap 'kill -TERM $broker 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true' EXIT
sleep 1
fd_before=$(ls /proc/$broker/fd | wc -l)
# Each client: requests at 20/s with 5 in flight, for the whole duration, checking every reply.
per_client=$((duration * 20))
pids=()
rm -f /tmp/soak-client-*.out # outputs of an earlier, larger run would be counted below
for i in $(seq 1 "$clients"); do
  "$bin/client" "soak$i" --connect "$fe" --requests "$per_client" --window 5 --interval-ms 50 \
    --timeout-ms $(( (duration + 60) * 1000 )) --quiet > "/tmp/soak-client-$i.out" 2>&1 &
  pids+=($!)
done
echo "seconds,rss_kb"
start=$(date +%s)
while true; do
  now=$(( $(date +%s) - start ))
  rss=$(awk '/VmRSS/ {print $2}' /proc/$broker/status)
  echo "$now,$rss"
  alive=0
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1 && break; done
  [ $alive -eq 0 ] && break
  sleep 10
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
sleep 2
fd_after=$(ls /proc/$broker/fd | wc -l)
echo "clients: $clients, failed: $failed; broker fds before: $fd_before, after: $fd_after"
grep -h "replies in" /tmp/soak-client-*.out | awk '{n+=$2+0} END {print "replies:", NR, "clients reported"}'
kill -TERM $broker; wait $broker || true
trap - EXIT
[ "$failed" -eq 0 ] && [ $((fd_after - fd_before)) -le 2 ]
