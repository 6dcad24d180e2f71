//! Slack notifications (SPEC §12) end to end: the real binary posts to a tiny HTTP receiver in
//! the test. Failed runs, refused schedules and an unreachable warehouse reach the failure
//! channel, schedules that changed something the success channel, `duro digest` the log
//! channel; a message is not repeated within ten minutes even across processes; a webhook that
//! does not answer never fails a command nor shows its URL.

mod common;

use common::Project;
use common::pg::TestDb;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A webhook: records the JSON body of every POST and answers 200 "ok".
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/services/T000/B000/sup3rs3cret",
            listener.local_addr().unwrap()
        );
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let recorded = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = recorded.clone();
                std::thread::spawn(move || answer(stream, &recorded));
            }
        });
        Receiver { url, bodies }
    }

    /// The texts posted to a channel, in order.
    fn texts(&self, channel: &str) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .filter(|b| b["channel"] == channel)
            .map(|b| b["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn all(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }
}

fn answer(stream: TcpStream, recorded: &Mutex<Vec<serde_json::Value>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    recorded
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).expect("a JSON body"));
    let mut stream = stream;
    let _ =
        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

/// A webhook URL on a port nothing listens on.
fn closed_webhook() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/services/T000/B000/sup3rs3cret")
}

fn slack(url: &str) -> String {
    format!(
        "[creator]\nretries = 0\nlease_seconds = 2\n[slack]\nwebhook_url = \"{url}\"\nchannel = \"#duro\"\nfailure_channel = \"#failures\"\nsuccess_channel = \"#successes\"\nlog_channel = \"#log\"\n"
    )
}

/// `s.good` builds, `s.bad` fails two of its tests.
fn good_and_bad(p: &Project) {
    p.write("s/good — 1h.sql", "select 1 as id");
    p.write("s/bad — 1h.sql", "select 0 as n");
    p.write(
        "s/bad_test.sql",
        "select n > 0 as positive, n = 1 as exactly_one, true as fine from s.bad",
    );
}

fn ok(p: &Project, args: &[&str]) -> common::Run {
    let run = p.run(args);
    assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
    run
}

#[test]
fn a_failed_run_posts_its_table_error_and_tests_to_the_failure_channel() {
    let db = TestDb::new("slack_fail");
    let hook = Receiver::start();
    let p = Project::on_postgres(&db.url, &slack(&hook.url));
    good_and_bad(&p);
    ok(&p, &["schedule"]);
    ok(&p, &["run", "s.good"]);
    assert!(hook.texts("#failures").is_empty(), "{:?}", hook.all());

    let run = p.run(&["run", "s.bad"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let failures = hook.texts("#failures");
    assert_eq!(failures.len(), 1, "{failures:?}");
    let text = &failures[0];
    for part in ["s.bad", "tests_failed", "positive", "exactly_one"] {
        assert!(text.contains(part), "{part} missing: {text}");
    }
    assert!(
        text.contains("Failed tests: exactly_one, positive")
            || text.contains("Failed tests: positive, exactly_one"),
        "{text}"
    );
    assert!(!text.contains("fine"), "{text}");
    let body = &hook.all()[hook.all().len() - 1];
    assert_eq!(body["username"], "duro");
    assert_eq!(body["icon_emoji"], ":card_file_box:");
}

#[test]
fn schedules_post_new_and_updated_tables_to_the_success_channel() {
    let hook = Receiver::start();
    let p = Project::new();
    p.write_config(&slack(&hook.url));
    p.write("s/a — 1h.sql", "select 1 as x");
    p.write("s/b — 1h.sql", "select x from s.a");
    ok(&p, &["schedule"]);
    assert_eq!(hook.texts("#successes"), vec!["New tables: s.a, s.b"]);

    // Nothing changed: nothing posted.
    ok(&p, &["schedule"]);
    assert_eq!(hook.texts("#successes").len(), 1);

    p.write("s/a — 1h.sql", "select 2 as x");
    p.write("s/c — 1h.sql", "select 3 as y");
    ok(&p, &["schedule"]);
    assert_eq!(
        hook.texts("#successes")[1],
        "New tables: s.c\nUpdated tables: s.a"
    );
    assert!(hook.texts("#failures").is_empty());
}

#[test]
fn a_big_schedule_posts_counts_and_the_first_names() {
    let hook = Receiver::start();
    let p = Project::new();
    p.write_config(&slack(&hook.url));
    // Names of the longest kind: named in full, 2,000 of them would make 120,000 characters.
    let name = |i: usize| format!("t{i:04}_{}", "x".repeat(46));
    for i in 0..2000 {
        p.write(&format!("s/{} — 1h.sql", name(i)), "select 1 as x");
    }
    ok(&p, &["schedule"]);
    let bodies = hook.all();
    assert_eq!(bodies.len(), 1, "{} posts", bodies.len());
    let text = bodies[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("New tables (2000): s.{}, s.{},", name(0), name(1))),
        "{text}"
    );
    assert!(
        text.ends_with(&format!("s.{} and 1990 more", name(9))),
        "{text}"
    );
    let payload = serde_json::to_string(&bodies[0]).unwrap();
    assert!(payload.len() < 40_000, "{} characters", payload.len());

    // Refused with 2,000 errors: the count, the first errors, how many more.
    for i in 0..2000 {
        p.write(&format!("s/{}_test.sql", name(i)), "delete from s.x");
    }
    assert_eq!(p.run(&["schedule"]).code, 1);
    let failures = hook.texts("#failures");
    assert_eq!(failures.len(), 1, "{failures:?}");
    let text = &failures[0];
    assert!(text.starts_with("Schedule failed: 2000 errors;"), "{text}");
    assert!(text.contains("and 1990 more"), "{text}");
    assert!(text.len() < 40_000, "{} characters", text.len());
}

#[test]
fn a_refused_schedule_posts_its_errors_to_the_failure_channel() {
    let hook = Receiver::start();
    let p = Project::new();
    p.write_config(&slack(&hook.url));
    p.write("s/a — 1h.sql", "select x from s.b");
    p.write("s/b — 1h.sql", "select x from s.a");
    let run = p.run(&["schedule"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let failures = hook.texts("#failures");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with("Schedule failed: 1 error"),
        "{}",
        failures[0]
    );
    assert!(
        failures[0].contains("s.a") && failures[0].contains("s.b"),
        "{}",
        failures[0]
    );
    assert!(hook.texts("#successes").is_empty());
}

#[test]
fn the_digest_posts_real_numbers_to_the_log_channel() {
    let db = TestDb::new("slack_digest");
    let hook = Receiver::start();
    let p = Project::on_postgres(&db.url, &slack(&hook.url));
    good_and_bad(&p);
    p.write("s/other — 1h.sql", "select 2 as id");
    ok(&p, &["schedule"]);
    ok(&p, &["run", "s.good"]);
    ok(&p, &["run", "s.good"]);
    ok(&p, &["run", "s.other"]);
    assert_eq!(p.run(&["run", "s.bad"]).code, 1);

    let run = ok(&p, &["digest"]);
    let logs = hook.texts("#log");
    assert_eq!(logs.len(), 1, "{:?}", hook.all());
    let text = &logs[0];
    assert!(
        text.starts_with("Last 24h: 2 tables, 3 updates, 1 failed run. Load: "),
        "{text}"
    );
    assert!(text.contains("\nScheduled: 3 tables"), "{text}");
    assert!(text.contains("\nSlowest: "), "{text}");
    assert!(text.contains("\nFailing: s.bad (1 failure)"), "{text}");
    assert!(run.stdout.contains(text.as_str()), "{}", run.stdout);
    assert!(run.stdout.contains("Posted to #log."), "{}", run.stdout);

    // The same digest again at once is not repeated; the command still succeeds.
    let run = ok(&p, &["digest"]);
    assert!(run.stdout.contains("Not posted"), "{}", run.stdout);
    assert_eq!(hook.texts("#log").len(), 1);
}

#[test]
fn the_digest_without_slack_is_printed() {
    let p = Project::new();
    p.write("s/a — 1h.sql", "select 1 as x");
    ok(&p, &["schedule"]);
    let run = ok(&p, &["digest"]);
    assert!(
        run.stdout.starts_with(
            "Last 24h: 0 tables, 0 updates, 0 failed runs. Load: 0%\nScheduled: 1 table\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Slack is not configured"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_same_failure_from_two_processes_is_posted_once() {
    let db = TestDb::new("slack_dedup");
    let hook = Receiver::start();
    let p = Project::on_postgres(&db.url, &slack(&hook.url));
    good_and_bad(&p);
    ok(&p, &["schedule"]);
    assert_eq!(p.run(&["run", "s.bad"]).code, 1);
    assert_eq!(p.run(&["run", "s.bad"]).code, 1);
    assert_eq!(hook.texts("#failures").len(), 1, "{:?}", hook.all());
    let runs: i64 = p
        .sqlite()
        .query_row(
            "select count(*) from runs where table_name = 's.bad'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(runs, 2);

    // Ten minutes later (the clock of the claim moved back), it is posted again.
    p.sqlite()
        .execute("update notifications set sent_at = sent_at - 600000", [])
        .unwrap();
    assert_eq!(p.run(&["run", "s.bad"]).code, 1);
    assert_eq!(hook.texts("#failures").len(), 2, "{:?}", hook.all());
}

#[test]
fn an_unreachable_warehouse_is_posted_once_for_all_its_failed_runs() {
    let hook = Receiver::start();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = Project::on_postgres(
        &format!("postgres://duro@127.0.0.1:{port}/nowhere"),
        &slack(&hook.url),
    );
    good_and_bad(&p);
    ok(&p, &["schedule"]);
    let run = p.run(&["create", "--once"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let failures = hook.texts("#failures");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with("Warehouse unreachable: "),
        "{}",
        failures[0]
    );
    assert!(!failures[0].contains("s.good"), "{}", failures[0]);
}

#[test]
fn an_unreachable_webhook_never_fails_a_command_nor_shows_its_url() {
    let db = TestDb::new("slack_closed");
    let webhook = closed_webhook();
    let p = Project::on_postgres(&db.url, &slack(&webhook));
    good_and_bad(&p);
    let secret_parts = [webhook.as_str(), "sup3rs3cret", "T000/B000"];
    let check_stderr = |run: &common::Run| {
        assert!(
            run.stderr.contains("posting to the Slack webhook failed"),
            "{}",
            run.stderr
        );
        for part in secret_parts {
            assert!(!run.stderr.contains(part), "{part} shown: {}", run.stderr);
            assert!(!run.stdout.contains(part), "{part} shown: {}", run.stdout);
        }
    };

    let run = ok(&p, &["schedule"]);
    check_stderr(&run);
    let run = ok(&p, &["run", "s.good"]);
    assert!(run.stdout.contains("Built 1 of 1 tables"), "{}", run.stdout);
    let run = p.run(&["run", "s.bad"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    check_stderr(&run);
    let run = ok(&p, &["digest"]);
    check_stderr(&run);
    assert!(run.stdout.contains("Not posted"), "{}", run.stdout);

    // Unsent messages are not remembered: they go out once the webhook answers.
    let count: i64 = p
        .sqlite()
        .query_row("select count(*) from notifications", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 0);
}
