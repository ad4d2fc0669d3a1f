#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz-capable build (the asan preset) for SECONDS each,
# from corpora seeded by fuzz/seed.sh, and prints executions and crashes per target.
#   fuzz/run.sh build/asan 60            # what `make fuzz FUZZ_SECONDS=60` runs
#   FUZZ_TARGETS="fuzz_jsonpb_line" fuzz/run.sh build/asan 300
#   FUZZ_RUNS=10000 FUZZ_SEED=1 fuzz/run.sh build/asan   # what CI runs: a fixed number of
#                                                        # executions from a fixed seed
# Every target first replays fuzz/regressions/TARGET/* (inputs of crashes found and fixed).
# Then it explores: for SECONDS with a random seed (finding new bugs, `make fuzz`), or, with
# FUZZ_RUNS, for that many executions from FUZZ_SEED — the same mutations on every run of
# the same code from a clean corpus, so CI's verdict does not depend on luck or machine
# speed. Corpora grow in BUILD/fuzz/corpus/TARGET (kept between runs); crash inputs land in
# BUILD/fuzz/artifacts/TARGET/. Exit 1 when any target crashed.
set -uo pipefail
build=${1:?usage: fuzz/run.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
runs=${FUZZ_RUNS:-}
seed=${FUZZ_SEED:-0}  # 0: libFuzzer picks one
here=$(cd "$(dirname "$0")" && pwd)
targets=${FUZZ_TARGETS:-"fuzz_jsonpb_line fuzz_proto_convert fuzz_policy_parser fuzz_tier_config fuzz_daemon_config fuzz_baseline_snapshot fuzz_api_query"}

"$here/seed.sh" "$build/fuzz/corpus"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
printf '%-24s %12s %10s %8s %s\n' target executions exec/s corpus result
for t in $targets; do
  bin="$build/fuzz/$t"
  [ -x "$bin" ] || { echo "fuzz: $bin not built" >&2; failed=1; continue; }
  corpus="$build/fuzz/corpus/$t"
  art="$build/fuzz/artifacts/$t"
  log="$build/fuzz/$t.log"
  mkdir -p "$corpus" "$art"
  reg="$here/regressions/$t"
  if compgen -G "$reg/*" >/dev/null; then
    if ! "$bin" "$reg"/* >"$log.regressions" 2>&1; then
      echo "fuzz: $t fails on a regression input (see $log.regressions)" >&2
      grep -m3 -E 'ERROR: |runtime error|SUMMARY' "$log.regressions" >&2
      failed=1
    fi
  fi
  if [ -n "$runs" ]; then limit=(-runs="$runs"); else limit=(-max_total_time="$seconds"); fi
  # -rss_limit_mb and -malloc_limit_mb make a YAML alias bomb a finding, not a hung CI.
  "$bin" "$corpus" "${limit[@]}" -seed="$seed" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 -artifact_prefix="$art/" \
    >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  if [ $rc -eq 0 ]; then result=ok; else
    result="CRASH (rc=$rc, see $log, input in $art)"
    failed=1
    grep -m3 -E 'ERROR: |runtime error|SUMMARY' "$log" >&2
  fi
  printf '%-24s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${speed:-?}" "$size" "$result"
done
exit $failed
