//! The JSON API, Server-Sent Events and Prometheus metrics of `duro serve`. Read responses are
//! cached until the state database changes.

use super::AppState;
use super::security;
use crate::ident::TableName;
use crate::plan;
use crate::state::{StateError, to_millis};
use crate::status::{self, rfc3339};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

type Shared = State<Arc<AppState>>;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

fn internal(e: StateError) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn json_bytes(body: axum::body::Bytes, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Serves `key` from the cache or computes it.
fn cached(
    state: &AppState,
    key: String,
    content_type: &'static str,
    compute: impl FnOnce(&mut crate::state::Store) -> Result<Vec<u8>, StateError>,
) -> Response {
    // Another request is recomputing this answer (it holds the state database): its previous
    // version now beats waiting for the new one.
    if let Some(body) = state.cache.while_computing(&key) {
        return json_bytes(body, content_type);
    }
    let result = state.with_store(|store| {
        let data_version: i64 = store
            .connection()
            .query_row("pragma data_version", [], |r| r.get(0))?;
        let version = state.cache.version(data_version);
        if let Some(body) = state.cache.get(&key, version) {
            return Ok(body);
        }
        let _computing = state.cache.computing(&key);
        let body = axum::body::Bytes::from(compute(store)?);
        state.cache.put(key, version, body.clone());
        Ok(body)
    });
    match result {
        Ok(body) => json_bytes(body, content_type),
        Err(e) => internal(e),
    }
}

/// Parses an ISO-8601 time: with an offset, or naive (UTC); a space stands for `+` (old links).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim().replace(' ', "+");
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
}

#[derive(Deserialize)]
pub struct Window {
    from: Option<String>,
    to: Option<String>,
    /// `/api/jobs`: only the runs of these tables (comma-separated names).
    tables: Option<String>,
    /// `/api/jobs?summary=1`: one row per table with runs in the window instead of the runs.
    summary: Option<String>,
}

/// The window of `?from=&to=`: default the last 30 minutes.
pub fn window(from: Option<&str>, to: Option<&str>) -> Result<(Timestamp, Timestamp), String> {
    let now = Timestamp::now();
    let parse = |name: &str, value: Option<&str>, default: Timestamp| match value {
        None | Some("") => Ok(default),
        Some(v) => parse_time(v).ok_or_else(|| {
            format!("{name}={v:?} is not an ISO-8601 time (e.g. 2026-01-19T20:30:00Z)")
        }),
    };
    let to = parse("to", to, now)?;
    let from = parse("from", from, to - jiff::SignedDuration::from_mins(30))?;
    if from >= to {
        return Err("from must be before to".into());
    }
    Ok((from, to))
}

#[derive(Serialize)]
struct Job {
    id: i64,
    table: String,
    start: String,
    finish: Option<String>,
    outcome: Option<String>,
    error: Option<String>,
    /// For running jobs: start plus the table's mean duration.
    estimated_finish: Option<String>,
    /// For running jobs: the step it is in ("select", "upload", …), when the creator said.
    #[serde(skip_serializing_if = "Option::is_none")]
    current_step: Option<String>,
}

/// A table's runs in a window, in short: what the timeline needs to lay out its rows and to
/// tell whether the runs it holds for the table are still the same.
#[derive(Serialize)]
struct JobSummary {
    table: String,
    runs: i64,
    running: i64,
    /// The largest run id.
    last: i64,
    /// When its last run ends: finished, else estimated (start plus mean), else now.
    end: String,
}

/// Runs finished in the window `?1..?2`, plus every running job (leased at `?3`) with its
/// table's mean duration, of the tables in the JSON array `?4` (all when null).
const JOBS_IN_WINDOW: &str = "select * from (
       select r.id, r.table_name, r.started_at, r.finished_at, r.outcome, r.error, null as mean_seconds, r.current_step
       from runs r indexed by runs_by_finish
       where r.finished_at >= ?1 and r.started_at <= ?2
       union all
       select r.id, r.table_name, r.started_at, r.finished_at, r.outcome, r.error, t.mean_seconds, r.current_step
       from runs r indexed by runs_by_finish join tables t on t.name = r.table_name
       where r.finished_at is null and t.lease_owner = r.owner and t.lease_until >= ?3
     ) where ?4 is null or table_name in (select value from json_each(?4))
     order by started_at, id";

/// [`JobSummary`] rows of the same runs. The finished runs are counted straight off the index
/// scan (twice as fast at a week of 500 hourly tables as grouping the rows above).
const JOB_SUMMARY: &str = "select table_name, sum(n), sum(running), max(last), max(\"end\") from (
       select table_name, count(*) as n, 0 as running, max(id) as last, max(finished_at) as \"end\"
       from runs indexed by runs_by_finish
       where finished_at >= ?1 and started_at <= ?2
       group by table_name
       union all
       select r.table_name, 1, 1, r.id, coalesce(r.started_at + cast(t.mean_seconds * 1000 as integer), ?3)
       from runs r indexed by runs_by_finish join tables t on t.name = r.table_name
       where r.finished_at is null and t.lease_owner = r.owner and t.lease_until >= ?3
     ) where ?4 is null or table_name in (select value from json_each(?4))
     group by table_name order by table_name";

/// `GET /api/jobs?from&to`: runs overlapping the window, plus every running job. `&tables=a,b`
/// keeps those tables' runs only; `&summary=1` answers one [`JobSummary`] per table instead, so
/// that a timeline of hundreds of tables fetches the runs of the rows it shows, not a week of
/// every table's (84,000 runs, 13 MB, at 500 hourly tables).
pub async fn jobs(State(state): Shared, Query(w): Query<Window>) -> Response {
    let (from, to) = match window(w.from.as_deref(), w.to.as_deref()) {
        Ok(window) => window,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let (from_ms, to_ms) = (to_millis(from), to_millis(to));
    let tables = w.tables.as_deref().map(|list| {
        let names: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        serde_json::to_string(&names).expect("serialisable")
    });
    let summary = matches!(w.summary.as_deref(), Some("1" | "true"));
    let key = format!(
        "jobs:{from_ms}:{to_ms}:{summary}:{}",
        tables.as_deref().unwrap_or("*")
    );
    cached(&state, key, "application/json", |store| {
        let now = to_millis(Timestamp::now());
        let params = rusqlite::params![from_ms, to_ms, now, tables];
        if summary {
            let mut stmt = store.connection().prepare_cached(JOB_SUMMARY)?;
            let rows = stmt.query_map(params, |r| {
                Ok(JobSummary {
                    table: r.get(0)?,
                    runs: r.get(1)?,
                    running: r.get(2)?,
                    last: r.get(3)?,
                    end: rfc3339(r.get(4)?),
                })
            })?;
            let list: Vec<JobSummary> = rows.collect::<Result<_, _>>()?;
            return Ok(serde_json::to_vec(&list).expect("serialisable"));
        }
        let mut stmt = store.connection().prepare_cached(JOBS_IN_WINDOW)?;
        let rows = stmt.query_map(params, |r| {
            let start: i64 = r.get(2)?;
            let finish: Option<i64> = r.get(3)?;
            let mean: Option<f64> = r.get(6)?;
            Ok(Job {
                id: r.get(0)?,
                table: r.get(1)?,
                start: rfc3339(start),
                finish: finish.map(rfc3339),
                outcome: r.get(4)?,
                error: r.get(5)?,
                estimated_finish: match (finish, mean) {
                    (None, Some(mean)) => Some(rfc3339(start + (mean * 1000.0) as i64)),
                    _ => None,
                },
                current_step: if finish.is_none() { r.get(7)? } else { None },
            })
        })?;
        let jobs: Vec<Job> = rows.collect::<Result<_, _>>()?;
        Ok(serde_json::to_vec(&jobs).expect("serialisable"))
    })
}

#[derive(Serialize)]
struct TableJson {
    #[serde(flatten)]
    status: status::TableStatus,
    force: bool,
    /// For a table waiting after failed runs: when the creator tries it again (RFC 3339).
    retry_at: Option<String>,
}

/// When each table waiting after failed runs is due again (the planner's backoff), by name;
/// empty without failing tables, so the graph is read only when one is.
fn retry_times(
    store: &crate::state::Store,
    rows: &[crate::state::TableRow],
    poll: Duration,
) -> Result<HashMap<String, String>, StateError> {
    if !rows
        .iter()
        .any(|r| r.failures > 0 && r.removed_at.is_none())
    {
        return Ok(HashMap::new());
    }
    let (tables, graph) = plan::graph_from_state(store)?;
    Ok(plan::retry_times(&tables, &graph, poll)
        .into_iter()
        .map(|(name, at)| (name.to_string(), rfc3339(to_millis(at))))
        .collect())
}

/// `GET /api/tables`: the objects of `status --format json` plus `force` and `retry_at`.
pub async fn tables(State(state): Shared) -> Response {
    let poll = state.poll;
    cached(&state, "tables".into(), "application/json", |store| {
        let rows = store.tables()?;
        let mut retries = retry_times(store, &rows, poll)?;
        let list: Vec<TableJson> = status::statuses_of(Timestamp::now(), &rows)
            .into_iter()
            .map(|s| TableJson {
                force: s.force,
                retry_at: retries.remove(&s.name),
                status: s,
            })
            .collect();
        Ok(serde_json::to_vec(&list).expect("serialisable"))
    })
}

/// The stored name of a table argument, or the error response (boxed: responses are large).
fn resolve(state: &AppState, name: &str) -> Result<String, Box<Response>> {
    let unknown = || {
        Box::new(error(
            StatusCode::NOT_FOUND,
            format!("unknown table {name:?}"),
        ))
    };
    let normalised =
        crate::state::normalise_table_arg(name, &state.default_schema).ok_or_else(unknown)?;
    match state.with_store(|s| s.table(&normalised)) {
        Ok(Some(row)) => Ok(row.name),
        Ok(None) => Err(unknown()),
        Err(e) => Err(Box::new(internal(e))),
    }
}

#[derive(Serialize)]
struct Step {
    step: String,
    at: String,
}

#[derive(Serialize)]
struct Run {
    id: i64,
    start: String,
    finish: Option<String>,
    seconds: Option<f64>,
    outcome: Option<String>,
    error: Option<String>,
    failed_tests: Vec<String>,
    /// Each failed data-test statement: its SQL as written and the failing rows' values.
    test_failures: Vec<crate::state::TestFailure>,
    rows: Option<i64>,
    steps: Vec<Step>,
    /// The step a running run is in; the step a failed run failed in.
    current_step: Option<String>,
    failed_step: Option<String>,
    notes: Option<String>,
}

#[derive(Serialize)]
struct ConfigValue {
    value: String,
    source: Option<String>,
}

#[derive(Serialize)]
struct TableDetail {
    #[serde(flatten)]
    status: status::TableStatus,
    force: bool,
    retry_at: Option<String>,
    effective_interval_minutes: Option<u64>,
    query: String,
    select_query: Option<String>,
    /// A processor table's Python script and requirements.
    script: Option<String>,
    requirements: Option<String>,
    tests: Option<String>,
    files: serde_json::Value,
    config: BTreeMap<String, ConfigValue>,
    depends_on: Vec<String>,
    dependents: Vec<String>,
    sources: Vec<String>,
    runs: Vec<Run>,
}

/// `GET /api/tables/<name>`: everything about one table and its latest 100 runs.
pub async fn table(State(state): Shared, Path(name): Path<String>) -> Response {
    let name = match resolve(&state, &name) {
        Ok(name) => name,
        Err(response) => return *response,
    };
    let poll = state.poll;
    cached(
        &state,
        format!("table:{name}"),
        "application/json",
        |store| {
            let row = store.table(&name)?.expect("resolved");
            let retry_at = retry_times(store, std::slice::from_ref(&row), poll)?.remove(&name);
            let status = status::statuses_of(Timestamp::now(), std::slice::from_ref(&row))
                .pop()
                .expect("one row");
            let (tables, graph) = plan::graph_from_state(store)?;
            let parsed = TableName::parse(&name).ok();
            let effective = parsed
                .as_ref()
                .and_then(|t| {
                    plan::effective_intervals(&tables, &graph)
                        .get(t)
                        .copied()
                        .flatten()
                })
                .map(|i| i.minutes());
            let (depends_on, dependents) = store.neighbours(&name)?;
            let config: BTreeMap<String, String> =
                serde_json::from_str(&row.config).unwrap_or_default();
            let sources: BTreeMap<String, String> =
                serde_json::from_str(&row.config_sources).unwrap_or_default();
            let runs = store
                .runs_of(&name, 100)?
                .into_iter()
                .map(|r| Run {
                    id: r.id,
                    start: rfc3339(r.started_at),
                    finish: r.finished_at.map(rfc3339),
                    seconds: r.finished_at.map(|f| (f - r.started_at) as f64 / 1000.0),
                    outcome: r.outcome,
                    error: r.error,
                    failed_tests: r.failed_tests,
                    test_failures: r.test_failures,
                    rows: r.rows,
                    steps: r
                        .steps
                        .into_iter()
                        .map(|(step, at)| Step {
                            step,
                            at: rfc3339(at),
                        })
                        .collect(),
                    current_step: r.current_step.filter(|_| r.finished_at.is_none()),
                    failed_step: r.failed_step,
                    notes: r.notes,
                })
                .collect();
            let detail = TableDetail {
                force: row.force,
                retry_at,
                effective_interval_minutes: effective,
                query: row.definition.clone(),
                select_query: row.select_query.clone(),
                script: row.script.clone(),
                requirements: row.requirements.clone(),
                tests: row.tests.clone(),
                files: serde_json::from_str(&row.files).unwrap_or_default(),
                config: config
                    .into_iter()
                    .map(|(k, value)| {
                        let source = sources.get(&k).cloned();
                        (k, ConfigValue { value, source })
                    })
                    .collect(),
                depends_on,
                dependents,
                sources: serde_json::from_str(&row.sources).unwrap_or_default(),
                runs,
                status,
            };
            Ok(serde_json::to_vec(&detail).expect("serialisable"))
        },
    )
}

#[derive(Deserialize, Default)]
pub struct ForceBody {
    #[serde(default)]
    tree: bool,
}

/// `POST /api/tables/<name>/force {"tree": bool}`.
pub async fn force(
    State(state): Shared,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(response) = security::check_write(&state, &headers) {
        return *response;
    }
    let body: ForceBody = if body.iter().all(u8::is_ascii_whitespace) {
        ForceBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("body must be {{\"tree\": true|false}}: {e}"),
                );
            }
        }
    };
    let name = match resolve(&state, &name) {
        Ok(name) => name,
        Err(response) => return *response,
    };
    let result = state.with_store(|store| {
        let row = store.table(&name)?.expect("resolved");
        if row.removed_at.is_some() {
            return Ok(None);
        }
        let names: Vec<String> = if body.tree {
            let (_, graph) = plan::graph_from_state(store)?;
            TableName::parse(&name)
                .map(|t| graph.tree(&t).into_iter().map(|t| t.to_string()).collect())
                .unwrap_or_else(|_| vec![name.clone()])
        } else {
            vec![name.clone()]
        };
        store.force(&names, Timestamp::now())?;
        Ok(Some(names))
    });
    state.cache.bump();
    match result {
        Ok(Some(names)) => Json(serde_json::json!({ "forced": names })).into_response(),
        Ok(None) => error(
            StatusCode::CONFLICT,
            format!("{name} was removed from the views directory"),
        ),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
pub struct StatsQuery {
    hours: Option<String>,
}

/// `GET /api/stats?hours=24`: tables updated, successful runs and load over the window.
pub async fn stats(State(state): Shared, Query(q): Query<StatsQuery>) -> Response {
    let hours: f64 = match q.hours.as_deref() {
        None | Some("") => 24.0,
        Some(h) => match h.parse::<f64>() {
            Ok(h) if h > 0.0 && h <= 24.0 * 366.0 => h,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("hours={h:?} must be a number of hours between 0 and 8784"),
                );
            }
        },
    };
    // Rounded to the minute so that polling pages share the cached answer.
    let now = to_millis(Timestamp::now()) / 60_000 * 60_000;
    cached(
        &state,
        format!("stats:{hours}:{now}"),
        "application/json",
        |store| {
            let window = (hours * 3_600_000.0) as i64;
            let stats = store.window_stats(now - window, None)?;
            Ok(serde_json::to_vec(&serde_json::json!({
                "tables": stats.tables,
                "updates": stats.updates,
                "load": stats.load_percent(window),
            }))
            .expect("serialisable"))
        },
    )
}

/// `GET /api/graph`: tables with state and effective interval, and their dependencies.
pub async fn graph(State(state): Shared) -> Response {
    cached(&state, "graph".into(), "application/json", |store| {
        let statuses: HashMap<String, status::TableStatus> =
            status::statuses(store, Timestamp::now())?
                .into_iter()
                .map(|s| (s.name.clone(), s))
                .collect();
        let (tables, graph) = plan::graph_from_state(store)?;
        let effective = plan::effective_intervals(&tables, &graph);
        let nodes: Vec<serde_json::Value> = graph
            .nodes
            .iter()
            .map(|(name, node)| {
                let s = statuses.get(&name.to_string());
                serde_json::json!({
                    "name": name.to_string(),
                    "state": s.map(|s| s.state.as_str()),
                    "force": s.map(|s| s.force),
                    "interval_minutes": node.interval.map(|i| i.minutes()),
                    "effective_interval_minutes": effective.get(name).copied().flatten().map(|i| i.minutes()),
                    "sources": node.sources,
                })
            })
            .collect();
        let edges: Vec<[String; 2]> = graph
            .nodes
            .iter()
            .flat_map(|(name, node)| {
                node.depends_on
                    .iter()
                    .map(move |d| [d.to_string(), name.to_string()])
            })
            .collect();
        Ok(serde_json::to_vec(&serde_json::json!({ "nodes": nodes, "edges": edges, "token_required": security::token_required(&state) }))
            .expect("serialisable"))
    })
}

/// `GET /api/events`: a `change` event whenever the state database changes.
pub async fn events(
    State(state): Shared,
) -> Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let stream = futures_util::stream::unfold((state, None::<u64>), |(state, last)| async move {
        loop {
            let version = state
                .with_store(|s| {
                    s.connection()
                        .query_row("pragma data_version", [], |r| r.get::<_, i64>(0))
                        .map_err(StateError::from)
                })
                .map(|v| state.cache.version(v))
                .unwrap_or(0);
            if last != Some(version) {
                let event = Event::default().event("change").data(version.to_string());
                return Some((Ok(event), (state, Some(version))));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
}

/// `GET /api/version`: the state's version, for pages that poll instead of holding `/api/events`
/// open (the UI's fallback when the browser cannot share one connection between tabs).
pub async fn version(State(state): Shared) -> Response {
    match state.with_store(|s| {
        s.connection()
            .query_row("pragma data_version", [], |r| r.get::<_, i64>(0))
            .map_err(StateError::from)
    }) {
        Ok(v) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({ "version": state.cache.version(v).to_string() })),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

#[derive(Serialize)]
struct ScheduleJson {
    /// False when the latest schedule was refused.
    ok: bool,
    /// When the latest outcome began (the first refused attempt while the errors stay the same).
    at: Option<String>,
    errors: Vec<crate::state::ScheduleProblem>,
}

/// `GET /api/schedule`: the latest schedule attempt; `errors` are those that refused it.
pub async fn schedule(State(state): Shared) -> Response {
    cached(&state, "schedule".into(), "application/json", |store| {
        let body = match store.schedule_status()? {
            Some(s) => ScheduleJson {
                ok: s.ok,
                at: Some(rfc3339(s.at)),
                errors: s.errors,
            },
            // Never recorded (a state file from before duro recorded refusals): nothing to say.
            None => ScheduleJson {
                ok: true,
                at: None,
                errors: Vec::new(),
            },
        };
        Ok(serde_json::to_vec(&body).expect("serialisable"))
    })
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// How long `/metrics` is served unchanged while the state does not change (its ages move with
/// the clock).
const METRICS_MAX_AGE: Duration = Duration::from_secs(10);

/// `GET /metrics`: Prometheus text format. Recomputed when the state changed or after
/// [`METRICS_MAX_AGE`]; requests arriving during a recomputation get the previous text.
pub async fn metrics(State(state): Shared) -> Response {
    let version = || {
        state.with_store(|store| {
            let data_version: i64 =
                store
                    .connection()
                    .query_row("pragma data_version", [], |r| r.get(0))?;
            Ok(state.cache.version(data_version))
        })
    };
    let body = state.metrics.get_or_compute(version, METRICS_MAX_AGE, || {
        state.with_store(metrics_text).map(axum::body::Bytes::from)
    });
    match body {
        Ok(body) => json_bytes(body, "text/plain; version=0.0.4"),
        Err(e) => internal(e),
    }
}

fn metrics_text(store: &mut crate::state::Store) -> Result<Vec<u8>, StateError> {
    let now = Timestamp::now();
    let rows = store.tables()?;
    let (tables, graph) = plan::graph_from_state(store)?;
    let effective = plan::effective_intervals(&tables, &graph);
    let mut out = String::new();
    out.push_str("# HELP duro_table_age_seconds Seconds since the start of the table's last successful build.\n# TYPE duro_table_age_seconds gauge\n");
    for row in rows.iter().filter(|r| r.removed_at.is_none()) {
        if let Some(built) = row.last_built {
            let age = (to_millis(now) - built) as f64 / 1000.0;
            out.push_str(&format!(
                "duro_table_age_seconds{{table=\"{}\"}} {age:.3}\n",
                label(&row.name)
            ));
        }
    }
    out.push_str("# HELP duro_table_interval_seconds The table's own or inherited interval.\n# TYPE duro_table_interval_seconds gauge\n");
    for (name, interval) in &effective {
        if let Some(i) = interval {
            out.push_str(&format!(
                "duro_table_interval_seconds{{table=\"{}\"}} {}\n",
                label(&name.to_string()),
                i.seconds()
            ));
        }
    }
    out.push_str("# HELP duro_run_duration_seconds Mean duration of the table's successful runs.\n# TYPE duro_run_duration_seconds gauge\n");
    for row in rows.iter().filter(|r| r.removed_at.is_none()) {
        if let Some(mean) = row.mean_seconds {
            out.push_str(&format!(
                "duro_run_duration_seconds{{table=\"{}\"}} {mean:.3}\n",
                label(&row.name)
            ));
        }
    }
    out.push_str(
        "# HELP duro_runs_total Finished runs by outcome.\n# TYPE duro_runs_total counter\n",
    );
    let mut stmt = store
        .connection()
        .prepare_cached("select table_name, outcome, count from run_counts order by 1, 2")?;
    let counts = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for c in counts {
        let (table, outcome, n) = c?;
        out.push_str(&format!(
            "duro_runs_total{{table=\"{}\",outcome=\"{}\"}} {n}\n",
            label(&table),
            label(&outcome)
        ));
    }
    let running = rows
        .iter()
        .filter(|r| r.lease_owner.is_some() && r.lease_until.is_some_and(|u| u >= to_millis(now)))
        .count();
    out.push_str(&format!("# HELP duro_running Tables being built now.\n# TYPE duro_running gauge\nduro_running {running}\n"));
    let (ok, errors) = store
        .schedule_status()?
        .map_or((true, 0), |s| (s.ok, s.errors.len()));
    out.push_str(&format!(
        "# HELP duro_schedule_ok 1 when the latest schedule passed its checks, 0 when it was refused.\n# TYPE duro_schedule_ok gauge\nduro_schedule_ok {}\n",
        u8::from(ok)
    ));
    out.push_str(&format!(
        "# HELP duro_schedule_errors Errors that refused the latest schedule.\n# TYPE duro_schedule_errors gauge\nduro_schedule_errors {errors}\n"
    ));
    Ok(out.into_bytes())
}

/// `GET /healthz`: 200 when the state database answers.
pub async fn healthz(State(state): Shared) -> Response {
    match state.with_store(|s| {
        s.connection()
            .query_row("select 1", [], |r| r.get::<_, i64>(0))
            .map_err(StateError::from)
    }) {
        Ok(_) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}
