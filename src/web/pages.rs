//! The HTML pages: small shells (title, navigation, data attributes) whose scripts fetch the API
//! and render with `textContent`. Static assets are embedded in the binary.

use super::AppState;
use super::api::{parse_time, window};
use crate::status::rfc3339;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::sync::Arc;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn shell(page: &str, title: &str, data: &[(&str, String)], body: &str) -> Response {
    let nav = [
        ("jobs", "/", "Current jobs"),
        ("tables", "/tables", "All tables"),
        ("graph", "/graph", "Lineage"),
    ]
    .iter()
    .map(|(id, href, label)| {
        let class = if *id == page { " class=\"active\"" } else { "" };
        format!("<a href=\"{href}\"{class}>{label}</a>")
    })
    .collect::<String>();
    let attributes: String = data
        .iter()
        .map(|(k, v)| format!(" data-{k}=\"{}\"", escape(v)))
        .collect();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} — duro</title><link rel=\"stylesheet\" href=\"/assets/app.css\"><link rel=\"icon\" href=\"data:,\"></head>\
<body data-page=\"{page}\"{attributes}><header><nav>{nav}</nav><div id=\"stats\" aria-live=\"polite\"></div><span id=\"live-state\" class=\"live-state\"></span><div id=\"login\"></div></header>\
<div id=\"schedule-banner\" class=\"banner\" role=\"alert\" hidden></div>\
<main id=\"main\">{loading}{body}</main><div id=\"tooltip\" role=\"tooltip\" hidden></div>\
<script src=\"/assets/app.js\"></script>{vendor}{script}</body></html>",
        escape(title),
        vendor = if page == "graph" {
            format!("<script src=\"/assets/{DAGRE}\"></script>")
        } else {
            String::new()
        },
        loading = if page == ERROR_PAGE {
            ""
        } else {
            "<p id=\"load-state\" class=\"load-state\" role=\"status\">Loading…</p>"
        },
        script = if page == ERROR_PAGE {
            String::new()
        } else {
            format!("<script src=\"/assets/{page}.js\"></script>")
        }
    ))
    .into_response()
}

/// The page id of error pages: the shell without a page script.
const ERROR_PAGE: &str = "error";

/// An error page in the UI's layout (navigation, header counts, banner), with a way back.
fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let mut response = shell(
        ERROR_PAGE,
        title,
        &[],
        &format!(
            "<section class=\"error-page\"><h1>{}</h1><p>{}</p><p><a href=\"/\">Current jobs</a> · <a href=\"/tables\">All tables</a> · <a href=\"/graph\">Lineage</a></p></section>",
            escape(title),
            escape(message)
        ),
    );
    *response.status_mut() = status;
    response
}

fn bad_request(message: String) -> Response {
    error_page(StatusCode::BAD_REQUEST, "Bad request", &message)
}

fn jobs_page(from: Option<&str>, to: Option<&str>) -> Response {
    let explicit = from.is_some();
    match window(from, to) {
        Ok((from, to)) => shell(
            "jobs",
            "Current jobs",
            &[
                ("from", rfc3339(from.as_millisecond())),
                ("to", rfc3339(to.as_millisecond())),
                ("fixed", if explicit { "1".into() } else { "".into() }),
            ],
            // The links work without the script; jobs.js adds the search and grouping to them.
            "<section class=\"toolbar jobs-toolbar\"><span id=\"window\"></span>\
<span class=\"presets\" role=\"group\" aria-label=\"Live window\">Live \
<a class=\"preset\" id=\"live\" data-span=\"30m\" href=\"/\">30m</a><a class=\"preset\" data-span=\"1h\" href=\"/?span=1h\">1h</a>\
<a class=\"preset\" data-span=\"6h\" href=\"/?span=6h\">6h</a><a class=\"preset\" data-span=\"24h\" href=\"/?span=24h\">24h</a>\
<a class=\"preset\" data-span=\"7d\" href=\"/?span=7d\">7d</a></span>\
<a id=\"zoom-out\" href=\"/?span=1h\" title=\"Double the window around its centre\">Zoom out</a>\
<label>Find <input type=\"search\" id=\"job-search\" placeholder=\"table name\" autocomplete=\"off\"></label>\
<label><input type=\"checkbox\" id=\"group-schema\"> group by schema</label>\
<label><input type=\"checkbox\" id=\"show-deps\"> dependencies and critical path</label></section>\
<div id=\"timeline\" class=\"timeline\"></div><p id=\"legend\" class=\"legend\"></p><p class=\"hint\">Drag across the timeline to zoom in.</p>",
        ),
        Err(message) => bad_request(message),
    }
}

#[derive(serde::Deserialize)]
pub struct WindowQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `/` — current jobs, `?from=&to=` to zoom.
pub async fn jobs(Query(q): Query<WindowQuery>) -> Response {
    jobs_page(q.from.as_deref(), q.to.as_deref())
}

/// `/<from>/` — the old link form, from a time until now.
pub async fn jobs_from(Path(from): Path<String>) -> Response {
    if parse_time(&from).is_none() {
        return not_found().await;
    }
    jobs_page(Some(&from), None)
}

/// `/<from>/<to>` with or without a trailing slash.
pub async fn jobs_between(Path((from, to)): Path<(String, String)>) -> Response {
    if parse_time(&from).is_none() {
        return not_found().await;
    }
    jobs_page(Some(&from), Some(&to))
}

/// `/tables` — all tables.
pub async fn tables() -> Response {
    shell(
        "tables",
        "All tables",
        &[],
        "<section class=\"toolbar\"><label>Search <input type=\"search\" id=\"search\" placeholder=\"name, state…\" autofocus></label><span id=\"count\"></span></section>\
<table id=\"tables\" class=\"grid\"><thead><tr>\
<th data-key=\"name\">Table</th><th data-key=\"interval\">Interval</th><th data-key=\"built\">Last built</th><th data-key=\"mean\">Mean time</th>\
<th data-key=\"state\">State</th><th data-key=\"freshness\">Freshness</th><th colspan=\"2\"></th></tr></thead><tbody></tbody></table>",
    )
}

/// `/tables/<name>` — one table.
pub async fn table(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let known = crate::state::normalise_table_arg(&name, &state.default_schema)
        .map(|n| state.with_store(|s| s.table(&n)).ok().flatten().is_some())
        .unwrap_or(false);
    if !known {
        return error_page(
            StatusCode::NOT_FOUND,
            "Unknown table",
            &format!(
                "duro knows no table named {name}: see All tables for the tables of the views directory."
            ),
        );
    }
    shell(
        "table",
        &name,
        &[("table", name.clone())],
        "<h1 id=\"title\"></h1><p id=\"summary\"></p><div id=\"actions\"></div>\
<section><h2>Duration of past runs</h2><div id=\"chart\" class=\"chart\"></div></section>\
<section class=\"columns\"><div><h2>Depends on</h2><ul id=\"depends\"></ul><h2>Sources</h2><ul id=\"sources\"></ul></div>\
<div><h2>Dependents</h2><ul id=\"dependents\"></ul><h2>Effective config</h2><table id=\"config\" class=\"grid\"></table></div></section>\
<section><div id=\"query-block\"><h2>Query</h2></div><div id=\"tests-block\"></div></section>\
<section><h2>Runs</h2><div id=\"runs\"></div></section>",
    )
}

/// `/graph` — the lineage graph; `?focus=<table>&hops=N` shows a table's neighbourhood, `?q=` searches.
pub async fn graph() -> Response {
    let hops: String = ["1", "2", "3", "4", "5", "all"]
        .iter()
        .map(|h| format!("<option value=\"{h}\">{h}</option>"))
        .collect();
    shell(
        "graph",
        "Lineage",
        &[],
        &format!(
            "<section class=\"toolbar\"><label>Find <input type=\"search\" id=\"find\" placeholder=\"table (Enter to focus)\"></label>\
<label>Focus on <input id=\"focus\" list=\"graph-tables\" placeholder=\"table\" autocomplete=\"off\"></label>\
<label>hops up and down <select id=\"hops\">{hops}</select></label><a href=\"/graph\">Whole graph</a>\
<span id=\"graph-count\"></span></section><datalist id=\"graph-tables\"></datalist>\
<p id=\"graph-legend\" class=\"legend\"></p><div id=\"graph\" class=\"graph\"></div>"
        ),
    )
}

/// The vendored layout library (`assets/vendor/README.md`). Its name carries its version, so it
/// is cached for good.
const DAGRE: &str = "dagre-3.1.3.min.js";

const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "jobs.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/jobs.js"),
    ),
    (
        "tables.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/tables.js"),
    ),
    (
        "table.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/table.js"),
    ),
    (
        "graph.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/graph.js"),
    ),
    (
        DAGRE,
        "text/javascript; charset=utf-8",
        include_str!("assets/vendor/dagre-3.1.3.min.js"),
    ),
];

/// `/assets/<file>` — embedded CSS and scripts.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((name, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (
                    header::CACHE_CONTROL,
                    if *name == DAGRE {
                        "public, max-age=31536000, immutable"
                    } else {
                        "no-cache"
                    },
                ),
            ],
            *body,
        )
            .into_response(),
        None => not_found().await,
    }
}

pub async fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address. A table that was removed from the views directory keeps its page only while its state is kept.",
    )
}
