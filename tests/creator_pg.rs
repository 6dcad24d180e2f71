//! The creator against a real PostgreSQL: complete builds in layers, grants, dependent views,
//! every failure leaving the old table byte-identical with no leftovers, timeouts that cancel the
//! query, concurrent creators, snapshots, and a view turning into a table.

mod common;

use common::Project;
use common::pg::TestDb;

const FAST: &str = "[creator]\nretries = 1\nlease_seconds = 2\n";

fn raw_data(db: &TestDb) {
    db.exec(
        "create schema raw;
         create table raw.people as select g as id, 'person ' || g as name, g % 5 as city_id from generate_series(1, 200) g;
         create table raw.cities as select g as id, 'city ' || g as name, g % 2 as country_id from generate_series(0, 4) g;
         create table raw.countries (id int, name text);
         insert into raw.countries values (0, 'France'), (1, 'Canada');",
    );
}

/// Six tables in three layers.
fn layered_views(p: &Project) {
    p.write(
        "staging/people.sql",
        "select id, name, city_id from raw.people",
    );
    p.write(
        "staging/cities.sql",
        "select id, name, country_id from raw.cities",
    );
    p.write(
        "staging/countries.sql",
        "select id, name from raw.countries",
    );
    p.write(
        "marts/city_people.sql",
        "-- people with their city\nselect p.id, p.name, c.name as city, c.country_id\nfrom staging.people p\njoin staging.cities c on c.id = p.city_id",
    );
    p.write(
        "marts/country_people — 1h.sql",
        "with counted as (\n  select country_id, count(*) as people from marts.city_people group by country_id\n)\nselect k.name as country, counted.people\nfrom counted join staging.countries k on k.id = counted.country_id",
    );
    p.write(
        "marts/country_people_test.sql",
        "select count(*) = 2 as two_countries from marts.country_people;\nselect sum(people) = (select count(*) from raw.people) as everyone_counted from marts.country_people",
    );
    p.write(
        "report/summary — 1h.sql",
        "select count(*) as cities from marts.city_people",
    );
    p.write("marts.conf", "grant_select=duro_reader\n");
}

fn build(p: &Project) -> common::Run {
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    p.run(&["create", "--once"])
}

#[test]
fn a_layered_tree_builds_completely_with_grants_and_views_that_follow() {
    let db = TestDb::new("layers");
    db.ensure_role("duro_reader");
    raw_data(&db);
    let p = Project::on_postgres(&db.url, FAST);
    layered_views(&p);
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Built 6 of 6 tables"), "{}", run.stdout);

    // Data equals the queries' results.
    for (table, query) in [
        ("staging.people", "select id, name, city_id from raw.people"),
        (
            "marts.city_people",
            "select p.id, p.name, c.name as city, c.country_id from raw.people p join raw.cities c on c.id = p.city_id",
        ),
    ] {
        assert_eq!(
            db.checksum(table),
            db.checksum(&format!("({query})")),
            "{table}"
        );
    }
    assert_eq!(
        db.exec("select country, people from marts.country_people order by 1"),
        [
            vec![Some("Canada".to_string()), Some("80".to_string())],
            vec![Some("France".to_string()), Some("120".to_string())]
        ]
    );
    // Grants from marts.conf, none elsewhere.
    assert_eq!(
        db.value(
            "select has_table_privilege('duro_reader', 'marts.country_people', 'select')::text"
        ),
        Some("true".into())
    );
    assert_eq!(
        db.value("select has_table_privilege('duro_reader', 'staging.people', 'select')::text"),
        Some("false".into())
    );

    // A plain view on a table and a view on that view, both outside duro.
    db.exec(
        "create view public.big_countries as select country, people from marts.country_people where people > 10;
         create view public.big_country_names as select country from public.big_countries;",
    );
    db.exec("insert into raw.people select g, 'newcomer', 1 from generate_series(201, 260) g");
    let run = p.run(&["run", "marts.country_people", "--tree"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        db.value("select sum(people)::text from public.big_countries"),
        Some("260".into()),
        "the view follows the new table"
    );
    assert_eq!(
        db.value("select count(*)::text from public.big_country_names"),
        Some("2".into())
    );
    assert!(db.leftovers().is_empty(), "{:?}", db.leftovers());

    // Runs are recorded with their steps and statistics.
    let status = p
        .run(&["status", "marts.country_people", "--format", "json"])
        .json();
    assert_eq!(status["state"], "ok");
    let steps: Vec<String> = status["runs"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        steps,
        [
            "connect",
            "create_temp",
            "tests",
            "repoint_views",
            "replace"
        ]
    );
    assert_eq!(status["runs"][0]["rows"], 2);
    assert!(status["mean_seconds"].as_f64().unwrap() > 0.0);
    // Everything was built, so nothing is due and forces are cleared.
    assert_eq!(
        p.run(&["plan", "--format", "json"]).json(),
        serde_json::json!([])
    );
}

/// A failure scenario: name, files to write, expected outcome and error text.
type FailureCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

/// Each failure leaves the old table exactly as it was and no temp table behind.
#[test]
fn failures_leave_the_old_table_untouched() {
    let db = TestDb::new("failures");
    db.exec("create schema raw; create table raw.numbers as select g as n from generate_series(1, 50) g;");
    let p = Project::on_postgres(&db.url, FAST);
    p.write(
        "s/numbers — 1h.sql",
        "select n, n * n as square from raw.numbers",
    );
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    db.exec("create view public.squares as select n, square from s.numbers");
    let before = db.checksum("s.numbers");
    db.exec("insert into raw.numbers values (51)");

    let cases: [FailureCase; 4] = [
        (
            "failing test",
            &[(
                "s/numbers_test.sql",
                "select count(*) = 1000 as thousand_rows from s.numbers",
            )],
            "tests_failed",
            "tests failed for s.numbers: thousand_rows",
        ),
        (
            "zero-row test",
            &[(
                "s/numbers_test.sql",
                "select true as ok from s.numbers where n < 0",
            )],
            "tests_failed",
            "statement at line 1 returned no rows",
        ),
        (
            "SQL error in the query",
            &[(
                "s/numbers — 1h.sql",
                "select n, n * n as square from raw.no_such_table",
            )],
            "failed",
            "the query of s.numbers failed: relation \"raw.no_such_table\" does not exist (42P01)",
        ),
        (
            "view that cannot be re-pointed",
            &[("s/numbers — 1h.sql", "select n from raw.numbers")],
            "failed",
            "view public.squares cannot be re-pointed to the new s.numbers",
        ),
    ];
    for (name, files, outcome, message) in cases {
        for (path, content) in files {
            p.write(path, content);
        }
        let run = build(&p);
        assert_eq!(run.code, 1, "{name}: {}{}", run.stdout, run.stderr);
        let status = p.run(&["status", "s.numbers", "--format", "json"]).json();
        assert_eq!(status["runs"][0]["outcome"], outcome, "{name}");
        let error = status["runs"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(error.contains(message), "{name}: {error}");
        assert_eq!(
            db.checksum("s.numbers"),
            before,
            "{name}: the old table changed"
        );
        assert!(db.leftovers().is_empty(), "{name}: {:?}", db.leftovers());
        assert_eq!(
            db.value("select count(*)::text from public.squares"),
            Some("50".into()),
            "{name}"
        );
        // Back to a good definition for the next case.
        let _ = std::fs::remove_file(p.views().join("s/numbers_test.sql"));
        p.write(
            "s/numbers — 1h.sql",
            "select n, n * n as square from raw.numbers",
        );
    }
    let status = p.run(&["status", "--format", "json"]).json();
    assert_eq!(status[0]["state"], "failed");
    assert!(
        status[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot be re-pointed")
    );
}

#[test]
fn a_slow_query_is_cancelled_at_its_timeout() {
    let db = TestDb::new("timeout");
    let p = Project::on_postgres(
        &db.url,
        "[creator]\nretries = 0\ntimeout_first_run = \"2s\"\n",
    );
    p.write("s/slow — 1h.sql", "select 1 as x from pg_sleep(60)");
    let started = std::time::Instant::now();
    let run = build(&p);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
    let status = p.run(&["status", "s.slow", "--format", "json"]).json();
    assert_eq!(status["runs"][0]["outcome"], "timeout");
    assert!(
        status["runs"][0]["error"]
            .as_str()
            .unwrap()
            .contains("cancelled after 2s")
    );
    // The query is gone from the server, and nothing was left behind.
    let mut remaining = Some("1".to_string());
    for _ in 0..50 {
        remaining = db.value(&format!(
            "select count(*)::text from pg_stat_activity where datname = '{}' and query like '%pg_sleep(60)%' and pid <> pg_backend_pid()",
            db.name
        ));
        if remaining.as_deref() == Some("0") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(remaining.as_deref(), Some("0"));
    assert!(db.leftovers().is_empty());
    assert_eq!(db.value("select to_regclass('s.slow')::text"), None);
}

#[test]
fn two_creators_never_build_the_same_table_at_once() {
    let db = TestDb::new("two_creators");
    // Four rounds of 0.4 s for one creator alone: time enough for the second to start and take
    // its share even on a loaded machine.
    let p = Project::on_postgres(&db.url, "[creator]\nconcurrency = 2\nretries = 0\n");
    for i in 0..8 {
        p.write(
            &format!("s/t{i} — 1h.sql"),
            "select 1 as one from pg_sleep(0.4)",
        );
    }
    assert_eq!(p.run(&["schedule"]).code, 0);
    let a = p.command(&["create", "--once"]).spawn().unwrap();
    let b = p.command(&["create", "--once"]).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let runs: Vec<(String, i64, i64, String)> = p
        .sqlite()
        .prepare("select table_name, started_at, finished_at, owner from runs where outcome = 'success' order by table_name, started_at")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for i in 0..8 {
        let table = format!("s.t{i}");
        let mine: Vec<_> = runs.iter().filter(|r| r.0 == table).collect();
        assert!(!mine.is_empty(), "{table} was never built");
        for pair in mine.windows(2) {
            assert!(pair[1].1 >= pair[0].2, "{table}: overlapping runs {pair:?}");
        }
    }
    let owners: std::collections::BTreeSet<&String> = runs.iter().map(|r| &r.3).collect();
    assert_eq!(
        owners.len(),
        2,
        "both creators did some of the work: {runs:?}"
    );
}

#[test]
fn snapshots_append_evolve_and_expire() {
    let db = TestDb::new("snapshots");
    db.exec(
        "create schema raw; create table raw.items as select g as id from generate_series(1, 3) g;",
    );
    let p = Project::on_postgres(&db.url, FAST);
    p.write("s/items — 1h.sql", "select id from raw.items");
    p.write(
        "s/items.conf",
        "snapshots_interval=1h\nsnapshots_stored_for=1d\n",
    );
    assert_eq!(build(&p).code, 0);
    assert_eq!(
        db.value("select count(*)::text from s.items_history"),
        Some("3".into())
    );
    // Too soon for another snapshot.
    assert_eq!(p.run(&["run", "s.items"]).code, 0);
    assert_eq!(
        db.value("select count(*)::text from s.items_history"),
        Some("3".into())
    );
    // An hour later, with a new column: it is added to the history, older rows get NULL.
    db.exec(
        "update s.items_history set snapshot_timestamp = snapshot_timestamp - interval '2 hours'",
    );
    db.exec("insert into s.items_history (id, snapshot_timestamp) values (0, now() - interval '3 days')");
    p.write(
        "s/items — 1h.sql",
        "select id, id * 10 as tens from raw.items",
    );
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        db.exec("select count(*)::text, count(tens)::text, count(distinct snapshot_timestamp)::text from s.items_history"),
        [vec![Some("6".into()), Some("3".into()), Some("2".into())]],
        "the 3-day-old snapshot expired"
    );
    let steps =
        p.run(&["status", "s.items", "--format", "json"]).json()["runs"][0]["steps"].to_string();
    assert!(steps.contains("snapshot"), "{steps}");
}

#[test]
fn a_plain_view_becomes_a_table_and_its_dependents_follow() {
    let db = TestDb::new("view_to_table");
    db.exec(
        "create schema s; create view s.t as select 1 as x;
         create view public.on_t as select x from s.t;",
    );
    let p = Project::on_postgres(&db.url, FAST);
    p.write("s/t — 1h.sql", "select 2 as x");
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        db.value("select relkind::text from pg_class where oid = 's.t'::regclass"),
        Some("r".into())
    );
    assert_eq!(
        db.value("select x::text from public.on_t"),
        Some("2".into())
    );
}

#[test]
fn run_refuses_unknown_and_busy_tables() {
    let db = TestDb::new("busy");
    let p = Project::on_postgres(&db.url, FAST);
    p.write("s/t — 1h.sql", "select 1 as x");
    assert_eq!(p.run(&["schedule"]).code, 0);
    assert_eq!(p.run(&["run", "s.nope"]).code, 2);
    let far = jiff::Timestamp::now().as_millisecond() + 600_000;
    p.sqlite()
        .execute(
            "update tables set lease_owner = 'elsewhere', lease_until = ?1",
            [far],
        )
        .unwrap();
    let run = p.run(&["run", "s.t"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("being built by another process"),
        "{}",
        run.stderr
    );
    let status = p.run(&["status", "--format", "json"]).json();
    assert_eq!(status[0]["state"], "running");
}

#[test]
fn a_lock_held_by_a_reader_times_out_and_the_run_is_retried() {
    let db = TestDb::new("lock_retry");
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 3\nlock_timeout = \"1s\"\n");
    p.write("s/t — 1h.sql", "select 1 as x");
    assert_eq!(build(&p).code, 0);
    // A long reader holds a lock on s.t for 3 seconds.
    let url = db.url.clone();
    let reader = std::thread::spawn(move || {
        common::pg::query(
            &url,
            "begin; lock table s.t in access share mode; select pg_sleep(3); commit;",
        )
        .unwrap();
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let run = p.run(&["run", "s.t"]);
    reader.join().unwrap();
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("lock timeout"), "{}", run.stderr);
    assert!(run.stderr.contains("retrying"), "{}", run.stderr);
    assert!(
        started.elapsed().as_secs_f64() > 2.5,
        "the build waited for the reader"
    );
    assert!(db.leftovers().is_empty());
}

/// `retries = 2` is at most 3 attempts, logged as "attempt 1 of 3", "attempt 2 of 3"; a table
/// that stayed locked by another session through all of them was busy, not failed: the run
/// says so and the table keeps its state (still `ok`, no error, no failure streak).
#[test]
fn a_table_locked_elsewhere_is_busy_after_retries_plus_one_attempts_and_keeps_its_state() {
    let db = TestDb::new("busy_lock");
    // The query counts its attempts: a sequence survives the rollbacks.
    db.exec("create schema raw; create sequence raw.attempts;");
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 2\nlock_timeout = \"1s\"\n");
    p.write("s/t — 1h.sql", "select nextval('raw.attempts') as n");
    assert_eq!(build(&p).code, 0);
    assert_eq!(
        db.value("select last_value::text from raw.attempts"),
        Some("1".into())
    );
    // Another session holds a lock on s.t longer than every attempt and wait together
    // (1 s + 2 s + 1 s + 4 s + 1 s).
    let url = db.url.clone();
    let holder = std::thread::spawn(move || {
        common::pg::query(
            &url,
            "begin; lock table s.t in access share mode; select pg_sleep(12); commit;",
        )
        .unwrap();
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let run = p.run(&["run", "s.t"]);
    holder.join().unwrap();
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("0 failed, 1 busy"), "{}", run.stdout);
    assert_eq!(
        db.value("select last_value::text from raw.attempts"),
        Some("4".into()),
        "three attempts: {}",
        run.stderr
    );
    for line in [
        "attempt 1 of 3 failed, retrying in 2s",
        "attempt 2 of 3 failed, retrying in 4s",
    ] {
        assert!(run.stderr.contains(line), "{line}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("attempt 3 of"), "{}", run.stderr);
    assert!(
        run.stderr.contains("busy in another process (3 attempts)"),
        "{}",
        run.stderr
    );

    let status = p.run(&["status", "s.t", "--format", "json"]).json();
    assert_eq!(status["state"], "ok", "{status}");
    assert_eq!(status["last_error"], serde_json::Value::Null, "{status}");
    // The run is on record, as not built because busy.
    assert_eq!(status["runs"][0]["outcome"], "cancelled", "{status}");
    assert!(
        status["runs"][0]["error"]
            .as_str()
            .unwrap()
            .contains("its state is unchanged"),
        "{status}"
    );
    let streak: i64 = p
        .sqlite()
        .query_row("select failures from tables where name = 's.t'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(streak, 0);
    assert_eq!(
        db.value("select n::text from s.t"),
        Some("1".into()),
        "the old table stays"
    );
    assert!(db.leftovers().is_empty());
}

/// PostgreSQL's error position is mapped from the statement duro sent (the transaction's opening
/// statements and `create table … as (` around the query) back to the file's line and column.
#[test]
fn query_errors_point_at_the_line_and_column_of_the_file() {
    let db = TestDb::new("positions");
    db.exec("create schema raw; create table raw.t as select 1 as x;");
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 0\n");
    let cases = [
        // An unknown column on line 3.
        (
            "s/column — 1h.sql",
            "select x,\n  x + 1 as y,\n  nope as z\nfrom raw.t",
            "at s/column — 1h.sql:3:3: nope as z",
        ),
        // A syntax error on line 3 (a missing comma).
        (
            "s/syntax — 1h.sql",
            "select x,\n  x + 1 as y\n  x + 2 as z\nfrom raw.t",
            "at s/syntax — 1h.sql:3:3: x + 2 as z",
        ),
        // Blank lines before the query (not stored) still count, and so does a BOM.
        (
            "s/lead — 1h.sql",
            "\u{feff}\n\n-- the x\nselect x from raw.t where nope > 0;\n",
            "at s/lead — 1h.sql:4:27: select x from raw.t where nope > 0",
        ),
        // An error in the first line, after the query's own indentation.
        (
            "s/first — 1h.sql",
            "  select nope from raw.t",
            "at s/first — 1h.sql:1:10: select nope from raw.t",
        ),
    ];
    for (file, query, _) in &cases {
        p.write(file, query);
    }
    let run = build(&p);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    for (file, _, expected) in cases {
        let table = format!(
            "s.{}",
            file.trim_start_matches("s/").split(' ').next().unwrap()
        );
        let status = p.run(&["status", &table, "--format", "json"]).json();
        let error = status["runs"][0]["error"].as_str().unwrap().to_string();
        assert!(error.contains(expected), "{table}: {error}");
        assert!(!error.contains("of the statement"), "{table}: {error}");
    }
}
