#!/usr/bin/env bash
# One row of BENCHMARKS.md's build table: a from-scratch release build in its own target folder,
# then the binary's size, how long `duro demo` takes to build and serve its project, and a
# 10-million-row aggregation on the embedded DuckDB (`duro run` of one table, median of 3).
#
# Usage: bench/build_option.sh LABEL [extra cargo args…]
#        bench/build_option.sh --binary PATH LABEL     (measure a binary built before; no build)
#   e.g. bench/build_option.sh default
#        CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 bench/build_option.sh cgu256
#        RUSTFLAGS="-C link-arg=-fuse-ld=mold" bench/build_option.sh mold
# Options that are profile settings go in as CARGO_PROFILE_* variables; the target folder is
# $HOME/.cache/duro-build-LABEL, removed first so the build starts from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
build=""
if [ "${1:-}" = --binary ]; then
  binary=$2 label=$3
else
  label=$1
  shift
  target="$HOME/.cache/duro-build-$label"
  rm -rf "$target"
  start=$(date +%s)
  CARGO_TARGET_DIR="$target" cargo build --release --locked "$@" >"$target.log" 2>&1 || {
    tail -20 "$target.log" >&2
    exit 1
  }
  seconds=$(($(date +%s) - start))
  build="$((seconds / 60)) min $((seconds % 60)) s"
  binary="$target/release/duro"
fi
size=$(stat -c %s "$binary")

work=$(mktemp -d)
trap 'kill "${demo:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
start=$(date +%s.%N)
"$binary" demo "$work/demo" --bind 127.0.0.1:0 >"$work/demo.log" 2>&1 &
demo=$!
until grep -q "duro UI at" "$work/demo.log"; do sleep 0.1; done
demo_seconds=$(echo "$(date +%s.%N) - $start" | bc)
kill "$demo"

mkdir -p "$work/agg/views/s"
printf 'views = "views"\nstate = ".duro/state.db"\n[warehouse]\nurl = "duckdb://.duro/warehouse.duckdb"\n' >"$work/agg/duro.toml"
printf 'select range %% 1000 as g, count(*) as n, sum(range) as total, avg(range * 0.5) as half\nfrom range(10000000)\ngroup by 1\n' \
  >"$work/agg/views/s/agg — 1h.sql"
(cd "$work/agg" && "$binary" schedule >/dev/null)
times=()
for _ in 1 2 3; do
  t0=$(date +%s.%N)
  (cd "$work/agg" && "$binary" run s.agg >/dev/null 2>&1)
  times+=("$(echo "$(date +%s.%N) - $t0" | bc)")
done
query=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
printf '| %s | %s | %.1f MB | %.1f s | %.2f s |\n' \
  "$label" "${build:-(built before)}" "$(echo "$size / 1000000" | bc -l)" "$demo_seconds" "$query"
