//! `duro schedule` (SPEC §11): analyse the views directory and, only when every check passes,
//! record it in the state database in one transaction. Unchanged views write nothing.

use crate::analysis;
use crate::catalog::{Catalog, CatalogError, TableSpec};
use crate::config::Config;
use crate::diagnostics::Diagnostic;
use crate::gitinfo;
use crate::graph::Graph;
use crate::state::{
    ParseCacheChange, ScheduleChanges, ScheduleProblem, ScheduleRecord, ScheduledTable, StateError,
    Store,
};
use jiff::Timestamp;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a schedule did.
#[derive(Debug)]
pub enum Outcome {
    /// Same content as the last successful schedule: nothing written.
    NothingChanged { last: ScheduleRecord },
    /// Written to state.
    Scheduled {
        changes: ScheduleChanges,
        tables: usize,
        git_commit: Option<String>,
        warnings: Vec<Diagnostic>,
    },
}

/// Why a schedule did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("the views directory has errors; nothing was scheduled")]
    Checks(Vec<Diagnostic>),
    #[error(transparent)]
    State(#[from] StateError),
}

#[derive(Serialize)]
struct DefinitionForHash<'a> {
    interval_minutes: Option<u64>,
    definition: &'a str,
    select: Option<&'a str>,
    script: Option<&'a str>,
    requirements: Option<&'a str>,
    tests: Option<&'a str>,
    config: BTreeMap<String, String>,
}

/// The hash that decides whether a table changed: query, interval, merged config, tests and
/// processor files.
pub fn definition_hash(spec: &TableSpec) -> String {
    let processor = spec.processor.as_ref();
    let canonical = DefinitionForHash {
        interval_minutes: spec.interval.map(|i| i.minutes()),
        definition: &spec.definition.text,
        select: processor.map(|p| p.select.text.as_str()),
        script: processor.map(|p| p.script.text.as_str()),
        requirements: processor.and_then(|p| p.requirements.as_ref().map(|r| r.text.as_str())),
        tests: spec.tests.as_ref().map(|t| t.text.as_str()),
        config: spec.config.to_map(),
    };
    let json = serde_json::to_vec(&canonical).expect("serialisable");
    blake3::hash(&json).to_hex().to_string()
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialisable")
}

/// Turns an analysis into the rows the state stores.
pub fn scheduled_tables(catalog: &Catalog, graph: &Graph) -> Vec<ScheduledTable> {
    // Serialising and hashing each table is independent: spread over the rayon pool, in order.
    catalog
        .tables
        .par_iter()
        .map(|(_, spec)| scheduled_table(spec, graph))
        .collect()
}

fn scheduled_table(spec: &TableSpec, graph: &Graph) -> ScheduledTable {
    let processor = spec.processor.as_ref();
    let mut files = BTreeMap::new();
    files.insert("definition", spec.definition.path.clone());
    if let Some(p) = processor {
        files.insert("select", p.select.path.clone());
        files.insert("script", p.script.path.clone());
        if let Some(r) = &p.requirements {
            files.insert("requirements", r.path.clone());
        }
    }
    if let Some(t) = &spec.tests {
        files.insert("tests", t.path.clone());
    }
    let sources: BTreeMap<&String, String> = spec
        .config
        .values
        .iter()
        .map(|(k, v)| (k, v.source()))
        .collect();
    let node = &graph.nodes[&spec.name];
    let dependencies = node
        .depends_on
        .iter()
        .map(|dep| {
            let waits = !graph.is_broken(&spec.name, dep);
            (dep.to_string(), waits)
        })
        .collect();
    ScheduledTable {
        name: spec.name.to_string(),
        interval_minutes: spec.interval.map(|i| i.minutes()),
        definition: spec.definition.text.clone(),
        select_query: processor.map(|p| p.select.text.clone()),
        script: processor.map(|p| p.script.text.clone()),
        requirements: processor.and_then(|p| p.requirements.as_ref().map(|r| r.text.clone())),
        tests: spec.tests.as_ref().map(|t| t.text.clone()),
        files: to_json(&files),
        config: to_json(&spec.config.to_map()),
        config_sources: to_json(&sources),
        sources: to_json(&node.sources),
        definition_hash: definition_hash(spec),
        dependencies,
    }
}

/// The working data of a schedule (files, analysis, rows, parses), handed to the caller so
/// that it decides when to free it: a `duro schedule` process that is about to exit leaves it to
/// the operating system, which takes it back at once, instead of freeing some ten allocations
/// per view one by one (40 ms at 10,000 views).
#[derive(Default)]
pub struct Leftovers(Vec<Box<dyn std::any::Any + Send>>);

impl Leftovers {
    fn keep<T: Send + 'static>(&mut self, value: T) {
        self.0.push(Box::new(value));
    }
}

/// Runs a schedule at `now`.
pub fn run(config: &Config, store: &mut Store, now: Timestamp) -> Result<Outcome, ScheduleError> {
    run_keeping(config, store, now, &mut Leftovers::default())
}

/// [`run`], moving its working data into `leftovers` instead of freeing it.
///
/// Whatever the outcome, it is recorded as the latest schedule attempt (see
/// [`Store::record_schedule_status`]): a refused directory shows in the UI and `/metrics` until a
/// schedule passes.
pub fn run_keeping(
    config: &Config,
    store: &mut Store,
    now: Timestamp,
    leftovers: &mut Leftovers,
) -> Result<Outcome, ScheduleError> {
    let result = attempt(config, store, now, leftovers);
    let errors: Option<Vec<ScheduleProblem>> = match &result {
        Ok(_) => Some(Vec::new()),
        Err(ScheduleError::Checks(diagnostics)) => Some(
            diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| ScheduleProblem {
                    file: d.file.clone(),
                    line: d.line,
                    table: d.table.clone(),
                    message: d.message.clone(),
                })
                .collect(),
        ),
        Err(ScheduleError::Catalog(e)) => Some(vec![ScheduleProblem {
            file: None,
            line: None,
            table: None,
            message: e.to_string(),
        }]),
        // The state database itself failed: there is nowhere to record it.
        Err(ScheduleError::State(_)) => None,
    };
    if let Some(errors) = errors
        && let Err(e) = store.record_schedule_status(&errors, now)
    {
        tracing::warn!("recording the schedule's outcome failed: {e}");
    }
    result
}

fn attempt(
    config: &Config,
    store: &mut Store,
    now: Timestamp,
    leftovers: &mut Leftovers,
) -> Result<Outcome, ScheduleError> {
    let started = std::time::Instant::now();
    let tree = crate::catalog::read_tree(&config.views)?;
    let content_hash = tree.content_hash(&analysis::settings_salt(config));
    tracing::debug!(files = tree.files.len(), elapsed = ?started.elapsed(), "read and hashed");
    if let Some(last) = store.last_schedule()?
        && last.content_hash == content_hash
    {
        return Ok(Outcome::NothingChanged { last });
    }
    let cache = store.parse_cache()?;
    let (unchecked, parsed) = analysis::prepare_tree_with(&tree, config, &cache);
    let cache_change = ParseCacheChange::between(&cache, &parsed);
    let git_commit = gitinfo::head_commit(&config.views);
    // The checks only read the analysis: they run while the rows are made and written in a
    // transaction that is committed only if they pass (and rolled back otherwise).
    let (checks, staged) = rayon::join(
        || unchecked.checks(config),
        || {
            let tables = scheduled_tables(&unchecked.catalog, &unchecked.graph);
            let staged = store.stage_schedule(
                &tables,
                &content_hash,
                git_commit.as_deref(),
                now,
                &cache_change,
            );
            (tables, staged)
        },
    );
    let mut analysis = unchecked.finish(checks);
    tracing::debug!(elapsed = ?started.elapsed(), "checked and staged");
    let (tables, staged) = staged;
    if analysis.has_errors() {
        drop(staged);
        return Err(ScheduleError::Checks(std::mem::take(
            &mut analysis.diagnostics,
        )));
    }
    let changes = staged?.commit()?;
    tracing::debug!(elapsed = ?started.elapsed(), "written");
    let warnings = std::mem::take(&mut analysis.diagnostics);
    let table_count = tables.len();
    leftovers.keep((tree, analysis, parsed, cache, tables, cache_change));
    Ok(Outcome::Scheduled {
        changes,
        tables: table_count,
        git_commit,
        warnings,
    })
}
