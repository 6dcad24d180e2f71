//! Table status as `duro status` and the web UI show it (SPEC §14): interval, last built, mean,
//! state and last error, computed from the state database.

use crate::state::{StateError, Store, from_millis, to_millis};
use jiff::Timestamp;
use serde::Serialize;

/// A table's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableState {
    Ok,
    Failed,
    Running,
    Never,
    Removed,
}

impl TableState {
    pub fn as_str(self) -> &'static str {
        match self {
            TableState::Ok => "ok",
            TableState::Failed => "failed",
            TableState::Running => "running",
            TableState::Never => "never",
            TableState::Removed => "removed",
        }
    }
}

/// One line of `status --format json`. Field names and order are the stable JSON contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableStatus {
    pub name: String,
    pub interval_minutes: Option<u64>,
    pub last_built: Option<String>,
    pub mean_seconds: Option<f64>,
    pub state: TableState,
    pub last_error: Option<String>,
    #[serde(skip)]
    pub force: bool,
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-25T10:00:00.025Z`: every time duro shows or
/// serialises, so that sub-second runs and their steps keep their real offsets.
pub fn rfc3339(ms: i64) -> String {
    from_millis(ms)
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Every table's status at `now`, by name.
pub fn statuses(store: &Store, now: Timestamp) -> Result<Vec<TableStatus>, StateError> {
    Ok(statuses_of(now, &store.tables()?))
}

/// The statuses of the given rows.
pub fn statuses_of(now: Timestamp, rows: &[crate::state::TableRow]) -> Vec<TableStatus> {
    let now_ms = to_millis(now);
    rows.iter()
        .cloned()
        .map(|row| {
            let failed = row.last_outcome.as_deref().filter(|o| *o != "success");
            let running = row.lease_owner.is_some() && row.lease_until.is_some_and(|u| u > now_ms);
            let state = if row.removed_at.is_some() {
                TableState::Removed
            } else if running {
                TableState::Running
            } else if failed.is_some() {
                TableState::Failed
            } else if row.last_built.is_none() {
                TableState::Never
            } else {
                TableState::Ok
            };
            TableStatus {
                name: row.name,
                interval_minutes: row.interval_minutes,
                last_built: row.last_built.map(rfc3339),
                mean_seconds: row.mean_seconds,
                state,
                last_error: failed.and(row.last_error),
                force: row.force,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    /// A 25 ms run keeps its milliseconds: it must not show as a whole second.
    #[test]
    fn times_carry_milliseconds() {
        let start = 1_764_000_000_000;
        assert_eq!(rfc3339(start), "2025-11-24T16:00:00.000Z");
        assert_eq!(rfc3339(start + 25), "2025-11-24T16:00:00.025Z");
        let parsed: jiff::Timestamp = rfc3339(start + 25).parse().unwrap();
        assert_eq!(parsed.as_millisecond(), start + 25);
    }
}
