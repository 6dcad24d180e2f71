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
