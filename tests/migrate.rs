//! `duro migrate`: the earlier tool's fixture config (original-behavior.md §15.2) becomes a
//! duro.toml without its secrets, and a SQLite database with the earlier tool's schema (§6, §15.3)
//! is imported: ages, means, run history; only what the earlier tool would build now is due; a
//! second import changes nothing; bad files get clear errors.

mod common;

use common::Project;
use std::collections::BTreeSet;

const NOW: &str = "2026-06-01T12:00:00Z";
const NOW_EPOCH: i64 = 1_780_315_200;

const FULL_CONFIG: &str = "[main]\nviews=views\nlogs=logs_folder\ndb=old.db\ngraph=configs/graph.dot\nuse_git=yes\n\n[redshift]\nhost=redshift.amazonaws.com\nport=5439\ndatabase=redshift_db\nuser=redshift_user\npassword=redshift_pwd\n\n[slack]\nurl=https://hooks.slack.com/services/T0/B0/XYZ\nfailure_channel=failure\nsuccess_channel=success\nlog_channel=log-channel\n\n[s3]\naws_access_key_id=AAKI\naws_secret_access_key=ASAK\nbucket=s3-bucket\nfolder=duro\n";

/// The earlier tool's DDL (§6.1, as tests/create_test_db.py made it).
const OLD_SCHEMA: &str = r#"
create table tables (table_name text, query text, interval integer, config text, last_created integer,
    mean real, times_run integer, force integer, started integer, deleted integer, waiting integer);
create table commits (hash text, processed integer);
create table timestamps ("table" text, "start" int, "connect" int, "select" int, "create_temp" int,
    "process" int, "csv" int, "s3" int, "insert" int, "clean_csv" int, "tests" int, "replace_old" int,
    "drop_old" int, "make_snapshot" int, "finish" int);
create table version (major integer, minor integer);
insert into version values (1, 0);
"#;

/// A row of the earlier tool's `tables`: name, query, interval, last_created, mean, times_run,
/// force, deleted.
type OldTable = (
    &'static str,
    &'static str,
    Option<i64>,
    Option<i64>,
    f64,
    i64,
    Option<i64>,
    Option<i64>,
);

/// A project holding the original fixture's views, the earlier tool's config.conf and a
/// database in its schema, and no duro.toml yet.
fn old_site() -> Project {
    let p = Project::with_fixture("original");
    std::fs::remove_file(p.path().join("duro.toml")).unwrap();
    std::fs::write(p.path().join("config.conf"), FULL_CONFIG).unwrap();
    let db = rusqlite::Connection::open(p.path().join("old.db")).unwrap();
    db.execute_batch(OLD_SCHEMA).unwrap();
    let hours_ago = |h: i64| NOW_EPOCH - h * 3600;
    let mut insert = db
        .prepare("insert into tables values (?1, ?2, ?3, '{}', ?4, ?5, ?6, ?7, null, ?8, null)")
        .unwrap();
    let rows: [OldTable; 7] = [
        // Built 2 h ago, every 24 h: not due.
        (
            "first.cities",
            "select city, country\nfrom first.cities_raw",
            Some(1440),
            Some(hours_ago(2)),
            247.0,
            2,
            None,
            None,
        ),
        // A processor (its select is the query): built 3 h ago, every hour: due.
        (
            "first.countries",
            "select country, continent\nfrom first.countries_raw;",
            Some(60),
            Some(hours_ago(3)),
            12.5,
            40,
            None,
            None,
        ),
        // Forced in the earlier tool: due.
        (
            "first.countries_detailed",
            "select *\nfrom first.countries",
            Some(960),
            Some(hours_ago(1)),
            3.0,
            9,
            Some(1),
            None,
        ),
        // No interval, built 10 minutes ago; inherits 24m from second.parent: not due.
        (
            "second.child",
            "select city, country from first.cities",
            None,
            Some(NOW_EPOCH - 600),
            1.0,
            5,
            None,
            Some(0),
        ),
        // Built 5 minutes ago, but its query changed since the earlier tool's last schedule: due.
        (
            "second.parent",
            "select * from second.child limit 5",
            Some(24),
            Some(NOW_EPOCH - 300),
            2.0,
            7,
            None,
            None,
        ),
        // Gone from the views directory, and marked removed by the earlier tool.
        (
            "old.removed",
            "select 1",
            Some(60),
            Some(hours_ago(50)),
            1.0,
            1,
            None,
            Some(hours_ago(40)),
        ),
        (
            "old.vanished",
            "select 2",
            Some(60),
            Some(hours_ago(50)),
            1.0,
            1,
            None,
            None,
        ),
    ];
    for (name, query, interval, last, mean, times, force, deleted) in rows {
        insert
            .execute(rusqlite::params![
                name, query, interval, last, mean, times, force, deleted
            ])
            .unwrap();
    }
    // first.cities: the fixture's three timestamps rows (§15.3), and one from 2 h ago.
    let start = hours_ago(2);
    db.execute_batch(&format!(
        "insert into timestamps (\"table\", \"start\", \"connect\", \"select\", create_temp, csv, tests, replace_old, drop_old, finish) values
            ('first.cities', 1522151698, 1522151699, 1522151773, 1522151783, 1522151793, 1522151799, 1522151825, 1522151825, 1522151825),
            ('first.cities', 1522151835, 1522151849, 1522152053, 1522152063, 1522152073, 1522152155, 1522152202, 1522152202, 1522152202);
         insert into timestamps (\"table\", \"start\") values ('first.cities', 1523544406);
         insert into timestamps (\"table\", \"start\", \"connect\", create_temp, tests, replace_old, drop_old, finish)
            values ('first.cities', {start}, {a}, {b}, {c}, {d}, {d}, {d});
         insert into timestamps (\"table\", \"start\", \"connect\", \"select\", \"process\", s3, \"insert\", replace_old, finish)
            values ('first.countries', {s2}, {s2} + 1, {s2} + 5, {s2} + 9, {s2} + 10, {s2} + 12, {s2} + 13, {s2} + 13);
         insert into timestamps (\"table\", \"start\", finish) values ('old.vanished', {s3}, {s3} + 1);",
        a = start + 1,
        b = start + 100,
        c = start + 200,
        d = start + 247,
        s2 = hours_ago(3),
        s3 = hours_ago(50),
    ))
    .unwrap();
    p
}

#[test]
fn the_fixture_config_becomes_duro_toml_without_secrets() {
    let p = old_site();
    let run = p.run_at(NOW, &["migrate", "config.conf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let toml = std::fs::read_to_string(p.path().join("duro.toml")).unwrap();
    let parsed: toml::Value = toml::from_str(&toml).unwrap();
    assert_eq!(parsed["views"].as_str(), Some("views"));
    assert_eq!(
        parsed["warehouse"]["url"].as_str(),
        Some("redshift://redshift_user@redshift.amazonaws.com:5439/redshift_db")
    );
    assert_eq!(parsed["s3"]["bucket"].as_str(), Some("s3-bucket"));
    assert_eq!(parsed["s3"]["prefix"].as_str(), Some("duro"));
    assert_eq!(parsed["slack"]["success_channel"].as_str(), Some("success"));
    for secret in ["redshift_pwd", "AAKI", "ASAK", "XYZ"] {
        assert!(!toml.contains(secret), "{secret} in duro.toml:\n{toml}");
        assert!(
            !run.stdout.contains(secret),
            "{secret} printed:\n{}",
            run.stdout
        );
    }
    for export in [
        "export DURO_WAREHOUSE_URL='redshift://redshift_user:****@redshift.amazonaws.com:5439/redshift_db'",
        "export DURO_S3_ACCESS_KEY_ID='****'",
        "export DURO_S3_SECRET_ACCESS_KEY='****'",
        "export DURO_SLACK_WEBHOOK_URL='https://hooks.slack.com/****'",
    ] {
        assert!(
            run.stdout.contains(export),
            "{export} missing:\n{}",
            run.stdout
        );
    }
    assert!(run.stdout.contains("use_git"), "{}", run.stdout);
    // duro reads the file, and the printed values are the ones it needs.
    let check = p.run(&["check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);

    // Never over an existing duro.toml.
    let again = p.run(&["migrate", "config.conf"]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("never overwrites"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(p.path().join("duro.toml")).unwrap(),
        toml
    );

    // --show-secrets prints the values, ready for a shell.
    let shown = p.run(&["migrate", "config.conf", "--out", "other", "--show-secrets"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown
            .stdout
            .contains("export DURO_S3_SECRET_ACCESS_KEY='ASAK'")
    );
    assert!(shown.stdout.contains(
        "export DURO_WAREHOUSE_URL='redshift://redshift_user:redshift_pwd@redshift.amazonaws.com:5439/redshift_db'"
    ));
    let other: toml::Value =
        toml::from_str(&std::fs::read_to_string(p.path().join("other/duro.toml")).unwrap())
            .unwrap();
    assert_eq!(
        other["views"].as_str().map(std::path::PathBuf::from),
        Some(p.path().join("views")),
        "a views folder outside --out is written as an absolute path"
    );
}

fn plan_names(p: &Project) -> BTreeSet<String> {
    let plan = p.run_at(NOW, &["plan", "--format", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    plan.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn history_is_imported_and_only_what_was_due_is_due() {
    let p = old_site();
    let run = p.run_at(NOW, &["migrate", "config.conf", "--state"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("Imported the history of 5 tables (5 runs)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("old.removed"), "{}", run.stdout);
    assert!(run.stdout.contains("old.vanished"), "{}", run.stdout);

    let expected: BTreeSet<String> = [
        "first.countries",
        "first.countries_detailed",
        "second.parent",
    ]
    .map(String::from)
    .into();
    assert_eq!(plan_names(&p), expected);

    // Ages and means as the earlier tool had them.
    let status = p.run_at(NOW, &["status", "--format", "json"]).json();
    let of = |name: &str| {
        status
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {status}"))
            .clone()
    };
    assert_eq!(of("first.cities")["last_built"], "2026-06-01T10:00:00.000Z");
    assert_eq!(of("first.cities")["mean_seconds"], 247.0);
    assert_eq!(of("first.cities")["state"], "ok");
    assert_eq!(of("second.child")["last_built"], "2026-06-01T11:50:00.000Z");
    assert_eq!(of("first.countries")["mean_seconds"], 12.5);

    // The history, newest first, with steps; the row without a finish is a cancelled run.
    let cities = p
        .run_at(NOW, &["status", "first.cities", "--format", "json"])
        .json();
    let runs = cities["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4, "{cities}");
    assert_eq!(runs[0]["started_at"], "2026-06-01T10:00:00.000Z");
    assert_eq!(runs[0]["outcome"], "success");
    let steps: Vec<&str> = runs[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["connect", "create_temp", "tests", "replace"]);
    assert_eq!(runs[1]["outcome"], "cancelled");
    assert_eq!(runs[3]["started_at"], "2018-03-27T11:54:58.000Z");
    assert_eq!(runs[3]["finished_at"], "2018-03-27T11:57:05.000Z");
    let countries = p
        .run_at(NOW, &["status", "first.countries", "--format", "json"])
        .json();
    let steps: Vec<&str> = countries["runs"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["connect", "select", "process", "upload", "replace"]);

    // A second import changes nothing.
    let before = dump(&p);
    let again = p.run_at(NOW, &["migrate", "--import-db", "old.db"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains("history of 0 tables (0 runs)"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("Imported before"), "{}", again.stdout);
    assert_eq!(dump(&p), before);
    assert_eq!(plan_names(&p), expected);
}

/// Every table's statistics and every run, as text.
fn dump(p: &Project) -> String {
    // Where the migrated duro.toml keeps the state.
    let db = rusqlite::Connection::open(p.path().join(".duro/state.db")).unwrap();
    let mut out = String::new();
    let mut stmt = db
        .prepare("select name, last_built, mean_seconds, run_count, force, last_outcome from tables order by name")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(format!(
                "{:?} {:?} {:?} {:?} {:?} {:?}\n",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<f64>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<String>>(5)?
            ))
        })
        .unwrap();
    for row in rows {
        out.push_str(&row.unwrap());
    }
    let runs: i64 = db
        .query_row("select count(*) from runs", [], |r| r.get(0))
        .unwrap();
    out.push_str(&format!("runs {runs}\n"));
    out
}

#[test]
fn bad_files_get_clear_errors() {
    let p = old_site();
    let missing = p.run(&["migrate", "nope.conf"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("cannot read nope.conf"),
        "{}",
        missing.stderr
    );

    std::fs::write(p.path().join("bad.conf"), "[redshift]\nhost=h\n").unwrap();
    let no_main = p.run(&["migrate", "bad.conf"]);
    assert_eq!(no_main.code, 2);
    assert!(
        no_main.stderr.contains("bad.conf: has no [main] section"),
        "{}",
        no_main.stderr
    );
    assert!(!p.path().join("duro.toml").exists());

    // Not the earlier tool's database.
    std::fs::write(p.path().join("config.conf"), "[main]\ndb=notes.db\n").unwrap();
    rusqlite::Connection::open(p.path().join("notes.db"))
        .unwrap()
        .execute_batch("create table notes (t text)")
        .unwrap();
    let wrong = p.run(&["migrate", "config.conf", "--state"]);
    assert_eq!(wrong.code, 2, "{}{}", wrong.stdout, wrong.stderr);
    assert!(
        wrong.stderr.contains("has no `tables` table"),
        "{}",
        wrong.stderr
    );
    assert!(
        !p.path().join("duro.toml").exists(),
        "a wrong database leaves no duro.toml behind"
    );

    let nothing = p.run(&["migrate"]);
    assert_eq!(nothing.code, 2);
    assert!(
        nothing.stderr.contains("nothing to do"),
        "{}",
        nothing.stderr
    );
    let no_db = p.run(&["migrate", "--import-db", "absent.db"]);
    assert_eq!(no_db.code, 2);
    assert!(
        no_db.stderr.contains("absent.db: no such file"),
        "{}",
        no_db.stderr
    );
}
