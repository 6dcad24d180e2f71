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

/// Clicks the element `css` finds, finding it again if the page re-rendered it between the
/// find and the click (the header's chips are redrawn whenever the state changes).
async fn click(client: &Client, css: &str) {
    let started = Instant::now();
    loop {
        let clicked = match client.find(Locator::Css(css)).await {
            Ok(element) => element.click().await.map(|_| ()),
            Err(e) => Err(e),
        };
        match clicked {
            Ok(()) => return,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot click {css}: {e}"),
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

/// Measures the drawn lineage graph from the SVG in the page, in screen coordinates, knowing
/// nothing of how graph.js draws: every `path[data-from]` is sampled every 3 px (getPointAtLength)
/// into segments, every `g.node`/`g.source` is its rect's box. Returns the segments that pass
/// through a node box other than the edge's own two (`bad`), edges that do not start at their
/// source's box and end at their target's (`loose`), and the crossings between edges with no node
/// in common (each intersection of two sampled segments, counted in the grid cell holding it).
const GEOMETRY_JS: &str = r#"
const started = performance.now();
const STEP = 3, CELL = 16;
const root = document.querySelector('#graph svg');
const boxes = [...root.querySelectorAll('g.node, g.source')].map((g) => {
  const r = g.querySelector('rect').getBoundingClientRect();
  return { id: g.dataset.id, l: r.left + 0.5, r: r.right - 0.5, t: r.top + 0.5, b: r.bottom - 0.5 };
});
const byId = new Map(boxes.map((b) => [b.id, b]));
const cell = (v) => Math.floor(v / CELL);
const push = (map, k, v) => (map.get(k) || map.set(k, []).get(k)).push(v);
const boxCells = new Map();
for (const b of boxes) for (let x = cell(b.l); x <= cell(b.r); x++) for (let y = cell(b.t); y <= cell(b.b); y++) push(boxCells, `${x},${y}`, b);
function through(p, q, b) { // Liang–Barsky: does segment pq meet box b?
  let t0 = 0, t1 = 1;
  const dx = q.x - p.x, dy = q.y - p.y;
  for (const [pp, qq] of [[-dx, p.x - b.l], [dx, b.r - p.x], [-dy, p.y - b.t], [dy, b.b - p.y]]) {
    if (pp === 0) { if (qq < 0) return false; continue; }
    const r = qq / pp;
    if (pp < 0) { if (r > t1) return false; if (r > t0) t0 = r; } else { if (r < t0) return false; if (r < t1) t1 = r; }
  }
  return true;
}
function meet(a, b, c, d) {
  const d1 = (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x), d2 = (b.x - a.x) * (d.y - a.y) - (b.y - a.y) * (d.x - a.x);
  const d3 = (d.x - c.x) * (a.y - c.y) - (d.y - c.y) * (a.x - c.x), d4 = (d.x - c.x) * (b.y - c.y) - (d.y - c.y) * (b.x - c.x);
  if (!(d1 * d2 < 0 && d3 * d4 < 0)) return null;
  const t = d1 / (d1 - d2);
  return { x: c.x + (d.x - c.x) * t, y: c.y + (d.y - c.y) * t };
}
const bad = [], loose = [], edges = [], segCells = new Map();
const near = (p, b) => p.x >= b.l - 1.5 && p.x <= b.r + 1.5 && p.y >= b.t - 1.5 && p.y <= b.b + 1.5;
root.querySelectorAll('path[data-from]').forEach((path, e) => {
  const from = path.dataset.from, to = path.dataset.to;
  edges.push([from, to]);
  const m = path.getScreenCTM(), len = path.getTotalLength();
  const pts = [];
  for (let s = 0; s < len; s += STEP) pts.push(path.getPointAtLength(s));
  pts.push(path.getPointAtLength(len));
  const screen = pts.map((p) => new DOMPoint(p.x, p.y).matrixTransform(m));
  if (!byId.has(from) || !byId.has(to) || !near(screen[0], byId.get(from)) || !near(screen[screen.length - 1], byId.get(to))) loose.push(`${from} -> ${to}`);
  for (let i = 0; i + 1 < screen.length; i++) {
    const p = screen[i], q = screen[i + 1];
    const seen = new Set();
    for (let x = cell(Math.min(p.x, q.x)); x <= cell(Math.max(p.x, q.x)); x++) {
      for (let y = cell(Math.min(p.y, q.y)); y <= cell(Math.max(p.y, q.y)); y++) {
        push(segCells, `${x},${y}`, [e, p, q]);
        for (const b of boxCells.get(`${x},${y}`) || []) {
          if (b.id === from || b.id === to || seen.has(b.id)) continue;
          seen.add(b.id);
          if (through(p, q, b)) bad.push(`${from} -> ${to} passes through ${b.id} at ${Math.round(p.x)},${Math.round(p.y)}`);
        }
      }
    }
  }
});
let crossings = 0;
for (const [k, list] of segCells) {
  const [cx, cy] = k.split(',').map(Number);
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const [ea, a, b] = list[i], [eb, c, d] = list[j];
      if (ea === eb) continue;
      const [fa, ta] = edges[ea], [fb, tb] = edges[eb];
      if (fa === fb || fa === tb || ta === fb || ta === tb) continue;
      const x = meet(a, b, c, d);
      if (x && cell(x.x) === cx && cell(x.y) === cy) crossings++;
    }
  }
}
return { nodes: boxes.length, edges: edges.length, bad: bad.slice(0, 20), bad_count: bad.length, loose: loose.slice(0, 20), crossings, ms: performance.now() - started };
"#;

/// A few dozen tables in five layers, each reading one to three tables of any layer below (so
/// long edges pass the layers between), the first layer reading two sources.
fn lineage_project() -> (Project, usize) {
    let p = Project::new();
    let mut seed: u64 = 7;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let mut layers: Vec<Vec<String>> = Vec::new();
    for (layer, size) in [6, 8, 8, 7, 6].into_iter().enumerate() {
        let mut names = Vec::new();
        for i in 0..size {
            let name = format!("l{layer}_v{i}");
            let sql = if layer == 0 {
                let source = if i % 2 == 0 {
                    "raw.events"
                } else {
                    "raw.users"
                };
                format!("select * from {source}")
            } else {
                let below = &layers[layer - 1];
                let mut parents = vec![format!("s.{}", below[i % below.len()])];
                for _ in 0..next(3) {
                    let lower = &layers[next(layer)];
                    parents.push(format!("s.{}", lower[next(lower.len())]));
                }
                parents.sort();
                parents.dedup();
                format!("select * from {}", parents.join(" cross join "))
            };
            p.write(&format!("s/{name} — 1h.sql"), sql);
            names.push(name);
        }
        layers.push(names);
    }
    assert_eq!(p.run(&["schedule"]).code, 0);
    (p, layers.iter().map(Vec::len).sum())
}

/// The ids graph.js gives the nodes ("t:" tables, "s:" sources) within `hops` steps up or down
/// of `focus`, from the API's graph.
fn neighbourhood(graph: &serde_json::Value, focus: &str, hops: usize) -> Vec<String> {
    let mut edges: Vec<(String, String)> = graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                format!("t:{}", e[0].as_str().unwrap()),
                format!("t:{}", e[1].as_str().unwrap()),
            )
        })
        .collect();
    for n in graph["nodes"].as_array().unwrap() {
        for s in n["sources"].as_array().unwrap() {
            edges.push((
                format!("s:{}", s.as_str().unwrap()),
                format!("t:{}", n["name"].as_str().unwrap()),
            ));
        }
    }
    let mut keep = std::collections::BTreeSet::from([focus.to_string()]);
    for upstream in [true, false] {
        let mut frontier = vec![focus.to_string()];
        let mut seen = std::collections::BTreeSet::from([focus.to_string()]);
        for _ in 0..hops {
            let mut following = Vec::new();
            for id in &frontier {
                for (v, w) in &edges {
                    let (here, there) = if upstream { (w, v) } else { (v, w) };
                    if here == id && seen.insert(there.clone()) {
                        keep.insert(there.clone());
                        following.push(there.clone());
                    }
                }
            }
            frontier = following;
        }
    }
    keep.into_iter().collect()
}

const DRAWN_IDS: &str = "return [...document.querySelectorAll('#graph g.node, #graph g.source')].map(g => g.dataset.id).sort()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_routes_edges_around_nodes_and_focuses() {
    let (p, tables) = lineage_project();
    let server = Server::start(&p);
    let graph = common::web::get(&server.url("/api/graph")).json();
    assert_eq!(graph["nodes"].as_array().unwrap().len(), tables);
    let (_driver, client, _profile) = browser().await;

    // The whole graph: every table, and the two sources as their own nodes.
    client.goto(&server.url("/graph")).await.unwrap();
    wait_for(
        &client,
        "the graph",
        &format!("return document.querySelectorAll('#graph g.node').length === {tables} && window.duroGraph.layouts > 0"),
    )
    .await;
    let sources = client
        .execute("return [...document.querySelectorAll('#graph g.source')].map(g => g.dataset.name).sort()", vec![])
        .await
        .unwrap();
    assert_eq!(sources, serde_json::json!(["raw.events", "raw.users"]));

    // Geometry: no edge passes through a node it does not connect, each starts and ends at its
    // own nodes, and the edges drawn are exactly the dependencies and reads of the API.
    let geometry = client.execute(GEOMETRY_JS, vec![]).await.unwrap();
    assert_eq!(geometry["bad"], serde_json::json!([]), "{geometry}");
    assert_eq!(geometry["loose"], serde_json::json!([]), "{geometry}");
    let expected_edges = graph["edges"].as_array().unwrap().len()
        + graph["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["sources"].as_array().unwrap().len())
            .sum::<usize>();
    assert_eq!(geometry["edges"], expected_edges, "{geometry}");
    let crossings = client
        .execute("return window.duroGraph.crossings", vec![])
        .await
        .unwrap();
    println!(
        "{tables} tables: {} edges, {} crossings measured in the SVG ({crossings} counted by graph.js)",
        geometry["edges"], geometry["crossings"]
    );
    assert_eq!(geometry["crossings"], crossings, "{geometry}");
    screenshot(&client, "lineage").await;

    // A legend, and every node a real link: an SVG <a href> around it (so cmd-click opens a
    // tab), a table to its page and a source to the tables that read it.
    let legend = client
        .find(Locator::Id("graph-legend"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for word in ["ok", "failed", "running", "never built", "source", "forced"] {
        assert!(legend.contains(word), "legend without {word}: {legend}");
    }
    let links = client
        .execute(
            "return [...document.querySelectorAll('#graph g.node, #graph g.source')].filter(g => !(g.parentNode instanceof SVGAElement) || !g.parentNode.getAttribute('href')).length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(links, 0, "nodes that are not links");
    let href = client
        .execute("return document.querySelector('#graph g.node[data-name=\"s.l2_v3\"]').parentNode.getAttribute('href')", vec![])
        .await
        .unwrap();
    assert_eq!(href, "/tables/s.l2_v3");
    let href = client
        .execute("return document.querySelector('#graph g.source[data-name=\"raw.users\"]').parentNode.getAttribute('href')", vec![])
        .await
        .unwrap();
    assert_eq!(href, "/graph?focus=raw.users&hops=1");

    // Search dims every other node.
    client
        .find(Locator::Id("find"))
        .await
        .unwrap()
        .send_keys("l3_")
        .await
        .unwrap();
    wait_for(
        &client,
        "the search",
        "const g = [...document.querySelectorAll('#graph g.node, #graph g.source')];
         return g.filter(x => x.classList.contains('match')).length === 7
           && g.every(x => x.classList.contains('match') !== x.classList.contains('dim'))
           && g.filter(x => x.classList.contains('match')).every(x => x.dataset.name.includes('l3_'))",
    )
    .await;

    // Focus mode from the URL, then with the hops select: exactly the N-hop neighbourhood.
    for hops in [1, 2] {
        client
            .goto(&server.url(&format!("/graph?focus=s.l2_v3&hops={hops}")))
            .await
            .unwrap();
        let expected = neighbourhood(&graph, "t:s.l2_v3", hops);
        wait_for(
            &client,
            &format!("focus with {hops} hops"),
            &format!(
                "const ids = (() => {{ {DRAWN_IDS} }})(); return JSON.stringify(ids) === {:?}",
                serde_json::to_string(&expected).unwrap()
            ),
        )
        .await;
        let geometry = client.execute(GEOMETRY_JS, vec![]).await.unwrap();
        assert_eq!(geometry["bad"], serde_json::json!([]), "{geometry}");
        assert_eq!(geometry["loose"], serde_json::json!([]), "{geometry}");
    }
    let focused = client
        .execute(
            "return document.querySelector('#graph g.focus').dataset.id",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, "t:s.l2_v3");
    client
        .find(Locator::Css("#hops option[value='3']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let expected = neighbourhood(&graph, "t:s.l2_v3", 3);
    wait_for(
        &client,
        "focus with 3 hops from the select",
        &format!(
            "const ids = (() => {{ {DRAWN_IDS} }})(); return JSON.stringify(ids) === {:?} && location.search === '?focus=s.l2_v3&hops=3'",
            serde_json::to_string(&expected).unwrap()
        ),
    )
    .await;
    // A source's link focuses on the tables that read it.
    client
        .goto(&server.url("/graph?focus=raw.users&hops=1"))
        .await
        .unwrap();
    let expected = neighbourhood(&graph, "s:raw.users", 1);
    assert_eq!(expected.len(), 4, "{expected:?}");
    wait_for(
        &client,
        "a source's readers",
        &format!(
            "const ids = (() => {{ {DRAWN_IDS} }})(); return JSON.stringify(ids) === {:?}",
            serde_json::to_string(&expected).unwrap()
        ),
    )
    .await;
    no_script_errors(&client).await;

    // Clicking a node follows its link.
    client
        .goto(&server.url("/graph?focus=s.l2_v3&hops=1"))
        .await
        .unwrap();
    wait_for(
        &client,
        "the focus",
        "return document.querySelector('#graph g.focus') !== null",
    )
    .await;
    client
        .find(Locator::Css("#graph g.focus"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &client,
        "the table page",
        "return location.pathname === '/tables/s.l2_v3'",
    )
    .await;

    // The table page draws its neighbourhood: what it reads left, what reads it right, links.
    let table = common::web::get(&server.url("/api/tables/s.l2_v3")).json();
    let mut expected: Vec<String> = ["depends_on", "sources", "dependents"]
        .iter()
        .flat_map(|k| {
            table[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
        })
        .collect();
    expected.push("s.l2_v3".into());
    expected.sort();
    wait_for(
        &client,
        "the neighbourhood graph",
        &format!(
            "const g = [...document.querySelectorAll('#neighbourhood svg g')];
             return g.length > 0 && JSON.stringify(g.map(x => x.dataset.name).sort()) === {:?}
               && g.every(x => x.parentNode instanceof SVGAElement && x.parentNode.getAttribute('href'))
               && document.querySelectorAll('#neighbourhood path.edge').length === g.length - 1",
            serde_json::to_string(&expected).unwrap()
        ),
    )
    .await;
    let href = client
        .execute("return document.querySelector('#neighbourhood g.node.other').parentNode.getAttribute('href')", vec![])
        .await
        .unwrap();
    assert!(href.as_str().unwrap().starts_with("/tables/s.l"), "{href}");
    screenshot(&client, "table-neighbourhood").await;
    no_script_errors(&client).await;
    client.close().await.unwrap();
}

/// The lineage page at 500 tables of bench/gen_views.py (BENCHMARKS.md, Web UI): the layout's
/// time in the browser, the crossings and edges through nodes measured in the SVG.
/// `cargo test --test web_browser lineage_at_500_tables -- --ignored --nocapture`
/// (`DURO_LINEAGE_TABLES` for another size).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement for BENCHMARKS.md"]
async fn lineage_at_500_tables() {
    let n: usize = std::env::var("DURO_LINEAGE_TABLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let p = Project::new();
    let generated = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/gen_views.py"))
        .arg(n.to_string())
        .arg(p.views())
        .status()
        .unwrap();
    assert!(generated.success());
    let scheduled = p.run(&["schedule"]);
    assert_eq!(scheduled.code, 0, "{}", scheduled.stderr);
    let server = Server::start(&p);
    let (_driver, client, _profile) = browser().await;
    // Measuring 500 tables' edges takes about 10 s of script.
    client
        .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
            Some(Duration::from_secs(300)),
            None,
            None,
        ))
        .await
        .unwrap();
    let drawn = format!(
        "return document.querySelectorAll('#graph g.node').length === {n} && window.duroGraph.layouts > 0"
    );
    let mut layouts = Vec::new();
    let mut pages = Vec::new();
    for _ in 0..3 {
        client.goto(&server.url("/graph")).await.unwrap();
        wait_for(&client, "the graph", &drawn).await;
        let s = client
            .execute("return window.duroGraph", vec![])
            .await
            .unwrap();
        layouts.push(s["ms"].as_f64().unwrap());
        pages.push(s["drawnAt"].as_f64().unwrap());
    }
    let stats = client
        .execute("return window.duroGraph", vec![])
        .await
        .unwrap();
    let geometry = client.execute(GEOMETRY_JS, vec![]).await.unwrap();
    screenshot(&client, "lineage-500").await;
    layouts.sort_by(f64::total_cmp);
    pages.sort_by(f64::total_cmp);
    println!(
        "{n} tables: {} nodes, {} edges; dagre layout {:.0} ms (median of 3; {:.0}–{:.0}), page load to graph drawn {:.0} ms",
        stats["nodes"], stats["edges"], layouts[1], layouts[0], layouts[2], pages[1]
    );
    println!(
        "crossings measured in the SVG: {} ({} counted by graph.js); segments through a node they do not connect: {}; loose ends: {}; measuring took {:.0} ms",
        geometry["crossings"],
        stats["crossings"],
        geometry["bad_count"],
        geometry["loose"].as_array().unwrap().len(),
        geometry["ms"].as_f64().unwrap()
    );
    assert_eq!(geometry["bad_count"], 0, "{geometry}");
    // Focus mode on a table of the middle layer, 2 hops up and down.
    let graph = common::web::get(&server.url("/api/graph")).json();
    let middle = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .find(|t| t.ends_with(".l2_v0"))
        .unwrap();
    client
        .goto(&server.url(&format!("/graph?focus={middle}&hops=2")))
        .await
        .unwrap();
    wait_for(
        &client,
        "the focus",
        "return window.duroGraph.layouts > 0 && document.querySelector('#graph g.focus') !== null",
    )
    .await;
    let focused = client
        .execute("return window.duroGraph", vec![])
        .await
        .unwrap();
    let geometry = client.execute(GEOMETRY_JS, vec![]).await.unwrap();
    println!(
        "focus on {middle}, 2 hops: {} nodes, {} edges, layout {:.0} ms, {} crossings, {} segments through nodes",
        focused["nodes"],
        focused["edges"],
        focused["ms"].as_f64().unwrap(),
        geometry["crossings"],
        geometry["bad_count"]
    );
    assert_eq!(geometry["bad_count"], 0, "{geometry}");
    client.close().await.unwrap();
}

/// Attention first and comfort: a failed table (three identical failures, markup in its error),
/// one downstream of it, an overdue one, healthy ones and a removed one. The header counts them on
/// every page; the "failed" chip filters the list (and the URL says so) to the failed table with
/// its error's first line; the timeline folds the repeated failures; dark mode and UTC toggle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attention_chips_dark_mode_and_utc() {
    let p = Project::new();
    p.write("s/a.sql", "select 1 as x");
    p.write("s/b — 1h.sql", "select x from s.a");
    p.write("s/c — 2h.sql", "select * from s.b");
    p.write("s/d — 1h.sql", "select 2 as y");
    p.write("s/e — 1d.sql", "select 3 as z");
    p.write("s/gone — 1d.sql", "select 4 as w");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let db = p.sqlite();
    let now = jiff::Timestamp::now().as_millisecond();
    let error = "relation \"s.missing\" <img src=x onerror=__xss=1> does not exist\nLINE 1: select x from s.missing\n        ^";
    let min = 60_000;
    // (table, minutes ago, outcome, error); the last of each table is its state.
    let runs: &[(&str, i64, &str, Option<&str>)] = &[
        ("s.a", 20, "success", None),
        ("s.b", 18, "failed", Some(error)),
        ("s.b", 12, "failed", Some(error)),
        ("s.b", 6, "failed", Some(error)),
        ("s.c", 15, "success", None),
        ("s.d", 180, "success", None),
        ("s.e", 10, "success", None),
        ("s.gone", 25, "success", None),
    ];
    for (table, ago, outcome, err) in runs {
        let start = now - ago * min;
        db.execute(
            "insert into runs (table_name, started_at, finished_at, outcome, error, steps) values (?1, ?2, ?3, ?4, ?5, '[]')",
            rusqlite::params![table, start, start + 2000, outcome, err],
        )
        .unwrap();
        db.execute(
            "update tables set last_outcome = ?2, last_finished = ?3, last_error = ?5, last_built = case when ?2 = 'success' then ?4 else last_built end, force = 0 where name = ?1",
            rusqlite::params![table, outcome, start + 2000, start, err],
        )
        .unwrap();
    }
    db.execute(
        "update tables set removed_at = ?1 where name = 's.gone'",
        [now - min],
    )
    .unwrap();
    let server = Server::start(&p);
    let (_driver, client, _profile) = browser().await;
    let counts = "return [...document.querySelectorAll('#attention .chip')].map(c => c.dataset.kind + ':' + c.querySelector('.n').textContent).join(' ')";
    let expected = "failed:1 overdue:1 running:0 upstream:1 refused:0";

    // The header's counts on the timeline and on the lineage page.
    for path in ["/", "/graph"] {
        client.goto(&server.url(path)).await.unwrap();
        wait_for(
            &client,
            &format!("the attention counts on {path}"),
            &format!("{counts} === '{expected}'"),
        )
        .await;
        no_script_errors(&client).await;
    }

    // The tables list: removed hidden, failed first with its error's first line, as text.
    client.goto(&server.url("/tables")).await.unwrap();
    wait_for(
        &client,
        "five rows, the removed table hidden",
        "return document.querySelectorAll('#tables tbody tr').length === 5",
    )
    .await;
    wait_for(
        &client,
        "the attention counts on /tables",
        &format!("{counts} === '{expected}'"),
    )
    .await;
    let first = client
        .execute(
            "const r = document.querySelector('#tables tbody tr'); return [r.dataset.name, r.querySelector('.error-line').textContent]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        first,
        serde_json::json!(["s.b", error.lines().next().unwrap()])
    );
    let safe = client
        .execute(
            "return window.__xss === undefined && document.querySelector('#tables img') === null",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(safe, true, "markup in an error was interpreted");
    click(&client, "#show-removed").await;
    wait_for(
        &client,
        "the removed table shown",
        "return document.querySelectorAll('#tables tbody tr').length === 6 && location.search.includes('removed=1')",
    )
    .await;

    // The "failed" chip: a link that filters the list and says so in the URL.
    click(&client, "#attention .chip[data-kind=failed]").await;
    wait_for(
        &client,
        "the list filtered to the failed table",
        "const rows = [...document.querySelectorAll('#tables tbody tr')];
         return new URLSearchParams(location.search).get('attention') === 'failed'
           && rows.length === 1 && rows[0].dataset.name === 's.b'
           && rows[0].querySelector('.error-line').textContent.startsWith('relation \"s.missing\"')
           && document.querySelector('#attention .chip.active').dataset.kind === 'failed'",
    )
    .await;
    screenshot(&client, "tables-attention-failed").await;
    no_script_errors(&client).await;

    // The timeline with the same chip: only s.b, its three identical failures folded into one.
    client
        .goto(&server.url("/?attention=failed"))
        .await
        .unwrap();
    wait_for(
        &client,
        "one folded bar of three failures",
        "const bars = [...document.querySelectorAll('#timeline rect.bar')];
         return bars.length === 1 && bars[0].dataset.count === '3'
           && document.querySelector('#timeline .fold-count').textContent === '×3'",
    )
    .await;

    // Dark mode: the toggle changes the computed background, and is kept for the next page.
    let background = "return getComputedStyle(document.body).backgroundColor";
    let light = client.execute(background, vec![]).await.unwrap();
    click(&client, "#theme-toggle").await;
    wait_for(
        &client,
        "a dark background",
        &format!("return getComputedStyle(document.body).backgroundColor !== {light}"),
    )
    .await;
    let dark = client.execute(background, vec![]).await.unwrap();
    screenshot(&client, "jobs-dark").await;
    client.goto(&server.url("/tables")).await.unwrap();
    wait_for(
        &client,
        "the dark theme kept",
        &format!("return getComputedStyle(document.body).backgroundColor === {dark}"),
    )
    .await;

    // Local time by default, UTC with the toggle: the window of the timeline changes format.
    client.goto(&server.url("/")).await.unwrap();
    wait_for(
        &client,
        "the window in local time",
        "return /\\(UTC[+-]\\d\\d:\\d\\d\\) \\(/.test(document.getElementById('window').textContent)",
    )
    .await;
    click(&client, "#tz-toggle").await;
    wait_for(
        &client,
        "the window in UTC",
        "const t = document.getElementById('window').textContent;
         return / UTC \\(/.test(t) && !t.includes('(UTC+') && document.getElementById('tz-toggle').textContent === 'UTC'",
    )
    .await;

    // 400 px wide: nothing wider than the window.
    client.set_window_size(400, 800).await.unwrap();
    for path in ["/tables", "/"] {
        client.goto(&server.url(path)).await.unwrap();
        wait_for(
            &client,
            &format!("{path} at 400 px without horizontal scrolling"),
            "return document.querySelectorAll('#tables tbody tr, #timeline rect.bar').length > 0
               && document.documentElement.scrollWidth <= window.innerWidth",
        )
        .await;
        screenshot(&client, &format!("narrow{}", path.replace('/', "-"))).await;
    }
    no_script_errors(&client).await;
    client.close().await.unwrap();
}

/// The timeline at 500 tables with a week of hourly runs (84,000) and one running job: the
/// presets and "Zoom out" change the window (kept in the URL), the search and the grouping by
/// schema filter and group the rows (kept in the URL too), the axis stays in view while the page
/// scrolls, only the rows near the viewport are in the DOM, and the running job shows its step and
/// elapsed time. Prints the payload sizes and the redraw times (BENCHMARKS.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_timeline_at_500_tables() {
    let p = Project::new();
    let generated = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/gen_views.py"))
        .arg("500")
        .arg(p.views())
        .status()
        .unwrap();
    assert!(generated.success());
    let scheduled = p.run(&["schedule"]);
    assert_eq!(scheduled.code, 0, "{}", scheduled.stderr);
    let mut db = p.sqlite();
    let names: Vec<String> = db
        .prepare("select name from tables where removed_at is null order by name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names.len(), 500);
    let now = jiff::Timestamp::now().as_millisecond();
    let (hour, day) = (3_600_000i64, 86_400_000i64);
    let seeded = db.transaction().unwrap();
    {
        let mut insert = seeded
            .prepare("insert into runs (table_name, started_at, finished_at, outcome, error, steps, owner) values (?1, ?2, ?3, ?4, ?5, '[]', 'seed')")
            .unwrap();
        for (i, name) in names.iter().enumerate() {
            // Within the week whenever the page opens in the next 9 minutes.
            let offset = (i as i64 * 37 % 3000) * 1000;
            for k in 0..168i64 {
                let start = now - k * hour - offset - 60_000;
                let finish = start + 5_000 + (i as i64 * k % 55) * 1000;
                // A few tables failed their last three runs, the same way: one folded bar.
                let failed = i % 40 == 7 && k < 3;
                insert
                    .execute(rusqlite::params![
                        name,
                        start,
                        finish,
                        if failed { "failed" } else { "success" },
                        failed.then_some("relation \"s.gone\" does not exist"),
                    ])
                    .unwrap();
            }
        }
    }
    seeded.commit().unwrap();
    // The first table is being built, in its "select" step, for 90 s of its usual 5 minutes.
    let running = names[0].clone();
    db.execute(
        "insert into runs (table_name, started_at, steps, owner, current_step) values (?1, ?2, '[]', 'browser-test', 'select')",
        rusqlite::params![running, now - 90_000],
    )
    .unwrap();
    db.execute(
        "update tables set lease_owner = 'browser-test', lease_until = ?2, mean_seconds = 300 where name = ?1",
        rusqlite::params![running, now + hour],
    )
    .unwrap();
    let server = Server::start(&p);

    // The API: every run of the week at once, its per-table summary, and the runs of a screenful
    // of rows, which is what the page asks for.
    let week = format!(
        "from={}&to={}",
        jiff::Timestamp::from_millisecond(now - 7 * day).unwrap(),
        jiff::Timestamp::from_millisecond(now).unwrap()
    );
    let timed = |path: &str| {
        let started = Instant::now();
        let reply = common::web::get(&server.url(path));
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        (reply, started.elapsed().as_secs_f64() * 1000.0)
    };
    let (summary_reply, summary_ms) = timed(&format!("/api/jobs?{week}&summary=1"));
    let summary = summary_reply.json();
    assert_eq!(summary.as_array().unwrap().len(), 500);
    let first = &summary[0];
    assert_eq!(first["table"], running.as_str());
    assert_eq!(
        (first["runs"].as_i64(), first["running"].as_i64()),
        (Some(169), Some(1))
    );
    let screen = names[..65].join(",");
    let (some, some_ms) = timed(&format!("/api/jobs?{week}&tables={screen}"));
    let some_runs = some.json();
    assert_eq!(some_runs.as_array().unwrap().len(), 65 * 168 + 1);
    let steps: Vec<_> = some_runs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j.get("current_step"))
        .collect();
    assert_eq!(
        steps,
        [&serde_json::json!("select")],
        "the step of the running job only"
    );
    let (_driver, client, _profile) = browser().await;
    client
        .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
            Some(Duration::from_secs(120)),
            None,
            None,
        ))
        .await
        .unwrap();
    // Every run of the week is more than the test client reads (10 MB): the browser fetches it.
    client.goto(&server.url("/api/version")).await.unwrap();
    let all = client
        .execute_async(
            "const done = arguments[arguments.length - 1], t = performance.now();
             fetch(arguments[0]).then(r => r.text()).then(b => done([b.length, JSON.parse(b).length, performance.now() - t]));",
            vec![serde_json::json!(format!("/api/jobs?{week}"))],
        )
        .await
        .unwrap();
    assert_eq!(all[1], 500 * 168 + 1);
    println!(
        "/api/jobs for 7 days of 500 hourly tables: all runs {} runs, {:.1} MB, {:.0} ms; summary=1 {:.0} kB, {summary_ms:.0} ms; tables= (65 rows) {:.2} MB, {some_ms:.0} ms",
        all[1],
        all[0].as_f64().unwrap() / 1e6,
        all[2].as_f64().unwrap(),
        summary_reply.body.len() as f64 / 1e3,
        some.body.len() as f64 / 1e6,
    );
    let text = "return document.getElementById('window').textContent";

    // The default: the last 30 minutes, live; the running job on the first row, with its step and
    // a ticking elapsed time.
    client.goto(&server.url("/")).await.unwrap();
    let label = "(() => { const l = document.querySelector('#timeline .run-label'); return l ? l.textContent : ''; })()";
    let before = wait_for(
        &client,
        "the running job's label",
        &format!("return {label}.includes('select') && {label}"),
    )
    .await;
    let at_first = client
        .execute(
            "return document.querySelector('#timeline g.row').dataset.table",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(at_first, running.as_str());
    wait_for(
        &client,
        "the elapsed time to tick",
        &format!("const t = {label}; return t !== {before} && t.endsWith(' · select')"),
    )
    .await;
    let window = client.execute(text, vec![]).await.unwrap();
    assert!(window.as_str().unwrap().contains("(30m)"), "{window}");

    // Presets, then "Zoom out" (6 h → 12 h), all live and in the URL.
    for (css, span, search) in [
        (".presets a[data-span='6h']", "(6h)", "?span=6h"),
        ("#zoom-out", "(12h)", "?span=12h"),
        (".presets a[data-span='7d']", "(7d)", "?span=7d"),
    ] {
        click(&client, css).await;
        wait_for(
            &client,
            &format!("the window of {css}"),
            &format!("return location.search === '{search}' && document.getElementById('window').textContent.includes('{span}')"),
        )
        .await;
    }
    // A week: every table has a row, and the rows near the viewport their bars.
    // (A row of many runs draws its plain ones as a path per outcome: count the runs drawn.)
    let drawn = "return document.getElementById('window').textContent.includes('84001 runs of 500 tables')
                   && document.querySelectorAll('#timeline g.row.pending').length === 0 && duroJobs.bars > 1000 && duroJobs.bars";
    let bars = wait_for(&client, "a week of bars", drawn).await;
    let rows = "return document.querySelectorAll('#timeline g.row').length";
    let in_dom = client
        .execute(rows, vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    assert!((30..=80).contains(&in_dom), "{in_dom} rows in the DOM");
    let folded = client
        .execute("return document.querySelectorAll('#timeline rect.bar.folded[data-count=\"3\"]').length", vec![])
        .await
        .unwrap();
    assert!(folded.as_u64().unwrap() >= 1, "the repeated failures fold");
    let redraws = client
        .execute_async(
            "const done = arguments[arguments.length - 1], times = [];
             const once = () => {
               const t = performance.now();
               duroJobs.redraw();
               document.body.getBoundingClientRect();
               const sync = performance.now() - t;
               requestAnimationFrame(() => setTimeout(() => {
                 times.push([sync, performance.now() - t]);
                 if (times.length < 7) once(); else done(times);
               }, 0));
             };
             once();",
            vec![],
        )
        .await
        .unwrap();
    let mut script: Vec<f64> = redraws
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[0].as_f64().unwrap())
        .collect();
    let mut framed: Vec<f64> = redraws
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[1].as_f64().unwrap())
        .collect();
    script.sort_by(f64::total_cmp);
    framed.sort_by(f64::total_cmp);
    screenshot(&client, "jobs-500-7d").await;

    // Scrolling: the axis stays under the header, other rows are drawn (still a bounded number),
    // with their bars.
    client
        .execute("window.scrollTo(0, 6000)", vec![])
        .await
        .unwrap();
    wait_for(
        &client,
        "rows drawn around the viewport after scrolling",
        "const mid = innerHeight / 2;
         const row = [...document.querySelectorAll('#timeline g.row')].find(r => { const b = r.getBoundingClientRect(); return b.top <= mid && b.bottom >= mid; });
         return row !== undefined && row.querySelector('rect.bar, path.bars-path') !== null",
    )
    .await;
    let axis = client
        .execute(
            "const a = document.querySelector('#timeline svg.axis').getBoundingClientRect();
             const h = document.querySelector('header').getBoundingClientRect();
             return [a.top, a.bottom, h.bottom, innerHeight, scrollY]",
            vec![],
        )
        .await
        .unwrap();
    let a: Vec<f64> = axis
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(a[4] > 5000.0, "scrolled: {axis}");
    assert!(
        a[0] >= 0.0 && a[1] <= a[3] && (a[0] - a[2]).abs() < 2.0,
        "the axis under the header: {axis}"
    );
    let in_dom = client
        .execute(rows, vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    assert!(
        (30..=80).contains(&in_dom),
        "{in_dom} rows in the DOM after scrolling"
    );
    let scrolled = client
        .execute("return duroJobs.rowMs", vec![])
        .await
        .unwrap();
    println!(
        "timeline, 500 tables x 7 days hourly ({bars} bars, {in_dom} rows drawn of 500): full redraw {:.0} ms script+layout (median of 7; {:.0}–{:.0}), {:.0} ms to the next frame; rows redrawn on scrolling {:.0} ms",
        script[3],
        script[0],
        script[6],
        framed[3],
        scrolled.as_f64().unwrap()
    );

    // The search filters rows, case-insensitively, and is kept in the URL.
    client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    let matching = names.iter().filter(|n| n.contains("l4_")).count();
    client
        .find(Locator::Id("job-search"))
        .await
        .unwrap()
        .send_keys("L4_")
        .await
        .unwrap();
    wait_for(
        &client,
        "the rows of the search",
        &format!(
            "const rows = [...document.querySelectorAll('#timeline g.row')];
             return new URLSearchParams(location.search).get('q') === 'L4_' && rows.length > 0
               && rows.every(r => r.dataset.table.includes('l4_'))
               && document.getElementById('window').textContent.includes('of {matching} tables')"
        ),
    )
    .await;

    // Grouped by schema: a heading row above each schema's tables, which show their short names.
    client
        .execute("const s = document.getElementById('job-search'); s.value = ''; s.dispatchEvent(new Event('input'))", vec![])
        .await
        .unwrap();
    click(&client, "#group-schema").await;
    let schemas: std::collections::BTreeSet<&str> =
        names.iter().map(|n| n.split('.').next().unwrap()).collect();
    let first_schema = schemas.iter().next().unwrap();
    let grouped = format!(
        "const first = document.querySelector('#timeline g.row');
         return new URLSearchParams(location.search).get('group') === 'schema'
           && first.classList.contains('schema-row') && first.dataset.schema === '{first_schema}'
           && first.textContent.startsWith('{first_schema} · ')
           && !document.querySelector('#timeline g.row[data-table] text.row-label').textContent.includes('.')"
    );
    wait_for(&client, "the schema headings", &grouped).await;
    screenshot(&client, "jobs-500-grouped").await;
    // A reload keeps the window and the grouping.
    client.refresh().await.unwrap();
    wait_for(
        &client,
        "the window and grouping after a reload",
        &format!("return document.getElementById('group-schema').checked && document.getElementById('window').textContent.includes('(7d)') && (() => {{ {grouped} }})()"),
    )
    .await;

    // Dragging across the timeline zooms in to a fixed window, which zooms out around its centre.
    client
        .execute(
            "const box = document.getElementById('timeline'), r = box.getBoundingClientRect();
             box.dispatchEvent(new MouseEvent('mousedown', { bubbles: true, button: 0, clientX: r.left + 500, clientY: r.top + 100 }));
             window.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + 700, clientY: r.top + 100 }));
             window.dispatchEvent(new MouseEvent('mouseup', { clientX: r.left + 700, clientY: r.top + 100 }));",
            vec![],
        )
        .await
        .unwrap();
    wait_for(
        &client,
        "a fixed window",
        "const q = new URLSearchParams(location.search);
         return q.get('from') && q.get('to') && !q.has('span') && q.get('group') === 'schema'
           && document.querySelector('.presets .active') === null
           && duroJobs.bars > 0 && document.querySelectorAll('#timeline g.row.pending').length === 0",
    )
    .await;
    let widths = client
        .execute(
            "const q = new URLSearchParams(location.search), z = new URL(document.getElementById('zoom-out').href).searchParams;
             const w = (p) => Date.parse(p.get('to')) - Date.parse(p.get('from')), c = (p) => (Date.parse(p.get('to')) + Date.parse(p.get('from'))) / 2;
             return [w(q), w(z), c(q), c(z)]",
            vec![],
        )
        .await
        .unwrap();
    let w: Vec<f64> = widths
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        (w[1] - 2.0 * w[0]).abs() < 2.0 && (w[2] - w[3]).abs() < 2.0,
        "zoom out doubles around the centre: {widths}"
    );
    no_script_errors(&client).await;

    // 400 px wide: nothing wider than the window.
    client.set_window_size(400, 800).await.unwrap();
    client
        .goto(&server.url("/?span=24h&group=schema"))
        .await
        .unwrap();
    wait_for(
        &client,
        "the timeline at 400 px without horizontal scrolling",
        "return duroJobs.bars > 0 && document.documentElement.scrollWidth <= document.documentElement.clientWidth",
    )
    .await;
    screenshot(&client, "jobs-500-narrow").await;
    no_script_errors(&client).await;
    client.close().await.unwrap();
}

/// The table page of a failing table: the failed step marked, a failed test's SQL and the values
/// it returned, identical failures folded behind the newest; a running run's current step; a
/// processor's select, script and requirements; a styled page for an unknown table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_runs_show_their_step_tests_and_values() {
    let p = Project::new();
    p.write("s/t — 1h.sql", "select 1 as n");
    p.write("s/t_test.sql", "select n > 1 as big from s.t");
    p.write("s/p — 1h.sql", "create table s.p (a int, b text)");
    p.write("s/p_select.sql", "select n as a from s.t");
    p.write(
        "s/p.py",
        "import sys\n# <b>not bold</b>\nprint('processing')\n",
    );
    p.write("s/p_requirements.txt", "six==1.16.0\n");
    assert_eq!(p.run(&["schedule"]).code, 0);
    let db = p.sqlite();
    let now = jiff::Timestamp::now().as_millisecond();
    let failure = serde_json::json!([{
        "line": 1, "sql": "select n > 1 as big from s.t", "failed": ["big"],
        "columns": ["big", "<i>col</i>"], "rows": [["false", "<img src=x onerror=\"window.__xss=3\">"]],
        "returned_rows": 1, "failing_rows": 1
    }])
    .to_string();
    for k in 0..3 {
        let start = now - 600_000 + k * 60_000;
        let steps = serde_json::json!([{"step": "connect", "at": start + 5}, {"step": "create_temp", "at": start + 40}]).to_string();
        db.execute(
            "insert into runs (table_name, started_at, finished_at, outcome, error, failed_tests, steps, failed_step, test_failures)
             values ('s.t', ?1, ?2, 'tests_failed', 'tests failed for s.t: big', '[\"big\"]', ?3, 'tests', ?4)",
            rusqlite::params![start, start + 160, steps, failure],
        )
        .unwrap();
    }
    db.execute(
        "insert into runs (table_name, started_at, steps, current_step) values ('s.t', ?1, '[]', 'create_temp')",
        [now - 2000],
    )
    .unwrap();
    drop(db);
    let server = Server::start(&p);
    let (_driver, client, _profile) = browser().await;
    client.goto(&server.url("/tables/s.t")).await.unwrap();
    wait_for(
        &client,
        "the run log",
        "return document.querySelectorAll('#runs > .run').length === 2",
    )
    .await;
    let page = client
        .execute(
            "const first = document.querySelectorAll('#runs > .run')[1];
             return {
               running: document.querySelector('#runs > .run li.current-step').textContent,
               failedStep: first.querySelector(':scope > ol li.failed-step').textContent,
               sql: first.querySelector(':scope > .test-failure pre.sql').textContent,
               headline: first.querySelector(':scope > .test-failure .error').textContent,
               headers: [...first.querySelectorAll(':scope > .test-failure table th')].map((t) => t.textContent),
               cells: [...first.querySelectorAll(':scope > .test-failure table td')].map((t) => t.textContent),
               failedCell: first.querySelector(':scope > .test-failure table td.failed').textContent,
               folded: first.querySelector(':scope > details.folded-runs summary').textContent,
               foldedRuns: first.querySelectorAll(':scope > details.folded-runs .run').length,
               images: document.querySelectorAll('#runs img, #runs i').length,
             };",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        page["running"]
            .as_str()
            .unwrap()
            .starts_with("… create temp (for "),
        "{page}"
    );
    assert!(
        page["failedStep"]
            .as_str()
            .unwrap()
            .contains("✗ tests failed after 120ms"),
        "{page}"
    );
    assert_eq!(page["sql"], "select n > 1 as big from s.t");
    assert_eq!(page["headline"], "Test at line 1 failed on big: 1 of 1 row");
    assert_eq!(page["headers"], serde_json::json!(["big", "<i>col</i>"]));
    assert_eq!(page["cells"][0], "false");
    assert_eq!(page["cells"][1], "<img src=x onerror=\"window.__xss=3\">");
    assert_eq!(page["failedCell"], "false");
    assert!(
        page["folded"]
            .as_str()
            .unwrap()
            .starts_with("2 earlier identical failures (×3 in a row"),
        "{page}"
    );
    assert_eq!(page["foldedRuns"], 2);
    assert_eq!(page["images"], 0, "markup from values was rendered");
    no_script_errors(&client).await;

    // A processor table: select, script and requirements, each as text with its file.
    client.goto(&server.url("/tables/s.p")).await.unwrap();
    wait_for(
        &client,
        "the processor",
        "return document.querySelectorAll('#query-block pre').length === 4",
    )
    .await;
    let blocks = client
        .execute(
            "return [...document.querySelectorAll('#query-block h3')].map((h) => h.textContent + ' | ' + h.nextElementSibling.textContent);",
            vec![],
        )
        .await
        .unwrap();
    let blocks: Vec<String> = serde_json::from_value(blocks).unwrap();
    assert!(
        blocks[0].starts_with("The select it reads (s/p_select.sql) | select n as a from s.t"),
        "{blocks:?}"
    );
    assert!(
        blocks[1].starts_with("The script (s/p.py) | import sys\n# <b>not bold</b>"),
        "{blocks:?}"
    );
    assert!(
        blocks[2].starts_with("Requirements (s/p_requirements.txt) | six==1.16.0"),
        "{blocks:?}"
    );
    assert!(blocks[3].contains("create table s.p"), "{blocks:?}");

    // An unknown table: a page in the UI's layout, with the header and a way back.
    client.goto(&server.url("/tables/s.nope")).await.unwrap();
    let error = client
        .execute(
            "return { title: document.title, h1: document.querySelector('main h1').textContent, nav: document.querySelectorAll('header nav a').length, css: getComputedStyle(document.body).margin };",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(error["h1"], "Unknown table", "{error}");
    assert_eq!(error["nav"], 3, "{error}");
    no_script_errors(&client).await;
    client.close().await.unwrap();
}
