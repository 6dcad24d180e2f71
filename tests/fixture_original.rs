//! The views tree of the original tool's tests (original-behavior.md §15.1) must work unchanged:
//! 5 tables, their intervals, edges and merged configs (§2.5), through the real binary. And a
//! views tree of Redshift SQL as teams write it (system views, `(+)`, PartiQL, `approximate`,
//! `top`, `pivot`, `qualify`, CTEs named like tables) checks without a fallback and with the
//! relation sets of `tests/fixtures/redshift/expected-graph.json`.

mod common;

use common::Project;
use serde_json::json;

#[test]
fn check_accepts_the_original_fixture() {
    let p = Project::with_fixture("original");
    let run = p.run(&["check", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let diagnostics = run.json();
    assert!(
        diagnostics
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["severity"] == "warning"),
        "{diagnostics}"
    );
}

#[test]
fn graph_has_the_fixture_tables_intervals_and_edges() {
    let p = Project::with_fixture("original");
    let run = p.run(&["graph", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json(),
        json!({"tables": [
            {"name": "first.cities", "interval_minutes": 1440, "depends_on": [], "sources": ["first.cities_raw"]},
            {"name": "first.countries", "interval_minutes": 60, "depends_on": [], "sources": ["first.countries_raw"]},
            {"name": "first.countries_detailed", "interval_minutes": 960, "depends_on": ["first.countries"], "sources": []},
            {"name": "second.child", "interval_minutes": null, "depends_on": ["first.cities"], "sources": []},
            {"name": "second.parent", "interval_minutes": 24, "depends_on": ["second.child"], "sources": []},
        ]})
    );
}

#[test]
fn schedule_records_merged_configs_and_processor_files() {
    let p = Project::with_fixture("original");
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("New tables: first.cities, first.countries, first.countries_detailed, second.child, second.parent."),
        "{}",
        run.stdout
    );
    let config =
        |table: &str| p.run(&["status", table, "--format", "json"]).json()["config"].clone();
    assert_eq!(
        config("second.child"),
        json!({"distkey": "city", "diststyle": "all", "snapshots_interval": "24h", "snapshots_stored_for": "90d"})
    );
    assert_eq!(config("second.parent"), json!({"diststyle": "even"}));
    assert_eq!(
        config("first.cities"),
        json!({"grant_select": "jane, john"})
    );
    assert_eq!(
        config("first.countries"),
        json!({"grant_select": "joan, john"})
    );

    let db = p.sqlite();
    let (select, script, requirements, definition, tests): (String, String, String, String, String) = db
        .query_row(
            "select select_query, script, requirements, definition, tests from tables where name = 'first.countries'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        select,
        "select country, continent\nfrom first.countries_raw"
    );
    assert!(script.contains("csv.reader"));
    assert_eq!(requirements.trim(), "idna==2.8");
    assert!(definition.starts_with("create table first.countries("));
    // The top-level first.countries_test.sql belongs to first.countries.
    assert!(tests.contains("correct_continent_for_france"));
    let files: String = db
        .query_row(
            "select files from tables where name = 'first.cities'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&files).unwrap(),
        json!({"definition": "first/cities \u{2014}\u{a0}24h.sql", "tests": "first/cities_test.sql"})
    );
}

#[test]
fn force_tree_of_parent_marks_its_whole_tree() {
    // original-behavior.md §6.4: a tree force on second.parent forces cities, child and parent.
    let p = Project::with_fixture("original");
    assert_eq!(p.run(&["schedule"]).code, 0);
    p.sqlite()
        .execute("update tables set force = 0", [])
        .unwrap();
    let run = p.run(&["force", "second.parent", "--tree"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let forced: Vec<String> = p
        .sqlite()
        .prepare("select name from tables where force > 0 order by name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(forced, ["first.cities", "second.child", "second.parent"]);
    // A tree force on a table without dependencies is recorded too (the original lost it).
    p.sqlite()
        .execute("update tables set force = 0", [])
        .unwrap();
    assert_eq!(p.run(&["force", "first.cities", "--tree"]).code, 0);
    let n: i64 = p
        .sqlite()
        .query_row("select count(*) from tables where force > 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn redshift_sql_checks_without_a_fallback_and_with_its_relation_sets() {
    let p = Project::with_fixture("redshift");
    p.write_config_with_url("redshift://duro@localhost/dev", "");
    let run = p.run(&["check", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json(), json!([]), "no error and no warning");
    let graph = p.run(&["graph", "--format", "json"]).json();
    let found: serde_json::Map<String, serde_json::Value> = graph["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let relations = json!({"depends_on": t["depends_on"], "sources": t["sources"]});
            (t["name"].as_str().unwrap().to_string(), relations)
        })
        .collect();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixture("redshift").join("expected-graph.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(serde_json::Value::Object(found), expected);
}
