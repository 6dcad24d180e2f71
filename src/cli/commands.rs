//! The commands of issue "foundation": check, graph, schedule, plan, status, force.

use super::output::{self, json};
use super::{Failure, GraphFormat, TextOrJson};
use duro::analysis;
use duro::config::Config;
use duro::diagnostics::Diagnostic;
use duro::ident::TableName;
use duro::interval::Interval;
use duro::listing;
use duro::plan::{self, human_duration};
use duro::schedule::{self, Outcome, ScheduleError};
use duro::state::{Store, from_millis};
use duro::status::{self, rfc3339};
use jiff::Timestamp;
use serde::Serialize;

fn counts(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    (errors, diagnostics.len() - errors)
}

pub(super) fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub fn check(config: &Config, format: TextOrJson) -> Result<i32, Failure> {
    let (_, analysis) = analysis::analyze(config)?;
    let (errors, warnings) = counts(&analysis.diagnostics);
    match format {
        TextOrJson::Json => println!("{}", json(&analysis.diagnostics)),
        TextOrJson::Text => {
            for d in &analysis.diagnostics {
                println!("{}", output::diagnostic_line(d, &config.views));
            }
            println!(
                "{}: {}, {}, {}",
                if errors == 0 { "ok" } else { "failed" },
                plural(analysis.catalog.tables.len(), "table"),
                plural(errors, "error"),
                plural(warnings, "warning")
            );
        }
    }
    Ok(if errors == 0 { 0 } else { 1 })
}

#[derive(Serialize)]
struct GraphJson {
    tables: Vec<GraphTable>,
}

#[derive(Serialize)]
struct GraphTable {
    name: String,
    interval_minutes: Option<u64>,
    depends_on: Vec<String>,
    sources: Vec<String>,
}

fn dot_escape(name: &str) -> String {
    name.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot_id(name: &str) -> String {
    format!("\"{}\"", dot_escape(name))
}

pub fn graph(config: &Config, format: GraphFormat) -> Result<i32, Failure> {
    let (_, analysis) = analysis::analyze(config)?;
    let (errors, _) = counts(&analysis.diagnostics);
    if errors > 0 {
        eprintln!(
            "note: the views directory has {}; run `duro check` for details",
            plural(errors, "error")
        );
    }
    let tables: Vec<GraphTable> = analysis
        .graph
        .nodes
        .iter()
        .map(|(name, node)| GraphTable {
            name: name.to_string(),
            interval_minutes: node.interval.map(|i| i.minutes()),
            depends_on: node.depends_on.iter().map(|t| t.to_string()).collect(),
            sources: node.sources.iter().cloned().collect(),
        })
        .collect();
    match format {
        GraphFormat::Json => println!("{}", json(&GraphJson { tables })),
        GraphFormat::Dot => {
            println!("digraph duro {{\n  rankdir=LR;\n  node [shape=box];");
            for t in &tables {
                let label = match t.interval_minutes.and_then(Interval::from_minutes) {
                    Some(i) => format!("{}\\n{i}", dot_escape(&t.name)),
                    None => dot_escape(&t.name),
                };
                println!("  {} [label=\"{label}\"];", dot_id(&t.name));
            }
            let mut sources: Vec<&String> = tables.iter().flat_map(|t| &t.sources).collect();
            sources.sort();
            sources.dedup();
            for s in sources {
                println!("  {} [shape=ellipse, style=dashed];", dot_id(s));
            }
            for t in &tables {
                for dep in t.depends_on.iter().chain(&t.sources) {
                    println!("  {} -> {};", dot_id(&t.name), dot_id(dep));
                }
            }
            println!("}}");
        }
        GraphFormat::Text => {
            for t in &tables {
                let interval = t
                    .interval_minutes
                    .and_then(Interval::from_minutes)
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "inherits".into());
                println!("{} ({interval})", t.name);
                for dep in &t.depends_on {
                    println!("  <- {dep}");
                }
                for source in &t.sources {
                    println!("  <- {source} (source)");
                }
            }
        }
    }
    Ok(0)
}

pub fn schedule(config: &Config, now: Timestamp) -> Result<i32, Failure> {
    let mut store = Store::open(&config.state)?;
    let mut leftovers = schedule::Leftovers::default();
    let result = schedule::run_keeping(config, &mut store, now, &mut leftovers);
    // The process ends right after: the OS takes the schedule's working data back faster.
    std::mem::forget(leftovers);
    duro::slack::after_schedule(&config.slack, &mut store, &result, now);
    match result {
        Ok(Outcome::NothingChanged { last }) => {
            let commit = last
                .git_commit
                .map(|c| format!(", commit {}", &c[..c.len().min(12)]))
                .unwrap_or_default();
            println!(
                "Nothing changed since the last schedule ({}{commit}); nothing written.",
                rfc3339(last.at)
            );
            Ok(0)
        }
        Ok(Outcome::Scheduled {
            changes,
            tables,
            git_commit,
            warnings,
        }) => {
            output::print_diagnostics(&warnings, &config.views);
            let commit = git_commit
                .map(|c| format!(" for commit {}", &c[..c.len().min(12)]))
                .unwrap_or_default();
            let mut message = format!("Scheduled {}{commit}.", plural(tables, "table"));
            for (label, list) in [
                ("New tables", &changes.new),
                ("Updated tables", &changes.updated),
                ("Removed tables", &changes.removed),
            ] {
                if !list.is_empty() {
                    message.push_str(&format!(" {}.", listing::labelled(label, list)));
                }
            }
            println!("{message}");
            Ok(0)
        }
        Err(ScheduleError::Checks(diagnostics)) => {
            output::print_diagnostics(&diagnostics, &config.views);
            let (errors, _) = counts(&diagnostics);
            Err(Failure::new(
                1,
                format!(
                    "{}; nothing was scheduled and the state is unchanged",
                    plural(errors, "error")
                ),
            ))
        }
        Err(ScheduleError::Catalog(e)) => Err(e.into()),
        Err(ScheduleError::State(e)) => Err(e.into()),
    }
}

/// One entry of `plan --format json`; `retry_at` only for a table waiting after failures.
#[derive(Serialize)]
struct PlanJson<'a> {
    name: String,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at: Option<String>,
}

pub fn plan(config: &Config, format: TextOrJson, now: Timestamp) -> Result<i32, Failure> {
    let store = Store::open(&config.state)?;
    let (tables, graph) = plan::graph_from_state(&store)?;
    let poll = std::time::Duration::from_secs(config.creator.poll_seconds);
    let planned = plan::plan_with_waits(&tables, &graph, now, poll);
    match format {
        TextOrJson::Json => {
            // What is built now, in build order, then what waits after failed runs.
            let entries: Vec<PlanJson> = planned
                .due
                .iter()
                .chain(&planned.waiting)
                .map(|p| PlanJson {
                    name: p.name.to_string(),
                    reason: &p.reason,
                    retry_at: p.retry_at.map(|t| rfc3339(duro::state::to_millis(t))),
                })
                .collect();
            println!("{}", json(&entries));
        }
        TextOrJson::Text => {
            if tables.is_empty() {
                println!("No tables scheduled: run `duro schedule` first.");
            } else if planned.due.is_empty() {
                println!("Nothing is due.");
            }
            for (i, p) in planned.due.iter().enumerate() {
                println!("{:>4}. {}: {}", i + 1, p.name, p.reason);
            }
            if !planned.waiting.is_empty() {
                println!(
                    "Waiting after failed runs (`duro force TABLE` builds one at the next poll):"
                );
            }
            for p in &planned.waiting {
                println!("   -  {}: {}", p.name, p.reason);
            }
        }
    }
    Ok(0)
}

pub fn resolve_table(config: &Config, store: &Store, arg: &str) -> Result<String, Failure> {
    let unknown = || {
        Failure::new(
            2,
            format!(
                "unknown table {arg:?}: `duro status` lists the scheduled tables (run `duro schedule` after adding files)"
            ),
        )
    };
    let name = duro::state::normalise_table_arg(arg, &config.scheduler.default_schema)
        .ok_or_else(unknown)?;
    store.table(&name)?.map(|row| row.name).ok_or_else(unknown)
}

#[derive(Serialize)]
struct RunJson {
    id: i64,
    started_at: String,
    finished_at: Option<String>,
    outcome: Option<String>,
    error: Option<String>,
    failed_tests: serde_json::Value,
    /// Each failed test statement with its SQL and failing values (absent when none failed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    test_failures: Vec<duro::state::TestFailure>,
    rows: Option<i64>,
    steps: serde_json::Value,
    failed_step: Option<String>,
}

#[derive(Serialize)]
struct TableDetail {
    #[serde(flatten)]
    status: status::TableStatus,
    force: bool,
    depends_on: Vec<String>,
    dependents: Vec<String>,
    sources: serde_json::Value,
    config: serde_json::Value,
    runs: Vec<RunJson>,
}

fn table_runs(store: &Store, name: &str) -> Result<Vec<RunJson>, Failure> {
    Ok(store
        .runs_of(name, 50)?
        .into_iter()
        .map(|r| RunJson {
            id: r.id,
            started_at: rfc3339(r.started_at),
            finished_at: r.finished_at.map(rfc3339),
            outcome: r.outcome,
            error: r.error,
            failed_tests: if r.failed_tests.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::json!(r.failed_tests)
            },
            test_failures: r.test_failures,
            rows: r.rows,
            steps: r
                .steps
                .into_iter()
                .map(|(step, at)| serde_json::json!({ "step": step, "at": at }))
                .collect(),
            failed_step: r.failed_step,
        })
        .collect())
}

pub fn status(
    config: &Config,
    table: Option<String>,
    format: TextOrJson,
    now: Timestamp,
) -> Result<i32, Failure> {
    let store = Store::open(&config.state)?;
    let all = status::statuses(&store, now)?;
    let Some(arg) = table else {
        match format {
            TextOrJson::Json => println!("{}", json(&all)),
            TextOrJson::Text => print_status_table(&all, now),
        }
        return Ok(0);
    };
    let name = resolve_table(config, &store, &arg)?;
    let row = store.table(&name)?.expect("resolved");
    let status = all
        .into_iter()
        .find(|s| s.name == name)
        .expect("every table has a status");
    let (depends_on, dependents) = store.neighbours(&name)?;
    let detail = TableDetail {
        force: row.force,
        depends_on,
        dependents,
        sources: serde_json::from_str(&row.sources).unwrap_or_default(),
        config: serde_json::from_str(&row.config).unwrap_or_default(),
        runs: table_runs(&store, &name)?,
        status,
    };
    match format {
        TextOrJson::Json => println!("{}", json(&detail)),
        TextOrJson::Text => {
            let s = &detail.status;
            println!("{}", s.name);
            println!(
                "  state:      {}{}",
                s.state.as_str(),
                if detail.force { " (forced)" } else { "" }
            );
            println!("  interval:   {}", interval_text(s.interval_minutes));
            println!("  last built: {}", last_built_text(&row.last_built, now));
            println!("  mean:       {}", mean_text(s.mean_seconds));
            println!("  runs:       {}", row.run_count);
            if let Some(e) = &s.last_error {
                println!("  last error: {e}");
            }
            println!("  depends on: {}", list_text(&detail.depends_on));
            println!("  dependents: {}", list_text(&detail.dependents));
            if detail.runs.is_empty() {
                println!("  no runs yet");
            }
            for run in &detail.runs {
                println!(
                    "  run {} {} {} {}",
                    run.id,
                    run.started_at,
                    run.outcome.as_deref().unwrap_or("running"),
                    run.error.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok(0)
}

fn list_text(list: &[String]) -> String {
    if list.is_empty() {
        "-".into()
    } else {
        list.join(", ")
    }
}

fn interval_text(minutes: Option<u64>) -> String {
    minutes
        .and_then(Interval::from_minutes)
        .map(|i| i.to_string())
        .unwrap_or_else(|| "inherited".into())
}

fn last_built_text(ms: &Option<i64>, now: Timestamp) -> String {
    match ms {
        Some(ms) => format!(
            "{} ago",
            human_duration(now.as_second() - from_millis(*ms).as_second())
        ),
        None => "never".into(),
    }
}

fn mean_text(seconds: Option<f64>) -> String {
    seconds
        .map(|s| {
            if s < 60.0 {
                format!("{s:.1}s")
            } else {
                human_duration(s.round() as i64)
            }
        })
        .unwrap_or_else(|| "-".into())
}

fn print_status_table(all: &[status::TableStatus], now: Timestamp) {
    if all.is_empty() {
        println!("No tables scheduled: run `duro schedule` first.");
        return;
    }
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(4).max(5);
    println!(
        "{:<width$}  {:>9}  {:>12}  {:>8}  STATE",
        "TABLE", "INTERVAL", "LAST BUILT", "MEAN"
    );
    for s in all {
        let built = s
            .last_built
            .as_ref()
            .and_then(|t| t.parse::<Timestamp>().ok())
            .map(|t| format!("{} ago", human_duration(now.as_second() - t.as_second())))
            .unwrap_or_else(|| "never".into());
        let mut state = s.state.as_str().to_string();
        if s.force && s.state != status::TableState::Removed {
            state.push_str(", forced");
        }
        if let Some(e) = &s.last_error {
            let first = e.lines().next().unwrap_or_default();
            state.push_str(&format!(": {}", first.chars().take(80).collect::<String>()));
        }
        println!(
            "{:<width$}  {:>9}  {:>12}  {:>8}  {state}",
            s.name,
            interval_text(s.interval_minutes),
            built,
            mean_text(s.mean_seconds)
        );
    }
}

pub fn force(config: &Config, table: &str, tree: bool) -> Result<i32, Failure> {
    let mut store = Store::open(&config.state)?;
    let name = resolve_table(config, &store, table)?;
    let row = store.table(&name)?.expect("resolved");
    if row.removed_at.is_some() {
        return Err(Failure::new(
            2,
            format!("table {name} was removed from the views directory; nothing to force"),
        ));
    }
    let names: Vec<String> = if tree {
        let (_, graph) = plan::graph_from_state(&store)?;
        let parsed = TableName::parse(&name).map_err(|e| Failure::new(2, e.to_string()))?;
        graph
            .tree(&parsed)
            .into_iter()
            .map(|t| t.to_string())
            .collect()
    } else {
        vec![name.clone()]
    };
    let count = store.force(&names, jiff::Timestamp::now())?;
    if tree {
        println!(
            "Forced {} (the tree of {name}): {}.",
            plural(count, "table"),
            listing::names(&names)
        );
    } else {
        println!("Forced {name}.");
    }
    Ok(0)
}
