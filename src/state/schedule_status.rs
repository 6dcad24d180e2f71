//! The outcome of the latest schedule attempt, refused or not, so that the web UI and `/metrics`
//! can say that the views directory has errors. A refused schedule writes nothing else (its
//! tables stay as the last successful schedule left them); this one row is the exception.

use super::{StateError, Store, from_millis, to_millis};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// One error that refused a schedule, as `check --format json` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleProblem {
    /// Relative to the views directory.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub table: Option<String>,
    pub message: String,
}

/// The latest schedule attempt: whether it passed, when this outcome began, and its errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleStatus {
    pub ok: bool,
    /// The first attempt with this outcome (UTC milliseconds): a refused directory that stays
    /// refused keeps the time it broke.
    pub at: i64,
    pub errors: Vec<ScheduleProblem>,
}

impl Store {
    /// The latest schedule attempt, or `None` when no duro that records it has scheduled yet.
    pub fn schedule_status(&self) -> Result<Option<ScheduleStatus>, StateError> {
        let row = self
            .conn
            .query_row(
                "select ok, at, errors from schedule_status where id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, bool>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.map(|(ok, at, errors)| ScheduleStatus {
            ok,
            at,
            errors: serde_json::from_str(&errors).unwrap_or_default(),
        }))
    }

    /// Records the outcome of a schedule attempt at `now`: passed when `errors` is empty. Writes
    /// only when the outcome differs from the stored one, so that an unchanged directory
    /// scheduled every minute writes nothing (and the UI's caches stay valid).
    pub fn record_schedule_status(
        &mut self,
        errors: &[ScheduleProblem],
        now: Timestamp,
    ) -> Result<(), StateError> {
        let ok = errors.is_empty();
        if let Some(stored) = self.schedule_status()?
            && stored.ok == ok
            && stored.errors == errors
        {
            return Ok(());
        }
        let json = serde_json::to_string(errors).expect("serialisable");
        self.conn.execute(
            "insert into schedule_status (id, ok, at, errors) values (1, ?1, ?2, ?3)
             on conflict (id) do update set ok = excluded.ok, at = excluded.at, errors = excluded.errors",
            params![ok, to_millis(now), json],
        )?;
        Ok(())
    }
}

impl ScheduleStatus {
    pub fn at(&self) -> Timestamp {
        from_millis(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(message: &str) -> ScheduleProblem {
        ScheduleProblem {
            file: Some("s/a.conf".into()),
            line: Some(3),
            table: Some("s.a".into()),
            message: message.into(),
        }
    }

    #[test]
    fn records_the_latest_outcome_and_writes_only_changes() {
        let mut store = Store::in_memory().unwrap();
        assert_eq!(store.schedule_status().unwrap(), None);
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        let t1 = t0 + jiff::SignedDuration::from_secs(60);
        store
            .record_schedule_status(&[problem("bad value")], t0)
            .unwrap();
        let refused = store.schedule_status().unwrap().unwrap();
        assert!(!refused.ok);
        assert_eq!(refused.errors, [problem("bad value")]);
        // The same errors again keep the time the directory broke.
        store
            .record_schedule_status(&[problem("bad value")], t1)
            .unwrap();
        assert_eq!(store.schedule_status().unwrap().unwrap().at(), t0);
        store.record_schedule_status(&[], t1).unwrap();
        let passed = store.schedule_status().unwrap().unwrap();
        assert!(passed.ok && passed.errors.is_empty());
        assert_eq!(passed.at(), t1);
        let changes: i64 = store
            .connection()
            .query_row("select total_changes()", [], |r| r.get(0))
            .unwrap();
        store.record_schedule_status(&[], t1).unwrap();
        let after: i64 = store
            .connection()
            .query_row("select total_changes()", [], |r| r.get(0))
            .unwrap();
        assert_eq!(changes, after, "an unchanged outcome writes nothing");
    }
}
