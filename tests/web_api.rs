//! Every route of `duro serve` over real HTTP, including bad input, the token and CSRF rules,
//! and escaping.

mod common;

use common::Project;
use common::web::{Server, get, post};

/// A project with three scheduled tables and a few runs recorded in its state.
fn project(extra: &str) -> Project {
    let p = Project::new();
    p.write_config(extra);
    p.write("s/a.sql", "select 1 as x");
    p.write(
        "s/b — 1h.sql",
        "select x, '<script>alert(1)</script>' as evil from s.a",
    );
    p.write("s/c — 2h.sql", "select * from s.b");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let db = p.sqlite();
    let now = jiff::Timestamp::now().as_millisecond();
    for (table, offset, outcome, error) in [
        ("s.a", 600_000, "success", None),
        ("s.b", 500_000, "success", None),
        (
            "s.c",
            400_000,
            "failed",
            Some("relation \"<b>x</b>\" does not exist"),
        ),
    ] {
        db.execute(
            "insert into runs (table_name, started_at, finished_at, outcome, error, steps) values (?1, ?2, ?3, ?4, ?5, '[]')",
            rusqlite::params![table, now - offset, now - offset + 2000, outcome, error],
        )
        .unwrap();
        db.execute(
            "insert into run_counts (table_name, outcome, count) values (?1, ?2, 1)",
            rusqlite::params![table, outcome],
        )
        .unwrap();
        db.execute(
            "update tables set last_outcome = ?2, last_error = ?3, last_finished = ?4, last_built = case when ?2 = 'success' then ?5 else last_built end, force = 0 where name = ?1",
            rusqlite::params![table, outcome, error, now - offset + 2000, now - offset],
        )
        .unwrap();
    }
    p
}

#[test]
fn json_api_routes() {
    let p = project("");
    let server = Server::start(&p);
    let tables = get(&server.url("/api/tables"));
    assert_eq!(tables.status, 200);
    assert!(tables.content_type.starts_with("application/json"));
    let tables = tables.json();
    assert_eq!(tables.as_array().unwrap().len(), 3);
    let keys: Vec<&str> = tables[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // (serde_json sorts object keys when parsing)
    assert_eq!(
        keys,
        [
            "force",
            "interval_minutes",
            "last_built",
            "last_error",
            "mean_seconds",
            "name",
            "retry_at",
            "state"
        ]
    );
    assert_eq!(tables[2]["state"], "failed");
    assert_eq!(
        tables[2]["last_error"],
        "relation \"<b>x</b>\" does not exist"
    );
    // Same objects as `status --format json`, plus force and the retry wait.
    let status = p.run(&["status", "--format", "json"]).json();
    for (a, b) in status
        .as_array()
        .unwrap()
        .iter()
        .zip(tables.as_array().unwrap())
    {
        let mut b = b.clone();
        b.as_object_mut().unwrap().remove("force");
        b.as_object_mut().unwrap().remove("retry_at");
        assert_eq!(a, &b);
    }

    let one = get(&server.url("/api/tables/s.b")).json();
    // Run times carry milliseconds (RFC 3339 with a fraction), so sub-second runs keep theirs.
    for run in one["runs"].as_array().unwrap() {
        for time in [&run["start"], &run["finish"]] {
            let time = time.as_str().unwrap();
            assert!(
                time.len() == 24 && time.as_bytes()[19] == b'.' && time.ends_with('Z'),
                "{time}"
            );
        }
    }
    assert_eq!(one["depends_on"], serde_json::json!(["s.a"]));
    assert_eq!(one["dependents"], serde_json::json!(["s.c"]));
    assert_eq!(one["runs"].as_array().unwrap().len(), 1);
    let a = get(&server.url("/api/tables/s.a")).json();
    assert_eq!(a["effective_interval_minutes"], 60, "inherited from s.b");
    assert_eq!(get(&server.url("/api/tables/s.nope")).status, 404);
    assert_eq!(get(&server.url("/api/tables/not%20a%20name")).status, 404);

    let jobs = get(&server.url("/api/jobs?from=2000-01-01T00:00:00Z")).json();
    assert_eq!(jobs.as_array().unwrap().len(), 3);
    assert_eq!(
        get(&server.url("/api/jobs"))
            .json()
            .as_array()
            .unwrap()
            .len(),
        3,
        "default: last 30 minutes"
    );
    assert_eq!(
        get(&server.url("/api/jobs?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z")).json(),
        serde_json::json!([])
    );
    // The old UI sent offsets with a space for the +.
    assert_eq!(
        get(&server.url("/api/jobs?from=2000-01-01T00:00:00%2000:00")).status,
        200
    );
    assert_eq!(get(&server.url("/api/jobs?from=yesterday")).status, 400);
    assert_eq!(
        get(&server.url("/api/jobs?from=2030-01-01T00:00:00Z&to=2029-01-01T00:00:00Z")).status,
        400
    );

    let stats = get(&server.url("/api/stats?hours=24")).json();
    assert_eq!(stats["tables"], 2);
    assert_eq!(stats["updates"], 2);
    assert!(stats["load"].as_f64().unwrap() > 0.0);
    assert_eq!(get(&server.url("/api/stats?hours=-1")).status, 400);
    assert_eq!(get(&server.url("/api/stats?hours=abc")).status, 400);

    let graph = get(&server.url("/api/graph")).json();
    assert_eq!(graph["edges"].as_array().unwrap().len(), 2);

    let metrics = get(&server.url("/metrics"));
    assert!(metrics.content_type.starts_with("text/plain"));
    for series in [
        "duro_table_age_seconds{table=\"s.a\"}",
        "duro_table_interval_seconds{table=\"s.a\"} 3600",
        "duro_table_interval_seconds{table=\"s.c\"} 7200",
        "duro_runs_total{table=\"s.c\",outcome=\"failed\"} 1",
        "duro_running 0",
    ] {
        assert!(
            metrics.body.contains(series),
            "{series} missing from\n{}",
            metrics.body
        );
    }
    assert_eq!(get(&server.url("/healthz")).json()["status"], "ok");
}

#[test]
fn pages_and_old_paths() {
    let p = project("");
    let server = Server::start(&p);
    for path in [
        "/",
        "/?from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z",
        "/2026-01-19T20:30:00/2026-01-19T20:40:00",
        "/2026-01-19T20:30:00/2026-01-19T20:40:00/",
        "/2026-01-19T20:30:00/",
        "/tables",
        "/tables/",
        "/tables/s.b",
        "/graph",
        "/assets/app.js",
        "/assets/app.css",
    ] {
        let reply = get(&server.url(path));
        assert_eq!(reply.status, 200, "{path}");
    }
    assert_eq!(get(&server.url("/tables/s.nope")).status, 404);
    assert_eq!(get(&server.url("/not-a-date/")).status, 404);
    assert_eq!(get(&server.url("/?from=garbage")).status, 400);
    assert_eq!(get(&server.url("/assets/secret.txt")).status, 404);
    let page = get(&server.url("/"));
    assert!(page.body.contains("<title>Current jobs — duro</title>"));
}

#[test]
fn force_requires_json_and_records_the_tree() {
    let p = project("");
    let server = Server::start(&p);
    let url = server.url("/api/tables/s.c/force");
    // A cross-site form post cannot send JSON: refused.
    assert_eq!(
        post(
            &url,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "tree=1"
        )
        .status,
        415
    );
    assert_eq!(
        post(&url, &[("Content-Type", "text/plain")], "{\"tree\": true}").status,
        415
    );
    assert_eq!(
        post(
            &url,
            &[
                ("Content-Type", "application/json"),
                ("Origin", "http://evil.example")
            ],
            "{\"tree\": true}"
        )
        .status,
        403
    );
    assert_eq!(
        post(
            &url,
            &[("Content-Type", "application/json")],
            "{\"tree\": \"yes\"}"
        )
        .status,
        400
    );
    assert_eq!(
        post(
            &server.url("/api/tables/s.zzz/force"),
            &[("Content-Type", "application/json")],
            "{}"
        )
        .status,
        404
    );
    let reply = post(
        &url,
        &[("Content-Type", "application/json")],
        "{\"tree\": true}",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json()["forced"],
        serde_json::json!(["s.a", "s.b", "s.c"])
    );
    let forced: i64 = p
        .sqlite()
        .query_row("select count(*) from tables where force > 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(forced, 3);
    // The cached /api/tables sees the change at once.
    let tables = get(&server.url("/api/tables")).json();
    assert!(
        tables
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["force"] == true)
    );
}

#[test]
fn token_rules() {
    let p = project("[web]\ntoken = \"s3cret-t0ken\"\n");
    let server = Server::start(&p);
    let url = server.url("/api/tables/s.a/force");
    let json = ("Content-Type", "application/json");
    assert_eq!(post(&url, &[json], "{}").status, 401);
    assert_eq!(
        post(&url, &[json, ("Authorization", "Bearer wrong")], "{}").status,
        403
    );
    assert_eq!(
        post(
            &url,
            &[json, ("Authorization", "Bearer s3cret-t0ken")],
            "{}"
        )
        .status,
        200
    );
    // Reads stay open.
    assert_eq!(get(&server.url("/api/tables")).status, 200);
    // Logging in gives an HttpOnly session cookie and a CSRF cookie; both are needed.
    assert_eq!(
        post(&server.url("/api/login"), &[json], "{\"token\": \"nope\"}").status,
        403
    );
    let login = post(
        &server.url("/api/login"),
        &[json],
        "{\"token\": \"s3cret-t0ken\"}",
    );
    assert_eq!(login.status, 200);
    let session = login
        .set_cookie
        .iter()
        .find(|c| c.starts_with("duro_session="))
        .unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
    let csrf = login
        .set_cookie
        .iter()
        .find(|c| c.starts_with("duro_csrf="))
        .unwrap();
    let value = |c: &str| {
        c.split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_string()
    };
    let cookie = format!("duro_session={}; duro_csrf={}", value(session), value(csrf));
    assert_eq!(
        post(&url, &[json, ("Cookie", &cookie)], "{}").status,
        403,
        "no CSRF header"
    );
    assert_eq!(
        post(
            &url,
            &[json, ("Cookie", &cookie), ("X-CSRF-Token", "forged")],
            "{}"
        )
        .status,
        403
    );
    assert_eq!(
        post(
            &url,
            &[json, ("Cookie", &cookie), ("X-CSRF-Token", &value(csrf))],
            "{}"
        )
        .status,
        200
    );
    // The token never appears in a page or an API answer.
    for path in ["/", "/tables", "/api/tables", "/api/graph", "/metrics"] {
        assert!(
            !get(&server.url(path)).body.contains("s3cret-t0ken"),
            "{path}"
        );
    }
}

#[test]
fn non_loopback_bind_without_token_is_refused() {
    let p = project("");
    let run = p.run(&["serve", "--bind", "0.0.0.0:0"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("without a token"), "{}", run.stderr);
    assert_eq!(p.run(&["serve", "--bind", "not-an-address"]).code, 2);
}

#[test]
fn everything_rendered_is_escaped() {
    let p = project("");
    let server = Server::start(&p);
    // The page for a name with markup is a 404 that does not echo it back as HTML.
    let reply = get(&server.url("/tables/%3Cscript%3Ealert(1)%3C%2Fscript%3E"));
    assert_eq!(reply.status, 404);
    assert!(!reply.body.contains("<script>alert"));
    // Queries and errors travel as JSON strings; the scripts only ever use textContent.
    let b = get(&server.url("/api/tables/s.b")).json();
    assert!(
        b["query"]
            .as_str()
            .unwrap()
            .contains("<script>alert(1)</script>")
    );
    for asset in ["app.js", "jobs.js", "tables.js", "table.js", "graph.js"] {
        let script = get(&server.url(&format!("/assets/{asset}"))).body;
        assert!(!script.contains("innerHTML"), "{asset} uses innerHTML");
        assert!(!script.contains("insertAdjacentHTML"), "{asset}");
        assert!(!script.contains("document.write"), "{asset}");
    }
    let page = get(&server.url("/tables/s.b"));
    assert!(page.body.contains("data-table=\"s.b\""));
}

#[test]
fn events_stream_announces_changes() {
    use std::io::{Read, Write};
    let p = project("");
    let server = Server::start(&p);
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /api/events HTTP/1.1\r\nHost: duro\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    let read_until =
        |stream: &mut std::net::TcpStream, seen: &mut String, needle: &str, buffer: &mut [u8]| {
            let start = seen.len();
            while !seen[start..].contains(needle) {
                let n = stream.read(buffer).unwrap();
                assert!(n > 0, "stream closed; got {seen}");
                seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        };
    read_until(&mut stream, &mut seen, "event: change", &mut buffer);
    assert!(seen.contains("text/event-stream"), "{seen}");
    // Another process writes to the state: a second change event follows.
    p.sqlite()
        .execute("update tables set force = force + 1", [])
        .unwrap();
    read_until(&mut stream, &mut seen, "event: change", &mut buffer);
}

#[test]
fn a_refused_schedule_shows_in_the_api_and_metrics() {
    let p = project("");
    let server = Server::start(&p);
    let metric = |name: &str| -> f64 {
        let body = get(&server.url("/metrics")).body;
        body.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from\n{body}"))
            .parse()
            .unwrap()
    };
    assert_eq!(metric("duro_schedule_ok"), 1.0);
    assert_eq!(metric("duro_schedule_errors"), 0.0);
    let passed = get(&server.url("/api/schedule")).json();
    assert_eq!(passed["ok"], true);
    assert_eq!(passed["errors"], serde_json::json!([]));

    // Three errors: a value that could reach SQL, an unknown interval, a name with markup.
    p.write("s/a.conf", "# grants\ngrant_select = jane; drop table x\n");
    p.write("s/d — 7q.sql", "select 1");
    p.write("s/<b>.sql", "select 1");
    let check = p.run(&["check", "--format", "json"]).json();
    let errors: Vec<&serde_json::Value> = check
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert!(errors.len() >= 3, "{check}");
    assert_eq!(p.run(&["schedule"]).code, 1);
    assert_eq!(metric("duro_schedule_ok"), 0.0);
    assert_eq!(metric("duro_schedule_errors"), errors.len() as f64);
    let refused = get(&server.url("/api/schedule")).json();
    assert_eq!(refused["ok"], false);
    let listed = refused["errors"].as_array().unwrap();
    assert_eq!(listed.len(), errors.len());
    // The same file, line, table and message as `check`.
    for (a, b) in listed.iter().zip(&errors) {
        for key in ["file", "line", "table", "message"] {
            assert_eq!(a[key], b[key], "{key} of {a}");
        }
    }
    assert!(
        listed
            .iter()
            .any(|e| e["file"] == "s/a.conf" && e["line"] == 2),
        "{refused}"
    );
    let at = refused["at"].as_str().unwrap().to_string();
    // Refused again with the same errors: nothing written, the time it broke kept.
    let broke_at: i64 = p
        .sqlite()
        .query_row("select at from schedule_status", [], |r| r.get(0))
        .unwrap();
    assert_eq!(p.run(&["schedule"]).code, 1);
    let again: i64 = p
        .sqlite()
        .query_row("select at from schedule_status", [], |r| r.get(0))
        .unwrap();
    assert_eq!(broke_at, again);
    assert_eq!(get(&server.url("/api/schedule")).json()["at"], at);

    // Fixed back to the content of the last good schedule ("nothing changed"): passed again.
    p.remove("s/a.conf");
    p.remove("s/d — 7q.sql");
    p.remove("s/<b>.sql");
    let fixed = p.run(&["schedule"]);
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    assert_eq!(metric("duro_schedule_ok"), 1.0);
    assert_eq!(metric("duro_schedule_errors"), 0.0);
    assert_eq!(get(&server.url("/api/schedule")).json()["ok"], true);

    // A state file from before duro recorded refusals (no row) reads as passed.
    p.sqlite()
        .execute("delete from schedule_status", [])
        .unwrap();
    assert_eq!(metric("duro_schedule_ok"), 1.0);
    assert_eq!(
        get(&server.url("/api/schedule")).json()["at"],
        serde_json::Value::Null
    );
}
