//! Load test of `duro serve` (issue: p99 ≤ 50 ms at 200 req/s with 10,000 tables and 1,000,000
//! runs in state). Builds such a state database, starts the release binary, and sends requests
//! at a fixed rate over keep-alive connections, measuring latency from each request's scheduled
//! send time (no coordinated omission). Run: `cargo bench --bench web_load`
//! (DURO_LOAD_SECONDS, DURO_LOAD_RATE to change the defaults of 15 s and 200 req/s).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TABLES: usize = 10_000;
const RUNS: usize = 1_000_000;
/// The runs span a year of history, so a 24-hour window holds about 2,700 of them.
const HISTORY_DAYS: i64 = 365;

fn build_state(path: &std::path::Path, now_ms: i64) {
    let store = duro::state::Store::open(path).unwrap();
    drop(store);
    let mut db = rusqlite::Connection::open(path).unwrap();
    let tx = db.transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "insert into tables (name, interval_minutes, definition, files, config, config_sources, sources, definition_hash, force, added_at, changed_at, last_built, mean_seconds, run_count, last_outcome, last_finished)
                 values (?1, ?2, 'select 1', '{}', '{}', '{}', '[]', 'h', 0, 0, 0, ?3, ?4, 100, 'success', ?3)",
            )
            .unwrap();
        let mut dep = tx
            .prepare("insert into dependencies (table_name, depends_on, waits) values (?1, ?2, 1)")
            .unwrap();
        for i in 0..TABLES {
            let name = format!("s{}.t{i}", i % 20);
            insert
                .execute(rusqlite::params![
                    name,
                    [60, 360, 1440][i % 3],
                    now_ms - (i as i64 % 3600) * 1000,
                    1.0 + (i % 50) as f64
                ])
                .unwrap();
            if i >= 20 {
                dep.execute(rusqlite::params![
                    name,
                    format!("s{}.t{}", (i - 20) % 20, i - 20)
                ])
                .unwrap();
            }
        }
        let mut run = tx
            .prepare(
                "insert into runs (table_name, started_at, finished_at, outcome, rows, steps) values (?1, ?2, ?3, ?4, 10, '[]')",
            )
            .unwrap();
        let span = HISTORY_DAYS * 86_400_000;
        for r in 0..RUNS {
            let table = r % TABLES;
            let start = now_ms - span + (r as i64 * span / RUNS as i64);
            let outcome = if r % 97 == 0 { "failed" } else { "success" };
            run.execute(rusqlite::params![
                format!("s{}.t{table}", table % 20),
                start,
                start + 5_000,
                outcome
            ])
            .unwrap();
        }
    }
    tx.execute(
        "insert into run_counts select table_name, outcome, count(*) from runs group by 1, 2",
        [],
    )
    .unwrap();
    tx.commit().unwrap();
}

/// Sends one GET over a keep-alive connection and reads the whole response.
async fn request(stream: &mut TcpStream, path: &str, buffer: &mut Vec<u8>) -> std::io::Result<u16> {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").as_bytes())
        .await?;
    buffer.clear();
    let mut chunk = [0u8; 65536];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                let status = head[9..12].parse().unwrap_or(0);
                return Ok(status);
            }
        }
    }
}

async fn load(addr: &str, path: &str, rate: f64, seconds: f64, connections: usize) -> Vec<f64> {
    let total = (rate * seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now() + Duration::from_millis(200);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (addr, path, next) = (addr.to_string(), path.to_string(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buffer = Vec::new();
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= total {
                    return latencies;
                }
                let scheduled = start + interval * i as u32;
                tokio::time::sleep_until(scheduled.into()).await;
                let status = request(&mut stream, &path, &mut buffer).await.unwrap();
                assert_eq!(status, 200, "{path}");
                latencies.push(scheduled.elapsed().as_secs_f64() * 1000.0);
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    all
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    // `cargo test --all-targets` runs benches without --bench: this one is too long for that.
    if !std::env::args().any(|a| a == "--bench") {
        println!("web_load: run with `cargo bench --bench web_load`");
        return;
    }
    let seconds: f64 = std::env::var("DURO_LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15.0);
    let rate: f64 = std::env::var("DURO_LOAD_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200.0);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let built = Instant::now();
    build_state(&state, now_ms);
    eprintln!(
        "state: {TABLES} tables, {RUNS} runs over {HISTORY_DAYS} days, built in {:.1}s",
        built.elapsed().as_secs_f64()
    );
    std::fs::write(
        dir.path().join("duro.toml"),
        "views = \"views\"\nstate = \"state.db\"\n[warehouse]\nurl = \"postgres://bench@localhost/bench\"\n",
    )
    .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_duro"))
        .args([
            "--config",
            dir.path().join("duro.toml").to_str().unwrap(),
            "serve",
            "--bind",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let from = jiff::Timestamp::from_millisecond(now_ms - 86_400_000).unwrap();
    let to = jiff::Timestamp::from_millisecond(now_ms).unwrap();
    let jobs = format!("/api/jobs?from={from}&to={to}");
    // What the timeline lays its rows out from (one line per table), and the runs of the rows
    // it shows.
    let summary = format!("{jobs}&summary=1");
    let rows: Vec<String> = (0..65).map(|i| format!("s{}.t{i}", i % 20)).collect();
    let some_rows = format!("{jobs}&tables={}", rows.join(","));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>8} {:>10}",
        format!("endpoint at {rate} req/s for {seconds}s"),
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "bytes"
    );
    let cases = [
        ("/api/tables", false),
        (jobs.as_str(), false),
        (summary.as_str(), false),
        (some_rows.as_str(), false),
        ("/tables", false),
        ("/api/stats?hours=24", false),
        ("/metrics", false),
        ("/api/tables", true),
        (jobs.as_str(), true),
        (summary.as_str(), true),
    ];
    for (path, writes) in cases {
        // With `writes`, another process-like writer changes the state twice a second, as a
        // busy creator does, so answers are recomputed rather than served from the cache.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = writes.then(|| {
            let (stop, state) = (stop.clone(), state.clone());
            std::thread::spawn(move || {
                let db = rusqlite::Connection::open(state).unwrap();
                db.busy_timeout(Duration::from_secs(5)).unwrap();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    db.execute(
                        "update tables set force = force + 1 where name = 's0.t0'",
                        [],
                    )
                    .unwrap();
                    std::thread::sleep(Duration::from_millis(500));
                }
            })
        });
        let latencies = rt.block_on(async {
            let mut probe = TcpStream::connect(&addr).await.unwrap();
            let mut buffer = Vec::new();
            // One request first so the cached answer exists, as after the first visitor.
            request(&mut probe, path, &mut buffer).await.unwrap();
            let size = buffer.len();
            (load(&addr, path, rate, seconds, 16).await, size)
        });
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(w) = writer {
            w.join().unwrap();
        }
        let (l, size) = latencies;
        let base = if path.contains("summary=1") {
            "/api/jobs?summary=1 (24 h)"
        } else if path.contains("tables=") {
            "/api/jobs?tables= (65 rows, 24 h)"
        } else if path.starts_with("/api/jobs") {
            "/api/jobs (24 h window)"
        } else {
            path
        };
        let label = if writes {
            format!("{base}, state written 2x/s")
        } else {
            base.to_string()
        };
        println!(
            "{label:<44} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>10}",
            percentile(&l, 0.50),
            percentile(&l, 0.90),
            percentile(&l, 0.99),
            l[l.len() - 1],
            size
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}
