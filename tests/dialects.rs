//! The creator's scenarios run the same way on every warehouse duro can start here: a real
//! PostgreSQL and the embedded DuckDB. Each scenario is one function taking the warehouse; the
//! tests below call it once per dialect.

mod common;

use common::Project;
use common::warehouse::Warehouse;

const FAST: &str = "[creator]\nretries = 1\nlease_seconds = 2\n";

fn project(wh: &Warehouse, extra: &str) -> Project {
    let p = Project::new();
    p.write_config_with_url(&wh.url(), extra);
    p
}

fn build(p: &Project) -> common::Run {
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    p.run(&["create", "--once"])
}

fn raw_data(wh: &Warehouse) {
    wh.exec(
        "create schema raw;
         create table raw.people as select g as id, 'person ' || g as name, g % 5 as city_id from generate_series(1, 200) as t(g);
         create table raw.cities as select g as id, 'city ' || g as name, g % 2 as country_id from generate_series(0, 4) as t(g);
         create table raw.countries (id int, name text);
         insert into raw.countries values (0, 'France'), (1, 'Canada');",
    );
}

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
        "select p.id, p.name, c.name as city, c.country_id\nfrom staging.people p\njoin staging.cities c on c.id = p.city_id",
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
}

fn layered_tree(wh: Warehouse) {
    raw_data(&wh);
    let p = project(&wh, FAST);
    layered_views(&p);
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Built 6 of 6 tables"), "{}", run.stdout);
    for (table, query) in [
        ("staging.people", "select id, name, city_id from raw.people"),
        (
            "marts.city_people",
            "select p.id, p.name, c.name as city, c.country_id from raw.people p join raw.cities c on c.id = p.city_id",
        ),
    ] {
        assert_eq!(
            wh.checksum(table),
            wh.checksum(&format!("({query})")),
            "{table}"
        );
    }
    assert_eq!(
        wh.exec("select country, cast(people as varchar) from marts.country_people order by 1"),
        [
            vec![Some("Canada".to_string()), Some("80".to_string())],
            vec![Some("France".to_string()), Some("120".to_string())]
        ]
    );

    // A view and a view on that view, outside duro, follow a rebuild.
    wh.exec(
        "create schema outside;
         create view outside.big_countries as select country, people from marts.country_people where people > 10;
         create view outside.big_country_names as select country from outside.big_countries;",
    );
    wh.exec(
        "insert into raw.people select g, 'newcomer', 1 from generate_series(201, 260) as t(g)",
    );
    let run = p.run(&["run", "marts.country_people", "--tree"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        wh.value("select cast(sum(people) as varchar) from outside.big_countries"),
        Some("260".into())
    );
    assert_eq!(
        wh.value("select cast(count(*) as varchar) from outside.big_country_names"),
        Some("2".into())
    );
    assert!(wh.leftovers().is_empty(), "{:?}", wh.leftovers());

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
    // DuckDB's views bind by name when read: nothing to re-point.
    let expected: &[&str] = if wh.is_duckdb() {
        &["connect", "create_temp", "tests", "replace"]
    } else {
        &[
            "connect",
            "create_temp",
            "tests",
            "repoint_views",
            "replace",
        ]
    };
    assert_eq!(steps, expected);
    assert_eq!(status["runs"][0]["rows"], 2);
    assert_eq!(
        p.run(&["plan", "--format", "json"]).json(),
        serde_json::json!([])
    );
}

fn failures_leave_the_old_table(wh: Warehouse) {
    wh.exec("create schema raw; create table raw.numbers as select g as n from generate_series(1, 50) as t(g);");
    let p = project(&wh, FAST);
    p.write(
        "s/numbers — 1h.sql",
        "select n, n * n as square from raw.numbers",
    );
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    wh.exec("create view raw.squares as select n, square from s.numbers");
    let before = wh.checksum("s.numbers");
    wh.exec("insert into raw.numbers values (51)");
    let missing_table = if wh.is_duckdb() {
        "no_such_table does not exist"
    } else {
        "relation \"raw.no_such_table\" does not exist (42P01)"
    };
    let cases: [(&str, &str, &str, &str, &str); 4] = [
        (
            "failing test",
            "s/numbers_test.sql",
            "select count(*) = 1000 as thousand_rows from s.numbers",
            "tests_failed",
            "tests failed for s.numbers: thousand_rows",
        ),
        (
            "zero-row test",
            "s/numbers_test.sql",
            "select true as ok from s.numbers where n < 0",
            "tests_failed",
            "statement at line 1 returned no rows",
        ),
        (
            "SQL error in the query",
            "s/numbers — 1h.sql",
            "select n, n * n as square from raw.no_such_table",
            "failed",
            missing_table,
        ),
        (
            "SQL error in a test",
            "s/numbers_test.sql",
            "select true as ok;\nselect no_such_column > 0 as ok from s.numbers",
            "failed",
            "test statement at line 2 failed",
        ),
    ];
    for (name, path, content, outcome, message) in cases {
        p.write(path, content);
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
            wh.checksum("s.numbers"),
            before,
            "{name}: the old table changed"
        );
        assert!(wh.leftovers().is_empty(), "{name}: {:?}", wh.leftovers());
        assert_eq!(
            wh.value("select cast(count(*) as varchar) from raw.squares"),
            Some("50".into()),
            "{name}"
        );
        let _ = std::fs::remove_file(p.views().join("s/numbers_test.sql"));
        p.write(
            "s/numbers — 1h.sql",
            "select n, n * n as square from raw.numbers",
        );
    }
    // Fixed: the next build succeeds and the new row arrives.
    assert_eq!(build(&p).code, 0);
    assert_eq!(
        wh.value("select cast(count(*) as varchar) from raw.squares"),
        Some("51".into())
    );
}

/// A failed data test is recorded with its SQL as written, the failing columns and the values of
/// the failing rows, typed as the warehouse returned them; every failed run names its step.
fn failed_tests_keep_their_sql_and_values(wh: Warehouse) {
    let p = project(&wh, FAST);
    p.write(
        "s/amounts — 1h.sql",
        "select n, case when n = 2 then '' else 'name ' || cast(n as varchar) end as name, \
         cast(n * 1.5 as numeric(10, 2)) as amount \
         from (select -1 as n union all select 0 union all select 1 union all select 2) as t",
    );
    let tests = "-- the table has rows\nselect count(*) > 0 as has_rows from s.amounts;\n\n\
                 select n, n > 0 as positive, name <> '' as named, amount\n  from s.amounts order by n";
    p.write("s/amounts_test.sql", tests);
    let run = build(&p);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let status = p.run(&["status", "s.amounts", "--format", "json"]).json();
    let last = &status["runs"][0];
    assert_eq!(last["outcome"], "tests_failed", "{last}");
    assert_eq!(last["failed_step"], "tests", "{last}");
    assert_eq!(
        last["failed_tests"],
        serde_json::json!(["positive", "n", "amount", "named"])
    );
    let failures = last["test_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{last}");
    let f = &failures[0];
    assert_eq!(f["line"], 4);
    assert!(
        f["sql"]
            .as_str()
            .unwrap()
            .starts_with("select n, n > 0 as positive")
            && f["sql"]
                .as_str()
                .unwrap()
                .contains("from s.amounts order by n"),
        "the SQL as written, not pointed at the temp table: {f}"
    );
    assert_eq!(
        f["columns"],
        serde_json::json!(["n", "positive", "named", "amount"])
    );
    assert_eq!(
        f["failed"],
        serde_json::json!(["positive", "n", "amount", "named"])
    );
    assert_eq!(f["returned_rows"], 4);
    assert_eq!(f["failing_rows"], 3);
    assert_eq!(
        f["rows"],
        serde_json::json!([
            ["-1", "false", "true", "-1.50"],
            ["0", "false", "true", "0.00"],
            ["2", "true", "false", "3.00"]
        ])
    );
    // A query that fails names the step it failed in; the old run records stay.
    p.write("s/amounts — 1h.sql", "select n from raw.no_such_table");
    assert_eq!(build(&p).code, 1);
    let status = p.run(&["status", "s.amounts", "--format", "json"]).json();
    assert_eq!(status["runs"][0]["failed_step"], "create_temp");
    assert!(status["runs"][0].get("test_failures").is_none());
    assert_eq!(status["runs"][1]["test_failures"][0]["failing_rows"], 3);
}

fn slow_query_times_out(wh: Warehouse) {
    let p = project(&wh, "[creator]\nretries = 0\ntimeout_first_run = \"2s\"\n");
    let slow = if wh.is_duckdb() {
        "select count(*) as x from range(100000000) a, range(100000000) b where a.range + b.range = -1"
    } else {
        "select 1 as x from pg_sleep(60)"
    };
    p.write("s/slow — 1h.sql", slow);
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
    assert!(wh.leftovers().is_empty());
    assert_eq!(wh.kind("s", "slow"), None);
}

fn snapshots(wh: Warehouse) {
    wh.exec("create schema raw; create table raw.items as select g as id from generate_series(1, 3) as t(g);");
    let p = project(&wh, FAST);
    p.write("s/items — 1h.sql", "select id from raw.items");
    p.write(
        "s/items.conf",
        "snapshots_interval=1h\nsnapshots_stored_for=1d\n",
    );
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        wh.value("select cast(count(*) as varchar) from s.items_history"),
        Some("3".into())
    );
    assert_eq!(p.run(&["run", "s.items"]).code, 0);
    assert_eq!(
        wh.value("select cast(count(*) as varchar) from s.items_history"),
        Some("3".into()),
        "too soon for another snapshot"
    );
    wh.exec(
        "update s.items_history set snapshot_timestamp = snapshot_timestamp - interval '2 hours'",
    );
    wh.exec("insert into s.items_history (id, snapshot_timestamp) values (0, cast(now() as timestamp) - interval '3 days')");
    p.write(
        "s/items — 1h.sql",
        "select id, id * 10 as tens from raw.items",
    );
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        wh.exec("select cast(count(*) as varchar), cast(count(tens) as varchar), cast(count(distinct snapshot_timestamp) as varchar) from s.items_history"),
        [vec![Some("6".into()), Some("3".into()), Some("2".into())]],
        "a column was added and the 3-day-old snapshot expired"
    );
}

fn view_becomes_table(wh: Warehouse) {
    wh.exec("create schema s; create view s.t as select 1 as x; create view s.on_t as select x from s.t;");
    let p = project(&wh, FAST);
    p.write("s/t — 1h.sql", "select 2 as x");
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(wh.kind("s", "t").as_deref(), Some("BASE TABLE"));
    assert_eq!(
        wh.value("select cast(x as varchar) from s.on_t"),
        Some("2".into())
    );
}

const PROCESSOR: &str = r#"# Passes the rows through as written (Python's csv module cannot tell NULL from ''),
# upper-casing one value.
import sys
with open(sys.argv[1], newline="") as f:
    text = f.read()
with open(sys.argv[2], "w", newline="") as f:
    f.write(text.replace("semi;colon", "SEMI;COLON"))"#;

fn processor(wh: Warehouse) {
    wh.exec(
        "create schema raw; create table raw.things (id int, label text, note text);
         insert into raw.things values (1, 'semi;colon', 'quote \"here\"'), (2, '', null), (3, null, 'line\nbreak');",
    );
    let p = project(&wh, "[creator]\nretries = 0\n");
    p.write(
        "s/things_select.sql",
        "select id, label, note from raw.things order by id",
    );
    p.write(
        "s/things — 1h.sql",
        "create table s.things (id int, label text, note text)",
    );
    p.write("s/things.py", PROCESSOR);
    let run = build(&p);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        wh.exec("select cast(id as varchar), label, note from s.things order by id"),
        [
            vec![
                Some("1".into()),
                Some("SEMI;COLON".into()),
                Some("quote \"here\"".into())
            ],
            vec![Some("2".into()), Some("".into()), None],
            vec![Some("3".into()), None, Some("line\nbreak".into())],
        ],
        "NULL and the empty string stay apart; delimiters, quotes and line breaks survive"
    );
    let before = wh.checksum("s.things");
    p.write(
        "s/things.py",
        "import sys\nprint('bad input', file=sys.stderr)\nsys.exit(3)\n",
    );
    let run = build(&p);
    assert_eq!(run.code, 1);
    let error = p.run(&["status", "s.things", "--format", "json"]).json()["runs"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.contains("bad input"), "{error}");
    assert_eq!(wh.checksum("s.things"), before);
    assert!(wh.leftovers().is_empty());
}

macro_rules! on_both {
    ($scenario:ident, $pg:ident, $duck:ident) => {
        #[test]
        fn $pg() {
            $scenario(Warehouse::postgres(stringify!($scenario)));
        }
        #[test]
        fn $duck() {
            $scenario(Warehouse::duckdb());
        }
    };
}

on_both!(layered_tree, postgres_layered_tree, duckdb_layered_tree);
on_both!(
    failures_leave_the_old_table,
    postgres_failures_leave_the_old_table,
    duckdb_failures_leave_the_old_table
);
on_both!(
    slow_query_times_out,
    postgres_slow_query_times_out,
    duckdb_slow_query_times_out
);
on_both!(snapshots, postgres_snapshots, duckdb_snapshots);
on_both!(
    failed_tests_keep_their_sql_and_values,
    postgres_failed_tests_keep_their_sql_and_values,
    duckdb_failed_tests_keep_their_sql_and_values
);
on_both!(
    view_becomes_table,
    postgres_view_becomes_table,
    duckdb_view_becomes_table
);
on_both!(processor, postgres_processor, duckdb_processor);
