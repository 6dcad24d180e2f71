//! SQL injection through every `.conf` key that reaches SQL and through table and schema names
//! taken from file names: `check` refuses each with a diagnostic naming the file, and on a real
//! PostgreSQL nothing is ever dropped. Valid quoted identifiers (reserved words) do work. In the
//! web UI, markup in queries and errors is always escaped.

mod common;

use common::Project;
use common::pg::TestDb;
use common::web::{Server, get};

/// Values that would break out of an identifier, a keyword position or a string literal.
const VECTORS: &[&str] = &[
    "x; drop table raw.victim; --",
    "a\" , \"b",
    "'",
    "$$",
    "a'); drop table raw.victim; --",
    "x) ; drop table raw.victim",
    "v\u{0456}ctim",  // Cyrillic і
    "\u{ff56}ictim",  // fullwidth v
    "a\u{2019}b",     // right single quotation mark
    "victim\u{200b}", // zero-width space
    "a/*",
    "a--",
];

/// Keys whose value reaches SQL, with a harmless line for the key itself where its validity
/// depends on other keys.
const KEYS: &[&str] = &[
    "grant_select",
    "distkey",
    "sortkey",
    "sortstyle",
    "diststyle",
    "csv_delimiter",
    "snapshots_interval",
    "snapshots_stored_for",
    "timeout",
];

fn assert_refused(p: &Project, file: &str, what: &str) {
    let run = p.run(&["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{what}: {}{}", run.stdout, run.stderr);
    let diagnostics = run.json();
    assert!(
        diagnostics.as_array().unwrap().iter().any(|d| {
            d["severity"] == "error"
                && d["file"] == file
                && !d["message"].as_str().unwrap().is_empty()
        }),
        "{what}: no error naming {file}: {diagnostics:#}"
    );
}

#[test]
fn check_refuses_injection_through_every_config_key() {
    let mut tried = 0;
    for key in KEYS {
        for value in VECTORS {
            // A single `'` is a valid CSV delimiter: it reaches SQL only as an escaped literal
            // (tested on PostgreSQL below).
            if *key == "csv_delimiter" && *value == "'" {
                continue;
            }
            let p = Project::new();
            p.write("s/root — 1h.sql", "select 1 as a");
            p.write("s/root.conf", format!("{key}={value}\n"));
            assert_refused(&p, "s/root.conf", &format!("{key}={value}"));
            tried += 1;
        }
    }
    // Also through += and schema- and global-level files.
    for (file, line) in [
        ("global.conf", "grant_select+=x; drop table raw.victim; --"),
        ("s.conf", "grant_select-=a\" , \"b"),
        ("s/s.conf", "sortkey=a, b); drop table raw.victim; --"),
        ("s.root.conf", "grant_select=group \"x\""),
        ("s.root.conf", "grant_select=role a; drop"),
    ] {
        let p = Project::new();
        p.write("s/root — 1h.sql", "select 1 as a, 2 as b");
        p.write(file, format!("{line}\n"));
        assert_refused(&p, file, line);
        tried += 1;
    }
    eprintln!("{tried} config injection vectors refused");
}

#[test]
fn check_refuses_injection_through_file_names() {
    let mut tried = 0;
    for value in VECTORS {
        // `a-- — 1h` is the table `a`: hyphens belong to the separator run.
        if *value == "a--" {
            continue;
        }
        for path in [
            format!("s/{value} — 1h.sql"),
            format!("s.{value} — 1h.sql"),
            format!("{value}/t — 1h.sql"),
        ] {
            let p = Project::new();
            p.write("s/root — 1h.sql", "select 1 as a");
            p.write(&path, "select 1 as a");
            assert_refused(&p, &path, &path);
            tried += 1;
        }
    }
    eprintln!("{tried} file name injection vectors refused");
}

/// On PostgreSQL: a views directory full of injection attempts neither schedules nor builds
/// anything, and `raw.victim` keeps its rows; the warehouse is untouched.
#[test]
fn injection_attempts_drop_nothing_on_postgres() {
    let db = TestDb::new("injection");
    db.exec(
        "create schema raw; create table raw.victim (id int); insert into raw.victim select generate_series(1, 3);",
    );
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 0\n");
    p.write("s/good — 1h.sql", "select id from raw.victim");
    assert_eq!(p.run(&["schedule"]).code, 0);
    assert_eq!(p.run(&["create", "--once"]).code, 0);
    let before = db.checksum("s.good");
    for (n, value) in VECTORS.iter().enumerate() {
        for key in KEYS {
            p.write("s/good.conf", format!("{key}={value}\n"));
            let run = p.run(&["schedule"]);
            if *key == "csv_delimiter" && *value == "'" {
                assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
            } else {
                assert_eq!(run.code, 1, "{key}={value}: {}{}", run.stdout, run.stderr);
            }
            assert!(p.run(&["create", "--once"]).code <= 1);
        }
        p.remove("s/good.conf");
        p.write(
            &format!("s/x{n}; drop table raw.victim — 1h.sql"),
            "select 1 as a",
        );
        assert_eq!(p.run(&["schedule"]).code, 1);
        assert!(p.run(&["create", "--once"]).code <= 1);
        p.remove(&format!("s/x{n}; drop table raw.victim — 1h.sql"));
    }
    assert_eq!(
        db.value("select count(*)::text from raw.victim"),
        Some("3".into())
    );
    assert_eq!(db.checksum("s.good"), before);
    assert!(db.leftovers().is_empty());
}

/// Reserved words are valid table and column names: quoted everywhere duro writes SQL.
#[test]
fn reserved_words_are_valid_quoted_identifiers() {
    let db = TestDb::new("reserved");
    db.ensure_role("duro_reader");
    db.exec("create schema raw; create table raw.orders as select g as id from generate_series(1, 5) g;");
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 0\n");
    p.write(
        "s/order — 1h.sql",
        "select id as \"select\", id % 2 as \"group\" from raw.orders",
    );
    p.write("s/select — 1h.sql", "select * from s.\"order\"");
    p.write("s/order_test.sql", "select count(*) = 5 from s.\"order\"");
    p.write(
        "s/order.conf",
        "distkey=select\nsortkey=group, select\ngrant_select=duro_reader\n",
    );
    let run = p.run(&["check", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(p.run(&["schedule"]).code, 0);
    let run = p.run(&["create", "--once"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        db.value("select count(*)::text from s.\"order\""),
        Some("5".into())
    );
    assert_eq!(
        db.value("select sum(\"select\")::text from s.\"select\""),
        Some("15".into())
    );
    assert_eq!(
        db.value("select has_table_privilege('duro_reader', 's.\"order\"', 'select')::text"),
        Some("true".into())
    );
    assert!(db.leftovers().is_empty());
}

/// A processor with `'` as its CSV delimiter: the value reaches SQL only as a literal.
#[test]
fn a_quote_as_csv_delimiter_is_a_literal() {
    let db = TestDb::new("injection_delimiter");
    db.exec("create schema raw; create table raw.victim (id int, v text); insert into raw.victim values (1, 'a,b'), (2, 'c');");
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 0\n");
    p.write("s/copy_select.sql", "select id, v from raw.victim");
    p.write("s/copy — 1h.sql", "create table s.copy (id int, v text)");
    p.write(
        "s/copy.py",
        "import shutil, sys\nshutil.copyfile(sys.argv[1], sys.argv[2])\n",
    );
    p.write("s/copy.conf", "csv_delimiter='\n");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let run = p.run(&["create", "--once"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(db.checksum("s.copy"), db.checksum("raw.victim"));
}

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

/// Markup in queries, errors and test failures is escaped in every HTML page, and JSON is
/// served as application/json.
#[test]
fn markup_is_escaped_in_every_page() {
    let p = Project::new();
    p.write("s/a.sql", format!("select 1 as x -- {IMG}"));
    p.write(
        "s/b — 1h.sql",
        format!("select x, '{SCRIPT}' as evil, '{IMG}' as img from s.a"),
    );
    assert_eq!(p.run(&["schedule"]).code, 0);
    let now = jiff::Timestamp::now().as_millisecond();
    let db = p.sqlite();
    let error = format!("relation \"{SCRIPT}{IMG}\" does not exist");
    db.execute(
        "insert into runs (table_name, started_at, finished_at, outcome, error, steps) values ('s.b', ?1, ?2, 'failed', ?3, '[]')",
        rusqlite::params![now - 60_000, now - 50_000, error],
    )
    .unwrap();
    db.execute(
        "update tables set last_outcome = 'failed', last_error = ?1, last_finished = ?2 where name = 's.b'",
        rusqlite::params![error, now - 50_000],
    )
    .unwrap();
    drop(db);
    let server = Server::start(&p);
    let html_pages = [
        "/".to_string(),
        "/tables".into(),
        "/tables/s.a".into(),
        "/tables/s.b".into(),
        "/graph".into(),
        format!("/tables/{}", urlencode(SCRIPT)),
        format!("/tables/{}", urlencode(IMG)),
        format!("/{}/", urlencode(SCRIPT)),
        format!("/{}/{}", urlencode(IMG), urlencode(SCRIPT)),
    ];
    for page in &html_pages {
        let reply = get(&server.url(page));
        assert!(
            !reply.body.contains("<script>alert") && !reply.body.contains("<img src=x"),
            "{page} echoes markup: {}",
            reply.body
        );
        if reply.status == 200 {
            assert!(reply.content_type.starts_with("text/html"), "{page}");
        }
    }
    let json_routes = [
        "/api/tables".to_string(),
        "/api/tables/s.b".into(),
        "/api/jobs".into(),
        "/api/stats?hours=24".into(),
        "/api/graph".into(),
        format!("/api/tables/{}", urlencode(SCRIPT)),
        format!("/api/jobs?from={}", urlencode(IMG)),
    ];
    let mut seen_payload = false;
    for route in &json_routes {
        let reply = get(&server.url(route));
        assert!(
            reply.content_type.starts_with("application/json"),
            "{route}: {} {}",
            reply.status,
            reply.content_type
        );
        // Valid JSON whatever the status; markup only ever inside JSON strings.
        let _ = reply.json();
        seen_payload |= reply.body.contains("alert(1)");
    }
    assert!(seen_payload, "the payload never reached the API");
    let metrics = get(&server.url("/metrics"));
    assert!(metrics.content_type.starts_with("text/plain"));
    assert!(!metrics.body.contains("<script>"));
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
