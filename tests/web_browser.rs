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
