//! Retrying one table's build within a run: a transient warehouse error (serialization failure,
//! deadlock, lock timeout, lost connection) is retried `creator.retries` times, so a run makes
//! at most `retries + 1` attempts, waiting 2 s, 4 s, 8 s, … (at most 32 s) between them. A table
//! whose attempts all ended waiting for a lock another process holds was busy there: that is no
//! failure of the table.

use crate::warehouse::WarehouseError;
use std::time::Duration;

/// How many attempts a run makes at most with `retries` retries.
pub fn attempts(retries: u32) -> u32 {
    retries.saturating_add(1)
}

/// The wait before retry number `retry` (1 for the second attempt): 2 s, 4 s, 8 s, … 32 s.
pub fn wait_before(retry: u32) -> Duration {
    Duration::from_secs(1u64 << retry.clamp(1, 5))
}

/// Whether the error says that another process holds what the build needs: a PostgreSQL lock
/// wait that ran out (`lock_timeout`, SQLSTATE 55P03) or a DuckDB file another process has open.
pub fn is_busy(error: &WarehouseError) -> bool {
    error.message.contains("(55P03)") || error.message.contains("Could not set lock")
}

/// The log line of a failed attempt that is retried: `attempt 1 of 4 failed, retrying in 2s`.
pub fn retry_line(table: &str, attempt: u32, retries: u32, wait: Duration, error: &str) -> String {
    format!(
        "{table}: attempt {attempt} of {} failed, retrying in {}s: {error}",
        attempts(retries),
        wait.as_secs()
    )
}

/// What a run's error says after its last attempt, when it was retried.
pub fn gave_up(error: &str, made: u32, retries: u32) -> String {
    if made <= 1 {
        return error.to_string();
    }
    format!(
        "{error}\nall {made} attempts failed (creator.retries = {retries}: at most {} attempts)",
        attempts(retries)
    )
}

/// The error of a run whose table was busy in another process.
pub fn busy_message(table: &str, error: &str, made: u32) -> String {
    format!(
        "not built: {table} is busy in another process ({}): {error}\nits state is unchanged; it is built again when it is next due",
        if made == 1 {
            "1 attempt".to_string()
        } else {
            format!("{made} attempts")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_mean_one_attempt_more_and_the_log_counts_them_so() {
        assert_eq!(attempts(0), 1);
        assert_eq!(attempts(3), 4);
        assert_eq!(attempts(u32::MAX), u32::MAX);
        let waits: Vec<u64> = (1..=7).map(|r| wait_before(r).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 32, 32]);
        assert_eq!(
            retry_line("s.t", 3, 3, wait_before(3), "lock timeout"),
            "s.t: attempt 3 of 4 failed, retrying in 8s: lock timeout"
        );
        assert_eq!(gave_up("boom", 1, 0), "boom");
        assert_eq!(
            gave_up("boom", 4, 3),
            "boom\nall 4 attempts failed (creator.retries = 3: at most 4 attempts)"
        );
    }

    #[test]
    fn lock_waits_and_held_duckdb_files_are_busy_other_errors_are_not() {
        let mut e = WarehouseError::new("canceling statement due to lock timeout (55P03)");
        e.transient = true;
        assert!(is_busy(&e));
        assert!(is_busy(&WarehouseError::new(
            "IO Error: Could not set lock on file \"w.duckdb\": Conflicting lock is held"
        )));
        assert!(!is_busy(&WarehouseError::new(
            "could not serialize access (40001)"
        )));
        assert!(
            busy_message("s.t", "x", 2)
                .starts_with("not built: s.t is busy in another process (2 attempts): x")
        );
    }
}
