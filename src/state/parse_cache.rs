//! The scheduler's cache of parsed queries (by [`Resolver::cache_key`]): a schedule parses only
//! the queries no earlier schedule has parsed. Advisory: an unreadable entry is parsed again.
//!
//! [`Resolver::cache_key`]: crate::lineage::Resolver::cache_key

use super::{StateError, Store};
use crate::lineage::ParsedQuery;
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

    /// Keeps exactly `used` (the current queries' parses), writing only what `before` lacks and
    /// deleting what is no longer used.
    pub fn save_parse_cache(
        &mut self,
        before: &HashMap<String, ParsedQuery>,
        used: &HashMap<String, ParsedQuery>,
    ) -> Result<(), StateError> {
        let new: Vec<_> = used
            .iter()
            .filter(|(k, _)| !before.contains_key(*k))
            .collect();
        let gone: Vec<_> = before.keys().filter(|k| !used.contains_key(*k)).collect();
        if new.is_empty() && gone.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut insert =
                tx.prepare("insert or replace into parse_cache (key, parsed) values (?1, ?2)")?;
            for (key, parsed) in new {
                let json = serde_json::to_string(parsed).expect("a parsed query serialises");
                insert.execute((key, json))?;
            }
            let mut delete = tx.prepare("delete from parse_cache where key = ?1")?;
            for key in gone {
                delete.execute([key])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
