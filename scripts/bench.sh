#!/usr/bin/env bash
# make bench: one table, each row measured side by side in the same run (ratios are what
# count on a shared machine; absolute figures are noisy), then every Google Benchmark
# binary in full. Figures go to docs/performance.md; nothing asserts them.
#
#   scripts/bench.sh build/release            # the table, then the benchmark binaries
#   BENCH_TABLE_ONLY=1 scripts/bench.sh build/release
#   BENCH_REPEAT=200 scripts/bench.sh ...     # capture size: the example's after phase x N
#   BENCH_ONLY=live,latency scripts/bench.sh  # some rows only: capture, live, latency,
#                                             # replay, sim (simulate, verdicts, baseline)
set -euo pipefail
BUILD=${1:-build/release}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TW="$BUILD/tierwatch"
EX="$ROOT/examples/zero-trust-rollout"
REPEAT=${BENCH_REPEAT:-100}
for tool in jq python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed for a reference row (apt-get install $tool)" >&2; exit 2; }
done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# CPU seconds (user+sys) and wall seconds of a command, its stdout discarded.
cpu_of() {
  # GNU time writes to a file of its own: the command's stderr is discarded.
  /usr/bin/time -o "$WORK/time.out" -f '%U %S %e' "$@" >/dev/null 2>/dev/null || true
  awk '{printf "%.3f %.3f\n", $1 + $2, $3}' "$WORK/time.out"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.001; printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else printf "%.2f", a / b }'; }

want() { [[ -z ${BENCH_ONLY:-} || ,$BENCH_ONLY, == *,$1,* ]]; }
echo "# preparing: after phase x $REPEAT, baseline from the before phase" >&2
want capture && python3 - "$EX/after.jsonl" "$REPEAT" >"$WORK/capture.jsonl" <<'PY'
import sys, uuid
lines = open(sys.argv[1]).read().splitlines()
for i in range(int(sys.argv[2])):
    for l in lines:
        # fresh uuids, as a long capture has
        j = l.find('"uuid":"')
        if j >= 0:
            l = l[:j + 8] + str(uuid.UUID(int=i * 1000003 + hash(l) % 1000003)) + l[j + 44:]
        print(l)
PY
if want capture; then
  FLOWS=$(wc -l <"$WORK/capture.jsonl")
  MB=$(du -m "$WORK/capture.jsonl" | cut -f1)
fi
"$TW" baseline learn --capture "$EX/before.jsonl" --out "$WORK/baseline.twb" >/dev/null 2>&1

cat >"$WORK/count.py" <<'PY'
import json, sys, collections
c = collections.Counter()
for line in open(sys.argv[1]):
    f = json.loads(line).get("flow", {})
    c[(f.get("verdict"), f.get("source", {}).get("namespace"),
       f.get("destination", {}).get("namespace"))] += 1
print(len(c))
PY

rows=()
: >"$WORK/rows.md"
row() { rows+=("$(printf '| %s | %s | %s | %s | %s |' "$@")"); }

# --- capture ---------------------------------------------------------------------------
if want capture; then
read -r an_cpu an_wall < <(cpu_of "$TW" analyze --capture "$WORK/capture.jsonl" \
  --baseline "$WORK/baseline.twb" --policies "$EX/story-policies")
raw_s=$("$BUILD/bench/raw_capture_bench" --file "$WORK/capture.jsonl" | sed 's/.*seconds=//')
read -r jq_cpu jq_wall < <(cpu_of jq -c -n \
  'reduce inputs as $l ({}; .[($l.flow.verdict // "") + " " + ($l.flow.source.namespace // "") + " " + ($l.flow.destination.namespace // "")] += 1)' \
  "$WORK/capture.jsonl")
read -r py_cpu py_wall < <(cpu_of python3 "$WORK/count.py" "$WORK/capture.jsonl")
an_rate=$(rate "$FLOWS" "$an_cpu")
raw_rate=$(rate "$FLOWS" "$raw_s")
jq_rate=$(rate "$FLOWS" "$jq_cpu")
py_rate=$(rate "$FLOWS" "$py_cpu")
row "capture: \`analyze --baseline --policies\`, $FLOWS flows ($MB MB)" "$an_rate flows/CPU-s" \
  "bare simdjson loop (4 fields) $raw_rate/s" "$(ratio "$an_rate" "$raw_rate")× (target ≥ 0.4)" \
  "jq $jq_rate/s → $(ratio "$an_rate" "$jq_rate")× jq (target ≥ 10); python json $py_rate/s → $(ratio "$an_rate" "$py_rate")×"
fi

# --- live: tierwatch run and replay against the plain C++ gRPC server ------------------
# bench/live_relay_bench --serve streams the example's flows (fresh uuids and times) as fast
# as gRPC takes them; the raw loop (GetFlows + protobuf parse + count) and `tierwatch run`
# (watch mode, the example's baseline and story policies) each read LIVE_N flows from it;
# CPU per flow compared. Then the raw loop reads from `tierwatch replay --loop` instead:
# the replay relay's speed as a load generator, against the plain server's.
LIVE_N=${BENCH_LIVE_FLOWS:-300000}
start_server() {  # command... -> sets SERVER_PID, SERVER_ADDR
  "$@" >"$WORK/server.out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    grep -q "listening on" "$WORK/server.out" 2>/dev/null && break
    sleep 0.1
  done
  SERVER_ADDR=$(sed -n 's/.*listening on //p' "$WORK/server.out" | head -1)
}
stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
# `tierwatch run` (watch mode, the example's baseline and story policies) against ADDR;
# sets run_pid and http (its API address).
start_daemon() {
  cat >"$WORK/run.yaml" <<YAML
relay: {address: "$1", backlog: none}
mode: watch
baseline: {path: $WORK/baseline.twb}
policies: [$EX/story-policies]
http: {listen: "127.0.0.1:0"}
log: {level: info}
YAML
  "$TW" run --config "$WORK/run.yaml" -o json >"$WORK/run.out" 2>"$WORK/run.err" &
  run_pid=$!
  http=""
  for _ in $(seq 1 300); do
    http=$(sed -n 's/.*http listening addr=\([^ ]*\).*/\1/p' "$WORK/run.err" | head -1)
    [[ -n $http ]] && break
    sleep 0.1
  done
}
# Flows the daemon has processed (its /api/v1/status), once it reaches $1 or after 5 min.
wait_processed() {
  local n=0
  for _ in $(seq 1 6000); do
    n=$(python3 -c 'import json,sys,urllib.request
try:
  s = json.load(urllib.request.urlopen("http://" + sys.argv[1] + "/api/v1/status", timeout=2))
  print(s["summary"]["flows"])
except Exception:
  print(0)' "$http" 2>/dev/null || echo 0)
    (( n >= $1 )) && break
    sleep 0.05
  done
  echo "$n"
}
proc_cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }

if want live; then
start_server "$BUILD/bench/live_relay_bench" --serve "$EX/after.jsonl" "$LIVE_N"
read -r raw_flows raw_cpu raw_wall < <("$BUILD/bench/live_relay_bench" --read "$SERVER_ADDR" "$LIVE_N" |
  sed 's/[a-z_]*=//g')
stop_server
start_server "$BUILD/bench/live_relay_bench" --serve "$EX/after.jsonl" "$LIVE_N"
start_daemon "$SERVER_ADDR"
run_start=$(date +%s.%N)
processed=$(wait_processed "$LIVE_N")
run_wall=$(awk -v s="$run_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - s }')
run_cpu=$(proc_cpu "$run_pid")
kill -TERM "$run_pid"; wait "$run_pid" 2>/dev/null || true
stop_server
run_rate=$(rate "$processed" "$run_cpu")
raw_rate=$(rate "$raw_flows" "$raw_cpu")
row "live: \`run\` (watch, baseline, story policies), $processed flows from a plain C++ gRPC server" \
  "$run_rate flows/CPU-s ($(awk -v c="$run_cpu" -v n="$processed" 'BEGIN { printf "%.1f", c / n * 1e6 }') µs CPU/flow, $(rate "$processed" "$run_wall") flows/s wall)" \
  "raw GetFlows + parse loop $raw_rate/CPU-s ($(awk -v c="$raw_cpu" -v n="$raw_flows" 'BEGIN { printf "%.1f", c / n * 1e6 }') µs/flow, $(rate "$raw_flows" "$raw_wall")/s wall)" \
  "$(ratio "$run_rate" "$raw_rate")× (target ≥ 0.9, ≤ 10 µs/flow)" "both processes and the server share the cores"
fi

# --- latency: relay send -> metric update ----------------------------------------------
# The plain server paces the example's flows at RATE/s for LAT_SECONDS, each stamped with
# the wall clock as it is sent; `run` observes now - flow time per flow into
# tierwatch_flow_lag_seconds, whose buckets give p50/p99 (interpolated within a bucket, as
# Prometheus' histogram_quantile does).
if want latency; then
LAT_SECONDS=${BENCH_LATENCY_SECONDS:-5}
for lrate in 50000 100000; do
  start_server "$BUILD/bench/live_relay_bench" --serve-paced "$EX/after.jsonl" "$lrate" "$LAT_SECONDS"
  start_daemon "$SERVER_ADDR"
  for _ in $(seq 1 $((LAT_SECONDS * 20 + 600))); do
    grep -q '^sent=' "$WORK/server.out" && break
    sleep 0.1
  done
  read -r sent sent_s < <(sed -n 's/^sent=\([0-9]*\) seconds=\(.*\)/\1 \2/p' "$WORK/server.out")
  lat_processed=$(wait_processed "${sent:-0}")
  read -r p50 p99 shed < <(python3 - "$http" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen("http://" + sys.argv[1] + "/metrics", timeout=5).read().decode()
buckets, shed = [], 0
for line in text.splitlines():
    if line.startswith("tierwatch_flow_lag_seconds_bucket"):
        le = line.split('le="')[1].split('"')[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
    elif line.startswith("tierwatch_pipeline_shed_total"):
        shed += float(line.split()[-1])
buckets.sort()
def q(p):
    total = buckets[-1][1] if buckets else 0
    if total == 0: return float("nan")
    rank, lo, prev = p * total, 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"): return lo
            return lo + (le - lo) * (rank - prev) / max(c - prev, 1e-9)
        lo, prev = le, c
    return lo
print("%.3f %.3f %d" % (q(0.5) * 1e3, q(0.99) * 1e3, shed))
PY
  )
  lat_cpu=$(proc_cpu "$run_pid")
  kill -TERM "$run_pid"; wait "$run_pid" 2>/dev/null || true
  stop_server
  goal=$([[ $lrate == 50000 ]] && echo "p99 ≤ 1 ms" || echo "p99 ≤ 20 ms")
  row "latency: relay send → metric update at $((lrate / 1000))k flows/s ($LAT_SECONDS s)" \
    "p50 $p50 ms, p99 $p99 ms" \
    "sent ${sent:-0} in ${sent_s:-?} s; processed $lat_processed, shed $shed; daemon $lat_cpu CPU-s" \
    "—" "target $goal; from tierwatch_flow_lag_seconds' buckets"
done
fi

if want replay; then
if [[ -z ${raw_wall:-} ]]; then  # the plain server's reference, when the live row did not run
  start_server "$BUILD/bench/live_relay_bench" --serve "$EX/after.jsonl" "$LIVE_N"
  read -r raw_flows raw_cpu raw_wall < <("$BUILD/bench/live_relay_bench" --read "$SERVER_ADDR" "$LIVE_N" |
    sed 's/[a-z_]*=//g')
  stop_server
fi
start_server "$TW" replay --capture "$EX/after.jsonl" --listen 127.0.0.1:0 --loop
read -r rp_flows rp_cpu rp_wall < <("$BUILD/bench/live_relay_bench" --read "$SERVER_ADDR" "$LIVE_N" |
  sed 's/[a-z_]*=//g')
stop_server
rp_rate=$(rate "$rp_flows" "$rp_wall")
plain_rate=$(rate "$raw_flows" "$raw_wall")
row "load generator: \`replay --loop\` read by the raw loop" "$rp_rate flows/s wall" \
  "plain C++ server: $plain_rate/s wall" "$(ratio "$rp_rate" "$plain_rate")× (target ≥ 0.8)" "one reader"
fi

# --- Google Benchmark figures (one run each, JSON) --------------------------------------
gb() {  # binary filter -> JSON file
  "$BUILD/bench/$1" --benchmark_filter="$2" --benchmark_format=json 2>/dev/null
}
if want sim; then
gb classify_bench 'BM_Simulate1M' >"$WORK/sim.json"
gb policy_verdict_bench 'BM_Generated300/65536|BM_CorrectedSet/65536' >"$WORK/verdict.json"
gb baseline_bench 'BM_MemoryPerConnection/1000000|BM_Snapshot' >"$WORK/baseline.json"
python3 - "$WORK" >>"$WORK/rows.md" <<'PY'
import json, sys, os
w = sys.argv[1]
def load(n):
    try:
        return {b["name"]: b for b in json.load(open(os.path.join(w, n)))["benchmarks"]}
    except Exception:
        return {}
sim, ver, base = load("sim.json"), load("verdict.json"), load("baseline.json")
def row(*c): print("| " + " | ".join(c) + " |")
for name, b in sim.items():
    unit = {"s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[b.get("time_unit", "ns")]
    which = "300 generated policies" if "/1" in name else "corrected set (15 policies)"
    row("simulate: %d connections, %s" % (b.get("connections", 0), which),
        "%.2f s CPU (%d broken)" % (b["cpu_time"] * unit, b.get("broken", 0)),
        "—", "—", "target < 2 s for 1M × 300")
g = ver.get("BM_Generated300/65536"); c = ver.get("BM_CorrectedSet/65536")
if g and c:
    row("policy verdicts/s", "%.0fk/s (300 generated)" % (g["items_per_second"] / 1e3),
        "corrected set (15): %.0fk/s" % (c["items_per_second"] / 1e3), "—", "one core")
m = base.get("BM_MemoryPerConnection/1000000/iterations:1")
if m:
    row("baseline memory at 1M", "%.0f B/connection" % m["bytes_per_connection"],
        "snapshot %.0f B/connection on disk" % m["snapshot_bytes_per_connection"], "—",
        "target ≤ 128 B")
for name, b in base.items():
    if name.startswith("BM_Snapshot"):
        row("baseline snapshot 1M: %s" % name.split("/")[0][3:],
            "%.0f ms" % b["real_time"], "save %.0f ms, load %.0f ms" % (b.get("encode_ms", 0), b.get("decode_ms", 0)),
            "—", "target save ≤ 250 ms, load ≤ 200 ms")
PY
fi

echo
echo "| path | tierwatch | reference, same run | ratio | target / notes |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
cat "$WORK/rows.md"
echo
[[ -n ${BENCH_TABLE_ONLY:-} ]] && exit 0

for b in "$BUILD"/bench/*_bench; do
  [[ -x $b ]] || continue
  echo "=== $(basename "$b") ==="
  "$b" --benchmark_min_time=0.5
done
echo "=== observe --relay against replay ==="
"$ROOT/scripts/bench-observe.sh" "$BUILD/tierwatch" "$ROOT/examples/zero-trust-rollout/after.jsonl" 10 json
