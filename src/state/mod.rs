//! The state database (SPEC §10): SQLite in WAL mode, shared by the scheduler, the creator and the
//! web UI, possibly in separate processes. Times are stored as UTC milliseconds.

mod imports;
mod migrations;
mod notifications;
mod parse_cache;
mod runs;
mod schedule_status;
mod stats;

pub use imports::{ImportReport, ImportedRun, ImportedTable};
pub use parse_cache::ParseCacheChange;
pub use runs::{Outcome, RunEnd, RunRecord, Step, TestFailure};
pub use schedule_status::{ScheduleProblem, ScheduleStatus};
pub use stats::WindowStats;

use crate::ident::TableName;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the state database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "state file {path} was written by a newer duro (schema version {found}, this duro knows {known}): upgrade duro"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("state file {path} cannot be used: {message}")]
    Open { path: PathBuf, message: String },
    #[error("state database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Milliseconds since the epoch, as stored.
pub fn to_millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn from_millis(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A table as the scheduler writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduledTable {
    pub name: String,
    pub interval_minutes: Option<u64>,
    pub definition: String,
    pub select_query: Option<String>,
    pub script: Option<String>,
    pub requirements: Option<String>,
    pub tests: Option<String>,
    /// JSON object: role → path relative to the views directory.
    pub files: String,
    /// JSON object: key → value.
    pub config: String,
    /// JSON object: key → `file:line`.
    pub config_sources: String,
    /// JSON list of source relations.
    pub sources: String,
    pub definition_hash: String,
    /// (dependency, waits): waits is false for an edge broken to allow a cycle.
    pub dependencies: Vec<(String, bool)>,
}

/// A table as stored, with its statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRow {
    pub name: String,
    pub interval_minutes: Option<u64>,
    pub definition: String,
    pub select_query: Option<String>,
    pub script: Option<String>,
    pub requirements: Option<String>,
    pub tests: Option<String>,
    pub files: String,
    pub config: String,
    pub config_sources: String,
    pub sources: String,
    pub definition_hash: String,
    pub force: bool,
    pub removed_at: Option<i64>,
    pub added_at: i64,
    pub changed_at: i64,
    pub last_built: Option<i64>,
    pub mean_seconds: Option<f64>,
    pub run_count: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    /// The latest finished run: outcome, error and finish time.
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    pub last_finished: Option<i64>,
    /// Failed runs in a row since the last success, force or changed definition (the retry
    /// backoff's exponent), and when the latest of them ended.
    pub failures: u32,
    pub failed_at: Option<i64>,
}

/// One successful schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleRecord {
    pub id: i64,
    pub at: i64,
    pub content_hash: String,
    pub git_commit: Option<String>,
}

/// What a schedule changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScheduleChanges {
    pub new: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
}

/// An open state database.
pub struct Store {
    conn: Connection,
}

/// A schedule written in an open transaction, not yet committed (see [`Store::stage_schedule`]).
/// Dropped without [`StagedSchedule::commit`], it is rolled back: nothing of it remains.
pub struct StagedSchedule<'a> {
    store: &'a mut Store,
    changes: ScheduleChanges,
}

impl StagedSchedule<'_> {
    /// Commits the schedule; returns what it changed.
    pub fn commit(mut self) -> Result<ScheduleChanges, StateError> {
        self.store.conn.execute_batch("commit")?;
        Ok(std::mem::take(&mut self.changes))
    }
}

impl Drop for StagedSchedule<'_> {
    fn drop(&mut self) {
        let conn = &self.store.conn;
        // A transaction still open here (never committed, or its commit failed) is undone.
        if !conn.is_autocommit() {
            if let Err(e) = conn.execute_batch("rollback") {
                tracing::warn!("rolling back a schedule that did not stand failed: {e}");
            }
        }
        for (pragma, value) in [("foreign_keys", 1), ("cache_size", DEFAULT_CACHE_KIB)] {
            if let Err(e) = conn.pragma_update(None, pragma, value) {
                tracing::warn!("restoring {pragma} after a schedule failed: {e}");
            }
        }
    }
}

/// The page size of a new state database.
const PAGE_SIZE: i64 = 16384;

/// SQLite's default page cache (negative: KiB), and the one a schedule's write uses.
const DEFAULT_CACHE_KIB: i64 = -2000;
const BULK_CACHE_KIB: i64 = -65536;

const TABLE_COLUMNS: &str = "name, interval_minutes, definition, select_query, script, requirements, tests, files, config, config_sources, sources, definition_hash, force, removed_at, added_at, changed_at, last_built, mean_seconds, run_count, lease_owner, lease_until, last_outcome, last_error, last_finished, failures, failed_at";

fn table_row(row: &rusqlite::Row) -> rusqlite::Result<TableRow> {
    Ok(TableRow {
        name: row.get(0)?,
        interval_minutes: row.get::<_, Option<i64>>(1)?.map(|m| m as u64),
        definition: row.get(2)?,
        select_query: row.get(3)?,
        script: row.get(4)?,
        requirements: row.get(5)?,
        tests: row.get(6)?,
        files: row.get(7)?,
        config: row.get(8)?,
        config_sources: row.get(9)?,
        sources: row.get(10)?,
        definition_hash: row.get(11)?,
        force: row.get(12)?,
        removed_at: row.get(13)?,
        added_at: row.get(14)?,
        changed_at: row.get(15)?,
        last_built: row.get(16)?,
        mean_seconds: row.get(17)?,
        run_count: row.get(18)?,
        lease_owner: row.get(19)?,
        lease_until: row.get(20)?,
        last_outcome: row.get(21)?,
        last_error: row.get(22)?,
        last_finished: row.get(23)?,
        failures: row.get::<_, i64>(24)?.clamp(0, u32::MAX as i64) as u32,
        failed_at: row.get(25)?,
    })
}

impl Store {
    /// Opens (creating if needed) the state database and runs pending migrations.
    pub fn open(path: &Path) -> Result<Store, StateError> {
        let open_error = |message: String| StateError::Open {
            path: path.to_path_buf(),
            message,
        };
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| open_error(format!("cannot create its folder: {e}")))?;
        }
        let conn = Connection::open(path).map_err(|e| open_error(e.to_string()))?;
        conn.busy_timeout(Duration::from_secs(30))?;
        let describe = |e: rusqlite::Error| {
            open_error(format!(
                "{e} (is it a duro state database? move it away to start afresh)"
            ))
        };
        // A new state file gets 16 KiB pages (an existing one keeps its own: SQLite fixes the
        // size when the first table is made). A schedule writes every table's row at once,
        // and larger pages make that write and its checkpoint a quarter of the system calls
        // and B-tree pages: 30 ms less of a fresh 10,000-view schedule (BENCHMARKS.md).
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(describe)?;
        conn.pragma_update(None, "journal_mode", "wal")
            .map_err(describe)?;
        conn.pragma_update(None, "synchronous", "normal")?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        let mut store = Store { conn };
        store.migrate(path)?;
        Ok(store)
    }

    /// An in-memory database, for tests.
    pub fn in_memory() -> Result<Store, StateError> {
        let conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        let mut store = Store { conn };
        store.migrate(Path::new(":memory:"))?;
        Ok(store)
    }

    fn migrate(&mut self, path: &Path) -> Result<(), StateError> {
        let known = migrations::MIGRATIONS.len() as i64;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > known {
            return Err(StateError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known,
            });
        }
        for migration in &migrations::MIGRATIONS[version as usize..] {
            tx.execute_batch(migration)?;
        }
        tx.pragma_update(None, "user_version", known)?;
        tx.commit()?;
        Ok(())
    }

    /// The underlying connection, for modules that own their own queries.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn last_schedule(&self) -> Result<Option<ScheduleRecord>, StateError> {
        Ok(self
            .conn
            .query_row(
                "select id, at, content_hash, git_commit from schedules order by id desc limit 1",
                [],
                |r| {
                    Ok(ScheduleRecord {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        content_hash: r.get(2)?,
                        git_commit: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Writes a schedule in one transaction: new and changed tables forced, vanished tables
    /// marked removed, a removed table that comes back treated as new.
    pub fn apply_schedule(
        &mut self,
        tables: &[ScheduledTable],
        content_hash: &str,
        git_commit: Option<&str>,
        now: Timestamp,
    ) -> Result<ScheduleChanges, StateError> {
        let unchanged = ParseCacheChange::default();
        self.stage_schedule(tables, content_hash, git_commit, now, &unchanged)?
            .commit()
    }

    /// Writes a schedule without committing it: the caller commits the [`StagedSchedule`] once
    /// it knows the schedule stands (its checks run meanwhile), or drops it to roll it back.
    pub fn stage_schedule(
        &mut self,
        tables: &[ScheduledTable],
        content_hash: &str,
        git_commit: Option<&str>,
        now: Timestamp,
        parse_cache: &ParseCacheChange,
    ) -> Result<StagedSchedule<'_>, StateError> {
        // A schedule of a large directory writes thousands of rows at once. Foreign keys are
        // off for it (the rows below insert dependencies only of tables written just before
        // them, and delete them with their table: checking every row costs a third of the
        // write), and a larger page cache keeps the transaction's pages out of the WAL until
        // the commit. Both are restored when the staged schedule ends, whatever the outcome.
        self.conn.pragma_update(None, "foreign_keys", "off")?;
        let mut staged = StagedSchedule {
            store: self,
            changes: ScheduleChanges::default(),
        };
        staged
            .store
            .conn
            .pragma_update(None, "cache_size", BULK_CACHE_KIB)?;
        staged.store.conn.execute_batch("begin immediate")?;
        staged.changes =
            staged
                .store
                .write_schedule_rows(tables, content_hash, git_commit, now, parse_cache)?;
        Ok(staged)
    }

    fn write_schedule_rows(
        &mut self,
        tables: &[ScheduledTable],
        content_hash: &str,
        git_commit: Option<&str>,
        now: Timestamp,
        parse_cache: &ParseCacheChange,
    ) -> Result<ScheduleChanges, StateError> {
        let now = to_millis(now);
        let tx = &self.conn;
        parse_cache.write(tx)?;
        struct Existing {
            hash: String,
            removed: bool,
            meta: (String, String, String),
        }
        let mut existing: HashMap<String, Existing> = HashMap::new();
        {
            let mut stmt = tx.prepare(
                "select name, definition_hash, removed_at is not null, files, config_sources, sources from tables",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Existing {
                        hash: r.get(1)?,
                        removed: r.get(2)?,
                        meta: (r.get(3)?, r.get(4)?, r.get(5)?),
                    },
                ))
            })?;
            for row in rows {
                let (name, e) = row?;
                existing.insert(name, e);
            }
        }
        let mut stored_deps: HashMap<String, BTreeSet<(String, bool)>> = HashMap::new();
        {
            let mut stmt = tx.prepare("select table_name, depends_on, waits from dependencies")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })?;
            for row in rows {
                let (t, d, w) = row?;
                stored_deps.entry(t).or_default().insert((d, w));
            }
        }

        let mut changes = ScheduleChanges::default();
        {
            let mut insert = tx.prepare(
                "insert into tables (name, interval_minutes, definition, select_query, script, requirements, tests, files, config, config_sources, sources, definition_hash, force, added_at, changed_at)
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?13)",
            )?;
            let mut update = tx.prepare(
                "update tables set interval_minutes = ?2, definition = ?3, select_query = ?4, script = ?5, requirements = ?6, tests = ?7, files = ?8, config = ?9, config_sources = ?10, sources = ?11, definition_hash = ?12, force = ?13, removed_at = null, changed_at = ?13,
                     failures = 0, failed_at = null
                 where name = ?1",
            )?;
            let mut update_meta = tx.prepare(
                "update tables set files = ?2, config_sources = ?3, sources = ?4 where name = ?1",
            )?;
            let mut delete_deps = tx.prepare("delete from dependencies where table_name = ?1")?;
            let mut insert_dep = tx.prepare(
                "insert into dependencies (table_name, depends_on, waits) values (?1, ?2, ?3)",
            )?;
            for t in tables {
                let values = params![
                    t.name,
                    t.interval_minutes.map(|m| m as i64),
                    t.definition,
                    t.select_query,
                    t.script,
                    t.requirements,
                    t.tests,
                    t.files,
                    t.config,
                    t.config_sources,
                    t.sources,
                    t.definition_hash,
                    now
                ];
                match existing.get(&t.name) {
                    None => {
                        insert.execute(values)?;
                        changes.new.push(t.name.clone());
                    }
                    Some(e) if e.removed => {
                        update.execute(values)?;
                        changes.new.push(t.name.clone());
                    }
                    Some(e) if e.hash != t.definition_hash => {
                        update.execute(values)?;
                        changes.updated.push(t.name.clone());
                    }
                    Some(e) => {
                        if e.meta != (t.files.clone(), t.config_sources.clone(), t.sources.clone())
                        {
                            update_meta.execute(params![
                                t.name,
                                t.files,
                                t.config_sources,
                                t.sources
                            ])?;
                        }
                    }
                }
                let wanted: BTreeSet<(String, bool)> = t.dependencies.iter().cloned().collect();
                let stored = stored_deps.remove(&t.name).unwrap_or_default();
                if wanted != stored {
                    delete_deps.execute([&t.name])?;
                    for (dep, waits) in &wanted {
                        insert_dep.execute(params![t.name, dep, waits])?;
                    }
                }
            }
        }
        let current: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        {
            let mut remove = tx.prepare(
                "update tables set removed_at = ?2, force = 0 where name = ?1 and removed_at is null",
            )?;
            let mut delete_deps = tx.prepare("delete from dependencies where table_name = ?1")?;
            let mut gone: Vec<&String> = existing
                .iter()
                .filter(|(name, e)| !e.removed && !current.contains(name.as_str()))
                .map(|(name, _)| name)
                .collect();
            gone.sort();
            for name in gone {
                remove.execute(params![name, now])?;
                delete_deps.execute([name])?;
                changes.removed.push(name.clone());
            }
        }
        let json = |v: &Vec<String>| serde_json::to_string(v).expect("strings serialise");
        tx.execute(
            "insert into schedules (at, content_hash, git_commit, new_tables, updated_tables, removed_tables) values (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                now,
                content_hash,
                git_commit,
                json(&changes.new),
                json(&changes.updated),
                json(&changes.removed)
            ],
        )?;
        Ok(changes)
    }

    /// Every table, removed ones included, by name.
    pub fn tables(&self) -> Result<Vec<TableRow>, StateError> {
        let mut stmt = self
            .conn
            .prepare(&format!("select {TABLE_COLUMNS} from tables order by name"))?;
        let rows = stmt.query_map([], table_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn table(&self, name: &str) -> Result<Option<TableRow>, StateError> {
        Ok(self
            .conn
            .query_row(
                &format!("select {TABLE_COLUMNS} from tables where name = ?1"),
                [name],
                table_row,
            )
            .optional()?)
    }

    /// All dependency edges: (table, dependency, waits).
    pub fn dependencies(&self) -> Result<Vec<(String, String, bool)>, StateError> {
        let mut stmt = self.conn.prepare(
            "select table_name, depends_on, waits from dependencies order by table_name, depends_on",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The tables `table` reads and the tables that read it, by name.
    pub fn neighbours(&self, table: &str) -> Result<(Vec<String>, Vec<String>), StateError> {
        let list = |sql: &str| -> Result<Vec<String>, StateError> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows = stmt.query_map([table], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        Ok((
            list("select depends_on from dependencies where table_name = ?1 order by 1")?,
            list("select table_name from dependencies where depends_on = ?1 order by 1")?,
        ))
    }

    /// Marks tables for rebuilding at `now`, and ends their failure streaks (a forced table is
    /// due at once, whatever its retry wait). A run that started before `now` does not clear
    /// the mark. Returns how many active tables were marked.
    pub fn force(&mut self, names: &[String], now: Timestamp) -> Result<usize, StateError> {
        let tx = self.conn.transaction()?;
        let mut count = 0;
        {
            let mut stmt = tx.prepare(
                "update tables set force = max(?2, 1), failures = 0, failed_at = null
                 where name = ?1 and removed_at is null",
            )?;
            for name in names {
                count += stmt.execute(params![name, to_millis(now)])?;
            }
        }
        tx.commit()?;
        Ok(count)
    }
}

/// Parses a `schema.table` argument the way table names are stored.
pub fn normalise_table_arg(arg: &str, default_schema: &str) -> Option<String> {
    let qualified = if arg.contains('.') {
        arg.to_string()
    } else {
        format!("{default_schema}.{arg}")
    };
    TableName::parse(&qualified).ok().map(|t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scheduled table for tests (also used by `runs`' tests).
    pub(super) fn table(name: &str, hash: &str, deps: &[&str]) -> ScheduledTable {
        ScheduledTable {
            name: name.into(),
            interval_minutes: Some(60),
            definition: "select 1".into(),
            select_query: None,
            script: None,
            requirements: None,
            tests: None,
            files: "{}".into(),
            config: "{}".into(),
            config_sources: "{}".into(),
            sources: "[]".into(),
            definition_hash: hash.into(),
            dependencies: deps.iter().map(|d| (d.to_string(), true)).collect(),
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    #[test]
    fn schedule_lifecycle() {
        let mut store = Store::in_memory().unwrap();
        let changes = store
            .apply_schedule(
                &[table("s.a", "1", &[]), table("s.b", "1", &["s.a"])],
                "h1",
                None,
                at(0),
            )
            .unwrap();
        assert_eq!(changes.new, ["s.a", "s.b"]);
        assert!(store.tables().unwrap().iter().all(|t| t.force));
        store
            .connection()
            .execute("update tables set force = 0", [])
            .unwrap();

        let changes = store
            .apply_schedule(
                &[table("s.a", "2", &[]), table("s.b", "1", &["s.a"])],
                "h2",
                Some("abc"),
                at(1),
            )
            .unwrap();
        assert_eq!(changes.updated, ["s.a"]);
        assert!(store.table("s.a").unwrap().unwrap().force);
        assert!(!store.table("s.b").unwrap().unwrap().force);

        // s.b disappears: removed, dependencies gone, history kept.
        let changes = store
            .apply_schedule(&[table("s.a", "2", &[])], "h3", None, at(2))
            .unwrap();
        assert_eq!(changes.removed, ["s.b"]);
        assert!(store.table("s.b").unwrap().unwrap().removed_at.is_some());
        assert!(store.dependencies().unwrap().is_empty());

        // ... and comes back unchanged: new again (the original tool kept it deleted forever).
        let changes = store
            .apply_schedule(
                &[table("s.a", "2", &[]), table("s.b", "1", &["s.a"])],
                "h4",
                None,
                at(3),
            )
            .unwrap();
        assert_eq!(changes.new, ["s.b"]);
        let b = store.table("s.b").unwrap().unwrap();
        assert!(b.removed_at.is_none() && b.force);
        assert_eq!(store.dependencies().unwrap().len(), 1);
        assert_eq!(store.last_schedule().unwrap().unwrap().content_hash, "h4");
    }

    #[test]
    fn a_single_table_and_no_tables_work() {
        // The original crashed on one table and removed everything on zero.
        let mut store = Store::in_memory().unwrap();
        store
            .apply_schedule(&[table("s.only", "1", &[])], "h1", None, at(0))
            .unwrap();
        let changes = store.apply_schedule(&[], "h2", None, at(1)).unwrap();
        assert_eq!(changes.removed, ["s.only"]);
    }

    #[test]
    fn a_staged_schedule_commits_or_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("state.db")).unwrap();
        let pragma = |store: &Store, name: &str| -> i64 {
            store
                .conn
                .pragma_query_value(None, name, |r| r.get(0))
                .unwrap()
        };
        let tables = [table("s.a", "1", &[]), table("s.b", "1", &["s.a"])];
        let staged = store
            .stage_schedule(&tables, "h1", None, at(0), &ParseCacheChange::default())
            .unwrap();
        drop(staged);
        assert!(store.tables().unwrap().is_empty());
        assert!(store.last_schedule().unwrap().is_none());
        assert_eq!(pragma(&store, "foreign_keys"), 1);
        assert_eq!(pragma(&store, "cache_size"), DEFAULT_CACHE_KIB);

        let changes = store
            .stage_schedule(&tables, "h1", None, at(0), &ParseCacheChange::default())
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(changes.new, ["s.a", "s.b"]);
        assert_eq!(store.dependencies().unwrap().len(), 1);
        assert_eq!(pragma(&store, "foreign_keys"), 1);
        // Written without foreign key checks, the rows still satisfy every foreign key.
        let violations: i64 = store
            .conn
            .query_row("select count(*) from pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(violations, 0);
    }

    #[test]
    fn new_states_get_large_pages_and_old_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |store: &Store| -> i64 {
            store
                .conn
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .unwrap()
        };
        let fresh = Store::open(&dir.path().join("new.db")).unwrap();
        assert_eq!(page_size(&fresh), PAGE_SIZE);

        // A state made with SQLite's default 4 KiB pages (as before) opens, migrates and takes a
        // schedule on its own page size.
        let old_path = dir.path().join("old.db");
        let conn = Connection::open(&old_path).unwrap();
        conn.pragma_update(None, "page_size", 4096).unwrap();
        conn.pragma_update(None, "journal_mode", "wal").unwrap();
        conn.execute_batch(migrations::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let mut old = Store::open(&old_path).unwrap();
        assert_eq!(page_size(&old), 4096);
        let changes = old
            .apply_schedule(&[table("s.a", "1", &[])], "h1", None, at(0))
            .unwrap();
        assert_eq!(changes.new, ["s.a"]);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            Store::open(&path),
            Err(StateError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        std::fs::write(&path, b"this is not a database at all, just some text padding it out to a page or so........................................................................................").unwrap();
        let err = Store::open(&path).err().expect("refused").to_string();
        assert!(err.contains("state file"), "{err}");
    }
}
