//! The scheduler's cache of parsed queries (by [`Resolver::cache_key`]): a schedule parses only
//! the queries no earlier schedule has parsed. Advisory: an unreadable entry is parsed again.
//!
//! [`Resolver::cache_key`]: crate::lineage::Resolver::cache_key

use super::{StateError, Store};
use crate::lineage::ParsedQuery;
use rayon::prelude::*;
use rusqlite::Connection;
use std::collections::HashMap;

impl Store {
    /// Every parsed query kept by the last schedule.
    pub fn parse_cache(&self) -> Result<HashMap<String, ParsedQuery>, StateError> {
        let mut stmt = self.conn.prepare("select key, parsed from parse_cache")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut cache = HashMap::new();
        for row in rows {
            let (key, parsed) = row?;
            if let Ok(parsed) = serde_json::from_str(&parsed) {
                cache.insert(key, parsed);
            }
        }
        Ok(cache)
    }
}

/// What a schedule changes in the cache so that it keeps exactly the current queries' parses:
/// the entries the cache lacks and the keys no longer used.
#[derive(Debug, Default)]
pub struct ParseCacheChange {
    added: Vec<(String, String)>,
    gone: Vec<String>,
}

impl ParseCacheChange {
    /// The change from `before` (what was read) to `used` (what the schedule needed).
    pub fn between(
        before: &HashMap<String, ParsedQuery>,
        used: &HashMap<String, ParsedQuery>,
    ) -> ParseCacheChange {
        let mut added: Vec<(String, String)> = used
            .par_iter()
            .filter(|(key, _)| !before.contains_key(*key))
            .map(|(key, parsed)| {
                let json = serde_json::to_string(parsed).expect("a parsed query serialises");
                (key.clone(), json)
            })
            .collect();
        let mut gone: Vec<String> = before
            .keys()
            .filter(|key| !used.contains_key(*key))
            .cloned()
            .collect();
        // In key order, rows go to the end of the index instead of splitting pages all over it.
        added.par_sort_unstable();
        gone.sort_unstable();
        ParseCacheChange { added, gone }
    }

    pub(super) fn write(&self, tx: &Connection) -> Result<(), StateError> {
        if !self.added.is_empty() {
            let mut insert =
                tx.prepare("insert or replace into parse_cache (key, parsed) values (?1, ?2)")?;
            for (key, json) in &self.added {
                insert.execute((key, json))?;
            }
        }
        if !self.gone.is_empty() {
            let mut delete = tx.prepare("delete from parse_cache where key = ?1")?;
            for key in &self.gone {
                delete.execute([key])?;
            }
        }
        Ok(())
    }
}
