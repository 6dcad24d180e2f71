//! The UI in a real browser (Debian's chromium driven through chromedriver): every page loads
//! against a state database with real runs on PostgreSQL, "Update tree" records the force, a
//! running job appears on the timeline without a reload, and markup in a query stays text.
//! Screenshots go to target/screenshots (and to docs/ with DURO_UPDATE_SCREENSHOTS=1).

mod common;

use common::Project;
use common::pg::TestDb;
use common::web::Server;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.exists())
}

async fn browser() -> (Driver, Client, tempfile::TempDir) {
    let chromedriver = which("chromedriver").expect(
        "chromedriver not found: install Debian's chromium and chromium-driver (.ci/run does)",
    );
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("chromium not found");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
                "--window-size=1400,900", format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let started = Instant::now();
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return (driver, client, profile),
            Err(e) if started.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a browser session: {e}"),
        }
    }
}

async fn wait_for(client: &Client, what: &str, script: &str) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let value = client.execute(script, vec![]).await.unwrap();
        if !(value.is_null() || value == false || value == 0 || value == "") {
            return value;
        }
        if started.elapsed() > Duration::from_secs(20) {
            screenshot(client, "failure").await;
            let text = client
                .execute("return document.body.innerText", vec![])
                .await
                .unwrap_or_default();
            panic!("timed out waiting for {what}; the page says:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    if std::env::var_os("DURO_UPDATE_SCREENSHOTS").is_some() {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
    }
}

async fn no_script_errors(client: &Client) {
    let errors = client
        .execute(
            "return [...document.querySelectorAll('.script-error')].map(e => e.textContent)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        errors,
        serde_json::json!([]),
        "script errors on {}",
        client.current_url().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_in_a_real_browser() {
    let db = TestDb::new("browser");
    db.exec(
        "create schema raw;
         create table raw.orders as select g as id, g % 7 as customer, g * 1.5 as amount from generate_series(1, 500) g;",
    );
    let p = Project::on_postgres(&db.url, "[creator]\nretries = 0\nconcurrency = 2\n");
    p.write(
        "staging/orders.sql",
        "select id, customer, amount from raw.orders",
    );
    p.write(
        "staging/customers.sql",
        "select distinct customer from staging.orders",
    );
    p.write(
        "marts/revenue — 1h.sql",
        "-- revenue per customer; '<script>window.__xss = 1</script>' stays text\nselect c.customer, sum(o.amount) as revenue, '<img src=x onerror=\"window.__xss=2\">' as note\nfrom staging.customers c join staging.orders o using (customer)\ngroup by c.customer",
    );
    p.write(
        "marts/revenue_test.sql",
        "select count(*) = 7 as seven_customers from marts.revenue",
    );
    p.write(
        "marts/slow — 1h.sql",
        "select customer, pg_backend_pid() as pid from marts.revenue, pg_sleep(0.2) s",
    );
    p.write(
        "report/daily — 1d.sql",
        "select sum(revenue) as total from marts.revenue",
    );
    assert_eq!(p.run(&["schedule"]).code, 0);
    let built = p.run(&["create", "--once"]);
    assert_eq!(built.code, 0, "{}{}", built.stdout, built.stderr);
    // A second round so the duration chart has more than one point.
    p.sqlite()
        .execute("update tables set force = 1", [])
        .unwrap();
    assert_eq!(p.run(&["create", "--once"]).code, 0);

    let server = Server::start(&p);
    let (_driver, client, _profile) = browser().await;

    // All tables, then "Update tree" on marts.revenue.
    client.goto(&server.url("/tables")).await.unwrap();
    wait_for(
        &client,
        "table rows",
        "return document.querySelectorAll('#tables tbody tr').length === 5",
    )
    .await;
    let bar = client
        .execute(
            "return document.querySelector('.fresh > span').style.width",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        bar.as_str().unwrap().ends_with('%'),
        "freshness bar width {bar}"
    );
    wait_for(
        &client,
        "stats line",
        "return document.getElementById('stats').textContent.startsWith('Last 24h: 5 tables')",
    )
    .await;
    screenshot(&client, "tables").await;
    // Rows re-render on live updates, so find and click the button in one step.
    let label = client
        .execute(
            "const b = document.querySelector(\"button[data-table='marts.revenue'][data-tree='1']\"); b.click(); return b.textContent",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(label, "Update tree");
    wait_for(
        &client,
        "Scheduled buttons",
        "return [...document.querySelectorAll(\"button[data-table='marts.revenue']\")].every(b => b.textContent === 'Scheduled')",
    )
    .await;
    let forced: Vec<String> = p
        .sqlite()
        .prepare("select name from tables where force > 0 order by name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        forced,
        ["marts.revenue", "staging.customers", "staging.orders"]
    );
    no_script_errors(&client).await;

    // The table page: the query's markup is text, nothing ran.
    client
        .goto(&server.url("/tables/marts.revenue"))
        .await
        .unwrap();
    wait_for(
        &client,
        "run log",
        "return document.querySelectorAll('#runs .run').length === 2",
    )
    .await;
    let query = client
        .find(Locator::Id("query"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        query.contains("<script>window.__xss = 1</script>"),
        "{query}"
    );
    assert!(query.contains("<img src=x onerror="), "{query}");
    let xss = client
        .execute("return window.__xss === undefined", vec![])
        .await
        .unwrap();
    assert_eq!(xss, true, "markup from a query was executed");
    wait_for(
        &client,
        "chart points",
        "return document.querySelectorAll('#chart circle').length === 2",
    )
    .await;
    let config = client
        .find(Locator::Id("depends"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        config.contains("staging.customers") && config.contains("staging.orders"),
        "{config}"
    );
    screenshot(&client, "table").await;
    no_script_errors(&client).await;

    // The lineage graph.
    client.goto(&server.url("/graph")).await.unwrap();
    wait_for(
        &client,
        "graph nodes",
        "return document.querySelectorAll('#graph g.node').length === 5",
    )
    .await;
    screenshot(&client, "graph").await;
    no_script_errors(&client).await;

    // Current jobs, live: a run started now appears without a reload, then finishes.
    client.goto(&server.url("/")).await.unwrap();
    wait_for(
        &client,
        "timeline bars",
        "return document.querySelectorAll('#timeline rect.bar').length > 0",
    )
    .await;
    client
        .execute("window.__marker = 'same page'", vec![])
        .await
        .unwrap();
    p.write(
        "marts/slow — 1h.sql",
        "select customer, pg_backend_pid() as pid from marts.revenue, pg_sleep(4) s",
    );
    assert_eq!(p.run(&["schedule"]).code, 0);
    let mut run = p
        .command(&["run", "marts.slow"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(
        &client,
        "a running bar",
        "return document.querySelectorAll('#timeline rect.bar.running').length === 1",
    )
    .await;
    screenshot(&client, "jobs-running").await;
    assert!(run.wait().unwrap().success());
    wait_for(
        &client,
        "the bar to finish",
        "return document.querySelectorAll('#timeline rect.bar.running').length === 0",
    )
    .await;
    let same = client
        .execute("return window.__marker", vec![])
        .await
        .unwrap();
    assert_eq!(same, "same page", "the page was reloaded");
    // Zoomed on the last minutes, with dependencies and the critical path drawn.
    let now = jiff::Timestamp::now();
    let zoom = format!(
        "/?from={}&to={}",
        now - jiff::SignedDuration::from_secs(40),
        now + jiff::SignedDuration::from_secs(2)
    );
    client.goto(&server.url(&zoom)).await.unwrap();
    wait_for(
        &client,
        "bars",
        "return document.querySelectorAll('#timeline rect.bar').length > 0",
    )
    .await;
    client
        .execute("document.getElementById('show-deps').click()", vec![])
        .await
        .unwrap();
    wait_for(
        &client,
        "dependency edges",
        "return document.querySelectorAll('#timeline path.edge').length > 0",
    )
    .await;
    wait_for(
        &client,
        "critical path",
        "return document.querySelectorAll('#timeline .critical').length > 0",
    )
    .await;
    let labels = client
        .execute("return [...document.querySelectorAll('#timeline text.row-label')].map(t => t.textContent)", vec![])
        .await
        .unwrap();
    assert!(
        labels.as_array().unwrap().iter().any(|l| l == "marts.slow"),
        "{labels}"
    );
    screenshot(&client, "jobs").await;
    // Drag to zoom navigates to a fixed window.
    client
        .goto(&server.url("/?from=2000-01-01T00:00:00Z&to=2000-01-01T01:00:00Z"))
        .await
        .unwrap();
    wait_for(
        &client,
        "empty window",
        "return document.getElementById('timeline').textContent.includes('No runs in this window')",
    )
    .await;
    no_script_errors(&client).await;
    client.close().await.unwrap();
}

/// A project without a warehouse: three scheduled tables (s.a ← s.b ← s.c) and a run of each
/// recorded in the state, so every page has something to show.
fn project_with_runs() -> Project {
    let p = Project::new();
    p.write("s/a.sql", "select 1 as x");
    p.write("s/b — 1h.sql", "select x from s.a");
    p.write("s/c — 2h.sql", "select * from s.b");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let db = p.sqlite();
    let now = jiff::Timestamp::now().as_millisecond();
    for (table, offset, outcome) in [
        ("s.a", 600_000, "success"),
        ("s.b", 500_000, "success"),
        ("s.c", 400_000, "failed"),
    ] {
        db.execute(
            "insert into runs (table_name, started_at, finished_at, outcome, error, steps) values (?1, ?2, ?3, ?4, null, '[]')",
            rusqlite::params![table, now - offset, now - offset + 2000, outcome],
        )
        .unwrap();
        db.execute(
            "update tables set last_outcome = ?2, last_finished = ?3, last_built = case when ?2 = 'success' then ?4 else last_built end, force = 0 where name = ?1",
            rusqlite::params![table, outcome, now - offset + 2000, now - offset],
        )
        .unwrap();
    }
    p
}

/// A script returning true once the page at `path` shows its content.
fn content_of(path: &str) -> &'static str {
    match path {
        "/" => "return document.querySelectorAll('#timeline rect.bar').length === 3",
        "/tables" => "return document.querySelectorAll('#tables tbody tr').length === 3",
        "/graph" => "return document.querySelectorAll('#graph g.node').length === 3",
        _ => {
            "return document.querySelectorAll('#runs .run').length === 1 && document.getElementById('title').textContent.startsWith('s.')"
        }
    }
}

/// Opens one tab per path (the first in the current window), each loaded before the next opens.
async fn open_tabs(
    client: &Client,
    server: &Server,
    paths: &[&str],
) -> Vec<fantoccini::wd::WindowHandle> {
    let mut handles = vec![client.window().await.unwrap()];
    for _ in 1..paths.len() {
        handles.push(client.new_window(true).await.unwrap().handle);
    }
    for (handle, path) in handles.iter().zip(paths) {
        client.switch_to_window(handle.clone()).await.unwrap();
        client.goto(&server.url(path)).await.unwrap();
    }
    handles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_tabs_share_one_live_connection() {
    let p = project_with_runs();
    let server = Server::start(&p);
    let (_driver, client, _profile) = browser().await;
    // A page that cannot get a connection must fail the test quickly, not in five minutes.
    client
        .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
            Some(Duration::from_secs(30)),
            Some(Duration::from_secs(20)),
            None,
        ))
        .await
        .unwrap();
    // Eight tabs: more than the six connections a browser opens to one server over HTTP/1.1.
    let paths = [
        "/",
        "/tables",
        "/graph",
        "/tables/s.a",
        "/",
        "/tables",
        "/graph",
        "/tables/s.c",
    ];
    let handles = open_tabs(&client, &server, &paths).await;
    let mut modes = Vec::new();
    for (handle, path) in handles.iter().zip(paths) {
        client.switch_to_window(handle.clone()).await.unwrap();
        wait_for(&client, &format!("the content of {path}"), content_of(path)).await;
        wait_for(
            &client,
            "the loading notice to go",
            "return document.getElementById('load-state').hidden",
        )
        .await;
        wait_for(
            &client,
            "the header's stats",
            "return document.getElementById('stats').textContent.startsWith('Last 24h')",
        )
        .await;
        wait_for(
            &client,
            "a live connection",
            "return document.getElementById('live-state').dataset.state === 'live'",
        )
        .await;
        no_script_errors(&client).await;
        modes.push(
            client
                .execute("return duro.live.mode", vec![])
                .await
                .unwrap(),
        );
    }
    screenshot(&client, "eighth-tab").await;
    let leaders: Vec<usize> = (0..modes.len()).filter(|&i| modes[i] == "leader").collect();
    assert_eq!(
        leaders.len(),
        1,
        "one tab holds the event stream: {modes:?}"
    );
    assert!(
        modes.iter().all(|m| m == "leader" || m == "follower"),
        "{modes:?}"
    );

    // A change in the state reaches every tab through the one stream.
    async fn changes(client: &Client, handles: &[fantoccini::wd::WindowHandle]) -> Vec<i64> {
        let mut counts = Vec::new();
        for h in handles {
            client.switch_to_window(h.clone()).await.unwrap();
            let n = client
                .execute("return duro.live.changes", vec![])
                .await
                .unwrap();
            counts.push(n.as_i64().unwrap());
        }
        counts
    }
    async fn all_see_a_change(
        client: &Client,
        p: &Project,
        handles: &[fantoccini::wd::WindowHandle],
        table: &str,
    ) {
        let before = changes(client, handles).await;
        p.sqlite()
            .execute("update tables set force = 1 where name = ?1", [table])
            .unwrap();
        for (h, n) in handles.iter().zip(before) {
            client.switch_to_window(h.clone()).await.unwrap();
            wait_for(
                client,
                "the change to arrive",
                &format!("return duro.live.changes > {n}"),
            )
            .await;
        }
    }
    all_see_a_change(&client, &p, &handles, "s.b").await;
    client.switch_to_window(handles[1].clone()).await.unwrap();
    wait_for(
        &client,
        "the forced badge",
        "return document.querySelector(\"tr[data-name='s.b'] .badge.forced\") !== null",
    )
    .await;

    // Closing the leader hands the stream to another tab.
    client
        .switch_to_window(handles[leaders[0]].clone())
        .await
        .unwrap();
    client.close_window().await.unwrap();
    let rest: Vec<_> = handles
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != leaders[0])
        .map(|(_, h)| h.clone())
        .collect();
    let started = Instant::now();
    loop {
        let mut leaders = 0;
        for h in &rest {
            client.switch_to_window(h.clone()).await.unwrap();
            if client
                .execute("return duro.live.mode", vec![])
                .await
                .unwrap()
                == "leader"
            {
                leaders += 1;
            }
        }
        if leaders == 1 {
            break;
        }
        assert!(
            leaders == 0 && started.elapsed() < Duration::from_secs(20),
            "{leaders} leaders after the first one closed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    all_see_a_change(&client, &p, &rest, "s.c").await;
    client.switch_to_window(rest[0].clone()).await.unwrap();
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_fallback_when_tabs_cannot_share() {
    let p = project_with_runs();
    let server = Server::start(&p);
    let (_driver, client, _profile) = browser().await;
    client.goto(&server.url("/tables")).await.unwrap();
    client
        .execute("localStorage.setItem('duro-live', 'poll')", vec![])
        .await
        .unwrap();
    let paths = [
        "/tables",
        "/",
        "/graph",
        "/tables/s.b",
        "/tables",
        "/",
        "/graph",
    ];
    let handles = open_tabs(&client, &server, &paths).await;
    for (handle, path) in handles.iter().zip(paths) {
        client.switch_to_window(handle.clone()).await.unwrap();
        wait_for(&client, &format!("the content of {path}"), content_of(path)).await;
        let mode = client
            .execute("return duro.live.mode", vec![])
            .await
            .unwrap();
        assert_eq!(mode, "poll");
    }
    p.sqlite()
        .execute("update tables set force = 1 where name = 's.a'", [])
        .unwrap();
    client.switch_to_window(handles[0].clone()).await.unwrap();
    wait_for(
        &client,
        "the forced badge, by polling",
        "return document.querySelector(\"tr[data-name='s.a'] .badge.forced\") !== null",
    )
    .await;
    no_script_errors(&client).await;

    // The server goes away: the header says so, and the next load shows an error with a Retry
    // button above the content already shown, instead of blank space.
    drop(server);
    client.switch_to_window(handles[1].clone()).await.unwrap();
    wait_for(
        &client,
        "the header to say offline",
        "return document.getElementById('live-state').dataset.state === 'offline'",
    )
    .await;
    wait_for(
        &client,
        "the error of the timeline's refresh",
        "const s = document.getElementById('load-state');
         return !s.hidden && s.textContent.startsWith('Could not refresh the runs')
           && s.querySelector('button') !== null
           && document.querySelectorAll('#timeline rect.bar').length === 3",
    )
    .await;
    screenshot(&client, "server-gone").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_schedule_shows_a_banner_on_every_page() {
    let p = project_with_runs();
    let server = Server::start(&p);
    let (_driver, client, _profile) = browser().await;
    let paths = ["/", "/tables", "/graph", "/tables/s.a"];
    let handles = open_tabs(&client, &server, &paths).await;
    for (handle, path) in handles.iter().zip(paths) {
        client.switch_to_window(handle.clone()).await.unwrap();
        wait_for(&client, &format!("the content of {path}"), content_of(path)).await;
        let hidden = client
            .execute(
                "return document.getElementById('schedule-banner').hidden",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(hidden, true, "{path}: a banner before anything broke");
    }

    // Two errors: a config value that could reach SQL (with its line), and a file name with
    // markup, which must stay text.
    p.write("s/a.conf", "# grants\ngrant_select = jane; drop table x\n");
    p.write("s/<img src=x onerror=__xss=1>.sql", "select 1");
    let check = p.run(&["check", "--format", "json"]).json();
    let errors: Vec<String> = check
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| match (d["file"].as_str(), d["line"].as_u64()) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (Some(f), None) => f.to_string(),
            _ => String::new(),
        })
        .collect();
    assert!(errors.contains(&"s/a.conf:2".to_string()), "{check}");
    assert!(errors.iter().any(|e| e.starts_with("s/<img")), "{check}");
    let refused = p.run(&["schedule"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);

    let banner_shows = format!(
        "const b = document.getElementById('schedule-banner');
         const where = [...b.querySelectorAll('li .where')].map(e => e.textContent);
         return !b.hidden && b.querySelectorAll('li').length === {n}
           && {expected}.every(w => where.includes(w))
           && b.textContent.includes('Schedule refused');",
        n = errors.len(),
        expected = serde_json::to_string(&errors).unwrap()
    );
    // The open pages show it without a reload, and a page opened now shows it too.
    let mut every = handles.clone();
    every.push(client.new_window(true).await.unwrap().handle);
    client.switch_to_window(every[4].clone()).await.unwrap();
    client.goto(&server.url("/tables/s.c")).await.unwrap();
    for (i, handle) in every.iter().enumerate() {
        client.switch_to_window(handle.clone()).await.unwrap();
        wait_for(&client, "the schedule banner", &banner_shows).await;
        let safe = client
            .execute(
                "return window.__xss === undefined && document.querySelector('#schedule-banner img') === null",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(safe, true, "markup in a file name was interpreted");
        let text = client
            .find(Locator::Id("schedule-banner"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("<img src=x onerror=__xss=1>"), "{text}");
        assert!(text.contains("drop table x"), "{text}");
        if i == 1 {
            screenshot(&client, "schedule-refused").await;
        }
        no_script_errors(&client).await;
    }

    // Fixed: the next schedule passes and the banner goes everywhere.
    p.remove("s/a.conf");
    p.remove("s/<img src=x onerror=__xss=1>.sql");
    assert_eq!(p.run(&["schedule"]).code, 0);
    for handle in &every {
        client.switch_to_window(handle.clone()).await.unwrap();
        wait_for(
            &client,
            "the banner to go",
            "return document.getElementById('schedule-banner').hidden",
        )
        .await;
    }
    client.close().await.unwrap();
}
