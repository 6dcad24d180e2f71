//! `duro create [--once]` and `duro run TABLE [--tree]`: the creator from the command line, with
//! progress on a terminal and a clean stop on SIGINT/SIGTERM (running transactions rolled back,
//! leases released).

use super::Failure;
use duro::config::Config;
use duro::create::{Creator, RunReport, run_round};
use duro::ident::TableName;
use duro::plan;
use duro::state::Store;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(1, format!("cannot start the runtime: {e}")))
}

pub fn check_warehouse(config: &Config) -> Result<(), Failure> {
    match config.warehouse.kind() {
        Some(kind) if duro::warehouse::dialect_of(kind).is_none() => Err(Failure::new(
            2,
            "this duro was built without the embedded DuckDB warehouse (cargo feature `duckdb`): set warehouse.url (or DURO_WAREHOUSE_URL) to a postgres:// or redshift:// URL, or rebuild with default features",
        )),
        _ => Ok(()),
    }
}

/// Sends `true` on the returned channel at SIGINT or SIGTERM.
pub fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        eprintln!("stopping: cancelling running builds and rolling them back…");
        let _ = tx.send(true);
    });
    rx
}

/// Prints each finished run: a progress bar on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
                )
                .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }

    fn finished(&self, report: &RunReport) {
        let line = describe(report);
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.inc(1);
            }
            None => eprintln!("{line}"),
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn describe(report: &RunReport) -> String {
    if report.busy {
        return format!(
            "busy    {}: {}",
            report.table,
            report.error.as_deref().unwrap_or("")
        );
    }
    match report.outcome {
        Some(_) if report.succeeded() => format!(
            "built   {} in {:.2}s ({} rows)",
            report.table,
            report.seconds,
            report.rows.unwrap_or(0)
        ),
        Some(outcome) => format!(
            "FAILED  {} ({}) after {:.2}s: {}",
            report.table,
            outcome.as_str(),
            report.seconds,
            report.error.as_deref().unwrap_or("")
        ),
        None => format!(
            "skipped {}: {}",
            report.table,
            report.error.as_deref().unwrap_or("")
        ),
    }
}

fn summary(reports: &[RunReport]) -> (usize, usize, usize) {
    let ok = reports.iter().filter(|r| r.succeeded()).count();
    let busy = reports.iter().filter(|r| r.busy).count();
    let failed = reports
        .iter()
        .filter(|r| r.outcome.is_some() && !r.succeeded())
        .count();
    (ok, failed, busy)
}

async fn round(
    creator: Arc<Creator>,
    tables: Vec<TableName>,
    graph: &duro::graph::Graph,
) -> Vec<RunReport> {
    let progress = Progress::new(tables.len());
    let reports = run_round(creator, tables, graph, |r| progress.finished(r)).await;
    progress.done();
    reports
}

pub fn create(
    config: &Config,
    once: bool,
    concurrency: Option<u32>,
    now: Timestamp,
) -> Result<i32, Failure> {
    check_warehouse(config)?;
    let mut config = config.clone();
    if let Some(n) = concurrency {
        if n == 0 {
            return Err(Failure::new(2, "--concurrency must be at least 1"));
        }
        config.creator.concurrency = n;
    }
    let rt = runtime()?;
    rt.block_on(async move {
        let mut store = Store::open(&config.state)?;
        store.close_abandoned_runs(Timestamp::now())?;
        let shutdown = shutdown_signal();
        let creator = Arc::new(Creator::new(&config, store, shutdown.clone()));
        let any_failed = daemon(creator, &config, once.then_some(now), None).await?;
        // The daemon's failures are in the state (and on Slack); stopping it is not one.
        Ok(if any_failed && once { 1 } else { 0 })
    })
}

/// The creator loop: builds what is due, then waits `poll_seconds` (or until `wake`), until
/// shutdown; with `once`, one round planned at that time. Returns whether a run failed.
pub async fn daemon(
    creator: Arc<Creator>,
    config: &Config,
    once: Option<Timestamp>,
    wake: Option<Arc<tokio::sync::Notify>>,
) -> Result<bool, Failure> {
    let shutdown = creator.shutdown.clone();
    let mut any_failed = false;
    loop {
        let (tables, graph) = {
            let store = creator.store.lock().unwrap_or_else(|p| p.into_inner());
            plan::graph_from_state(&store)?
        };
        let now = once.unwrap_or_else(Timestamp::now);
        let poll = Duration::from_secs(config.creator.poll_seconds);
        let planned: Vec<TableName> = plan::plan(&tables, &graph, now, poll)
            .into_iter()
            .map(|p| p.name)
            .collect();
        if planned.is_empty() {
            if once.is_some() {
                println!("Nothing is due.");
            }
        } else {
            let reports = round(creator.clone(), planned, &graph).await;
            let (ok, failed, busy) = summary(&reports);
            any_failed |= failed > 0;
            println!(
                "Built {ok} of {} tables; {failed} failed, {busy} busy.",
                reports.len()
            );
        }
        // An embedded DuckDB file stays open only while building, so that other processes
        // (a DuckDB shell, `duro run`) can open it in between.
        creator.release_connections();
        if once.is_some() || *shutdown.borrow() {
            break;
        }
        let woken = async {
            match &wake {
                Some(wake) => wake.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = woken => {}
            _ = duro::create::stopped(shutdown.clone()) => break,
        }
    }
    Ok(any_failed)
}

pub fn run(config: &Config, table: &str, tree: bool) -> Result<i32, Failure> {
    check_warehouse(config)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let mut store = Store::open(&config.state)?;
        let name = super::commands::resolve_table(config, &store, table)?;
        let row = store.table(&name)?.expect("resolved");
        if row.removed_at.is_some() {
            return Err(Failure::new(2, format!("table {name} was removed from the views directory")));
        }
        let (_, graph) = plan::graph_from_state(&store)?;
        let parsed = TableName::parse(&name).map_err(|e| Failure::new(2, e.to_string()))?;
        let tables = if tree {
            graph.build_order(&graph.tree(&parsed))
        } else {
            vec![parsed]
        };
        let now = Timestamp::now();
        for t in &tables {
            if let Some(holder) = store.lease_holder(&t.to_string(), now)? {
                return Err(Failure::new(
                    1,
                    format!("{t} is being built by another process ({holder}); try again when it finishes"),
                ));
            }
        }
        store.close_abandoned_runs(now)?;
        // Built now whatever their retry wait: their failure streaks start afresh.
        store.clear_failures(&tables.iter().map(|t| t.to_string()).collect::<Vec<_>>())?;
        let shutdown = shutdown_signal();
        let creator = Arc::new(Creator::new(config, store, shutdown));
        let reports = round(creator, tables, &graph).await;
        let (ok, failed, busy) = summary(&reports);
        println!("Built {ok} of {} tables; {failed} failed, {busy} busy.", reports.len());
        Ok(if failed > 0 || busy > 0 { 1 } else { 0 })
    })
}

pub fn serve(config: &Config, bind: Option<&str>) -> Result<i32, Failure> {
    let addr = duro::web::bind_address(config, bind).map_err(|e| Failure::new(2, e.to_string()))?;
    let store = Store::open(&config.state)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let shutdown = shutdown_signal();
        duro::web::serve(
            config,
            store,
            addr,
            |local| println!("duro UI at http://{local}/ (Ctrl-C to stop)"),
            duro::create::stopped(shutdown),
        )
        .await
        .map_err(|e| Failure::new(1, e.to_string()))?;
        Ok(0)
    })
}
