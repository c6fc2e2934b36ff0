#!/usr/bin/env bash
# A/B of two builds of ours (or any implementation), interleaved, for one change at a time.
# This is how the "A/B" figures in BENCHMARKS.md and the commit messages were taken.
#
#   bench/ab.sh thr    OLD_ZBENCH NEW_ZBENCH SIZE COUNT [ROUNDS]    # one-way throughput
#   bench/ab.sh broker OLD_BROKER NEW_BROKER CLIENTS WINDOW TOTAL [ROUNDS]
#   bench/ab.sh CELL   OLD_ZBENCH NEW_ZBENCH [ROUNDS] [ZBENCH OPTIONS...]
#
# CELL is push, pubsub, reqrep, ipc, inproc, curve or lat: that zbench cell, all its cases,
# with implementation IMPL of each build as its two columns (`--impls IMPL@OLD,IMPL@NEW`: each
# run's roles come from that build's binary; the orchestrator, its checks and its interleaving,
# which alternates the two in every case from round to round, are NEW_ZBENCH's). ROUNDS default
# 5. Options pass through, e.g. `--push-sizes 16 --scale 0.5`, or `--quick` (1/4 of the
# messages). The inproc cell runs its mpsc ceiling too. Both builds must know the cell's roles
# (build both from a bench/ at or after the commit that added the cell) and be two files (paths
# name columns).
# Exits 1 if a run failed (the failures are printed).
#
# OLD/NEW_ZBENCH: `zbench` binaries built from two commits (e.g. `git worktree add /tmp/old
# COMMIT && (cd /tmp/old/bench && CARGO_TARGET_DIR=/tmp/old-target cargo build --release)`).
# OLD/NEW_BROKER: broker commands; commas stand for spaces (`/tmp/b,--io-threads,2`). The broker
# mode uses the libzmq load generator and workers of NEW_ZBENCH (default bench/target/release):
# WORKERS of them (env, default 4; the broker cell's many-peer case is WORKERS=64).
# IMPL (env, default ours) picks the implementation in thr mode and in the cell modes (curve:
# IMPL=libzmq is pyzmq's libzmq with libsodium, as in the curve cell). With PAGE_FAULTS=1 the
# receiver runs under `perf stat` and its page faults are printed too (thr mode).
# The two builds alternate which runs first in each round (old new, new old, ...): a fixed order
# favoured one position by several per cent in some cases (BENCHMARKS.md, "Method").
# Prints every sample, then medians per build (cell modes: per case and metric, and new/old).
set -euo pipefail
mode=$1
shift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

wait_ready() { # FILE -> first READY line's payload
  for _ in $(seq 200); do
    if grep -q READY "$1" 2>/dev/null; then
      sed -n 's/^READY //p' "$1" | head -1
      return
    fi
    sleep 0.05
  done
  echo "no READY in $1" >&2
  exit 1
}

thr_once() { # ZBENCH SIZE COUNT -> "msgs_per_s recv_cpu send_cpu [page_faults]"
  local z=$1 size=$2 count=$3 wrap=()
  if [ "${PAGE_FAULTS:-0}" = 1 ]; then wrap=(perf stat -e page-faults -x, -o "$out/pf"); wrap+=(--); fi
  "${wrap[@]}" "$z" role "${IMPL:-ours}" thr-recv "$size" "$count" > "$out/recv" 2> /dev/null &
  local rpid=$!
  local ep
  ep=$(wait_ready "$out/recv")
  local send
  send=$("$z" role "${IMPL:-ours}" thr-send "$ep" "$size" "$count" < /dev/null 2> /dev/null \
    | sed -n 's/^RESULT .*cpu_s=\([0-9.]*\).*/\1/p')
  wait "$rpid"
  local recv
  recv=$(sed -n 's/^RESULT .*msgs_per_s=\([0-9.]*\).*cpu_s=\([0-9.]*\).*/\1 \2/p' "$out/recv")
  local pf=""
  if [ "${PAGE_FAULTS:-0}" = 1 ]; then pf=$(grep page-faults "$out/pf" | cut -d, -f1); fi
  echo "$recv $send $pf"
}

broker_once() { # BROKER_CMD CLIENTS WINDOW TOTAL -> "req_per_s p50_us p99_us broker_cpu_ticks"
  local cmd=${1//,/ } c=$2 w=$3 t=$4 z=${ZBENCH:-"$(dirname "$0")/target/release/zbench"}
  local pf=$((20000 + RANDOM % 10000))
  local pb=$((pf + 1))
  # shellcheck disable=SC2086
  RUST_LOG=warn $cmd --workers 0 --frontend tcp://127.0.0.1:$pf --backend tcp://127.0.0.1:$pb \
    > /dev/null 2>&1 &
  local bpid=$!
  sleep 0.3
  "$z" role libzmq broker-workers "tcp://127.0.0.1:$pb" "${WORKERS:-4}" > /dev/null 2>&1 &
  local wpid=$!
  sleep 0.3
  local r
  r=$("$z" role libzmq broker-load "tcp://127.0.0.1:$pf" "$c" "$w" "$t" $((t / 10)) 64 | grep RESULT)
  local cpu
  cpu=$(awk '{print $14 + $15}' "/proc/$bpid/stat")
  kill "$wpid" 2> /dev/null || true
  kill -INT "$bpid" 2> /dev/null || true
  wait "$bpid" 2> /dev/null || true
  wait "$wpid" 2> /dev/null || true
  echo "$r" | sed 's/.*req_per_s=\([0-9.]*\).*p50_ns=\([0-9]*\).*p99_ns=\([0-9]*\).*/\1 \2 \3/' \
    | awk -v cpu="$cpu" '{printf "%s %.0f %.0f %s\n", $1, $2 / 1000, $3 / 1000, cpu}'
}

order() { # ROUND -> "old new" or "new old": AB BA AB ..., as zbench's round_order
  if [ $(($1 % 2)) -eq 1 ]; then echo old new; else echo new old; fi
}

case "$mode" in
  thr)
    old=$1 new=$2 size=$3 count=$4 rounds=${5:-5}
    cols="msgs/s recv_cpu_s send_cpu_s page_faults"
    for r in $(seq "$rounds"); do
      for which in $(order "$r"); do
        echo "$which $(thr_once "${!which}" "$size" "$count")"
      done
    done > "$out/samples"
    ;;
  broker)
    old=$1 new=$2 c=$3 w=$4 t=$5 rounds=${6:-3}
    cols="req/s p50_us p99_us broker_cpu_ticks"
    for r in $(seq "$rounds"); do
      for which in $(order "$r"); do
        echo "$which $(broker_once "${!which}" "$c" "$w" "$t")"
      done
    done > "$out/samples"
    ;;
  push | pubsub | reqrep | ipc | inproc | curve | lat)
    old=$1 new=$2
    shift 2
    rounds=5
    if [[ ${1:-} =~ ^[0-9]+$ ]]; then
      rounds=$1
      shift
    fi
    if [ "$(realpath "$old")" = "$(realpath "$new")" ]; then
      echo "OLD_ZBENCH and NEW_ZBENCH are one file: copy one (their paths name the columns)" >&2
      exit 2
    fi
    imp=${IMPL:-ours}
    # Progress (every sample, every failure) on stderr; the Markdown report is not needed.
    "$new" --cells "$mode" --impls "$imp@$old,$imp@$new" --rounds "$rounds" --out "$out" "$@" \
      > /dev/null
    status=0
    if grep -q '^### Failures' "$out"/report-*.md; then
      sed -n '/^### Failures/,$p' "$out"/report-*.md >&2
      status=1
    fi
    python3 - "$out"/samples-*.tsv "$imp@$old" "$imp@$new" << 'EOF'
import statistics, sys
path, old, new = sys.argv[1:4]
rows = {}
for line in list(open(path))[1:]:
    _, cell, case, imp, metric, value = line.rstrip("\n").split("\t")
    build = {old: "old", new: "new"}.get(imp, imp)
    rows.setdefault((case, metric), {}).setdefault(build, []).append(float(value))
print(f"{'case':<10} {'metric':<22} {'old median':>11} {'new median':>11} {'new/old':>7}   samples old | new")
fmt = lambda v: " ".join(f"{x:.4g}" for x in v)
for (case, metric), b in rows.items():
    o, n = b.get("old", []), b.get("new", [])
    mo = statistics.median(o) if o else float("nan")
    mn = statistics.median(n) if n else float("nan")
    ratio = f"{mn / mo:.3f}" if o and n and mo else "-"
    print(f"{case:<10} {metric:<22} {mo:>11.4g} {mn:>11.4g} {ratio:>7}   {fmt(o)} | {fmt(n)}")
    for other in sorted(set(b) - {"old", "new"}):
        print(f"{case:<10} {metric:<22} ({other}: median {statistics.median(b[other]):.4g})")
EOF
    exit "$status"
    ;;
  *)
    echo "usage: bench/ab.sh thr|broker|push|pubsub|reqrep|ipc|inproc|curve|lat ..." >&2
    exit 2
    ;;
esac
cat "$out/samples"
python3 - "$out/samples" "$cols" << 'EOF'
import statistics, sys
names = sys.argv[2].split()
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault(f[0], []).append([float(x) for x in f[1:]])
for build in ("old", "new"):
    v = rows.get(build, [])
    if v:
        med = [statistics.median(r[i] for r in v) for i in range(len(v[0]))]
        print(build, "median", " ".join(f"{n} {m:.4g}" for n, m in zip(names, med)))
EOF
