//! Warehouse faults while duro builds: connections cut by a proxy in the middle of a run, a
//! network black hole, injected serialization failures, and a query with a permanent error. The
//! creator keeps running, the run is retried or ends cleanly, the table is never lost or torn,
//! and a table that keeps failing waits longer and longer before it is tried again.

mod common;

use common::Project;
use common::pg::TestDb;
use common::proxy::Proxy;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const ROWS: i64 = 1000;

/// A database whose `s.t` is built through a proxy; returns the proxy and the project.
fn setup(label: &str, creator: &str) -> (TestDb, Proxy, Project) {
    let db = TestDb::new(label);
    db.exec(
        "create schema raw; create table raw.version (v int); insert into raw.version values (0);",
    );
    let (host_port, name) = db
        .url
        .trim_start_matches("postgres://postgres@")
        .split_once('/')
        .unwrap();
    let proxy = Proxy::start(host_port);
    let url = format!("postgres://postgres@127.0.0.1:{}/{name}", proxy.port);
    let p = Project::on_postgres(&url, creator);
    p.write(
        "s/t — 1h.sql",
        format!(
            "select g as id, x.v from generate_series(1, {ROWS}) g, raw.version x, pg_sleep(1) s"
        ),
    );
    assert_eq!(p.run(&["schedule"]).code, 0);
    let first = p.run(&["run", "s.t"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    (db, proxy, p)
}

fn version(db: &TestDb) -> (String, String) {
    let row = db.exec("select count(*)::text, string_agg(distinct v::text, ',') from s.t");
    (row[0][0].clone().unwrap(), row[0][1].clone().unwrap())
}

fn successes(p: &Project) -> i64 {
    p.sqlite()
        .query_row(
            "select count(*) from runs where table_name = 's.t' and outcome = 'success'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(child: Child) -> String {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the daemon exited with {}",
        out.status
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn connections_cut_mid_run_are_retried_by_the_running_daemon() {
    let (db, proxy, p) = setup("cut", "[creator]\nretries = 3\npoll_seconds = 1\n");
    let daemon = p
        .command(&["create"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for round in 1..=3 {
        db.exec(&format!("update raw.version set v = {round}"));
        let before = successes(&p);
        assert_eq!(p.run(&["force", "s.t"]).code, 0);
        // Cut every connection while the query runs (it sleeps for a second).
        std::thread::sleep(Duration::from_millis(1500));
        proxy.cut();
        wait_for("the retried run", Duration::from_secs(30), || {
            successes(&p) > before
        });
        assert_eq!(
            version(&db),
            (ROWS.to_string(), round.to_string()),
            "round {round}"
        );
        assert!(db.leftovers().is_empty(), "{:?}", db.leftovers());
    }
    let stderr = stop(daemon);
    assert!(stderr.contains("retrying"), "{stderr}");
    let unfinished: i64 = p
        .sqlite()
        .query_row(
            "select count(*) from runs where finished_at is null",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unfinished, 0);
}

#[test]
fn a_network_black_hole_ends_in_a_timeout_and_leaves_the_table() {
    let (db, proxy, p) = setup(
        "blackhole",
        "[creator]\nretries = 0\ntimeout_min = \"3s\"\ntimeout_factor = 1\n",
    );
    let before = db.checksum("s.t");
    db.exec("update raw.version set v = 7");
    proxy.blackhole(true);
    let started = Instant::now();
    let run = p.run(&["run", "s.t"]);
    let took = started.elapsed();
    proxy.blackhole(false);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let status = p.run(&["status", "s.t", "--format", "json"]).json();
    assert_eq!(status["runs"][0]["outcome"], "timeout", "{status}");
    assert_eq!(db.checksum("s.t"), before);
    // The server side of the swallowed session ends; a later run succeeds.
    let rerun = p.run(&["run", "s.t"]);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(version(&db).1, "7");
    assert!(db.leftovers().is_empty());
}

#[test]
fn injected_serialization_failures_are_retried() {
    let db = TestDb::new("serialization");
    // Fails the first two calls with SQLSTATE 40001; a sequence survives the rollbacks.
    db.exec(
        "create schema raw; create sequence raw.tries;
         create function raw.flaky() returns int language plpgsql as $$
         begin
           if nextval('raw.tries') <= 2 then
             raise exception 'could not serialize access (injected)' using errcode = '40001';
           end if;
           return 1;
         end $$;",
    );
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 3\n");
    p.write("s/flaky — 1h.sql", "select raw.flaky() as one");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let run = p.run(&["run", "s.flaky"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stderr.matches("retrying").count(), 2, "{}", run.stderr);
    // retries = 3: at most 4 attempts, and the log counts them so.
    for line in [
        "attempt 1 of 4 failed, retrying in 2s",
        "attempt 2 of 4 failed, retrying in 4s",
    ] {
        assert!(run.stderr.contains(line), "{line}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("attempt 3 of"), "{}", run.stderr);
    assert!(run.stderr.contains("(40001)"), "{}", run.stderr);
    assert_eq!(db.value("select one::text from s.flaky"), Some("1".into()));

    // Past the retries the run fails cleanly with the error.
    db.exec("select setval('raw.tries', 1, false)");
    let p2 = Project::on_postgres(&db.url, "[creator]\nretries = 1\n");
    p2.write("s/flaky — 1h.sql", "select raw.flaky() as one");
    assert_eq!(p2.run(&["schedule"]).code, 0);
    let run = p2.run(&["run", "s.flaky"]);
    assert_eq!(run.code, 1);
    let error = p2.run(&["status", "s.flaky", "--format", "json"]).json()["runs"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("could not serialize access (injected)"),
        "{error}"
    );
    // retries = 1: exactly two attempts (the sequence counts the calls), the second the last.
    assert_eq!(
        db.value("select last_value::text from raw.tries"),
        Some("2".into())
    );
    assert!(
        run.stderr.contains("attempt 1 of 2 failed"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("attempt 2 of 2 failed, retrying"),
        "{}",
        run.stderr
    );
    assert!(
        error.contains("all 2 attempts failed (creator.retries = 1"),
        "{error}"
    );
    assert!(db.leftovers().is_empty());
}

fn failed_runs(p: &Project, table: &str) -> i64 {
    p.sqlite()
        .query_row(
            "select count(*) from runs where table_name = ?1 and outcome = 'failed'",
            [table],
            |r| r.get(0),
        )
        .unwrap()
}

/// A permanent error is not retried on every poll: the table waits 2, 4, 8, … polls after each
/// failure (`duro plan` says so), a healthy table beside it is built as usual, and once the
/// definition is fixed and scheduled the table builds at the next poll.
#[test]
fn a_permanent_error_backs_off_and_a_fixed_definition_builds_at_the_next_poll() {
    let db = TestDb::new("backoff");
    db.exec("create schema raw; create table raw.t as select 1 as x;");
    let p = Project::on_postgres(&db.url, "[creator]\npoll_seconds = 1\nretries = 0\n");
    // A misspelled column: every run fails the same way.
    p.write("s/bad — 1h.sql", "select y from raw.t");
    p.write("s/good — 1m.sql", "select x from raw.t");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let started = Instant::now();
    let daemon = p
        .command(&["create"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the first failure", Duration::from_secs(20), || {
        failed_runs(&p, "s.bad") >= 1
    });
    // While it waits, the plan says so (text and JSON) and does not list it as due.
    wait_for("a wait in the plan", Duration::from_secs(10), || {
        p.run(&["plan"]).stdout.contains("retrying in")
    });
    let text = p.run(&["plan"]).stdout;
    assert!(
        text.contains("s.bad: retrying in") && text.contains("failed run"),
        "{text}"
    );
    let plan = p.run(&["plan", "--format", "json"]).json();
    let bad = plan
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "s.bad")
        .cloned();
    if let Some(bad) = bad {
        // (Unless its wait just ended.)
        assert!(
            bad["reason"].as_str().unwrap().starts_with("retrying in"),
            "{plan}"
        );
        assert!(bad["retry_at"].as_str().unwrap().ends_with('Z'), "{plan}");
    }
    let sixty = Duration::from_secs(60);
    std::thread::sleep(sixty.saturating_sub(started.elapsed()));
    let failures = failed_runs(&p, "s.bad");
    let streak: i64 = p
        .sqlite()
        .query_row(
            "select failures from tables where name = 's.bad'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(streak, failures, "every failure counts in the streak");
    eprintln!("s.bad failed {failures} times in 60 s of polling every second");
    assert!(
        (3..=5).contains(&failures),
        "{failures} failed runs in 60 s"
    );
    // The healthy table was never held back.
    let good: i64 = p
        .sqlite()
        .query_row(
            "select count(*) from runs where table_name = 's.good' and outcome = 'success'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(good >= 1);

    // Fixed and scheduled: built at the next poll, however long its wait was.
    p.write("s/bad — 1h.sql", "select x as y from raw.t");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let fixed = Instant::now();
    wait_for("the fixed table's build", Duration::from_secs(5), || {
        p.sqlite()
            .query_row(
                "select count(*) from runs where table_name = 's.bad' and outcome = 'success'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    });
    assert!(
        fixed.elapsed() < Duration::from_millis(2500),
        "built {:?} after the schedule",
        fixed.elapsed()
    );
    let status = p.run(&["status", "s.bad", "--format", "json"]).json();
    assert_eq!(status["state"], "ok", "{status}");
    stop(daemon);
    assert_eq!(db.value("select y::text from s.bad"), Some("1".into()));
}
