//! The run's timeout is also the server's: every build transaction on PostgreSQL sets
//! `statement_timeout` (`set local`), so a statement never outlives its run even when the duro
//! that sent it is gone. Against a real PostgreSQL (`DURO_TEST_DATABASE_URL` or a throwaway
//! cluster). This file needs only the PostgreSQL helpers, so it also runs in a build without the
//! embedded DuckDB.

#[path = "common/pg.rs"]
mod pg;

use pg::TestDb;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A project folder whose warehouse is `db`.
fn project(db: &TestDb, creator: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("views")).unwrap();
    std::fs::write(
        dir.path().join("duro.toml"),
        format!(
            "views = \"views\"\nstate = \"state/duro.db\"\n[warehouse]\nurl = \"{}\"\n[creator]\nretries = 0\nconcurrency = 1\n{creator}",
            db.url
        ),
    )
    .unwrap();
    dir
}

fn write(dir: &Path, relative: &str, content: &str) {
    let path = dir.join("views").join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// `duro ARGS` in `dir`, with no DURO_ variable of the test's environment.
fn duro(dir: &Path, args: &[&str]) -> Command {
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

fn run(dir: &Path, args: &[&str]) {
    let out = duro(dir, args).output().unwrap();
    assert!(
        out.status.success(),
        "duro {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The table's query reads the setting of the transaction that builds it: each run's own
/// timeout (a table's `timeout`, else the first-run timeout), one after the other on the same
/// pooled connection.
#[test]
fn build_transactions_carry_the_run_timeout() {
    let db = TestDb::new("statement_timeout_set");
    let dir = project(&db, "timeout_first_run = \"90s\"\n");
    let setting = "select current_setting('statement_timeout') as timeout";
    write(dir.path(), "s/seven — 1h.sql", setting);
    write(dir.path(), "s/seven.conf", "timeout=7m\n");
    write(dir.path(), "s/first — 1h.sql", setting);
    write(dir.path(), "s/later — 1h.sql", setting);
    write(dir.path(), "s/later.conf", "timeout=2h\n");
    run(dir.path(), &["schedule"]);
    run(dir.path(), &["create", "--once"]);
    assert_eq!(db.value("select timeout from s.seven"), Some("7min".into()));
    assert_eq!(db.value("select timeout from s.first"), Some("90s".into()));
    assert_eq!(db.value("select timeout from s.later"), Some("2h".into()));
    // The settings were local to their transactions: a new session has the server's default.
    assert_eq!(
        db.value("select current_setting('statement_timeout')"),
        Some("0".into())
    );
}

/// Active backends of `db` that duro opened and that run `pg_sleep`.
fn sleeping(db: &TestDb) -> usize {
    db.exec(&format!(
        "select pid from pg_stat_activity where datname = '{}' and application_name = 'duro' \
         and state = 'active' and query like '%pg_sleep%'",
        db.name
    ))
    .len()
}

/// duro is killed (SIGKILL: nothing of it runs any more, no cancel request is sent) while its
/// statement runs: the server still cancels the statement when the run's timeout is up, instead
/// of sleeping on for the minute the query asks for.
#[test]
fn the_server_cancels_the_statement_of_a_duro_that_is_gone() {
    let db = TestDb::new("statement_timeout_gone");
    let timeout = Duration::from_secs(4);
    let dir = project(&db, "timeout_first_run = \"4s\"\n");
    write(
        dir.path(),
        "s/slow — 1h.sql",
        "select 1 as x from pg_sleep(60)",
    );
    run(dir.path(), &["schedule"]);
    let mut creator = duro(dir.path(), &["create", "--once"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waiting = Instant::now();
    while sleeping(&db) == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "duro's statement never started"
        );
        if let Ok(Some(status)) = creator.try_wait() {
            panic!("duro ended before its statement was seen: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = Instant::now();
    creator.kill().unwrap();
    creator.wait().unwrap();
    // Killed well before its own timer could fire: what ends the statement is the server.
    assert!(seen.elapsed() < timeout / 2, "killed too late to tell");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sleeping(&db),
        1,
        "the statement ended with its client, before the timeout"
    );
    while sleeping(&db) > 0 {
        assert!(
            seen.elapsed() < timeout + Duration::from_secs(10),
            "the server kept running the statement of a duro that is gone"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        seen.elapsed() >= timeout - Duration::from_secs(1),
        "ended after {:?}, before the timeout",
        seen.elapsed()
    );
    // Nothing of the run was committed.
    assert_eq!(
        db.value("select count(*)::text from pg_class where relname like 'slow%'"),
        Some("0".into())
    );
}
