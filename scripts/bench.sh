#!/usr/bin/env bash
# make bench: runs every Google Benchmark binary of a build, then the observe-over-gRPC
# throughput script. Figures are for notes and docs/performance.md; nothing asserts them.
#
#   scripts/bench.sh build/release
set -euo pipefail
BUILD=${1:-build/release}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for b in "$BUILD"/bench/*_bench; do
  [[ -x $b ]] || continue
  echo "=== $(basename "$b") ==="
  "$b" --benchmark_min_time=0.5
done
echo "=== observe --relay against replay ==="
"$ROOT/scripts/bench-observe.sh" "$BUILD/tierwatch" "$ROOT/examples/zero-trust-rollout/after.jsonl" 10 json
