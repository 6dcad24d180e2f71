//! Criterion benches of `duro schedule`'s pipeline on generated views directories
//! (bench/gen_views.py): a fresh schedule (scan, parse, graph, checks, state write), a re-run
//! with nothing changed, and the analysis alone. Run: `cargo bench --bench schedule`.

use criterion::{Criterion, criterion_group, criterion_main};
use duro::config::Config;
use duro::state::Store;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn generate(n: usize, dir: &Path) -> Config {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/gen_views.py");
    let views = dir.join("views");
    let status = std::process::Command::new("python3")
        .arg(script)
        .arg(n.to_string())
        .arg(&views)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs the generator");
    assert!(status.success());
    Config {
        views,
        state: dir.join("state.db"),
        ..Config::default()
    }
}

fn fresh_state(config: &Config) -> Store {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = PathBuf::from(&config.state).into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    Store::open(&config.state).unwrap()
}

fn bench(c: &mut Criterion) {
    let now = jiff::Timestamp::now();
    let mut group = c.benchmark_group("schedule");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for n in [2_000, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let config = generate(n, dir.path());
        group.bench_function(format!("fresh/{n}"), |b| {
            b.iter_batched(
                || fresh_state(&config),
                |mut store| duro::schedule::run(&config, &mut store, now).unwrap(),
                criterion::BatchSize::PerIteration,
            )
        });
        let mut store = fresh_state(&config);
        duro::schedule::run(&config, &mut store, now).unwrap();
        group.bench_function(format!("unchanged/{n}"), |b| {
            b.iter(|| duro::schedule::run(&config, &mut store, now).unwrap())
        });
        group.bench_function(format!("analysis/{n}"), |b| {
            b.iter(|| duro::analysis::analyze(&config).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
