#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/run.sh calls it) from files in the repository and, when it is
# present, the real Hubble corpus in TIERWATCH_SHARED_DIR/data/hubble-otel-flows (read in
# place, never copied into the repository). Idempotent: seed files are named by content.
#   fuzz/seed.sh build/asan/fuzz/corpus
set -euo pipefail
out=${1:?usage: fuzz/seed.sh CORPUS_ROOT}
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${TIERWATCH_SHARED_DIR:-$repo/../shared}

# put TARGET PREFIX < data: one seed file named by its hash.
put() {
  local dir="$out/$1" tmp
  mkdir -p "$dir"
  tmp=$(mktemp)
  { printf '%b' "$2"; cat; } >"$tmp"
  mv "$tmp" "$dir/seed-$(sha1sum "$tmp" | cut -c1-16)"
}

# Capture lines: a few per file (the first lines and some spread through it).
lines() {
  local f=$1 n=$2
  awk -v n="$n" 'NR <= n || NR % 37 == 0' "$f" | head -n $((n * 3))
}
captures=("$repo"/examples/*/*.jsonl)
if [ -d "$shared/data/hubble-otel-flows" ]; then
  captures+=("$shared"/data/hubble-otel-flows/*.jsonl)
else
  echo "fuzz/seed: $shared/data/hubble-otel-flows absent; seeding from the repository only" >&2
fi
for f in "${captures[@]}"; do
  [ -f "$f" ] || continue
  while IFS= read -r line; do
    printf '%s' "$line" | put fuzz_jsonpb_line ''
    printf '%s' "$line" | put fuzz_proto_convert '\x01'
  done < <(lines "$f" 8)
done

while IFS= read -r -d '' f; do
  if grep -qE '^kind: *Cilium(Clusterwide)?NetworkPolicy|^kind: *NetworkPolicy' "$f"; then
    put fuzz_policy_parser '' <"$f"
  fi
done < <(find "$repo/tests" "$repo/examples" "$repo/deploy" -name '*.yaml' -print0)

put fuzz_tier_config '' <"$repo/config/tiers.yaml"
put fuzz_daemon_config '' <"$repo/config/tierwatch.example.yaml"

for f in "$repo"/tests/baseline/testdata/*.twb; do
  [ -f "$f" ] || continue
  put fuzz_baseline_snapshot 'R' <"$f"
  # The payload alone, behind the version byte the target's header will carry.
  version=$(od -An -tu2 -j6 -N2 "$f" | tr -d ' ')
  tail -c +25 "$f" | put fuzz_baseline_snapshot "$([ "$version" = 2 ] && echo '\x01' || echo '\x00')"
done
printf 'kind: TierwatchBaseline\nversion: 1\nconnections: []\n' | put fuzz_baseline_snapshot 'D'

for q in "/healthz" "/api/v1/status" "/api/v1/drops\nlimit=2\nclass=dns_blocked" \
  "/api/v1/drops\nnamespace=business\nseverity=warning\nsince=15m" "/api/v1/drops/id1" \
  "/api/v1/connections\nclass=expected_deny\nlimit=10000" "/api/v1/baseline\nformat=yaml" \
  "/api/v1/suggestions\nformat=json" "/metrics"; do
  printf '%b' "$q" | put fuzz_api_query ''
done
