//! `duro schedule`, `plan`, `status` and `force` end to end: change detection, removal and
//! return of tables, git commits, interval inheritance with a set clock, and the JSON shapes.

mod common;

use common::Project;
use serde_json::json;

fn names(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn unchanged_views_write_nothing_and_changes_force_rebuilds() {
    let p = Project::new();
    p.write("s/a — 1h.sql", "select 1 as x");
    p.write("s/b — 1h.sql", "select x from s.a");
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Scheduled 2 tables. New tables: s.a, s.b."),
        "{}",
        run.stdout
    );

    let run = p.run(&["schedule"]);
    assert!(
        run.stdout
            .starts_with("Nothing changed since the last schedule"),
        "{}",
        run.stdout
    );
    let schedules: i64 = p
        .sqlite()
        .query_row("select count(*) from schedules", [], |r| r.get(0))
        .unwrap();
    assert_eq!(schedules, 1);

    p.sqlite()
        .execute(
            "update tables set force = 0, last_built = strftime('%s', 'now') * 1000",
            [],
        )
        .unwrap();
    // A config change is a definition change.
    p.write("s/a.conf", "sortkey=x\n");
    let run = p.run(&["schedule"]);
    assert!(
        run.stdout.contains("Updated tables: s.a."),
        "{}",
        run.stdout
    );
    let forced = p.run(&["plan", "--format", "json"]).json();
    assert_eq!(forced, json!([{"name": "s.a", "reason": "forced"}]));

    // A comment-only change to a test file changes the hash too.
    p.write("s/b_test.sql", "select true as ok");
    let run = p.run(&["schedule"]);
    assert!(
        run.stdout.contains("Updated tables: s.b."),
        "{}",
        run.stdout
    );

    // Moving a file without changing it is not a change.
    p.remove("s/a — 1h.sql");
    p.write("s.a — 1h.sql", "select 1 as x");
    let run = p.run(&["schedule"]);
    assert!(!run.stdout.contains("Updated"), "{}", run.stdout);
    assert!(!run.stdout.contains("New"), "{}", run.stdout);
    let files: String = p
        .sqlite()
        .query_row("select files from tables where name = 's.a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(files.contains("s.a — 1h.sql"), "{files}");
}

#[test]
fn vanished_tables_are_removed_and_can_come_back() {
    let p = Project::new();
    p.write("s/a — 1h.sql", "select 1 as x");
    p.write("s/b — 1h.sql", "select 2 as x");
    assert_eq!(p.run(&["schedule"]).code, 0);
    p.remove("s/b — 1h.sql");
    let run = p.run(&["schedule"]);
    assert!(
        run.stdout.contains("Removed tables: s.b."),
        "{}",
        run.stdout
    );
    let status = p.run(&["status", "--format", "json"]).json();
    assert_eq!(status[1]["name"], "s.b");
    assert_eq!(status[1]["state"], "removed");
    assert_eq!(names(&p.run(&["plan", "--format", "json"]).json()), ["s.a"]);
    let run = p.run(&["force", "s.b"]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    p.write("s/b — 1h.sql", "select 2 as x");
    let run = p.run(&["schedule"]);
    assert!(run.stdout.contains("New tables: s.b."), "{}", run.stdout);
    let status = p.run(&["status", "--format", "json"]).json();
    assert_eq!(status[1]["state"], "never");
}

#[test]
fn a_large_schedule_prints_bounded_lists() {
    let p = Project::new();
    for i in 0..500 {
        p.write(&format!("s/t{i:03} — 1h.sql"), "select 1 as x");
    }
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Counts and the first ten names, not one line naming 500 tables.
    assert!(
        run.stdout.contains(
            "Scheduled 500 tables. New tables (500): s.t000, s.t001, s.t002, s.t003, s.t004, s.t005, s.t006, s.t007, s.t008, s.t009 and 490 more."
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.len() < 400, "{} bytes", run.stdout.len());

    // Removing most of them lists the first removed ones and counts the rest.
    for i in 0..480 {
        p.remove(&format!("s/t{i:03} — 1h.sql"));
    }
    p.write("s/t499 — 1h.sql", "select 2 as x");
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Updated tables: s.t499. Removed tables (480): s.t000, s.t001,"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("s.t009 and 470 more."),
        "{}",
        run.stdout
    );
    assert!(run.stdout.len() < 400, "{} bytes", run.stdout.len());

    // The full list stays available.
    let status = p.run(&["status", "--format", "json"]).json();
    assert_eq!(status.as_array().unwrap().len(), 500);
    let removed = status
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == "removed")
        .count();
    assert_eq!(removed, 480);
}

#[test]
fn git_commit_is_recorded() {
    let p = Project::new();
    p.write("s/a — 1h.sql", "select 1 as x");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(p.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git is installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["add", "views"]);
    git(&["commit", "-qm", "views"]);
    let head = git(&["rev-parse", "HEAD"]);
    let run = p.run(&["schedule"]);
    assert!(
        run.stdout.contains(&format!("for commit {}", &head[..12])),
        "{}",
        run.stdout
    );
    let recorded: String = p
        .sqlite()
        .query_row("select git_commit from schedules", [], |r| r.get(0))
        .unwrap();
    assert_eq!(recorded, head);
    // Packed refs are read too.
    git(&["pack-refs", "--all"]);
    p.write("s/a — 1h.sql", "select 2 as x");
    git(&["commit", "-qam", "change"]);
    let head = git(&["rev-parse", "HEAD"]);
    git(&["pack-refs", "--all"]);
    assert_eq!(p.run(&["schedule"]).code, 0);
    let recorded: String = p
        .sqlite()
        .query_row(
            "select git_commit from schedules order by id desc limit 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(recorded, head);
}

/// root 1h → child (no interval) → grandchild 24h, with the clock set by DURO_NOW.
#[test]
fn plan_follows_interval_inheritance_with_a_set_clock() {
    let p = Project::new();
    p.write("s/root — 1h.sql", "select * from s.child");
    p.write("s/child.sql", "select * from s.grandchild");
    p.write("s/grandchild — 24h.sql", "select 1 as x");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let built = "2030-01-01T00:00:00Z";
    let ms = built.parse::<jiff::Timestamp>().unwrap().as_millisecond();
    p.sqlite()
        .execute("update tables set force = 0, last_built = ?1", [ms])
        .unwrap();
    let plan = |now: &str| p.run_at(now, &["plan", "--format", "json"]).json();
    assert_eq!(plan("2030-01-01T00:59:00Z"), json!([]));
    assert_eq!(
        plan("2030-01-01T01:30:00Z"),
        json!([
            {"name": "s.child", "reason": "stale: last built 1h 30m ago, interval 1h (inherited from s.root)"},
            {"name": "s.root", "reason": "stale: last built 1h 30m ago, interval 1h"},
        ])
    );
    assert_eq!(
        names(&plan("2030-01-02T00:30:00Z")),
        ["s.grandchild", "s.child", "s.root"]
    );
    // Forcing the grandchild alone plans only it.
    assert_eq!(p.run(&["force", "s.grandchild"]).code, 0);
    assert_eq!(
        plan("2030-01-01T00:10:00Z"),
        json!([{"name": "s.grandchild", "reason": "forced"}])
    );
    let text = p.run_at("2030-01-01T00:10:00Z", &["plan"]);
    assert!(
        text.stdout.contains("1. s.grandchild: forced"),
        "{}",
        text.stdout
    );
}

#[test]
fn status_json_has_the_stable_shape() {
    let p = Project::new();
    p.write("s/a — 1h.sql", "select 1 as x");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let db = p.sqlite();
    db.execute(
        "insert into runs (table_name, started_at, finished_at, outcome, error) values ('s.a', 1000, 2000, 'failed', 'relation \"x\" does not exist')",
        [],
    )
    .unwrap();
    db.execute(
        "update tables set last_outcome = 'failed', last_error = 'relation \"x\" does not exist', last_finished = 2000",
        [],
    )
    .unwrap();
    let status = p.run(&["status", "--format", "json"]).json();
    assert_eq!(
        status,
        json!([{
            "name": "s.a",
            "interval_minutes": 60,
            "last_built": null,
            "mean_seconds": null,
            "state": "failed",
            "last_error": "relation \"x\" does not exist"
        }])
    );
    db.execute(
        "update tables set last_built = 1767225600000, mean_seconds = 2.5, run_count = 1",
        [],
    )
    .unwrap();
    db.execute(
        "insert into runs (table_name, started_at, finished_at, outcome) values ('s.a', 3000, 4000, 'success')",
        [],
    )
    .unwrap();
    db.execute(
        "update tables set last_outcome = 'success', last_error = null, last_finished = 4000",
        [],
    )
    .unwrap();
    let status = p.run(&["status", "--format", "json"]).json();
    assert_eq!(status[0]["state"], "ok");
    assert_eq!(status[0]["last_built"], "2026-01-01T00:00:00.000Z");
    assert_eq!(status[0]["mean_seconds"], 2.5);
    assert_eq!(status[0]["last_error"], json!(null));
    let one = p.run(&["status", "s.a", "--format", "json"]).json();
    assert_eq!(one["runs"].as_array().unwrap().len(), 2);
    assert_eq!(one["runs"][0]["outcome"], "success");
    assert_eq!(p.run(&["status", "s.nope"]).code, 2);
    let text = p.run(&["status"]);
    assert!(text.stdout.contains("s.a"), "{}", text.stdout);
}

#[test]
fn init_writes_a_project_that_checks_and_schedules() {
    let p = Project::new();
    std::fs::remove_dir_all(p.views()).unwrap();
    std::fs::remove_file(p.path().join("duro.toml")).unwrap();
    let run = p.run(&["init", "fresh"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let fresh = p.path().join("fresh");
    assert!(fresh.join("duro.toml").exists());
    let run = p.run(&["--config", "fresh/duro.toml", "check"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let run = p.run(&["--config", "fresh/duro.toml", "schedule"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(fresh.join(".duro/state.db").exists());
    // Running init again keeps what is there.
    std::fs::write(fresh.join("duro.toml"), "views = \"views\"\n# mine\n").unwrap();
    assert_eq!(p.run(&["init", "fresh"]).code, 0);
    assert!(
        std::fs::read_to_string(fresh.join("duro.toml"))
            .unwrap()
            .contains("# mine")
    );
}

#[test]
fn allow_cycles_breaks_them_deterministically() {
    let p = Project::new();
    p.write("s/a — 1h.sql", "select * from s.b");
    p.write("s/b — 1h.sql", "select * from s.a");
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("dependency cycle between s.a, s.b"),
        "{}",
        run.stderr
    );
    p.write_config("[scheduler]\nallow_cycles = true\n");
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cycle broken: s.b reads s.a but does not wait for it"),
        "{}",
        run.stderr
    );
    let waits: Vec<(String, String, bool)> = p
        .sqlite()
        .prepare("select table_name, depends_on, waits from dependencies order by 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        waits,
        [
            ("s.a".to_string(), "s.b".to_string(), true),
            ("s.b".to_string(), "s.a".to_string(), false)
        ]
    );
    assert_eq!(
        names(&p.run(&["plan", "--format", "json"]).json()),
        ["s.b", "s.a"]
    );
}

/// Queries parsed by an earlier schedule are kept by their text and judged against the catalog
/// of the current one: a table that appears turns an unchanged query's source into a dependency.
#[test]
fn parsed_queries_are_kept_and_judged_against_the_current_catalog() {
    let p = Project::new();
    p.write("s/a — 1h.sql", "select 1 as x");
    p.write("s/b — 1h.sql", "select x from s.a join s.c using (x)");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let kept = |p: &Project| -> i64 {
        p.sqlite()
            .query_row("select count(*) from parse_cache", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(kept(&p), 2);
    let deps_of_b = |p: &Project| -> Vec<String> {
        let db = p.sqlite();
        let mut stmt = db
            .prepare("select depends_on from dependencies where table_name = 's.b' order by 1")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(deps_of_b(&p), ["s.a"]);

    p.write("s/c — 1h.sql", "select 3 as x");
    let run = p.run(&["schedule"]);
    assert!(run.stdout.contains("New tables: s.c."), "{}", run.stdout);
    assert_eq!(kept(&p), 3);
    assert_eq!(deps_of_b(&p), ["s.a", "s.c"]);

    // A changed query replaces its entry; the old one is not kept.
    p.write("s/b — 1h.sql", "select x from s.a");
    assert_eq!(p.run(&["schedule"]).code, 0);
    assert_eq!(kept(&p), 3);
}

/// A parse kept by a duro whose lineage computed something else (an older LINEAGE_VERSION) is
/// never served: the schedule parses the query again. The control shows the test can fail: the
/// same wrong entry under the current version's key is served.
#[test]
fn parses_kept_by_another_lineage_version_are_not_served() {
    use duro::lineage::{LINEAGE_VERSION, Resolver, SqlDialect};
    let p = Project::new();
    p.write("s/a — 1h.sql", "select 1 as x");
    let query_b = "with a as (select * from s.a) select * from a";
    p.write("s/b — 1h.sql", query_b);
    assert_eq!(p.run(&["schedule"]).code, 0);
    let managed = std::collections::HashSet::new();
    let resolver = Resolver {
        managed: &managed,
        default_schema: "public",
        dialect: SqlDialect::Postgres,
    };
    let current = resolver.cache_key(query_b);
    let db = p.sqlite();
    let kept: i64 = db
        .query_row(
            "select count(*) from parse_cache where key = ?1",
            [&current],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        kept, 1,
        "the schedule keeps b's parse under the current key"
    );
    // What a wrong parse would say: b reads nothing.
    let wrong = r#"{"relations":[],"output_columns":["x"],"parse_error":null,"not_a_query":null}"#;
    let plant = |key: &str| {
        db.execute("delete from parse_cache", []).unwrap();
        db.execute(
            "insert into parse_cache (key, parsed) values (?1, ?2)",
            [key, wrong],
        )
        .unwrap();
    };
    let deps_of_b = || -> Vec<String> {
        let mut stmt = db
            .prepare("select depends_on from dependencies where table_name = 's.b'")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };

    plant(&resolver.cache_key_at(LINEAGE_VERSION - 1, query_b));
    p.write("s/c — 1h.sql", "select 3 as x");
    assert_eq!(p.run(&["schedule"]).code, 0);
    assert_eq!(deps_of_b(), ["s.a"], "an older version's parse was served");

    plant(&current);
    p.write("s/c — 1h.sql", "select 4 as x");
    assert_eq!(p.run(&["schedule"]).code, 0);
    assert!(deps_of_b().is_empty(), "control: the current key is served");
}
