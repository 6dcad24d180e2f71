#!/usr/bin/env python3
"""Creator benchmark: rebuilding every table of a generated layered workload with
`duro create --once` (concurrency 1 and 4) against the physical limit, the same
transactions (drop temp, CTAS, tests, rename, rename, drop old) replayed by `psql -f`.

usage: bench/creator.py [--views 500] [--runs 3] [--url postgres://postgres@127.0.0.1:5432/postgres]
Needs a PostgreSQL server (the URL's user must be able to create databases), psql and python3.
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw)


def raw_events_sql(rows):
    """The seeded raw table every generated workload's layer 0 reads."""
    return ("create schema raw; create table raw.events as select g as id, 'l0_v' || (g % 100) as kind, "
            f"g * 1.5 as amount, now() - g * interval '1 minute' as created_at from generate_series(1, {rows}) g; "
            "analyze raw.events")


def force_all(state):
    """Forces every table in the state, so that the next `duro create --once` rebuilds them all."""
    state.execute("update tables set force = 1")
    state.commit()


def replay_of_all(state, run_duro, path):
    """Forces every table and writes the replay of their rebuild, in duro's build order (from
    `duro plan`); returns that order."""
    force_all(state)
    order = [p["name"] for p in json.loads(run_duro("plan", "--format", "json").stdout)]
    write_replay(state, order, path)
    return order


def write_replay(state, order, path):
    """The physical limit: the transactions duro runs for each table, in build order, as one
    SQL file for `psql -f` (one connection, no client logic)."""
    with open(path, "w") as f:
        for name in order:
            schema, table = name.split(".")
            query, tests = state.execute("select definition, tests from tables where name = ?", (name,)).fetchone()
            t, temp, old = f'"{schema}"."{table}"', f'"{schema}"."{table}_duro_temp"', f'"{schema}"."{table}_duro_old"'
            f.write(f"begin;\ndrop table if exists {temp};\ncreate table {temp} as (\n{query}\n);\n")
            if tests:
                for statement in [s for s in tests.split(";") if s.strip()]:
                    f.write(statement.replace(name, temp) + ";\n")
            f.write(f'alter table {t} rename to "{table}_duro_old";\nalter table {temp} rename to "{table}";\n'
                    f"drop table {old};\ncommit;\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--views", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2000, help="rows of raw.events")
    parser.add_argument("--url", default=os.environ.get("DURO_BENCH_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    # PostgreSQL only: the embedded DuckDB (a long C++ build) is not benchmarked.
    sh("cargo", "build", "--release", "--quiet", "--no-default-features", cwd=ROOT)
    duro = os.path.join(target, "release", "duro")
    base, _ = args.url.rsplit("/", 1)
    db = "duro_bench"
    url = f"{base}/{db}"
    sh("psql", args.url, "-qc", f"drop database if exists {db}")
    sh("psql", args.url, "-qc", f"create database {db}")
    sh("psql", url, "-qc", raw_events_sql(args.rows))

    work = tempfile.mkdtemp(prefix="duro-bench-")
    # No global.conf: its grants name roles that do not exist here.
    sh("python3", os.path.join(ROOT, "bench", "gen_views.py"), str(args.views), os.path.join(work, "views"), "--no-grants")
    with open(os.path.join(work, "duro.toml"), "w") as f:
        f.write(f'views = "views"\nstate = "state.db"\n[warehouse]\nurl = "{url}"\n[creator]\nretries = 0\n')
    env = dict(os.environ, NO_COLOR="1")
    run = lambda *a: subprocess.run([duro, "--config", os.path.join(work, "duro.toml"), *a], check=True, env=env,
                                    capture_output=True, text=True)
    run("schedule")
    run("create", "--once")  # first build: every table exists afterwards

    state = sqlite3.connect(os.path.join(work, "state.db"))
    replay = os.path.join(work, "replay.sql")
    order = replay_of_all(state, run, replay)

    def timed(fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    def duro_round(concurrency):
        force_all(state)
        return timed(lambda: run("create", "--once", "--concurrency", str(concurrency)))

    results = {"psql replay": [], "duro c=1": [], "duro c=4": []}
    for _ in range(args.runs):
        results["psql replay"].append(timed(lambda: sh("psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-f", replay)))
        results["duro c=1"].append(duro_round(1))
        results["duro c=4"].append(duro_round(4))
    psql = statistics.median(results["psql replay"])
    print(f"{args.views} views, {len(order)} rebuilt per round, raw.events {args.rows} rows, median of {args.runs}")
    print(f"{'contender':<14} {'median s':>9} {'vs psql':>8} {'per table ms':>13}")
    for name, times in results.items():
        m = statistics.median(times)
        print(f"{name:<14} {m:>9.3f} {m / psql:>7.2f}x {1000 * m / len(order):>13.2f}")
    c1 = statistics.median(results["duro c=1"])
    print(f"duro overhead per table at concurrency 1: {1000 * (c1 - psql) / len(order):.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
