//! Sent notifications (SPEC §12): a message is claimed in the state database before it is sent,
//! so that the same message is not posted twice within the quiet period, even when separate
//! processes (a creator daemon, `duro run`, cron's `duro schedule`) send it at the same moment.

use super::{StateError, Store, to_millis};
use jiff::Timestamp;
use rusqlite::params;
use std::time::Duration;

impl Store {
    /// Claims the notification `key` at `now` unless it was claimed less than `quiet` ago; true
    /// means the caller should send it. The check and the record are one statement in one
    /// transaction, so of two processes claiming at once exactly one wins.
    pub fn claim_notification(
        &mut self,
        key: &str,
        now: Timestamp,
        quiet: Duration,
    ) -> Result<bool, StateError> {
        let now_ms = to_millis(now);
        let expired = now_ms - quiet.as_millis() as i64;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Claims older than the quiet period decide nothing any more.
        tx.execute(
            "delete from notifications where sent_at < ?1 and key <> ?2",
            params![expired, key],
        )?;
        let claimed = tx.execute(
            "insert into notifications (key, sent_at) values (?1, ?2)
             on conflict (key) do update set sent_at = excluded.sent_at
             where notifications.sent_at <= ?3",
            params![key, now_ms, expired],
        )?;
        tx.commit()?;
        Ok(claimed == 1)
    }

    /// Forgets the claim made at `at` for a message that could not be sent, so that a later
    /// attempt may send it.
    pub fn release_notification(&mut self, key: &str, at: Timestamp) -> Result<(), StateError> {
        self.conn.execute(
            "delete from notifications where key = ?1 and sent_at = ?2",
            params![key, to_millis(at)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: Duration = Duration::from_secs(600);

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    #[test]
    fn a_message_is_claimed_once_per_quiet_period() {
        let mut store = Store::in_memory().unwrap();
        assert!(store.claim_notification("k", at(0), QUIET).unwrap());
        assert!(!store.claim_notification("k", at(1), QUIET).unwrap());
        assert!(!store.claim_notification("k", at(599), QUIET).unwrap());
        assert!(store.claim_notification("other", at(1), QUIET).unwrap());
        assert!(store.claim_notification("k", at(600), QUIET).unwrap());
        assert!(!store.claim_notification("k", at(700), QUIET).unwrap());
    }

    #[test]
    fn a_released_claim_can_be_claimed_again() {
        let mut store = Store::in_memory().unwrap();
        assert!(store.claim_notification("k", at(0), QUIET).unwrap());
        store.release_notification("k", at(0)).unwrap();
        assert!(store.claim_notification("k", at(5), QUIET).unwrap());
        // Releasing an older claim leaves the newer one alone.
        store.release_notification("k", at(0)).unwrap();
        assert!(!store.claim_notification("k", at(6), QUIET).unwrap());
    }

    #[test]
    fn old_claims_are_pruned() {
        let mut store = Store::in_memory().unwrap();
        for i in 0..5 {
            store
                .claim_notification(&format!("k{i}"), at(0), QUIET)
                .unwrap();
        }
        store.claim_notification("new", at(3600), QUIET).unwrap();
        let count: i64 = store
            .connection()
            .query_row("select count(*) from notifications", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 1);
    }
}
