//! The creator (SPEC §5–§6): runs a round of due tables as a DAG with `concurrency` workers, each
//! table under a lease (never built twice at once, across processes), with timeouts that cancel
//! the warehouse query, retries of transient errors, and a run record for every attempt.

pub mod build;
pub mod datatests;
pub mod position;
pub mod retry;

use crate::catalog::table_config::Grantee;
use crate::config::{Config, Secret};
use crate::graph::Graph;
use crate::ident::TableName;
use crate::interval::Interval;
use crate::state::{Outcome, RunEnd, StateError, Step, Store, TableRow};
use crate::warehouse::sql::Physical;
use build::BuildError;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Everything needed to build one table, from its scheduled definition in state.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: TableName,
    pub query: String,
    pub tests: Option<String>,
    pub grantees: Vec<Grantee>,
    pub physical: Physical,
    pub snapshots_interval: Option<Interval>,
    pub snapshots_stored_for: Option<Interval>,
    pub timeout: Option<Interval>,
    pub mean_seconds: Option<f64>,
    /// Python processor parts, for processor tables (then `query` is the DDL).
    pub processor: Option<crate::process::ProcessorJob>,
    /// Columns of a processor table's DDL.
    pub columns: Vec<String>,
    /// The query's file, relative to the views directory (for error positions).
    pub query_file: Option<String>,
}

impl Job {
    pub fn from_row(row: &TableRow) -> Result<Job, String> {
        let name = TableName::parse(&row.name).map_err(|e| e.to_string())?;
        let config: BTreeMap<String, String> = serde_json::from_str(&row.config)
            .map_err(|e| format!("stored config of {name}: {e}"))?;
        let grantees = config
            .get("grant_select")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(Grantee::parse)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let interval = |key: &str| config.get(key).and_then(|v| Interval::parse(v).ok());
        let files: BTreeMap<String, String> = serde_json::from_str(&row.files).unwrap_or_default();
        Ok(Job {
            query_file: files.get("definition").cloned(),
            query: row.definition.clone(),
            tests: row.tests.clone().filter(|t| !t.trim().is_empty()),
            physical: Physical::from_config(&config),
            snapshots_interval: interval("snapshots_interval"),
            snapshots_stored_for: interval("snapshots_stored_for"),
            timeout: interval("timeout"),
            mean_seconds: row.mean_seconds.filter(|_| row.run_count > 0),
            processor: row
                .script
                .clone()
                .map(|script| crate::process::ProcessorJob {
                    select: row.select_query.clone().unwrap_or_default(),
                    script,
                    requirements: row.requirements.clone(),
                    delimiter: crate::catalog::table_config::csv_delimiter(
                        config.get("csv_delimiter").map(String::as_str),
                    ),
                }),
            columns: if row.script.is_some() {
                crate::lineage::ddl_columns(&row.definition, crate::lineage::SqlDialect::Postgres)
                    .map_err(|e| format!("the DDL of {name}: {e}"))?
            } else {
                Vec::new()
            },
            grantees,
            name,
        })
    }
}

/// Settings and shared handles of a creator process.
pub struct Creator {
    pub url: Secret,
    /// What each warehouse session sets when it opens (Redshift's query group).
    pub session: crate::warehouse::Session,
    pub default_schema: String,
    pub store: Arc<Mutex<Store>>,
    pub owner: String,
    pub concurrency: usize,
    pub retries: u32,
    pub lease_seconds: u64,
    pub timeout_factor: f64,
    pub timeout_min: Duration,
    /// How long one statement waits for a lock (PostgreSQL) before the attempt fails and is
    /// retried.
    pub lock_timeout: Duration,
    pub timeout_first_run: Duration,
    pub shutdown: watch::Receiver<bool>,
    /// The warehouse's SQL dialect.
    pub dialect: crate::warehouse::sql::Dialect,
    /// Where Redshift processors stage their files.
    pub s3: crate::config::S3Config,
    /// The state database's folder: processor environments and work files go under it.
    pub work_dir: std::path::PathBuf,
    /// The views directory, where a query's error position is looked up in its file.
    pub views: std::path::PathBuf,
    /// Idle warehouse connections, reused between runs, with when they were last used.
    pool: Mutex<Vec<(crate::warehouse::Connection, Instant)>>,
    /// Schemas known to exist.
    schemas: Mutex<BTreeSet<String>>,
    /// Slack notifications of failed runs (SPEC §12); `None` without a webhook.
    pub notifier: Option<Arc<crate::slack::Notifier>>,
}

/// A unique name for this process: host, pid and a random part.
pub fn owner_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let seed = format!("{:?}{}", Instant::now(), std::process::id());
    let random = blake3::hash(seed.as_bytes()).to_hex();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}

impl Creator {
    pub fn new(config: &Config, store: Store, shutdown: watch::Receiver<bool>) -> Creator {
        let c = &config.creator;
        Creator {
            url: config.warehouse.url.clone(),
            session: crate::warehouse::Session::from_config(&config.warehouse),
            default_schema: config.scheduler.default_schema.clone(),
            store: Arc::new(Mutex::new(store)),
            owner: owner_id(),
            concurrency: c.concurrency.max(1) as usize,
            retries: c.retries,
            lease_seconds: c.lease_seconds,
            timeout_factor: c.timeout_factor,
            timeout_min: crate::config::parse_timeout(&c.timeout_min).expect("validated"),
            lock_timeout: crate::config::parse_timeout(&c.lock_timeout).expect("validated"),
            timeout_first_run: crate::config::parse_timeout(&c.timeout_first_run)
                .expect("validated"),
            shutdown,
            dialect: config
                .warehouse
                .kind()
                .and_then(crate::warehouse::dialect_of)
                .unwrap_or(crate::warehouse::sql::Dialect::Postgres),
            s3: config.s3.clone(),
            work_dir: config
                .state
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map(std::path::Path::to_path_buf)
                .unwrap_or_else(|| ".".into())
                .canonicalize()
                .unwrap_or_else(|_| ".".into()),
            views: config.views.clone(),
            pool: Mutex::new(Vec::new()),
            schemas: Mutex::new(BTreeSet::new()),
            notifier: crate::slack::Notifier::from_config(&config.slack).map(Arc::new),
        }
    }

    /// An idle connection and how long it has been idle.
    pub fn take_connection(&self) -> Option<(crate::warehouse::Connection, Duration)> {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.pop().map(|(conn, since)| (conn, since.elapsed()))
    }

    pub fn return_connection(&self, conn: crate::warehouse::Connection) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < self.concurrency {
            pool.push((conn, Instant::now()));
        }
    }

    /// Closes the idle connections (an embedded DuckDB file is then free for other processes).
    pub fn release_connections(&self) {
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn schema_known(&self, schema: &str) -> bool {
        self.schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(schema)
    }

    pub fn remember_schema(&self, schema: &str) {
        self.schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(schema.to_string());
    }

    fn state<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut store)
    }

    /// SPEC §6.4: the table's `timeout`, else max(timeout_min, factor × mean), else the first-run
    /// timeout.
    pub fn timeout_for(&self, job: &Job) -> Duration {
        if let Some(t) = job.timeout {
            return t.duration();
        }
        match job.mean_seconds {
            Some(mean) => Duration::from_secs_f64(self.timeout_factor * mean).max(self.timeout_min),
            None => self.timeout_first_run,
        }
    }
}

/// The end of one table's run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub table: String,
    pub outcome: Option<Outcome>,
    /// `None` with `busy` when another process held the table.
    pub busy: bool,
    pub error: Option<String>,
    pub failed_tests: Vec<String>,
    pub rows: Option<u64>,
    pub seconds: f64,
}

impl RunReport {
    pub fn succeeded(&self) -> bool {
        self.outcome == Some(Outcome::Success)
    }
}

/// Per-run handles used by the build steps.
pub struct RunContext<'a> {
    pub creator: &'a Creator,
    /// The run's id in the state database.
    pub run: i64,
    /// The run's timeout (`Creator::timeout_for`); also the server-side `statement_timeout` of
    /// its warehouse sessions, a backstop should this process die mid-run.
    pub timeout: Duration,
    steps: Mutex<Vec<(Step, Timestamp)>>,
    /// The step in progress: shown while the run runs, and recorded as the failed step if it
    /// fails.
    current: Mutex<Option<Step>>,
    /// What a processor printed, kept with the run.
    output: Mutex<Option<String>>,
    canceller: Mutex<Option<crate::warehouse::Canceller>>,
}

impl RunContext<'_> {
    /// Notes that a step started, in the state database at once so that pages show it.
    pub fn begin(&self, step: Step) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(step);
        if let Err(e) = self.creator.state(|s| s.set_current_step(self.run, step)) {
            tracing::warn!("could not record the step of run {}: {e}", self.run);
        }
    }

    /// Notes when a step finished; all steps are written with the run's end.
    pub fn step(&self, step: Step) {
        self.steps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((step, Timestamp::now()));
    }

    fn set_canceller(&self, canceller: Option<crate::warehouse::Canceller>) {
        *self.canceller.lock().unwrap_or_else(|p| p.into_inner()) = canceller;
    }

    async fn cancel(&self) {
        let canceller = self
            .canceller
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // A cancel request travels over a new connection, which an unreachable server can
        // leave hanging: the run ends anyway, and dropping its connection rolls it back.
        if let Some(c) = canceller
            && tokio::time::timeout(Duration::from_secs(5), c.cancel())
                .await
                .is_err()
        {
            tracing::warn!("the warehouse did not answer the cancel request within 5s");
        }
    }
}

enum Ending {
    Built(u64),
    Failed(BuildError),
    /// Every attempt waited for a lock another process held; the attempts made and the last
    /// error.
    Busy(u32, crate::warehouse::WarehouseError),
    TimedOut(Duration),
    Cancelled,
}

/// Builds one table under its lease, with timeout, retries and a run record. `notes` are
/// recorded with the run (e.g. a dependency that failed).
pub async fn run_table(creator: &Creator, row: &TableRow, notes: Vec<String>) -> RunReport {
    let started_at = Instant::now();
    let mut report = RunReport {
        table: row.name.clone(),
        outcome: None,
        busy: false,
        error: None,
        failed_tests: Vec::new(),
        rows: None,
        seconds: 0.0,
    };
    let (run, started) = match creator
        .state(|s| s.begin_run_now(&row.name, &creator.owner, creator.lease_seconds))
    {
        Ok(Some(begun)) => begun,
        Ok(None) => {
            // Another process builds it now. The round holds back the tables reading it until
            // that build ends (see `run_round`), without holding one of its own slots.
            report.busy = true;
            report.error = Some(format!("{} was built by another process", row.name));
            report.seconds = started_at.elapsed().as_secs_f64();
            return report;
        }
        Err(e) => {
            report.outcome = Some(Outcome::Failed);
            report.error = Some(e.to_string());
            return report;
        }
    };
    let job = Job::from_row(row);
    let timeout = match &job {
        Ok(job) => creator.timeout_for(job),
        Err(_) => creator.timeout_first_run,
    };
    let ctx = RunContext {
        creator,
        run,
        timeout,
        steps: Mutex::new(Vec::new()),
        current: Mutex::new(None),
        output: Mutex::new(None),
        canceller: Mutex::new(None),
    };
    let ending = match job {
        Err(message) => Ending::Failed(BuildError::Warehouse(
            crate::warehouse::WarehouseError::new(message),
        )),
        Ok(job) => {
            let ending = tokio::select! {
                ending = with_retries(creator, &ctx, &job) => ending,
                _ = tokio::time::sleep(timeout) => {
                    ctx.cancel().await;
                    Ending::TimedOut(timeout)
                }
                _ = stopped(creator.shutdown.clone()) => {
                    ctx.cancel().await;
                    Ending::Cancelled
                }
            };
            if let Ending::Built(_) = ending {
                if job.snapshots_interval.is_some() {
                    ctx.begin(Step::Snapshot);
                }
                match build::snapshot(&ctx, &job, started).await {
                    Ok(true) => ctx.step(Step::Snapshot),
                    Ok(false) => {}
                    Err(e) => {
                        report.error = Some(format!(
                            "{} was rebuilt, but its snapshot failed: {e}",
                            job.name
                        ))
                    }
                }
            }
            ending
        }
    };
    report.seconds = started_at.elapsed().as_secs_f64();
    let unreachable = matches!(&ending, Ending::Failed(BuildError::Warehouse(e)) if e.connection);
    let busy = matches!(ending, Ending::Busy(..));
    let mut test_failures = Vec::new();
    let (outcome, error) = match ending {
        Ending::Built(rows) => {
            report.rows = Some(rows);
            match report.error.take() {
                Some(e) => (Outcome::Failed, Some(e)),
                None => (Outcome::Success, None),
            }
        }
        Ending::Failed(BuildError::TestsFailed(tests)) => {
            let message = format!("tests failed for {}: {}", row.name, tests.failed.join(", "));
            report.failed_tests = tests.failed;
            test_failures = tests.failures;
            (Outcome::TestsFailed, Some(message))
        }
        Ending::Failed(BuildError::Warehouse(e)) => (Outcome::Failed, Some(e.message)),
        // Recorded as cancelled, and no outcome of the table (see `RunEnd::busy`).
        Ending::Busy(made, e) => (
            Outcome::Cancelled,
            Some(retry::busy_message(&row.name, &e.message, made)),
        ),
        Ending::TimedOut(limit) => (
            Outcome::Timeout,
            Some(format!(
                "cancelled after {:.0}s (the timeout of {}); the old table was left as it was",
                limit.as_secs_f64(),
                row.name
            )),
        ),
        Ending::Cancelled => (
            Outcome::Cancelled,
            Some("cancelled: duro was stopped; the old table was left as it was".to_string()),
        ),
    };
    // A busy table has no outcome of its own: reported like a table another creator holds.
    report.outcome = (!busy).then_some(outcome);
    report.busy = busy;
    report.error = error;
    let end = RunEnd {
        run,
        started,
        finished: Timestamp::now(),
        seconds: report.seconds,
        outcome,
        error: report.error.clone(),
        failed_tests: report.failed_tests.clone(),
        test_failures,
        failed_step: if outcome == Outcome::Success {
            None
        } else {
            *ctx.current.lock().unwrap_or_else(|p| p.into_inner())
        },
        rows: report.rows,
        output: {
            let mut parts = notes;
            parts.extend(ctx.output.lock().unwrap_or_else(|p| p.into_inner()).take());
            (!parts.is_empty()).then(|| parts.join("\n"))
        },
        steps: std::mem::take(&mut *ctx.steps.lock().unwrap_or_else(|p| p.into_inner())),
        busy,
    };
    if let Err(e) = creator.state(|s| s.end_run(&row.name, &creator.owner, &end)) {
        tracing::error!("could not record the run of {}: {e}", row.name);
    }
    notify_run(creator, &report, unreachable).await;
    report
}

/// Posts a failed run to Slack: the warehouse being unreachable as such (one message for all the
/// tables failing with it), any other failure with its table, error and failed tests.
async fn notify_run(creator: &Creator, report: &RunReport, unreachable: bool) {
    let (Some(notifier), Some(outcome)) = (&creator.notifier, report.outcome) else {
        return;
    };
    let message = match (unreachable, report.error.as_deref()) {
        (true, Some(error)) => Some(crate::slack::warehouse_unreachable(error)),
        _ => crate::slack::failed_run(
            &report.table,
            outcome,
            report.error.as_deref(),
            &report.failed_tests,
        ),
    };
    if let Some(message) = message {
        notifier
            .post_async(&creator.store, message, Timestamp::now())
            .await;
    }
}

/// Returns once no other process holds the table's lease (or at shutdown).
async fn wait_for_lease(creator: &Creator, table: &str) {
    loop {
        let held = creator
            .state(|s| s.lease_holder(table, Timestamp::now()))
            .map(|holder| holder.is_some())
            .unwrap_or(false);
        if !held {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stopped(creator.shutdown.clone()) => return,
        }
    }
}

/// Resolves once shutdown is requested (never, if the sender is gone without asking).
pub async fn stopped(mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn with_retries(creator: &Creator, ctx: &RunContext<'_>, job: &Job) -> Ending {
    // A processor's rows are selected and processed once; only loading them is retried.
    let work = match &job.processor {
        Some(processor) => {
            match crate::process::prepare(ctx, &job.name, processor, &job.columns).await {
                Ok((work, printed)) => {
                    if !printed.is_empty() {
                        *ctx.output.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(format!("processor output:\n{printed}"));
                    }
                    Some(work)
                }
                Err(e) => return Ending::Failed(BuildError::Warehouse(e)),
            }
        }
        None => None,
    };
    let (source, staged) = match &work {
        None => (None, None),
        Some(work) if creator.dialect == crate::warehouse::sql::Dialect::Redshift => {
            ctx.begin(Step::Upload);
            let staged = async {
                let bucket = crate::process::s3::Bucket::open(&creator.s3)?;
                let key = bucket.key(&job.name, ctx.run);
                bucket.upload(&key, &work.output()).await?;
                Ok::<_, String>((bucket, key))
            }
            .await;
            match staged {
                Ok((bucket, key)) => {
                    ctx.step(Step::Upload);
                    let url = bucket.url(&key);
                    (
                        Some(crate::process::LoadSource::S3(url)),
                        Some((bucket, key)),
                    )
                }
                Err(e) => {
                    return Ending::Failed(BuildError::Warehouse(
                        crate::warehouse::WarehouseError::new(e),
                    ));
                }
            }
        }
        Some(work) => (Some(crate::process::LoadSource::Stdin(work.output())), None),
    };
    let ending = load_with_retries(creator, ctx, job, source.as_ref()).await;
    // The staged file is removed whatever happened: no objects pile up in the bucket.
    if let Some((bucket, key)) = staged
        && let Err(e) = bucket.delete(&key).await
    {
        tracing::warn!("{}: {e}", job.name);
    }
    ending
}

async fn load_with_retries(
    creator: &Creator,
    ctx: &RunContext<'_>,
    job: &Job,
    source: Option<&crate::process::LoadSource>,
) -> Ending {
    // `retries` retries: at most `retries + 1` attempts.
    let mut attempt = 1;
    loop {
        match build::attempt(ctx, job, source).await {
            Ok(rows) => return Ending::Built(rows),
            Err(BuildError::Warehouse(e)) if e.transient && attempt <= creator.retries => {
                let wait = retry::wait_before(attempt);
                tracing::warn!(
                    "{}",
                    retry::retry_line(
                        &job.name.to_string(),
                        attempt,
                        creator.retries,
                        wait,
                        &e.message
                    )
                );
                attempt += 1;
                tokio::time::sleep(wait).await;
            }
            Err(BuildError::Warehouse(e)) if retry::is_busy(&e) => {
                return Ending::Busy(attempt, e);
            }
            Err(BuildError::Warehouse(mut e)) if e.transient => {
                e.message = retry::gave_up(&e.message, attempt, creator.retries);
                return Ending::Failed(BuildError::Warehouse(e));
            }
            Err(e) => return Ending::Failed(e),
        }
    }
}

/// Builds `tables` (in build order) as a DAG: a table starts once the dependencies it waits for
/// within the set have finished, up to `concurrency` at once. A failed dependency does not stop
/// its dependents; their run records say so. A dependency another process is building holds
/// its dependents back until that build ends, so that they read its new version (or, the
/// first time, read it at all), while this round's slots go on with other tables.
pub async fn run_round(
    creator: Arc<Creator>,
    tables: Vec<TableName>,
    graph: &Graph,
    on_finish: impl Fn(&RunReport),
) -> Vec<RunReport> {
    let set: BTreeSet<TableName> = tables.iter().cloned().collect();
    let mut waiting: BTreeMap<TableName, BTreeSet<TableName>> = tables
        .iter()
        .map(|t| {
            let deps = graph
                .waits_for(t)
                .filter(|d| set.contains(*d) && *d != t)
                .cloned()
                .collect();
            (t.clone(), deps)
        })
        .collect();
    let order: Vec<TableName> = tables;
    let mut failed: BTreeSet<TableName> = BTreeSet::new();
    let mut started: BTreeSet<TableName> = BTreeSet::new();
    let mut reports = Vec::new();
    // Builds (counted against `concurrency`) and watchers of other processes' leases.
    enum Done {
        Run(TableName, RunReport),
        Released(TableName),
    }
    let mut running = tokio::task::JoinSet::new();
    let mut building = 0usize;
    let mut watchers = std::collections::HashSet::new();
    let heartbeat = spawn_heartbeat(creator.clone());
    loop {
        let stopping = *creator.shutdown.borrow();
        if !stopping {
            for table in &order {
                if building >= creator.concurrency {
                    break;
                }
                if started.contains(table) || !waiting[table].is_empty() {
                    continue;
                }
                started.insert(table.clone());
                let row = creator.state(|s| s.table(&table.to_string()));
                let notes: Vec<String> = graph
                    .waits_for(table)
                    .filter(|d| failed.contains(*d))
                    .map(|d| format!("dependency {d} failed; built on its previous version"))
                    .collect();
                let creator = creator.clone();
                let name = table.clone();
                building += 1;
                running.spawn(async move {
                    let report = match row {
                        Ok(Some(row)) if row.removed_at.is_none() => {
                            run_table(&creator, &row, notes).await
                        }
                        Ok(_) => RunReport {
                            table: name.to_string(),
                            outcome: None,
                            busy: false,
                            error: Some("removed from the views directory".into()),
                            failed_tests: vec![],
                            rows: None,
                            seconds: 0.0,
                        },
                        Err(e) => RunReport {
                            table: name.to_string(),
                            outcome: Some(Outcome::Failed),
                            busy: false,
                            error: Some(e.to_string()),
                            failed_tests: vec![],
                            rows: None,
                            seconds: 0.0,
                        },
                    };
                    Done::Run(name, report)
                });
            }
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let released = match done {
            Ok(Done::Run(name, report)) => {
                building -= 1;
                if !report.succeeded() && !report.busy {
                    failed.insert(name.clone());
                }
                let busy = report.busy;
                on_finish(&report);
                reports.push(report);
                if busy {
                    let creator = creator.clone();
                    let watcher = running.spawn(async move {
                        wait_for_lease(&creator, &name.to_string()).await;
                        Done::Released(name)
                    });
                    watchers.insert(watcher.id());
                    continue;
                }
                name
            }
            Ok(Done::Released(name)) => name,
            Err(error) => {
                // A task that panicked: a build's slot is free again.
                if !watchers.contains(&error.id()) {
                    building -= 1;
                }
                continue;
            }
        };
        for deps in waiting.values_mut() {
            deps.remove(&released);
        }
    }
    heartbeat.abort();
    reports
}

fn spawn_heartbeat(creator: Arc<Creator>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = Duration::from_secs((creator.lease_seconds / 3).max(1));
        loop {
            tokio::time::sleep(period).await;
            if let Err(e) = creator
                .state(|s| s.renew_leases(&creator.owner, Timestamp::now(), creator.lease_seconds))
            {
                tracing::warn!("could not renew leases: {e}");
            }
        }
    })
}
