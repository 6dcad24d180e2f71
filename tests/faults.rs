//! Warehouse faults while duro builds: connections cut by a proxy in the middle of a run, a
//! network black hole, and injected serialization failures. The creator keeps running, the run
//! is retried or ends cleanly, and the table is never lost or torn.

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
    assert!(db.leftovers().is_empty());
}
