//! A response cache that is valid until the state database changes. Changes by other processes
//! show in SQLite's `data_version`; the server's own writes bump a local generation.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Cached response bodies, keyed by route and parameters.
#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<String, (u64, axum::body::Bytes)>>,
    local: AtomicU64,
    /// Keys being recomputed now: requests for them get the previous body meanwhile, instead of
    /// queueing behind the computation (which holds the state database).
    computing: Mutex<std::collections::HashSet<String>>,
}

/// Marks a key as being computed until dropped.
pub struct Computing<'a> {
    cache: &'a Cache,
    key: String,
}

impl Drop for Computing<'_> {
    fn drop(&mut self) {
        self.cache
            .computing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

const MAX_ENTRIES: usize = 256;

impl Cache {
    /// The version the state is at: SQLite's data_version combined with local writes.
    pub fn version(&self, data_version: i64) -> u64 {
        ((data_version as u64) << 20) ^ self.local.load(Ordering::SeqCst)
    }

    /// Marks the server's own write.
    pub fn bump(&self) {
        self.local.fetch_add(1, Ordering::SeqCst);
    }

    pub fn get(&self, key: &str, version: u64) -> Option<axum::body::Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(v, _)| *v == version)
            .map(|(_, body)| body.clone())
    }

    /// The previous body of `key`, whatever its version, while another request recomputes it.
    pub fn while_computing(&self, key: &str) -> Option<axum::body::Bytes> {
        if !self
            .computing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
        {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(key).map(|(_, body)| body.clone())
    }

    /// Notes that `key` is being recomputed, until the guard is dropped.
    pub fn computing(&self, key: &str) -> Computing<'_> {
        self.computing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string());
        Computing {
            cache: self,
            key: key.to_string(),
        }
    }

    pub fn put(&self, key: String, version: u64, body: axum::body::Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (v, _)| *v == version);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (version, body));
    }
}

/// One response that also goes stale with time (`/metrics`: its ages move with the clock). While
/// one request recomputes it, concurrent requests get the previous body instead of queueing
/// behind the computation; only the request that found it stale waits.
#[derive(Default)]
pub struct Revalidating {
    slot: Mutex<Option<(u64, std::time::Instant, axum::body::Bytes)>>,
    busy: std::sync::atomic::AtomicBool,
}

/// Clears the busy flag however the computation ends.
struct Busy<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Revalidating {
    /// The body for the state's `version` (read only when no computation is under way: reading
    /// it waits for the state database, which a computation holds).
    pub fn get_or_compute<E>(
        &self,
        version: impl FnOnce() -> Result<u64, E>,
        max_age: std::time::Duration,
        compute: impl FnOnce() -> Result<axum::body::Bytes, E>,
    ) -> Result<axum::body::Bytes, E> {
        if self.busy.load(Ordering::SeqCst)
            && let Some((_, _, body)) = &*self.slot.lock().unwrap_or_else(|p| p.into_inner())
        {
            return Ok(body.clone());
        }
        let version = version()?;
        let previous = {
            let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            match &*slot {
                Some((v, at, body)) if *v == version && at.elapsed() < max_age => {
                    return Ok(body.clone());
                }
                other => other.as_ref().map(|(_, _, body)| body.clone()),
            }
        };
        if self.busy.swap(true, Ordering::SeqCst)
            && let Some(body) = previous
        {
            return Ok(body);
        }
        let _busy = Busy(&self.busy);
        let body = compute()?;
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((version, std::time::Instant::now(), body.clone()));
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn serves_the_previous_body_while_another_request_recomputes() {
        let cache = Revalidating::default();
        let hour = Duration::from_secs(3600);
        let first = cache.get_or_compute(|| Ok(1), hour, || Ok::<_, ()>("one".into()));
        assert_eq!(first.unwrap(), "one");
        // Same version, fresh: no computation.
        let again = cache.get_or_compute(
            || Ok(1),
            hour,
            || -> Result<axum::body::Bytes, ()> { panic!("recomputed a fresh body") },
        );
        assert_eq!(again.unwrap(), "one");
        // A new version while a computation is under way: the previous body, without reading
        // the version (which would wait for the computation).
        cache.busy.store(true, Ordering::SeqCst);
        let during = cache.get_or_compute(
            || -> Result<u64, ()> { panic!("read the version during a computation") },
            hour,
            || -> Result<axum::body::Bytes, ()> { panic!("computed twice at once") },
        );
        assert_eq!(during.unwrap(), "one");
        cache.busy.store(false, Ordering::SeqCst);
        // The next request recomputes, and clears the flag even when the computation fails.
        assert!(
            cache
                .get_or_compute(|| Ok(2), hour, || Err::<axum::body::Bytes, _>("e"))
                .is_err()
        );
        assert!(!cache.busy.load(Ordering::SeqCst));
        let fresh = cache.get_or_compute(|| Ok(2), hour, || Ok::<_, ()>("two".into()));
        assert_eq!(fresh.unwrap(), "two");
        // Too old: recomputed although the version is the same.
        let old = cache.get_or_compute(|| Ok(2), Duration::ZERO, || Ok::<_, ()>("three".into()));
        assert_eq!(old.unwrap(), "three");
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn the_previous_body_is_served_only_while_its_key_is_recomputed() {
        let cache = Cache::default();
        cache.put("k".into(), 1, "old".into());
        assert_eq!(cache.while_computing("k"), None);
        {
            let _computing = cache.computing("k");
            assert_eq!(cache.while_computing("k").unwrap(), "old");
            assert_eq!(cache.while_computing("other"), None);
        }
        assert_eq!(cache.while_computing("k"), None);
    }
}
