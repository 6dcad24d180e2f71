//! One SQLite state file shared for a while by two creator daemons, the web UI and a scheduler
//! re-run on every change, with tables forced all the time: no "database is locked", no lost or
//! unfinished runs, every request answered. DURO_SOAK_SECONDS (default 15) makes it longer.

mod common;

use common::Project;
use common::pg::TestDb;
use common::web::{Server, get};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn stop(child: Child) -> (String, String) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "a daemon exited with {}", out.status);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn schedulers_creators_and_the_ui_share_the_state_file() {
    let seconds: u64 = std::env::var("DURO_SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let db = TestDb::new("soak");
    let p = Project::on_postgres(
        &db.url,
        "[creator]\nconcurrency = 2\npoll_seconds = 1\nretries = 1\nlease_seconds = 3\n",
    );
    for i in 0..6 {
        p.write(
            &format!("s/base{i} — 1h.sql"),
            format!("select g as id, {i} as part from generate_series(1, 200) g, pg_sleep(0.02) s"),
        );
    }
    p.write(
        "m/all — 1h.sql",
        (0..6)
            .map(|i| format!("select id, part from s.base{i}"))
            .collect::<Vec<_>>()
            .join("\nunion all\n"),
    );
    p.write(
        "m/summary — 1h.sql",
        "select part, count(*) as n from m.all group by part",
    );
    assert_eq!(p.run(&["schedule"]).code, 0);

    let spawn = |args: &[&str]| {
        p.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let creators = [spawn(&["create"]), spawn(&["create"])];
    let server = Server::start(&p);

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut forces, mut schedules, mut requests) = (0, 0, 0);
    let mut step = 0u64;
    while Instant::now() < deadline {
        step += 1;
        let force = p.run(&["force", "m.summary", "--tree"]);
        assert_eq!(force.code, 0, "{}", force.stderr);
        forces += 1;
        if step % 5 == 0 {
            // A definition change: the scheduler writes while the creators build.
            p.write(
                "m/summary — 1h.sql",
                format!("select part, count(*) as n, {step} as version from m.all group by part"),
            );
            let schedule = p.run(&["schedule"]);
            assert_eq!(schedule.code, 0, "{}", schedule.stderr);
            schedules += 1;
        }
        for path in [
            "/api/tables",
            "/api/jobs",
            "/api/stats?hours=24",
            "/metrics",
            "/tables/m.summary",
        ] {
            let reply = get(&server.url(path));
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
            requests += 1;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Let the last forces be built, then stop everything.
    std::thread::sleep(Duration::from_secs(3));
    let mut built_lines = 0;
    for creator in creators {
        let (stdout, stderr) = stop(creator);
        let all = format!("{stdout}{stderr}");
        assert!(!all.contains("database is locked"), "{all}");
        assert!(!all.contains("could not record"), "{all}");
        built_lines += all.lines().filter(|l| l.starts_with("built ")).count();
    }
    drop(server);

    let state = p.sqlite();
    let count = |sql: &str| -> i64 { state.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("select count(*) from runs where finished_at is null"),
        0
    );
    let successes = count("select count(*) from runs where outcome = 'success'");
    assert_eq!(
        successes as usize, built_lines,
        "every build reported is recorded, and only those"
    );
    let failed: Vec<(String, String, Option<String>)> = state
        .prepare("select table_name, outcome, error from runs where outcome not in ('success', 'cancelled')")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(successes > 8, "only {successes} builds in {seconds}s");
    eprintln!(
        "{seconds}s: {forces} forces, {schedules} schedules, {requests} requests, {successes} builds"
    );
}
