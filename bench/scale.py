#!/usr/bin/env python3
"""Scale: `duro schedule` time and peak RSS at 1k/10k/50k views, and the memory of an idle
creator daemon at 10k views.

Scheduler: the release binary on bench/gen_views.py's layered views, a fresh state each run
(scan, parse, graph, checks, state write), then a run after one query changed (a comment added:
everything is read, hashed and checked again, one query parsed), then a re-run with nothing
changed; wall time, CPU time and peak RSS (max resident set, from wait4) per run; medians.

Idle creator: a PostgreSQL database with a small raw table, N views scheduled and every table
really built once (`duro create --once --concurrency 4`), so that nothing is due for at least
30 minutes (the shortest generated interval). Then the `duro create` daemon starts with
`poll_seconds = 1` and is left to poll for --idle-seconds; each poll reads the whole state
(10k tables and their dependencies), plans and finds nothing due. VmRSS (now) and VmHWM (peak)
come from /proc/PID/status at the end, with the CPU time the daemon used per poll.

usage: bench/scale.py [--views 1000 10000 50000] [--runs 5] [--creator-views 10000]
                      [--idle-seconds 20] [--skip-creator] [--skip-schedule]
                      [--url postgres://postgres@127.0.0.1:5432/postgres]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from creator import raw_events_sql, sh  # noqa: E402


def measured(argv):
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} failed: {child.stderr.read().decode()}")
    child.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def write_config(work, url, extra=""):
    path = os.path.join(work, "duro.toml")
    with open(path, "w") as f:
        f.write(f'views = "views"\nstate = "state.db"\n[warehouse]\nurl = "{url}"\n{extra}')
    return path


def fresh_state(work):
    for suffix in ["", "-wal", "-shm"]:
        try:
            os.remove(os.path.join(work, "state.db" + suffix))
        except FileNotFoundError:
            pass


def schedule(duro, sizes, runs):
    print("| views | fresh schedule, wall | fresh, CPU | fresh peak RSS | one query changed, wall | one query changed, CPU "
          "| nothing changed, wall | nothing changed, CPU | runs |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        work = tempfile.mkdtemp(prefix="duro-scale-")
        sh("python3", os.path.join(ROOT, "bench", "gen_views.py"), str(n), os.path.join(work, "views"))
        config = write_config(work, "postgres://bench@localhost/bench")
        fresh, fresh_cpu, unchanged, unchanged_cpu, rss = [], [], [], [], []
        changed, changed_cpu = [], []
        some_view = next(os.path.join(d, f) for d, _, files in sorted(os.walk(os.path.join(work, "views")))
                         for f in sorted(files) if f.endswith(".sql") and not f.endswith("_test.sql"))
        for run in range(runs):
            fresh_state(work)
            wall, cpu, peak = measured([duro, "--config", config, "schedule"])
            fresh.append(wall)
            fresh_cpu.append(cpu)
            rss.append(peak)
            # A new comment in one query: the files are hashed and checked again, but only that
            # query is parsed (the others come from the parse cache) and only its row is written.
            with open(some_view, "a") as f:
                f.write(f"\n-- run {run}\n")
            wall, cpu, _ = measured([duro, "--config", config, "schedule"])
            changed.append(wall)
            changed_cpu.append(cpu)
            wall, cpu, _ = measured([duro, "--config", config, "schedule"])
            unchanged.append(wall)
            unchanged_cpu.append(cpu)
        ms = lambda xs: f"{1000 * statistics.median(xs):.0f} ms"  # noqa: E731
        print(f"| {n:,} | {ms(fresh)} | {ms(fresh_cpu)} | {max(rss):.0f} MiB | {ms(changed)} | {ms(changed_cpu)} | "
              f"{ms(unchanged)} | {ms(unchanged_cpu)} | {runs} |", flush=True)
        sh("rm", "-rf", work)


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def creator(duro, n, idle, base_url, rows):
    url = urllib.parse.urlparse(base_url)
    db = "duro_bench_idle"
    db_url = url._replace(path="/" + db).geturl()
    sh("psql", base_url, "-qc", f"drop database if exists {db}")
    sh("psql", base_url, "-qc", f"create database {db}")
    try:
        sh("psql", db_url, "-qc", raw_events_sql(rows))
        work = tempfile.mkdtemp(prefix="duro-idle-")
        sh("python3", os.path.join(ROOT, "bench", "gen_views.py"), str(n), os.path.join(work, "views"), "--no-grants")
        config = write_config(work, db_url, "[creator]\npoll_seconds = 1\nretries = 0\n")
        sh(duro, "--config", config, "schedule")
        start = time.perf_counter()
        sh(duro, "--config", config, "create", "--once", "--concurrency", "4")
        built = time.perf_counter() - start
        daemon = subprocess.Popen([duro, "--config", config, "create"], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        time.sleep(2)  # start-up and the first poll
        cpu0, t0 = cpu_seconds(daemon.pid), time.perf_counter()
        samples = []
        while time.perf_counter() - t0 < idle:
            samples.append(int(proc_status(daemon.pid)["VmRSS"].split()[0]))
            time.sleep(0.25)
        cpu = cpu_seconds(daemon.pid) - cpu0
        elapsed = time.perf_counter() - t0
        status = proc_status(daemon.pid)
        daemon.terminate()
        out, _ = daemon.communicate(timeout=30)
        built_lines = [line for line in out.splitlines() if line.startswith("Built")]
        print(f"{n:,} views, every table built once ({built:.1f} s at concurrency 4), daemon polling every 1 s "
              f"for {elapsed:.0f} s; rounds that built something while idle: {len(built_lines)}")
        print("| views | VmRSS at the end | VmRSS max of samples | VmHWM (peak) | CPU per second idle |")
        print("|---:|---:|---:|---:|---:|")
        print(f"| {n:,} | {int(status['VmRSS'].split()[0]) / 1024:.1f} MiB | {max(samples) / 1024:.1f} MiB | "
              f"{int(status['VmHWM'].split()[0]) / 1024:.1f} MiB | {1000 * cpu / elapsed:.0f} ms |")
        sh("rm", "-rf", work)
    finally:
        sh("psql", base_url, "-qc", f"drop database if exists {db}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--views", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--creator-views", type=int, default=10000)
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument("--rows", type=int, default=100, help="rows of raw.events for the idle creator")
    parser.add_argument("--skip-creator", action="store_true")
    parser.add_argument("--skip-schedule", action="store_true")
    parser.add_argument("--bin", help="this duro binary instead of building the release one")
    parser.add_argument("--url", default=os.environ.get("DURO_BENCH_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    duro = args.bin
    if not duro:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        # PostgreSQL only: the embedded DuckDB (a long C++ build) is not benchmarked.
        sh("cargo", "build", "--release", "--quiet", "--no-default-features", cwd=ROOT)
        duro = os.path.join(target, "release", "duro")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    if not args.skip_schedule:
        schedule(duro, args.views, args.runs)
    if not args.skip_creator:
        creator(duro, args.creator_views, args.idle_seconds, args.url, args.rows)


if __name__ == "__main__":
    sys.exit(main())
