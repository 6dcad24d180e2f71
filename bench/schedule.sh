#!/usr/bin/env bash
# End-to-end timing of the release binary: `duro schedule` of N generated views on a fresh state
# (scan, parse, graph, checks, state write) and a re-run with nothing changed; medians of RUNS
# runs (wall, and CPU = user + system time, the steadier figure on a busy machine) and peak RSS.
#
# usage: bench/schedule.sh [N ...]          (default: 1000 2000 10000)
#        RUNS=7 bench/schedule.sh 10000
#        BENCH_BIN=/path/to/duro bench/schedule.sh 2000   (another binary, e.g. a "before" build)
# The measuring is bench/scale.py's (--skip-creator).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- 1000 2000 10000
exec python3 bench/scale.py --skip-creator --runs "${RUNS:-5}" ${BENCH_BIN:+--bin "$BENCH_BIN"} --views "$@"
