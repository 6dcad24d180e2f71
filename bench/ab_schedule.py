#!/usr/bin/env python3
"""A/B: fresh `duro schedule` runs of several duro binaries on one generated views directory,
interleaved (A, B, A, B, ...) so that a noisy machine slows every binary alike; median, minimum
and 75th percentile of the wall time, median CPU time (user + system) and peak RSS per binary.

This is how the before/after figures of the scheduler in BENCHMARKS.md were taken: build the
release binary at each commit, copy it aside, then compare.

usage: bench/ab_schedule.py --views 10000 --runs 21 /tmp/duro-before /tmp/duro-after
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from scale import fresh_state, measured, write_config  # noqa: E402


def fresh_schedule(duro, work):
    fresh_state(work)
    return measured([duro, "--config", os.path.join(work, "duro.toml"), "schedule"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--views", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("binaries", nargs="+")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="duro-ab-")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_views.py"), str(args.views),
                    os.path.join(work, "views")], check=True, capture_output=True)
    write_config(work, "postgres://bench@localhost/bench")
    results = {b: [] for b in args.binaries}
    for b in args.binaries:  # one warm-up each: file cache, binary pages
        fresh_schedule(b, work)
    for _ in range(args.runs):
        for b in args.binaries:
            results[b].append(fresh_schedule(b, work))
    print(f"{args.views} views, {args.runs} fresh schedules each, interleaved")
    print("| binary | wall median | wall min | wall p75 | CPU median | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|")
    for b, runs in results.items():
        walls = sorted(r[0] for r in runs)
        print(f"| {b} | {statistics.median(walls) * 1000:.0f} ms | {walls[0] * 1000:.0f} ms "
              f"| {walls[3 * len(walls) // 4] * 1000:.0f} ms "
              f"| {statistics.median(r[1] for r in runs) * 1000:.0f} ms "
              f"| {max(r[2] for r in runs):.0f} MiB |")


if __name__ == "__main__":
    main()
