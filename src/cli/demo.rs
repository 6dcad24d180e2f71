//! `duro demo [DIR]`: an example shop on the embedded DuckDB warehouse — raw data generated into
//! DuckDB, eleven views over three layers with intervals, data tests, inherited configs and a
//! Python processor — scheduled, built once with a progress display, then kept fresh by the same
//! loop as `duro up` while the web UI is served.

use super::Failure;
use super::creator::{daemon, runtime, shutdown_signal};
use duro::config::Config;
use duro::create::Creator;
use duro::state::Store;
use duro::warehouse::Connection;
use jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DURO_TOML: &str = r#"# The duro demo: an example shop on the embedded DuckDB warehouse.
views = "views"
state = ".duro/state.db"

[warehouse]
url = "duckdb://.duro/warehouse.duckdb"

[scheduler]
default_schema = "main"

[creator]
concurrency = 2
poll_seconds = 10

[web]
bind = "127.0.0.1:8080"
"#;

/// The example views: (path under views/, content).
const VIEWS: &[(&str, &str)] = &[
    (
        "global.conf",
        "# Inherited by every table; schema and table configs override it.\ntimeout=30m\n# grant_select=analysts   (grants apply on PostgreSQL and Redshift; DuckDB has no users)\n",
    ),
    (
        "staging/staging.conf",
        "# Staging tables are quick: a tighter timeout than global.conf's.\ntimeout=10m\n",
    ),
    (
        "staging/customers — 1h.sql",
        "-- Layer 1: cleaned customers from the raw extract.\nselect customer_id, trim(name) as name, upper(country) as country, signed_up\nfrom raw.customers\n",
    ),
    (
        "staging/orders — 15m.sql",
        "-- Layer 1: real orders only (test orders removed).\nselect order_id, customer_id, product_id, ordered_at, quantity, status\nfrom raw.orders\nwhere status <> 'test'\n",
    ),
    (
        "staging/orders_test.sql",
        "-- Data tests: every value of every row must be true, or the new version is not swapped in.\nselect count(*) > 0 as has_orders, count(*) = count(distinct order_id) as order_ids_unique\nfrom staging.orders;\nselect count(*) = 0 as no_test_orders from staging.orders where status = 'test';\n",
    ),
    (
        "staging/products.sql",
        "-- No interval of its own: it is rebuilt as often as the tables that read it need.\nselect product_id, name, category, price\nfrom raw.products\n",
    ),
    (
        "marts/order_lines — 15m.sql",
        "-- Layer 2: completed orders with their amounts.\nselect o.order_id, o.customer_id, o.ordered_at, cast(o.ordered_at as date) as day,\n       p.category, o.quantity, o.quantity * p.price as amount\nfrom staging.orders o\njoin staging.products p on p.product_id = o.product_id\nwhere o.status = 'completed'\n",
    ),
    (
        "marts/daily_revenue — 15m.sql",
        "select day, count(*) as orders, cast(sum(amount) as decimal(14, 2)) as revenue\nfrom marts.order_lines\ngroup by day\n",
    ),
    (
        "marts/daily_revenue_test.sql",
        "select min(revenue) > 0 as revenue_positive, count(*) >= 28 as four_weeks\nfrom marts.daily_revenue\n",
    ),
    (
        "marts/customer_revenue — 30m.sql",
        "select c.customer_id, c.name, c.country, count(*) as orders,\n       cast(sum(l.amount) as decimal(14, 2)) as revenue\nfrom marts.order_lines l\njoin staging.customers c on c.customer_id = l.customer_id\ngroup by c.customer_id, c.name, c.country\n",
    ),
    (
        "marts/category_revenue — 1h.sql",
        "select category, count(*) as orders, cast(sum(amount) as decimal(14, 2)) as revenue\nfrom marts.order_lines\ngroup by category\n",
    ),
    (
        "reports/top_customers — 1h.sql",
        "-- Layer 3: the ten best customers.\nselect customer_id, name, country, revenue\nfrom marts.customer_revenue\norder by revenue desc\nlimit 10\n",
    ),
    (
        "reports/top_customers_test.sql",
        "select count(*) = 10 as ten_customers from reports.top_customers\n",
    ),
    (
        "reports/top_customers.conf",
        "# Keep a daily snapshot in reports.top_customers_history for 30 days.\nsnapshots_interval=1d\nsnapshots_stored_for=30d\n",
    ),
    (
        "reports/country_summary — 1d.sql",
        "select country, count(*) as customers, sum(orders) as orders,\n       cast(sum(revenue) as decimal(14, 2)) as revenue\nfrom marts.customer_revenue\ngroup by country\n",
    ),
    (
        "reports/revenue_trend — 1h.sql",
        "-- A Python processor table: this file is its DDL; revenue_trend_select.sql feeds\n-- revenue_trend.py, whose output CSV is loaded into the new table.\ncreate table reports.revenue_trend (\n    day date,\n    revenue decimal(14, 2),\n    moving_average_7d decimal(14, 2)\n)\n",
    ),
    (
        "reports/revenue_trend_select.sql",
        "select day, revenue from marts.daily_revenue order by day\n",
    ),
    (
        "reports/revenue_trend.py",
        r#""""Adds a 7-day moving average to the daily revenue.

duro runs `python revenue_trend.py <in.csv> <out.csv>`; both files use the table's csv_delimiter
(default ';') and have a header row.
"""
import csv
import sys

source, target = sys.argv[1], sys.argv[2]
with open(source, newline="") as f:
    rows = list(csv.DictReader(f, delimiter=";"))

window = []
with open(target, "w", newline="") as f:
    out = csv.writer(f, delimiter=";")
    out.writerow(["day", "revenue", "moving_average_7d"])
    for row in rows:
        window = (window + [float(row["revenue"])])[-7:]
        out.writerow([row["day"], row["revenue"], f"{sum(window) / len(window):.2f}"])
"#,
    ),
    (
        "reports/revenue_trend_test.sql",
        "select count(*) >= 28 as four_weeks, min(moving_average_7d) > 0 as averages_positive\nfrom reports.revenue_trend\n",
    ),
];

/// The raw data the views read, generated deterministically into DuckDB (the days follow today).
const RAW_DATA: &str = "
create schema if not exists raw;
create or replace table raw.products as
select i as product_id, 'product ' || cast(i as varchar) as name,
       (['books', 'games', 'garden', 'kitchen', 'music'])[1 + i % 5] as category,
       cast(5 + (cast(hash(i) % 9500 as integer)) / 100.0 as decimal(10, 2)) as price
from range(1, 51) as t(i);
create or replace table raw.customers as
select i as customer_id, '  customer ' || cast(i as varchar) || ' ' as name,
       (['de', 'fr', 'nl', 'se', 'us', 'uk', 'es', 'it'])[1 + cast(hash(i * 7) % 8 as integer)] as country,
       date '2025-01-01' + cast(hash(i * 3) % 600 as integer) as signed_up
from range(1, 501) as t(i);
create or replace table raw.orders as
select i as order_id, 1 + cast(hash(i) % 500 as integer) as customer_id, 1 + cast(hash(i * 31) % 50 as integer) as product_id,
       cast(date '{today}' - cast(hash(i * 17) % 90 as integer) as timestamp)
         + to_hours(cast(hash(i * 13) % 24 as integer)) as ordered_at,
       1 + cast(hash(i * 3) % 5 as integer) as quantity,
       case when cast(hash(i * 5) % 20 as integer) = 0 then 'cancelled'
            when cast(hash(i * 11) % 100 as integer) = 0 then 'test'
            else 'completed' end as status
from range(1, 20001) as t(i);
";

fn write_project(dir: &Path) -> Result<bool, Failure> {
    let toml = dir.join("duro.toml");
    if toml.exists() {
        println!(
            "Using the demo project in {} (delete the folder to start over).",
            dir.display()
        );
        return Ok(false);
    }
    let write = |path: &Path, content: &str| -> Result<(), Failure> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::new(1, format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(path, content)
            .map_err(|e| Failure::new(1, format!("cannot write {}: {e}", path.display())))
    };
    write(&toml, DURO_TOML)?;
    for (path, content) in VIEWS {
        write(&dir.join("views").join(path), content)?;
    }
    println!(
        "Created the demo project in {}: {} views in staging, marts and reports.",
        dir.display(),
        VIEWS
            .iter()
            .filter(|(p, _)| p.ends_with(".sql")
                && !p.ends_with("_test.sql")
                && !p.ends_with("_select.sql"))
            .count()
    );
    Ok(true)
}

/// The demo's configuration: its own files only, whatever DURO_* variables say, so the demo
/// can never write to a real warehouse; only the web settings may come from the environment.
fn demo_config(dir: &Path) -> Result<Config, Failure> {
    let web_only = std::env::vars().filter(|(k, _)| k.starts_with("DURO_WEB_"));
    Ok(Config::load(&dir.join("duro.toml"), true, web_only)?)
}

pub fn run(dir: PathBuf, bind: Option<&str>) -> Result<i32, Failure> {
    write_project(&dir)?;
    let config = demo_config(&dir)?;
    let addr =
        duro::web::bind_address(&config, bind).map_err(|e| Failure::new(2, e.to_string()))?;
    let rt = runtime()?;
    rt.block_on(async move {
        println!("Generating the raw data (raw.customers, raw.orders, raw.products)…");
        let conn = Connection::open(
            &config.warehouse.url,
            &duro::warehouse::Session::from_config(&config.warehouse),
        )
            .await
            .map_err(|e| Failure::new(1, e.to_string()))?;
        // Today comes from here: DuckDB's current_date needs its ICU extension.
        let today = jiff::Zoned::now().date().to_string();
        conn.execute(&RAW_DATA.replace("{today}", &today))
            .await
            .map_err(|e| Failure::new(1, format!("generating the demo data failed: {e}")))?;
        drop(conn);
        let shown = super::up::ShownWarnings::default();
        super::up::reschedule(&config, &shown).await;

        println!("Building every table once…");
        let shutdown = shutdown_signal();
        let mut store = Store::open(&config.state)?;
        store.close_abandoned_runs(Timestamp::now())?;
        let creator = Arc::new(Creator::new(&config, store, shutdown.clone()));
        let failed = daemon(creator, &config, Some(Timestamp::now()), None).await?;
        if failed {
            eprintln!("Some tables failed: see `duro status` or the UI for the errors.");
        }
        if *shutdown.borrow() {
            return Ok(1);
        }
        println!(
            "The demo keeps the tables fresh on their intervals; edit a file under {} and it is rescheduled and rebuilt.",
            config.views.display()
        );
        super::up::serve_all(&config, addr, shutdown, shown).await
    })
}
