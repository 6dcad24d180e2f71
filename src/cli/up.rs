//! `duro up`: one process for production — the scheduler re-runs whenever the views directory
//! changes (debounced), the creator loop builds what is due (woken at once after a schedule that
//! changed something), and the web UI serves; SIGTERM or Ctrl-C stops all three cleanly.

use super::Failure;
use super::creator::{check_warehouse, daemon, runtime, shutdown_signal};
use duro::config::Config;
use duro::create::Creator;
use duro::schedule::{Outcome, ScheduleError};
use duro::state::Store;
use jiff::Timestamp;
use notify::Watcher;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};

/// How long the views directory must stay quiet before a change is scheduled: an editor's save
/// or a `git pull` touches many files at once.
const DEBOUNCE: Duration = Duration::from_millis(400);

pub fn run(config: &Config, bind: Option<&str>) -> Result<i32, Failure> {
    check_warehouse(config)?;
    let addr = duro::web::bind_address(config, bind).map_err(|e| Failure::new(2, e.to_string()))?;
    let rt = runtime()?;
    rt.block_on(async {
        let shutdown = shutdown_signal();
        serve_all(config, addr, shutdown).await
    })
}

/// Schedules now, then runs watcher, creator and web UI until `shutdown`.
pub async fn serve_all(
    config: &Config,
    addr: SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> Result<i32, Failure> {
    let wake = Arc::new(Notify::new());
    reschedule(config).await;
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
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    event = changed.recv() => if event.is_none() { break },
                    _ = duro::create::stopped(shutdown.clone()) => break,
                }
                // Wait for the burst of events to end.
                while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, changed.recv()).await {}
                if reschedule(&config).await {
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
/// was. Returns whether something changed.
pub async fn reschedule(config: &Config) -> bool {
    let config = config.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&config.state).map_err(|e| e.to_string())?;
        let now = Timestamp::now();
        let outcome = duro::schedule::run(&config, &mut store, now);
        duro::slack::after_schedule(&config.slack, &mut store, &outcome, now);
        let described = describe(&outcome, &config);
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
                    line.push_str(&format!("; {label}: {}", list.join(", ")));
                }
            }
            line
        }
        Err(ScheduleError::Checks(diagnostics)) => {
            let mut text = String::from(
                "schedule refused (the state is unchanged; fix the files and save again):",
            );
            for d in diagnostics.iter().filter(|d| d.is_error()) {
                text.push_str(&format!(
                    "\n  {}",
                    super::output::diagnostic_line(d, &config.views)
                ));
            }
            text
        }
        Err(e) => format!("schedule failed: {e}"),
    }
}
