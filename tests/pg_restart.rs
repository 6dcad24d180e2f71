//! PostgreSQL restarted in the middle of a run (its own test binary: the restart hits every
//! database of this process's server). The creator daemon keeps running, retries the run once the
//! server is back, and the table is whole throughout.

mod common;

use common::Project;
use common::pg::{TestDb, owns_server, restart_server};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_server_restart_mid_run_is_survived() {
    if !owns_server() {
        eprintln!("skipped: DURO_TEST_DATABASE_URL points at a server this test may not restart");
        return;
    }
    let db = TestDb::new("restart");
    db.exec(
        "create schema raw; create table raw.version (v int); insert into raw.version values (0);",
    );
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 5\npoll_seconds = 1\n");
    p.write(
        "s/t — 1h.sql",
        "select g as id, x.v from generate_series(1, 1000) g, raw.version x, pg_sleep(1.5) s",
    );
    assert_eq!(p.run(&["schedule"]).code, 0);
    assert_eq!(p.run(&["run", "s.t"]).code, 0);
    let daemon = p
        .command(&["create"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let successes = || -> i64 {
        p.sqlite()
            .query_row(
                "select count(*) from runs where table_name = 's.t' and outcome = 'success'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    for round in 1..=2 {
        db.exec(&format!("update raw.version set v = {round}"));
        let before = successes();
        assert_eq!(p.run(&["force", "s.t"]).code, 0);
        std::thread::sleep(Duration::from_millis(1500));
        restart_server(Duration::from_secs(1));
        let deadline = Instant::now() + Duration::from_secs(60);
        while successes() == before {
            assert!(Instant::now() < deadline, "round {round}: never rebuilt");
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(
            db.exec("select count(*)::text, string_agg(distinct v::text, ',') from s.t"),
            [vec![Some("1000".into()), Some(round.to_string())]]
        );
        assert!(db.leftovers().is_empty(), "{:?}", db.leftovers());
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let out = daemon.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("retrying"), "{stderr}");
}
