#!/usr/bin/env bash
# Writes prometheusrule.yaml (Prometheus Operator) and vmrule.yaml (VictoriaMetrics
# Operator) from tierwatch.rules.yaml, the one source of tierwatch's alert rules: the same
# groups, indented under `spec:`. Edit tierwatch.rules.yaml, then run this.
#
#   deploy/tierwatch/alerts/generate.sh           # rewrite both files
#   deploy/tierwatch/alerts/generate.sh --check   # exit 1 (with a diff) if either is stale
#
# tests/integration/dashboards_alerts_test.cc runs --check, and compares the parsed groups.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$DIR/tierwatch.rules.yaml
CHECK=0
case "${1:-}" in
  --check) CHECK=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
grep -q '^groups:' "$SRC" || { echo "generate.sh: $SRC has no top-level groups:" >&2; exit 2; }

# render KIND API_VERSION: the custom resource wrapping the source's groups.
render() {
  cat <<HEADER
# GENERATED from tierwatch.rules.yaml by generate.sh: edit that file and rerun
# deploy/tierwatch/alerts/generate.sh (a test fails when this file is stale).
# Rule conventions, runbooks and how the operators select this resource:
# dashboards/README.md ("Alerts").
apiVersion: $2
kind: $1
metadata:
  name: tierwatch
spec:
HEADER
  # Everything from `groups:` on, two spaces deeper; empty lines stay empty.
  sed -n '/^groups:/,$p' "$SRC" | sed -e 's/^\(.\)/  \1/'
}

status=0
emit() {  # FILE KIND API_VERSION
  local out=$DIR/$1
  if ((CHECK)); then
    if ! diff -u "$out" <(render "$2" "$3") >&2; then
      echo "generate.sh: $1 is stale; run deploy/tierwatch/alerts/generate.sh" >&2
      status=1
    fi
  else
    render "$2" "$3" >"$out.tmp"
    mv "$out.tmp" "$out"
  fi
}

emit prometheusrule.yaml PrometheusRule monitoring.coreos.com/v1
emit vmrule.yaml VMRule operator.victoriametrics.com/v1beta1
exit $status
