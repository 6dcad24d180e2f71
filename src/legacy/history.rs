//! Reading the earlier tool's SQLite database (original-behavior.md §6): its `tables` rows and
//! its `timestamps` history, opened read-only so the old tool can keep running until the switch.

use crate::state::{ImportedRun, ImportedTable};
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::Path;

/// A database that cannot be read, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct HistoryError {
    pub path: String,
    pub message: String,
}

/// The `timestamps` columns, in order, and the step of duro each one ends.
const STEP_COLUMNS: &[(&str, &str)] = &[
    ("connect", "connect"),
    ("select", "select"),
    ("create_temp", "create_temp"),
    ("process", "process"),
    ("s3", "upload"),
    ("insert", "upload"),
    ("tests", "tests"),
    ("replace_old", "replace"),
    ("make_snapshot", "snapshot"),
];

/// Reads every table and its runs.
pub fn read(path: &Path) -> Result<Vec<ImportedTable>, HistoryError> {
    let fail = |message: String| HistoryError {
        path: path.display().to_string(),
        message,
    };
    if !path.is_file() {
        return Err(fail(
            "no such file: name the earlier duro's database (config.conf's [main] db, ./duro.db by default) with --import-db".into(),
        ));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| fail(format!("cannot be opened: {e}")))?;
    let sql_error = |e: rusqlite::Error| fail(format!("cannot be read: {e}"));
    let has = |table: &str| -> Result<bool, HistoryError> {
        conn.query_row(
            "select count(*) from sqlite_master where type = 'table' and name = ?1",
            [table],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| fail(format!("is not a SQLite database ({e})")))
    };
    if !has("tables")? {
        return Err(fail(
            "has no `tables` table: is it the earlier duro's database (config.conf's [main] db)?"
                .into(),
        ));
    }
    let mut runs = if has("timestamps")? {
        read_runs(&conn).map_err(sql_error)?
    } else {
        HashMap::new()
    };
    let mut stmt = conn
        .prepare(
            "select table_name, query, interval, last_created, mean, times_run, force, deleted
             from tables where table_name is not null order by rowid",
        )
        .map_err(|e| {
            fail(format!(
                "its `tables` table lacks the earlier duro's columns ({e})"
            ))
        })?;
    let rows = stmt
        .query_map([], |r| {
            let name: String = r.get(0)?;
            let deleted: Option<i64> = r.get(7)?;
            Ok(ImportedTable {
                name: name.trim().to_lowercase(),
                query: r.get(1)?,
                interval_minutes: r.get(2)?,
                last_created: r.get(3)?,
                mean_seconds: r.get(4)?,
                times_run: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
                forced: r.get::<_, Option<i64>>(6)? == Some(1),
                // The earlier tool wrote 0 on update (a bug): only a time means removed.
                removed: deleted.is_some_and(|d| d > 0),
                runs: Vec::new(),
            })
        })
        .map_err(sql_error)?;
    let mut tables = Vec::new();
    for row in rows {
        let mut table = row.map_err(sql_error)?;
        table.runs = runs.remove(&table.name).unwrap_or_default();
        tables.push(table);
    }
    Ok(tables)
}

/// Runs by table, oldest first. The 14-column `timestamps` of older versions (no
/// `make_snapshot`) reads too: columns are found by name.
fn read_runs(conn: &Connection) -> rusqlite::Result<HashMap<String, Vec<ImportedRun>>> {
    let mut stmt = conn.prepare("select * from timestamps order by \"start\"")?;
    let names: Vec<String> = stmt
        .column_names()
        .iter()
        .map(|c| c.to_lowercase())
        .collect();
    let index = |name: &str| names.iter().position(|n| n == name);
    let (Some(table_at), Some(start_at)) = (index("table"), index("start")) else {
        return Ok(HashMap::new());
    };
    let finish_at = index("finish");
    let drop_at = index("drop_old");
    let steps: Vec<(usize, &'static str)> = STEP_COLUMNS
        .iter()
        .filter_map(|(column, step)| index(column).map(|i| (i, *step)))
        .collect();
    let mut out: HashMap<String, Vec<ImportedRun>> = HashMap::new();
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (Some(table), Some(start)) = (
            row.get::<_, Option<String>>(table_at)?,
            row.get::<_, Option<i64>>(start_at)?,
        ) else {
            continue;
        };
        let at = |i: Option<usize>| -> rusqlite::Result<Option<i64>> {
            match i {
                Some(i) => row.get::<_, Option<i64>>(i),
                None => Ok(None),
            }
        };
        // The earlier server's rule: finish, else the old table's drop.
        let finish = at(finish_at)?.or(at(drop_at)?);
        let mut run_steps: Vec<(&'static str, i64)> = Vec::new();
        for (i, step) in &steps {
            if let Some(t) = row.get::<_, Option<i64>>(*i)? {
                // `s3` then `insert` are both the load: one step, ending at the later.
                match run_steps.last_mut() {
                    Some(last) if last.0 == *step => last.1 = last.1.max(t),
                    _ => run_steps.push((step, t)),
                }
            }
        }
        out.entry(table.trim().to_lowercase())
            .or_default()
            .push(ImportedRun {
                start,
                finish,
                steps: run_steps,
            });
    }
    Ok(out)
}
