//! Runs, their steps and outcomes, table statistics, and leases: the creator's records in the
//! state database. A lease makes sure a table is never built twice at once, across processes.

use super::{StateError, Store, to_millis};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

/// How a run ended (SPEC §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failed,
    TestsFailed,
    Timeout,
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::TestsFailed => "tests_failed",
            Outcome::Timeout => "timeout",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// The steps of a run, in the order they can happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Connect,
    Select,
    Process,
    Upload,
    CreateTemp,
    Tests,
    RepointViews,
    Replace,
    Snapshot,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Connect => "connect",
            Step::Select => "select",
            Step::Process => "process",
            Step::Upload => "upload",
            Step::CreateTemp => "create_temp",
            Step::Tests => "tests",
            Step::RepointViews => "repoint_views",
            Step::Replace => "replace",
            Step::Snapshot => "snapshot",
        }
    }
}

/// A data-test statement that failed (SPEC §7): what the user wrote and what it returned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TestFailure {
    /// The statement's first line in the tests file.
    pub line: u32,
    /// The statement as written (before duro points it at the new version of the table).
    pub sql: String,
    /// The columns with a failing value, or `no rows`.
    pub failed: Vec<String>,
    pub columns: Vec<String>,
    /// The first failing rows, each value as text.
    pub rows: Vec<Vec<String>>,
    pub returned_rows: usize,
    pub failing_rows: usize,
}

/// Everything recorded when a run ends.
#[derive(Debug, Clone)]
pub struct RunEnd {
    pub run: i64,
    pub started: Timestamp,
    pub finished: Timestamp,
    pub seconds: f64,
    pub outcome: Outcome,
    pub error: Option<String>,
    pub failed_tests: Vec<String>,
    pub test_failures: Vec<TestFailure>,
    /// The step the run was in when it failed (or was cancelled).
    pub failed_step: Option<Step>,
    /// Rows of the new table; `Some` means the table was replaced.
    pub rows: Option<u64>,
    pub output: Option<String>,
    pub steps: Vec<(Step, Timestamp)>,
    /// The table was busy in another process (a lock held elsewhere): the run is recorded, but
    /// it is no outcome of the table, whose state (latest outcome, error, failure streak) stays
    /// as it was.
    pub busy: bool,
}

impl Outcome {
    /// Whether a run ending so is a failure of its table (counted in its failure streak, which
    /// makes it wait before it is due again). A cancelled run is not: duro was stopped.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::TestsFailed | Outcome::Timeout
        )
    }
}

/// A run as read back from the state database, newest first in [`Store::runs_of`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: Option<String>,
    pub error: Option<String>,
    pub failed_tests: Vec<String>,
    pub test_failures: Vec<TestFailure>,
    pub rows: Option<i64>,
    /// (step, time in milliseconds).
    pub steps: Vec<(String, i64)>,
    /// The step a running run is in, and the step a failed run failed in.
    pub current_step: Option<String>,
    pub failed_step: Option<String>,
    pub notes: Option<String>,
}

/// Counts one finished run of `table` in `run_counts` (what `/metrics` reads).
pub(super) fn count_run(
    conn: &rusqlite::Connection,
    table: &str,
    outcome: &str,
) -> Result<(), StateError> {
    conn.prepare_cached(
        "insert into run_counts (table_name, outcome, count) values (?1, ?2, 1)
         on conflict (table_name, outcome) do update set count = count + 1",
    )?
    .execute(params![table, outcome])?;
    Ok(())
}

impl Store {
    /// The latest `limit` runs of a table, newest first.
    pub fn runs_of(&self, table: &str, limit: u32) -> Result<Vec<RunRecord>, StateError> {
        let mut stmt = self.conn.prepare_cached(
            "select id, started_at, finished_at, outcome, error, failed_tests, rows, steps, output,
                    current_step, failed_step, test_failures
             from runs where table_name = ?1 order by id desc limit ?2",
        )?;
        let rows = stmt.query_map(params![table, limit], |r| {
            let failed: Option<String> = r.get(5)?;
            let steps: String = r.get(7)?;
            let steps: Vec<serde_json::Value> = serde_json::from_str(&steps).unwrap_or_default();
            Ok(RunRecord {
                id: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                outcome: r.get(3)?,
                error: r.get(4)?,
                failed_tests: failed
                    .and_then(|f| serde_json::from_str(&f).ok())
                    .unwrap_or_default(),
                rows: r.get(6)?,
                steps: steps
                    .iter()
                    .filter_map(|s| Some((s["step"].as_str()?.to_string(), s["at"].as_i64()?)))
                    .collect(),
                notes: r.get(8)?,
                current_step: r.get(9)?,
                failed_step: r.get(10)?,
                test_failures: r
                    .get::<_, Option<String>>(11)?
                    .and_then(|f| serde_json::from_str(&f).ok())
                    .unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Extends every lease `owner` holds; returns how many.
    pub fn renew_leases(
        &self,
        owner: &str,
        now: Timestamp,
        lease_seconds: u64,
    ) -> Result<usize, StateError> {
        let until = to_millis(now) + (lease_seconds as i64) * 1000;
        Ok(self.conn.execute(
            "update tables set lease_until = ?2 where lease_owner = ?1",
            params![owner, until],
        )?)
    }

    /// Who holds a table's lease, if anyone does at `now`.
    pub fn lease_holder(&self, table: &str, now: Timestamp) -> Result<Option<String>, StateError> {
        Ok(self
            .conn
            .query_row(
                "select lease_owner from tables where name = ?1 and lease_owner is not null and lease_until >= ?2",
                params![table, to_millis(now)],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Takes the lease and opens a run record in one transaction; `None` when another live
    /// owner holds the table.
    pub fn begin_run(
        &mut self,
        table: &str,
        owner: &str,
        now: Timestamp,
        lease_seconds: u64,
    ) -> Result<Option<i64>, StateError> {
        Ok(self
            .begin_run_with(table, owner, || now, lease_seconds)?
            .map(|(run, _)| run))
    }

    /// [`Store::begin_run`] at the time the state's write lock is taken, which it also returns:
    /// a run waiting for that lock while another process ends its own run of the table must not
    /// be recorded as starting before that run finished.
    pub fn begin_run_now(
        &mut self,
        table: &str,
        owner: &str,
        lease_seconds: u64,
    ) -> Result<Option<(i64, Timestamp)>, StateError> {
        self.begin_run_with(table, owner, Timestamp::now, lease_seconds)
    }

    fn begin_run_with(
        &mut self,
        table: &str,
        owner: &str,
        clock: impl FnOnce() -> Timestamp,
        lease_seconds: u64,
    ) -> Result<Option<(i64, Timestamp)>, StateError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = clock();
        let until = to_millis(now) + (lease_seconds as i64) * 1000;
        let leased = tx.execute(
            "update tables set lease_owner = ?2, lease_until = ?3
             where name = ?1 and removed_at is null
               and (lease_owner is null or lease_until < ?4 or lease_owner = ?2)",
            params![table, owner, until, to_millis(now)],
        )?;
        if leased != 1 {
            return Ok(None);
        }
        tx.execute(
            "insert into runs (table_name, started_at, owner, steps) values (?1, ?2, ?3, '[]')",
            params![table, to_millis(now), owner],
        )?;
        let run = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Some((run, now)))
    }

    /// Records the step a run has started, for pages showing running jobs.
    pub fn set_current_step(&self, run: i64, step: Step) -> Result<(), StateError> {
        self.conn
            .prepare_cached("update runs set current_step = ?2 where id = ?1")?
            .execute(params![run, step.as_str()])?;
        Ok(())
    }

    /// Closes a run in one transaction: its record with every step, the table's statistics when
    /// it produced a new table, and the lease.
    pub fn end_run(&mut self, table: &str, owner: &str, end: &RunEnd) -> Result<(), StateError> {
        let tx = self.conn.transaction()?;
        let steps: Vec<serde_json::Value> = end
            .steps
            .iter()
            .map(|(step, at)| serde_json::json!({"step": step.as_str(), "at": to_millis(*at)}))
            .collect();
        let failed = (!end.failed_tests.is_empty())
            .then(|| serde_json::to_string(&end.failed_tests).expect("strings serialise"));
        let test_failures = (!end.test_failures.is_empty())
            .then(|| serde_json::to_string(&end.test_failures).expect("strings serialise"));
        tx.execute(
            "update runs set finished_at = ?2, outcome = ?3, error = ?4, failed_tests = ?5, rows = ?6, output = ?7, steps = ?8,
                current_step = null, failed_step = ?9, test_failures = ?10
             where id = ?1",
            params![
                end.run,
                to_millis(end.finished),
                end.outcome.as_str(),
                end.error,
                failed,
                end.rows.map(|r| r as i64),
                end.output,
                serde_json::Value::Array(steps).to_string(),
                end.failed_step.map(Step::as_str),
                test_failures
            ],
        )?;
        if end.rows.is_some() {
            tx.execute(
                "update tables set last_built = ?2,
                    mean_seconds = (coalesce(mean_seconds, 0) * run_count + ?3) / (run_count + 1),
                    run_count = run_count + 1,
                    force = case when force <= ?2 then 0 else force end
                 where name = ?1",
                params![table, to_millis(end.started), end.seconds],
            )?;
        }
        tx.execute(
            "update tables set lease_owner = null, lease_until = null where name = ?1 and lease_owner = ?2",
            params![table, owner],
        )?;
        count_run(&tx, table, end.outcome.as_str())?;
        if !end.busy {
            // A success ends the failure streak, a failure extends it, a cancelled run leaves it.
            tx.execute(
                "update tables set last_outcome = ?2, last_error = ?3, last_finished = ?4,
                    failures = case when ?5 then failures + 1 when ?6 then 0 else failures end,
                    failed_at = case when ?5 then ?4 when ?6 then null else failed_at end
                 where name = ?1",
                params![
                    table,
                    end.outcome.as_str(),
                    end.error,
                    to_millis(end.finished),
                    end.outcome.is_failure(),
                    end.outcome == Outcome::Success
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Ends the failure streaks of `names` (`duro run` builds them now, whatever their wait).
    pub fn clear_failures(&self, names: &[String]) -> Result<(), StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("update tables set failures = 0, failed_at = null where name = ?1")?;
        for name in names {
            stmt.execute([name])?;
        }
        Ok(())
    }

    /// Marks runs left unfinished by `owner` (or by owners whose lease expired) as cancelled.
    pub fn close_abandoned_runs(&mut self, now: Timestamp) -> Result<usize, StateError> {
        let message = "the process running it stopped before it finished";
        let now = to_millis(now);
        let tx = self.conn.transaction()?;
        let abandoned = "finished_at is null and not exists (
                 select 1 from tables t where t.name = runs.table_name and t.lease_owner = runs.owner and t.lease_until >= ?1)";
        tx.execute(
            &format!(
                "insert into run_counts (table_name, outcome, count)
                 select table_name, 'cancelled', count(*) from runs where {abandoned} group by table_name
                 on conflict (table_name, outcome) do update set count = count + excluded.count"
            ),
            params![now],
        )?;
        tx.execute(
            &format!(
                "update tables set last_outcome = 'cancelled', last_error = ?2, last_finished = ?1
                 where name in (select table_name from runs where {abandoned})"
            ),
            params![now, message],
        )?;
        let closed = tx.execute(
            &format!(
                "update runs set finished_at = ?1, outcome = 'cancelled', error = coalesce(error, ?2),
                    failed_step = current_step, current_step = null
                 where {abandoned}"
            ),
            params![now, message],
        )?;
        tx.commit()?;
        Ok(closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(name: &str) -> Store {
        let mut store = Store::in_memory().unwrap();
        let table = crate::state::tests::table(name, "h", &[]);
        store
            .apply_schedule(&[table], "c", None, Timestamp::from_second(1000).unwrap())
            .unwrap();
        store
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn end(run: i64, started: i64, seconds: f64, outcome: Outcome, rows: Option<u64>) -> RunEnd {
        RunEnd {
            run,
            started: at(started),
            finished: at(started + seconds as i64),
            seconds,
            outcome,
            error: (outcome != Outcome::Success).then(|| "tests failed".to_string()),
            failed_tests: if outcome == Outcome::TestsFailed {
                vec!["a".into()]
            } else {
                vec![]
            },
            test_failures: vec![],
            failed_step: None,
            rows,
            output: None,
            steps: vec![
                (Step::Connect, at(started + 1)),
                (Step::CreateTemp, at(started + 2)),
            ],
            busy: false,
        }
    }

    #[test]
    fn leases_exclude_other_owners_until_they_expire() {
        let mut store = store_with("s.t");
        let first = store.begin_run("s.t", "a", at(2000), 30).unwrap();
        assert!(first.is_some());
        assert_eq!(store.begin_run("s.t", "b", at(2010), 30).unwrap(), None);
        assert_eq!(store.renew_leases("a", at(2025), 30).unwrap(), 1);
        assert_eq!(store.begin_run("s.t", "b", at(2050), 30).unwrap(), None);
        // a stops heart-beating: the lease is free once it runs out.
        let second = store.begin_run("s.t", "b", at(2056), 30).unwrap();
        assert!(second.is_some());
        assert_eq!(
            store.lease_holder("s.t", at(2057)).unwrap().as_deref(),
            Some("b")
        );
        // a's abandoned run is closed as cancelled and counted; b's is not.
        assert_eq!(store.close_abandoned_runs(at(2058)).unwrap(), 1);
        let cancelled: i64 = store
            .connection()
            .query_row(
                "select count from run_counts where outcome = 'cancelled'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(cancelled, 1);
        // Ending a run releases only the owner's own lease.
        store
            .end_run(
                "s.t",
                "a",
                &end(first.unwrap(), 2000, 1.0, Outcome::Failed, None),
            )
            .unwrap();
        assert_eq!(
            store.lease_holder("s.t", at(2059)).unwrap().as_deref(),
            Some("b")
        );
        store
            .end_run(
                "s.t",
                "b",
                &end(second.unwrap(), 2056, 1.0, Outcome::Success, Some(1)),
            )
            .unwrap();
        assert_eq!(store.lease_holder("s.t", at(2059)).unwrap(), None);
    }

    #[test]
    fn statistics_and_force() {
        // original-behavior.md §6.3: mean 127 → 247 → 300 after runs of 127, 367, 406.
        let mut store = store_with("s.t");
        for (start, seconds) in [(2000, 127.0), (3000, 367.0), (4000, 406.0)] {
            let run = store
                .begin_run("s.t", "me", at(start), 30)
                .unwrap()
                .unwrap();
            store
                .end_run(
                    "s.t",
                    "me",
                    &end(run, start, seconds, Outcome::Success, Some(5)),
                )
                .unwrap();
        }
        let row = store.table("s.t").unwrap().unwrap();
        assert_eq!(row.mean_seconds, Some(300.0));
        assert_eq!(row.run_count, 3);
        assert_eq!(row.last_built, Some(4_000_000));
        assert!(!row.force);
        // A force given during a run survives its success.
        let run = store.begin_run("s.t", "me", at(4900), 30).unwrap().unwrap();
        store.force(&["s.t".into()], at(5000)).unwrap();
        store
            .end_run("s.t", "me", &end(run, 4900, 1.0, Outcome::Success, Some(5)))
            .unwrap();
        assert!(store.table("s.t").unwrap().unwrap().force);
        // A failed run changes no statistics.
        let run = store.begin_run("s.t", "me", at(6000), 30).unwrap().unwrap();
        store
            .end_run(
                "s.t",
                "me",
                &end(run, 6000, 9.0, Outcome::TestsFailed, None),
            )
            .unwrap();
        assert_eq!(store.table("s.t").unwrap().unwrap().run_count, 4);
    }

    #[test]
    fn failure_streaks_grow_with_failures_and_end_with_a_success_or_a_force() {
        let mut store = store_with("s.t");
        let streak = |store: &Store| {
            let row = store.table("s.t").unwrap().unwrap();
            (row.failures, row.failed_at)
        };
        let finish = |store: &mut Store, start: i64, outcome: Outcome, busy: bool| {
            let run = store
                .begin_run("s.t", "me", at(start), 30)
                .unwrap()
                .unwrap();
            let mut e = end(run, start, 2.0, outcome, None);
            e.rows = (outcome == Outcome::Success).then_some(1);
            e.busy = busy;
            store.end_run("s.t", "me", &e).unwrap();
        };
        assert_eq!(streak(&store), (0, None));
        finish(&mut store, 2000, Outcome::Failed, false);
        finish(&mut store, 2010, Outcome::Timeout, false);
        finish(&mut store, 2020, Outcome::TestsFailed, false);
        assert_eq!(streak(&store), (3, Some(2_022_000)));
        // Neither a cancelled run nor a busy one is a failure of the table.
        finish(&mut store, 2030, Outcome::Cancelled, false);
        finish(&mut store, 2040, Outcome::Cancelled, true);
        assert_eq!(streak(&store), (3, Some(2_022_000)));
        // The busy run left the table's latest outcome and error as they were.
        let row = store.table("s.t").unwrap().unwrap();
        assert_eq!(row.last_outcome.as_deref(), Some("cancelled"));
        assert_eq!(row.last_finished, Some(2_032_000));
        finish(&mut store, 2050, Outcome::Success, false);
        assert_eq!(streak(&store), (0, None));
        finish(&mut store, 2060, Outcome::Failed, false);
        store.force(&["s.t".into()], at(2070)).unwrap();
        assert_eq!(streak(&store), (0, None));
        finish(&mut store, 2080, Outcome::Failed, false);
        store.clear_failures(&["s.t".into()]).unwrap();
        assert_eq!(streak(&store), (0, None));
        // A changed definition ends it too.
        finish(&mut store, 2090, Outcome::Failed, false);
        let changed = crate::state::tests::table("s.t", "h2", &[]);
        store
            .apply_schedule(&[changed], "c2", None, at(2100))
            .unwrap();
        assert_eq!(streak(&store), (0, None));
    }

    #[test]
    fn a_state_from_before_failure_streaks_starts_failing_tables_with_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        // A state file at schema version 4 (before streaks): one failing table, one healthy.
        let conn = rusqlite::Connection::open(&path).unwrap();
        for migration in &super::super::migrations::MIGRATIONS[..4] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        for (name, outcome) in [("s.bad", "failed"), ("s.good", "success")] {
            conn.execute(
                "insert into tables (name, definition, files, config, config_sources, sources, definition_hash, added_at, changed_at, last_outcome, last_finished)
                 values (?1, 'select 1', '{}', '{}', '{}', '[]', 'h', 0, 0, ?2, 5000)",
                params![name, outcome],
            )
            .unwrap();
        }
        drop(conn);
        let store = Store::open(&path).unwrap();
        let bad = store.table("s.bad").unwrap().unwrap();
        assert_eq!((bad.failures, bad.failed_at), (1, Some(5000)));
        let good = store.table("s.good").unwrap().unwrap();
        assert_eq!((good.failures, good.failed_at), (0, None));
    }

    #[test]
    fn runs_record_steps_and_outcomes() {
        let mut store = store_with("s.t");
        let run = store.begin_run("s.t", "me", at(2000), 30).unwrap().unwrap();
        store
            .end_run(
                "s.t",
                "me",
                &end(run, 2000, 3.0, Outcome::TestsFailed, None),
            )
            .unwrap();
        let (steps, failed, outcome): (String, String, String) = store
            .connection()
            .query_row("select steps, failed_tests, outcome from runs", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(
            steps,
            r#"[{"at":2001000,"step":"connect"},{"at":2002000,"step":"create_temp"}]"#
        );
        assert_eq!(failed, r#"["a"]"#);
        assert_eq!(outcome, "tests_failed");
    }
}
