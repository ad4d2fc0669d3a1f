#!/usr/bin/env bash
# Measures what deploy/tierwatch's resources and grace period are sized from
# (docs/operations.md#sizing): peak memory (max RSS) of `tierwatch run` on the bundled example
# and with large synthetic baselines, how long loading and the final save of such a baseline
# take, and the peak memory of a daemon kept behind a relay that sends as fast as it can.
#
#   scripts/measure-sizing.sh build/release/tierwatch [CONNECTIONS...]   # default 100000 1000000
#
# Needs GNU time (/usr/bin/time) and python3. Works in a temporary directory, prints one
# line per measurement. Figures depend on the machine; run it on a quiet one.
set -euo pipefail

tw=$(readlink -f "${1:?usage: $0 TIERWATCH_BIN [CONNECTIONS...]}")
shift
sizes=("${@:-100000 1000000}")
# shellcheck disable=SC2206
sizes=(${sizes[*]})
root=$(cd "$(dirname "$0")/.." && pwd)
ex=$root/examples/zero-trust-rollout
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

# Config for `run --capture`: no relay is contacted; http off so runs do not collide.
config() {  # MODE BASELINE
  cat >"$tmp/tw.yaml" <<EOF
relay: {address: "127.0.0.1:1"}
mode: $1
baseline: {path: $2, save_interval: 24h}
http: {listen: ""}
log: {level: info}
EOF
}

maxrss_mib() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }
# Milliseconds between the first log line matching $2 and the first matching $3 in file $1.
span_ms() {
  python3 - "$1" "$2" "$3" <<'EOF'
import re, sys, datetime
path, a, b = sys.argv[1:]
ta = tb = None
for line in open(path):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ", line)
    if not m:
        continue
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
    if ta is None and a in line:
        ta = t
    if ta is not None and tb is None and b in line:
        tb = t
print("%.0f" % ((tb - ta).total_seconds() * 1000) if ta and tb else "n/a")
EOF
}

echo "tierwatch: $tw ($("$tw" --version))"

# 1. The bundled example: learn over the before phase, then watch the after phase.
config learn "$tmp/ex.twb"
/usr/bin/time -v "$tw" run --config "$tmp/tw.yaml" --capture "$ex/before.jsonl" \
  >/dev/null 2>"$tmp/time"
echo "example learn (before.jsonl, $(wc -l <"$ex/before.jsonl") flows): max RSS $(maxrss_mib "$tmp/time") MiB"
config watch "$tmp/ex.twb"
/usr/bin/time -v "$tw" run --config "$tmp/tw.yaml" --capture "$ex/after.jsonl" \
  >/dev/null 2>"$tmp/time"
echo "example watch (after.jsonl, $(wc -l <"$ex/after.jsonl") flows): max RSS $(maxrss_mib "$tmp/time") MiB"

# 2. Large synthetic baselines: memory while watching, load time, final-save time.
for n in "${sizes[@]}"; do
  python3 "$root/scripts/gen-sizing-capture.py" --connections "$n" >"$tmp/big.jsonl"
  "$tw" baseline learn --capture "$tmp/big.jsonl" --out "$tmp/big.twb" >/dev/null
  rm -f "$tmp/big.jsonl"
  size=$(stat -c %s "$tmp/big.twb")
  config watch "$tmp/big.twb"
  : >"$tmp/empty.jsonl"
  /usr/bin/time -v "$tw" run --config "$tmp/tw.yaml" --capture "$tmp/empty.jsonl" \
    >/dev/null 2>"$tmp/time"
  load=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time")
  /usr/bin/time -v "$tw" run --config "$tmp/tw.yaml" --capture "$ex/after.jsonl" \
    >/dev/null 2>"$tmp/time"
  echo "baseline $n connections ($((size / 1024)) KiB on disk): watch max RSS" \
    "$(maxrss_mib "$tmp/time") MiB; start to exit with nothing to read (load) $load"
  # Learn mode: the final save at shutdown writes the whole snapshot again.
  config learn "$tmp/big.twb"
  /usr/bin/time -v "$tw" --log-level info run --config "$tmp/tw.yaml" \
    --capture "$ex/before.jsonl" >/dev/null 2>"$tmp/time"
  echo "baseline $n connections: learn max RSS $(maxrss_mib "$tmp/time") MiB," \
    "shutdown (drain + final save) $(span_ms "$tmp/time" "shutting down: stopping" "baseline saved") ms"
done

# 3. Behind a relay that sends as fast as it can (a looping replay): the event queue fills
#    (pipeline.queue_capacity 65536) and memory shows its worst case.
"$tw" replay --capture "$ex/after.jsonl" --listen 127.0.0.1:0 --loop >"$tmp/replay.out" 2>/dev/null &
for _ in $(seq 100); do grep -q "listening on" "$tmp/replay.out" && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$tmp/replay.out" | head -1)
cat >"$tmp/tw.yaml" <<EOF
relay: {address: "$addr", backlog: all}
mode: watch
baseline: {path: $tmp/ex.twb}
http: {listen: ""}
EOF
/usr/bin/time -v "$tw" run --config "$tmp/tw.yaml" --duration 20s -o json \
  >"$tmp/run.json" 2>"$tmp/time"
events=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r.get('pipeline',{}).get('received', r.get('events','?')))" "$tmp/run.json" 2>/dev/null || echo "?")
echo "relay at full speed for 20 s (watch, example baseline): max RSS $(maxrss_mib "$tmp/time") MiB," \
  "events $events, CPU $(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.1f", u+s}' "$tmp/time") s"
