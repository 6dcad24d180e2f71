#!/usr/bin/env bash
# End-to-end timing of the release binary: `duro schedule` of N generated views on a fresh state
# (scan, parse, graph, checks, state write) and a re-run with nothing changed. Prints medians of
# RUNS runs and the peak RSS of the fresh schedule.
#
# usage: bench/schedule.sh [N ...]          (default: 1000 2000 10000)
#        RUNS=7 bench/schedule.sh 10000
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/duro"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { date +%s%3N; }
printf '%8s  %14s  %16s  %12s\n' views "fresh (ms)" "unchanged (ms)" "peak RSS"
for n in "${@:-1000 2000 10000}"; do
  for count in $n; do
    python3 bench/gen_views.py "$count" "$work/views" >/dev/null
    printf 'views = "views"\nstate = "state.db"\n[warehouse]\nurl = "postgres://bench@localhost/bench"\n' >"$work/duro.toml"
    fresh=(); unchanged=(); rss=0
    for _ in $(seq "$RUNS"); do
      rm -f "$work"/state.db*
      start=$(now_ms)
      if command -v /usr/bin/time >/dev/null; then
        kb=$( { /usr/bin/time -f '%M' "$bin" --config "$work/duro.toml" schedule >/dev/null; } 2>&1 | tail -1)
        rss=$(( kb > rss ? kb : rss ))
      else
        "$bin" --config "$work/duro.toml" schedule >/dev/null
      fi
      fresh+=($(( $(now_ms) - start )))
      start=$(now_ms)
      "$bin" --config "$work/duro.toml" schedule >/dev/null
      unchanged+=($(( $(now_ms) - start )))
    done
    printf '%8s  %14s  %16s  %9s KB\n' "$count" \
      "$(printf '%s\n' "${fresh[@]}" | median)" \
      "$(printf '%s\n' "${unchanged[@]}" | median)" "$rss"
  done
done
