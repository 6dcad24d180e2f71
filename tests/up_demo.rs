//! `duro demo` and `duro up` end to end: the real binary, the embedded DuckDB warehouse, the web
//! API, a views file edited while `up` runs, and a clean stop on SIGTERM.

mod common;

use common::Project;
use common::warehouse::Warehouse;
use common::web::get;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A long-running duro process whose output is collected while it runs.
struct Daemon {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Daemon {
    fn start(mut command: Command) -> Daemon {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut out = output.lock().unwrap();
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        Daemon { child, output }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits for the line announcing the UI and returns its base URL.
    fn url(&mut self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(url) = self
                .output()
                .lines()
                .filter(|l| l.starts_with("duro UI at "))
                .flat_map(|l| l.split_whitespace())
                .find(|w| w.starts_with("http://"))
            {
                return url.trim_end_matches('/').to_string();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("duro exited ({status}) before serving:\n{}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "no URL after {within:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "did not stop on SIGTERM:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn duro(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_duro"));
    command.args(args).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("DURO_") {
            command.env_remove(key);
        }
    }
    command.env("NO_COLOR", "1");
    command
}

#[test]
fn demo_builds_every_table_and_serves_the_ui() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("shop");
    let mut daemon = Daemon::start(duro(
        dir.path(),
        &["demo", demo.to_str().unwrap(), "--bind", "127.0.0.1:0"],
    ));
    let base = daemon.url(Duration::from_secs(600));
    let tables = get(&format!("{base}/api/tables")).json();
    let tables = tables.as_array().unwrap();
    assert!(tables.len() >= 8, "{tables:?}");
    for table in tables {
        assert_eq!(table["state"], "ok", "{table}\n{}", daemon.output());
        assert!(table["last_built"].is_string(), "{table}");
    }
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for layer in ["staging.", "marts.", "reports."] {
        assert!(names.iter().any(|n| n.starts_with(layer)), "{names:?}");
    }
    assert!(
        names.contains(&"reports.revenue_trend"),
        "the processor table: {names:?}"
    );
    assert!(demo.join("views/reports/revenue_trend.py").exists());
    let status = daemon.stop();
    assert!(status.success(), "{status}");

    // The warehouse holds what the UI says was built.
    let wh = format!("{}", demo.join(".duro/warehouse.duckdb").display());
    let conn = duckdb::Connection::open(wh).unwrap();
    let top: i64 = conn
        .query_row("select count(*) from reports.top_customers", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(top, 10);
    let trend: i64 = conn
        .query_row(
            "select count(*) from reports.revenue_trend where moving_average_7d > 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(trend >= 28, "{trend}");
}

#[test]
fn up_reschedules_and_rebuilds_when_a_view_file_changes() {
    let wh = Warehouse::duckdb();
    let p = Project::new();
    p.write_config_with_url(&wh.url(), "[creator]\npoll_seconds = 3600\nretries = 0\n");
    p.write("s/numbers — 1h.sql", "select 1 as n");
    p.write(
        "s/doubled — 1h.sql",
        "select n * 2 as doubled from s.numbers",
    );
    let mut daemon = Daemon::start(p.command(&["up", "--bind", "127.0.0.1:0"]));
    let base = daemon.url(Duration::from_secs(60));
    let wait_for = |what: &str, check: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !check() {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let built = |table: &str| -> usize {
        let detail = get(&format!("{base}/api/tables/{table}")).json();
        detail["runs"]
            .as_array()
            .map(|runs| runs.iter().filter(|r| r["outcome"] == "success").count())
            .unwrap_or(0)
    };
    wait_for("the first build", &|| built("s.doubled") == 1);

    // The edited table is rescheduled and rebuilt within seconds; its fresh parent is not.
    let edited = Instant::now();
    p.write(
        "s/doubled — 1h.sql",
        "select n * 2 + 40 as doubled from s.numbers",
    );
    wait_for("the rebuild after the edit", &|| built("s.doubled") == 2);
    let seconds = edited.elapsed().as_secs_f64();
    assert!(seconds < 15.0, "rebuilt after {seconds:.1}s");
    assert_eq!(built("s.numbers"), 1);

    // A file with an error is refused and leaves the state as it was.
    p.write("s/broken — 1x.sql", "select 1");
    wait_for("the refusal", &|| {
        daemon.output().contains("schedule refused")
    });
    assert!(daemon.output().contains("broken"), "{}", daemon.output());

    let status = daemon.stop();
    assert!(status.success(), "{status}");
    assert_eq!(
        wh.value("select cast(doubled as varchar) from s.doubled"),
        Some("42".into())
    );
}

/// A query the SQL parser cannot read (its dependencies are then found by a name search).
const UNPARSED: &str = "select n from s.numbers\nwhere n = any array[1]";

fn wait_for_output(daemon: &Daemon, what: &str, check: &dyn Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check(&daemon.output()) {
        assert!(Instant::now() < deadline, "{what}:\n{}", daemon.output());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn up_prints_parse_warnings_at_start_and_when_they_change() {
    let wh = Warehouse::duckdb();
    let p = Project::new();
    p.write_config_with_url(&wh.url(), "[creator]\npoll_seconds = 3600\nretries = 0\n");
    p.write("s/numbers — 1h.sql", "select 1 as n");
    p.write("s/odd — 1h.sql", UNPARSED);
    let warned = |out: &str| {
        out.matches("schedule: 1 warning (`duro check` shows it in full):")
            .count()
    };
    let mut daemon = Daemon::start(p.command(&["up", "--bind", "127.0.0.1:0"]));
    daemon.url(Duration::from_secs(60));
    wait_for_output(&daemon, "the warning at start", &|out| warned(out) == 1);
    let out = daemon.output();
    let line = out
        .lines()
        .find(|l| l.contains("the query does not parse"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("odd — 1h.sql:2: [s.odd]"), "{line}");

    // A rescan that leaves the warnings as they were does not repeat them.
    p.write("s/other — 1h.sql", "select 2 as m");
    wait_for_output(&daemon, "the rescan", &|out| out.contains("new: s.other"));
    assert_eq!(warned(&daemon.output()), 1, "{}", daemon.output());

    // Fixed: said once.
    p.write("s/odd — 1h.sql", "select n from s.numbers");
    wait_for_output(&daemon, "the warning gone", &|out| {
        out.contains("schedule: no warnings any more")
    });
    p.write("s/odd — 1h.sql", UNPARSED);
    wait_for_output(&daemon, "the warning again", &|out| warned(out) == 2);
    assert!(daemon.stop().success());

    // A restart on unchanged files (nothing to schedule) still shows them.
    let mut daemon = Daemon::start(p.command(&["up", "--bind", "127.0.0.1:0"]));
    daemon.url(Duration::from_secs(60));
    wait_for_output(&daemon, "the warning after a restart", &|out| {
        out.contains("schedule: nothing changed") && warned(out) == 1
    });
    assert!(daemon.stop().success());
}

#[test]
fn demo_prints_parse_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("shop");
    // An existing demo project is reused: this one is small, and one query does not parse.
    std::fs::create_dir_all(demo.join("views/s")).unwrap();
    std::fs::write(
        demo.join("duro.toml"),
        "views = \"views\"\nstate = \".duro/state.db\"\n[warehouse]\nurl = \"duckdb://.duro/warehouse.duckdb\"\n[creator]\nretries = 0\n",
    )
    .unwrap();
    std::fs::write(demo.join("views/s/numbers — 1h.sql"), "select 1 as n").unwrap();
    std::fs::write(demo.join("views/s/odd — 1h.sql"), UNPARSED).unwrap();
    let mut daemon = Daemon::start(duro(
        dir.path(),
        &["demo", demo.to_str().unwrap(), "--bind", "127.0.0.1:0"],
    ));
    daemon.url(Duration::from_secs(120));
    let out = daemon.output();
    assert_eq!(
        out.matches("schedule: 1 warning").count(),
        1,
        "printed once, not again by the second schedule:\n{out}"
    );
    assert!(
        out.contains("odd — 1h.sql:2: [s.odd] the query does not parse"),
        "{out}"
    );
    assert!(daemon.stop().success());
}
