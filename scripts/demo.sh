#!/usr/bin/env bash
# make demo: placeholder until the replay relay lands.
set -euo pipefail
"$1" --help
