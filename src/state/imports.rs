//! History brought over from the earlier Python tool (`duro migrate --state`): per table its last
//! build, mean duration and run count, and its runs. Each table is imported once (the `imports`
//! table remembers it), so a second import changes nothing.

use super::{StateError, Store, to_millis};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

/// One table as the earlier tool recorded it (epoch seconds, as it stored them).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedTable {
    pub name: String,
    /// Its query as the earlier tool normalised it (each line trimmed), to tell whether the
    /// views directory changed it since.
    pub query: Option<String>,
    pub interval_minutes: Option<i64>,
    pub last_created: Option<i64>,
    pub mean_seconds: Option<f64>,
    pub times_run: i64,
    pub forced: bool,
    pub removed: bool,
    pub runs: Vec<ImportedRun>,
}

/// One row of the earlier tool's `timestamps`: a successful build, or one that never finished.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedRun {
    pub start: i64,
    pub finish: Option<i64>,
    /// (duro's step name, epoch seconds), in order.
    pub steps: Vec<(&'static str, i64)>,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub tables: Vec<String>,
    pub runs: usize,
    /// Imported, but left forced: the earlier tool would rebuild them now too (forced there,
    /// never built, or changed since its last schedule).
    pub forced: Vec<String>,
    /// Tables of the old database that are not (or no longer) in the views directory.
    pub not_in_views: Vec<String>,
    /// Tables imported before.
    pub already: Vec<String>,
}

/// The earlier tool's normalisation of a query (each line trimmed, no trailing `;`), applied to
/// both sides so that formatting alone never counts as a change.
fn comparable(query: &str) -> String {
    query
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .trim_end_matches(';')
        .trim()
        .to_string()
}

const OWNER: &str = "import";

/// What duro's state holds for an imported table.
struct Scheduled {
    interval: Option<i64>,
    /// The select (a processor's) or the query, as the earlier tool kept it.
    query: String,
    built_by_duro: bool,
}

impl Store {
    /// Imports the earlier tool's tables (those the views directory still defines and that were
    /// not imported before) in one transaction. A table duro has built since keeps its own
    /// statistics; the imported runs are added to its history either way.
    pub fn import_history(
        &mut self,
        source: &str,
        tables: &[ImportedTable],
        now: Timestamp,
    ) -> Result<ImportReport, StateError> {
        let tx = self.conn.transaction()?;
        let mut report = ImportReport::default();
        for table in tables {
            let current = tx
                .query_row(
                    "select interval_minutes, definition, select_query, run_count, last_built
                     from tables where name = ?1 and removed_at is null",
                    [&table.name],
                    |r| {
                        Ok(Scheduled {
                            interval: r.get(0)?,
                            query: r.get::<_, Option<String>>(2)?.unwrap_or(r.get(1)?),
                            built_by_duro: r.get::<_, i64>(3)? > 0
                                || r.get::<_, Option<i64>>(4)?.is_some(),
                        })
                    },
                )
                .optional()?;
            let Some(scheduled) = current else {
                report.not_in_views.push(table.name.clone());
                continue;
            };
            if table.removed {
                report.not_in_views.push(table.name.clone());
                continue;
            }
            let done: Option<i64> = tx
                .query_row(
                    "select 1 from imports where table_name = ?1",
                    [&table.name],
                    |r| r.get(0),
                )
                .optional()?;
            if done.is_some() {
                report.already.push(table.name.clone());
                continue;
            }
            let changed = table
                .query
                .as_deref()
                .is_some_and(|q| comparable(q) != comparable(&scheduled.query))
                || table.interval_minutes != scheduled.interval;
            let forced = table.forced || changed || table.last_created.is_none();
            if !scheduled.built_by_duro {
                let last_finished = table
                    .runs
                    .iter()
                    .filter_map(|r| r.finish)
                    .max()
                    .or(table.last_created);
                tx.execute(
                    "update tables set last_built = ?2, mean_seconds = ?3, run_count = ?4,
                        last_outcome = case when ?2 is null then last_outcome else 'success' end,
                        last_finished = coalesce(?5, last_finished),
                        force = case when ?6 then force else 0 end
                     where name = ?1",
                    params![
                        table.name,
                        table.last_created.map(|s| s * 1000),
                        table.mean_seconds.filter(|_| table.times_run > 0),
                        table.times_run,
                        last_finished.map(|s| s * 1000),
                        forced
                    ],
                )?;
            }
            if forced {
                report.forced.push(table.name.clone());
            }
            for run in &table.runs {
                let steps: Vec<serde_json::Value> = run
                    .steps
                    .iter()
                    .map(|(step, at)| serde_json::json!({"step": step, "at": at * 1000}))
                    .collect();
                let (outcome, error) = match run.finish {
                    Some(_) => ("success", None),
                    None => (
                        "cancelled",
                        Some(
                            "imported from the earlier duro, which recorded no finish for this run",
                        ),
                    ),
                };
                tx.execute(
                    "insert into runs (table_name, started_at, finished_at, outcome, error, steps, owner)
                     values (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        table.name,
                        run.start * 1000,
                        run.finish.unwrap_or(run.start) * 1000,
                        outcome,
                        error,
                        serde_json::Value::Array(steps).to_string(),
                        OWNER
                    ],
                )?;
                super::runs::count_run(&tx, &table.name, outcome)?;
                report.runs += 1;
            }
            tx.execute(
                "insert into imports (table_name, source, at) values (?1, ?2, ?3)",
                params![table.name, source, to_millis(now)],
            )?;
            report.tables.push(table.name.clone());
        }
        tx.commit()?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_is_no_change() {
        assert_eq!(
            comparable("select a,\n   b\nfrom t;"),
            comparable("  select a,\nb\n from t  ")
        );
        assert_ne!(comparable("select a from t"), comparable("select b from t"));
    }
}
