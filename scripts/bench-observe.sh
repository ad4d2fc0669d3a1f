#!/usr/bin/env bash
# Throughput of `tierwatch observe --relay` against `tierwatch replay`: a looping replay at
# no pacing (followers pull new passes as fast as they read) and one `observe -f -o json`
# client writing to a pipe that only counts lines, for SECONDS seconds. Both processes run
# on this machine, so the figure is for relay + client sharing its cores.
#
#   scripts/bench-observe.sh [TIERWATCH] [CAPTURE] [SECONDS] [FORMAT]
#   scripts/bench-observe.sh build/release/tierwatch examples/zero-trust-rollout/after.jsonl 10 json
#
# Build with the release preset (RelWithDebInfo) first: `make release`.
set -euo pipefail

BIN=${1:-build/release/tierwatch}
CAPTURE=${2:-examples/zero-trust-rollout/after.jsonl}
SECONDS_TO_RUN=${3:-10}
FORMAT=${4:-json}

if [[ ! -x "$BIN" ]]; then
  echo "bench-observe: $BIN is not built (try: make release)" >&2
  exit 2
fi
if [[ ! -r "$CAPTURE" ]]; then
  echo "bench-observe: cannot read capture $CAPTURE" >&2
  exit 2
fi

work=$(mktemp -d)
replay_pid=""
cleanup() {
  if [[ -n "$replay_pid" ]]; then kill -INT "$replay_pid" 2>/dev/null || true; wait "$replay_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/ready"
"$BIN" replay --capture "$CAPTURE" --listen 127.0.0.1:0 --loop >"$work/ready" 2>"$work/replay.log" &
replay_pid=$!
read -r line <"$work/ready"
addr=${line#listening on }
if [[ "$line" != "listening on "* ]]; then
  echo "bench-observe: replay did not start: $line" >&2
  cat "$work/replay.log" >&2
  exit 1
fi

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
replay_before=$(cpu_ticks "$replay_pid")
start=$(date +%s.%N)
# SIGINT ends observe cleanly (it flushes and exits 0); wc counts what reached the pipe.
# `times` in the subshell reports the CPU time of its children (timeout, observe, wc).
lines=$( { { timeout -s INT "$SECONDS_TO_RUN" "$BIN" observe --relay "$addr" -f -o "$FORMAT" \
               2>"$work/observe.log" || true; } | wc -l; times >"$work/times"; } )
end=$(date +%s.%N)
replay_after=$(cpu_ticks "$replay_pid")

elapsed=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }')
rate=$(awk -v n="$lines" -v t="$elapsed" 'BEGIN { printf "%.0f", n / t }')
# times prints "0m1.234s 0m0.567s" for the shell, then the same for its children.
observe_cpu=$(tail -1 "$work/times" | awk '{
  split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.2f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
replay_cpu=$(awk -v a="$replay_after" -v b="$replay_before" -v t="$tck" 'BEGIN { printf "%.2f", (a - b) / t }')
per_cpu=$(awk -v n="$lines" -v o="$observe_cpu" 'BEGIN { if (o > 0) printf "%.0f", n / o; else print "n/a" }')
echo "observe --relay -o $FORMAT: $lines flows in ${elapsed}s = $rate flows/s wall" \
     "(capture $(basename "$CAPTURE"); $(nproc) cores shared by replay and observe;" \
     "load average $(cut -d' ' -f1 /proc/loadavg))"
echo "cpu: observe ${observe_cpu}s ($per_cpu flows per observe cpu-second), replay ${replay_cpu}s"
