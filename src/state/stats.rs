//! Activity over a time window, from the runs: what the web UI's header (`/api/stats`) and
//! `duro digest` report. Both read the same numbers through these functions.

use super::{StateError, Store};
use rusqlite::params;

/// The runs that finished in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowStats {
    /// Tables with at least one successful run.
    pub tables: i64,
    /// Successful runs.
    pub updates: i64,
    /// Runs that failed, failed their tests or timed out (cancelled runs are not failures).
    pub failed: i64,
    /// Time spent in these runs within the window, in milliseconds (runs at once add up).
    pub busy_ms: i64,
}

impl WindowStats {
    /// The share of a window of `window_ms` spent building, in percent rounded to 0.01; above
    /// 100 when tables were built at the same time.
    pub fn load_percent(&self, window_ms: i64) -> f64 {
        if window_ms <= 0 {
            return 0.0;
        }
        let load = self.busy_ms as f64 / window_ms as f64 * 100.0;
        (load * 100.0).round() / 100.0
    }
}

impl Store {
    /// Runs finished from `since` (and until `until`, when given), times in milliseconds.
    pub fn window_stats(&self, since: i64, until: Option<i64>) -> Result<WindowStats, StateError> {
        let mut stmt = self.conn.prepare_cached(
            "select count(distinct case when outcome = 'success' then table_name end),
                count(case when outcome = 'success' then 1 end),
                count(case when outcome in ('failed', 'tests_failed', 'timeout') then 1 end),
                sum(finished_at - max(started_at, ?1))
             from runs where finished_at >= ?1 and finished_at <= ?2",
        )?;
        Ok(
            stmt.query_row(params![since, until.unwrap_or(i64::MAX)], |r| {
                Ok(WindowStats {
                    tables: r.get(0)?,
                    updates: r.get(1)?,
                    failed: r.get(2)?,
                    busy_ms: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
                })
            })?,
        )
    }

    /// The `limit` tables whose longest successful run in the window took longest, with that
    /// duration in seconds, slowest first.
    pub fn slowest_tables(
        &self,
        since: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<(String, f64)>, StateError> {
        let mut stmt = self.conn.prepare_cached(
            "select table_name, max(finished_at - started_at) as longest
             from runs
             where finished_at >= ?1 and finished_at <= ?2 and outcome = 'success'
             group by table_name order by longest desc, table_name limit ?3",
        )?;
        let rows = stmt.query_map(params![since, until, limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as f64 / 1000.0))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Tables whose runs failed in the window, with how many times, most failures first.
    pub fn failing_tables(&self, since: i64, until: i64) -> Result<Vec<(String, i64)>, StateError> {
        let mut stmt = self.conn.prepare_cached(
            "select table_name, count(*) as failures
             from runs
             where finished_at >= ?1 and finished_at <= ?2
               and outcome in ('failed', 'tests_failed', 'timeout')
             group by table_name order by failures desc, table_name",
        )?;
        let rows = stmt.query_map(params![since, until], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many tables are scheduled (not removed).
    pub fn scheduled_table_count(&self) -> Result<i64, StateError> {
        Ok(self.conn.query_row(
            "select count(*) from tables where removed_at is null",
            [],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(store: &Store, table: &str, start: i64, finish: i64, outcome: &str) {
        store
            .connection()
            .execute(
                "insert into runs (table_name, started_at, finished_at, outcome) values (?1, ?2, ?3, ?4)",
                params![table, start, finish, outcome],
            )
            .unwrap();
    }

    #[test]
    fn a_window_counts_finished_runs_and_clips_their_time() {
        let store = Store::in_memory().unwrap();
        run(&store, "a.x", 0, 50_000, "success"); // before the window
        run(&store, "a.x", 90_000, 110_000, "success"); // 10 s inside
        run(&store, "a.x", 120_000, 130_000, "success");
        run(&store, "a.y", 120_000, 140_000, "tests_failed");
        run(&store, "a.z", 150_000, 151_000, "cancelled");
        run(&store, "a.z", 250_000, 260_000, "success"); // after the window
        let stats = store.window_stats(100_000, Some(200_000)).unwrap();
        assert_eq!(
            stats,
            WindowStats {
                tables: 1,
                updates: 2,
                failed: 1,
                busy_ms: 10_000 + 10_000 + 20_000 + 1_000,
            }
        );
        assert_eq!(stats.load_percent(100_000), 41.0);
        assert_eq!(store.window_stats(100_000, None).unwrap().updates, 3);
        assert_eq!(
            store.slowest_tables(100_000, 300_000, 2).unwrap(),
            vec![("a.x".to_string(), 20.0), ("a.z".to_string(), 10.0)]
        );
        assert_eq!(
            store.failing_tables(100_000, 300_000).unwrap(),
            vec![("a.y".to_string(), 1)]
        );
    }

    #[test]
    fn an_empty_window_has_no_load() {
        let store = Store::in_memory().unwrap();
        let stats = store.window_stats(0, None).unwrap();
        assert_eq!(stats, WindowStats::default());
        assert_eq!(stats.load_percent(86_400_000), 0.0);
        assert_eq!(stats.load_percent(0), 0.0);
    }
}
