//! Crash safety: `duro run` killed with SIGKILL at random moments (100 times for a plain table and
//! 50 for a processor table here; DURO_CRASH_ITERATIONS sets both, scripts/crash-soak.sh runs
//! 1,000 each) always leaves the table present with either its old or its new complete contents,
//! readable through a dependent view, and nothing the next run does not clean.
//! Also: SIGTERM stops a creator cleanly, rolling back and releasing its lease.

mod common;

use common::Project;
use common::pg::TestDb;
use std::time::{Duration, Instant};

const ROWS: i64 = 20_000;

/// A small deterministic generator (no dependency needed for random sleeps).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn contents(db: &TestDb, table: &str) -> (i64, i64, i64) {
    let row = db.exec(&format!(
        "select count(*), count(distinct v), coalesce(max(v), -1) from {table}"
    ));
    let get = |i: usize| row[0][i].as_deref().unwrap().parse::<i64>().unwrap();
    (get(0), get(1), get(2))
}

fn iterations(default: u64) -> u64 {
    std::env::var("DURO_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Rebuilds `table` again and again, killing `duro run` with SIGKILL after a random delay below
/// `max_delay_ms`; after every kill the table (and a view on it) must hold one complete version.
fn kill_loop(db: &TestDb, p: &Project, table: &str, iterations: u64, max_delay_ms: u64) {
    assert_eq!(p.run(&["schedule"]).code, 0);
    let first = p.run(&["run", table]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let view = format!("public.v_{}", table.replace('.', "_"));
    db.exec(&format!("create view {view} as select id, v from {table}"));

    let mut rng = Lcg(0x5eed ^ std::process::id() as u64 ^ iterations);
    let mut committed = 0;
    let mut kills = 0;
    for i in 1..=iterations as i64 {
        db.exec(&format!("update raw.version set v = {i}"));
        // Wait for the killed run's lease to expire (its heartbeat stopped with it).
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut child = loop {
            let child = p
                .command(&["run", table])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(rng.next(max_delay_ms)));
            let mut child = child;
            match child.try_wait().unwrap() {
                Some(status) if !status.success() => {
                    let mut err = String::new();
                    use std::io::Read;
                    child
                        .stderr
                        .take()
                        .unwrap()
                        .read_to_string(&mut err)
                        .unwrap();
                    assert!(
                        err.contains("another process"),
                        "{table} iteration {i}: {err}"
                    );
                    assert!(Instant::now() < deadline, "lease never freed");
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => break child,
            }
        };
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let (count, versions, v) = contents(db, table);
        assert_eq!(
            (count, versions),
            (ROWS, 1),
            "{table} iteration {i}: torn table"
        );
        assert!(
            v == i || v == committed,
            "{table} iteration {i}: version {v}, expected {committed} or {i}"
        );
        committed = v;
        assert_eq!(
            db.value(&format!("select count(*)::text from {view}")),
            Some(ROWS.to_string()),
            "{table} iteration {i}: the dependent view"
        );
    }
    assert!(
        kills > iterations / 4,
        "only {kills} runs were killed mid-way"
    );
    // The next run cleans up whatever the kills left and succeeds.
    std::thread::sleep(Duration::from_millis(1100));
    let last = p.run(&["run", table]);
    assert_eq!(last.code, 0, "{}", last.stderr);
    assert_eq!(contents(db, table), (ROWS, 1, iterations as i64));
    assert!(db.leftovers().is_empty(), "{:?}", db.leftovers());
    let unfinished: i64 = p
        .sqlite()
        .query_row(
            "select count(*) from runs where finished_at is null",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unfinished, 0, "abandoned runs are closed as cancelled");
    eprintln!(
        "{table}: {iterations} iterations, {kills} killed mid-run, last committed version {committed}"
    );
}

fn setup(label: &str) -> (TestDb, Project) {
    let db = TestDb::new(label);
    db.exec(
        "create schema raw; create table raw.version (v int); insert into raw.version values (0);",
    );
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 0\nlease_seconds = 1\n");
    (db, p)
}

#[test]
fn kill_9_at_random_moments_never_loses_a_plain_table() {
    let (db, p) = setup("crash");
    p.write(
        "s/t — 1h.sql",
        format!(
            "select g as id, x.v from generate_series(1, {ROWS}) g, raw.version x, pg_sleep(0.05) s"
        ),
    );
    kill_loop(&db, &p, "s.t", iterations(100), 250);
}

#[test]
fn kill_9_at_random_moments_never_loses_a_processor_table() {
    let (db, p) = setup("crash_processor");
    p.write(
        "s/p_select.sql",
        format!("select g as id, x.v from generate_series(1, {ROWS}) g, raw.version x"),
    );
    p.write("s/p — 1h.sql", "create table s.p (id int, v int)");
    p.write(
        "s/p.py",
        "import shutil, sys, time\ntime.sleep(0.05)\nshutil.copyfile(sys.argv[1], sys.argv[2])\n",
    );
    kill_loop(&db, &p, "s.p", iterations(50), 600);
}

#[test]
fn sigterm_rolls_back_and_releases_the_lease() {
    let db = TestDb::new("sigterm");
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 0\n");
    p.write("s/slow — 1h.sql", "select 1 as x from pg_sleep(30)");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let child = p.command(&["create", "--once"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1));
    let (outcome, owner): (String, Option<String>) = p
        .sqlite()
        .query_row(
            "select r.outcome, t.lease_owner from runs r join tables t on t.name = r.table_name",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(outcome, "cancelled");
    assert_eq!(owner, None, "lease released");
    assert!(db.leftovers().is_empty());
    assert_eq!(db.value("select to_regclass('s.slow')::text"), None);
}
