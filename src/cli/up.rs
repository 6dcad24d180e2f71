//! `duro up`: one process for production — the scheduler re-runs whenever the views directory
//! changes (debounced), the creator loop builds what is due (woken at once after a schedule that
//! changed something), and the web UI serves; SIGTERM or Ctrl-C stops all three cleanly.

use super::Failure;
use super::creator::{check_warehouse, daemon, runtime, shutdown_signal};
use duro::config::Config;
use duro::create::Creator;
use duro::diagnostics::Diagnostic;
use duro::listing;
use duro::schedule::{Outcome, ScheduleError};
use duro::state::Store;
use jiff::Timestamp;
use notify::Watcher;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};

/// How long the views directory must stay quiet before a change is scheduled: an editor's save
/// or a `git pull` touches many files at once.
const DEBOUNCE: Duration = Duration::from_millis(400);

/// Longest warning line printed by `up` and `demo` (`duro check` prints them whole).
const WARNING_CHARS: usize = 240;

/// The warnings `up` or `demo` last printed, so that a rescan prints them again only when they
/// changed. `None` before the first schedule.
#[derive(Clone, Default)]
pub struct ShownWarnings(Arc<Mutex<Option<Vec<Diagnostic>>>>);

pub fn run(config: &Config, bind: Option<&str>) -> Result<i32, Failure> {
    check_warehouse(config)?;
    let addr = duro::web::bind_address(config, bind).map_err(|e| Failure::new(2, e.to_string()))?;
    let rt = runtime()?;
    rt.block_on(async {
        let shutdown = shutdown_signal();
        serve_all(config, addr, shutdown, ShownWarnings::default()).await
    })
}

/// Schedules now, then runs watcher, creator and web UI until `shutdown`.
pub async fn serve_all(
    config: &Config,
    addr: SocketAddr,
    shutdown: watch::Receiver<bool>,
    shown: ShownWarnings,
) -> Result<i32, Failure> {
    let wake = Arc::new(Notify::new());
    reschedule(config, &shown).await;
    let (changes, mut changed) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(_))
        {
            let _ = changes.send(());
        }
    })
    .map_err(|e| Failure::new(1, format!("cannot watch the views directory: {e}")))?;
    watcher
        .watch(&config.views, notify::RecursiveMode::Recursive)
        .map_err(|e| {
            Failure::new(
                1,
                format!(
                    "cannot watch the views directory {}: {e}",
                    config.views.display()
                ),
            )
        })?;

    let watch_task = {
        let config = config.clone();
        let wake = wake.clone();
        let shutdown = shutdown.clone();
        let shown = shown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    event = changed.recv() => if event.is_none() { break },
                    _ = duro::create::stopped(shutdown.clone()) => break,
                }
                // Wait for the burst of events to end.
                while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, changed.recv()).await {}
                if reschedule(&config, &shown).await {
                    wake.notify_one();
                }
            }
        })
    };

    let mut store = Store::open(&config.state)?;
    store.close_abandoned_runs(Timestamp::now())?;
    let creator = Arc::new(Creator::new(config, store, shutdown.clone()));
    let web_store = Store::open(&config.state)?;
    let web = duro::web::serve(
        config,
        web_store,
        addr,
        |local| println!("duro UI at http://{local}/ (Ctrl-C to stop)"),
        duro::create::stopped(shutdown.clone()),
    );
    let creator_loop = daemon(creator, config, None, Some(wake));
    let (web, built) = tokio::join!(web, creator_loop);
    watch_task.abort();
    drop(watcher);
    web.map_err(|e| Failure::new(1, e.to_string()))?;
    built?;
    Ok(0)
}

/// Runs the scheduler as `duro schedule` would; errors are printed and leave the state as it
/// was. The warnings (queries that do not parse, unknown config keys, …) are printed in short
/// at the first schedule and whenever they change. Returns whether something changed.
pub async fn reschedule(config: &Config, shown: &ShownWarnings) -> bool {
    let config = config.clone();
    let shown = shown.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&config.state).map_err(|e| e.to_string())?;
        let now = Timestamp::now();
        let outcome = duro::schedule::run(&config, &mut store, now);
        duro::slack::after_schedule(&config.slack, &mut store, &outcome, now);
        let mut described = describe(&outcome, &config);
        let mut shown = shown.0.lock().unwrap_or_else(|p| p.into_inner());
        let first = shown.is_none();
        if let Some(warnings) = current_warnings(&outcome, &config, &store, first)
            && shown.as_ref() != Some(&warnings)
        {
            if let Some(text) = describe_warnings(&warnings, &config, first) {
                described.push('\n');
                described.push_str(&text);
            }
            *shown = Some(warnings);
        }
        Ok::<_, String>((matches!(outcome, Ok(Outcome::Scheduled { .. })), described))
    })
    .await;
    match outcome {
        Ok(Ok((changed, described))) => {
            eprintln!("{described}");
            changed
        }
        Ok(Err(e)) => {
            eprintln!("schedule failed: {e}");
            false
        }
        Err(e) => {
            eprintln!("schedule failed: {e}");
            false
        }
    }
}

/// The warnings of the views directory as this schedule found them; `None` when it does not
/// say (nothing changed since the last schedule, whose warnings were shown, or the directory
/// could not be read). When nothing changed at the first schedule of this process, they are
/// found as `duro check` finds them (with the parse cache, so without parsing again).
fn current_warnings(
    outcome: &Result<Outcome, ScheduleError>,
    config: &Config,
    store: &Store,
    first: bool,
) -> Option<Vec<Diagnostic>> {
    let warnings = |diagnostics: &[Diagnostic]| {
        diagnostics
            .iter()
            .filter(|d| !d.is_error())
            .cloned()
            .collect::<Vec<_>>()
    };
    match outcome {
        Ok(Outcome::Scheduled { warnings: w, .. }) => Some(warnings(w)),
        Err(ScheduleError::Checks(diagnostics)) => Some(warnings(diagnostics)),
        Ok(Outcome::NothingChanged { .. }) if first => {
            let tree = duro::catalog::read_tree(&config.views).ok()?;
            let cache = store.parse_cache().unwrap_or_default();
            let (analysis, _) = duro::analysis::analyze_tree_with(&tree, config, &cache);
            Some(warnings(&analysis.diagnostics))
        }
        _ => None,
    }
}

/// The warnings in short: their count, then the first few (file:line and message, each cut to
/// one line); `None` for no warnings at the first schedule (nothing to say).
fn describe_warnings(warnings: &[Diagnostic], config: &Config, first: bool) -> Option<String> {
    if warnings.is_empty() {
        return (!first).then(|| "schedule: no warnings any more".to_string());
    }
    let count = warnings.len();
    let mut text = format!(
        "schedule: {count} warning{} (`duro check` shows {} in full):",
        if count == 1 { "" } else { "s" },
        if count == 1 { "it" } else { "them" }
    );
    let (shown, hidden) = listing::head(warnings);
    for d in shown {
        let line = super::output::diagnostic_line(d, &config.views);
        let line = line.lines().next().unwrap_or_default();
        text.push_str(&format!("\n  {}", listing::shorten(line, WARNING_CHARS)));
    }
    if hidden > 0 {
        text.push_str(&format!("\n  … {}", listing::and_more(hidden)));
    }
    Some(text)
}

fn describe(outcome: &Result<Outcome, ScheduleError>, config: &Config) -> String {
    match outcome {
        Ok(Outcome::NothingChanged { .. }) => "schedule: nothing changed".to_string(),
        Ok(Outcome::Scheduled {
            changes, tables, ..
        }) => {
            let mut line = format!("schedule: {tables} tables");
            for (label, list) in [
                ("new", &changes.new),
                ("updated", &changes.updated),
                ("removed", &changes.removed),
            ] {
                if !list.is_empty() {
                    line.push_str(&format!("; {}", listing::labelled(label, list)));
                }
            }
            line
        }
        Err(ScheduleError::Checks(diagnostics)) => {
            let mut text = String::from(
                "schedule refused (the state is unchanged; fix the files and save again):",
            );
            let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
            let (shown, hidden) = listing::head(&errors);
            for d in shown {
                text.push_str(&format!(
                    "\n  {}",
                    super::output::diagnostic_line(d, &config.views)
                ));
            }
            if hidden > 0 {
                text.push_str(&format!(
                    "\n  … {} errors (`duro check` lists them all)",
                    listing::and_more(hidden)
                ));
            }
            text
        }
        Err(e) => format!("schedule failed: {e}"),
    }
}
