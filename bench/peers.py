#!/usr/bin/env python3
"""duro against its peer and the physical limit, side by side on one PostgreSQL and one workload.

The workload is bench/gen_views.py's layered views (one seed), written both as a duro views
directory and as the equivalent dbt project. Contenders:

  scheduling   `duro schedule` on a fresh state   vs  `dbt parse --no-partial-parse`
               `duro schedule`, nothing changed   vs  `dbt parse` (partial parsing, unchanged)
  rebuilding   `duro create --once --concurrency 1/4` (every table forced)
               vs  `dbt run --threads 1/4`
               vs  the physical limit: duro's transactions (CTAS into a temp table, the data
                   tests, two renames, drop of the old table) replayed by `psql -f`

Every rebuild contender rebuilds every table of a workload that was already built once; each
round runs all of them one after the other, so they share the machine's state. duro and the psql
replay use one database, dbt another (same raw table).

dbt-core ~= 1.11 and dbt-postgres are installed from PyPI into a venv made by this script
(default ~/.cache/duro-bench/dbt-venv). duro is the release build without the embedded DuckDB
(`cargo build --release --no-default-features`).

usage: bench/peers.py [--views 500] [--runs 3] [--skip-run] [--out results.md]
                      [--url postgres://postgres@127.0.0.1:5432/postgres]
"""
import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from creator import force_all, raw_events_sql, replay_of_all, sh  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ensure_dbt(venv):
    dbt = os.path.join(venv, "bin", "dbt")
    if not os.path.exists(dbt):
        print(f"making the dbt venv in {venv} …", file=sys.stderr)
        sh(sys.executable, "-m", "venv", venv)
        sh(os.path.join(venv, "bin", "pip"), "install", "-q", "dbt-core~=1.11.0", "dbt-postgres")
    version = sh(dbt, "--version").stdout
    core = next((line.split(":")[-1].strip() for line in version.splitlines() if "installed" in line), "?")
    return dbt, core


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--views", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3, help="rounds of the rebuild contenders")
    parser.add_argument("--parse-runs", type=int, default=5, help="runs of each scheduling contender")
    parser.add_argument("--rows", type=int, default=2000, help="rows of raw.events")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-run", action="store_true", help="only the scheduling contenders")
    parser.add_argument("--out", help="also write the markdown table to this file")
    parser.add_argument("--venv", default=os.path.expanduser("~/.cache/duro-bench/dbt-venv"))
    parser.add_argument("--url", default=os.environ.get("DURO_BENCH_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    dbt, dbt_version = ensure_dbt(args.venv)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    # PostgreSQL only: the embedded DuckDB (a long C++ build) is not benchmarked.
    sh("cargo", "build", "--release", "--quiet", "--no-default-features", cwd=ROOT)
    duro = os.path.join(target, "release", "duro")

    url = urllib.parse.urlparse(args.url)
    dbs = {"duro": "duro_bench_duro", "dbt": "duro_bench_dbt"}
    urls = {k: url._replace(path="/" + db).geturl() for k, db in dbs.items()}
    if not args.skip_run:
        for db in dbs.values():
            sh("psql", args.url, "-qc", f"drop database if exists {db}")
            sh("psql", args.url, "-qc", f"create database {db}")
        for u in urls.values():
            sh("psql", u, "-qc", raw_events_sql(args.rows))

    work = tempfile.mkdtemp(prefix="duro-peers-")
    views, project = os.path.join(work, "views"), os.path.join(work, "dbt")
    sh("python3", os.path.join(ROOT, "bench", "gen_views.py"), str(args.views), views, "--dbt", project,
       "--seed", str(args.seed), "--no-grants")
    with open(os.path.join(work, "duro.toml"), "w") as f:
        f.write(f'views = "views"\nstate = "state.db"\n[warehouse]\nurl = "{urls["duro"]}"\n[creator]\nretries = 0\n')
    with open(os.path.join(project, "profiles.yml"), "w") as f:
        f.write("duro_bench:\n  target: bench\n  outputs:\n    bench:\n      type: postgres\n"
                f"      host: '{url.hostname or '127.0.0.1'}'\n      port: {url.port or 5432}\n"
                f"      user: '{url.username or 'postgres'}'\n      password: '{url.password or ''}'\n"
                f"      dbname: {dbs['dbt']}\n      schema: public\n      threads: 1\n")
    env = dict(os.environ, NO_COLOR="1")
    dbt_env = dict(env, DBT_PROFILES_DIR=project, DBT_SEND_ANONYMOUS_USAGE_STATS="false",
                   DBT_VERSION_CHECK="false", DO_NOT_TRACK="1")

    def run_duro(*a):
        return subprocess.run([duro, "--config", os.path.join(work, "duro.toml"), *a], check=True, env=env,
                              capture_output=True, text=True)

    def run_dbt(*a):
        return subprocess.run([dbt, *a], check=True, env=dbt_env, cwd=project, capture_output=True, text=True)

    def fresh_state():
        for suffix in ["", "-wal", "-shm"]:
            try:
                os.remove(os.path.join(work, "state.db" + suffix))
            except FileNotFoundError:
                pass

    results = {}

    # Scheduling: duro's whole pipeline (scan, parse, graph, checks, state write) against dbt's.
    fresh_t, unchanged_t, parse_t, partial_t = [], [], [], []
    run_dbt("parse")  # warms the Python imports' page cache and leaves a partial-parse file
    for _ in range(args.parse_runs):
        fresh_state()
        fresh_t.append(timed(lambda: run_duro("schedule")))
        unchanged_t.append(timed(lambda: run_duro("schedule")))
        parse_t.append(timed(lambda: run_dbt("parse", "--no-partial-parse")))
        partial_t.append(timed(lambda: run_dbt("parse")))
    results["`duro schedule` (fresh state)"] = fresh_t
    results["`dbt parse --no-partial-parse`"] = parse_t
    results["`duro schedule` (nothing changed)"] = unchanged_t
    results["`dbt parse` (partial, nothing changed)"] = partial_t

    rounds = {}
    order = []
    if not args.skip_run:
        fresh_state()
        run_duro("schedule")
        run_duro("create", "--once", "--concurrency", "4")  # first build: every table exists
        run_dbt("run", "--threads", "4")
        state = sqlite3.connect(os.path.join(work, "state.db"))
        replay = os.path.join(work, "replay.sql")
        order = replay_of_all(state, run_duro, replay)

        def duro_round(concurrency):
            force_all(state)
            return timed(lambda: run_duro("create", "--once", "--concurrency", str(concurrency)))

        rounds = {"`psql -f` replay (physical limit)": [], "`duro create --once --concurrency 1`": [],
                  "`duro create --once --concurrency 4`": [], "`dbt run --threads 1`": [],
                  "`dbt run --threads 4`": []}
        for i in range(args.runs):
            print(f"round {i + 1}/{args.runs} …", file=sys.stderr)
            r = list(rounds.values())
            r[0].append(timed(lambda: sh("psql", urls["duro"], "-q", "-v", "ON_ERROR_STOP=1", "-f", replay)))
            r[1].append(duro_round(1))
            r[2].append(duro_round(4))
            r[3].append(timed(lambda: run_dbt("run", "--threads", "1")))
            r[4].append(timed(lambda: run_dbt("run", "--threads", "4")))
        state.close()
        for db in dbs.values():
            sh("psql", args.url, "-qc", f"drop database if exists {db}")

    med = {k: statistics.median(v) for k, v in {**results, **rounds}.items()}
    lines = [
        f"{args.views} views (seed {args.seed}), raw.events {args.rows} rows, dbt-core {dbt_version}, "
        f"{os.cpu_count()} cores; median of {args.parse_runs} (scheduling)"
        + ("" if args.skip_run else f" and {args.runs} (rebuilds)") + " runs",
        "",
        "| contender | median s | runs (s) | ratio |",
        "|---|---:|---|---|",
    ]

    def row(name, ratio):
        runs = ", ".join(f"{t:.3f}" for t in (results.get(name) or rounds.get(name)))
        lines.append(f"| {name} | {med[name]:.3f} | {runs} | {ratio} |")

    names = list(results)
    row(names[0], f"**{med[names[1]] / med[names[0]]:.0f}× faster** than dbt parse")
    row(names[1], "1.00×")
    row(names[2], f"**{med[names[3]] / med[names[2]]:.0f}× faster** than partial dbt parse")
    row(names[3], "1.00×")
    if rounds:
        psql = med[next(iter(rounds))]
        dbt4 = med["`dbt run --threads 4`"]
        for name in rounds:
            ratio = f"{med[name] / psql:.2f}× psql replay"
            if name.startswith("`duro"):
                ratio += f", {dbt4 / med[name]:.1f}× faster than dbt t4"
            row(name, ratio)
        lines.append("")
        lines.append(f"{len(order)} tables rebuilt per round.")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
